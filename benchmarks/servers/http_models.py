"""The pydantic model of ``POST /users``, shared by the Python ``http_*.py`` servers."""

from __future__ import annotations

from pydantic import BaseModel


class User(BaseModel):
    name: str
    email: str
    age: int
    tags: list[str]
    bio: str
