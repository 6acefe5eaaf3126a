"""fastrapi's own server, written as its docs teach: ``python fastrapi_app.py PORT [CODEC]``.

CODEC is ``auto`` (the default), ``websockets``, ``wsproto``, ``h11`` or ``httptools`` (the HTTP
parser, for the handshakes), or ``hypercorn`` (the same app on Hypercorn's trio worker). ``/ws``
echoes text as text and binary as binary, ``/json``
re-serialises every message with ``receive_json``/``send_json``, and ``/bcast`` publishes every
text message to every client of ``/bcast`` through ``fastrapi.Hub`` (the sender included): the
memory Hub of this process, or with ``FASTRAPI_HUB_URL=redis://...`` the Redis one, shared by
every process on that Redis.
"""

from __future__ import annotations

import os
import sys

from fastrapi import FastrAPI, Hub, WebSocket, WebSocketDisconnect

app = FastrAPI(max_message_size=2**25, hub=Hub(os.environ.get("FASTRAPI_HUB_URL")))


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send(await ws.receive())
    except WebSocketDisconnect:
        pass


@app.websocket("/json")
async def json_echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_json(await ws.receive_json())
    except WebSocketDisconnect:
        pass


@app.websocket("/bcast")
async def bcast(ws: WebSocket, hub: Hub) -> None:
    await ws.accept()
    try:
        async with hub.join("bcast", ws):
            async for text in ws.iter_text():
                await hub.publish("bcast", text)
    except WebSocketDisconnect:
        pass


def main(served: FastrAPI) -> None:
    """Serve ``served`` on the port ``argv[1]`` with the server, codec or parser ``argv[2]``."""
    port = int(sys.argv[1])
    match sys.argv[2] if len(sys.argv) > 2 else "auto":
        case "hypercorn":
            served.serve("127.0.0.1", port, server="hypercorn")
        case "auto":
            served.serve("127.0.0.1", port)
        case "websockets" | "wsproto" as codec:
            served.serve("127.0.0.1", port, ws=codec)
        case "httptools" | "h11" as parser:
            served.serve("127.0.0.1", port, http=parser)
        case other:
            sys.exit(f"unknown server, codec or parser {other!r}")


if __name__ == "__main__":
    main(app)
