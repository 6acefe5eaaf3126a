"""The FastrAPI docs' "Best practices": always handle disconnections, and use rooms.

The disconnection snippet is the docs' own, inside a handler; the rooms snippet's dict
of sets holds the connections of each room.
"""
# mypy: allow-untyped-defs, allow-incomplete-defs, disable-error-code="type-arg"

from fastrapi import FastrAPI

app = FastrAPI()
connections = {"room1": set(), "room2": set()}  # type: ignore[var-annotated]


@app.websocket("/echo")
async def echo(ws):
    await ws.accept()
    try:
        while True:
            data = await ws.receive_text()
            await ws.send_text(data)
    except Exception:
        # Cleanup
        pass


@app.websocket("/rooms/{room}")
async def room_endpoint(ws, room: str):
    await ws.accept()
    if room not in connections:
        await ws.close(code=4004, reason=f"no room {room}")
        return
    connections[room].add(ws)
    try:
        async for text in ws.iter_text():
            for member in list(connections[room]):
                try:
                    await member.send_text(f"{room}: {text}")
                except ConnectionError:
                    connections[room].discard(member)
    finally:
        connections[room].discard(ws)


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
