"""Limits for a server on the open internet: connection caps, request heads, message
sizes.

    python examples/limits.py

Each process serves at most ``MAX_CONNECTIONS`` connections (HTTP and WebSocket
together) and at most ``MAX_CONNECTIONS_PER_IP`` from one client address: past them a
handshake or a request is answered ``503`` or ``429`` with ``Retry-After`` at once, and
no handler runs. ``SERVE_LIMITS`` bounds what a client may take to send a request head,
and its size. A WebSocket message is at most ``MAX_MESSAGE_SIZE`` bytes (larger: closed
with 1009), and a client that says nothing for ``IDLE_TIMEOUT`` seconds is closed. See
the "Limits and abuse" page of the docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from fastrapi import FastrAPI, WebSocket

if TYPE_CHECKING:
    from fastrapi.server import ServeOptions

MAX_CONNECTIONS: Final = 10_000
MAX_CONNECTIONS_PER_IP: Final = 32
MAX_MESSAGE_SIZE: Final = 64 * 1024
IDLE_TIMEOUT: Final = 300.0
SERVE_LIMITS: Final[ServeOptions] = {
    "header_timeout": 5.0,
    "max_request_line": 4 * 1024,
    "max_header_size": 8 * 1024,
    "max_header_count": 50,
    "keep_alive_timeout": 5.0,
}

app = FastrAPI(
    max_connections=MAX_CONNECTIONS,
    max_connections_per_ip=MAX_CONNECTIONS_PER_IP,
    max_message_size=MAX_MESSAGE_SIZE,
    idle_timeout=IDLE_TIMEOUT,
)


@app.websocket("/echo")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@app.get("/")
async def index() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    app.serve("0.0.0.0", 8000, **SERVE_LIMITS)
