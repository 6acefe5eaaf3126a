"""fastrapi's HTTP routes for the wrk workloads: ``python http_fastrapi.py PORT [PARSER]``.

PARSER is ``auto`` (the default: httptools when installed), ``httptools``, ``h11`` or
``hypercorn`` (the same app on Hypercorn's trio worker). Every ``http_*.py`` server serves the
same five routes: ``GET /plain`` (text), ``GET /json`` (a small dict as JSON), ``GET
/items/{id:int}?q=`` (a path and a query parameter, echoed as JSON), ``POST /users`` (a
200-byte JSON body validated by a pydantic model, echoed) and ``GET /sync`` (a plain ``def``,
which runs in a worker thread).
"""

from __future__ import annotations

from pydantic import BaseModel

from fastrapi import FastrAPI

app = FastrAPI(access_log=None)


class User(BaseModel):
    name: str
    email: str
    age: int
    tags: list[str]
    bio: str


@app.get("/plain")
async def plain() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> dict[str, object]:
    return {"message": "Hello, World!", "ok": True, "count": 3}


@app.get("/items/{item_id:int}")
async def items(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.post("/users")
async def users(user: User) -> User:
    return user


@app.get("/sync")
def sync() -> dict[str, object]:
    return {"message": "Hello, World!", "sync": True}


if __name__ == "__main__":
    from fastrapi_app import main  # (its own app is made too, and never served)

    main(app)
