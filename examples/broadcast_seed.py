"""The FastrAPI docs' "Broadcast pattern", as written there (asyncio imported, unused).

Two bugs, kept as the docs have them (``broadcast.py`` is the same on the Hub): a client
that stops reading stalls every broadcast behind it, since each send is awaited in turn;
and a send that fails removes a client from the set the loop is iterating ("Set changed
size during iteration", which ends the *sender's* connection).
"""
# mypy: allow-untyped-defs, allow-incomplete-defs, disable-error-code="type-arg"

import asyncio  # noqa: F401 (as the docs write it; unused)
from typing import Set  # noqa: UP035 (as the docs write it)

from fastrapi import FastrAPI

app = FastrAPI()
connections: Set = set()  # noqa: UP006 (as the docs write it)


@app.websocket("/ws")
async def websocket_endpoint(ws):
    await ws.accept()
    connections.add(ws)
    try:
        while True:
            data = await ws.receive_text()
            # Broadcast to all connected clients
            for connection in connections:
                try:
                    await connection.send_json(
                        {"message": data, "total_clients": len(connections)}
                    )
                except:  # noqa: E722 (as the docs write it)
                    connections.discard(connection)
    except Exception as e:
        print(f"Connection closed: {e}")
    finally:
        connections.discard(ws)


if __name__ == "__main__":
    app.serve("0.0.0.0", 8000)
