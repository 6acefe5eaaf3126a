"""ASGI over the native server's WebSocket transport, for an ASGI app in front of the routes.

The native server hands a WebSocket handshake to the app as a
:class:`~fastrapi._transport.Transport`, not as ASGI ``receive``/``send``. When an ASGI
middleware wraps the app, or a mounted ASGI app serves the path, they need ASGI calls:
:class:`NativeASGI` makes them over the transport. If the middleware passes those calls through
untouched (most do for WebSockets), the routes take the transport back
(:meth:`NativeASGI.hand_over`) and the session runs as fast as without middleware, pings
included; otherwise the session runs over the middleware's ASGI calls, as on Hypercorn.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, NamedTuple, final

import trio

from ._closecodes import CloseCode
from ._pump import FAIL_GRACE
from ._transport import Close

if TYPE_CHECKING:
    from ._transport import Transport, Unit
    from ._types import ErrorHandler, Message, Receive, Send
    from .app import WebSocketOptions

PASSAGE: Final = "fastrapi.passage"
"""The scope key of a :class:`Passage`: what the app's own entry learns from the server."""
HTTP_RESPONSE: Final = "websocket.http.response"


class Passage(NamedTuple):
    """What the server gave the app's entry point, carried through ASGI middleware in the scope
    to the routes (middleware keeps a scope's keys when it copies it)."""

    on_error: ErrorHandler
    defaults: WebSocketOptions | None
    bridge: NativeASGI | None
    """The native transport's ASGI calls, for a WebSocket on the native server."""


class _Phase(enum.Enum):
    CONNECTING = enum.auto()
    OPEN = enum.auto()
    CLOSED = enum.auto()  # refused, or our close sent
    HANDED_OVER = enum.auto()  # the routes took the transport back


@final
class NativeASGI:
    """ASGI ``receive``/``send`` for one WebSocket on the native server's transport.

    ``receive`` gives ``websocket.connect``, then the client's messages and its close
    (``websocket.disconnect``); ``send`` takes ``websocket.accept``, ``websocket.send``,
    ``websocket.close`` (before accept: a refusal with 403) and the ``websocket.http.response``
    extension (a refusal with the app's own status, headers and body).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._phase = _Phase.CONNECTING
        self._connected = False  # websocket.connect was handed out
        self._answers: list[Unit] = []  # pongs and the echo of a close, written on the next read
        self._peer_close: Close | None = None
        self._refusal: tuple[int, list[tuple[bytes, bytes]], list[bytes]] | None = None
        transport.bind(self._answers.append, self._end)

    def hand_over(self, receive: Receive, send: Send) -> bool:
        """Whether the routes may take the transport back: the app was handed these very calls,
        and nothing went through them yet. From then on they are not used."""
        if receive != self.receive or send != self.send:
            return False
        if self._connected or self._phase is not _Phase.CONNECTING:
            return False
        self._phase = _Phase.HANDED_OVER
        return True

    def _end(self, code: int, reason: str) -> None:
        """The server shuts down: queue our close and wake the read that waits, which writes
        it (on a plain socket; elsewhere the server's ``shutdown_timeout`` ends the wait)."""
        if self._phase is _Phase.OPEN:
            unit = self.transport.encode_close(code, reason)
            if unit is not None:
                self._answers.append(unit)
                self._phase = _Phase.CLOSED
                self.transport.interrupt()

    async def _write(self, units: list[Unit]) -> None:
        try:
            await self.transport.write(units)
        except trio.BrokenResourceError as exc:
            raise OSError("the WebSocket connection is gone") from exc  # ASGI's signal

    async def _flush(self) -> None:
        if self._answers:
            units, self._answers[:] = list(self._answers), []
            await self._write(units)

    async def receive(self) -> Message:
        """The next ASGI message from the client (waits for it)."""
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        if self._phase is _Phase.CONNECTING:
            raise RuntimeError("receive() before the WebSocket was accepted or refused")
        transport = self.transport
        while self._peer_close is None:
            await self._flush()
            event = transport.next_event()
            if event is None:
                await transport.fill()
            elif isinstance(event, Close):
                self._peer_close = event
                if event.answer is not None:  # our failure's close, after what came before it
                    self._answers.append(event.answer)
                await self._flush()  # the echo of the close
            elif isinstance(event, str):
                return {"type": "websocket.receive", "text": event}
            else:
                return {"type": "websocket.receive", "bytes": event}
        close = self._peer_close
        return {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}

    async def send(self, message: Message) -> None:
        """Carry out one ASGI message of the app.

        Raises:
            RuntimeError: a message out of place (a send before accept, a second accept).
            OSError: the connection is gone or closing.
        """
        kind = message["type"]
        transport = self.transport
        phase = self._phase
        if kind == "websocket.send" and phase is _Phase.OPEN:
            text = message.get("text")
            unit = transport.encode(text if text is not None else bytes(message.get("bytes", b"")))
            if unit is not None:
                await self._write([unit])
        elif kind == "websocket.accept" and phase is _Phase.CONNECTING:
            headers = list(message.get("headers") or [])
            await transport.accept(message.get("subprotocol"), headers)
            self._phase = _Phase.OPEN
        elif kind == "websocket.close" and phase is _Phase.CONNECTING:
            await self._reject(403, [], b"")
        elif kind == "websocket.close" and phase is _Phase.OPEN:
            self._phase = _Phase.CLOSED
            unit = transport.encode_close(
                int(message.get("code") or CloseCode.NORMAL_CLOSURE), message.get("reason") or ""
            )
            if unit is not None:
                await self._write([unit])
        elif kind == f"{HTTP_RESPONSE}.start" and phase is _Phase.CONNECTING:
            self._refusal = (int(message["status"]), list(message.get("headers") or []), [])
        elif kind == f"{HTTP_RESPONSE}.body" and self._refusal is not None:
            status, headers, body = self._refusal
            body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                await self._reject(status, headers, b"".join(body))
        elif kind == "websocket.close" and phase is _Phase.CLOSED:
            pass  # closing twice: nothing more to say
        elif kind == "websocket.send" and phase is _Phase.CLOSED:
            raise OSError("the WebSocket is closing")  # ASGI's signal: the peer is going
        else:
            raise RuntimeError(f"ASGI message {kind!r} out of place (WebSocket {phase.name})")

    async def _reject(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self._phase = _Phase.CLOSED
        self._refusal = None
        try:
            await self.transport.reject(status, headers, body)
        except trio.BrokenResourceError as exc:
            raise OSError("the WebSocket connection is gone") from exc

    async def finish(self, failed: bool, close_timeout: float) -> None:
        """The app returned (or raised, ``failed``): answer a handshake it left unanswered
        (500), close an open connection (1000, or 1011), and hear the client's close, within
        ``close_timeout``."""
        phase = self._phase
        if phase is _Phase.HANDED_OVER:
            return
        with trio.move_on_after(close_timeout):
            try:
                if phase is _Phase.CONNECTING or self._refusal is not None:
                    await self._reject(500, [], b"")
                    return
                if phase is _Phase.OPEN:
                    code = CloseCode.INTERNAL_ERROR if failed else CloseCode.NORMAL_CLOSURE
                    await self.send({"type": "websocket.close", "code": code})
                while self._peer_close is None:
                    message = await self.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                if self._peer_close is not None and self._peer_close.failed:
                    with trio.move_on_after(FAIL_GRACE):  # no close handshake after a failure
                        await self.transport.linger()
            except OSError:
                pass  # the client has gone: nothing more to say
