"""The floor of a Trio WebSocket server: one task per connection, wsproto, no framework.

    python trio_wsproto_loop.py PORT

Each connection's task reads, hands the bytes to wsproto, and writes the echo back itself.
"""

from __future__ import annotations

import sys
from functools import partial

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Request,
    TextMessage,
)


async def echo(stream: trio.SocketStream) -> None:
    conn = WSConnection(ConnectionType.SERVER)
    text: list[str] = []
    binary: list[bytes] = []
    async with stream:
        while True:
            try:
                data = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return
            conn.receive_data(data or None)
            out = b""
            for event in conn.events():
                if isinstance(event, Request):
                    out += conn.send(AcceptConnection())
                elif isinstance(event, TextMessage):
                    text.append(event.data)
                    if event.message_finished:
                        out += conn.send(Message(data="".join(text)))
                        text.clear()
                elif isinstance(event, BytesMessage):
                    binary.append(bytes(event.data))
                    if event.message_finished:
                        out += conn.send(Message(data=b"".join(binary)))
                        binary.clear()
                elif isinstance(event, Ping):
                    out += conn.send(event.response())
                elif isinstance(event, CloseConnection):
                    if out:
                        await stream.send_all(out)
                    return
            if out:
                try:
                    await stream.send_all(out)
                except trio.BrokenResourceError:
                    return
            if not data:
                return


if __name__ == "__main__":
    trio.run(partial(trio.serve_tcp, echo, int(sys.argv[1]), host="127.0.0.1"))
