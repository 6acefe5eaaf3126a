"""What an HTTP request and a WebSocket handshake share: the scope's URL, headers and peer."""

from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

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
    def session(self) -> dict[str, Any]:
        """The client's session (a dict to read and change), kept by
        :class:`~fastrapi.middleware.sessions.SessionMiddleware`.

        Raises:
            RuntimeError: the app has no ``SessionMiddleware``.
        """
        try:
            session: dict[str, Any] = self._scope["session"]
        except KeyError:
            raise RuntimeError(
                "SessionMiddleware must be installed to access request.session"
            ) from None
        return session

    @property
    def client(self) -> Address | None:
        """The peer's address, when the server knows it."""
        client = self._scope.get("client")
        return Address(client[0], client[1]) if client else None

    @property
    def app(self) -> Any:
        """The application serving this connection (Starlette's ``request.app``)."""
        return self._scope.get("app")

    @cached_property
    def base_url(self) -> str:
        """The URL the app is served under: scheme, host and ``root_path``, ending in ``/``."""
        scope = self._scope
        scheme = scope.get("scheme", "http")
        host = self.headers.get("host")
        if host is None:
            server = scope.get("server")
            host = Address(server[0], server[1]).url("", "x")[4:] if server else "localhost"
        return f"{scheme}://{host}{scope.get('root_path', '')}/"

    @cached_property
    def url(self) -> str:
        """The full URL of the request, query string included."""
        scope = self._scope
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # the path is the full one already (Starlette's)
            path = path[len(root) :]
        url = f"{self.base_url[:-1]}{path}"
        query = scope.get("query_string", b"")
        return f"{url}?{query.decode('latin-1')}" if query else url

    def url_for(self, name: str, /, **path_params: object) -> str:
        """The full URL of the route named ``name`` with ``path_params`` put in.

        Raises:
            NoMatchFound: no route of that name takes exactly those parameters.
        """
        path: str = self._scope["app"].url_path_for(name, **path_params)
        return f"{self.base_url[:-1]}{path}"
