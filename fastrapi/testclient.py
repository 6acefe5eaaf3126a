"""FastAPI's synchronous test client, driving the app's real server code: ``TestClient(app)``.

Every request and WebSocket session runs through the native server's HTTP/1.1 and WebSocket code
over a local socket pair, in one Trio run on a background thread that belongs to the client; the
test's calls wait on it. So several WebSocket sessions and requests of one client share one app
run (a handler may broadcast to the other sessions), and the app's Trio objects outlive a
request. Needs ``httpx`` (the ``testclient`` extra).
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeVar, final

import h11
import httpx
import orjson
import trio

from ._attendant import Attendant
from ._closecodes import CloseCode
from ._websocket_dispatch import SERVER_ERRORS
from .datastructures import Address
from .exceptions import WebSocketDisconnect
from .server._http11 import ServerContext, serve_connection
from .testing import HandshakeRejected, _config, _handshake, _socket_pair

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from types import TracebackType

    from ._transport import Transport
    from ._types import ErrorHandler, Receive, Scope, Send
    from .app import FastrAPI, WebSocketOptions
    from .testing import WebSocketTestSession as AsyncSession

__all__ = ["TestClient", "WebSocketDenialResponse", "WebSocketTestSession"]

T = TypeVar("T")
CLIENT: Final = Address("testclient", 50000)
RECEIVE_SIZE: Final = 65536
START_TIMEOUT: Final = 10.0
"""Seconds the client's Trio thread has to start, and to stop."""


class WebSocketDenialResponse(WebSocketDisconnect):
    """The app refused the WebSocket handshake with an HTTP response (no route, a bad
    parameter, a dependency or handler that refused, a middleware): a ``WebSocketDisconnect``
    (code 1008, the reason is the body) that also carries the response.

    Attributes:
        status_code: The HTTP status.
        headers: The response's headers.
        content: The response's body.
    """

    def __init__(self, status_code: int, headers: httpx.Headers, content: bytes) -> None:
        super().__init__(CloseCode.POLICY_VIOLATION, content.decode("utf-8", "replace"))
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.content)


