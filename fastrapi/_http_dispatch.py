"""Serving one HTTP request for the app (``app.py`` dispatches it here): its function
middleware, the route's match, the dependencies and handler, the response, then the cleanups
and background tasks. Functions of the app rather than its methods, and flat: this is the path
every request takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Final

import trio

from ._body import read_body
from ._bridge import PASSAGE
from ._dependencies import Solver
from ._errors import http_response, server_error_response
from ._params import NO_BODY, CallKind, HandlerPlan, Inputs
from .background import added_tasks, run_background
from .exceptions import HTTPException, RequestValidationError
from .middleware._answer import answer as plain_answer
from .requests import Request
from .responses import Response
from .routing import MethodNotAllowed
from .sse import streamed

if TYPE_CHECKING:
    from ._bridge import Passage
    from ._monitor import Monitor
    from ._types import ASGIApp, Message, Receive, Scope, Send
    from .app import FastrAPI
    from .routing import APIRoute

CallNext = Callable[[Request], Awaitable[Response]]
HTTPMiddleware = Callable[[Request, CallNext], Awaitable[Response]]


async def serve_http(app: FastrAPI, scope: Scope, receive: Receive, send: Send) -> Exception | None:
    """Answer one HTTP request; return the error nothing answered (it made the 500), for
    the caller to report."""
    app._enter(scope)
    mounted = app._mounted(scope) if app._mounts else None
    if mounted is not None:
        await mounted[1](mounted[0], receive, send)
        return None
    request = Request(scope, receive, path_params={}, max_body_size=app.max_body_size)
    exchange = Exchange()
    error: Exception | None = None
    try:
        try:
            if app._http_middleware:
                call: CallNext = partial(_route, app, exchange=exchange)
                for middleware in reversed(app._http_middleware):
                    call = partial(_through, middleware, call)
                response = await call(request)
            else:
                response = await _route(app, request, exchange=exchange)
        except Exception as exc:  # unanswered by the route and the exception handlers
            error = exc
            response = await server_error_response(
                app._exception_table, request, exc, app.thread_limiter
            )
        await response(scope, receive, send)
    except BaseException as exc:
        if exchange.solver is not None:
            await exchange.solver.aclose(exc)
        raise
    finally:
        if request._form is not None:  # the form's files (no cost without a form)
            await request.close()
    if exchange.solver is not None:  # the route answered: its cleanups, after the response
        await exchange.solver.aclose(error)
    background = response.background
    if background is None and exchange.error is None and error is None:
        background = added_tasks(scope)  # a handler's BackgroundTasks parameter
    if background is not None:
        await run_background(background, app.thread_limiter, scope)
    return error


async def _route(app: FastrAPI, request: Request, *, exchange: Exchange) -> Response:
    path = app._scope_path(request._scope)
    found = app.router.match_http(request.method, path)
    if found is None:
        other = app.router.redirect_path(request.method, path)
        if other is not None:
            return Response(b"", 307, headers={"location": _moved(request, other)})
        return await _answer(app, request, HTTPException(404))
    if isinstance(found, MethodNotAllowed):
        allow = {"Allow": ", ".join(found.allowed)}
        return await _answer(app, request, HTTPException(405, headers=allow))
    route, path_params = found
    request.path_params = path_params
    custom = route.custom_handler
    if custom is None:
        return await serve_route(app, route, request, exchange, answer=True)
    request._scope[_EXCHANGE] = exchange  # for the route class's handler to find
    request._scope["path_params"] = path_params  # for a request it makes of the scope
    try:
        return await custom(request)
    except Exception as exc:
        return await _answer(app, request, exc)


async def serve_route(
    app: FastrAPI, route: APIRoute, request: Request, exchange: Exchange, *, answer: bool
) -> Response:
    """Serve ``request`` with ``route``: its dependencies and handler, then the response
    for what it returned; an error is answered by its exception handler (``answer``) or,
    once the dependencies' cleanups have seen it, raised (for a custom route class's
    handler, :meth:`~fastrapi.routing.APIRoute.get_route_handler`)."""
    plan = route.plan
    if plan.simple:  # values and the connection only: no solver, nothing to clean up
        try:
            direct = plan.call_directly(request)  # nothing to read, bind or validate
            result = await (direct if direct is not None else _call(app, plan, request))
        except Exception as exc:
            exchange.error = exc
            if not answer:
                raise
            return await _answer(app, request, exc)
        return route.returns.render(result, None)
    inputs = Inputs(request)
    solver = exchange.solver = Solver(
        inputs, request, app.dependency_overrides or {}, app.thread_limiter
    )
    if plan.needs_response:
        solver.response = Response(status_code=route.status_code or 200)
    try:
        if plan.needs_body:
            body = await read_body(request, plan, app.strict_content_type)
            solver.inputs = replace(inputs, body=body)
        if plan.streams:  # a generator: what it yields is the body
            arguments = await solver.arguments(plan)
            content = route.returns.content if route.returns.adapter is not None else None
            result = streamed(plan.call(**arguments), route.response_class, content)
        else:
            result = await solver.call(plan)
            if solver.function_stack is not None:  # scope="function": before the answer
                await solver.end_function_scope()
    except Exception as exc:
        # FastAPI's order: the error goes through the dependencies' cleanups first (one
        # may turn it into an HTTPException), then to its exception handler.
        exchange.solver = None
        exchange.error = exc
        unwound = await solver.unwind(exc)
        if not answer:
            raise unwound from None
        return await _answer(app, request, unwound)
    # a ResponseValidationError or TypeError of the value goes on to the 500 path
    return route.returns.render(result, solver.response)


async def _call(app: FastrAPI, plan: HandlerPlan, request: Request) -> object:
    """Call a simple plan's handler with the values of ``request`` (body read if it takes
    one; a plain ``def`` in a worker thread).

    Raises:
        RequestValidationError: values are missing or invalid.
    """
    body = await read_body(request, plan, app.strict_content_type) if plan.needs_body else NO_BODY
    values, errors = plan.bind(Inputs(request, body))
    if errors:
        raise RequestValidationError(errors, body=None if body is NO_BODY else body)
    for name in plan.connection_params:
        values[name] = request
    if plan.kind is CallKind.SYNC:  # in a worker thread, as the solver runs it
        return await trio.to_thread.run_sync(
            partial(plan.call, **values), limiter=app.thread_limiter
        )
    return await plan.call(**values)  # type: ignore[misc]  # planned as async


async def _answer(app: FastrAPI, request: Request, exc: Exception) -> Response:
    """The response for ``exc`` from its exception handler or the built-in one.

    Raises:
        Exception: ``exc`` when neither answers it (the 500 path takes it).
    """
    return await http_response(app._exception_table, request, exc, app.thread_limiter)


_EXCHANGE: Final = "fastrapi.exchange"
"""The scope key of the request's :class:`Exchange`, set for custom route handlers only."""


