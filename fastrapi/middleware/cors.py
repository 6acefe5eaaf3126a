"""Cross-origin resource sharing: ``app.add_middleware(CORSMiddleware, allow_origins=[...])``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, final

from ..datastructures import Headers
from ._answer import answer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CORSMiddleware"]

ALL_METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
SAFELISTED_HEADERS: Final = frozenset(
    {"Accept", "Accept-Language", "Content-Language", "Content-Type"}
)


@final
class CORSMiddleware:
    """Cross-origin resource sharing for HTTP requests, with Starlette's (and so FastAPI's)
    behaviour.

    A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered by the
    middleware itself, without reaching the routes: ``200 OK`` with the
    ``Access-Control-Allow-*`` headers when the origin, method and headers are allowed, else
    ``400 Disallowed CORS origin, method, headers`` (what failed). Any other request with an
    ``Origin`` goes to the routes, and its response gets ``Access-Control-Allow-Origin`` (the
    origin itself when it is listed or a cookie came with it, ``*`` when any origin is allowed)
    and ``-Credentials``/``-Expose-Headers`` as configured; ``Vary: Origin`` whenever the answer
    depends on the origin. WebSocket handshakes pass untouched (browsers do not apply CORS to
    them): use the app's ``allowed_origins`` there.

    Args:
        app: The ASGI app to wrap (given by ``add_middleware``).
        allow_origins: Origins allowed; ``"*"`` for any.
        allow_methods: Methods a preflight may ask for; ``"*"`` for any.
        allow_headers: Request headers a preflight may ask for (beyond the CORS-safelisted
            ones); ``"*"`` for any.
        allow_credentials: Allow cookies and ``Authorization`` across origins.
        allow_origin_regex: A regular expression an allowed origin matches in full.
        allow_private_network: Answer ``Access-Control-Request-Private-Network`` preflights.
        expose_headers: Response headers the page's script may read.
        max_age: Seconds a browser may cache a preflight's answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.any_origin = "*" in allow_origins
        self.origins = frozenset(allow_origins)
        self.origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        self.methods = (
            ALL_METHODS if "*" in allow_methods else tuple(m.upper() for m in allow_methods)
        )
        self.any_header = "*" in allow_headers
        names = sorted(SAFELISTED_HEADERS | set(allow_headers))
        self.headers = frozenset(h.lower() for h in names)
        self.credentials = allow_credentials
        self.private_network = allow_private_network
        simple: list[tuple[bytes, bytes]] = []
        if self.any_origin:
            simple.append((b"access-control-allow-origin", b"*"))
        if allow_credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        if expose_headers:
            simple.append((b"access-control-expose-headers", ", ".join(expose_headers).encode()))
        self.simple_headers: Final = simple
        preflight = [
            (b"vary", b"Origin") if not self.any_origin else (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", ", ".join(self.methods).encode()),
            (b"access-control-max-age", str(max_age).encode()),
        ]
        if not self.any_header and names:
            preflight.append((b"access-control-allow-headers", ", ".join(names).encode()))
        if allow_credentials:
            preflight.append((b"access-control-allow-credentials", b"true"))
        self.preflight_headers: Final = preflight

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` is allowed."""
        if self.any_origin or origin in self.origins:
            return True
        return self.origin_regex is not None and self.origin_regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers.from_raw(scope["headers"])
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, send, headers, origin)
            return
        echo = (self.any_origin and "cookie" in headers) or (
            not self.any_origin and self.allows(origin)
        )

        async def marking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _marked(list(message.get("headers", [])), self, origin, echo)
            await send(message)

        await self.app(scope, receive, marking_send)

    async def _preflight(self, scope: Scope, send: Send, headers: Headers, origin: str) -> None:
        answer_headers = list(self.preflight_headers)
        failures = []
        if not self.allows(origin):
            failures.append("origin")
        elif not self.any_origin:
            answer_headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        if headers["access-control-request-method"] not in self.methods:
            failures.append("method")
        asked = headers.get("access-control-request-headers")
        if asked is not None and self.any_header:
            answer_headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
        elif asked is not None and any(
            name.strip().lower() not in self.headers for name in asked.split(",")
        ):
            failures.append("headers")
        if self.private_network and "access-control-request-private-network" in headers:
            answer_headers.append((b"access-control-allow-private-network", b"true"))
        if failures:
            await answer(scope, send, 400, f"Disallowed CORS {', '.join(failures)}", answer_headers)
        else:
            await answer(scope, send, 200, "OK", answer_headers)


def _marked(
    headers: list[tuple[bytes, bytes]], cors: CORSMiddleware, origin: str, echo: bool
) -> list[tuple[bytes, bytes]]:
    """The response's headers with the CORS ones added."""
    headers.extend(cors.simple_headers)
    if echo:
        headers = [(k, v) for k, v in headers if k.lower() != b"access-control-allow-origin"]
        headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        add_vary(headers, b"Origin")
    return headers


def add_vary(headers: list[tuple[bytes, bytes]], value: bytes) -> None:
    """Add ``value`` to the ``Vary`` header of a response's ``headers`` (in place)."""
    for i, (key, current) in enumerate(headers):
        if key.lower() == b"vary":
            if value.lower() not in [v.strip().lower() for v in current.split(b",")]:
                headers[i] = (key, current + b", " + value)
            return
    headers.append((b"vary", value))
