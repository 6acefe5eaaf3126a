"""The application: routes, decorators, lifespan, and the ASGI entry point (dispatch only)."""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, TypedDict, TypeVar, Unpack, final

import trio

from ._asgi import ASGITransport
from ._monitor import AppStatistics, Monitor, client_of
from ._params import HandlerPlan, ParameterError, plan_handler
from ._pump import PumpOptions, run_session
from .datastructures import Address, Headers, QueryParams
from .exceptions import HTTPException, ListenError
from .requests import Request
from .responses import JSONResponse, PlainTextResponse, Response
from .routing import MethodNotAllowed, PathTemplate, Router
from .websocket import WebSocket

if TYPE_CHECKING:
    from ._state import Session
    from ._transport import Data, Transport
    from ._types import ErrorHandler, Message, Receive, Scope, Send
    from .server import ServeOptions
    from .websocket import Outbound

__all__ = ["FastrAPI", "WebSocketOptions"]

logger: Final = logging.getLogger("fastrapi")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Hook = Callable[[], Awaitable[None] | None]
Lifespan = Callable[["FastrAPI"], AbstractAsyncContextManager[None]]


class WebSocketOptions(TypedDict, total=False):
    """Per-connection settings, for :class:`FastrAPI` (defaults) and ``@app.websocket`` (a route).

    Attributes:
        max_queue: Messages buffered in each direction (default 16). A full inbound queue stops
            reading from the client; a full outbound queue makes ``send_*`` wait.
        max_message_size: Largest message accepted, in bytes (default 16 MiB); a larger one
            closes the connection with 1009.
        idle_timeout: Seconds without a message from the client before the connection is closed
            with 1001 (default ``None``: no limit).
        max_lifetime: Seconds a handler may run; then it is cancelled and the connection closed
            with 1001 (default ``None``: no limit).
        close_timeout: Seconds to drain the outbound queue, send the close and hear the peer's
            once the handler has finished (default 10); whatever is left is then cancelled.
        ping_interval: Seconds between the server's pings (default 20; ``None``: no pings).
        ping_timeout: Seconds to wait for the pong; without it the connection is closed with
            1011 (default 20; ``None``: wait for ever). Pings are the native server's: ASGI has
            none, so on Hypercorn neither option applies.
    """

    max_queue: int
    max_message_size: int
    idle_timeout: float | None
    max_lifetime: float | None
    close_timeout: float
    ping_interval: float | None
    ping_timeout: float | None


@dataclass(frozen=True, slots=True)
class _Endpoint:
    handler: Callable[..., Awaitable[object]]
    plan: HandlerPlan
    options: PumpOptions
    overrides: WebSocketOptions = field(default_factory=lambda: WebSocketOptions())
    """The route's own options: they win over those given to ``serve()``."""


