"""The ``websockets`` library's own asyncio server: ``python websockets_asyncio.py PORT``.

``/ws`` echoes, ``/json`` re-serialises with the standard library's json, ``/bcast`` sends every
text message to every ``/bcast`` connection with the library's ``broadcast()``, which writes to
each socket without waiting on any.
"""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

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
                broadcast(members, message)
        else:
            async for message in ws:
                await ws.send(message)
    except ConnectionClosed:
        pass
    finally:
        members.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=2**25, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
