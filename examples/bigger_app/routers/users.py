"""Users: a router with no options of its own."""

from __future__ import annotations

from fastrapi import APIRouter

router = APIRouter()


@router.get("/users/", tags=["users"])
async def read_users() -> list[dict[str, str]]:
    return [{"username": "Rick"}, {"username": "Morty"}]


@router.get("/users/me", tags=["users"])
async def read_user_me() -> dict[str, str]:
    return {"username": "fakecurrentuser"}


@router.get("/users/{username}", tags=["users"])
async def read_user(username: str) -> dict[str, str]:
    return {"username": username}
