"""The FastrAPI docs' chat room on the Hub: rooms from the path, the username from the query.

    python examples/chat_hub.py      # then open http://localhost:8000/?room=lobby&username=ann

The page, ``static/chat.html``, is served by ``StaticFiles`` under ``/static``.

Every message goes through the Hub, so a client that stops reading is closed (1008) instead of
stalling the room, and nobody iterates a set that changes. Join and leave notices are the
Hub's presence events; a client gets the room's members when it joins. Each message reaches
the browser in an envelope with its position (the route's AsyncAPI document, at ``/asyncapi``,
shows it with the messages the route declares); the page keeps the last one and, when it
reconnects, hands it back, so it gets what it missed (or, if that is gone, is told to reload).

With ``FASTRAPI_HUB_URL=redis://localhost:6379/0`` (``pip install fastrapi-trio[redis]``) the
rooms live in Redis: run it in several processes, and every client of a room hears the others.
The members of a process that was killed are listed until its presence expires, after
``FASTRAPI_HUB_PRESENCE_TTL`` seconds (15 by default).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from fastrapi import FastrAPI, HistoryGap, Hub, Request, Response, WebSocket
from fastrapi.hub import Position, RedisBackend
from fastrapi.staticfiles import StaticFiles


class Members(BaseModel):
    """Who is in the room (their presence values), sent on joining."""

    type: Literal["members"] = "members"
    members: list[dict[str, str]]


class Reload(BaseModel):
    """What the client missed is no longer kept: it must start afresh."""

    type: Literal["reload"] = "reload"


url, ttl = os.environ.get("FASTRAPI_HUB_URL"), os.environ.get("FASTRAPI_HUB_PRESENCE_TTL", "15")
backend = RedisBackend(url, presence_ttl=float(ttl)) if url else None  # None: this process only
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
    since = Position(epoch, offset) if epoch else None  # the last message the client saw
    try:
        async with hub.join(room, ws, presence={"username": username}, since=since):
            await ws.send_json(Members.model_validate({"members": await hub.members(room)}))
            async for text in ws.iter_text():
                await hub.publish(room, {"type": "message", "username": username, "message": text})
    except HistoryGap:  # what it missed is no longer kept: it must start afresh
        await ws.send_json(Reload())


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
