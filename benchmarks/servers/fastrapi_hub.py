"""fastrapi's fan-out on the Hub: ``python fastrapi_hub.py PORT`` (127.0.0.1).

``/ws`` echoes (text as text, binary as binary); on ``/bcast`` every text a client sends is
published to every client of ``/bcast``, the sender included.
"""

from __future__ import annotations

import sys

from fastrapi import FastrAPI, Hub, WebSocket, WebSocketDisconnect

hub = Hub(max_pending=1024, max_pending_bytes=2**22)
app = FastrAPI(hub=hub, max_message_size=2**25)


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send(await ws.receive())
    except WebSocketDisconnect:
        pass


@app.websocket("/bcast")
async def bcast(ws: WebSocket, hub: Hub) -> None:
    await ws.accept()
    try:
        async with hub.join("bcast", ws):
            while True:
                await hub.publish("bcast", await ws.receive_text())
    except WebSocketDisconnect:
        pass


if __name__ == "__main__":
    app.serve("127.0.0.1", int(sys.argv[1]))
