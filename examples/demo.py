"""The demo: the FastrAPI docs' echo endpoint (``echo.py``) and, at ``/``, their HTML client.

    python examples/demo.py        # then open http://localhost:8000/

The page is the docs' own (``static/index.html``), which connects to
``ws://localhost:8000/ws``; it is served with that address replaced by the one the browser used,
so the page also works on another host or port.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from echo import app

from fastrapi import HTMLResponse, Request

PAGE: Final = (Path(__file__).parent / "static" / "index.html").read_text()


HOST: Final = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


@app.get("/")
async def index(request: Request) -> HTMLResponse:
    host = request.headers.get("host", "")
    if not HOST.fullmatch(host):  # it goes into the page's script: a plain host:port only
        host = "localhost:8000"
    return HTMLResponse(PAGE.replace("ws://localhost:8000/ws", f"ws://{host}/ws"))


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
