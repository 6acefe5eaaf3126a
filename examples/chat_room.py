"""A chat room: the FastrAPI docs' room, with the username from the query string.

Connect to ``ws://localhost:8000/chat/lobby?username=ann``. Compared with the docs'
version (``chat_room_seed.py``): ``username`` is a handler parameter with a default, so
fastrapi fills it in from ``?username=``; and the room is copied before each broadcast,
so a client leaving during one does not change the set being iterated. Its page,
``static/chat_room.html``, is served by ``StaticFiles`` under ``/static``; ``/`` sends
the browser there. The route declares its messages (text in, the three events out): they
are in its AsyncAPI document at ``/asyncapi``, and the tests check that the handler
sends only those.

``rooms`` is a dict in this process: serve this example with one worker (``--workers 2``
would split every room in two; see the deployment docs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from fastrapi import FastrAPI, Response, WebSocket, WebSocketDisconnect
from fastrapi.staticfiles import StaticFiles


class UserJoined(BaseModel):
    """Someone joined the room."""

    type: Literal["user_joined"]
    username: str
    room: str


class ChatLine(BaseModel):
    """A line someone said in the room."""

    type: Literal["message"]
    username: str
    message: str


class UserLeft(BaseModel):
    """Someone left the room."""

    type: Literal["user_left"]
    username: str


Event = UserJoined | ChatLine | UserLeft
ChatSocket = WebSocket[str, Event]  # text in, events out

app = FastrAPI()
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"))
rooms: dict[str, set[ChatSocket]] = {}


async def broadcast(room: str, message: Event, skip: ChatSocket | None = None) -> None:
    """Send ``message`` to everyone in ``room`` but ``skip``; drop whoever has left."""
    for connection in list(rooms.get(room, ())):
        if connection is skip:
            continue
        try:
            await connection.send_json(message)
        except WebSocketDisconnect:
            rooms[room].discard(connection)


@app.websocket("/chat/{room}", receives=str, sends=Event)
async def chat_room(ws: ChatSocket, room: str, username: str = "Anonymous") -> None:
    """A room: every line a member sends (as text) goes to everyone in it."""
    await ws.accept()
    rooms.setdefault(room, set()).add(ws)
    await broadcast(
        room, UserJoined(type="user_joined", username=username, room=room), skip=ws
    )
    try:
        async for data in ws.iter_text():
            await broadcast(
                room, ChatLine(type="message", username=username, message=data)
            )
    finally:
        rooms[room].discard(ws)
        await broadcast(room, UserLeft(type="user_left", username=username))


@app.get("/")
async def index() -> Response:
    return Response(status_code=307, headers={"location": "/static/chat_room.html"})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
