"""Refuse requests for hosts the app does not serve: ``app.add_middleware(TrustedHostMiddleware,
allowed_hosts=["example.com", "*.example.com"])``."""

from __future__ import annotations

from typing import TYPE_CHECKING, final

from ..datastructures import Headers
from ._answer import answer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._types import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHostMiddleware"]


@final
class TrustedHostMiddleware:
    """Answer ``400 Invalid host header`` to an HTTP request, and refuse a WebSocket handshake
    the same way, whose ``Host`` (port aside) is not allowed, as Starlette's does (against Host
    header attacks: poisoned password-reset links, cache poisoning).

    Args:
        app: The ASGI app to wrap (given by ``add_middleware``).
        allowed_hosts: Host names allowed; ``"*.example.com"`` allows every subdomain of
            ``example.com`` (not ``example.com`` itself); ``"*"`` allows any. Default: any.
        www_redirect: For a host ``example.com`` that is not allowed while ``www.example.com``
            is, redirect (307) to the ``www.`` one instead of refusing.

    Raises:
        ValueError: a pattern has a ``*`` elsewhere than a leading ``*.``.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None, www_redirect: bool = True
    ) -> None:
        hosts = list(allowed_hosts) if allowed_hosts is not None else ["*"]
        for pattern in hosts:
            if "*" in pattern[1:] or (
                pattern.startswith("*") and pattern != "*" and not pattern.startswith("*.")
            ):
                raise ValueError(f"a host pattern may only start with '*.': {pattern!r}")
        self.app = app
        self.allowed_hosts = hosts
        self.any_host = "*" in hosts
        self.www_redirect = www_redirect

    def allows(self, host: str) -> bool:
        """Whether ``host`` (without its port) is allowed."""
        return self.any_host or any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.allowed_hosts
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if self.any_host or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host_header = Headers.from_raw(scope["headers"]).get("host", "")
        host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        if self.www_redirect and f"www.{host}" in self.allowed_hosts:
            scheme = scope.get("scheme", "http")
            url = f"{scheme}://www.{host_header}{scope.get('root_path', '')}{scope['path']}"
            query = scope.get("query_string", b"")
            if query:
                url += "?" + query.decode("latin-1")
            await answer(scope, send, 307, "", [(b"location", url.encode("latin-1"))])
            return
        await answer(scope, send, 400, "Invalid host header")
