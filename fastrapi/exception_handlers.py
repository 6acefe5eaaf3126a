"""FastAPI's default exception handlers, to call from your own.

A handler of your own (``@app.exception_handler(HTTPException)``) replaces the default one; to
log and then answer as fastrapi would, await these from it::

    @app.exception_handler(HTTPException)
    async def logged(request, exc):
        logger.info("HTTP error %r", exc)
        return await http_exception_handler(request, exc)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .encoders import jsonable_encoder
from .responses import JSONResponse, Response
from .websocket import WebSocketState

if TYPE_CHECKING:
    from ._connection import HTTPConnection
    from .exceptions import (
        HTTPException,
        HubUnavailable,
        RequestValidationError,
        WebSocketRequestValidationError,
    )
    from .websocket import WebSocket

__all__ = [
    "http_exception_handler",
    "request_validation_exception_handler",
    "websocket_request_validation_exception_handler",
]


async def http_exception_handler(request: HTTPConnection, exc: HTTPException) -> Response:
    """``{"detail": exc.detail}`` with ``exc.status_code`` and ``exc.headers``; no body for a
    status that may not have one (1xx, 204, 205, 304)."""
    return http_exception_response(exc)


async def request_validation_exception_handler(
    request: HTTPConnection, exc: RequestValidationError
) -> JSONResponse:
    """422 with ``{"detail": exc.errors()}``, FastAPI's error JSON."""
    return validation_error_response(exc.errors(), 422)


async def websocket_request_validation_exception_handler(
    websocket: WebSocket, exc: WebSocketRequestValidationError
) -> Response | None:
    """Before ``accept()``, the refusal of the handshake: 403 with ``{"detail": exc.errors()}``
    (which a client can read, where FastAPI's close with 1008 before accepting leaves it a
    bare 403); after, a close with 1008 (policy violation) and the errors in short as reason.
    """
    if websocket.application_state is WebSocketState.CONNECTING:
        return validation_error_response(exc.errors(), 403)
    await websocket.close(1008, _truncated(exc.summary()))
    return None


def http_exception_response(exc: HTTPException) -> Response:
    """The default answer to ``exc``; see :func:`http_exception_handler`."""
    status = exc.status_code
    if status < 200 or status in (204, 205, 304):
        return Response(status_code=status, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status, headers=exc.headers)


def hub_unavailable_response(exc: HubUnavailable) -> JSONResponse:
    """The default answer to a :class:`~fastrapi.HubUnavailable` out of a route: ``503`` with
    ``{"detail": ...}`` and ``Retry-After`` (its ``retry_after``, in whole seconds, at least 1)."""
    retry_after = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse({"detail": str(exc)}, 503, headers={"retry-after": retry_after})


def validation_error_response(errors: object, status: int) -> JSONResponse:
    """``{"detail": errors}``, made JSON-safe as FastAPI does (bytes as text, and so on)."""
    return JSONResponse({"detail": jsonable_encoder(errors)}, status)


def _truncated(reason: str) -> str:
    """``reason`` cut to the 123 bytes a close frame can carry (RFC 6455 5.5)."""
    raw = reason.encode()
    if len(raw) <= 123:
        return reason
    return raw[:120].decode(errors="ignore") + "..."
