"""An echo app (``/ws``, and ``GET /``): the loopback tests serve it, and it serves itself for
the shutdown tests: ``python served_app.py blocking|trio``."""

from __future__ import annotations

import logging
import os
import sys
from functools import partial

import trio

from fastrapi import FastrAPI, PlainTextResponse, WebSocket

app = FastrAPI(metrics_path="/metrics")


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(str(os.getpid()) if text == "pid" else text)


@app.get("/", response_class=PlainTextResponse)
async def index() -> str:
    return "ok"


@app.get("/pid", response_class=PlainTextResponse)
async def pid() -> str:
    return str(os.getpid())  # which worker answered


if __name__ == "__main__":
    if sys.argv[1] == "blocking":
        app.serve("127.0.0.1", 0, shutdown_timeout=1)
    else:
        logging.basicConfig(level=logging.INFO)
        trio.run(partial(app.serve, "127.0.0.1", 0, shutdown_timeout=1))
    print("exited cleanly", flush=True)
