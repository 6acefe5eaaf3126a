"""The demo: the echo endpoint (``echo.py``) and, at ``/``, the FastrAPI docs' page.

    python examples/demo.py        # then open http://localhost:8000/

The page (``static/index.html``, the docs' own, connecting to ``ws://<its host>/ws``) is
served by :class:`~fastrapi.staticfiles.StaticFiles` under ``/static``; ``/`` sends the
browser there.
"""

from __future__ import annotations

from pathlib import Path

from echo import app
from fastrapi import Response
from fastrapi.staticfiles import StaticFiles

app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"))


@app.get("/")
async def index() -> Response:
    return Response(status_code=307, headers={"location": "/static/index.html"})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
