"""The native server: listeners, the connection limit, TLS, graceful shutdown."""

from __future__ import annotations

import errno
import logging
import os
from functools import partial
from typing import TYPE_CHECKING, Final

import trio

from .._attendant import Attendant
from .._closecodes import CloseCode
from ..datastructures import Address
from ..exceptions import ListenError
from ._http11 import ServerContext, serve_connection

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable

    from .._types import ErrorHandler
    from ..app import FastrAPI, WebSocketOptions
    from ._config import ServerConfig

logger: Final = logging.getLogger("fastrapi")

_BUSY: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 25\r\n"
    b"retry-after: 1\r\nconnection: close\r\n\r\ntoo many open connections"
)


def _address(sock: trio.socket.SocketType, peer: bool) -> Address | None:
    try:
        name = sock.getpeername() if peer else sock.getsockname()
    except OSError:
        return None
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


async def _refuse(stream: trio.abc.Stream) -> None:
    """Answer 503 and hang up without a reset: half-close, then take what the client sent."""
    await stream.send_all(_BUSY)
    if isinstance(stream, trio.abc.HalfCloseableStream):
        await stream.send_eof()
        with trio.move_on_after(1):
            while await stream.receive_some():
                pass


async def serve_native(
    app: FastrAPI,
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
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns (graceful) or we are cancelled.

    Raises:
        ListenError: ``host``:``port`` cannot be listened on.
    """
    if sock is not None:
        sockets = [trio.SocketListener(trio.socket.from_stdlib_socket(sock))]
    else:
        try:
            sockets = await trio.open_tcp_listeners(port, host=host)
        except OSError as exc:
            raise listen_error(exc, host, port) from None
    bound = _address(sockets[0].socket, peer=False)
    listeners: list[trio.abc.Listener[trio.abc.Stream]] = list(sockets)
    if config.ssl_context is not None:
        listeners = [
            trio.SSLListener(listener, config.ssl_context, https_compatible=True)
            for listener in sockets
        ]
    context = ServerContext(app, config, set(), on_error, Attendant(), defaults)
    open_connections = 0

    async def handle(stream: trio.abc.Stream) -> None:
        nonlocal open_connections
        try:
            if config.max_connections is not None and open_connections >= config.max_connections:
                await _refuse(stream)
                return
            open_connections += 1
            try:
                sock = _socket_of(stream)
                await serve_connection(
                    stream,
                    context,
                    client=_address(sock, peer=True),
                    local=_address(sock, peer=False),
                    secure=config.ssl_context is not None,
                )
            finally:
                open_connections -= 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away (or failed its TLS handshake)
        finally:
            with trio.move_on_after(1):  # a TLS close_notify, if the client takes it in time
                await stream.aclose()
            await trio.aclose_forcefully(stream)

    async with app.running(), trio.open_nursery() as services:
        services.start_soon(context.attendant.run)  # outlives the connections, as it must
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                accepting.start_soon(
                    partial(trio.serve_listeners, handle, listeners, handler_nursery=connections)
                )
                assert bound is not None  # a listening socket has a name
                scheme = "https" if config.ssl_context is not None else "http"
                logger.info("serving on %s (Ctrl+C to stop)", bound.url(scheme=scheme))
                task_status.started(bound)
                if shutdown_trigger is None:
                    await trio.sleep_forever()
                await shutdown_trigger()
                accepting.cancel_scope.cancel()
            for listener in listeners:
                await trio.aclose_forcefully(listener)
            logger.info("shutting down: closing %d WebSocket(s)", len(context.sessions))
            for session in list(context.sessions):
                session.request_close(CloseCode.GOING_AWAY, "server shutting down")
            connections.cancel_scope.deadline = trio.current_time() + shutdown_timeout
        services.cancel_scope.cancel()
