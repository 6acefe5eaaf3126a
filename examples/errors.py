"""Errors on WebSocket routes: bad input answered, a refusal with a close code of its own.

    python examples/errors.py      # then connect to ws://localhost:8000/json

When the client leaves, ``receive_json()`` raises ``WebSocketDisconnect``, which ends
the handler normally: there is nothing to catch for it. Any other error of a handler
closes the connection with 1011 and is logged with the route and the client.
"""

from __future__ import annotations

from fastrapi import FastrAPI, MessageDecodeError, WebSocket, WebSocketException

app = FastrAPI()


@app.websocket("/json")
async def json_echo(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        try:
            data = await ws.receive_json()
        except MessageDecodeError as exc:  # consumed; the connection stays usable
            await ws.send_json({"error": str(exc)})
        else:
            await ws.send_json({"echo": data})


@app.websocket("/private")
async def private(ws: WebSocket, token: str = "") -> None:
    await ws.accept()
    if token != "secret":
        raise WebSocketException(code=4003, reason="forbidden")  # the close it sends
    await ws.send_text("welcome")


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
