"""What an HTTP request and a WebSocket handshake share: the scope's URL, headers and peer."""

from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .datastructures import Address, Headers, QueryParams, parse_cookies

if TYPE_CHECKING:
    from ._types import Scope


class HTTPConnection:
    """Read-only facts about the request that opened a connection."""

    def __init__(self, scope: Scope, path_params: dict[str, object]) -> None:
        self._scope = scope
        self.path_params = path_params
        """The path parameters, converted as the route's template says."""

    @property
    def scope(self) -> Scope:
        """The ASGI scope of the request (as Starlette's ``.scope``; read it, do not change it)."""
        return self._scope

    @cached_property
    def state(self) -> SimpleNamespace:
        """A namespace for the handler's own per-connection data (made when first used)."""
        return SimpleNamespace()

    @cached_property
    def headers(self) -> Headers:
        """The request headers (case-insensitive)."""
        return Headers.from_raw(self._scope.get("headers", ()))

    @cached_property
    def query_params(self) -> QueryParams:
        """The query string's parameters."""
        return QueryParams.from_query_string(self._scope.get("query_string", b""))

    @cached_property
    def cookies(self) -> dict[str, str]:
        """The cookies the client sent."""
        return parse_cookies(self.headers.get("cookie", ""))

    @property
    def client(self) -> Address | None:
        """The peer's address, when the server knows it."""
        client = self._scope.get("client")
        return Address(client[0], client[1]) if client else None

    @cached_property
    def url(self) -> str:
        """The full URL of the request, query string included."""
        scope = self._scope
        scheme = scope.get("scheme", "http")
        host = self.headers.get("host")
        if host is None:
            server = scope.get("server")
            host = Address(server[0], server[1]).url("", "x")[4:] if server else "localhost"
        url = f"{scheme}://{host}{scope.get('root_path', '')}{scope['path']}"
        query = scope.get("query_string", b"")
        return f"{url}?{query.decode('latin-1')}" if query else url
