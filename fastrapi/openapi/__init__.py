"""The API documents: OpenAPI 3.1 for the HTTP routes (:mod:`fastrapi.openapi.utils`), as
FastAPI's ``fastapi.openapi`` package makes them."""

from __future__ import annotations

__all__: list[str] = []
