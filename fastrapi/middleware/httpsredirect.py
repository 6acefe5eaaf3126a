"""Send plain-HTTP clients to HTTPS: ``app.add_middleware(HTTPSRedirectMiddleware)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

from ..datastructures import Headers
from ._answer import answer

if TYPE_CHECKING:
    from .._types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE: Final = {"http": "https", "ws": "wss"}


@final
class HTTPSRedirectMiddleware:
    """Redirect (307) every ``http`` request to its ``https`` URL and refuse every ``ws``
    handshake with a 307 to its ``wss`` URL, as Starlette's does; secure ones pass.

    The redirect keeps the host (a port 80 or 443 is dropped), path and query string.

    Args:
        app: The ASGI app to wrap (given by ``add_middleware``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        secure = _SECURE.get(scope.get("scheme", "")) if scope["type"] != "lifespan" else None
        if secure is None:
            await self.app(scope, receive, send)
            return
        host = Headers.from_raw(scope["headers"]).get("host")
        if host is None:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if port in ("80", "443") and name:
            host = name
        url = f"{secure}://{host}{scope.get('root_path', '')}{scope['path']}"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        await answer(scope, send, 307, "", [(b"location", url.encode("latin-1"))])
