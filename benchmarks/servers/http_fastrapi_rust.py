"""FastrAPI, the Rust-powered framework on PyPI (``pip install fastrapi``, in a virtualenv of its
own: its import name is ours): ``VENV/bin/python http_fastrapi_rust.py PORT``.

The five routes of every ``http_*.py`` server (see ``http_fastrapi.py``); all are plain ``def``
here, as its ``async def`` routes answer 500 (0.2.11).
"""

# (no ``from __future__ import annotations``: FastrAPI reads the annotations as objects)
import sys

from pydantic import BaseModel

from fastrapi import FastrAPI  # PyPI's fastrapi, not this project

app = FastrAPI()


class User(BaseModel):  # (this file runs outside the project: no shared models module)
    name: str
    email: str
    age: int
    tags: list[str]
    bio: str


@app.get("/plain")
def plain() -> str:
    return "Hello, World!"


@app.get("/json")
def json() -> dict[str, object]:
    return {"message": "Hello, World!", "ok": True, "count": 3}


@app.get("/items/{item_id}")
def items(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.post("/users")
def users(data: User) -> User:  # (0.2.11 finds a model body by this name, not by ``user``)
    return data


@app.get("/sync")
def sync() -> dict[str, object]:
    return {"message": "Hello, World!", "sync": True}


if __name__ == "__main__":
    app.serve("127.0.0.1", int(sys.argv[1]))
