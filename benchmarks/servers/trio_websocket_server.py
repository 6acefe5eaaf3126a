"""trio-websocket's ``serve_websocket``: ``python trio_websocket_server.py PORT``.

``/ws`` echoes, ``/json`` re-serialises with the standard library's json, ``/bcast`` sends every
text message to every ``/bcast`` connection with a loop that awaits each send in turn.
"""

from __future__ import annotations

import json
import sys
from functools import partial

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

members: set[WebSocketConnection] = set()


async def handler(request: WebSocketRequest) -> None:
    ws = await request.accept()
    path = request.path
    if path == "/bcast":
        members.add(ws)
    try:
        while True:
            message = await ws.get_message()
            if path == "/bcast":
                for member in list(members):
                    try:
                        await member.send_message(message)
                    except ConnectionClosed:
                        members.discard(member)
            elif path == "/json":
                assert isinstance(message, str)
                await ws.send_message(json.dumps(json.loads(message)))
            else:
                await ws.send_message(message)
    except ConnectionClosed:
        pass
    finally:
        members.discard(ws)


if __name__ == "__main__":
    trio.run(
        partial(
            serve_websocket,
            handler,
            "127.0.0.1",
            int(sys.argv[1]),
            ssl_context=None,
            max_message_size=2**25,
        )
    )
