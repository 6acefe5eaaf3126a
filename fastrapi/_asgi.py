"""The ASGI transport: one WebSocket connection carried by an ASGI server (Hypercorn, say).

The ASGI server owns the frames; this adapter turns ASGI messages into the pump's
:class:`~fastrapi._transport.Transport` calls and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import trio

from ._closecodes import CloseCode
from ._transport import Close, Data

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._transport import ServerClose
    from ._types import Message, Receive, Scope, Send

_HTTP_RESPONSE = "websocket.http.response"


@final
class ASGITransport:
    """A :class:`~fastrapi._transport.Transport` over ASGI ``receive`` and ``send``."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._asgi_send = send

    async def _send(self, message: Message) -> None:
        try:
            await self._asgi_send(message)
        except (OSError, trio.BusyResourceError) as exc:
            # A server's sign that the connection is gone: an OSError, as ASGI asks, or from
            # Hypercorn 0.18 a BusyResourceError when the client's close crosses ours.
            raise trio.BrokenResourceError("the connection is gone") from exc

    can_ping: Final = False  # ASGI has no ping; Hypercorn answers the client's own

    async def wait_connect(self) -> bool:
        """Take the ``websocket.connect`` message; ``False`` if the client left first."""
        message = await self._receive()
        return bool(message["type"] == "websocket.connect")

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        await self._send(
            {"type": "websocket.accept", "subprotocol": subprotocol, "headers": list(headers)}
        )

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        if _HTTP_RESPONSE in (self._scope.get("extensions") or {}):
            head = [*headers, (b"content-length", str(len(body)).encode())]
            await self._send(
                {"type": "websocket.http.response.start", "status": status, "headers": head}
            )
            await self._send({"type": "websocket.http.response.body", "body": body})
        else:  # an ASGI server without the extension: a close before accept is an HTTP 403
            await self._send({"type": "websocket.close", "code": CloseCode.POLICY_VIOLATION})

    async def receive(self) -> Data | Close:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                return text if text is not None else bytes(message.get("bytes") or b"")
            if kind == "websocket.disconnect":
                return Close(
                    int(message.get("code", CloseCode.NO_STATUS_RCVD)), message.get("reason") or ""
                )
            # anything else (a late websocket.connect) carries nothing for the handler

    async def send(self, messages: Sequence[Data]) -> None:
        for data in messages:
            if isinstance(data, str):
                await self._send({"type": "websocket.send", "text": data})
            else:
                await self._send({"type": "websocket.send", "bytes": data})

    def watch(self, on_end: Callable[[Close | ServerClose], None]) -> None:
        pass  # the ASGI server says when the connection ends: a websocket.disconnect

    def ready_to_write(self, size: int) -> bool:
        return False  # the server's send is its own: always through the writer task

    async def write_now(self, data: Data, *, schedule: bool) -> None:
        raise NotImplementedError  # never called: ready_to_write() is False

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def ping(self, payload: bytes) -> None:
        raise NotImplementedError("ASGI has no WebSocket ping; serve with server='native'")
