"""A room on a Redis Hub whose every answer says which process gave it, for the worker tests.

``fastrapi run tests.redis.hub_app:app --workers 2``, or ``python -m tests.redis.hub_app``
(``app.serve(workers=2)``), with ``FASTRAPI_HUB_URL`` (and ``FASTRAPI_HUB_PRESENCE_TTL``,
``FASTRAPI_HUB_TIMEOUT``) set.
A WebSocket of ``/room/{room}`` joins the room (with ``since`` from ``epoch`` and ``offset``),
then gets ``{"pid": ...}``; each text it sends is published as ``{"from": name, "text": ...}``.
"""

from __future__ import annotations

import os

from fastrapi import FastrAPI, Hub, WebSocket
from fastrapi.hub import Position, RedisBackend

backend = RedisBackend(
    os.environ["FASTRAPI_HUB_URL"],
    presence_ttl=float(os.environ.get("FASTRAPI_HUB_PRESENCE_TTL", "15")),
    timeout=float(os.environ.get("FASTRAPI_HUB_TIMEOUT", "2")),
)
hub = Hub(backend=backend, history_size=100, envelope=True)
app = FastrAPI(hub=hub, metrics_path="/metrics")


@app.get("/whoami")
async def whoami() -> dict[str, object]:
    """This worker's pid and its identities on Redis."""
    return {"pid": os.getpid(), "hub": repr(hub), "backend": repr(backend)}


@app.get("/members/{room}")
async def members(room: str) -> dict[str, object]:
    return {"pid": os.getpid(), "members": await hub.members(room)}


@app.websocket("/room/{room}")
async def room(ws: WebSocket, room: str, name: str = "", epoch: str = "", offset: int = 0) -> None:
    await ws.accept()
    since = Position(epoch, offset) if epoch else None
    async with hub.join(room, ws, presence={"name": name} if name else None, since=since):
        await ws.send_json({"pid": os.getpid()})  # after what it recovered: it is in
        async for text in ws.iter_text():
            await hub.publish(room, {"from": name, "text": text})


if __name__ == "__main__":
    app.serve("127.0.0.1", 0, workers=2, shutdown_timeout=1)
