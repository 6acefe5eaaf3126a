"""One TCP (or TLS) connection of the native server: HTTP/1.1 through h11, then maybe a WebSocket.

Requests are read one at a time (keep-alive; pipelined requests wait in h11's buffer), each
head within ``header_timeout`` (``keep_alive_timeout`` between requests), and handed to the app
as ASGI ``http`` calls. An upgrade request is checked (RFC 6455 4.2.1) and handed to the app's
WebSocket routing with a :class:`~fastrapi.server._stream.StreamTransport`; the connection then
belongs to the WebSocket until it closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

import h11
import orjson
import trio

from ..datastructures import Address, Headers
from ._handshake import check, is_upgrade, reason_phrase, subprotocols
from ._stream import RECEIVE_SIZE, StreamTransport

if TYPE_CHECKING:
    from .._attendant import Attendant
    from .._types import ErrorHandler, Message, Scope
    from ..app import FastrAPI, WebSocketOptions
    from ._config import ServerConfig

_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}


@dataclass(frozen=True, slots=True)
class ServerContext:
    """What every connection of one server shares."""

    app: FastrAPI
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


class _Closed(Exception):
    """The client went away, or sent nothing in time."""


async def _next_event(stream: trio.abc.Stream, conn: h11.Connection) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]  # h11's sentinels are typed as classes
        try:
            data = await stream.receive_some(RECEIVE_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise _Closed from None
        conn.receive_data(bytes(data))


async def _send(stream: trio.abc.Stream, data: bytes | None) -> None:
    if data:
        await stream.send_all(data)


async def serve_connection(
    stream: trio.abc.Stream,
    context: ServerContext,
    *,
    client: Address | None,
    local: Address | None,
    secure: bool,
) -> None:
    """Serve every request of one connection; return when it is over (the caller closes it)."""
    upgraded = await _serve_http(stream, context, client, local, secure)
    if upgraded is None:
        return
    # The HTTP part has returned: h11, the request and that frame go with the handshake instead
    # of lasting as long as the WebSocket does.
    scope, transport = upgraded
    context.sessions.add(transport)
    try:
        await context.app.serve_websocket(
            scope, transport, context.on_error, context.websocket_defaults
        )
    finally:
        context.sessions.discard(transport)


async def _serve_http(
    stream: trio.abc.Stream,
    context: ServerContext,
    client: Address | None,
    local: Address | None,
    secure: bool,
) -> tuple[Scope, StreamTransport] | None:
    """The HTTP requests of the connection, up to an upgrade: its scope and transport."""
    config = context.config
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_header_size)
    timeout = config.header_timeout
    try:
        while True:
            event: h11.Event | None = None
            with trio.move_on_after(timeout):
                event = await _next_event(stream, conn)
            if not isinstance(event, h11.Request):
                return None  # the client closed, or its request head did not come in time
            raw = list(event.headers)  # once: h11's headers are a slow sequence to walk
            if sum(len(k) + len(v) for k, v in raw) > config.max_header_size:
                # h11 bounds a head that arrives in pieces; this bounds one that came whole
                await _error(stream, conn, 431, "request header fields too large")
                return None
            headers = Headers.from_raw(raw)
            scope = _scope(event, raw, client, local, secure)
            if is_upgrade(event, headers):
                return await _websocket(stream, conn, event, headers, scope, context)
            if not await _http(stream, conn, scope, context.app, config):
                return None
            if not await _rest_of_request(stream, conn, config):
                return None
            conn.start_next_cycle()
            timeout = config.keep_alive_timeout
    except h11.RemoteProtocolError as exc:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await _error(stream, conn, exc.error_status_hint, str(exc))
    except _Closed:
        pass
    return None


async def _rest_of_request(
    stream: trio.abc.Stream, conn: h11.Connection, config: ServerConfig
) -> bool:
    """Read past what the app left of the request body (up to ``max_body_size``, in time), so
    that the next request can be read; ``False`` if the connection must close instead."""
    left = config.max_body_size
    with trio.move_on_after(config.header_timeout):
        while conn.their_state is h11.SEND_BODY and left >= 0:
            event = await _next_event(stream, conn)
            if isinstance(event, h11.Data):
                left -= len(event.data)
    return conn.their_state is h11.DONE and conn.our_state is h11.DONE


def _scope(
    request: h11.Request,
    headers: list[tuple[bytes, bytes]],
    client: Address | None,
    local: Address | None,
    secure: bool,
) -> Scope:
    raw_path, _, query = request.target.partition(b"?")
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": request.http_version.decode(),
        "method": request.method.decode(),
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": local,
        "state": {},
        "scheme": "https" if secure else "http",
    }


async def _error(stream: trio.abc.Stream, conn: h11.Connection, status: int, text: str) -> None:
    """Answer with ``status`` and ``{"detail": text}`` (as the app's errors), and end."""
    body = orjson.dumps({"detail": text})
    head = h11.Response(
        status_code=status,
        headers=[
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
        reason=reason_phrase(status),
    )
    try:
        await _send(stream, conn.send(head))
        await _send(stream, conn.send(h11.Data(data=body)))
        await _send(stream, conn.send(h11.EndOfMessage()))
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.LocalProtocolError):
        pass


async def _http(
    stream: trio.abc.Stream, conn: h11.Connection, scope: Scope, app: FastrAPI, config: ServerConfig
) -> bool:
    """Run one HTTP request through the app; ``False`` if the connection must close."""
    limit = config.max_body_size
    length = Headers.from_raw(scope["headers"]).get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        await _error(stream, conn, 413, f"request body over {limit} bytes")
        return False
    body_done = False

    async def receive() -> Message:
        # (the app's Request.body() enforces max_body_size on what arrives, chunked included)
        nonlocal body_done
        if body_done:
            return await _disconnect(stream, conn)
        with trio.move_on_after(config.header_timeout) as stalled:
            event = await _next_event(stream, conn)
        if stalled.cancelled_caught:
            raise _Closed  # the body stopped coming
        if isinstance(event, h11.Data):
            return {"type": "http.request", "body": bytes(event.data), "more_body": True}
        body_done = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status = message["status"]
            head = h11.Response(
                status_code=status,
                headers=message.get("headers", []),
                reason=reason_phrase(status),
            )
            await _send(stream, conn.send(head))
            return
        await _send(stream, conn.send(h11.Data(data=message.get("body", b""))))
        if not message.get("more_body", False):
            await _send(stream, conn.send(h11.EndOfMessage()))

    try:
        await app(scope, receive, send)
    except (_Closed, trio.BrokenResourceError, trio.ClosedResourceError):
        return False
    return conn.our_state is h11.DONE


async def _disconnect(stream: trio.abc.Stream, conn: h11.Connection) -> Message:
    """Wait until the client leaves (after the request body: what a streaming response
    watches for); a pipelined next request meanwhile stays in h11's buffer."""
    while True:
        try:
            data = await stream.receive_some(RECEIVE_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            return {"type": "http.disconnect"}
        conn.receive_data(bytes(data))
        if len(conn.trailing_data[0]) > RECEIVE_SIZE:
            await trio.sleep_forever()  # a pipelining flood: stop reading (a send still fails)


async def _websocket(
    stream: trio.abc.Stream,
    conn: h11.Connection,
    request: h11.Request,
    headers: Headers,
    scope: Scope,
    context: ServerContext,
) -> tuple[Scope, StreamTransport] | None:
    """Refuse an upgrade request that breaks RFC 6455 (``None``), or make its transport."""
    refusal = check(request, headers)
    if refusal is not None:
        head = h11.Response(
            status_code=refusal.status,
            headers=[(k.encode(), v.encode()) for k, v in refusal.headers]
            + [(b"content-length", str(len(refusal.reason)).encode()), (b"connection", b"close")],
            reason=reason_phrase(refusal.status),
        )
        await _send(stream, conn.send(head))
        await _send(stream, conn.send(h11.Data(data=refusal.reason.encode())))
        await _send(stream, conn.send(h11.EndOfMessage()))
        return None
    scope.update(
        type="websocket",
        scheme="wss" if scope["scheme"] == "https" else "ws",
        subprotocols=subprotocols(headers),
    )
    transport = StreamTransport(
        stream,
        conn,
        key=headers["sec-websocket-key"],
        offered_extensions=headers.get("sec-websocket-extensions"),
        config=context.config,
        attendant=context.attendant,
    )
    return scope, transport
