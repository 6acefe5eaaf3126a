"""Validated parameters and dependencies, FastAPI's way, on HTTP and WebSocket routes.

``GET /items?limit=5`` lists items, ``POST /items`` takes a JSON ``Item``, ``GET
/report`` is a plain ``def`` (it runs in a worker thread), and
``ws://localhost:8000/items/feed?limit=2`` streams the items. Each request gets one
``Store`` (a generator dependency: what follows its ``yield`` runs after the response,
or when the connection ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from fastrapi import Depends, FastrAPI, Header, PlainTextResponse, Query, WebSocket

if TYPE_CHECKING:
    from collections.abc import Iterator

app = FastrAPI()


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    price: float = Field(gt=0)


ITEMS: list[Item] = [Item(name="pen", price=1.5), Item(name="ink", price=4.0)]


class Store:
    """Stands in for a database session: opened per request, closed after it."""

    def __init__(self) -> None:
        self.closed = False

    def list(self, limit: int) -> list[Item]:
        return ITEMS[:limit]

    def add(self, item: Item) -> None:
        ITEMS.append(item)


def get_store() -> Iterator[Store]:
    store = Store()
    try:
        yield store
    finally:
        store.closed = True


StoreDep = Annotated[Store, Depends(get_store)]
Limit = Annotated[int, Query(ge=1, le=100)]


@app.get("/items")
async def list_items(store: StoreDep, limit: Limit = 10) -> list[Item]:
    return store.list(limit)


@app.post("/items")
async def add_item(item: Item, store: StoreDep) -> dict[str, int]:
    store.add(item)
    return {"count": len(ITEMS)}


@app.get("/report", response_class=PlainTextResponse)
def report(store: StoreDep, user_agent: Annotated[str, Header()] = "?") -> str:
    # a plain def: it may block (a slow library call, say) without stalling the server
    total = sum(item.price for item in store.list(100))
    return f"{len(ITEMS)} items worth {total:.2f}, asked by {user_agent}"


@app.websocket("/items/feed")
async def feed(ws: WebSocket, store: StoreDep, limit: Limit = 10) -> None:
    await ws.accept()
    for item in store.list(limit):
        await ws.send_json(item)
    await ws.close()


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
