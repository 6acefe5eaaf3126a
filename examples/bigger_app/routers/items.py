"""Items: a router with a prefix, tags, a dependency and a documented 404 for every
route, a response model, and a WebSocket route that the same dependency guards at its
handshake."""

from __future__ import annotations

import pydantic

from fastrapi import APIRouter, Depends, HTTPException, WebSocket

from ..dependencies import get_token_header

router = APIRouter(
    prefix="/items",
    tags=["items"],
    dependencies=[Depends(get_token_header)],
    responses={404: {"description": "Not found"}},
)


class Item(pydantic.BaseModel):
    name: str
    price: float = 0.0


fake_items_db = {
    "plumbus": Item(name="Plumbus", price=3.5),
    "gun": Item(name="Portal Gun"),
}


@router.get("/")
async def read_items() -> dict[str, Item]:
    return fake_items_db


@router.get("/{item_id}")
async def read_item(item_id: str) -> Item:
    if item_id not in fake_items_db:
        raise HTTPException(status_code=404, detail="Item not found")
    return fake_items_db[item_id]


@router.put(
    "/{item_id}", tags=["custom"], responses={403: {"description": "Forbidden"}}
)
async def update_item(item_id: str) -> dict[str, str]:
    if item_id != "plumbus":
        raise HTTPException(
            status_code=403, detail="You can only update the item: plumbus"
        )
    return {"item_id": item_id, "name": "The great Plumbus"}


@router.websocket("/{item_id}/watch")
async def watch_item(ws: WebSocket, item_id: str) -> None:
    await ws.accept()
    item = fake_items_db.get(item_id)
    await ws.send_json(item.model_dump() if item else None)
