"""Litestar on uvicorn (httptools, uvloop): ``python http_litestar.py PORT``.

The five routes of every ``http_*.py`` server (see ``http_fastrapi.py``), as Litestar's docs
write them (``sync_to_thread=True``: the plain ``def`` runs in a worker thread, as the others').
"""

from __future__ import annotations

import sys

import uvicorn
from http_models import User  # noqa: TC002  # the framework reads the annotations at run time
from litestar import Litestar, MediaType, get, post


@get("/plain", media_type=MediaType.TEXT)
async def plain() -> str:
    return "Hello, World!"


@get("/json")
async def json() -> dict[str, object]:
    return {"message": "Hello, World!", "ok": True, "count": 3}


@get("/items/{item_id:int}")
async def items(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@post("/users", status_code=200)
async def users(data: User) -> User:
    return data


@get("/sync", sync_to_thread=True)
def sync() -> dict[str, object]:
    return {"message": "Hello, World!", "sync": True}


app = Litestar([plain, json, items, users, sync])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
