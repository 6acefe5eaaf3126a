"""The state of one WebSocket session: every transition, and nothing else (cf. h11's ``_state.py``).

Theory of operation
-------------------
Three parties touch a session: the handler (through :class:`~fastrapi.WebSocket`), the pump's
reader (which learns that the peer closed, or decides the connection is over: idle timeout,
message too big) and the pump's writer (which puts our close on the wire). All of them ask this
object what is allowed and tell it what happened; none of it awaits, so it is tested without an
event loop.

``application_state`` is what *we* did: CONNECTING until ``accept()``, CONNECTED, CLOSING once our
close is queued, DISCONNECTED once it is written (or the handshake was refused).
``ended`` is why the connection is over for the handler, ``None`` while it is not: from then on
every send raises it, and every receive raises it once the messages that arrived before are read.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, final

from ._closecodes import CloseCode, validate_close
from ._transport import Close, Reject
from .exceptions import WebSocketDisconnect, WebSocketStateError

REJECT_STATUS: Final = 403


class WebSocketState(IntEnum):
    """Where one side of a WebSocket session stands (``ws.client_state``, ``ws.application_state``).

    The values are FastrAPI's, so ``while ws.client_state == 1`` works.
    """

    CONNECTING = 0
    CONNECTED = 1
    CLOSING = 2
    DISCONNECTED = 3


@final
class Session:
    """Every transition of one session. No awaits, no trio."""

    __slots__ = (
        "accepted",
        "application_state",
        "close_code",
        "close_queued",
        "close_reason",
        "closed_by",
        "ended",
        "failed",
        "messages_in",
        "messages_out",
        "peer_closed",
        "ping_rtt",
    )

    def __init__(self) -> None:
        self.application_state = WebSocketState.CONNECTING
        self.accepted = False
        self.ended: WebSocketDisconnect | None = None
        self.peer_closed = False
        self.close_queued = False  # our close (or refusal) is queued or sent: no other
        self.failed = False
        """We failed the connection (a protocol error, a message too big, a ping timeout): no
        close handshake is waited for (RFC 6455 7.1.7)."""
        self.closed_by: str | None = None
        """``"client"`` or ``"server"``: who started the close (for the log and metrics)."""
        self.close_code: int | None = None
        self.close_reason = ""
        self.messages_in = 0
        self.messages_out = 0
        self.ping_rtt: float | None = None
        """The last measured ping round trip (the heartbeat's or ``ws.ping()``'s), in seconds."""

    # -- the handler's side -------------------------------------------------------------------

    def accept(self) -> None:
        """Check that ``accept()`` may be called, and mark the session connected."""
        if self.application_state is not WebSocketState.CONNECTING:
            raise WebSocketStateError(
                f"accept() needs a connecting session, this one is {self.application_state.name}"
                " (accept() may be called once, before any send or receive)"
            )
        if self.ended is not None:
            raise _copy(self.ended)
        self.application_state = WebSocketState.CONNECTED
        self.accepted = True

    def check_send(self, method: str) -> None:
        """Raise what ``method`` (a send) must raise now, if anything."""
        if self.application_state is WebSocketState.CONNECTED and self.ended is None:
            return  # the hot path
        self._check_connected(method)  # raises unless connected: then the connection ended
        raise self.disconnect()

    def check_receive(self, method: str) -> None:
        """Raise what ``method`` (a receive) must raise before looking at the inbound queue."""
        if self.application_state is not WebSocketState.CONNECTED:
            self._check_connected(method)

    def disconnect(self) -> WebSocketDisconnect:
        """The error to raise now that the connection is over (the inbound queue is drained and
        closed, or the writer is gone)."""
        if self.ended is None:  # the reader stopped without saying why: the transport broke
            self.ended = WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE)
        return _copy(self.ended)

    def close(self, code: int, reason: str) -> Close | Reject | None:
        """Validate a close the handler asked for; return the close to send, if one is due.

        Before accept, the close is a refusal of the handshake (HTTP 403). Closing twice, or
        after the peer closed, is allowed and does nothing.
        """
        validate_close(code, reason)
        if self.application_state is WebSocketState.CONNECTING:
            self.application_state = WebSocketState.CLOSING
            self.close_queued = True
            return Reject(REJECT_STATUS)
        if self.application_state is not WebSocketState.CONNECTED or self.peer_closed:
            return None
        self.application_state = WebSocketState.CLOSING
        if self.close_queued:  # the server is closing it already
            return None
        self.close_queued = True
        self._first_close("server", code, reason)
        return Close(code, reason)

    def refuse(self) -> bool:
        """The handler refuses the handshake itself (with an HTTP answer of its own): ``True``
        if it may (it has not accepted), and then no other close is due."""
        if self.application_state is not WebSocketState.CONNECTING:
            return False
        self.application_state = WebSocketState.CLOSING
        return True

    def final_close(self, default: Close) -> Close | Reject | None:
        """The close to send when the handler has finished, with ``default`` as its outcome.

        Returns ``None`` when no close is due (the handler closed, or the peer did). Before
        accept, the close is a refusal of the handshake (HTTP 403).
        """
        if self.application_state is WebSocketState.CONNECTING:
            self.application_state = WebSocketState.CLOSING
            self.close_queued = True
            return Reject(REJECT_STATUS)
        if self.application_state is not WebSocketState.CONNECTED or self.peer_closed:
            return None
        self.application_state = WebSocketState.CLOSING
        if self.close_queued:
            return None
        self.close_queued = True
        if self.ended is not None and default.code == CloseCode.NORMAL_CLOSURE:
            # the server ended it (idle timeout, message too big): say so
            return Close(self.ended.code, self.ended.reason)
        self._first_close("server", default.code, default.reason)
        return default

    # -- the reader's and the writer's side ---------------------------------------------------

    def on_peer_close(self, close: Close) -> None:
        """The peer closed, or the connection dropped: no close is to be sent any more."""
        self.peer_closed = True
        self._first_close("server" if close.failed else "client", close.code, close.reason)
        if close.failed:
            self.failed = True
        if self.ended is None:
            self.ended = WebSocketDisconnect(close.code, close.reason)

    def on_broken(self, why: object) -> None:
        """A write failed: the connection is gone (``why``: the transport's ``Close``, if any)."""
        self.on_peer_close(why if isinstance(why, Close) else Close(CloseCode.ABNORMAL_CLOSURE))

    def on_server_end(self, code: int, reason: str) -> None:
        """The server decided the connection is over (idle timeout, message too big)."""
        self._first_close("server", code, reason)
        if self.ended is None:
            self.ended = WebSocketDisconnect(code, reason)

    def server_close(self, code: int, reason: str, *, failed: bool = False) -> Close | None:
        """The server ends the connection (shutdown, a timeout, the Hub): the close to queue now,
        if one is due. The handler's sends and receives raise ``WebSocketDisconnect`` from now
        on; ``application_state`` stays what the handler made it. ``failed``: the connection
        failed (a ping timeout, a message too big), so no close handshake is waited for."""
        self.on_server_end(code, reason)
        if failed:
            self.failed = True
        if not self.accepted or self.close_queued or self.peer_closed:
            return None
        self.close_queued = True
        return Close(code, reason)

    def can_offer(self) -> bool:
        """Whether a message from outside the handler (the Hub) may still be queued."""
        return self.accepted and not self.close_queued and self.ended is None

    def on_close_sent(self) -> None:
        """Our close (or refusal) is on the wire."""
        self.application_state = WebSocketState.DISCONNECTED

    # -- helpers ------------------------------------------------------------------------------

    def _first_close(self, by: str, code: int, reason: str) -> None:
        if self.closed_by is None:
            self.closed_by, self.close_code, self.close_reason = by, code, reason

    def _check_connected(self, method: str) -> None:
        state = self.application_state
        if state is WebSocketState.CONNECTING:
            raise WebSocketStateError(f"{method}() before accept(): call await ws.accept() first")
        if state is not WebSocketState.CONNECTED:
            raise WebSocketStateError(f"{method}() after close(): the session is {state.name}")


def _copy(ended: WebSocketDisconnect) -> WebSocketDisconnect:
    # a fresh exception per raise, so tracebacks don't pile up on one shared object
    return WebSocketDisconnect(ended.code, ended.reason)