@final
class _Entry:
    """The app as the server calls it, with the client's ``root_path`` in every scope."""

    def __init__(self, app: FastrAPI, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def serve_asgi(
        self, scope: Scope, receive: Receive, send: Send, on_error: ErrorHandler
    ) -> None:
        if self.root_path:
            scope["root_path"] = self.root_path
        await self.app.serve_asgi(scope, receive, send, on_error)

    async def serve_websocket(
        self,
        scope: Scope,
        transport: Transport,
        on_error: ErrorHandler | None = None,
        defaults: WebSocketOptions | None = None,
    ) -> None:
        if self.root_path:
            scope["root_path"] = self.root_path
        await self.app.serve_websocket(scope, transport, on_error, defaults)


@final
class _Runner:
    """The client's Trio run on a thread of its own: started on first use, stopped by
    :meth:`stop` (``close()``, the end of ``with``, or the client's collection)."""

    def __init__(self, app: FastrAPI, root_path: str) -> None:
        self.app = app
        self.entry = _Entry(app, root_path)
        self.attendant = Attendant()
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._stopping: trio.Event | None = None
        self._ready = threading.Event()
        self._lifespan_exit: trio.Event | None = None
        self._lifespan_done: trio.Event | None = None
        self._lifespan_error: BaseException | None = None
        self.crash: BaseException | None = None

    @property
    def nursery(self) -> trio.Nursery:
        assert self._nursery is not None  # only in the run; not user input
        return self._nursery

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._ready.clear()
        self.crash = None
        self._thread = threading.Thread(target=self._run, name="fastrapi-testclient", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the test client's Trio thread did not start in {START_TIMEOUT} s")
        if self.crash is not None:
            raise self.crash

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # told to the test at its next call
            self.crash = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stopping = trio.Event()
        self.attendant = Attendant()  # its timers belong to this run
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self.attendant.run)
            self._ready.set()
            await self._stopping.wait()
            nursery.cancel_scope.cancel()
        self._nursery = None

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` in the client's Trio run and wait for it."""
        self.start()
        return trio.from_thread.run(function, *args, trio_token=self._token)

    def stop(self, wait: bool = True) -> None:
        """End the run; ``wait`` for its thread (never from a finalizer: it may run in any
        thread, another client's Trio thread included)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        stopping, token = self._stopping, self._token
        if stopping is not None and token is not None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(stopping.set)  # never blocks
        if wait and threading.current_thread() is not thread:
            thread.join(START_TIMEOUT)
            self._thread = None

    # -- lifespan ---------------------------------------------------------------------------

    async def enter_lifespan(self) -> None:
        """Run the app's startup (``app.running()``) in a task that holds it until
        :meth:`exit_lifespan`. Raises what the startup raised."""
        self._lifespan_exit = trio.Event()
        self._lifespan_done = trio.Event()
        self._lifespan_error = None
        await self.nursery.start(self._hold_lifespan, self._lifespan_exit, self._lifespan_done)

    async def _hold_lifespan(
        self, leave: trio.Event, done: trio.Event, task_status: trio.TaskStatus[None]
    ) -> None:
        started = False
        try:
            async with self.app.running():
                task_status.started()
                started = True
                await leave.wait()
        except Exception as exc:
            if not started:
                raise  # nursery.start() raises it in __enter__
            self._lifespan_error = exc
        finally:
            done.set()

    async def exit_lifespan(self) -> None:
        """Run the app's shutdown. Raises what it raised."""
        if self._lifespan_exit is None or self._lifespan_done is None:
            return
        self._lifespan_exit.set()
        await self._lifespan_done.wait()
        self._lifespan_exit = self._lifespan_done = None
        if self._lifespan_error is not None:
            raise self._lifespan_error

    # -- connections ------------------------------------------------------------------------

    def context(self, errors: list[BaseException]) -> ServerContext:
        def on_error(scope: Scope, exc: Exception, outcome: str) -> None:
            errors.append(exc)

        config = _config(self.app, compression=False)
        return ServerContext(self.entry, config, set(), on_error, self.attendant, {})  # type: ignore[arg-type]  # _Entry has the two calls the server makes of the app

    def connect(
        self, errors: list[BaseException], url: httpx.URL
    ) -> tuple[trio.abc.Stream, trio.Event]:
        """Start one server connection; the client's end of its stream, and the event set when
        the server side has finished. Call it from the run."""
        client, server = _socket_pair()
        context = self.context(errors)
        secure = url.scheme in ("https", "wss")
        local = Address(url.host or "testserver", url.port or (443 if secure else 80))
        done = trio.Event()

        async def serve() -> None:
            token = SERVER_ERRORS.set(errors.append)
            try:
                await serve_connection(server, context, client=CLIENT, local=local, secure=secure)
            except Exception as exc:
                errors.append(exc)
            finally:
                SERVER_ERRORS.reset(token)
                await trio.aclose_forcefully(server)
                done.set()

        self.nursery.start_soon(serve)
        return client, done


class _Transport(httpx.BaseTransport):
    """httpx's transport to the app: one server connection per request."""

    def __init__(self, client: TestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        client = self._client
        timeout = request.extensions.get("timeout", {}).get("read")
        body = request.read()
        status, headers, content, errors = client._runner.call(
            _exchange,
            client._runner,
            request.method,
            request.url,
            list(request.headers.raw),
            body,
            math.inf if timeout is None else timeout,
        )
        if errors and client.raise_server_exceptions:
            raise errors[0]
        return httpx.Response(status, headers=headers, content=content, request=request)


async def _exchange(
    runner: _Runner,
    method: str,
    url: httpx.URL,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    limit: float,
) -> tuple[int, list[tuple[bytes, bytes]], bytes, list[BaseException]]:
    """Send one request to the app and read its whole response (within ``limit`` seconds)."""
    errors: list[BaseException] = []
    stream, done = runner.connect(errors, url)
    conn = h11.Connection(h11.CLIENT)
    # httpx's headers as they are (as Starlette's client hands them to the app), except that
    # the body goes whole: its length, never chunks
    given = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
    if body and not any(k.lower() == b"content-length" for k, _ in given):
        given.append((b"content-length", str(len(body)).encode()))
    target = url.raw_path or b"/"
    status = 0
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    try:
        with trio.fail_after(limit):
            await stream.send_all(
                conn.send(h11.Request(method=method, target=target, headers=given))
                + (conn.send(h11.Data(data=body)) if body else b"")
                + (conn.send(h11.EndOfMessage()) or b"")
            )
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(RECEIVE_SIZE)
                    conn.receive_data(bytes(data))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    response_headers = list(event.headers.raw_items())
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
    except trio.TooSlowError:
        raise TimeoutError(
            f"no whole response to {method} {url} within {limit} s (the client's timeout)"
        ) from None
    except h11.RemoteProtocolError:
        if not errors:
            raise
    finally:
        await trio.aclose_forcefully(stream)
    with trio.move_on_after(START_TIMEOUT):
        await done.wait()  # background tasks have run, and the server's errors are known
    if status == 0 and errors:
        raise errors[0]
    return status, response_headers, b"".join(chunks), errors


class TestClient(httpx.Client):
    """FastAPI's ``TestClient``: ``client.get("/items/1")`` gives an ``httpx.Response``;
    ``with client.websocket_connect("/ws") as ws:`` a WebSocket session.

    Requests and WebSocket sessions run through the app's real server code (the native
    server's HTTP/1.1 and WebSocket handling, and the app's middleware) in one Trio run on a
    thread of the client's, so sessions and requests of one client share one app run.
    ``with TestClient(app) as client:`` runs the app's startup and shutdown (``on_startup``,
    ``lifespan=``, the Hub) around the block; without ``with`` they do not run (as FastAPI's).

    Differences from Starlette's client, on purpose: every WebSocket receive waits at most
    ``websocket_timeout`` seconds and then raises ``TimeoutError`` (Starlette's waits for ever:
    starlette#1140, #2329, #2598); each request waits at most its httpx ``timeout`` (the
    client's default 30 s). A refused handshake raises :class:`WebSocketDenialResponse`, a
    ``WebSocketDisconnect`` carrying the response.

    Args:
        app: The app.
        base_url: Where requests go (its host is the ``Host``; ``https`` makes the scheme
            ``https``/``wss``).
        raise_server_exceptions: Raise in the test what a handler raised: an HTTP handler's
            error (the client would get a 500), a WebSocket handler's (including a
            ``WebSocketDisconnect`` it let out, as Starlette's client does) when its session
            ends.
        root_path: The ``root_path`` of every request's scope (an app behind a proxy).
        cookies: Cookies to send (kept and updated from responses, as any httpx client).
        headers: Headers sent with every request (``user-agent: testclient`` by default).
        follow_redirects: Follow redirects.
        websocket_timeout: Seconds a WebSocket receive, handshake or close may wait.
        timeout: httpx's timeout of each request.
    """

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(
        self,
        app: FastrAPI,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: httpx._types.CookieTypes | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        websocket_timeout: float = 10.0,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.root_path = root_path
        self.websocket_timeout = websocket_timeout
        self._runner = _Runner(app, root_path)
        all_headers = {"user-agent": "testclient"}
        all_headers.update(headers or {})
        super().__init__(
            base_url=base_url,
            headers=all_headers,
            transport=_Transport(self),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """A WebSocket session to ``url`` (a path, or a full ``ws://`` URL), for ``with``.

        The handshake happens when the ``with`` block is entered; the client's headers and
        cookies go with it.

        Raises:
            WebSocketDenialResponse: (on entering) the app refused the handshake.
            TypeError: an unknown keyword.
        """
        if kwargs:
            raise TypeError(f"websocket_connect() got unexpected keywords {sorted(kwargs)}")
        full = self.base_url.join(url)
        request = self.build_request("GET", full, headers=headers)
        sent = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_WEBSOCKET}
        target = full.raw_path.decode("latin-1") or "/"
        return WebSocketTestSession(self, target, list(subprotocols or ()), sent, full)

    def __enter__(self) -> Self:
        self._runner.start()
        try:
            self._runner.call(self._runner.enter_lifespan)
        except BaseException:
            self._runner.stop()  # no __exit__ will come
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            self._runner.call(self._runner.exit_lifespan)
        finally:
            self._runner.stop()  # the client stays usable (as Starlette's): a call starts a run

    def close(self) -> None:
        """Stop the client's Trio run and close httpx (the client cannot send any more)."""
        self._runner.stop()
        super().close()

    def __del__(self) -> None:
        self._runner.stop(wait=False)


_NOT_WEBSOCKET: Final = frozenset({"accept-encoding", "connection", "content-length", "accept"})


@final
class WebSocketTestSession:
    """One WebSocket session of a :class:`TestClient` (``with client.websocket_connect(...)
    as ws``), Starlette's API: ``send_text/bytes/json``, ``receive_text/bytes/json``,
    ``close``. Every wait is bounded by the client's ``websocket_timeout``."""

    __test__ = False

    def __init__(
        self,
        client: TestClient,
        path: str,
        subprotocols: list[str],
        headers: dict[str, str],
        url: httpx.URL,
    ) -> None:
        self._client = client
        self._runner = client._runner
        self._path = path
        self._subprotocols = subprotocols
        self._headers = headers
        self._url = url
        self._timeout = client.websocket_timeout
        self._errors: list[BaseException] = []
        self._session: AsyncSession | None = None
        self._stream: trio.abc.Stream | None = None
        self._done: trio.Event | None = None
        self.accepted_subprotocol: str | None = None
        """The subprotocol the app accepted with."""
        self.extra_headers: list[tuple[bytes, bytes]] = []
        """The headers the app accepted with."""

    # -- the session's life -------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._runner.call(self._open)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self._runner.call(self._end)
        if not self._errors or not self._client.raise_server_exceptions:
            return
        error = self._errors[0]
        if exc is None or not isinstance(error, WebSocketDisconnect):
            raise error  # a disconnect the block's own error caused is not news

    async def _open(self) -> None:
        stream, done = self._runner.connect(self._errors, self._url)
        self._stream, self._done = stream, done
        try:
            with trio.fail_after(self._timeout):
                session = await _handshake(stream, self._path, self._subprotocols, self._headers)
        except HandshakeRejected as exc:
            await self._finish()
            if self._errors and self._client.raise_server_exceptions:
                raise self._errors[0] from None
            headers = httpx.Headers([(k, v) for k, v in exc.headers.items()])
            raise WebSocketDenialResponse(exc.status_code, headers, exc.body) from None
        except trio.TooSlowError:
            await self._finish()
            raise TimeoutError(
                f"the app did not answer the WebSocket handshake of {self._path} within "
                f"{self._timeout} s"
            ) from None
        self._session = session
        self.accepted_subprotocol = session.subprotocol
        self.extra_headers = [(k.encode(), v.encode()) for k, v in session.headers.items()]

    async def _finish(self) -> None:
        """Close our end and wait (bounded) for the server side to finish."""
        if self._stream is not None:
            await trio.aclose_forcefully(self._stream)
        if self._done is not None:
            with trio.move_on_after(self._timeout):
                await self._done.wait()

    async def _end(self) -> None:
        session = self._session
        if session is not None and session.close_frame is None:
            with trio.move_on_after(self._timeout):
                await session.close(CloseCode.NORMAL_CLOSURE)
        await self._finish()

    def _live(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the session inside `with client.websocket_connect(...)`")
        return self._session

    # -- sending ------------------------------------------------------------------------------

    def send_text(self, data: str) -> None:
        """Send a text message.

        Raises:
            WebSocketDisconnect: the connection is closed (1006 if it dropped).
        """
        self._runner.call(self._send, data)

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message (see :meth:`send_text`)."""
        self._runner.call(self._send, data)

    async def _send(self, data: str | bytes) -> None:
        session = self._live()
        if session.close_frame is not None:
            raise WebSocketDisconnect(*session.close_frame)
        try:
            await session.send(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE) from None

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as JSON, in a text message (or a binary one)."""
        encoded = orjson.dumps(data)
        if mode == "text":
            self.send_text(encoded.decode())
        else:
            self.send_bytes(encoded)

    def send(self, message: Mapping[str, Any]) -> None:
        """Send an ASGI-style message: ``{"type": "websocket.receive", "text": ...}`` (or
        ``"bytes"``), or ``{"type": "websocket.disconnect", "code": ...}`` to close."""
        if message.get("type") == "websocket.disconnect":
            self.close(int(message.get("code", CloseCode.NORMAL_CLOSURE)), message.get("reason"))
        elif message.get("text") is not None:
            self.send_text(message["text"])
        else:
            self.send_bytes(bytes(message.get("bytes") or b""))

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str | None = None) -> None:
        """Close from the client's side and wait (bounded) for the app's close."""
        self._runner.call(self._close, code, reason or "")

    async def _close(self, code: int, reason: str) -> None:
        session = self._live()
        if session.close_frame is None:
            with trio.move_on_after(self._timeout):
                await session.close(code, reason)

    # -- receiving ----------------------------------------------------------------------------

    async def _receive(self) -> str | bytes:
        session = self._live()
        try:
            with trio.fail_after(self._timeout):
                return await session.receive()
        except trio.TooSlowError:
            raise TimeoutError(
                f"no WebSocket message from the app on {self._path} within {self._timeout} s "
                "(TestClient(websocket_timeout=...))"
            ) from None
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE) from None

    def receive(self) -> dict[str, Any]:
        """The app's next message as an ASGI-style dict (``websocket.send`` with ``text`` or
        ``bytes``; ``websocket.close`` with its ``code`` and ``reason`` once it closed)."""
        try:
            message = self._runner.call(self._receive)
        except WebSocketDisconnect as exc:
            return {"type": "websocket.close", "code": exc.code, "reason": exc.reason}
        if isinstance(message, str):
            return {"type": "websocket.send", "text": message}
        return {"type": "websocket.send", "bytes": message}

    def receive_text(self) -> str:
        """The app's next message, which must be text.

        Raises:
            WebSocketDisconnect: the app closed the connection.
            TimeoutError: nothing came within ``websocket_timeout``.
            TypeError: the message was binary.
        """
        message = self._runner.call(self._receive)
        if not isinstance(message, str):
            raise TypeError(f"expected a text message, got {len(message)} bytes of binary")
        return message

    def receive_bytes(self) -> bytes:
        """The app's next message, which must be binary (see :meth:`receive_text`)."""
        message = self._runner.call(self._receive)
        if not isinstance(message, bytes):
            raise TypeError(f"expected a binary message, got text {message!r}")
        return message

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The app's next message parsed as JSON (see :meth:`receive_text`)."""
        message = self._runner.call(self._receive)
        return orjson.loads(message)
