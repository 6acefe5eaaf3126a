"""What the middleware answers by itself: a small response to an HTTP request or a WebSocket
handshake."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._closecodes import CloseCode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._types import Scope, Send


async def answer(
    scope: Scope,
    send: Send,
    status: int,
    text: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with ``status``, ``text`` (``text/plain``) and ``headers``: a response to an HTTP
    request, or the refusal of a WebSocket handshake (an HTTP response where the server can send
    one, else a close before accept, which the server turns into a 403)."""
    body = text.encode()
    head = [
        *headers,
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": head})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": CloseCode.POLICY_VIOLATION})
