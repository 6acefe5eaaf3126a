"""What the servers need of an application: this small interface, not the app module (which
imports the servers only when it serves), so ``server/`` and ``app.py`` do not import each
other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from contextlib import AbstractAsyncContextManager

    from .._monitor import Monitor
    from .._pump import PumpOptions, WebSocketOptions
    from .._transport import Transport
    from .._types import ErrorHandler, Receive, Scope, Send
    from ..hub import Hub


class ServedApp(Protocol):
    """An application the servers serve (:class:`~fastrapi.FastrAPI` is one)."""

    @property
    def monitor(self) -> Monitor:
        """Its statistics, log lines and metrics."""

    @property
    def hub(self) -> Hub | None:
        """Its Hub, if any."""

    @property
    def max_body_size(self) -> int:
        """Largest HTTP request body."""

    @property
    def max_connections(self) -> int | None:
        """Open connections at most (``None``: no limit)."""

    @property
    def max_connections_per_ip(self) -> int | None:
        """Open connections at most from one client address."""

    @property
    def websocket_options(self) -> PumpOptions:
        """Its WebSocket routes' defaults."""

    def largest_message_size(self) -> int:
        """The largest WebSocket message any of its routes accepts."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """Its lifespan: entered around serving."""

    def log_handler_error(self, scope: Scope, exc: Exception, outcome: str) -> None:
        """Report what a WebSocket handler raised."""

    async def serve_asgi(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        on_error: ErrorHandler,
        defaults: WebSocketOptions | None = None,
    ) -> None:
        """Its ASGI entry point."""

    def serve_websocket(
        self,
        scope: Scope,
        transport: Transport,
        on_error: ErrorHandler | None = None,
        defaults: WebSocketOptions | None = None,
    ) -> Awaitable[None]:
        """Serve one WebSocket handshake and connection over ``transport`` (to be awaited)."""
