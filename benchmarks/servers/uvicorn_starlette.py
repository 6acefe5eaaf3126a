"""uvicorn (``--ws auto``) with Starlette routes: ``python uvicorn_starlette.py PORT``.

``/ws`` echoes, ``/json`` re-serialises with Starlette's ``receive_json``/``send_json``,
``/bcast`` sends every text message to every ``/bcast`` connection with a loop that awaits each
send in turn (the plain way to write it in Starlette).
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

members: set[WebSocket] = set()


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await ws.send_text(message["text"])
            else:
                await ws.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        pass


async def json_echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_json(await ws.receive_json())
    except WebSocketDisconnect:
        pass


async def bcast(ws: WebSocket) -> None:
    await ws.accept()
    members.add(ws)
    try:
        while True:
            text = await ws.receive_text()
            for member in list(members):
                try:
                    await member.send_text(text)
                except (WebSocketDisconnect, RuntimeError):
                    members.discard(member)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/json", json_echo),
        WebSocketRoute("/bcast", bcast),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), ws_max_size=2**25, log_level="warning"
    )
