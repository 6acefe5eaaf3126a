"""FastAPI on uvicorn (httptools, uvloop): ``python http_fastapi.py PORT``.

The five routes of every ``http_*.py`` server (see ``http_fastrapi.py``), as FastAPI's docs
write them.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from http_models import User  # noqa: TC002  # the framework reads the annotations at run time

app = FastAPI()


@app.get("/plain", response_class=PlainTextResponse)
async def plain() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> dict[str, object]:
    return {"message": "Hello, World!", "ok": True, "count": 3}


@app.get("/items/{item_id}")
async def items(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.post("/users")
async def users(user: User) -> User:
    return user


@app.get("/sync")
def sync() -> dict[str, object]:
    return {"message": "Hello, World!", "sync": True}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
