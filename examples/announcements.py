"""Rooms with announcements: clients join a room over a WebSocket and hear each other;
an HTTP POST with the admin's token announces to everyone in the room.

    python examples/announcements.py      # then connect to ws://localhost:8000/rooms/lobby

The Hub is on Redis when ``FASTRAPI_HUB_URL`` is set (``redis://localhost:6379/0``, with
``pip install 'fastrapi-trio[redis]'``), so that every process serving the app shares the
rooms. Its tests (``tests/test_announcements.py``, shown on the Testing page) swap it
for a memory Hub, and the settings for test ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated

from fastrapi import Depends, FastrAPI, Header, HTTPException, Hub, WebSocket


@dataclass(frozen=True)
class Settings:
    admin_token: str


def get_settings() -> Settings:
    """The app's settings, as a dependency: a test replaces them in one line."""
    return Settings(admin_token=os.environ.get("ADMIN_TOKEN", "change me"))


app = FastrAPI(hub=Hub(os.environ.get("FASTRAPI_HUB_URL")))  # no URL: this process only


@app.websocket("/rooms/{room}")
async def join(ws: WebSocket, room: str, hub: Hub) -> None:
    await ws.accept()
    async with hub.join(room, ws):
        await ws.send_json({"joined": room})
        async for text in ws.iter_text():
            await hub.publish(room, {"room": room, "text": text})


@app.post("/rooms/{room}/announce")
async def announce(
    room: str,
    text: str,
    token: Annotated[str, Header()],
    settings: Annotated[Settings, Depends(get_settings)],
    hub: Hub,
) -> dict[str, int]:
    if token != settings.admin_token:
        raise HTTPException(403, "only the admin announces")
    position = await hub.publish(room, {"room": room, "text": text, "from": "admin"})
    return {"offset": position.offset}


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
