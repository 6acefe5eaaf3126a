"""One TCP (or TLS) connection of the native server: HTTP/1.1, then maybe a WebSocket.

Requests are read one at a time (keep-alive; pipelined requests wait in the parser, see
``_parser.py``) and handed to the app as ASGI ``http`` calls. An upgrade request is checked
(RFC 6455 4.2.1) and handed to the app's WebSocket routing with a
:class:`~fastrapi.server._stream.StreamTransport`; the connection then belongs to the WebSocket
until it closes.

A request costs one wait for readable data, one read, one parse, the app, and one ``send()`` of
the whole response (head and body joined, unless the app streams it). On a plain socket the
waits are ``wait_readable`` on the descriptor and the timeouts (a request head within
``header_timeout``, the next request within ``keep_alive_timeout``, each wait for body bytes
within ``header_timeout``) are one deadline per connection that the server's attendant checks,
so no request makes a cancel scope; it interrupts an expired wait with ``notify_closing``. On TLS
the waits go through the stream, each in a cancel scope.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

import orjson
import trio

from ..datastructures import Address, Headers
from ._handshake import check, subprotocols
from ._parser import ParseError, ResponseError, make_parser
from ._stream import RECEIVE_SIZE, StreamTransport, fileno, write_fd

if TYPE_CHECKING:
    from .._attendant import Attendant
    from .._pump import WebSocketOptions
    from .._types import ErrorHandler, Message, Scope
    from ._app import ServedApp
    from ._config import ServerConfig
    from ._limits import ConnectionLimits
    from ._parser import HTTPParser, RequestHead

_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}
_METHODS: Final = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")}
_VERSIONS: Final = {b"1.1": "1.1", b"1.0": "1.0"}


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What every connection of one server shares."""

    app: ServedApp
    config: ServerConfig
    sessions: set[StreamTransport]
    """The open WebSockets, for a graceful shutdown."""
    on_error: ErrorHandler
    """Called with what a WebSocket handler raised (it is logged; tests re-raise it)."""
    attendant: Attendant
    """The server's one task for every connection's timers and busy handlers (its ``run()``
    belongs in a nursery that outlives the connections)."""
    websocket_defaults: WebSocketOptions
    """The WebSocket options given to ``serve()``: defaults of the routes."""


class _Gone(BaseException):
    """The client went away, sent nothing in time, or broke HTTP mid-body: the connection ends.

    A ``BaseException``, as ``trio.Cancelled`` is, so that it goes through the app's handlers
    (which answer what they catch) to the connection loop.
    """


async def serve_connection(
    stream: trio.abc.Stream,
    context: ServerContext,
    *,
    client: Address | None,
    local: Address | None,
    secure: bool,
    limits: ConnectionLimits | None = None,
) -> None:
    """Serve every request of one connection (within ``limits``: refused past them), then
    close it."""
    # The listener's task runs this coroutine itself (its handler returns it), so it is the
    # one frame of ours beneath a WebSocket's session: everything of the connection's that
    # needs a frame to last (the limits' count, the shutdown's list, the close) is here.
    try:
        if limits is not None:
            refusal = limits.admit(client)
            if refusal is not None:
                await limits.refuse(stream, refusal)
                return
        try:
            upgraded = await _serve_http(stream, context, client, local, secure)
            if upgraded is not None:
                # the HTTP part has returned: the parser, the request and that frame go with
                # the handshake instead of lasting as long as the WebSocket does
                scope, transport = upgraded
                context.sessions.add(transport)
                try:
                    await context.app.serve_websocket(
                        scope, transport, context.on_error, context.websocket_defaults
                    )
                finally:
                    context.sessions.discard(transport)
        finally:
            if limits is not None:
                limits.release(client)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away (or failed its TLS handshake)
    finally:
        if isinstance(stream, trio.SSLStream):
            with trio.move_on_after(1):  # a close_notify, if the client takes it in time
                await stream.aclose()
            await trio.aclose_forcefully(stream)
        else:  # a plain socket closes before its checkpoint, even if cancelled: no scope
            await stream.aclose()


