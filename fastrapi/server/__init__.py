"""fastrapi's servers: its own (``server="native"``, the default) and Hypercorn's trio worker.

Both serve the same app, routes and handlers; :meth:`fastrapi.FastrAPI.serve` picks one.
"""

from __future__ import annotations

import logging
import signal
import threading
from functools import partial
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, TypedDict

import trio

from ._config import make_config
from ._serve import serve_native

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Awaitable, Callable

    from .._types import ErrorHandler
    from ..app import FastrAPI
    from ..datastructures import Address
    from ._codec import CodecName

__all__ = ["ServeOptions"]

logger: Final = logging.getLogger("fastrapi")


ServerName: TypeAlias = Literal["native", "hypercorn"]
"""fastrapi's own server, or Hypercorn's trio worker."""


class ServeOptions(TypedDict, total=False):
    """The options of :meth:`fastrapi.FastrAPI.serve`.

    Attributes:
        server: ``"native"`` (the default: fastrapi's own server) or ``"hypercorn"`` (Hypercorn's
            trio worker, for HTTP/2 or its process management).
        ws: The WebSocket codec of the native server: ``"auto"`` (default; the fastest
            installed, ``websockets`` then ``wsproto``), ``"websockets"`` or ``"wsproto"``.
        compression: Negotiate permessage-deflate (default ``True``).
        ssl_context: Serve TLS (``https``/``wss``) with this context.
        certfile: Serve TLS with this certificate chain (PEM); with ``keyfile``.
        keyfile: The private key of ``certfile``, if not in the same file.
        sock: Serve on this listening socket instead of ``host``/``port``.
        header_timeout: Seconds a client has to send a request head (default 10); a client that
            sends half a request is dropped. Also bounds each wait for a request body's bytes.
        max_header_size: Largest request head in bytes (default 16 KiB); larger gets a 431.
        keep_alive_timeout: Seconds an idle keep-alive connection stays open (default 5).
        max_connections: Open connections at most (default ``None``: no limit); above it a new
            connection is answered ``503 Service Unavailable`` and closed.
        send_timeout: Seconds one write to a client may take (default 30); a client that stopped
            reading is dropped and its handler gets ``WebSocketDisconnect(1008)``.
        shutdown_timeout: Seconds handlers get to finish once shutdown starts (default 5).
        shutdown_trigger: An async function whose return starts a graceful shutdown; by
            default SIGINT and SIGTERM, unless the server was started with ``nursery.start``.
    """

    server: ServerName
    ws: CodecName | Literal["auto"]
    compression: bool
    ssl_context: ssl.SSLContext | None
    certfile: str | None
    keyfile: str | None
    sock: socket.socket | None
    header_timeout: float
    max_header_size: int
    keep_alive_timeout: float
    max_connections: int | None
    send_timeout: float | None
    shutdown_timeout: float
    shutdown_trigger: Callable[[], Awaitable[None]] | None


_NATIVE_ONLY: Final = ("ssl_context", "sock", "max_connections", "send_timeout", "header_timeout")


async def serve(
    app: FastrAPI,
    host: str,
    port: int,
    options: ServeOptions,
    *,
    task_status: trio.TaskStatus[Address],
    on_error: ErrorHandler | None = None,
) -> None:
    """Serve ``app``; see :meth:`fastrapi.FastrAPI.serve`.

    ``on_error`` is told what a WebSocket handler raised (by default it is logged).

    Raises:
        ValueError: an option is out of range, or not one the chosen server has.
    """
    check_options(options)
    server = options.get("server", "native")
    on_error = on_error or app.log_handler_error
    shutdown_trigger = options.get("shutdown_trigger")
    if shutdown_trigger is None and task_status is trio.TASK_STATUS_IGNORED:
        shutdown_trigger = wait_for_signal
    shutdown_timeout = options.get("shutdown_timeout", 5.0)
    max_message_size = max(
        [app.websocket_options.max_message_size]
        + [r.handler.options.max_message_size for r in app.router.websocket_routes]
    )
    if server == "hypercorn":
        from ._hypercorn import serve_hypercorn  # only then: Hypercorn takes a while to import

        await serve_hypercorn(
            partial(app.serve_asgi, on_error=on_error),
            host,
            port,
            max_message_size=max_message_size,
            keep_alive_timeout=options.get("keep_alive_timeout", 5.0),
            max_header_size=options.get("max_header_size", 16 * 1024),
            certfile=options.get("certfile"),
            keyfile=options.get("keyfile"),
            shutdown_trigger=shutdown_trigger,
            shutdown_timeout=shutdown_timeout,
            task_status=task_status,
        )
        return
    config = make_config(
        ws=options.get("ws", "auto"),
        compression=options.get("compression", True),
        certfile=options.get("certfile"),
        keyfile=options.get("keyfile"),
        ssl_context=options.get("ssl_context"),
        max_message_size=max_message_size,
        max_body_size=app.max_body_size,
        header_timeout=options.get("header_timeout", 10.0),
        max_header_size=options.get("max_header_size", 16 * 1024),
        keep_alive_timeout=options.get("keep_alive_timeout", 5.0),
        max_connections=options.get("max_connections"),
        send_timeout=options.get("send_timeout", 30.0),
    )
    await serve_native(
        app,
        host,
        port,
        config,
        sock=options.get("sock"),
        shutdown_trigger=shutdown_trigger,
        shutdown_timeout=shutdown_timeout,
        on_error=on_error,
        task_status=task_status,
    )


def check_options(options: ServeOptions) -> None:
    """Check the options that do not depend on the server's start.

    Raises:
        ValueError: an unknown server, or an option the chosen server does not have.
    """
    server = options.get("server", "native")
    if server not in ("native", "hypercorn"):
        raise ValueError(f"server must be 'native' or 'hypercorn', not {server!r}")
    if server == "hypercorn":
        unsupported = [name for name in _NATIVE_ONLY if options.get(name) is not None]
        if options.get("ws", "auto") not in ("auto", "wsproto"):
            unsupported.append("ws")
        if options.get("compression", True) is not True:
            unsupported.append("compression")
        if unsupported:
            raise ValueError(f"server='hypercorn' has no option {', '.join(unsupported)}")


async def wait_for_signal() -> None:
    """Return at the first SIGINT or SIGTERM (from the main thread; elsewhere, never)."""
    if threading.current_thread() is not threading.main_thread():
        await trio.sleep_forever()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("%s: shutting down", signal.Signals(signum).name)
            return


def configure_logging() -> None:
    """Show fastrapi's INFO lines when the app serves itself and logging is not configured."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
