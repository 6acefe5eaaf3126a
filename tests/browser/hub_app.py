"""The app the browser client's Chromium tests talk to: ``/realtime``, a hub route (on Redis
with ``FASTRAPI_HUB_URL``, else in memory) that refuses the topic ``secret``, publishing to
``readonly:*`` and the handshake of ``?user=mallory`` (401, so closed with 4401), with an rpc
method ``pid`` (which worker serves the client); ``/silent``, a
server that says hello and then never pings; ``/``, a page that imports ``/_fastrapi/hub.js``.

``fastrapi run tests.browser.hub_app:app [--workers 2]``
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from fastrapi import Depends, FastrAPI, HTMLResponse, HTTPException, Hub, WebSocket
from fastrapi.hub import RedisBackend

if TYPE_CHECKING:
    from fastrapi.hub import HubConnection

SILENT_PING_INTERVAL: Final = 0.5
"""What ``/silent`` says its ping interval is (it sends none)."""

url = os.environ.get("FASTRAPI_HUB_URL")
app = FastrAPI(hub=Hub(backend=RedisBackend(url) if url else None, history_size=500))

PAGE: Final = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>hub.js</title></head>
<body><script type="module">
import * as hubjs from "/_fastrapi/hub.js";
window.hubjs = hubjs;
</script></body></html>
"""


@app.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


def can_subscribe(connection: HubConnection, topic: str) -> bool:
    return topic != "secret"


def can_publish(connection: HubConnection, topic: str) -> bool:
    return not topic.startswith("readonly:")


async def pid(connection: HubConnection, params: Any) -> int:
    """Which process serves this client."""
    return os.getpid()


def not_mallory(user: str = "") -> None:
    if user == "mallory":
        raise HTTPException(401, "not you, mallory")


app.hub_route(
    "/realtime",
    can_subscribe=can_subscribe,
    can_publish=can_publish,
    rpc={"pid": pid},
    dependencies=[Depends(not_mallory)],
)


@app.websocket("/silent")
async def silent(ws: WebSocket) -> None:
    """A server gone quiet (a dead process behind a live proxy, a broken NAT path): it says
    hello, then sends nothing, not even the pings it announced."""
    await ws.accept("fastrapi.hub.v1")
    await ws.send_json({"type": "hello", "version": 1, "ping_interval": SILENT_PING_INTERVAL})
    while True:
        await ws.receive_text()  # reads the commands, answers none, until the client leaves
