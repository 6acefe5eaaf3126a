"""uvicorn (httptools, uvloop) with Starlette routes: ``python http_starlette.py PORT``.

The five routes of every ``http_*.py`` server (see ``http_fastrapi.py``), written with
Starlette's own request and responses; the body of ``POST /users`` is validated by the same
pydantic model.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import uvicorn
from http_models import User
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request


async def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!", "ok": True, "count": 3})


async def items(request: Request) -> JSONResponse:
    item_id = request.path_params["item_id"]
    return JSONResponse({"item_id": item_id, "q": request.query_params.get("q")})


async def users(request: Request) -> JSONResponse:
    user = User.model_validate_json(await request.body())
    return JSONResponse(user.model_dump())


def _sync() -> dict[str, object]:
    return {"message": "Hello, World!", "sync": True}


async def sync(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(_sync))


app = Starlette(
    routes=[
        Route("/plain", plain),
        Route("/json", json),
        Route("/items/{item_id:int}", items),
        Route("/users", users, methods=["POST"]),
        Route("/sync", sync),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
