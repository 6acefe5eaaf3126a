"""An echo endpoint: each text message the client sends comes back in a JSON reply.

    python examples/echo.py      # then connect to ws://localhost:8000/ws

``examples/demo.py`` serves it with an HTML page to try it in a browser.
"""

from __future__ import annotations

from fastrapi import FastrAPI, WebSocket

app = FastrAPI()


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():  # ends when the client leaves
        await ws.send_json({"reply": "Message received", "echo": text})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
