"""Liveness: the server's protocol pings, an idle timeout, and a round trip from
``ws.ping()``.

    python examples/liveness.py

The server pings every client every ``PING_INTERVAL`` seconds and closes with 1011 if no
pong comes within ``PING_TIMEOUT``: a client that vanished without a close (a laptop
lid, a dead NAT mapping) is noticed. A client that is there but says nothing for
``IDLE_TIMEOUT`` seconds is closed with 1001 (its pongs do not count). Each text message
is answered with the round trip of a ping the handler sends itself, bounded by a cancel
scope.
"""

from __future__ import annotations

from typing import Final

import trio

from fastrapi import CloseCode, FastrAPI, WebSocket

PING_INTERVAL: Final = 10
PING_TIMEOUT: Final = 5
IDLE_TIMEOUT: Final = 120
app = FastrAPI(
    ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, idle_timeout=IDLE_TIMEOUT
)


@app.websocket("/ws")
async def round_trip(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        start = trio.current_time()
        with trio.move_on_after(PING_TIMEOUT) as late:
            await ws.ping(b"rtt")
        if late.cancelled_caught:
            await ws.close(CloseCode.INTERNAL_ERROR, "no pong")
            return
        elapsed_ms = (trio.current_time() - start) * 1000
        await ws.send_json({"echo": text, "rtt_ms": round(elapsed_ms, 3)})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
