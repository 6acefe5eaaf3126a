"""An admin router that knows nothing of the app: the app gives it its prefix and
options."""

from __future__ import annotations

from fastrapi import APIRouter

router = APIRouter()


@router.post("/")
async def update_admin() -> dict[str, str]:
    return {"message": "Admin getting schwifty"}
