"""A room on a Redis Hub with short timeouts, for the tests of Redis going away.

``fastrapi run tests.redis.outage_app:app`` with ``FASTRAPI_HUB_URL`` set, and
``FASTRAPI_HUB_STARTUP_TIMEOUT`` (seconds) and ``FASTRAPI_HUB_DEGRADED`` (``1``: start without
Redis) if wanted. A WebSocket of ``/room/{room}`` joins the room, gets ``"joined"``, and
publishes each text it sends; ``POST /publish/{room}`` publishes ``{"text": ...}``.
"""

from __future__ import annotations

import os

from fastrapi import FastrAPI, Hub, WebSocket
from fastrapi.hub import RedisBackend

backend = RedisBackend(
    os.environ["FASTRAPI_HUB_URL"],
    timeout=0.5,
    max_backoff=0.5,
    startup_timeout=float(os.environ.get("FASTRAPI_HUB_STARTUP_TIMEOUT", "10")),
    start_degraded=os.environ.get("FASTRAPI_HUB_DEGRADED") == "1",
)
hub = Hub(backend=backend, history_size=100, envelope=True)
app = FastrAPI(hub=hub, metrics_path="/metrics")


@app.websocket("/room/{room}")
async def room(ws: WebSocket, room: str) -> None:
    await ws.accept()
    async with hub.join(room, ws):
        await ws.send_text("joined")
        async for text in ws.iter_text():
            await hub.publish(room, text)


@app.post("/publish/{room}")
async def publish(room: str, text: str) -> dict[str, int]:
    """Publish ``text`` to ``room``; its offset."""
    return {"offset": (await hub.publish(room, {"text": text})).offset}
