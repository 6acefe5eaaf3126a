"""fastrapi's servers: its own (``server="native"``, the default) and Hypercorn's trio worker.

Both serve the same app, routes and handlers; :meth:`fastrapi.FastrAPI.serve` picks one.
"""

from __future__ import annotations

import difflib
import logging
import signal
import threading
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import trio

from .._pump import PumpOptions, WebSocketOptions
from ._config import make_config
from ._parser import MAX_HEADER_COUNT, MAX_REQUEST_LINE
from ._serve import serve_native

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Awaitable, Callable

    from .._types import ErrorHandler
    from ..datastructures import Address
    from ._app import ServedApp
    from ._codec import CodecName
    from ._parser import ParserName

__all__ = ["ServeOptions"]

logger: Final = logging.getLogger("fastrapi")


ServerName: TypeAlias = Literal["native", "hypercorn"]
"""fastrapi's own server, or Hypercorn's trio worker."""


class ServeOptions(WebSocketOptions, total=False):
    """The options of :meth:`fastrapi.FastrAPI.serve`.

    Besides those below, every :class:`~fastrapi.WebSocketOptions` (``ping_interval``,
    ``ping_timeout``, ``max_message_size``, ``max_queue``, ``idle_timeout``, ``max_lifetime``,
    ``close_timeout``, ``max_message_rate``, ``max_message_burst``, ``message_rate_policy``):
    given here, they are the defaults of every WebSocket route that does not
    set its own, over the app's (``app.serve(ping_interval=5)``, as ``websockets.serve()`` or
    uvicorn's ``--ws-ping-interval``). Any other name is a ``ValueError`` that names the nearest
    option.

    Attributes:
        server: ``"native"`` (the default: fastrapi's own server) or ``"hypercorn"`` (Hypercorn's
            trio worker, for HTTP/2 or its process management).
        ws: The WebSocket codec of the native server: ``"auto"`` (default; the fastest
            installed, ``websockets`` then ``wsproto``), ``"websockets"`` or ``"wsproto"``.
        http: The HTTP/1.1 parser of the native server: ``"auto"`` (default; ``httptools``
            when it is installed, else ``h11``), ``"httptools"`` (the C parser uvicorn uses) or
            ``"h11"`` (pure Python, the reference).
        compression: Negotiate permessage-deflate (default ``True``).
        ssl_context: Serve TLS (``https``/``wss``) with this context.
        certfile: Serve TLS with this certificate chain (PEM); with ``keyfile``.
        keyfile: The private key of ``certfile``, if not in the same file.
        sock: Serve on this listening socket instead of ``host``/``port``.
        header_timeout: Seconds a client has to send a request head (default 10), counted from
            the connection's start or the end of the previous exchange, and again from the
            head's first byte: a client that sent part of a head and not the rest in time gets
            ``408 Request Timeout`` and is dropped, one that sent nothing is closed. Also
            bounds each wait for a request body's bytes.
        max_header_size: Largest request head in bytes (default 16 KiB); larger gets a 431.
        max_request_line: Longest request line in bytes, without its CRLF (default 8 KiB);
            longer gets a 414.
        max_header_count: Most header fields in a request (default 100); more gets a 431.
        keep_alive_timeout: Seconds an idle keep-alive connection stays open (default 5).
        max_connections: Open connections at most, HTTP and WebSocket together (default: the
            app's, ``None``: no limit); past it a new connection is answered ``503 Service
            Unavailable`` with ``Retry-After`` and closed, with no handler run (see
            :doc:`/limits`).
        max_connections_per_ip: Open connections at most from one client address (an IPv6
            client's ``/64``) (default: the app's, ``None``: no limit); past it ``429 Too Many
            Requests`` with ``Retry-After``.
        send_timeout: Seconds one write to a client may take (default 30); a client that stopped
            reading is dropped and its handler gets ``WebSocketDisconnect(1008)``.
        shutdown_timeout: Seconds handlers get to finish once shutdown starts (default 5).
        shutdown_trigger: An async function whose return starts a graceful shutdown; by
            default SIGINT and SIGTERM, unless the server was started with ``nursery.start``.
        workers: Processes to serve with (default 1), on one port (``SO_REUSEPORT``, Linux)
            under a supervisor that restarts a worker that dies; see :doc:`/deployment`. Only
            from plain Python (not inside Trio), with the native server, without ``sock``.
        reload: Not an option of ``serve()``: reloading re-imports the app, so it needs the
            command, ``fastrapi run module:app --reload``; ``True`` is an error that says so.
    """

    server: ServerName
    ws: CodecName | Literal["auto"]
    http: ParserName | Literal["auto"]
    compression: bool
    ssl_context: ssl.SSLContext | None
    certfile: str | None
    keyfile: str | None
    sock: socket.socket | None
    header_timeout: float
    max_header_size: int
    max_request_line: int
    max_header_count: int
    keep_alive_timeout: float
    max_connections: int | None
    max_connections_per_ip: int | None
    send_timeout: float | None
    shutdown_timeout: float
    shutdown_trigger: Callable[[], Awaitable[None]] | None
    workers: int
    reload: bool


