"""Test helpers: an in-process WebSocket client and HTTP call, and a live server on loopback.

:func:`open_websocket` and :func:`http_request` run the app's real server code (the native
server's HTTP/1.1 and WebSocket handling) in the caller's Trio run, over
``trio.testing.memory_stream_pair()``: no sockets, no threads, so they work under
``autojump_clock``. The client speaks real frames (through wsproto). :func:`open_live_server`
serves the app on ``127.0.0.1`` with a free port, for tests with real clients.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Unpack, final

import h11
import orjson
import trio
import trio.testing
import wsproto
import wsproto.events as ws_events
from wsproto.connection import ConnectionState

from ._attendant import Attendant
from ._closecodes import CloseCode
from .datastructures import Address, Headers
from .exceptions import FastrapiError, WebSocketDisconnect
from .server import check_options, serve
from .server._config import make_config
from .server._http11 import ServerContext, serve_connection

if TYPE_CHECKING:
    from ._types import ErrorHandler, Scope
    from .app import FastrAPI
    from .server import ServeOptions, ServerName
    from .server._config import ServerConfig

__all__ = [
    "CloseFrame",
    "HandshakeRejected",
    "TestResponse",
    "WebSocketTestSession",
    "http_request",
    "open_live_server",
    "open_websocket",
]

CLIENT: Final = Address("127.0.0.1", 50000)
SERVER: Final = Address("testserver", 80)
RECEIVE_SIZE: Final = 65536
StreamPair = Callable[[], tuple[trio.abc.Stream, trio.abc.Stream]]


class HandshakeRejected(FastrapiError):
    """The app refused the WebSocket handshake with an HTTP response: its ``status_code``,
    ``headers`` and ``body``."""

    def __init__(self, status_code: int, body: bytes = b"", headers: Headers | None = None) -> None:
        super().__init__(f"WebSocket handshake refused with HTTP {status_code}")
        self.status_code = status_code
        self.body = body
        self.headers = headers if headers is not None else Headers([])


class CloseFrame(NamedTuple):
    """The close the app sent: its code and reason."""

    code: int
    reason: str


def _config(app: FastrAPI, compression: bool) -> ServerConfig:
    return make_config(
        ws="auto",
        compression=compression,
        certfile=None,
        keyfile=None,
        ssl_context=None,
        max_body_size=app.max_body_size,
        max_message_size=app.largest_message_size(),
    )


@asynccontextmanager
async def _serving(
    app: FastrAPI,
    server: ServerName,
    errors: list[Exception],
    *,
    lockstep: bool = False,
    compression: bool = False,
    report: ErrorHandler | None = None,
) -> AsyncIterator[trio.abc.Stream]:
    """Run one server connection of ``app``; yield the client's end of its stream.

    ``lockstep`` and ``compression`` (permessage-deflate offered to the native server) are for
    the native server.

    On exit the client's end is closed and the server side has finished. What a handler
    raised (that made a 1011 or a 500) goes to ``errors``, or to ``report`` if given.
    """

    def on_error(scope: Scope, exc: Exception, outcome: str) -> None:
        if report is not None:
            report(scope, exc, outcome)
        else:
            errors.append(exc)

    if server == "hypercorn":
        if lockstep:
            raise ValueError("lockstep needs the native server (Hypercorn runs on a socket)")
        async with _over_loopback(app, on_error) as stream:
            yield stream
        return
    pair: StreamPair = trio.testing.lockstep_stream_pair if lockstep else _socket_pair
    client_stream, server_stream = pair()

    context = ServerContext(app, _config(app, compression), set(), on_error, Attendant(), {})

    async def serve() -> None:
        try:
            await serve_connection(
                server_stream, context, client=CLIENT, local=SERVER, secure=False
            )
        finally:
            await trio.aclose_forcefully(server_stream)

    async with trio.open_nursery() as services:
        services.start_soon(context.attendant.run)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            try:
                yield client_stream
            finally:
                await trio.aclose_forcefully(client_stream)
        services.cancel_scope.cancel()


def _socket_pair() -> tuple[trio.abc.Stream, trio.abc.Stream]:
    """A connected pair of local sockets: the server's side takes the path of a real socket
    (inline reads, direct writes), and still needs no port and works under ``autojump_clock``."""
    client, server = trio.socket.socketpair()
    return trio.SocketStream(client), trio.SocketStream(server)


@asynccontextmanager
async def _over_loopback(app: FastrAPI, on_error: ErrorHandler) -> AsyncIterator[trio.abc.Stream]:
    """Serve ``app`` with Hypercorn on 127.0.0.1 and connect to it once."""
    async with _live_server(app, {"server": "hypercorn"}, on_error) as address:
        stream = await trio.open_tcp_stream(address.host, address.port)
        try:
            yield stream
        finally:
            await trio.aclose_forcefully(stream)


@final
class WebSocketTestSession:
    """The client end of an in-process WebSocket connection (see :func:`open_websocket`)."""

    def __init__(self, stream: trio.abc.Stream, conn: wsproto.WSConnection) -> None:
        self._stream = stream
        self._conn = conn
        self._text: list[str] = []
        self._binary: list[bytes] = []
        self._early: deque[str | bytes] = deque()  # messages that came while waiting for a pong
        self._pongs: deque[bytes] = deque()
        self.close_frame: CloseFrame | None = None
        """The app's close, once it has been received."""
        self.subprotocol: str | None = None
        """The subprotocol the app accepted with."""
        self.headers = Headers([])
        """The extra headers the app accepted with."""

    async def _write(self, event: ws_events.Event) -> None:
        await self._stream.send_all(self._conn.send(event))

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if isinstance(data, str):
            await self._write(ws_events.TextMessage(data=data))
        else:
            await self._write(ws_events.BytesMessage(data=data))

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send(data)

    async def send_json(self, data: object) -> None:
        """Send ``data`` as JSON in a text message."""
        await self.send(orjson.dumps(data).decode())

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (the app's server answers it: see :meth:`wait_pong`)."""
        await self._write(ws_events.Ping(payload=payload))

    async def wait_pong(self) -> bytes:
        """Wait for the app's next pong and return its payload; messages that come first are
        kept for :meth:`receive`.

        Raises:
            WebSocketDisconnect: the connection closed first.
        """
        while not self._pongs:
            for event in self._conn.events():
                message = await self._on_event(event)
                if message is not None:
                    self._early.append(message)
            if self._pongs:
                break
            await self._read_more()
        return self._pongs.popleft()

    async def _read_more(self) -> None:
        if self.close_frame is not None:
            raise WebSocketDisconnect(*self.close_frame)
        data = await self._stream.receive_some(RECEIVE_SIZE)
        self._conn.receive_data(bytes(data) or None)

    async def receive(self) -> str | bytes:
        """Wait for the app's next message (answering its pings on the way).

        Raises:
            WebSocketDisconnect: the app closed the connection (with its code and reason), or the
                connection dropped (1006).
        """
        if self._early:
            return self._early.popleft()
        while True:
            for event in self._conn.events():
                message = await self._on_event(event)
                if message is not None:
                    return message
            await self._read_more()

    async def _on_event(self, event: ws_events.Event) -> str | bytes | None:
        if isinstance(event, ws_events.TextMessage):
            self._text.append(event.data)
            if event.message_finished:
                text, self._text = "".join(self._text), []
                return text
        elif isinstance(event, ws_events.BytesMessage):
            self._binary.append(bytes(event.data))
            if event.message_finished:
                data, self._binary = b"".join(self._binary), []
                return data
        elif isinstance(event, ws_events.Pong):
            self._pongs.append(bytes(event.payload))
        elif isinstance(event, ws_events.Ping):
            if self._conn.state is ConnectionState.OPEN:  # after our close, nothing is sent
                await self._write(event.response())
        elif isinstance(event, ws_events.CloseConnection):
            self.close_frame = CloseFrame(event.code, event.reason or "")
            if self._conn.state is ConnectionState.REMOTE_CLOSING:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._write(event.response())  # the server may have hung up already
        return None

    async def receive_text(self) -> str:
        """Wait for the app's next message, which must be text."""
        message = await self.receive()
        if not isinstance(message, str):
            raise TypeError(f"expected a text message, got {len(message)} bytes of binary")
        return message

    async def receive_bytes(self) -> bytes:
        """Wait for the app's next message, which must be binary."""
        message = await self.receive()
        if not isinstance(message, bytes):
            raise TypeError(f"expected a binary message, got text {message!r}")
        return message

    async def receive_json(self) -> Any:
        """Wait for the app's next message and parse it as JSON."""
        return orjson.loads(await self.receive())

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close from the client's side and wait for the app's answering close."""
        if self._conn.state is ConnectionState.OPEN:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self._write(ws_events.CloseConnection(code=code, reason=reason))
        await self.wait_closed()

    async def wait_closed(self) -> CloseFrame:
        """Wait until the connection is closed, skipping the app's messages; return its close."""
        while True:
            try:
                await self.receive()
            except WebSocketDisconnect as exc:
                return CloseFrame(exc.code, exc.reason)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                if self.close_frame is None:
                    self.close_frame = CloseFrame(CloseCode.ABNORMAL_CLOSURE, "")


async def _handshake(
    stream: trio.abc.Stream, path: str, subprotocols: Sequence[str], headers: Mapping[str, str]
) -> WebSocketTestSession:
    conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    given = {k.lower(): v for k, v in headers.items()}
    request = ws_events.Request(
        host=given.pop("host", SERVER.host),
        target=path,
        subprotocols=list(subprotocols),
        extra_headers=[(k.encode(), v.encode("latin-1")) for k, v in given.items()],
    )
    await stream.send_all(conn.send(request))
    status = 0
    body = b""
    refusal_headers = Headers([])
    while True:
        data = await stream.receive_some(RECEIVE_SIZE)
        conn.receive_data(bytes(data) or None)
        for event in conn.events():
            if isinstance(event, ws_events.AcceptConnection):
                session = WebSocketTestSession(stream, conn)
                session.subprotocol = event.subprotocol
                session.headers = Headers.from_raw(event.extra_headers)
                return session
            if isinstance(event, ws_events.RejectConnection):
                status = event.status_code
                refusal_headers = Headers.from_raw(event.headers)
                if not event.has_body:
                    raise HandshakeRejected(status, headers=refusal_headers)
            elif isinstance(event, ws_events.RejectData):
                body += event.data
                if event.body_finished:
                    raise HandshakeRejected(status, body, refusal_headers)
        if not data:
            raise HandshakeRejected(status or 500, body, refusal_headers)


@asynccontextmanager
async def open_websocket(
    app: FastrAPI,
    path: str,
    *,
    subprotocols: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    raise_server_exceptions: bool = True,
    lockstep: bool = False,
    server: ServerName = "native",
) -> AsyncIterator[WebSocketTestSession]:
    """Connect to ``app`` at ``path`` (query string included), in memory.

    On exit the client closes with 1000 unless a side closed already, and waits for the server
    side to finish. With ``raise_server_exceptions``, what the handler raised is raised there.

    Args:
        app: The app.
        path: The path and query string (``"/chat/lobby?username=ann"``).
        subprotocols: The subprotocols to offer.
        headers: Extra request headers (``Origin``, ``Cookie``, ...).
        raise_server_exceptions: Raise the handler's exception at exit.
        lockstep: Connect through ``trio.testing.lockstep_stream_pair()``: every write waits
            until the other side reads it, as over a socket whose buffers are full (for
            backpressure tests). By default writes are buffered without limit.
        server: ``"native"`` (the default): the native server's code, in memory.
            ``"hypercorn"``: the app served by Hypercorn on a free loopback port, to check
            that it behaves the same there (real sockets: not under ``autojump_clock``).

    Raises:
        HandshakeRejected: the app refused the handshake (no route 404, a bad parameter or
            origin 403, a handler that closed or failed before accepting).
    """
    errors: list[Exception] = []
    body_error: Exception | None = None  # raised bare after the nursery, never in a group
    async with _serving(app, server, errors, lockstep=lockstep) as stream:
        try:
            client = await _handshake(stream, path, subprotocols, headers or {})
            yield client
            if client.close_frame is None:
                await client.close()
        except Exception as exc:
            body_error = exc
    if errors and raise_server_exceptions:
        raise errors[0]  # the handler's error explains what the client saw
    if body_error is not None:
        raise body_error


class TestResponse(NamedTuple):
    """The response of :func:`http_request`."""

    status_code: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode()

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


async def http_request(
    app: FastrAPI,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    server: ServerName = "native",
) -> TestResponse:
    """Send one HTTP/1.1 request to ``app`` in memory and return its response.

    ``server="hypercorn"`` sends it to the app served by Hypercorn on loopback instead. A
    handler's error that made a 500 is logged, as a server logs it.
    """
    conn = h11.Connection(h11.CLIENT)
    given = {k.lower(): v for k, v in (headers or {}).items()}
    request_headers = [("host", given.pop("host", SERVER.host)), ("content-length", str(len(body)))]
    request_headers += list(given.items())
    async with _serving(app, server, [], report=app.log_handler_error) as stream:
        await stream.send_all(
            conn.send(h11.Request(method=method.upper(), target=path, headers=request_headers))
            + (conn.send(h11.Data(data=body)) or b"")
            + (conn.send(h11.EndOfMessage()) or b"")
        )
        status = 0
        response_headers = Headers([])
        chunks: list[bytes] = []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(RECEIVE_SIZE)))
            elif isinstance(event, h11.Response):
                status = event.status_code
                response_headers = Headers.from_raw(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    return TestResponse(status, response_headers, b"".join(chunks))


@asynccontextmanager
async def open_live_server(
    app: FastrAPI, **options: Unpack[ServeOptions]
) -> AsyncIterator[Address]:
    """Serve ``app`` on 127.0.0.1 with a free port until the block exits; yield its address.

    ``options`` go to :meth:`~fastrapi.FastrAPI.serve` (``server="hypercorn"``, say). At exit
    the server shuts down gracefully, as on SIGTERM.
    """
    check_options(options)  # raised here, not inside the nursery
    async with _live_server(app, options) as address:
        yield address


@asynccontextmanager
async def _live_server(
    app: FastrAPI, options: ServeOptions, on_error: ErrorHandler | None = None
) -> AsyncIterator[Address]:
    """Serve ``app`` on 127.0.0.1 with a free port; at exit, shut it down gracefully."""
    stop = trio.Event()
    options.setdefault("shutdown_trigger", stop.wait)
    async with trio.open_nursery() as nursery:
        address: Address = await nursery.start(
            partial(serve, app, "127.0.0.1", 0, options, on_error=on_error)
        )
        try:
            yield address
        finally:
            stop.set()
