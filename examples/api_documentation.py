"""A chat whose HTTP and WebSocket APIs document themselves.

    pip install 'fastrapi-trio[docs-ui]'   # the pages' scripts, served by the app itself
    python examples/api_documentation.py

Then open http://localhost:8000/docs (Swagger UI), http://localhost:8000/redoc (Redoc)
and http://localhost:8000/asyncapi (the WebSocket API, from ``/asyncapi.json``). The
WebSocket route declares its message types once: ``receives=`` is what ``iter_json()``
validates into, ``sends=`` what ``send_json()`` is checked against in tests, and both
are in the AsyncAPI document, with the route's query parameter and close codes.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from fastrapi import FastrAPI, Query, WebSocket, WebSocketDisconnect


class Say(BaseModel):
    """A line to say in the room."""

    type: Literal["say"] = "say"
    text: str = Field(min_length=1, max_length=500)


class Typing(BaseModel):
    """The user is typing."""

    type: Literal["typing"] = "typing"


class Said(BaseModel):
    """A line said in the room, to everyone in it."""

    type: Literal["said"] = "said"
    username: str
    text: str


class Presence(BaseModel):
    """Someone joined or left the room, or is typing."""

    type: Literal["joined", "left", "typing"]
    username: str


class Room(BaseModel):
    name: str
    members: list[str]


In = Say | Typing
Out = Said | Presence
ChatSocket = WebSocket[In, Out]

app = FastrAPI(title="Chat", version="1.0.0", description="Rooms to chat in.")
rooms: dict[str, dict[str, ChatSocket]] = {}


@app.get("/rooms", tags=["rooms"])
async def list_rooms() -> list[Room]:
    """The rooms with someone in them."""
    return [Room(name=name, members=sorted(members)) for name, members in rooms.items()]


async def broadcast(room: str, message: Out) -> None:
    for ws in list(rooms.get(room, {}).values()):
        # one that is leaving raises: its own handler removes it
        with contextlib.suppress(WebSocketDisconnect):
            await ws.send_json(message)


@app.websocket(
    "/chat/{room}",
    receives=In,
    sends=Out,
    closes={4009: "the username is taken in this room"},
)
async def chat(
    ws: ChatSocket,
    room: str,
    username: Annotated[str, Query(min_length=1, max_length=40)],
) -> None:
    """Chat in a room.

    Every line said is sent to everyone in the room, with who joins and leaves."""
    await ws.accept()
    members = rooms.setdefault(room, {})
    if username in members:
        await ws.close(4009, "username taken")
        return
    members[username] = ws
    try:
        await broadcast(room, Presence(type="joined", username=username))
        async for message in ws.iter_json():
            if isinstance(message, Say):
                await broadcast(room, Said(username=username, text=message.text))
            else:
                await broadcast(room, Presence(type="typing", username=username))
    finally:
        del members[username]
        if not members:
            del rooms[room]
        await broadcast(room, Presence(type="left", username=username))


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
