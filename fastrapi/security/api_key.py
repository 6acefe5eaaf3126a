"""API keys in a query parameter, a header or a cookie (FastAPI's
``fastapi.security.api_key``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._connection import HTTPConnection  # noqa: TC001 (the planner resolves it)
from ._models import APIKey, APIKeyIn
from .base import SecurityBase

if TYPE_CHECKING:
    from collections.abc import Mapping


__all__ = ["APIKeyBase", "APIKeyCookie", "APIKeyHeader", "APIKeyQuery"]

_FOUND_IN: Final = {
    APIKeyIn.query: "query_params",
    APIKeyIn.header: "headers",
    APIKeyIn.cookie: "cookies",
}
"""The attribute of the connection where a key of each location is."""


class APIKeyBase(SecurityBase):
    """A key named ``name`` at one place of the request; the dependency's value is the key.

    A missing or empty key is a 401 with ``WWW-Authenticate: APIKey`` (RFC 9110 wants a
    challenge with every 401 and none is standard for keys: FastAPI's choice), or ``None``
    without ``auto_error``.
    """

    model: APIKey

    def __init__(
        self,
        location: APIKeyIn,
        name: str,
        description: str | None,
        scheme_name: str | None,
        auto_error: bool,
    ) -> None:
        self._found_in = _FOUND_IN[location]
        self.model = APIKey.model_validate(
            {"in": location, "name": name, "description": description}
        )
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        """``WWW-Authenticate: APIKey``."""
        return {"WWW-Authenticate": "APIKey"}

    def check_api_key(self, api_key: str | None) -> str | None:
        """``api_key`` if it is a non-empty string; else the 401, or ``None``."""
        if not api_key:
            self._unauthenticated()
            return None
        return api_key

    async def __call__(self, connection: HTTPConnection) -> str | None:
        """The key of the request or handshake.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: APIKey`` for a missing or empty key
                (only with ``auto_error``; else the value is ``None``).
        """
        found_in: Mapping[str, str] = getattr(connection, self._found_in)
        return self.check_api_key(found_in.get(self.model.name))


class APIKeyQuery(APIKeyBase):
    """A key in the query string (``?api_key=...``; it ends up in access logs: prefer a
    short-lived one).

    Args:
        name: The query parameter's name.
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing key raises 401 (``True``) or gives ``None``.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.query, name, description, scheme_name, auto_error)


class APIKeyHeader(APIKeyBase):
    """A key in a request header (``X-API-Key: ...``; the name is case-insensitive).

    Args:
        name: The header's name.
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing key raises 401 (``True``) or gives ``None``.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.header, name, description, scheme_name, auto_error)


class APIKeyCookie(APIKeyBase):
    """A key in a cookie (a browser sends it on a WebSocket handshake too).

    Args:
        name: The cookie's name.
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing key raises 401 (``True``) or gives ``None``.
    """

    def __init__(
        self,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(APIKeyIn.cookie, name, description, scheme_name, auto_error)
