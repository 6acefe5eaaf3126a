"""The demo: the FastrAPI docs' echo endpoint and, at ``/``, their HTML test client.

    python examples/demo.py        # then open http://localhost:8000/

The page is the docs' own (``static/index.html``), which connects to
``ws://localhost:8000/ws``; it is served with that address replaced by the one the browser used,
so the page also works on another host or port.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from fastrapi import FastrAPI, HTMLResponse, Request, WebSocket

PAGE: Final = (Path(__file__).parent / "static" / "index.html").read_text()
app = FastrAPI()


HOST: Final = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


@app.get("/")
async def index(request: Request) -> HTMLResponse:
    host = request.headers.get("host", "")
    if not HOST.fullmatch(host):  # it goes into the page's script: a plain host:port only
        host = "localhost:8000"
    return HTMLResponse(PAGE.replace("ws://localhost:8000/ws", f"ws://{host}/ws"))


@app.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = await ws.receive_text()
            print(f"Client said: {data}")
            await ws.send_json({"reply": "Message received", "echo": data})
    except Exception as e:
        print(f"Connection closed: {e}")


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
