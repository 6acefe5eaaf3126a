"""The one small interface between the pump and a transport (ASGI today, our own server next).

A transport carries one WebSocket connection: it hands the pump whole messages and the peer's
close, and takes whole messages and our close. It never sees the handler. Only the pump's reader
calls :meth:`Transport.receive`; only its writer calls :meth:`Transport.send` and
:meth:`Transport.close`; :meth:`Transport.accept` and :meth:`Transport.reject` happen before the
writer has anything to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


@dataclass(frozen=True, slots=True)
class Close:
    """A close: the peer's (from :meth:`Transport.receive`) or ours (to :meth:`Transport.close`)."""

    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerClose:
    """From :meth:`Transport.receive`: the server is ending the connection (shutting down)."""

    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reject:
    """A refusal of the opening handshake with an HTTP ``status``, extra ``headers`` and a
    ``body`` (the handler closed before accepting, or failed)."""

    status: int
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""


Data: TypeAlias = str | bytes
"""A whole message: ``str`` for a text message, ``bytes`` for a binary one."""


class Transport(Protocol):
    """What the pump needs from whatever carries the connection."""

    @property
    def can_ping(self) -> bool:
        """Whether :meth:`ping` works (our own server: yes; ASGI: no)."""

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        """Complete the opening handshake."""

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        """Refuse the opening handshake with an HTTP ``status``, ``headers`` and ``body``."""

    async def receive(self) -> Data | Close | ServerClose:
        """Wait for the next message, or for the end of the connection.

        A ``Close`` is the peer's close, or the end of the stream (1006): nothing is to be sent
        after it. A ``ServerClose`` asks the connection to close itself with its code.
        """

    def watch(self, on_end: Callable[[Close | ServerClose], None]) -> None:
        """Have ``on_end`` called if the connection ends while the reader may be waiting: the
        server shuts down (a ``ServerClose``), or a write found the connection broken (a
        ``Close``). The pump stops its reader there, without a cancel scope per read."""

    async def send(self, messages: Sequence[Data]) -> None:
        """Send these messages, in order (the writer's batch: one write where it can)."""

    def ready_to_write(self, size: int) -> bool:
        """Whether a message of about ``size`` could be written at once, without waiting."""

    async def write_now(self, data: Data, *, schedule: bool) -> None:
        """Send one message from the handler's own task (after :meth:`ready_to_write`).

        Cancel-safe: a cancel at its start sends nothing; once the message is encoded, it goes
        out whole. It is a schedule point (lets other tasks run) only if ``schedule``: the
        caller may skip that when its task has just yielded anyway.
        """

    async def close(self, code: int, reason: str) -> None:
        """Send our close frame."""

    async def ping(self, payload: bytes) -> None:
        """Send a ping and wait for its pong.

        Raises:
            NotImplementedError: the transport has no pings (ASGI).
        """
