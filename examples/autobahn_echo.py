"""The echo server the Autobahn|Testsuite runs against: text as text, binary as binary.

    python examples/autobahn_echo.py PORT [auto|websockets|wsproto|hypercorn]

The message size limit is raised to 32 MiB, as conformance servers usually do, so the
suite's 16 MiB cases test the protocol rather than the limit.
"""

from __future__ import annotations

import sys

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect

app = FastrAPI(max_message_size=2**25)


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send(await ws.receive())
    except WebSocketDisconnect:
        pass


if __name__ == "__main__":
    port = int(sys.argv[1])
    match sys.argv[2] if len(sys.argv) > 2 else "auto":
        case "hypercorn":
            app.serve("127.0.0.1", port, server="hypercorn")
        case "auto":
            app.serve("127.0.0.1", port)
        case "websockets":
            app.serve("127.0.0.1", port, ws="websockets")
        case "wsproto":
            app.serve("127.0.0.1", port, ws="wsproto")
        case other:
            sys.exit(f"unknown server or codec {other!r}")
