"""Serving one WebSocket for the app (``app.py`` dispatches it here): the native server's
connection through the app's ASGI middleware and mounts, if it has any; then the route's
match, the origin check and handshake hooks, the session with the handler and its
dependencies (``_pump.py`` runs it), and the answer to what the handler raised (a refusal
before ``accept()``, a close after)."""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, final

import trio

from ._bridge import HTTP_RESPONSE, PASSAGE, NativeASGI, Passage
from ._connection import HTTPConnection
from ._dependencies import Solver
from ._errors import call as call_exception_handler
from ._errors import checked as checked_response
from ._monitor import client_of
from ._params import Inputs
from ._pump import run_session
from .datastructures import Headers
from .exception_handlers import (
    http_exception_response,
    hub_unavailable_response,
    validation_error_response,
)
from .exceptions import (
    HTTPException,
    HubUnavailable,
    RequestValidationError,
    WebSocketDisconnect,
    WebSocketRequestValidationError,
)
from .websocket import CHECKED_SENDS, CloseCode, WebSocket, WebSocketState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._pump import Connection, PumpOptions, WebSocketOptions
    from ._state import Session
    from ._transport import Transport
    from ._types import ASGIApp, ErrorHandler, Scope
    from .app import FastrAPI
    from .responses import Response
    from .routing import APIWebSocketRoute

logger: Final = logging.getLogger("fastrapi")

SERVER_ERRORS: Final[ContextVar[Callable[[BaseException], None] | None]] = ContextVar(
    "fastrapi_server_errors", default=None
)
"""Told of a ``WebSocketDisconnect`` a WebSocket handler let out (a normal end for the server):
the test client re-raises it, as Starlette's does. Set in the task that starts a connection;
unset when serving."""


def serve_websocket(
    app: FastrAPI,
    scope: Scope,
    transport: Transport,
    on_error: ErrorHandler | None = None,
    defaults: WebSocketOptions | None = None,
) -> Awaitable[None]:
    """Route one WebSocket handshake of the native server and run its session over
    ``transport``, with the options given to ``serve()`` (``defaults``) under the route's
    own, through the app's ASGI middleware and mounts if it has any (to be awaited).

    What the handler raised (after the connection was closed with 1011, or the handshake
    refused with 403) goes to ``on_error`` (by default :meth:`log_handler_error`).
    """
    # Not a coroutine function, nor is native_websocket(): they pick the coroutine that serves
    # the connection and return it, so that no frame of theirs stays parked beneath every
    # open WebSocket (each costs ~300 bytes a connection; see "What an idle connection holds"
    # in _pump.py).
    report = on_error or app.log_handler_error
    stack = app._stack if app._stack_built else app._build_stack()
    if stack is None:
        return native_websocket(app, scope, transport, report, defaults)
    return _bridged(app, stack, scope, transport, report, defaults)


def native_websocket(
    app: FastrAPI,
    scope: Scope,
    transport: Transport,
    report: ErrorHandler,
    defaults: WebSocketOptions | None,
) -> Awaitable[None]:
    """Serve a native WebSocket inside the app's middleware: by a mount, or by the routes
    (to be awaited)."""
    mounted = app._mounted(scope) if app._mounts else None
    if mounted is None:
        return serve_session(app, scope, transport, report, defaults)
    child, sub = mounted
    from .app import FastrAPI  # here: app.py imports this module

    if isinstance(sub, FastrAPI):
        return sub.serve_websocket(child, transport, report, defaults)
    return _bridged(app, sub, child, transport, report, defaults)


async def _bridged(
    app: FastrAPI,
    asgi_app: ASGIApp,
    scope: Scope,
    transport: Transport,
    report: ErrorHandler,
    defaults: WebSocketOptions | None,
) -> None:
    """Serve a native WebSocket with an ASGI app (the middleware, or a mounted app)."""
    bridge = NativeASGI(transport)
    scope = {**scope, PASSAGE: Passage(report, defaults, bridge)}
    scope["extensions"] = {**(scope.get("extensions") or {}), HTTP_RESPONSE: {}}
    failed = False
    try:
        await asgi_app(scope, bridge.receive, bridge.send)
    except Exception as exc:
        failed = True
        report(scope, exc, "the ASGI app in front of the routes failed")
    await bridge.finish(failed, app.websocket_options.close_timeout)


