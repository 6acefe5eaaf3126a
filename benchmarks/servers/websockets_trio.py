"""The ``websockets`` library's own Trio server: ``python websockets_trio.py PORT``.

``/ws`` echoes, ``/json`` re-serialises with the standard library's json, ``/bcast`` sends every
text message to every ``/bcast`` connection with the library's ``broadcast()`` (each send
awaited in turn).
"""

from __future__ import annotations

import json
import sys
from functools import partial

import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.connection import broadcast
from websockets.trio.server import ServerConnection, serve

members: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else "/ws"
    try:
        if path == "/json":
            async for message in ws:
                await ws.send(json.dumps(json.loads(message)))
        elif path == "/bcast":
            members.add(ws)
            async for message in ws:
                await broadcast(members, message)
        else:
            async for message in ws:
                await ws.send(message)
    except ConnectionClosed:
        pass
    finally:
        members.discard(ws)


if __name__ == "__main__":
    port = int(sys.argv[1])
    trio.run(partial(serve, handler, port, host="127.0.0.1", max_size=2**25, compression=None))