@final
class FastrAPI:
    """A fastrapi application: WebSocket and HTTP routes, served on Trio.

    Args:
        on_startup: Functions (sync or async) run before the server accepts connections.
        on_shutdown: Functions run after it stopped.
        lifespan: An async context manager factory taking the app, entered at startup and
            exited at shutdown (for resources, or a nursery of long-lived tasks).
        max_body_size: Largest HTTP request body (default 1 MiB); larger gets a 413.
        allowed_origins: The ``Origin`` values a WebSocket handshake may carry (default
            ``None``: any). A browser always sends its page's origin, so this stops other sites'
            pages from opening WebSockets with your users' cookies (cross-site WebSocket
            hijacking); a handshake from another origin is refused with 403. Clients that send
            no ``Origin`` (not browsers) are let through.
        access_log: The level of the log lines, one per WebSocket when it ends (logger
            ``fastrapi.websocket``) and one per HTTP request (``fastrapi.access``); default
            ``logging.INFO``, ``None`` for none.
        metrics_path: Serve Prometheus metrics at this path (``"/metrics"``, say; default none);
            needs ``prometheus-client`` (the ``metrics`` extra). See :doc:`/deployment`.
        **options: Default :class:`WebSocketOptions` of every WebSocket route.

    Raises:
        ValueError: an option is out of range.
    """

    def __init__(
        self,
        *,
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
        lifespan: Lifespan | None = None,
        max_body_size: int = 2**20,
        allowed_origins: Iterable[str] | None = None,
        access_log: int | None = logging.INFO,
        metrics_path: str | None = None,
        **options: Unpack[WebSocketOptions],
    ) -> None:
        self.router: Final = Router[_Endpoint]()
        self.on_startup: list[Hook] = list(on_startup)
        self.on_shutdown: list[Hook] = list(on_shutdown)
        self.lifespan = lifespan
        self.max_body_size = max_body_size
        self.allowed_origins = frozenset(allowed_origins) if allowed_origins is not None else None
        self.websocket_options = PumpOptions(**options)
        self.state = SimpleNamespace()
        """A namespace for the application's own data (a connection registry, say)."""
        self.monitor: Final = Monitor(access_log, metrics=metrics_path is not None)
        if metrics_path is not None:
            self.get(metrics_path)(self._metrics)

    # -- declaring routes ---------------------------------------------------------------------

    def websocket(self, path: str, **options: Unpack[WebSocketOptions]) -> Callable[[F], F]:
        """Declare a WebSocket route: ``@app.websocket("/chat/{room}")``.

        The handler is an ``async def`` taking the :class:`~fastrapi.WebSocket` (its first
        parameter, or any parameter annotated ``WebSocket``), path parameters by name, and
        query parameters with their defaults. ``options`` override the app's
        :class:`WebSocketOptions` for this route.

        Raises:
            RouteDefinitionError: a bad path, a handler that is not ``async def``, a parameter
                that cannot be filled in, or a second route for the same path.
            ValueError: an option is out of range.
        """
        route_options = replace(self.websocket_options, **options)

        def decorate(handler: F) -> F:
            template = PathTemplate(path)
            plan = plan_handler(handler, template.param_names, WebSocket, first_is_connection=True)
            endpoint = _Endpoint(handler, plan, route_options, options)
            self.router.add_websocket(template, endpoint)
            return handler

        return decorate

    def route(self, path: str, methods: Sequence[str]) -> Callable[[F], F]:
        """Declare an HTTP route for ``methods``; see :meth:`get`."""

        def decorate(handler: F) -> F:
            template = PathTemplate(path)
            plan = plan_handler(handler, template.param_names, Request, first_is_connection=False)
            self.router.add_http(
                template, methods, _Endpoint(handler, plan, self.websocket_options)
            )
            return handler

        return decorate

    def get(self, path: str) -> Callable[[F], F]:
        """Declare a GET (and HEAD) route.

        The handler takes path and query parameters by name, and the
        :class:`~fastrapi.Request` if it has a parameter annotated ``Request``. It returns a
        :class:`~fastrapi.Response`, a ``dict`` or ``list`` (sent as JSON), or a ``str`` (text).
        """
        return self.route(path, ["GET"])

    def post(self, path: str) -> Callable[[F], F]:
        """Declare a POST route; see :meth:`get`."""
        return self.route(path, ["POST"])

    def put(self, path: str) -> Callable[[F], F]:
        """Declare a PUT route; see :meth:`get`."""
        return self.route(path, ["PUT"])

    def patch(self, path: str) -> Callable[[F], F]:
        """Declare a PATCH route; see :meth:`get`."""
        return self.route(path, ["PATCH"])

    def delete(self, path: str) -> Callable[[F], F]:
        """Declare a DELETE route; see :meth:`get`."""
        return self.route(path, ["DELETE"])

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry point: ``hypercorn --worker-class trio module:app`` serves it.

        On a server that does not run Trio (uvicorn, say), startup fails with one line that
        says so, and any request is answered with that line (HTTP 500, or a refused WebSocket).
        """
        if not trio.lowlevel.in_trio_run():
            await _refuse_non_trio(scope, receive, send)
            return
        await self.serve_asgi(scope, receive, send, self.log_handler_error)

    async def serve_asgi(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        on_error: ErrorHandler,
        defaults: WebSocketOptions | None = None,
    ) -> None:
        """The ASGI entry point that tells ``on_error`` what a WebSocket handler raised, with
        the WebSocket options given to ``serve()`` (``defaults``)."""
        kind = scope["type"]
        if kind == "websocket":
            transport = ASGITransport(scope, receive, send)
            if not await transport.wait_connect():
                return
            try:
                await self.serve_websocket(scope, transport, defaults)
            except Exception as exc:
                on_error(scope, exc)
        elif kind == "http":
            await self._http(scope, receive, _counting(self.monitor, scope, send))
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def log_handler_error(self, scope: Scope, exc: Exception) -> None:
        """Log what a WebSocket handler raised, with its route and peer (the server carries on)."""
        logger.error(
            "WebSocket handler for %s (client %s) failed; closed with 1011",
            scope["path"],
            client_of(scope),
            exc_info=exc,
        )

    async def serve_websocket(
        self, scope: Scope, transport: Transport, defaults: WebSocketOptions | None = None
    ) -> None:
        """Route one WebSocket handshake and run its session over ``transport``, with the
        options given to ``serve()`` (``defaults``) under the route's own.

        Raises:
            Exception: what the handler raised (after the connection was closed with 1011).
        """
        path = scope["path"]
        if self.allowed_origins is not None:
            origin = Headers.from_raw(scope.get("headers", ())).get("origin")
            if origin is not None and origin not in self.allowed_origins:
                logger.warning("WebSocket %s refused: origin %r is not allowed", path, origin)
                await transport.reject(403)
                return
        found = self.router.match_websocket(path)
        if found is None:
            logger.info("no WebSocket route for %s (client %s): 404", path, client_of(scope))
            await transport.reject(404)
            return
        route, path_params = found
        endpoint = route.handler
        query = QueryParams.from_query_string(scope.get("query_string", b""))
        try:
            kwargs = endpoint.plan.bind(path_params, query)
        except ParameterError as exc:
            logger.warning("WebSocket %s (client %s) refused: %s", path, client_of(scope), exc)
            await transport.reject(403)
            return

        sessions: list[Session] = []

        def create(
            session: Session,
            inbound: trio.MemoryReceiveChannel[Data],
            outbound: trio.MemorySendChannel[Outbound],
        ) -> WebSocket:
            self.monitor.opened(route.path.template, session)
            sessions.append(session)
            return WebSocket(
                scope,
                path_params,
                transport=transport,
                session=session,
                inbound=inbound,
                outbound=outbound,
            )

        async def call(ws: WebSocket) -> None:
            await endpoint.handler(**kwargs, **dict.fromkeys(endpoint.plan.connection_params, ws))

        options = endpoint.options
        if defaults:
            merged: WebSocketOptions = {**defaults, **endpoint.overrides}
            options = replace(self.websocket_options, **merged)
        started = trio.current_time()
        try:
            await run_session(transport, create, call, options)
        finally:
            for session in sessions:
                self.monitor.ended(route.path.template, session, scope, started)

    def statistics(self) -> AppStatistics:
        """What this process served so far: open WebSockets per route, messages, close codes,
        ping round trips (a snapshot; with several workers, each has its own)."""
        return self.monitor.statistics()

    async def _metrics(self) -> Response:
        body, content_type = self.monitor.prometheus.render()
        return Response(body, headers={"content-type": content_type})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        found = self.router.match_http(method, scope["path"])
        if found is None:
            response: Response = JSONResponse({"detail": "Not Found"}, 404)
        elif isinstance(found, MethodNotAllowed):
            allow = {"allow": ", ".join(found.allowed)}
            response = JSONResponse({"detail": "Method Not Allowed"}, 405, headers=allow)
        else:
            route, path_params = found
            request = Request(scope, path_params, receive, self.max_body_size)
            response = await self._call_http(route.handler, request)
        await response.send_to(send, head=method == "HEAD")

    async def _call_http(self, endpoint: _Endpoint, request: Request) -> Response:
        try:
            kwargs = endpoint.plan.bind(request.path_params, request.query_params)
        except ParameterError as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        try:
            result = await endpoint.handler(
                **kwargs, **dict.fromkeys(endpoint.plan.connection_params, request)
            )
        except HTTPException as exc:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        except Exception:
            logger.exception("HTTP handler for %s %s failed", request.method, request.url)
            return PlainTextResponse("Internal Server Error", 500)
        if isinstance(result, Response):
            return result
        if isinstance(result, str):
            return PlainTextResponse(result)
        try:
            return JSONResponse(result)
        except TypeError:
            logger.exception(
                "HTTP handler for %s %s returned %r", request.method, request.url, result
            )
            return PlainTextResponse("Internal Server Error", 500)

    # -- lifespan -----------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the startup hooks and enter ``lifespan``; on exit, the reverse.

        Servers use it around serving; tests may too.
        """
        for hook in self.on_startup:
            await _call_hook(hook)
        try:
            if self.lifespan is None:
                yield
            else:
                async with self.lifespan(self):
                    yield
        finally:
            for hook in self.on_shutdown:
                await _call_hook(hook)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        started = False
        try:
            async with self.running():
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
        except Exception as exc:
            phase = "shutdown" if started else "startup"
            logger.exception("application %s failed", phase)
            await send({"type": f"lifespan.{phase}.failed", "message": repr(exc)})
        else:
            await send({"type": "lifespan.shutdown.complete"})

    # -- serving ------------------------------------------------------------------------------

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
        **options: Unpack[ServeOptions],
    ) -> Any:
        """Serve the app on ``host``:``port`` until shut down.

        Called from plain Python (``app.serve("0.0.0.0", 8000)``), it runs Trio itself and
        blocks until Ctrl-C or SIGTERM, then shuts down gracefully: it stops accepting, closes
        every WebSocket with 1001, gives handlers ``shutdown_timeout`` to finish, and returns.
        Inside Trio it returns the coroutine to await: ``trio.run(app.serve)``,
        ``await app.serve(...)``, or ``address = await nursery.start(app.serve, "127.0.0.1", 0)``
        which returns the bound :class:`~fastrapi.Address` (the real port when ``port`` is 0);
        cancel that nursery to stop the server.

        Args:
            host: The address to listen on (``"0.0.0.0"`` for every IPv4 interface, ``"::"``
                for IPv6 too).
            port: The port; 0 picks a free one.
            task_status: For ``nursery.start``.
            **options: :class:`~fastrapi.server.ServeOptions`: the server (``"native"`` or
                ``"hypercorn"``), the codec, TLS, limits and timeouts.

        With ``workers=N`` (from plain Python only) it serves with N processes on one port;
        see :doc:`/deployment`.

        Raises:
            ValueError: an unknown option (the message names the nearest), an option out of
                range, or not one the chosen server has.
            ListenError: inside Trio, ``host``:``port`` cannot be listened on. Outside Trio the
                error's one line is printed and the process exits with status 1.
        """
        from .server import check_options, configure_logging, serve

        check_options(options)
        if trio.lowlevel.in_trio_run():
            return serve(self, host, port, options, task_status=task_status)
        configure_logging()
        try:
            if options.get("workers", 1) > 1:
                from .server._workers import run_workers

                run_workers(self, host, port, options, options["workers"])
            else:
                trio.run(partial(serve, self, host, port, options, task_status=task_status))
        except ListenError as exc:
            print(exc, file=sys.stderr)
            raise SystemExit(1) from None
        return None


async def _call_hook(hook: Hook) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


def _counting(monitor: Monitor, scope: Scope, send: Send) -> Send:
    """``send``, telling ``monitor`` the response's status and size when it is complete."""
    started = trio.current_time()
    status = 500
    size = 0

    async def counting_send(message: Message) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                monitor.http(scope, status, size, started)
        await send(message)

    return counting_send


NOT_TRIO: Final = (
    "fastrapi runs on Trio: serve it with its own server (app.serve(), or `fastrapi run "
    "module:app`) or Hypercorn's trio worker (`hypercorn --worker-class trio module:app`), "
    "not on an asyncio server such as uvicorn"
)


async def _refuse_non_trio(scope: Scope, receive: Receive, send: Send) -> None:
    """Say in one line that this server is the wrong one (no trio call: we are not on Trio)."""
    kind = scope["type"]
    if kind == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.failed", "message": NOT_TRIO})
        return
    logger.error("%s", NOT_TRIO)
    if kind == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1011, "reason": "server is not Trio"})
    elif kind == "http":
        body = NOT_TRIO.encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
