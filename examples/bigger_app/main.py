"""The app: global dependencies, and the routers included, one with options of its own."""

from __future__ import annotations

from fastrapi import Depends, FastrAPI

from .dependencies import get_query_token, get_token_header
from .internal import admin
from .routers import items, users

app = FastrAPI(dependencies=[Depends(get_query_token)])

app.include_router(users.router)
app.include_router(items.router)
app.include_router(
    admin.router,
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(get_token_header)],
    responses={418: {"description": "I'm a teapot"}},
)


@app.get("/")
async def root() -> dict[str, str]:
    return {"message": "Hello Bigger Applications!"}


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