OPTION_NAMES: Final = ServeOptions.__optional_keys__
WEBSOCKET_OPTION_NAMES: Final = WebSocketOptions.__optional_keys__

_NATIVE_ONLY: Final = (
    "ssl_context",
    "sock",
    "max_connections",
    "max_connections_per_ip",
    "max_request_line",
    "max_header_count",
    "send_timeout",
    "header_timeout",
)


async def serve(
    app: ServedApp,
    host: str,
    port: int,
    options: ServeOptions,
    *,
    task_status: trio.TaskStatus[Address],
    on_error: ErrorHandler | None = None,
    announce: bool = True,
) -> None:
    """Serve ``app``; see :meth:`fastrapi.FastrAPI.serve`.

    ``on_error`` is told what a WebSocket handler raised (by default it is logged).
    ``announce=False`` leaves out the "serving on" line (a worker's supervisor says it once).

    Raises:
        ValueError: an option is out of range, or not one the chosen server has.
    """
    check_options(options)
    if options.get("workers", 1) != 1:
        raise ValueError("workers is for app.serve() from plain Python, not inside Trio")
    server = options.get("server", "native")
    on_error = on_error or app.log_handler_error
    defaults = websocket_defaults(options)
    shutdown_trigger = options.get("shutdown_trigger")
    if shutdown_trigger is None and task_status is trio.TASK_STATUS_IGNORED:
        shutdown_trigger = wait_for_signal
    shutdown_timeout = options.get("shutdown_timeout", 5.0)
    max_message_size = max(app.largest_message_size(), defaults.get("max_message_size", 0))
    max_connections = options.get("max_connections", app.max_connections)
    max_connections_per_ip = options.get("max_connections_per_ip", app.max_connections_per_ip)
    if server == "hypercorn":
        if max_connections is not None or max_connections_per_ip is not None:
            raise ValueError(
                "max_connections and max_connections_per_ip are the native server's: "
                "server='hypercorn' cannot enforce them"
            )
        from ._hypercorn import serve_hypercorn  # only then: Hypercorn takes a while to import

        await serve_hypercorn(
            partial(app.serve_asgi, on_error=on_error, defaults=defaults),
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
        http=options.get("http", "auto"),
        compression=options.get("compression", True),
        certfile=options.get("certfile"),
        keyfile=options.get("keyfile"),
        ssl_context=options.get("ssl_context"),
        max_message_size=max_message_size,
        max_body_size=app.max_body_size,
        header_timeout=options.get("header_timeout", 10.0),
        max_header_size=options.get("max_header_size", 16 * 1024),
        max_request_line=options.get("max_request_line", MAX_REQUEST_LINE),
        max_header_count=options.get("max_header_count", MAX_HEADER_COUNT),
        keep_alive_timeout=options.get("keep_alive_timeout", 5.0),
        max_connections=max_connections,
        max_connections_per_ip=max_connections_per_ip,
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
        defaults=defaults,
        task_status=task_status,
        announce=announce,
    )


def websocket_defaults(options: ServeOptions) -> WebSocketOptions:
    """The per-connection options given to ``serve()``: defaults of the routes."""
    return {k: v for k, v in options.items() if k in WEBSOCKET_OPTION_NAMES}  # type: ignore[return-value]  # the keys are WebSocketOptions'


def check_options(options: ServeOptions) -> None:
    """Check the options that do not depend on the server's start.

    Raises:
        ValueError: an unknown option (the message names the nearest), an unknown server, an
            option the chosen server does not have, or a WebSocket option out of range.
    """
    for name in options:
        if name not in OPTION_NAMES:
            raise ValueError(f"serve() has no option {name!r}{_nearest(name, OPTION_NAMES)}")
    if options.get("reload"):
        raise ValueError(
            "reload re-imports the app, so serve() cannot: run `fastrapi run module:app --reload`"
        )
    workers = options.get("workers", 1)
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    if workers > 1 and options.get("sock") is not None:
        raise ValueError("give workers or sock, not both: each worker opens its own socket")
    PumpOptions(**websocket_defaults(options))  # the ranges, before anything starts
    server = options.get("server", "native")
    if workers > 1 and server != "native":
        raise ValueError("workers needs the native server (Hypercorn has its own --workers)")
    if server not in ("native", "hypercorn"):
        raise ValueError(f"server must be 'native' or 'hypercorn', not {server!r}")
    if server == "hypercorn":
        unsupported = [name for name in _NATIVE_ONLY if options.get(name) is not None]
        if options.get("ws", "auto") not in ("auto", "wsproto"):
            unsupported.append("ws")
        if options.get("http", "auto") not in ("auto", "h11"):
            unsupported.append("http")
        if options.get("compression", True) is not True:
            unsupported.append("compression")
        if unsupported:
            raise ValueError(f"server='hypercorn' has no option {', '.join(unsupported)}")


def _nearest(name: str, names: Any) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return (
        f"; did you mean {close[0]!r}?"
        if close
        else f"; the options are {', '.join(sorted(names))}"
    )


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
