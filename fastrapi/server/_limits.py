"""The native server's connection caps: ``max_connections`` and ``max_connections_per_ip``.

A connection is counted from its accept to its close, HTTP keep-alive and WebSocket alike. One
past a cap is refused before any parsing or handler: the server waits (at most
``REFUSAL_TIME``) for the client's first bytes, the start of its request, then answers ``503``
(over ``max_connections``) or ``429`` (over ``max_connections_per_ip``) with ``Retry-After``,
half-closes, reads and discards what the client still sends until it closes (so that the close
is not a reset that could destroy the answer), and closes: ``REFUSAL_TIME`` bounds it all. A
client that sends nothing in that time is closed without an answer (a browser's speculative
connection, say; it opens another one when it has a request).

The refusal's own work is bounded too: at most ``MAX_REFUSING`` refusals are under way at once;
past that a refused connection is closed at once, unanswered, so a flood of connections over a
cap costs at most ``MAX_REFUSING`` descriptors and tasks more than the cap.

With neither cap set the server makes no :class:`ConnectionLimits` and counts nothing.
IPv4 clients are counted per address, IPv6 clients per ``/64`` (one host's usual share).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final, final

import trio

if TYPE_CHECKING:
    from .._monitor import Monitor
    from ..datastructures import Address

REFUSAL_TIME: Final = 1.0
"""Seconds a refused connection is given in all: to send its request's first bytes, take the
answer and close."""
MAX_REFUSING: Final = 256
"""Refusals under way at once; more refused connections are closed unanswered."""
RETRY_AFTER: Final = 1
"""Seconds, in the ``Retry-After`` of a refusal."""


def _refusal(status: bytes, detail: bytes) -> bytes:
    body = b'{"detail":"%s"}' % detail
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"retry-after: %d\r\nconnection: close\r\n\r\n%s" % (status, len(body), RETRY_AFTER, body)
    )


BUSY: Final = _refusal(b"503 Service Unavailable", b"too many open connections")
TOO_MANY_FROM_YOU: Final = _refusal(
    b"429 Too Many Requests", b"too many open connections from your address"
)


def client_key(host: str) -> str | bytes:
    """What ``max_connections_per_ip`` counts a client by: its IPv4 address, its IPv6 /64."""
    return ipaddress.IPv6Address(host).packed[:8] if ":" in host else host


@final
class ConnectionLimits:
    """The open connections of one server, against its caps."""

    __slots__ = ("_monitor", "_per_ip", "_refusing", "max_connections", "max_per_ip", "open")

    def __init__(
        self, max_connections: int | None, max_per_ip: int | None, monitor: Monitor
    ) -> None:
        self.max_connections = max_connections
        self.max_per_ip = max_per_ip
        self._monitor = monitor
        self.open = 0
        """Connections open now (counted only when a cap is set: this object exists)."""
        self._per_ip: dict[str | bytes, int] = {}
        self._refusing = 0

    def admit(self, client: Address | None) -> bytes | None:
        """Count a new connection in and return ``None``, or return its refusal (not counted)."""
        if self.max_connections is not None and self.open >= self.max_connections:
            self._monitor.refused(503)
            return BUSY
        if self.max_per_ip is not None and client is not None:
            key = client_key(client.host)
            count = self._per_ip.get(key, 0)
            if count >= self.max_per_ip:
                self._monitor.refused(429)
                return TOO_MANY_FROM_YOU
            self._per_ip[key] = count + 1
        self.open += 1
        return None

    def release(self, client: Address | None) -> None:
        """An admitted connection is over."""
        self.open -= 1
        if self.max_per_ip is not None and client is not None:
            key = client_key(client.host)
            count = self._per_ip[key] - 1
            if count:
                self._per_ip[key] = count
            else:
                del self._per_ip[key]

    async def refuse(self, stream: trio.abc.Stream, answer: bytes) -> None:
        """Answer a refused connection within ``REFUSAL_TIME`` (see the module's docstring);
        the caller closes it."""
        if self._refusing >= MAX_REFUSING:
            return
        self._refusing += 1
        try:
            with trio.move_on_after(REFUSAL_TIME):
                if not await stream.receive_some():
                    return  # gone without a request
                await stream.send_all(answer)
                if isinstance(stream, trio.abc.HalfCloseableStream):
                    await stream.send_eof()
                    while await stream.receive_some():
                        pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self._refusing -= 1
