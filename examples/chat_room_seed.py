"""The FastrAPI docs' "Chat room example", exactly as written there (every user
"Anonymous").

``chat_room.py`` is the same room with the username taken from the query string.
"""
# mypy: allow-untyped-defs, allow-incomplete-defs, disable-error-code="type-arg"

import json  # noqa: F401 (as the docs write it; unused)
from typing import Dict  # noqa: UP035 (as the docs write it)

from fastrapi import FastrAPI

app = FastrAPI()
rooms: Dict[str, set] = {}  # noqa: UP006 (as the docs write it)


@app.websocket("/chat/{room}")
async def chat_room(ws, room: str):
    await ws.accept()
    # Get username from query parameter
    username = "Anonymous"
    # Add to room
    if room not in rooms:
        rooms[room] = set()
    rooms[room].add(ws)
    # Notify others of new user
    for connection in rooms[room]:
        if connection != ws:
            try:
                await connection.send_json(
                    {"type": "user_joined", "username": username, "room": room}
                )
            except:  # noqa: E722 (as the docs write it)
                rooms[room].discard(connection)
    try:
        while True:
            data = await ws.receive_text()
            # Broadcast message to room
            for connection in rooms[room]:
                try:
                    await connection.send_json(
                        {"type": "message", "username": username, "message": data}
                    )
                except:  # noqa: E722 (as the docs write it)
                    rooms[room].discard(connection)
    except Exception as e:
        print(f"Connection closed: {e}")
    finally:
        rooms[room].discard(ws)
        # Notify others of user leaving
        for connection in rooms[room]:
            try:
                await connection.send_json({"type": "user_left", "username": username})
            except:  # noqa: E722 (as the docs write it)
                rooms[room].discard(connection)


if __name__ == "__main__":
    app.serve("0.0.0.0", 8000)
