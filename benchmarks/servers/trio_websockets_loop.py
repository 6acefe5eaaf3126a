"""The floor of a Trio server with the faster codec: one task per connection, the sans-I/O
protocol of the ``websockets`` library, no framework.

    python trio_websockets_loop.py PORT

Each connection's task reads, hands the bytes to the protocol, and writes the reply itself: one
task step per message, where a pump has a reader's and a handler's. ``/ws`` echoes, ``/json``
parses and re-serialises with orjson (fastrapi's JSON library), ``/bcast`` sends every text
message to every ``/bcast`` connection in turn. There, and only there, writes take the
connection's lock, since a broadcasting task writes to other connections' streams.
"""

from __future__ import annotations

import sys
from functools import partial

import orjson
import trio
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol


class Peer:
    """One connection: its stream, its protocol, and a lock for writes from other tasks."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.protocol = ServerProtocol(max_size=2**25)
        self.lock = trio.Lock()

    async def flush(self) -> None:
        out = b"".join(self.protocol.data_to_send())
        if out:
            await self.stream.send_all(out)

    async def flush_locked(self) -> None:
        async with self.lock:
            await self.flush()


members: set[Peer] = set()


async def serve(stream: trio.SocketStream) -> None:
    peer = Peer(stream)
    protocol = peer.protocol
    fragments: list[bytes | bytearray | memoryview] = []
    opcode = Opcode.TEXT
    path = "/ws"
    try:
        async with stream:
            while True:
                data = await stream.receive_some(65536)
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                for event in protocol.events_received():
                    if isinstance(event, Request):
                        path = event.path
                        protocol.send_response(protocol.accept(event))
                        if path == "/bcast":
                            members.add(peer)
                    elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                        opcode = event.opcode
                        fragments = [event.data]
                    elif isinstance(event, Frame) and event.opcode is Opcode.CONT:
                        fragments.append(event.data)
                    else:
                        continue  # pings are answered and closes echoed by the protocol itself
                    if isinstance(event, Frame) and event.fin:
                        message = b"".join(fragments)
                        if path == "/bcast":
                            await broadcast(message)
                        elif path == "/json":
                            protocol.send_text(orjson.dumps(orjson.loads(message)))
                        elif opcode is Opcode.TEXT:
                            protocol.send_text(message)
                        else:
                            protocol.send_binary(message)
                await (peer.flush_locked() if path == "/bcast" else peer.flush())
                if not data or protocol.close_expected():
                    return
    except trio.BrokenResourceError:
        return
    finally:
        members.discard(peer)


async def broadcast(message: bytes) -> None:
    """Send ``message`` to every member in turn, dropping those whose socket fails."""
    for member in list(members):
        try:
            member.protocol.send_text(message)
            await member.flush_locked()
        except (InvalidState, trio.BrokenResourceError, trio.ClosedResourceError):
            members.discard(member)


if __name__ == "__main__":
    trio.run(partial(trio.serve_tcp, serve, int(sys.argv[1]), host="127.0.0.1"))
