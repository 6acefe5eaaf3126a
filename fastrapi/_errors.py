"""The app's exception handlers: kept by exception class or HTTP status, found by the MRO of
what was raised, and called with the Request (HTTP) or the WebSocket and the exception.

Lookup follows Starlette's, which FastAPI uses: for an :class:`HTTPException`, a handler of its
status first; then the handler of the nearest class in the exception's MRO, where the built-in
answers (``HTTPException``, the validation errors, ``WebSocketException``) count as handlers, so
a handler for ``Exception`` never takes an ``HTTPException``. ``Exception`` and ``500`` name the
server-error handler: on HTTP it answers what nothing else handled, outside the HTTP middleware,
and the error is still raised to the server (which logs it); on a WebSocket it is the last
class in every MRO. What a lookup found is cached per exception class; an app without handlers
never looks.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, final

import trio

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
    WebSocketException,
    WebSocketRequestValidationError,
)
from .responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from ._connection import HTTPConnection

logger: Final = logging.getLogger("fastrapi")

ExceptionHandler = Callable[[Any, Any], Any]
"""``handler(request_or_websocket, exc)``, ``def`` or ``async def``, returning a Response (or,
on a WebSocket, ``None`` after closing it)."""

_BUILT_IN: Final[frozenset[type[BaseException]]] = frozenset(
    {
        HTTPException,
        RequestValidationError,
        WebSocketRequestValidationError,
        WebSocketException,
        WebSocketDisconnect,
    }
)
"""Classes with an answer of their own: a lookup that reaches one stops there."""


@final
@dataclass(frozen=True, slots=True)
class _Entry:
    handler: ExceptionHandler
    is_async: bool


def _key(key: object) -> int | type[BaseException]:
    """``key`` as the table keeps it.

    Starlette's ``HTTPException`` (``from starlette.exceptions import HTTPException``, as
    FastAPI's tutorials write it) means fastrapi's: FastAPI's is a subclass of Starlette's, so
    a handler for it gets every HTTP error there.

    Raises:
        TypeError: ``key`` is neither an exception class nor an ``int``.
        ValueError: ``key`` is an ``int`` that is not an HTTP error status (400-599).
    """
    if isinstance(key, int) and not isinstance(key, bool):
        if not 400 <= key <= 599:
            raise ValueError(f"exception handler status must be 400-599, not {key}")
        return key
    if isinstance(key, type) and issubclass(key, BaseException):
        if (key.__module__, key.__qualname__) == ("starlette.exceptions", "HTTPException"):
            return HTTPException
        return key
    raise TypeError(f"exception handler key must be an exception class or a status, not {key!r}")


def _is_async(handler: ExceptionHandler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004  # an object with an async __call__
    )


@final
class ExceptionHandlers:
    """One app's handlers; see the module docstring."""

    __slots__ = ("_by_class", "_by_status", "_cache", "server_error")

    def __init__(self) -> None:
        self._by_class: dict[type[BaseException], _Entry] = {}
        self._by_status: dict[int, _Entry] = {}
        self._cache: dict[tuple[type[BaseException], bool], _Entry | None] = {}
        self.server_error: _Entry | None = None
        """The handler of ``Exception`` or ``500``, if one was registered (the last wins)."""

    def __bool__(self) -> bool:
        return bool(self._by_class or self._by_status or self.server_error)

    def add(self, key: object, handler: ExceptionHandler) -> None:
        """Register ``handler`` for an exception class or an HTTP status (``key``).

        Raises:
            TypeError: ``key`` is neither, or ``handler`` is not callable.
            ValueError: ``key`` is a status outside 400-599.
        """
        if not callable(handler):
            raise TypeError(f"exception handler must be callable, not {handler!r}")
        entry = _Entry(handler, _is_async(handler))
        resolved = _key(key)
        if resolved in (500, Exception):
            self.server_error = entry
        elif isinstance(resolved, int):
            self._by_status[resolved] = entry
        else:
            self._by_class[resolved] = entry
        self._cache.clear()

    def lookup(self, exc: BaseException, *, websocket: bool = False) -> _Entry | None:
        """The handler registered for ``exc``, or ``None`` for the built-in answer.

        On a WebSocket (``websocket``), the server-error handler is the last one looked at.
        """
        if self._by_status and isinstance(exc, HTTPException):
            found = self._by_status.get(exc.status_code)
            if found is not None:
                return found
        kind = type(exc)
        try:
            return self._cache[kind, websocket]
        except KeyError:
            pass
        entry: _Entry | None = None
        for klass in kind.__mro__:
            entry = self._by_class.get(klass)
            if entry is not None or klass in _BUILT_IN:
                break
        else:
            if websocket and not isinstance(exc, WebSocketDisconnect):
                entry = self.server_error
        self._cache[kind, websocket] = entry
        return entry


async def call(
    entry: _Entry, connection: HTTPConnection, exc: BaseException, limiter: trio.CapacityLimiter
) -> object:
    """What ``entry``'s handler returns for ``exc``; a ``def`` one runs in a worker thread."""
    if entry.is_async:
        result = entry.handler(connection, exc)
    else:
        result = await trio.to_thread.run_sync(entry.handler, connection, exc, limiter=limiter)
    if inspect.isawaitable(result):
        result = await result
    return result


def checked(entry: _Entry, result: object) -> Response:
    """``result`` if it is a Response.

    Raises:
        TypeError: it is not.
    """
    if not isinstance(result, Response):
        raise TypeError(
            f"exception handler {getattr(entry.handler, '__qualname__', entry.handler)!r} "
            f"returned {result!r}, not a Response"
        )
    return result


async def http_response(
    handlers: ExceptionHandlers,
    request: HTTPConnection,
    exc: Exception,
    limiter: trio.CapacityLimiter,
) -> Response:
    """The answer to what an HTTP route (or its dependency) raised: its handler's response, or
    the built-in one for an ``HTTPException``, ``RequestValidationError`` or
    ``HubUnavailable`` (503 with ``Retry-After``).

    Raises:
        Exception: ``exc``, when nothing answers it (the server-error path takes it), or what
            the handler raised.
    """
    entry = handlers.lookup(exc) if handlers else None
    if entry is not None:
        return checked(entry, await call(entry, request, exc, limiter))
    if isinstance(exc, HTTPException):
        return http_exception_response(exc)
    if isinstance(exc, RequestValidationError):
        return validation_error_response(exc.errors(), 422)
    if isinstance(exc, HubUnavailable):
        return hub_unavailable_response(exc)
    raise exc


async def server_error_response(
    handlers: ExceptionHandlers,
    request: HTTPConnection,
    exc: Exception,
    limiter: trio.CapacityLimiter,
) -> Response:
    """The 500 for an error nothing else answered: the server-error handler's response, or
    ``Internal Server Error`` in plain text (also when that handler fails, which is logged)."""
    entry = handlers.server_error
    if entry is not None:
        try:
            return checked(entry, await call(entry, request, exc, limiter))
        except Exception as failure:
            logger.error("the exception handler for 500 failed", exc_info=failure)
    return PlainTextResponse("Internal Server Error", 500)