class _Wire:
    """The bytes of one connection: reads with a deadline, writes within ``send_timeout``."""

    __slots__ = (
        "_attendant",
        "_expiry",
        "_fd",
        "_send_timeout",
        "_stream",
        "_timer",
        "_timer_at",
        "deadline",
    )

    def __init__(self, stream: trio.abc.Stream, attendant: Attendant, config: ServerConfig) -> None:
        self._stream = stream
        self._fd = fileno(stream)
        self._attendant = attendant
        self._send_timeout = config.send_timeout or math.inf
        self.deadline = math.inf  # of the read under way; inf when none is
        self._timer_at = math.inf  # when the earliest timer of ours in the attendant is due
        self._timer = -1  # and its number there
        self._expiry = self._expire  # bound once (see _attendant.py), until close()

    async def read(self, deadline: float) -> bytes:
        """The next bytes, or ``b""`` at the end of the stream or at ``deadline``."""
        fd = self._fd
        if fd < 0:
            with trio.move_on_at(deadline):
                try:
                    return bytes(await self._stream.receive_some(RECEIVE_SIZE))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return b""
            return b""
        self.deadline = deadline
        if deadline < self._timer_at:
            self._timer_at = deadline
            self._timer = self._attendant.call_at(deadline, self._expiry)
        try:
            while True:
                try:
                    await trio.lowlevel.wait_readable(fd)
                except trio.ClosedResourceError:
                    return b""  # our deadline passed (or the socket was closed)
                try:
                    return os.read(fd, RECEIVE_SIZE)
                except BlockingIOError:  # pragma: no cover  # woken for nothing
                    continue
                except OSError:  # reset
                    return b""
        finally:
            self.deadline = math.inf

    def _expire(self) -> None:
        """The attendant's timer: interrupt a read past its deadline, or look again later."""
        now = trio.current_time()
        if now < self._timer_at:
            return  # not the timer due first (an earlier one took its place)
        self._timer_at = math.inf
        deadline = self.deadline
        if deadline == math.inf:
            return  # not reading: the next read arms a timer again
        if now >= deadline:
            trio.lowlevel.notify_closing(self._fd)
        else:
            self._timer_at = deadline
            self._timer = self._attendant.call_at(deadline, self._expiry)

    def close(self) -> None:
        """The HTTP part of the connection is over: cancel our timer, and let go of our bound
        callback (it refers to us: a cycle), so that the wire goes at once, not at its timer's
        deadline or the collector's next pass."""
        if self._timer_at != math.inf:
            self._attendant.cancel(self._timer)
            self._timer_at = math.inf
        del self._expiry

    async def write(self, data: bytes) -> None:
        """Send ``data`` whole.

        Raises:
            _Gone: the client is gone, or took longer than ``send_timeout`` to take it.
        """
        fd = self._fd
        written = 0
        if fd >= 0:
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                pass
            except OSError:  # reset, broken pipe
                raise _Gone from None
            if written == len(data):  # the kernel took it all, as it nearly always does
                return
        with trio.move_on_after(self._send_timeout) as slow:
            try:
                if fd >= 0:
                    await write_fd(fd, memoryview(data)[written:], self._stream)
                else:
                    await self._stream.send_all(data)
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                raise _Gone from None
        if slow.cancelled_caught:
            raise _Gone


async def _serve_http(
    stream: trio.abc.Stream,
    context: ServerContext,
    client: Address | None,
    local: Address | None,
    secure: bool,
) -> tuple[Scope, StreamTransport] | None:
    """The HTTP requests of the connection, up to an upgrade: its scope and transport."""
    config = context.config
    wire = _Wire(stream, context.attendant, config)
    parser = make_parser(
        config.http, config.max_header_size, config.max_request_line, config.max_header_count
    )
    scheme = "https" if secure else "http"
    deadline = trio.current_time() + config.header_timeout
    in_head = waited = False
    upgraded = None  # once made, the transport holds the parser until the handshake's answer
    try:
        while True:
            head = parser.next_request()
            if head is None:
                data = await wire.read(deadline)
                if not data:  # the client closed, or its request head did not come in time
                    if in_head and trio.current_time() >= deadline:
                        await _timed_out(wire, parser)
                    return None
                parser.feed(data)
                if not in_head and parser.in_head():  # the head's time runs from its first byte
                    in_head = True
                    deadline = trio.current_time() + config.header_timeout
                waited = True
                continue
            if not waited:  # pipelined: let the other connections have their turn
                await trio.lowlevel.cancel_shielded_checkpoint()
            scope = _scope(head, client, local, scheme)
            if head.websocket:
                upgraded = await _websocket(stream, wire, parser, head, scope, context)
                return upgraded
            if not await _exchange(wire, parser, head, scope, context, config):
                return None
            if not parser.next_cycle():
                return None
            deadline = trio.current_time() + config.keep_alive_timeout
            in_head = waited = False
    except ParseError as exc:  # between requests: nothing of a response went out
        await _error(wire, parser, exc.status, str(exc))
    except _Gone:
        pass
    finally:
        wire.close()
        if upgraded is None:
            parser.close()
    return None


def _scope(head: RequestHead, client: Address | None, local: Address | None, scheme: str) -> Scope:
    raw_path, _, query = head.target.partition(b"?")
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": _VERSIONS.get(head.http_version) or head.http_version.decode(),
        "method": _METHODS.get(head.method) or head.method.decode(),
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": head.headers,
        "client": client,
        "server": local,
        "state": {},
        "scheme": scheme,
    }


async def _error(wire: _Wire, parser: HTTPParser, status: int, text: str) -> None:
    """Answer with ``status`` and ``{"detail": text}`` (as the app's errors), and end."""
    body = orjson.dumps({"detail": text})
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    with contextlib.suppress(_Gone, ResponseError):
        await wire.write(parser.response(status, headers, body))


