"""The FastrAPI docs' heartbeat, in Trio: a ticker task beside the receive loop.

Coming from asyncio: the docs' ``heartbeat(ws)`` coroutine sleeps with
``asyncio.sleep(30)`` and is started with ``asyncio.create_task``. In Trio the handler
opens a nursery and starts the ticker in it with ``nursery.start_soon``; ``trio.sleep``
replaces ``asyncio.sleep``. When the client leaves, the receive loop ends, the handler
cancels the nursery, and the ticker stops: no task outlives the connection.

(fastrapi's own server also sends protocol pings every ``ping_interval`` and closes a
connection whose pong does not come; this application-level ping is for clients that
want to see one.)
"""

from __future__ import annotations

from typing import Final

import trio

from fastrapi import FastrAPI, WebSocket

HEARTBEAT_SECONDS: Final = 30
app = FastrAPI()


async def heartbeat(ws: WebSocket) -> None:
    while True:
        await trio.sleep(HEARTBEAT_SECONDS)
        try:
            await ws.send_json({"type": "ping"})
        except ConnectionError:
            break


@app.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(heartbeat, ws)
        async for data in ws.iter_text():
            await ws.send_json({"type": "echo", "data": data})
        nursery.cancel_scope.cancel()  # the client left: stop the heartbeat


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
