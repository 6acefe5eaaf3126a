"""Hypercorn's trio worker with a bare ASGI app: ``python hypercorn_asgi.py PORT``.

``/ws`` echoes, ``/json`` re-serialises with the standard library's json, ``/bcast`` sends every
text message to every ``/bcast`` connection with a loop that awaits each ``send`` in turn.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

members: set[Any] = set()  # the ASGI send callables of /bcast


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    path = scope["path"]
    if path == "/bcast":
        members.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if path == "/bcast":
                for member in list(members):
                    await member({"type": "websocket.send", "text": message["text"]})
            elif path == "/json":
                reply = json.dumps(json.loads(message["text"]))
                await send({"type": "websocket.send", "text": reply})
            elif message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
    finally:
        members.discard(send)


if __name__ == "__main__":
    config = Config()
    config.bind = [f"127.0.0.1:{int(sys.argv[1])}"]
    config.accesslog = None
    config.websocket_max_message_size = 2**25
    trio.run(serve, app, config)  # type: ignore[arg-type]  # hypercorn types its app narrowly