async def serve_session(
    app: FastrAPI,
    scope: Scope,
    transport: Transport,
    report: ErrorHandler,
    defaults: WebSocketOptions | None,
) -> None:
    """Route one WebSocket handshake to the app's routes and run its session over
    ``transport``; report what the handler raised."""
    app._enter(scope)
    path = app._scope_path(scope)
    if app.allowed_origins is not None:
        origin = Headers.from_raw(scope.get("headers", ())).get("origin")
        if origin is not None and origin not in app.allowed_origins:
            await _refuse(transport, scope, HTTPException(403, f"origin {origin!r} is not allowed"))
            return
    found = app.router.match_websocket(path)
    if found is None:
        await _refuse(transport, scope, HTTPException(404, "no WebSocket route"))
        return
    route, path_params = found
    try:
        if app._handshake_hooks:
            handshake = HTTPConnection(scope, path_params)
            for hook in app._handshake_hooks:
                await hook(handshake)
    except HTTPException as exc:
        await _refuse(transport, scope, exc)
        return
    except Exception as exc:
        await transport.reject(500)
        report(scope, exc, "refused with HTTP 500 by a handshake hook")
        return
    opening = _Opening(app, scope, path_params, route)
    options = route.options
    if defaults:
        options = _served_options(route, app.websocket_options, defaults)
    started = trio.current_time()
    error: BaseException | None = None
    try:
        await run_session(transport, opening.create, _websocket_error, options)
    except Exception as exc:
        error = exc
        accepted = opening.session is not None and opening.session.accepted
        report(scope, exc, "closed with 1011" if accepted else "refused with HTTP 403")
    except BaseException as exc:  # cancelled: the cleanups still run, bounded
        error = exc
        raise
    finally:
        if opening.session is not None:
            app.monitor.ended(route.path, opening.session, scope, started)
            if opening.solver is not None:
                await opening.solver.aclose(error)


@final
class _Opening:
    """Makes the connection's ``WebSocket`` and handler call once its pump is made, and keeps
    its session and solver for the end (an object rather than a closure: fewer objects held
    for the connection's life)."""

    __slots__ = ("app", "path_params", "route", "scope", "session", "solver")

    def __init__(
        self, app: FastrAPI, scope: Scope, path_params: dict[str, Any], route: APIWebSocketRoute
    ) -> None:
        self.app = app
        self.scope = scope
        self.path_params = path_params
        self.route = route
        self.session: Session | None = None  # once the connection is made
        self.solver: Solver | None = None

    def create(self, connection: Connection) -> tuple[WebSocket, Awaitable[object]]:
        app, route = self.app, self.route
        ws = WebSocket(self.scope, self.path_params, connection=connection)
        if route.messages is not None:  # declared message types: planned per route
            ws._messages = route.messages if app.validate_sends else route.receiving
        elif app.validate_sends:
            ws._messages = CHECKED_SENDS
        app.monitor.opened(route.path, connection.session)
        self.session = connection.session
        plan = route.plan
        direct = plan.call_directly(ws)
        if direct is not None:  # nothing to resolve or validate: no solver
            call: Awaitable[object] = direct
        else:
            solver = self.solver = ws._solver = websocket_solver(app, ws)
            call = solver.call(plan)
        report_escape = SERVER_ERRORS.get()
        if report_escape is not None:  # a test client: it re-raises the handler's end
            call = _escaping(call, report_escape)
        return ws, call


def _served_options(
    route: APIWebSocketRoute, base: PumpOptions, defaults: WebSocketOptions
) -> PumpOptions:
    """The route's options under the server's ``defaults``, over the app's ``base``: made
    once a route and server, not once a connection."""
    served = route.served
    if served is None or served[0] is not defaults or served[1] is not base:
        merged: WebSocketOptions = {**defaults, **route.overrides}
        served = route.served = (defaults, base, replace(base, **merged))
    return served[2]


def websocket_solver(app: FastrAPI, ws: WebSocket) -> Solver:
    """The solver of the dependencies of a WebSocket handler of ``app`` (its route's, or a hub
    route's handshake): ``ws``'s values, the app's overrides and worker threads."""
    return Solver(
        Inputs(ws), ws, app.dependency_overrides or {}, app.thread_limiter, websocket=True
    )


