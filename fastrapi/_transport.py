"""The one small interface between the pump and a transport (our own server, or ASGI).

A transport carries one WebSocket connection. It decodes what the peer sent into whole messages
and the peer's close, and encodes our messages, pings and close into *units* (frame bytes on our
own server, ASGI message dicts on an ASGI server) that the pump queues and writes in order. It
never sees the handler, and it never decides what to send or when: the pump does.

Reading is split in two, so that whichever task holds the pump's reader role can call it:
:meth:`Transport.next_event` hands out what was already decoded, without waiting;
:meth:`Transport.fill` waits for the next bytes and decodes them. Only one task at a time reads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import trio

    from ._attendant import Attendant


@dataclass(frozen=True, slots=True)
class Close:
    """A close: the peer's (from :meth:`Transport.next_event`), or the end of the stream (1006)."""

    code: int
    reason: str = ""
    failed: bool = field(default=False, compare=False)
    """We failed the connection (a protocol error, a message too big): the peer may still be
    sending, so its bytes are read and dropped before the connection is closed."""
    answer: Unit | None = field(default=None, compare=False, repr=False)
    """Our close for a failure, held back behind the messages read before it: whoever reads
    this ``Close`` writes it then, so the answers to those messages go out first."""


@dataclass(frozen=True, slots=True)
class Reject:
    """A refusal of the opening handshake with an HTTP ``status``, extra ``headers`` and a
    ``body`` (the handler closed before accepting, or failed)."""

    status: int
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""


Data: TypeAlias = str | bytes
"""A whole message: ``str`` for a text message, ``bytes`` for a binary one."""

Unit: TypeAlias = Any
"""What a transport writes: frame bytes (native) or an ASGI message dict; opaque to the pump."""


class DecodedEvents:
    """The decoded events a transport hands out one by one: its ``next_event``/``has_events``."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: deque[Data | Close] | None = None  # made on the first event

    def next_event(self) -> Data | Close | None:
        events = self._events
        return events.popleft() if events else None

    def _event(self, event: Data | Close) -> None:
        if self._events is None:
            self._events = deque()
        self._events.append(event)

    def has_events(self) -> bool:
        return bool(self._events)

    def pending_close(self) -> Close | None:
        events = self._events
        return events[-1] if events and isinstance(events[-1], Close) else None


class Transport(Protocol):
    """What the pump needs from whatever carries the connection."""

    @property
    def can_ping(self) -> bool:
        """Whether pings work (our own server: yes; ASGI: no)."""

    @property
    def attendant(self) -> Attendant | None:
        """The server-wide task that runs this connection's timers (``None``: the pump runs its
        own, as on ASGI)."""

    @property
    def inline_reads(self) -> bool:
        """Whether :meth:`fill` may run in the handler's own task: :meth:`interrupt` can wake
        it there without a cancel scope (a plain socket)."""

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        """Complete the opening handshake."""

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        """Refuse the opening handshake with an HTTP ``status``, ``headers`` and ``body``."""

    def bind(self, answer: Callable[[Unit], None], on_end: Callable[[int, str], None]) -> None:
        """Give the transport the pump's ways to queue what the protocol answers on its own
        (pongs, the echo of a close) and to end the connection from outside (shutdown)."""

    def next_event(self) -> Data | Close | None:
        """The next decoded message or close, if one is waiting; never waits.

        A ``Close`` is the last event: the peer's close, a protocol failure (sent already), or
        the end of the stream (1006).
        """

    def has_events(self) -> bool:
        """Whether :meth:`next_event` has something."""

    def pending_close(self) -> Close | None:
        """The ``Close`` that :meth:`next_event` will hand out last, if it was read already
        (behind messages not handed out yet); never waits."""

    async def fill(self) -> None:
        """Wait for the peer's next bytes and decode them for :meth:`next_event`.

        Returns early, with nothing new, when :meth:`interrupt` is called. Cancel-safe: a
        cancelled wait has read nothing.
        """

    async def linger(self) -> None:
        """After we failed the connection: close our direction of the stream (where it can be
        half-closed), then read and drop what the peer still sends, until the end of the
        stream (closing with unread bytes would reset the connection and lose our close frame
        on the way). The caller bounds it, briefly."""

    def interrupt(self) -> None:
        """Wake a :meth:`fill` that waits in an inline read (see :attr:`inline_reads`)."""

    def encode(self, data: Data) -> Unit | None:
        """The unit of one message; ``None`` once our close was encoded (nothing more goes)."""

    def encode_utf8(self, payload: bytes) -> Unit | None:
        """:meth:`encode` of a text message given as its UTF-8 bytes (JSON from orjson)."""

    def encode_shared(self, frame: bytes, data: Data) -> Unit | None:
        """The unit of a message whose uncompressed frame was built once for many connections:
        ``frame`` itself where it fits this connection, else :meth:`encode` of ``data``."""

    def encode_close(self, code: int, reason: str) -> Unit | None:
        """The unit of our close; ``None`` if the protocol is closing already."""

    def ping(self, payload: bytes) -> tuple[Unit, trio.Event]:
        """The unit of a ping, and the event its pong (or the end of reading) sets.

        Raises:
            NotImplementedError: the transport has no pings (ASGI).
            trio.BrokenResourceError: the connection is closing: no pong can come.
        """

    def pong_came(self, payload: bytes) -> float | None:
        """When (``trio.current_time()``) the pong of the ping with ``payload`` came; ``None``
        if it did not (or reading ended before it)."""

    def write_nowait(self, unit: Unit) -> int:
        """Write ``unit`` at once if the kernel takes it: the number of bytes written (all, some
        or 0); ``-1`` where units go only through :meth:`write` (TLS, ASGI).

        Raises:
            trio.BrokenResourceError: the connection is gone (its argument: the ``Close``).
        """

    def unit_size(self, unit: Unit) -> int:
        """The size of ``unit`` in bytes, for batching."""

    def rest(self, unit: Unit, written: int) -> Unit:
        """What is left of ``unit`` after :meth:`write_nowait` wrote ``written`` bytes of it."""

    async def write(self, units: Sequence[Unit]) -> None:
        """Write these units, in order, within the server's ``send_timeout``.

        Raises:
            trio.BrokenResourceError: the connection is gone; its first argument is the
                ``Close`` that says why (1006 dropped, 1008 send timeout).
        """
