"""The FastrAPI docs' chat on the Hub: the room from the path, the user from the query.

    python examples/chat_hub.py      # then open http://localhost:8000/?room=lobby&username=ann

The page, ``static/chat.html``, is served by ``StaticFiles`` under ``/static``. It talks
to the Hub through ``/realtime``, a hub route (``app.hub_route``), with the browser
client the app serves at ``/_fastrapi/hub.js``: it subscribes to its room, says things
with the rpc method ``say`` (which puts the speaker's name on them), lists the room's
members with ``presence``, and, after a dropped connection or a restarted server,
reconnects with backoff and jitter and gets what it missed (or is told it cannot, and
starts afresh).

``/chat/{room}`` serves the same rooms to a plain WebSocket client (``websockets``, a
script): one text frame per message; each message it gets comes in an envelope with its
position (the route's AsyncAPI document, at ``/asyncapi``, shows it), which it hands
back, as ``epoch`` and ``offset`` in the query, when it reconnects.

Every message goes through the Hub, so a client that stops reading is closed (1008)
instead of stalling the room, and nobody iterates a set that changes. Join and leave
notices are the Hub's presence events.

With ``FASTRAPI_HUB_URL=redis://localhost:6379/0`` (and
``pip install 'fastrapi-trio[redis]'``) the rooms live in Redis: run it in several
processes, and every client of a room hears the others. The members of a process that
was killed are listed until its presence expires, after ``FASTRAPI_HUB_PRESENCE_TTL``
seconds (15 by default).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from fastrapi import (
    FastrAPI,
    HistoryGap,
    HTTPException,
    Hub,
    Request,
    Response,
    WebSocket,
)
from fastrapi.hub import Position, RedisBackend
from fastrapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from fastrapi.hub import HubConnection


class Members(BaseModel):
    """Who is in the room (their presence values), sent on joining."""

    type: Literal["members"] = "members"
    members: list[dict[str, str]]


class Reload(BaseModel):
    """What the client missed is no longer kept: it must start afresh."""

    type: Literal["reload"] = "reload"


class Say(BaseModel):
    """The parameters of the rpc method ``say``."""

    room: str
    text: str


url = os.environ.get("FASTRAPI_HUB_URL")
ttl = float(os.environ.get("FASTRAPI_HUB_PRESENCE_TTL", "15"))
backend = RedisBackend(url, presence_ttl=ttl) if url else None  # None: this process
hub = Hub(backend=backend, presence_events=True, history_size=100, envelope=True)
app = FastrAPI(hub=hub)
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"))


@app.get("/")
async def index(request: Request) -> Response:
    """The page (``static/chat.html``), keeping the query's room and username."""
    query = request.url.partition("?")[2]
    location = "/static/chat.html" + (f"?{query}" if query else "")
    return Response(status_code=307, headers={"location": location})


@app.websocket("/chat/{room}", receives=str, sends=Members | Reload)
async def chat_room(
    ws: WebSocket[str, Members | Reload],
    room: str,
    hub: Hub,
    username: str = "Anonymous",
    epoch: str = "",
    offset: int = 0,
) -> None:
    await ws.accept()
    since = Position(epoch, offset) if epoch else None  # the last message it saw
    try:
        async with hub.join(room, ws, presence={"username": username}, since=since):
            await ws.send_json(
                Members.model_validate({"members": await hub.members(room)})
            )
            async for text in ws.iter_text():
                await hub.publish(
                    room, {"type": "message", "username": username, "message": text}
                )
    except HistoryGap:  # what it missed is no longer kept: it must start afresh
        await ws.send_json(Reload())


def presence(
    connection: HubConnection, topic: str, username: str = "Anonymous"
) -> dict[str, str]:
    """A page's entry in a room's members: its ``?username=``, kept for ``say``."""
    connection.state.username = username
    return {"username": username}


def nobody(connection: HubConnection, topic: str) -> bool:
    """Pages do not publish themselves: they ``say``, which names the speaker."""
    return False


async def say(connection: HubConnection, params: Any) -> None:
    """rpc ``say`` ``{"room": ..., "text": ...}``: the text, under the speaker's name,
    to a room the page is in."""
    try:
        said = Say.model_validate(params)
    except ValidationError as exc:
        raise HTTPException(
            400, f"say takes a room and a text: {exc.errors()[0]['msg']}"
        ) from None
    if said.room not in connection.topics:
        raise HTTPException(403, f"say: not in room {said.room!r}")
    message = {
        "type": "message",
        "username": connection.state.username,
        "message": said.text,
    }
    await connection.hub.publish(said.room, message)


app.hub_route(
    "/realtime",
    presence=presence,
    presence_events=True,
    can_publish=nobody,
    rpc={"say": say},
)


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