def route_handler(route: APIRoute) -> Callable[[Request], Awaitable[Response]]:
    """The handler :meth:`APIRoute.get_route_handler` gives: ``route`` served by the app of
    the request, its errors raised."""

    async def handle(request: Request) -> Response:
        scope = request.scope
        return await serve_route(scope["app"], route, request, scope[_EXCHANGE], answer=False)

    return handle


@dataclass(slots=True)
class Exchange:
    """One HTTP request's dependencies, for their cleanup after the response (``None`` once
    an error ran it), and what its route raised."""

    solver: Solver | None = None
    error: Exception | None = None


async def through_stack(
    stack: ASGIApp, scope: Scope, receive: Receive, send: Send, passage: Passage
) -> None:
    """One HTTP request through the ASGI middleware: what a middleware raised is answered 500
    (if no response started) and goes to ``on_error``, as what a route raised does."""
    scope[PASSAGE] = passage
    started = False

    async def watching_send(message: Message) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        await stack(scope, receive, watching_send)
    except Exception as exc:  # (a route's error only comes here when on_error raises it)
        if not started:
            await plain_answer(scope, send, 500, "Internal Server Error")
        passage.on_error(scope, exc, "answered with HTTP 500 (an ASGI middleware failed)")


async def _through(middleware: HTTPMiddleware, call_next: CallNext, request: Request) -> Response:
    return await middleware(request, call_next)


def _moved(request: Request, path: str) -> str:
    """The URL of ``request`` with ``path`` instead of its own (a trailing-slash redirect)."""
    query = request.scope.get("query_string", b"")
    url = f"{request.base_url[:-1]}{path}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def counting(monitor: Monitor, scope: Scope, send: Send) -> Send:
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
