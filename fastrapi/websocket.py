"""The WebSocket object a handler gets, its states and close codes.

A handler talks only to :class:`WebSocket`; the WebSocket talks only to the pump's
:class:`~fastrapi._pump.Connection` (its reader and writer roles and their bounded queues) and,
to accept, to the transport. See ``_pump.py`` for what runs behind it.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, final, overload

import orjson
import pydantic
import trio
import typing_extensions

from ._closecodes import CloseCode
from ._connection import HTTPConnection
from ._json import check_finite, dumps
from ._params import validation_errors
from ._state import WebSocketState
from .exceptions import MessageDecodeError, MessageTypeError, WebSocketDisconnect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from ._dependencies import Solver
    from ._pump import Connection
    from ._types import Scope

__all__ = ["CloseCode", "WebSocket", "WebSocketState", "websocket"]

T = TypeVar("T")
In = typing_extensions.TypeVar("In", default=Any)
"""What the peer sends (the route's ``receives=``): ``WebSocket[In, Out]``."""
Out = typing_extensions.TypeVar("Out", default=Any)
"""What the handler sends (the route's ``sends=``)."""

# Close codes after which iter_text() and friends end quietly instead of raising.
_NORMAL_END: Final = frozenset(
    {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD}
)


@final
@dataclass(frozen=True, slots=True)
class MessageTypes:
    """A route's declared message types (``receives=``, ``sends=``), made once per route."""

    receives: pydantic.TypeAdapter[Any] | None
    receives_name: str
    sends: pydantic.TypeAdapter[Any] | None
    sends_name: str
    checks_sends: bool = True
    """Whether :meth:`WebSocket.send_json` checks what it sends: against ``sends`` if declared,
    and for floats JSON cannot carry (the app's ``validate_sends``)."""

    @classmethod
    def of(cls, receives: object, sends: object) -> MessageTypes | None:
        """The adapters of ``receives`` and ``sends`` (``None`` for neither).

        Raises:
            pydantic.PydanticSchemaGenerationError: a type pydantic cannot validate.
        """
        if receives is None and sends is None:
            return None
        return cls(
            _adapter(receives) if receives is not None else None,
            _type_name(receives),
            _adapter(sends) if sends is not None else None,
            _type_name(sends),
        )

    def receiving_only(self) -> MessageTypes:
        """These types with sends left unchecked (an app that does not validate sends)."""
        return MessageTypes(self.receives, self.receives_name, None, self.sends_name, False)

    def checked_json(self, data: object) -> bytes:
        """``data`` as JSON, once it is a valid ``sends`` (if declared) and has no float that
        JSON cannot carry.

        Raises:
            TypeError: ``data`` is not a valid ``sends``, or cannot be serialised.
            ValueError: ``data`` holds a NaN or an infinity.
        """
        if self.sends is not None:
            try:
                self.sends.validate_python(data)
            except pydantic.ValidationError as exc:
                raise TypeError(
                    f"send_json() got data that is not a valid {self.sends_name}: "
                    + "; ".join(f"{_where(e['loc'])}{e['msg']}" for e in exc.errors())
                ) from None
        payload = dumps(data)
        check_finite(payload, data, "send_json()")
        return payload


CHECKED_SENDS: Final = MessageTypes(None, "", None, "")
"""What a route without declared message types checks, where the app validates sends."""


@final
class WebSocket(HTTPConnection, Generic[In, Out]):
    """One WebSocket connection, as its handler sees it.

    ``WebSocket[In, Out]`` tells type checkers what the route's messages are: what
    :meth:`receive_json` and :meth:`iter_json` return without a type (``In``, the route's
    ``receives=``) and what :meth:`send_json` takes (``Out``, its ``sends=``). A bare
    ``WebSocket`` is ``WebSocket[Any, Any]``. The parameters cost nothing at run time.

    Receives wait for the next message of the peer; sends wait only while the outbound queue is
    full (the peer is reading slower than the handler writes). All of them may be cancelled: a
    cancelled receive loses no message, a cancelled send sends nothing. Once the connection has
    ended, every send raises :class:`~fastrapi.WebSocketDisconnect`, and every receive does once
    the messages that arrived before the end have been read.

    Created by fastrapi for each connection; never construct one yourself.
    """

    _default_subprotocol: str | None = None
    """What ``accept()`` without a subprotocol answers: set by a security scheme that read the
    client's token from its subprotocols (``fastrapi.security.utils.bearer_authorization``)."""

    _solver: Solver | None = None

    _messages: MessageTypes | None = None
    """The route's declared message types, if it has any (set when the connection is made)."""
    """The solver of the handler's dependencies, if it has any (their cleanups run before
    an exception handler answers the handler's error)."""

    def __init__(
        self,
        scope: Scope,
        path_params: dict[str, object],
        *,
        connection: Connection,
    ) -> None:
        super().__init__(scope, path_params)
        self._conn = connection
        self._session = connection.session

    def __repr__(self) -> str:
        return f"<WebSocket {self._scope['path']} client={self.client} {self.client_state.name}>"

    # -- state ---------------------------------------------------------------------------------

    @property
    def client_state(self) -> WebSocketState:
        """``CONNECTED`` (1) while the peer may still be heard from, ``DISCONNECTED`` (3) after.

        It stays ``CONNECTED`` while messages that arrived before the peer closed are unread,
        so ``while ws.client_state == 1`` loses none. ``CONNECTING`` (0) before ``accept()``.
        """
        session = self._session
        if session.application_state is WebSocketState.CONNECTING and session.ended is None:
            return WebSocketState.CONNECTING
        if session.ended is not None and not self._conn.unread():
            return WebSocketState.DISCONNECTED
        return WebSocketState.CONNECTED

    @property
    def application_state(self) -> WebSocketState:
        """What this side did: ``CONNECTING``, ``CONNECTED`` after ``accept()``, ``CLOSING`` once
        ``close()`` is queued, ``DISCONNECTED`` once the close (or refusal) is sent."""
        return self._session.application_state

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self._scope.get("subprotocols", ()))

    # -- handshake -----------------------------------------------------------------------------

    async def accept(
        self, subprotocol: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Accept the connection; call it before any send or receive.

        Args:
            subprotocol: One of :attr:`subprotocols`, to tell the client which one we speak
                (by default none, or ``bearer`` when a security scheme took the client's token
                from its subprotocols: see :doc:`security`).
            headers: Extra response headers for the handshake.

        Raises:
            WebSocketStateError: ``accept()`` was called already, or after ``close()``.
            WebSocketDisconnect: the client left before the handshake completed.
            ValueError: ``subprotocol`` is not one the client offered.
        """
        if subprotocol is None:
            subprotocol = self._default_subprotocol
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {', '.join(self.subprotocols) or 'none'})"
            )
        self._session.accept()
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        try:
            await self._conn.transport.accept(subprotocol, raw)
        except trio.BrokenResourceError as exc:  # the client left during the handshake
            self._session.on_broken(exc.args[0] if exc.args else None)
            raise self._session.disconnect() from None
        self._conn.opened()

    # -- receiving ----------------------------------------------------------------------------

    def receive(self) -> Awaitable[str | bytes]:
        """Wait for the next message: ``str`` if the peer sent text, ``bytes`` if binary
        (``await`` it; it is not a coroutine of its own, for one frame less parked per waiting
        connection).

        Raises:
            WebSocketDisconnect: the connection has ended and every earlier message was read.
            WebSocketStateError: before ``accept()`` or after ``close()``.
        """
        return self._receive("receive")

    def _receive(self, method: str) -> Awaitable[str | bytes]:
        self._session.check_receive(method)
        return self._conn.receive()

    async def receive_text(self) -> str:
        """Wait for the next message, which must be text.

        Raises:
            MessageTypeError: a binary message arrived (it is consumed; the connection stays).
            WebSocketDisconnect: as :meth:`receive`.
        """
        message = await self._receive("receive_text")
        if not isinstance(message, str):
            raise MessageTypeError(
                f"receive_text() got a binary message ({len(message)} bytes); "
                "use receive_bytes() or receive() for binary data"
            )
        return message

    async def receive_bytes(self) -> bytes:
        """Wait for the next message, which must be binary.

        Raises:
            MessageTypeError: a text message arrived (it is consumed; the connection stays).
            WebSocketDisconnect: as :meth:`receive`.
        """
        message = await self._receive("receive_bytes")
        if not isinstance(message, bytes):
            raise MessageTypeError(
                f"receive_bytes() got a text message ({len(message)} characters); "
                "use receive_text() or receive() for text"
            )
        return message

    @overload
    async def receive_json(self) -> In: ...
    @overload
    async def receive_json(self, type: type[T]) -> T: ...
    @overload
    async def receive_json(self, type: object) -> Any: ...
    async def receive_json(self, type: object = None) -> Any:
        """Wait for the next message (text or binary) and parse it as JSON; with ``type`` (a
        pydantic model, or anything pydantic's ``TypeAdapter`` takes: ``list[int]``, a
        dataclass, a ``TypedDict``...), validate it into that type. Without ``type``, a route
        declared with ``receives=`` validates into that.

        Raises:
            MessageDecodeError: the message is not valid JSON, or does not validate (a
                :class:`ValueError` with pydantic's ``errors``; the message is consumed and
                the connection stays usable).
            WebSocketDisconnect: as :meth:`receive`.
        """
        message = await self._receive("receive_json")
        if type is not None:
            adapter, name = _adapter(type), _type_name(type)
        elif self._messages is not None and self._messages.receives is not None:
            adapter, name = self._messages.receives, self._messages.receives_name
        else:
            try:
                return orjson.loads(message)
            except orjson.JSONDecodeError as exc:
                raise MessageDecodeError(f"receive_json() got invalid JSON: {exc}") from None
        try:
            return adapter.validate_json(message)
        except pydantic.ValidationError as exc:
            raise MessageDecodeError(
                f"receive_json() got data that is not a valid {name}: "
                + "; ".join(f"{_where(e['loc'])}{e['msg']}" for e in exc.errors()),
                validation_errors(exc),
            ) from None

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the peer closes normally (1000, 1001 or no code).

        Any other end raises :class:`~fastrapi.WebSocketDisconnect` with its code.
        """
        while (message := await self._next_or_end(self.receive_text)) is not None:
            yield message

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary messages until the peer closes normally; see :meth:`iter_text`."""
        while (message := await self._next_or_end(self.receive_bytes)) is not None:
            yield message

    @overload
    def iter_json(self) -> AsyncIterator[In]: ...
    @overload
    def iter_json(self, type: type[T]) -> AsyncIterator[T]: ...
    @overload
    def iter_json(self, type: object) -> AsyncIterator[Any]: ...
    async def iter_json(self, type: object = None) -> AsyncIterator[Any]:
        """Yield parsed JSON messages (validated into ``type`` if given, as
        :meth:`receive_json`) until the peer closes normally; see :meth:`iter_text`.

        Raises:
            MessageDecodeError: as :meth:`receive_json`; iterate again to go on.
        """
        receive = partial(self._receive_json_boxed, type)
        while (message := await self._next_or_end(receive)) is not None:
            yield message[0]

    async def _receive_json_boxed(self, type: object) -> tuple[object]:
        return (await self.receive_json(type),)  # boxed: JSON null must not end the iteration

    @staticmethod
    async def _next_or_end(receive: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await receive()
        except WebSocketDisconnect as exc:
            if exc.code in _NORMAL_END:
                return None
            raise

    # -- sending ------------------------------------------------------------------------------

    async def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send ``data``: a text message for ``str``, a binary one for bytes.

        Waits only while the outbound queue is full.

        Raises:
            WebSocketDisconnect: the connection has ended.
            WebSocketStateError: before ``accept()`` or after ``close()``.
            TypeError: ``data`` is neither ``str`` nor bytes.
        """
        await self._put("send", data if isinstance(data, str) else _binary("send", data))

    async def send_text(self, data: str) -> None:
        """Send a text message; see :meth:`send`."""
        if not isinstance(data, str):
            raise TypeError(f"send_text() takes str, not {type(data).__name__}")
        await self._put("send_text", data)

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary message; see :meth:`send`."""
        await self._put("send_bytes", _binary("send_bytes", data))

    async def send_json(self, data: Out) -> None:
        """Send ``data`` as JSON in a text message; see :meth:`send`. Pydantic models, also
        inside lists and dicts, are sent as their JSON form.

        Where the app validates sends (:class:`~fastrapi.FastrAPI`'s ``validate_sends``: in
        tests, by default), ``data`` is checked first: against the route's ``sends=`` type, if
        declared, and for floats JSON has no number for (NaN, Infinity, -Infinity). Elsewhere
        such a float is sent as ``null``, as orjson and JavaScript's ``JSON.stringify`` write
        it (telling that ``null`` from ``None``'s would cost a walk of every message with a
        ``null``).

        Raises:
            TypeError: ``data`` cannot be serialised, or is not of the route's ``sends`` type;
                nothing was sent.
            ValueError: where sends are validated, ``data`` holds a NaN or an infinity; nothing
                was sent.
        """
        messages = self._messages
        payload = (
            dumps(data)
            if messages is None or not messages.checks_sends
            else messages.checked_json(data)
        )
        self._session.check_send("send_json")
        await self._conn.send(payload, utf8_text=True)  # no round trip through str

    def _put(self, method: str, item: str | bytes) -> Awaitable[None]:
        self._session.check_send(method)
        return self._conn.send(item)

    def _offer(self, frame: bytes, data: str | bytes, on_sent: Callable[[], None]) -> bool:
        """Queue one message built once for many connections, without ever waiting (the Hub).

        ``frame`` is the message's unmasked server frame, sent as is unless this connection
        negotiated an extension or runs over ASGI (then ``data`` is encoded here). The message
        goes out after everything sent before and before what is sent after; it is never
        refused for queue length (the Hub keeps its own budget). Returns ``False`` (nothing
        queued, ``on_sent`` never called) if the connection is not accepted yet, is closing or
        has ended; otherwise ``on_sent()`` is called exactly once, when the frame is written or
        when the connection ended with it unsent.
        """
        return self._conn.offer(frame, data, on_sent)

    def _terminate(self, code: int, reason: str) -> None:
        """End the connection from outside its handler without waiting: our close with
        ``code`` and ``reason`` goes after what is queued, and the handler's receives and sends
        raise ``WebSocketDisconnect(code, reason)``."""
        self._conn.end(code, reason)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a protocol ping and wait for the peer's pong.

        The server already pings on its own every ``ping_interval``; this is for a handler
        that wants to measure, or be sure of, the peer's liveness now. Cancel it (a cancel
        scope) to bound the wait.

        Raises:
            WebSocketDisconnect: the connection ended before the pong came: the peer's code
                and reason if it closed (even with messages it sent before its close still
                to be read: they are, before the close), 1006 if the connection dropped.
            WebSocketStateError: before ``accept()`` or after ``close()``.
            ValueError: ``payload`` is over 125 bytes.
            NotImplementedError: the app is served over ASGI (Hypercorn), which has no pings.
        """
        if len(payload) > 125:
            raise ValueError(f"a ping payload is at most 125 bytes, not {len(payload)}")
        self._session.check_send("ping")
        await self._conn.ping(bytes(payload))

    # -- closing ------------------------------------------------------------------------------

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason``, after the messages already sent.

        Before ``accept()``, this refuses the handshake (HTTP 403). Closing again, or after the
        peer closed, does nothing.

        Raises:
            ValueError: ``code`` may not be sent (1000-1003, 1007-1014 and 3000-4999 may), or
                ``reason`` is over 123 bytes in UTF-8.
        """
        await self._conn.close(code, reason)


@functools.lru_cache(maxsize=256)
def _adapter(type: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(type)


def _type_name(type: object) -> str:
    if typing.get_origin(type) in (typing.Union, types.UnionType):
        return " | ".join(map(_type_name, typing.get_args(type)))
    if typing.get_origin(type) is None and hasattr(type, "__name__"):
        return str(type.__name__)
    return repr(type).replace("typing.", "")  # list[int], Annotated[...]


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(map(str, loc)) + ": " if loc else ""


def _binary(method: str, data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"{method}() takes str or bytes, not {type(data).__name__}")


websocket: Final = WebSocket
"""The name FastrAPI's docs import (``from fastrapi.websocket import websocket``)."""
