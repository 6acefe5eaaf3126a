"""Dependencies the routers share: a header token and a query token."""

from __future__ import annotations

from typing import Annotated

from fastrapi import Header, HTTPException


async def get_token_header(x_token: Annotated[str, Header()]) -> None:
    """A route of a router that lists it needs ``X-Token: fake-super-secret-token``."""
    if x_token != "fake-super-secret-token":
        raise HTTPException(status_code=400, detail="X-Token header invalid")


async def get_query_token(token: str) -> None:
    """Every route of the app needs ``?token=jessica``."""
    if token != "jessica":
        raise HTTPException(status_code=400, detail="No Jessica token provided")
