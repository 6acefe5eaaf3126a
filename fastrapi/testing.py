"""Test helpers: an in-process WebSocket client and HTTP call, and a live server on loopback.

:func:`open_websocket` and :func:`http_request` run the app in the caller's Trio run, with no
sockets and no threads, so they work under ``autojump_clock``; the app runs as an ASGI server
would run it. :func:`open_live_server` serves the app on ``127.0.0.1`` with a free port, for
tests with real clients.
"""

from __future__ import annotations

import contextlib
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final, NamedTuple, final
from urllib.parse import unquote

import orjson
import trio

from ._asgi import ASGITransport
from ._closecodes import CloseCode
from ._types import Message
from .datastructures import Address, Headers
from .exceptions import FastrapiError, WebSocketDisconnect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from ._types import Scope
    from .app import FastrAPI

__all__ = [
    "CloseFrame",
    "HandshakeRejected",
    "TestResponse",
    "WebSocketTestSession",
    "http_request",
    "open_live_server",
    "open_websocket",
]

QUEUE_SIZE: Final = 16
_CLIENT: Final = ("127.0.0.1", 50000)
_SERVER: Final = ("testserver", 80)


class HandshakeRejected(FastrapiError):
    """The app refused the WebSocket handshake; ``status_code`` is the HTTP status it sent."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"WebSocket handshake refused with HTTP {status_code}")
        self.status_code = status_code


class CloseFrame(NamedTuple):
    """The close the app sent: its code and reason."""

    code: int
    reason: str


def _scope(kind: str, path: str, headers: Mapping[str, str] | None, extra: dict[str, Any]) -> Scope:
    raw_path, _, query = path.partition("?")
    raw_headers = [(b"host", b"testserver")] + [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
    ]
    return {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": _CLIENT,
        "server": _SERVER,
        "state": {},
        **extra,
    }


@final
class WebSocketTestSession:
    """The client end of an in-process WebSocket connection (see :func:`open_websocket`)."""

    def __init__(
        self,
        to_app: trio.MemorySendChannel[Message],
        from_app: trio.MemoryReceiveChannel[Message],
    ) -> None:
        self._to_app = to_app
        self._from_app = from_app
        self._closed_by_client = False
        self.close_frame: CloseFrame | None = None
        """The app's close, once it has been received."""
        self.subprotocol: str | None = None
        """The subprotocol the app accepted with."""
        self.headers = Headers([])
        """The extra headers the app accepted with."""

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        kind = "text" if isinstance(data, str) else "bytes"
        await self._to_app.send({"type": "websocket.receive", kind: data})

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send(data)

    async def send_json(self, data: object) -> None:
        """Send ``data`` as JSON in a text message."""
        await self.send(orjson.dumps(data).decode())

    async def receive(self) -> str | bytes:
        """Wait for the app's next message.

        Raises:
            WebSocketDisconnect: the app closed the connection (with its code and reason).
        """
        if self.close_frame is not None:
            raise WebSocketDisconnect(*self.close_frame)
        message = await self._from_app.receive()
        if message["type"] == "websocket.close":
            self.close_frame = CloseFrame(
                message.get("code", CloseCode.NORMAL_CLOSURE), message.get("reason") or ""
            )
            raise WebSocketDisconnect(*self.close_frame)
        text = message.get("text")
        return text if text is not None else bytes(message["bytes"])

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
        """Close the connection from the client's side with ``code`` and ``reason``."""
        if not self._to_app._closed:
            await self._to_app.send(
                {"type": "websocket.disconnect", "code": code, "reason": reason}
            )
            self._to_app.close()

    async def wait_closed(self) -> CloseFrame:
        """Wait until the app closes the connection, skipping its messages; return its close."""
        while True:
            try:
                await self.receive()
            except WebSocketDisconnect as exc:
                return CloseFrame(exc.code, exc.reason)


@asynccontextmanager
async def open_websocket(
    app: FastrAPI,
    path: str,
    *,
    subprotocols: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    raise_server_exceptions: bool = True,
) -> AsyncIterator[WebSocketTestSession]:
    """Connect to ``app`` at ``path`` (query string included) in memory.

    On exit the client closes with 1000 unless a side closed already, then waits for the handler
    to finish. With ``raise_server_exceptions``, an exception of the handler is raised there.

    Raises:
        HandshakeRejected: the app refused the handshake (no route, a bad parameter, a handler
            that closed or failed before accepting).
    """
    hdrs = dict(headers or {})
    if subprotocols:
        hdrs["sec-websocket-protocol"] = ", ".join(subprotocols)
    scope = _scope(
        "websocket",
        path,
        hdrs,
        {
            "scheme": "ws",
            "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}},
        },
    )
    to_app, app_inbox = trio.open_memory_channel[Message](QUEUE_SIZE)
    app_outbox, from_app = trio.open_memory_channel[Message](QUEUE_SIZE)
    errors: list[Exception] = []

    async def receive() -> Message:
        try:
            return await app_inbox.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return {"type": "websocket.disconnect", "code": CloseCode.ABNORMAL_CLOSURE}

    async def send(message: Message) -> None:
        # like a real server, drop what the app sends once the client is gone
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await app_outbox.send(message)

    async def run_app() -> None:
        with app_outbox:
            transport = ASGITransport(scope, receive, send)
            await transport.wait_connect()
            try:
                await app.serve_websocket(scope, transport)
            except Exception as exc:
                errors.append(exc)

    client = WebSocketTestSession(to_app, from_app)
    body_error: Exception | None = None  # raised bare after the nursery, never in a group
    async with trio.open_nursery() as nursery:
        await to_app.send({"type": "websocket.connect"})
        nursery.start_soon(run_app)
        try:
            await _handshake(client, from_app)
            yield client
            if client.close_frame is None:
                await client.close()
        except Exception as exc:
            body_error = exc
        finally:
            to_app.close()
            from_app.close()
    if errors and raise_server_exceptions:
        raise errors[0]  # the handler's error explains what the client saw
    if body_error is not None:
        raise body_error


async def _handshake(
    client: WebSocketTestSession, from_app: trio.MemoryReceiveChannel[Message]
) -> None:
    try:
        message = await from_app.receive()
    except trio.EndOfChannel:
        raise HandshakeRejected(500) from None  # the app ended without answering
    kind = message["type"]
    if kind == "websocket.accept":
        client.subprotocol = message.get("subprotocol")
        client.headers = Headers.from_raw(message.get("headers", ()))
        return
    if kind == "websocket.http.response.start":
        raise HandshakeRejected(int(message["status"]))
    raise HandshakeRejected(403)  # websocket.close before accept


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
) -> TestResponse:
    """Send one HTTP request to ``app`` in memory and return its response."""
    scope = _scope("http", path, headers, {"method": method.upper(), "scheme": "http"})
    request_sent = False
    status = 0
    response_headers = Headers([])
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal request_sent
        if request_sent:
            await trio.sleep_forever()
        request_sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = Headers.from_raw(message.get("headers", ()))
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return TestResponse(status, response_headers, b"".join(chunks))


@asynccontextmanager
async def open_live_server(app: FastrAPI, **options: Any) -> AsyncIterator[Address]:
    """Serve ``app`` on 127.0.0.1 with a free port until the block exits; yield its address.

    ``options`` go to :meth:`FastrAPI.serve`.
    """
    async with trio.open_nursery() as nursery:
        address: Address = await nursery.start(partial(app.serve, "127.0.0.1", 0, **options))
        yield address
        nursery.cancel_scope.cancel()
