"""The FastrAPI docs' connection lifetime limit, in Trio: a cancel scope, or a route
option.

Coming from asyncio: the docs wrap the work in ``asyncio.wait_for(..., timeout=3600)``
and catch ``asyncio.TimeoutError``. In Trio a timeout is a cancel scope:
``trio.move_on_after(3600)`` cancels what runs inside it when the time is up, and the
code after it runs as usual (here: close the connection, 1000). Or let fastrapi do it:
``max_lifetime=3600`` on the route cancels the handler and closes with 1001.
"""

from __future__ import annotations

from typing import Final

import trio

from fastrapi import FastrAPI, WebSocket

LIFETIME_SECONDS: Final = 3600
app = FastrAPI()


async def handle_messages(ws: WebSocket) -> None:
    async for data in ws.iter_text():
        await ws.send_text(data)


@app.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    with trio.move_on_after(LIFETIME_SECONDS):
        await handle_messages(ws)
    await ws.close()


@app.websocket("/limited", max_lifetime=LIFETIME_SECONDS)
async def limited_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    await handle_messages(ws)


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
