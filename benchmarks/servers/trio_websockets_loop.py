"""The floor of a Trio server with the faster codec: one task per connection, the sans-I/O
protocol of the ``websockets`` library, no framework.

    python trio_websockets_loop.py PORT

Each connection's task reads, hands the bytes to the protocol, and writes the echo back
itself: one task step per message, where a pump has a reader's and a handler's.
"""

from __future__ import annotations

import sys
from functools import partial

import trio
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol


async def echo(stream: trio.SocketStream) -> None:
    protocol = ServerProtocol(max_size=2**25)
    fragments: list[bytes | bytearray | memoryview] = []
    opcode = Opcode.TEXT
    async with stream:
        while True:
            try:
                data = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, Request):
                    protocol.send_response(protocol.accept(event))
                elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                    opcode = event.opcode
                    fragments = [event.data]
                elif isinstance(event, Frame) and event.opcode is Opcode.CONT:
                    fragments.append(event.data)
                else:
                    continue  # pings are answered and closes echoed by the protocol itself
                if isinstance(event, Frame) and event.fin:
                    message = b"".join(fragments)
                    if opcode is Opcode.TEXT:
                        protocol.send_text(message)
                    else:
                        protocol.send_binary(message)
            out = b"".join(protocol.data_to_send())
            if out:
                try:
                    await stream.send_all(out)
                except trio.BrokenResourceError:
                    return
            if not data or protocol.close_expected():
                return


if __name__ == "__main__":
    trio.run(partial(trio.serve_tcp, echo, int(sys.argv[1]), host="127.0.0.1"))