async def _timed_out(wire: _Wire, parser: HTTPParser) -> None:
    """Answer ``408`` to a client whose request head began and did not end within
    ``header_timeout`` (a slowloris, or a very slow network), trying for at most a second.
    One that sent nothing is closed without a word instead (RFC 9112 9.5): it may be a
    browser's spare connection, and it has no request to answer."""
    with trio.move_on_after(1):
        await _error(wire, parser, 408, "request head not received in time")


async def _exchange(
    wire: _Wire,
    parser: HTTPParser,
    head: RequestHead,
    scope: Scope,
    context: ServerContext,
    config: ServerConfig,
) -> bool:
    """Run one HTTP request through the app; ``False`` if the connection must close."""
    limit = config.max_body_size
    if head.content_length is not None and head.content_length > limit:
        await _error(wire, parser, 413, f"request body over {limit} bytes")
        return False
    body_done = continued = False
    start: Message | None = None
    sent = False  # the whole response went out
    broken: ParseError | None = None  # what the client broke while sending its body

    async def receive() -> Message:
        # (the app's Request.body() enforces max_body_size on what arrives, chunked included)
        nonlocal body_done, continued, broken
        if body_done:
            broken = await _disconnect(wire, parser) or broken
            return {"type": "http.disconnect"}
        try:
            while True:
                got = parser.body()
                if got is not None:
                    data, body_done = got
                    return {"type": "http.request", "body": data, "more_body": not body_done}
                if not continued:
                    continued = True
                    answer = parser.expects_continue()
                    if answer:
                        await wire.write(answer)
                data = await wire.read(trio.current_time() + config.header_timeout)
                if not data:
                    raise _Gone  # the body stopped coming
                parser.feed(data)
        except ParseError as exc:
            broken = exc
            raise _Gone from None

    async def send(message: Message) -> None:
        nonlocal start, sent
        if message["type"] == "http.response.start":
            start = message
            return
        if sent:
            return  # (after the response: ASGI says to ignore it)
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if start is not None:
            data = parser.response(start["status"], start.get("headers", ()), body, more=more)
            start = None
        else:
            data = parser.body_part(body, more=more)
        sent = not more
        if data:
            await wire.write(data)
        if more:  # a streamed response: let the other connections have their turn
            await trio.lowlevel.cancel_shielded_checkpoint()

    try:
        # on_error: a handler's error that made a 500 is logged, not raised to us
        await context.app.serve_asgi(scope, receive, send, context.on_error)
    except _Gone:
        if broken is not None and start is None and not sent:
            await _error(wire, parser, broken.status, str(broken))
        return False
    except ResponseError:
        return False
    if not sent or broken is not None:
        return False
    if body_done:
        return True
    if head.expect_continue and not continued:
        return False  # the client may never send the body it was not asked for
    return await _rest_of_request(wire, parser, config)


async def _disconnect(wire: _Wire, parser: HTTPParser) -> ParseError | None:
    """Wait until the client leaves (after the request body: what a streaming response
    watches for); a pipelined next request meanwhile waits in the parser. What the client
    broke meanwhile, if it did (the connection ends after this response)."""
    fed = 0
    while data := await wire.read(math.inf):
        try:
            parser.feed(data)
        except ParseError as exc:
            return exc
        fed += len(data)
        if fed > RECEIVE_SIZE:
            await trio.sleep_forever()  # a pipelining flood: stop reading (a send still fails)
    return None


async def _rest_of_request(wire: _Wire, parser: HTTPParser, config: ServerConfig) -> bool:
    """Read past what the app left of the request body (up to ``max_body_size``, in time), so
    that the next request can be read; ``False`` if the connection must close instead."""
    left = config.max_body_size
    deadline = trio.current_time() + config.header_timeout
    try:
        while left >= 0:
            got = parser.body()
            if got is not None:
                data, complete = got
                left -= len(data)
                if complete:
                    return left >= 0
                continue
            data = await wire.read(deadline)
            if not data:
                return False
            parser.feed(data)
    except ParseError:
        pass
    return False


async def _websocket(
    stream: trio.abc.Stream,
    wire: _Wire,
    parser: HTTPParser,
    head: RequestHead,
    scope: Scope,
    context: ServerContext,
) -> tuple[Scope, StreamTransport] | None:
    """Refuse an upgrade request that breaks RFC 6455 (``None``), or make its transport."""
    headers = Headers.from_raw(head.headers)
    refusal = check(head, headers)
    if refusal is not None:
        extra = [(k.encode(), v.encode()) for k, v in refusal.headers]
        extra.append((b"connection", b"close"))
        await wire.write(parser.response(refusal.status, extra, refusal.reason.encode()))
        return None
    scope.update(
        type="websocket",
        scheme="wss" if scope["scheme"] == "https" else "ws",
        subprotocols=subprotocols(headers),
    )
    transport = StreamTransport(
        stream,
        parser,
        key=headers["sec-websocket-key"],
        offered_extensions=headers.get("sec-websocket-extensions"),
        config=context.config,
        attendant=context.attendant,
    )
    return scope, transport
