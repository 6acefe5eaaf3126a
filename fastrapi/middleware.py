"""HTTP middleware that ships with fastrapi: CORS for HTTP routes.

WebSocket handshakes are not subject to CORS in browsers; for them use the app's
``allowed_origins``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

from .responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from .requests import Request

__all__ = ["CORSMiddleware"]

_SAFE_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@final
class CORSMiddleware:
    """Cross-origin resource sharing for HTTP routes: ``app.middleware("http")(CORSMiddleware(
    allow_origins=["https://example.org"]))``.

    A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin,
    for an allowed method and headers, is answered 200 with the ``Access-Control-Allow-*``
    headers, without reaching the routes; a disallowed one gets 400. Other requests from an
    allowed origin go to the routes and their responses get ``Access-Control-Allow-Origin``
    (and ``-Credentials``, ``-Expose-Headers``). ``Vary: Origin`` is set whenever the answer
    depends on the origin.

    Args:
        allow_origins: Origins allowed (``"*"``: any; with credentials the origin itself is
            echoed, as the spec requires).
        allow_methods: Methods a preflight may ask for (``"*"``: any).
        allow_headers: Request headers a preflight may ask for (``"*"``: any).
        allow_credentials: Allow cookies and ``Authorization`` across origins.
        expose_headers: Response headers the page's script may read.
        max_age: Seconds a browser may cache a preflight's answer.
    """

    def __init__(
        self,
        *,
        allow_origins: Iterable[str] = (),
        allow_methods: Iterable[str] = ("GET",),
        allow_headers: Iterable[str] = (),
        allow_credentials: bool = False,
        expose_headers: Iterable[str] = (),
        max_age: int = 600,
    ) -> None:
        self.allow_origins = frozenset(allow_origins)
        methods = [m.upper() for m in allow_methods]
        self.allow_methods = tuple(_SAFE_METHODS if "*" in methods else methods)
        self.allow_headers = frozenset(h.lower() for h in allow_headers)
        self.allow_credentials = allow_credentials
        self.expose_headers = tuple(expose_headers)
        self.max_age = max_age

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Answer a preflight, or pass the request on and mark its response."""
        origin = request.headers.get("origin")
        if origin is None:
            return await call_next(request)
        allowed = origin in self.allow_origins or "*" in self.allow_origins
        wanted = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted is not None:
            return self._preflight(request, origin, allowed, wanted.upper())
        response = await call_next(request)
        if allowed:
            self._mark(response, origin)
            if self.expose_headers:
                response.headers["access-control-expose-headers"] = ", ".join(self.expose_headers)
        elif "*" not in self.allow_origins:
            _vary(response)
        return response

    def _preflight(self, request: Request, origin: str, allowed: bool, wanted: str) -> Response:
        asked = [
            h.strip().lower()
            for h in request.headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        ]
        refusals = []
        if not allowed:
            refusals.append("origin")
        if wanted not in self.allow_methods:
            refusals.append("method")
        if "*" not in self.allow_headers and any(h not in self.allow_headers for h in asked):
            refusals.append("headers")
        if refusals:
            response: Response = PlainTextResponse(f"Disallowed CORS {', '.join(refusals)}", 400)
            _vary(response)
            return response
        response = Response(status_code=200)
        self._mark(response, origin)
        response.headers["access-control-allow-methods"] = ", ".join(self.allow_methods)
        if asked:
            response.headers["access-control-allow-headers"] = ", ".join(asked)
        response.headers["access-control-max-age"] = str(self.max_age)
        return response

    def _mark(self, response: Response, origin: str) -> None:
        echo = self.allow_credentials or "*" not in self.allow_origins
        response.headers["access-control-allow-origin"] = origin if echo else "*"
        if self.allow_credentials:
            response.headers["access-control-allow-credentials"] = "true"
        if echo:
            _vary(response)


def _vary(response: Response) -> None:
    current = response.headers.get("vary")
    response.headers["vary"] = f"{current}, Origin" if current else "Origin"
