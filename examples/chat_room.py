"""A chat room: the FastrAPI docs' room, with the username from the query string.

Connect to ``ws://localhost:8000/chat/lobby?username=ann``. Compared with the docs' version
(``chat_room_seed.py``): ``username`` is a handler parameter with a default, so fastrapi fills it
in from ``?username=``; and the room is copied before each broadcast, so a client leaving
during one does not change the set being iterated. Its page, ``static/chat_room.html``, is
served by ``StaticFiles`` under ``/static``; ``/`` sends the browser there.

``rooms`` is a dict in this process: serve this example with one worker (``--workers 2`` would
split every room in two; see the deployment docs).
"""

from __future__ import annotations

from pathlib import Path

from fastrapi import FastrAPI, Response, WebSocket, WebSocketDisconnect
from fastrapi.staticfiles import StaticFiles

app = FastrAPI()
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"))
rooms: dict[str, set[WebSocket]] = {}


async def broadcast(room: str, message: dict[str, str], skip: WebSocket | None = None) -> None:
    """Send ``message`` to everyone in ``room`` but ``skip``; drop whoever has left."""
    for connection in list(rooms.get(room, ())):
        if connection is skip:
            continue
        try:
            await connection.send_json(message)
        except WebSocketDisconnect:
            rooms[room].discard(connection)


@app.websocket("/chat/{room}")
async def chat_room(ws: WebSocket, room: str, username: str = "Anonymous") -> None:
    await ws.accept()
    rooms.setdefault(room, set()).add(ws)
    await broadcast(room, {"type": "user_joined", "username": username, "room": room}, skip=ws)
    try:
        async for data in ws.iter_text():
            await broadcast(room, {"type": "message", "username": username, "message": data})
    finally:
        rooms[room].discard(ws)
        await broadcast(room, {"type": "user_left", "username": username})


@app.get("/")
async def index() -> Response:
    return Response(status_code=307, headers={"location": "/static/chat_room.html"})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
