"""An API that documents itself: its OpenAPI document is at /openapi.json.

Run it with ``python examples/openapi_document.py`` and open
http://127.0.0.1:8000/openapi.json.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from fastrapi import FastrAPI, HTTPException
from fastrapi.params import Depends, Path, Query
from fastrapi.security import OAuth2PasswordBearer

app = FastrAPI(
    title="Inventory",
    version="1.2.0",
    description="Items in stock, and who may change them.",
    openapi_tags=[{"name": "items", "description": "What is in stock."}],
)
oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"items:write": "Change items."})


class Item(BaseModel):
    """An item in stock."""

    name: str = Field(examples=["hammer"])
    price: float = Field(gt=0)
    tags: list[str] = []


ITEMS: dict[int, Item] = {1: Item(name="hammer", price=9.5)}


@app.get(
    "/items/{item_id}", tags=["items"], responses={404: {"description": "No such item"}}
)
async def read_item(item_id: Annotated[int, Path(ge=1)]) -> Item:
    """One item by its id."""
    if item_id not in ITEMS:
        raise HTTPException(404, "No such item")
    return ITEMS[item_id]


@app.get("/items/", tags=["items"])
async def list_items(
    limit: Annotated[int, Query(le=100, description="At most this many")] = 10,
) -> list[Item]:
    """The items, in id order."""
    return [ITEMS[k] for k in sorted(ITEMS)][:limit]


@app.put("/items/{item_id}", tags=["items"], status_code=201)
async def put_item(
    item_id: int, item: Item, token: Annotated[str, Depends(oauth2)]
) -> Item:
    """Store an item (needs a bearer token)."""
    ITEMS[item_id] = item
    return item


if __name__ == "__main__":
    app.serve()
