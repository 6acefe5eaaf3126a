"""The native server: listeners, the connection limit, TLS, graceful shutdown."""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
from typing import TYPE_CHECKING, Final

import trio

from .._attendant import Attendant
from .._closecodes import CloseCode
from ..datastructures import Address
from ..exceptions import ListenError
from ._http11 import ServerContext, serve_connection
from ._limits import ConnectionLimits

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable

    from .._pump import WebSocketOptions
    from .._types import ErrorHandler
    from ._app import ServedApp
    from ._config import ServerConfig

logger: Final = logging.getLogger("fastrapi")

BACKLOG: Final = 2048  # (uvicorn's too; the kernel caps it at net.core.somaxconn)
ACCEPT_BATCH: Final = 64
_ANY_HOST: Final = frozenset({"0.0.0.0", "::"})
_OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_CLIENT_GONE: Final = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})


GC_THRESHOLD: Final = 7000
"""The youngest generation's threshold while serving (the interpreter's default is 700)."""


def young_gc_threshold() -> tuple[int, int, int]:
    """Raise the collector's first threshold to ``GC_THRESHOLD`` (unless it is higher, or 0:
    collection turned off); the thresholds it had, to put back when the server stops.

    Each new connection leaves some eighty objects the collector tracks for as long as it is
    open, so with the default threshold every few hundred handshakes end in a collection, and
    the oldest generation's (which walks every open connection's objects) comes once the open
    ones have grown by a quarter: about a sixth of a handshake's instructions at 1,300 open
    WebSockets. Ten times fewer collections of the young cost the same in total, since each
    walks ten times more; the full ones come ten times less often. Requests leave nothing
    behind, so HTTP is not concerned either way. The other thresholds are kept.
    """
    before = young, middle, old = gc.get_threshold()
    if 0 < young < GC_THRESHOLD:
        gc.set_threshold(GC_THRESHOLD, middle, old)
    return before


def _address(sock: trio.socket.SocketType | socket.socket) -> Address | None:
    """Our end's address of ``sock``."""
    try:
        name = sock.getsockname()
    except OSError:
        return None
    return _named(name)


def _named(name: object) -> Address | None:
    """The address of a socket name (``None`` for one that is not (host, port, ...))."""
    return Address(str(name[0]), int(name[1])) if isinstance(name, tuple) else None


def _socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType:
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    assert isinstance(stream, trio.SocketStream)  # our listeners make nothing else
    return stream.socket


def listen_error(exc: OSError, host: str, port: int) -> ListenError:
    """The one-line form of a failure to bind or listen."""
    code = exc.errno if exc.errno is not None else errno.EINVAL
    return ListenError(code, exc.strerror or os.strerror(code), host, port)


def _close(sockets: list[socket.socket]) -> None:
    for listening in sockets:
        if listening.fileno() >= 0:
            trio.lowlevel.notify_closing(listening)
            listening.close()


async def _accept(
    listening: socket.socket,
    handle: Callable[[trio.abc.Stream, Address | None, Address | None], Awaitable[None]],
    connections: trio.Nursery,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Accept connections on ``listening`` until cancelled, up to ``ACCEPT_BATCH`` per wake-up
    (one per scheduler pass would leave new clients waiting behind every busy connection),
    each served by ``handle`` in ``connections`` with the client's address (as ``accept()``
    gives it) and ours (the listener's, unless it listens on every interface)."""
    bound = _address(listening)
    local = None if bound is None or bound.host in _ANY_HOST else bound
    while True:
        await trio.lowlevel.wait_readable(listening)
        for _ in range(ACCEPT_BATCH):
            try:
                conn, peer = listening.accept()
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    logger.error("accepting connections: %s; trying again in 0.1 s", exc)
                    await trio.sleep(0.1)
                    break
                if exc.errno in _CLIENT_GONE:
                    continue
                raise
            stream: trio.abc.Stream = trio.SocketStream(trio.socket.from_stdlib_socket(conn))
            if ssl_context is not None:
                stream = trio.SSLStream(
                    stream, ssl_context, server_side=True, https_compatible=True
                )
            connections.start_soon(handle, stream, _named(peer), local)


async def serve_native(
    app: ServedApp,
    host: str,
    port: int,
    config: ServerConfig,
    *,
    sock: socket.socket | None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None,
    shutdown_timeout: float,
    on_error: ErrorHandler,
    defaults: WebSocketOptions,
    task_status: trio.TaskStatus[Address],
    announce: bool = True,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns (graceful) or we are cancelled;
    ``announce`` logs the "serving on" line.

    Raises:
        ListenError: ``host``:``port`` cannot be listened on.
    """
    if sock is not None:
        sockets = [sock]
    else:
        try:
            listeners = await trio.open_tcp_listeners(port, host=host, backlog=BACKLOG)
        except OSError as exc:
            raise listen_error(exc, host, port) from None
        # the stdlib sockets themselves: _accept takes a batch of connections per wake-up
        sockets = [
            socket.socket(
                listener.socket.family, listener.socket.type, fileno=listener.socket.detach()
            )
            for listener in listeners
        ]
    for listening in sockets:
        listening.setblocking(False)
    bound = _address(sockets[0])
    context = ServerContext(app, config, set(), on_error, Attendant(), defaults)
    limits = (
        None
        if config.max_connections is None and config.max_connections_per_ip is None
        else ConnectionLimits(config.max_connections, config.max_connections_per_ip, app.monitor)
    )

    def handle(
        stream: trio.abc.Stream, client: Address | None, local: Address | None
    ) -> Awaitable[None]:
        if local is None:  # (a listener on every interface: the one this connection took)
            local = _address(_socket_of(stream))
        return serve_connection(
            stream,
            context,
            client=client,
            local=local,
            secure=config.ssl_context is not None,
            limits=limits,
        )

    thresholds: tuple[int, int, int] | None = None  # the collector's, while not serving
    try:
        async with app.running(), trio.open_nursery() as services:
            services.start_soon(context.attendant.run)  # outlives the connections, as it must
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    for listening in sockets:
                        accepting.start_soon(
                            _accept, listening, handle, connections, config.ssl_context
                        )
                    # what startup made stays: the collector stops walking it (a cycle in it is
                    # kept for good, as in a forking server)
                    gc.collect()
                    gc.freeze()
                    thresholds = young_gc_threshold()
                    assert bound is not None  # a listening socket has a name
                    scheme = "https" if config.ssl_context is not None else "http"
                    if announce:
                        logger.info("serving on %s (Ctrl+C to stop)", bound.url(scheme=scheme))
                    task_status.started(bound)
                    if shutdown_trigger is None:
                        await trio.sleep_forever()
                    await shutdown_trigger()
                    accepting.cancel_scope.cancel()
                _close(sockets)  # new clients are refused by the kernel from here on
                logger.info("shutting down: closing %d WebSocket(s)", len(context.sessions))
                for session in list(context.sessions):
                    session.request_close(CloseCode.GOING_AWAY, "server shutting down")
                connections.cancel_scope.deadline = trio.current_time() + shutdown_timeout
            services.cancel_scope.cancel()
    finally:
        _close(sockets)
        if thresholds is not None:
            gc.set_threshold(*thresholds)