async def _websocket_error(
    connection: Connection, ws: WebSocket, exc: Exception
) -> Exception | None:
    """Answer what a WebSocket handler (or its dependency) raised: ``None`` once answered
    (a refusal, or a close), else the error to judge (1011 and reported, or the close of a
    ``WebSocketException``).

    As on HTTP, the error goes through the dependencies' cleanups first, then to its
    exception handler, else to the built-in answer: before ``accept()``, an
    ``HTTPException`` refuses the handshake with its status, an invalid handshake value
    with 403 and FastAPI's error JSON.
    """
    if isinstance(exc, WebSocketDisconnect):
        return exc  # the peer left: the normal end, for no handler
    solver = ws._solver
    if solver is not None:
        exc = await solver.unwind(exc)
    app: FastrAPI = ws.scope["app"]  # the app that routed it (serve_session)
    table = app._exception_table
    entry = table.lookup(exc, websocket=True) if table else None
    if entry is None or isinstance(exc, BaseExceptionGroup):
        return None if await _refused_by_default(connection, ws, exc) else exc
    try:
        result = await call_exception_handler(entry, ws, exc, app.thread_limiter)
        state = ws.application_state
        if state is WebSocketState.CONNECTING and result is not None:
            response = checked_response(entry, result)
            why = f"{type(exc).__name__}: {exc}"
            await _refuse_with(connection, ws.scope, response, why)
        elif state is WebSocketState.CONNECTED:  # accepted, and the handler did not close
            await ws.close(CloseCode.INTERNAL_ERROR)
    except HTTPException as raised:
        return None if await _refused_by_default(connection, ws, raised) else raised
    except Exception as failure:  # the handler's own bug: judged and reported instead
        return failure
    return None


async def _escaping(call: Awaitable[object], report: Callable[[BaseException], None]) -> object:
    """Await a WebSocket handler, telling ``report`` of a ``WebSocketDisconnect`` it let out."""
    try:
        return await call
    except WebSocketDisconnect as exc:
        report(exc)
        raise


async def _refused_by_default(connection: Connection, ws: WebSocket, exc: Exception) -> bool:
    """A handler (or its dependency) that raised ``HTTPException`` or an invalid handshake value
    before ``accept()`` refuses the handshake with it; after, it is an error like any other.
    ``HubUnavailable`` refuses with 503 before ``accept()``, and after it closes with 1013 (try
    again later): the Hub's outage is logged once by the Hub, not once per connection."""
    if isinstance(exc, HubUnavailable):
        if ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect):
                await ws.close(CloseCode.TRY_AGAIN_LATER, "hub unavailable")
            return True
        return await _refuse_with(connection, ws.scope, hub_unavailable_response(exc), str(exc))
    if isinstance(exc, HTTPException):
        response = http_exception_response(exc)
        why = str(exc.detail)
    elif isinstance(exc, WebSocketRequestValidationError | RequestValidationError):
        # one documented status for an invalid handshake value: 403
        response = validation_error_response(exc.errors(), 403)
        why = exc.summary()
    else:
        return False
    return await _refuse_with(connection, ws.scope, response, why)


async def _refuse_with(connection: Connection, scope: Scope, response: Response, why: str) -> bool:
    """Refuse the handshake with ``response``, unless it was accepted or closed already."""
    session = connection.session
    if not session.refuse():
        return False
    try:
        await _reject(connection.transport, scope, response, why)
    except trio.BrokenResourceError:
        pass  # the client left before its refusal: nothing to tell it
    finally:
        session.on_close_sent()
    return True


async def _refuse(transport: Transport, scope: Scope, exc: HTTPException) -> None:
    """Refuse a handshake with the status, headers and ``{"detail": ...}`` of ``exc``."""
    await _reject(transport, scope, http_exception_response(exc), str(exc.detail))


async def _reject(transport: Transport, scope: Scope, response: Response, why: str) -> None:
    """Refuse a handshake with ``response``; log it at INFO with the reason (``why``)."""
    logger.info(
        "WebSocket %s (client %s) refused with %d: %s",
        scope["path"],
        client_of(scope),
        response.status_code,
        why,
    )
    # the transport sets content-length itself (the response's raw headers have one already)
    headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    await transport.reject(response.status_code, headers, response.body)
