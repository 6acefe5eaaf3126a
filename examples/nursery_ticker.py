"""A handler with a nursery of its own: a clock ticking every second beside an echo loop.

Both tasks share the WebSocket (sends from two tasks are queued in order). When the client
leaves, ``iter_text()`` ends, the nursery is cancelled, and the clock stops with it.
"""

from __future__ import annotations

import trio

from fastrapi import FastrAPI, WebSocket

app = FastrAPI()


async def clock(ws: WebSocket) -> None:
    while True:
        await trio.sleep(1)
        await ws.send_json({"type": "tick", "time": trio.current_time()})


@app.websocket("/ws")
async def ticker(ws: WebSocket) -> None:
    await ws.accept()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(clock, ws)
        async for text in ws.iter_text():
            await ws.send_json({"type": "echo", "text": text})
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
