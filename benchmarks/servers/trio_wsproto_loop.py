"""The floor of a Trio WebSocket server: one task per connection, wsproto, no framework.

    python trio_wsproto_loop.py PORT

Each connection's task reads, hands the bytes to wsproto, and writes the reply itself. ``/ws``
echoes, ``/json`` parses and re-serialises with orjson, ``/bcast`` sends every text message to
every ``/bcast`` connection in turn; there, writes take the connection's lock, since a
broadcasting task writes to other connections' streams.
"""

from __future__ import annotations

import sys
from functools import partial

import orjson
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError


class Peer:
    """One connection: its stream, its wsproto state, and a lock for writes from other tasks."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = WSConnection(ConnectionType.SERVER)
        self.lock = trio.Lock()

    async def send_locked(self, event: Message[str]) -> None:
        async with self.lock:
            await self.stream.send_all(self.conn.send(event))


members: set[Peer] = set()


async def serve(stream: trio.SocketStream) -> None:
    peer = Peer(stream)
    conn = peer.conn
    text: list[str] = []
    binary: list[bytes] = []
    path = "/ws"
    try:
        async with stream:
            while True:
                data = await stream.receive_some(65536)
                conn.receive_data(data or None)
                out = b""
                for event in conn.events():
                    if isinstance(event, Request):
                        path = event.target
                        out += conn.send(AcceptConnection())
                        if path == "/bcast":
                            members.add(peer)
                    elif isinstance(event, TextMessage):
                        text.append(event.data)
                        if event.message_finished:
                            message = "".join(text)
                            text.clear()
                            if path == "/bcast":
                                await broadcast(message)
                            elif path == "/json":
                                reply = orjson.dumps(orjson.loads(message)).decode()
                                out += conn.send(Message(data=reply))
                            else:
                                out += conn.send(Message(data=message))
                    elif isinstance(event, BytesMessage):
                        binary.append(bytes(event.data))
                        if event.message_finished:
                            out += conn.send(Message(data=b"".join(binary)))
                            binary.clear()
                    elif isinstance(event, Ping) or (
                        isinstance(event, CloseConnection)
                        and conn.state is ConnectionState.REMOTE_CLOSING
                    ):
                        out += conn.send(event.response())
                if out:
                    if path == "/bcast":
                        async with peer.lock:
                            await stream.send_all(out)
                    else:
                        await stream.send_all(out)
                if not data or conn.state is ConnectionState.CLOSED:
                    return
    except trio.BrokenResourceError:
        return
    finally:
        members.discard(peer)


async def broadcast(message: str) -> None:
    """Send ``message`` to every member in turn, dropping those whose socket fails."""
    for member in list(members):
        try:
            await member.send_locked(Message(data=message))
        except (LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            members.discard(member)


if __name__ == "__main__":
    trio.run(partial(trio.serve_tcp, serve, int(sys.argv[1]), host="127.0.0.1"))
