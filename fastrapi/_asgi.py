"""The ASGI transport: one WebSocket connection carried by an ASGI server (Hypercorn, say).

The ASGI server owns the frames; this adapter turns ASGI messages into the pump's
:class:`~fastrapi._transport.Transport` calls and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import trio

from ._closecodes import CloseCode
from ._transport import Close, Data, DecodedEvents

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._transport import Unit
    from ._types import Message, Receive, Scope, Send

_HTTP_RESPONSE = "websocket.http.response"


@final
class ASGITransport(DecodedEvents):
    """A :class:`~fastrapi._transport.Transport` over ASGI ``receive`` and ``send``."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._asgi_send = send
        super().__init__()
        self._closed = False  # our websocket.close is encoded: nothing more goes

    async def _send(self, message: Message) -> None:
        try:
            await self._asgi_send(message)
        except (OSError, trio.BusyResourceError) as exc:
            # A server's sign that the connection is gone: an OSError, as ASGI asks, or from
            # Hypercorn 0.18 a BusyResourceError when the client's close crosses ours.
            raise trio.BrokenResourceError("the connection is gone") from exc

    can_ping: Final = False  # ASGI has no ping; Hypercorn answers the client's own
    attendant: Final = None  # the pump runs its own timers here
    inline_reads: Final = False

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

    def bind(self, answer: Callable[[Unit], None], on_end: Callable[[int, str], None]) -> None:
        pass  # the ASGI server answers pings itself and says when the connection ends

    async def fill(self) -> None:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                self._event(text if text is not None else bytes(message.get("bytes") or b""))
                return
            if kind == "websocket.disconnect":
                code = int(message.get("code", CloseCode.NO_STATUS_RCVD))
                self._event(Close(code, message.get("reason") or ""))
                return
            # anything else (a late websocket.connect) carries nothing for the handler

    async def linger(self) -> None:
        pass  # the ASGI server owns the stream

    def interrupt(self) -> None:
        pass  # never called: no inline reads here (the reader task's scope is cancelled)

    def encode(self, data: Data) -> Message | None:
        if self._closed:
            return None
        if isinstance(data, str):
            return {"type": "websocket.send", "text": data}
        return {"type": "websocket.send", "bytes": data}

    def encode_utf8(self, payload: bytes) -> Message | None:
        return self.encode(payload.decode())

    def encode_shared(self, frame: bytes, data: Data) -> Message | None:
        return self.encode(data)  # the ASGI server builds its own frames

    def encode_close(self, code: int, reason: str) -> Message | None:
        if self._closed:
            return None
        self._closed = True
        return {"type": "websocket.close", "code": code, "reason": reason}

    def ping(self, payload: bytes) -> tuple[Unit, trio.Event]:
        raise NotImplementedError("ASGI has no WebSocket ping; serve with server='native'")

    def pong_came(self, payload: bytes) -> float | None:
        return None  # never pinged

    def write_nowait(self, unit: Unit) -> int:
        return -1  # the server's send is its own: always through the writer task

    def unit_size(self, unit: Unit) -> int:
        return len(unit.get("text") or unit.get("bytes") or b"")

    def rest(self, unit: Unit, written: int) -> Unit:
        raise NotImplementedError  # never called: write_nowait() writes nothing

    async def write(self, units: Sequence[Unit]) -> None:
        for message in units:
            await self._send(message)
