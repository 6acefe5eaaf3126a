"""The per-connection pump: one nursery, the reader and writer roles, two bounded queues.

Theory of operation
-------------------
::

    transport ──reader role──▶ inbound queue (max_queue) ──▶ handler: await ws.receive_text()
    transport ◀──writer role── outbound queue (max_queue) ◀── handler: await ws.send_text(...)
                   attendant (one task per server): pings, idle timeouts, busy handlers

The handler runs in the body of the connection's nursery, and every task of the connection is
a child of it, so nothing outlives the connection. The roles are filled by whichever task is
cheapest at the moment, so that an echoed message costs one task step, as in a hand-written
one-task loop:

- **Reading.** While the handler waits in ``receive()`` with nothing queued, its own task reads
  and decodes (on a plain socket; :attr:`Transport.inline_reads`). When it leaves ``receive()``,
  the server's :class:`~fastrapi._attendant.Attendant` looks again ``READ_GRACE`` later; if the
  handler is still away, it starts the **reader task**, which reads into the inbound queue, so
  pings are answered and a close is seen while the handler is busy. A full queue stops the
  reader, so TCP pushes back on the client. When the reader hands a message to a handler that
  waits for it, it ends: the handler reads again itself. On TLS, in memory and on ASGI the
  reader task runs for the whole connection instead (interrupting a read there takes its scope).
- **Writing.** A send whose queue is empty, while no write is under way, writes the frame at once
  from the handler's task (a plain ``write()``; no yield right after a receive, which yielded).
  What the kernel does not take, and every send behind it, goes into the outbound queue, and the
  **writer task** (started on the first such need) writes the queue in batches, each within
  ``send_timeout``. A full queue makes ``send_*`` wait, so the handler is pushed back. Our close
  is the last unit queued. Units offered by the Hub (``WebSocket._offer``) share this queue, so
  they keep their order with the handler's sends; they do not count against ``max_queue``.
- **Message rate.** ``max_message_rate`` is a token bucket in a subclass of the pump
  (``_Throttled`` waits for a token before it reads, ``_RateClosed`` fails the connection with
  1008), picked per connection: a connection without a rate runs this class, with no test for
  it on the reader path.
- **Timers.** Pings, pong deadlines and the idle timeout are entries in the attendant's heap.
  ``max_lifetime`` is a cancel scope around the handler, made only when it is set.
- **Ending.** A server-side end (shutdown 1001, idle timeout 1001, ping timeout 1011, the Hub's
  1008) queues our close and interrupts whoever reads: the handler's receive raises
  :class:`~fastrapi.WebSocketDisconnect` with that code once the queue is read. When the handler
  ends, the pump queues the close its outcome calls for (1000 on return, the code of a
  ``WebSocketException``, 1011 for any other error, 1001 when ``max_lifetime`` ran out or the
  server is shutting down), and within ``close_timeout`` (shielded from a shutdown, so a
  cancelled connection still gets its close) waits for the queue to be written and for the
  peer's close; then it cancels what is left. A connection that *failed* (a protocol error, a
  message too big, a ping timeout: RFC 6455 7.1.7) waits for nobody: once our close is written
  it closes its direction of TCP and takes what the peer still sends for ``FAIL_GRACE`` at
  most, so a peer that sends junk in a loop holds no socket or task for ``close_timeout``.
  Errors of the handler never reach the nursery, so they come out bare, never as an
  ExceptionGroup.
- **What an idle connection holds.** Its nursery, the pump's objects, the codec, and one chain
  of parked frames: the listener's handler, ``serve_connection``, ``serve_session`` (the
  route's; the dispatchers in front of it return its coroutine rather than await it),
  :func:`run_session`, the handler, the pump's ``receive()`` and the transport's ``fill()``.
  The HTTP part of the connection (h11, the request) returns before the session runs;
  ``WebSocket.receive()`` hands back the pump's awaitable instead of a coroutine of its own;
  a handler that takes only the WebSocket is called directly (no solver); a handler's
  ``HTTPException`` before ``accept()`` is answered by a hook, not by a wrapper coroutine.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypedDict, final

import trio

from ._closecodes import CloseCode
from ._state import Session
from ._transport import Close, Data, Reject, Transport, Unit
from .exceptions import WebSocketDisconnect, WebSocketException

if TYPE_CHECKING:
    from .websocket import WebSocket

WRITE_BATCH: Final = 64 * 1024  # bytes of queued units written together, at most
FAIL_GRACE: Final = 1.0
"""Seconds a failed connection (a protocol error, a ping timeout) may take to write our close
and take the rest of what the peer sends before TCP is closed; ``close_timeout`` is for clean
closes."""
_LIFETIME_OVER: Final = Close(CloseCode.GOING_AWAY, "maximum connection lifetime reached")
_CANCELLED: Final = Close(CloseCode.GOING_AWAY, "server shutting down")
_PING_TIMEOUT: Final = Close(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
_IDLE: Final = Close(CloseCode.GOING_AWAY, "idle timeout")
_RATE_EXCEEDED: Final = Close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")


RatePolicy = Literal["throttle", "close"]
"""What ``max_message_rate`` does to a client over it."""


class WebSocketOptions(TypedDict, total=False):
    """Per-connection settings, for :class:`FastrAPI` (defaults) and ``@app.websocket`` (a route).

    Attributes:
        max_queue: Messages buffered in each direction (default 16). A full inbound queue stops
            reading from the client; a full outbound queue makes ``send_*`` wait.
        max_message_size: Largest message accepted, in bytes (default 16 MiB); a larger one
            closes the connection with 1009.
        idle_timeout: Seconds without a message from the client before the connection is closed
            with 1001 (default ``None``: no limit).
        max_lifetime: Seconds a handler may run; then it is cancelled and the connection closed
            with 1001 (default ``None``: no limit).
        close_timeout: Seconds to drain the outbound queue, send the close and hear the peer's
            once the handler has finished (default 10); whatever is left is then cancelled.
        ping_interval: Seconds between the server's pings (default 20; ``None``: no pings), or
            ``ping_timeout`` when that is longer (one ping is out at a time).
        ping_timeout: Seconds to wait for the pong; without it the connection is closed with
            1011 (default 20; ``None``: wait for ever). Pings are the native server's: ASGI has
            none, so on Hypercorn neither option applies.
        max_message_rate: Messages a second the client may send, on average (default ``None``:
            no limit, and no cost); see :doc:`/limits`.
        max_message_burst: Messages the client may send at once above the rate, after a
            pause (default: the rate, at least 1).
        message_rate_policy: What a client over the rate gets: ``"throttle"`` (the default:
            its messages are read no faster than the rate, so TCP pushes back on it and
            nothing is lost) or ``"close"`` (the connection is closed with 1008 "rate limit
            exceeded").
    """

    max_queue: int
    max_message_size: int
    idle_timeout: float | None
    max_lifetime: float | None
    close_timeout: float
    ping_interval: float | None
    ping_timeout: float | None
    max_message_rate: float | None
    max_message_burst: int | None
    message_rate_policy: RatePolicy


def check_websocket_options(where: str, options: Mapping[str, object]) -> None:
    """Raise ``TypeError`` naming a keyword that is no :class:`WebSocketOptions` key (it would
    otherwise surface as an error of :class:`PumpOptions`)."""
    unknown = options.keys() - WebSocketOptions.__optional_keys__
    if unknown:
        raise TypeError(f"{where} got an unexpected keyword argument {min(unknown)!r}")


@dataclass(frozen=True, slots=True)
class PumpOptions:
    """The per-connection settings; see :class:`fastrapi.FastrAPI` for their meaning."""

    max_queue: int = 16
    max_message_size: int = 16 * 2**20
    idle_timeout: float | None = None
    max_lifetime: float | None = None
    close_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    max_message_rate: float | None = None
    max_message_burst: int | None = None
    message_rate_policy: RatePolicy = "throttle"

    def __post_init__(self) -> None:
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be 0 or more, not {self.max_queue}")
        if self.max_message_size < 1:
            raise ValueError(f"max_message_size must be positive, not {self.max_message_size}")
        for name in (
            "idle_timeout",
            "max_lifetime",
            "close_timeout",
            "ping_interval",
            "ping_timeout",
        ):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        rate, burst = self.max_message_rate, self.max_message_burst
        if rate is not None and not rate > 0:
            raise ValueError(f"max_message_rate must be a positive number of messages, not {rate}")
        if burst is not None and rate is None:
            raise ValueError("max_message_burst needs a max_message_rate")
        if burst is not None and not burst >= 1:
            raise ValueError(f"max_message_burst must be 1 or more, not {burst}")
        if self.message_rate_policy not in ("throttle", "close"):
            raise ValueError(
                "message_rate_policy must be 'throttle' or 'close', "
                f"not {self.message_rate_policy!r}"
            )

    def connection_type(self) -> type[Connection]:
        """The pump of a connection with these settings: a rate limit has its own, so that
        connections without one pay nothing for it."""
        if self.max_message_rate is None:
            return Connection
        return _Throttled if self.message_rate_policy == "throttle" else _RateClosed


Entry = tuple[Unit, bool, Callable[[], None] | None]
"""A queued unit: whether it counts against ``max_queue``, and what to call once it is written
(or can never be)."""


class Connection:
    """One connection's reader and writer roles and queues; the WebSocket's only way out.

    Subclassed only by the rate limits (:meth:`PumpOptions.connection_type`)."""

    __slots__ = (
        "_finished",
        "_idle_timer",
        "_inbound",
        "_inline",
        "_last_in",
        "_limit",
        "_max_queue",
        "_nursery",
        "_out",
        "_paused",
        "_ping_payload",
        "_ping_sent",
        "_ping_timer",
        "_queued",
        "_reader",
        "_reader_lot",
        "_reader_scope",
        "_reading",
        "_stopped",
        "_waiting",
        "_writer",
        "_writer_idle",
        "_writer_lot",
        "_writer_scope",
        "_writing",
        "_yielded",
        "attendant",
        "leaves",
        "options",
        "session",
        "transport",
        "watched",
    )

    def __init__(
        self,
        transport: Transport,
        session: Session,
        options: PumpOptions,
        nursery: trio.Nursery,
    ) -> None:
        self.transport = transport
        self.session = session
        self.options = options
        self.attendant = transport.attendant
        self._nursery = nursery
        self._inline = transport.inline_reads and self.attendant is not None
        self._limit = options.max_message_size
        self._max_queue = options.max_queue
        # reading (the queue and the lot are made when a reader task first starts: an idle
        # connection whose handler reads for itself has neither)
        self._inbound: deque[Data] | None = None
        self._reader_lot: trio.lowlevel.ParkingLot | None = None
        self._waiting = 0  # handler tasks parked until the reader task brings a message
        self._reader = False  # a reader task holds the reader role
        self._reader_scope: trio.CancelScope | None = None
        self._reading = False  # somebody waits in transport.fill()
        self._paused = False  # the reader task waits for room: the peer is being pushed back
        self._stopped = False  # nothing more is read for the handler
        self._yielded = False  # the handler's task yielded in its last receive()
        self._last_in = 0.0
        self.leaves = 0
        self.watched = False
        # writing (the queue and the lot are made when the writer task first starts)
        self._out: deque[Entry] | None = None
        self._queued = 0  # entries of _out that count against max_queue
        self._writing = False  # the writer task is inside a write
        self._writer = False
        # each writer task's shielded scope, cancelled by finish() only (no task, no scope)
        self._writer_scope: trio.CancelScope | None = None
        self._finished = False
        # the writer waits here for units while idle; senders for room, finish() for the queue
        # to empty while it is not: one lot, woken whenever what they wait for may have come
        self._writer_lot: trio.lowlevel.ParkingLot | None = None
        self._writer_idle = False
        transport.bind(self._answer, self.end)

    # -- the handler's side: reading -----------------------------------------------------------

    def unread(self) -> bool:
        """Whether messages that arrived are not read yet."""
        return bool(self._inbound) or self.transport.has_events()

    async def receive(self) -> Data:
        """The next message; see :meth:`fastrapi.WebSocket.receive`."""
        transport = self.transport
        while True:
            if self._inbound:
                message = self._inbound.popleft()
                if self._paused:
                    self._wake_reader()
                break
            if self._stopped:
                raise self.session.disconnect()
            if self._reader:  # the reader task holds the role: wait for what it reads
                await self._wait_for_reader()
                self._yielded = True
                continue
            event = transport.next_event()
            if event is None:
                self._reading = True  # (as _fill(), written out: this is the hot path)
                try:
                    await transport.fill()
                finally:
                    self._reading = False
                self._yielded = True
                continue
            taken = self._take(event)
            if taken is not None:
                message = taken
                break
        self.session.messages_in += 1
        self.leaves += 1
        if self._inline and not self.watched:
            self.attendant.watch(self)  # type: ignore[union-attr]  # _inline: it is there
        return message

    def _take(self, event: Data | Close) -> Data | None:
        """A message for the handler, or ``None`` when ``event`` ended the reading."""
        if isinstance(event, Close):
            self._peer_closed(event)
            self._stop()
            return None
        limit = self._limit
        if len(event) > limit or (
            isinstance(event, str) and len(event) * 4 > limit and len(event.encode()) > limit
        ):
            self.end(CloseCode.MESSAGE_TOO_BIG, f"message over {limit} bytes", failed=True)
            return None
        if self.options.idle_timeout is not None:
            self._last_in = trio.current_time()
        return event

    def _peer_closed(self, close: Close) -> None:
        """The peer's close (or our failure of the connection) was read."""
        if close.answer is not None:
            self._answer(close.answer)  # our close, held back behind the messages before it
        self.session.on_peer_close(close)

    async def _fill(self, fill: Callable[[], Awaitable[None]]) -> None:
        """Wait in ``fill``, marked as the one who reads (so :meth:`end` can interrupt it)."""
        self._reading = True
        try:
            await fill()
        finally:
            self._reading = False

    def check_busy(self, leaves: int) -> bool:
        """The attendant's look at a handler that left ``receive()``: see ``_attendant.py``."""
        if self._reading or self._reader or self._stopped:
            return False
        if leaves != self.leaves:
            return True  # it came back and left again: look later
        self._start_reader()
        return False

    def _start_reader(self) -> None:
        if self._reader_lot is None:
            self._reader_lot = trio.lowlevel.ParkingLot()
            self._inbound = deque()
        self._reader = True
        self._nursery.start_soon(self._read_in_background)

    async def _wait_for_reader(self) -> None:
        """Park until the reader task brought a message, paused or ended."""
        assert self._reader_lot is not None  # made with the reader task; not user input
        self._waiting += 1
        try:
            await self._reader_lot.park()
        finally:
            self._waiting -= 1

    def _wake_reader(self) -> None:
        if self._reader_lot is not None:
            self._reader_lot.unpark_all()

    async def _read_in_background(self) -> None:
        try:
            with trio.CancelScope() as self._reader_scope:
                await self._read_until_handed_over()
        finally:
            self._reader = False
            self._reader_scope = None
            self._wake_reader()

    async def _read_until_handed_over(self) -> None:
        transport = self.transport
        inbound, lot = self._inbound, self._reader_lot
        assert inbound is not None  # _start_reader() made them; not user input
        assert lot is not None
        while not self._stopped:
            if len(inbound) >= max(self._max_queue, 1):
                self._paused = True
                try:
                    await lot.park()
                finally:
                    self._paused = False
                continue
            event = transport.next_event()
            if event is None:
                if self._inline and self._waiting:
                    return  # the handler waits with nothing queued: it reads itself
                await self._fill(self._fill_in_background)
                continue
            message = self._take(event)
            if message is None:
                return
            inbound.append(message)
            if self._waiting:
                lot.unpark_all()
                if self._inline:
                    return  # handed over: the handler reads again itself

    async def _fill_in_background(self) -> None:
        idle = self.options.idle_timeout
        if idle is None or self.attendant is not None:
            await self.transport.fill()
            return
        # no attendant (ASGI): the idle timeout is a scope around each read
        with trio.move_on_after(idle) as waited:
            await self.transport.fill()
        if waited.cancelled_caught:
            self.end(_IDLE.code, _IDLE.reason)

    def _stop(self) -> None:
        """Nothing more is read for the handler: wake whoever waits for a message."""
        self._stopped = True
        self._wake_reader()

    # -- the handler's side: writing -----------------------------------------------------------

    async def send(self, data: Data, *, utf8_text: bool = False) -> None:
        """Send one message; see :meth:`fastrapi.WebSocket.send`. With ``utf8_text``, ``data``
        is the UTF-8 bytes of a text message.

        Raises:
            WebSocketDisconnect: the connection has ended.
        """
        await trio.lowlevel.checkpoint_if_cancelled()  # cancelled here: nothing was sent
        while self._queued and self._queued >= self._max_queue:
            await self._writer_lot.park()  # type: ignore[union-attr]  # queued: the writer is there
            self.session.check_send("send")
        transport = self.transport
        unit = transport.encode_utf8(data) if utf8_text else transport.encode(data)  # type: ignore[arg-type]
        if unit is None:  # our close is out (or the echo of the peer's): nothing more is sent
            raise self._ended()
        try:
            direct = self._push(unit, True, None)
        except trio.BrokenResourceError as exc:
            self._broken(exc)
            raise self.session.disconnect() from None
        self.session.messages_out += 1
        if not (direct and self._yielded):
            await trio.lowlevel.cancel_shielded_checkpoint()  # sent: not cancellable any more
        self._yielded = False

    def offer(self, frame: bytes, data: Data, on_sent: Callable[[], None]) -> bool:
        """Queue a message built once for many connections; see ``WebSocket._offer``."""
        if not self.session.can_offer() or self._stopped:
            return False
        unit = self.transport.encode_shared(frame, data)
        if unit is None:
            return False
        self.session.messages_out += 1  # a Hub delivery is a message out, as a send is
        try:
            self._push(unit, False, on_sent)
        except trio.BrokenResourceError as exc:
            self._broken(exc)
            on_sent()
        return True

    def _push(self, unit: Unit, counted: bool, on_sent: Callable[[], None] | None) -> bool:
        """Write ``unit`` now if it can go whole, else queue it; ``True`` if it went now."""
        if not self._out and not self._writing:
            written = self.transport.write_nowait(unit)
            if written >= 0:
                if written == self.transport.unit_size(unit):
                    if on_sent is not None:
                        on_sent()
                    return True
                unit = self.transport.rest(unit, written)
        if self._out is None:
            self._out = deque()
            self._writer_lot = trio.lowlevel.ParkingLot()
        self._out.append((unit, counted, on_sent))
        if counted:
            self._queued += 1
        if not self._writer:
            self._writer = True
            scope = self._writer_scope = trio.CancelScope(shield=True)
            # (after finish() the session refuses sends, offers and closes: nothing is pushed)
            assert not self._finished
            self._nursery.start_soon(self._write_queue, scope)
        elif self._writer_idle:
            self._wake_writer()
        return False

    def _wake_writer(self) -> None:
        if self._writer_lot is not None:
            self._writer_lot.unpark_all()

    def _answer(self, unit: Unit) -> None:
        """Queue what the protocol answered on its own (a pong, the echo of a close)."""
        try:
            self._push(unit, False, None)
        except trio.BrokenResourceError as exc:
            self._broken(exc)

    def _broken(self, exc: trio.BrokenResourceError) -> None:
        """A write found the connection gone: stop reading, wake everybody."""
        self.session.on_broken(exc.args[0] if exc.args else None)
        self._stop()
        self._interrupt()
        self._wake_writer()

    async def _write_queue(self, scope: trio.CancelScope) -> None:
        transport = self.transport
        out, lot = self._out, self._writer_lot
        assert out is not None  # _push() made them; not user input
        assert lot is not None
        try:
            with scope:
                while True:
                    if not out:
                        lot.unpark_all()  # finish() waits for this
                        self._writer_idle = True
                        try:
                            await lot.park()
                        finally:
                            self._writer_idle = False
                        continue
                    batch = [out.popleft()]
                    size = transport.unit_size(batch[0][0])
                    while out and size < WRITE_BATCH:
                        batch.append(out.popleft())
                        size += transport.unit_size(batch[-1][0])
                    self._taken(batch)  # in flight now: room for the handler's next sends
                    self._writing = True
                    try:
                        await transport.write([entry[0] for entry in batch])
                    finally:
                        self._writing = False
                        self._written(batch)
        except trio.BrokenResourceError as exc:
            self._broken(exc)
        finally:
            self._writer = False
            rest = list(out)  # never to be written: their callbacks still run
            out.clear()
            self._taken(rest)
            self._written(rest)
            lot.unpark_all()

    def _taken(self, batch: list[Entry]) -> None:
        counted = sum(entry[1] for entry in batch)
        if counted:
            self._queued -= counted
            self._wake_writer()  # room for the senders

    @staticmethod
    def _written(batch: list[Entry]) -> None:
        for _, _, on_sent in batch:
            if on_sent is not None:
                on_sent()

    # -- pings and the idle timeout ------------------------------------------------------------

    def opened(self) -> None:
        """After ``accept()``: give the reader role its first holder, schedule the timers."""
        attendant = self.attendant
        if not self._inline:
            self._start_reader()  # no inline reads here: the reader task holds the role
        else:  # (accept() comes once: nothing watches it yet)
            attendant.watch(self)  # type: ignore[union-attr]  # _inline: it is there
        if attendant is None:
            return
        # each timer's callback is bound once, for the connection's life: see _attendant.py
        now = trio.current_time()
        interval = self.options.ping_interval
        if self.transport.can_ping and interval is not None:
            self._ping_payload: bytes | None = None  # the ping out, waiting for its pong
            self._ping_timer = self._on_ping_timer
            attendant.call_at(now + interval, self._ping_timer)
        idle = self.options.idle_timeout
        if idle is not None:
            self._last_in = now
            self._idle_timer = self._check_idle
            attendant.call_at(now + idle, self._idle_timer)

    def _on_ping_timer(self) -> None:
        """Send a ping, or, when one is out, see whether its pong came."""
        if self.session.ended is not None:
            return
        if self._ping_payload is None:
            self._ping()
        else:
            self._check_pong(self._ping_payload)

    def _ping(self) -> None:
        try:
            unit, _ = self.transport.ping(payload := os.urandom(4))
        except trio.BrokenResourceError:
            return
        self._answer(unit)
        self._ping_sent = sent = trio.current_time()
        timeout = self.options.ping_timeout
        if timeout is None:  # the next ping an interval after this one
            interval = self.options.ping_interval or math.inf
            self.attendant.call_at(sent + interval, self._ping_timer)  # type: ignore[union-attr]
        else:
            self._ping_payload = payload
            self.attendant.call_at(sent + timeout, self._ping_timer)  # type: ignore[union-attr]

    def _check_pong(self, payload: bytes) -> None:
        self._ping_payload = None
        sent = self._ping_sent
        came = self.transport.pong_came(payload)
        if came is None and not self._paused:
            self.end(_PING_TIMEOUT.code, _PING_TIMEOUT.reason, failed=True)
            return
        if came is not None:
            self.session.ping_rtt = came - sent
        # the pong came, or the peer's data waits behind a full queue (so it is alive): the
        # next ping an interval after this one (at once when the timeout was the longer)
        interval = self.options.ping_interval or math.inf
        due = max(sent + interval, trio.current_time())
        self.attendant.call_at(due, self._ping_timer)  # type: ignore[union-attr]

    def _check_idle(self) -> None:
        idle = self.options.idle_timeout
        if self.session.ended is not None or idle is None:
            return
        due = self._last_in + idle
        if trio.current_time() >= due:
            self.end(_IDLE.code, _IDLE.reason)
        else:
            self.attendant.call_at(due, self._idle_timer)  # type: ignore[union-attr]

    async def ping(self, payload: bytes) -> None:
        """Send a ping and wait for its pong; see :meth:`fastrapi.WebSocket.ping`."""
        try:
            unit, pong = self.transport.ping(payload)
        except trio.BrokenResourceError:
            raise self._ended() from None
        self._answer(unit)
        if self._inline and not self._reader and not self._reading:
            self._start_reader()  # the pong must be read while the handler waits here
        sent = trio.current_time()
        await pong.wait()
        came = self.transport.pong_came(payload)
        if came is None:
            raise self._ended()
        self.session.ping_rtt = came - sent

    def _ended(self) -> WebSocketDisconnect:
        """What a send or a ping raises when the protocol can send nothing more (or no pong
        will come): the session's end, or else the peer's close, read but not taken yet (it
        waits behind messages the handler has not read; the session learns of it when they are
        read, so that they are read first). Not the 1006 of a connection that dropped."""
        close = self.transport.pending_close() if self.session.ended is None else None
        if close is not None:
            return WebSocketDisconnect(close.code, close.reason)
        return self.session.disconnect()

    # -- ending --------------------------------------------------------------------------------

    def end(self, code: int, reason: str, *, failed: bool = False) -> None:
        """End the connection from outside the handler, without waiting: queue our close,
        interrupt whoever reads. The handler's receives and sends raise
        ``WebSocketDisconnect(code, reason)`` from now on (once the queue is read). ``failed``:
        the peer misbehaved, so TCP is closed without waiting for its close (RFC 6455 7.1.7)."""
        close = self.session.server_close(code, reason, failed=failed)
        if close is not None:
            self._queue_close(close)
        self._stop()
        self._interrupt()
        self._wake_writer()

    def _interrupt(self) -> None:
        if self._reader_scope is not None:
            self._reader_scope.cancel()
        elif self._reading:
            self.transport.interrupt()

    def _queue_close(self, close: Close) -> None:
        """Queue our close, last; the session learns when it is on the wire."""
        unit = self.transport.encode_close(close.code, close.reason)
        if unit is None:
            return  # the protocol is closing already
        try:
            self._push(unit, False, self.session.on_close_sent)
        except trio.BrokenResourceError as exc:
            self._broken(exc)

    async def close(self, code: int, reason: str) -> None:
        """Queue our close (``ws.close()``), or refuse the handshake before ``accept()``."""
        item = self.session.close(code, reason)
        if isinstance(item, Reject):
            await self._reject(item)
        elif item is not None:
            self._queue_close(item)
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def _reject(self, item: Reject) -> None:
        try:
            await self.transport.reject(item.status)
        except trio.BrokenResourceError:
            pass  # the client left before its refusal: nothing to tell it
        finally:
            self.session.on_close_sent()
            self._stop()

    async def finish(self, outcome: Close) -> None:
        """The handler has ended: send the close ``outcome`` calls for and end the connection,
        within ``close_timeout`` (``FAIL_GRACE`` if the connection failed); see the module
        docstring."""
        try:
            with trio.move_on_after(self.options.close_timeout, shield=True) as bound:
                final = self.session.final_close(outcome)
                if isinstance(final, Reject):
                    await self._reject(final)
                elif final is not None:
                    self._queue_close(final)
                if self.session.failed:
                    bound.deadline = min(bound.deadline, trio.current_time() + FAIL_GRACE)
                while self._out or self._writing:
                    await self._writer_lot.park()  # type: ignore[union-attr]  # queued: it is there
                if self.session.accepted:
                    await self._await_peer_close(bound)
        finally:
            self._finished = True
            if self._writer_scope is not None:
                self._writer_scope.cancel()  # the shield ends here, whatever happened
            if self._reader_scope is not None:
                self._reader_scope.cancel()

    async def _await_peer_close(self, bound: trio.CancelScope) -> None:
        """Read (and drop) what the peer still sends, until its close or the end of the stream;
        if the connection failed (before or now), only for ``FAIL_GRACE``, after our end of TCP
        is closed (see :meth:`Transport.linger`)."""
        self._stopped = True
        if self._reader_scope is not None:
            self._reader_scope.cancel()
        while self._reader:
            await self._wait_for_reader()
        transport, session = self.transport, self.session
        while not session.peer_closed and not session.failed:
            event = transport.next_event()
            if event is None:
                await self._fill(transport.fill)
            elif isinstance(event, Close):
                self._peer_closed(event)
        if session.failed:
            bound.deadline = min(bound.deadline, trio.current_time() + FAIL_GRACE)
            await transport.linger()


@final
class TokenBucket:
    """``rate`` tokens a second, ``burst`` kept at most, one taken per message; told the time,
    so it is tested without a clock."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> float:
        """Take a token: ``0.0`` if there was one, else the seconds until it will have come
        (it is taken all the same: a throttled reader waits that long)."""
        tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate) - 1
        self._tokens, self._stamp = tokens, now
        return 0.0 if tokens > -1e-9 else -tokens / self._rate  # (rounding is no debt)

    def give_back(self) -> None:
        """Undo the last :meth:`take` (its message was never read)."""
        self._tokens += 1


class _RateLimited(Connection):
    """A connection with ``max_message_rate``: a token bucket, the policy in a subclass."""

    __slots__ = ("_bucket",)

    def __init__(
        self, transport: Transport, session: Session, options: PumpOptions, nursery: trio.Nursery
    ) -> None:
        super().__init__(transport, session, options, nursery)
        rate = options.max_message_rate
        assert rate is not None  # connection_type() picked this pump; not user input
        burst = options.max_message_burst
        now = trio.current_time()
        self._bucket = TokenBucket(rate, max(1.0, rate) if burst is None else burst, now)


@final
class _Throttled(_RateLimited):
    """The ``"throttle"`` policy: each receive waits for its token before it reads. Nobody
    reads meanwhile (past ``READ_GRACE`` the reader task does, until ``max_queue`` messages
    wait), so TCP pushes back on the client, and nothing is lost."""

    __slots__ = ()

    async def receive(self) -> Data:
        wait = self._bucket.take(trio.current_time())
        if wait:
            try:
                await trio.sleep(wait)
            except trio.Cancelled:
                self._bucket.give_back()  # nothing was read for it
                raise
        return await super().receive()


@final
class _RateClosed(_RateLimited):
    """The ``"close"`` policy: a message over the rate is not delivered; the connection fails
    with 1008 (so TCP is closed at once, see ``FAIL_GRACE``)."""

    __slots__ = ()

    async def receive(self) -> Data:
        message = await super().receive()
        if self._bucket.take(trio.current_time()):
            self.end(_RATE_EXCEEDED.code, _RATE_EXCEEDED.reason, failed=True)
            raise self.session.disconnect()
        return message


CreateWebSocket = Callable[[Connection], tuple["WebSocket", Awaitable[object]]]
"""Makes the connection's WebSocket and the handler's call on it (awaited by run_session)."""
Refuse = Callable[[Connection, "WebSocket", Exception], Awaitable[Exception | None]]
"""Answers what the handler raised (a refusal or a close of its own: ``None``), or returns the
error to judge: the same, or one that replaced it."""


async def run_session(
    transport: Transport, create: CreateWebSocket, refuse: Refuse, options: PumpOptions
) -> None:
    """Run one connection until its handler has finished and the close is sent.

    Raises:
        Exception: whatever the handler raised, bare, after the connection was closed with
            1011 (``WebSocketDisconnect`` and ``WebSocketException`` end the handler normally).
    """
    session = Session()
    handler_error: BaseException | None = None
    outcome = _CANCELLED
    async with trio.open_nursery() as nursery:
        conn = options.connection_type()(transport, session, options, nursery)
        ws, handler = create(conn)
        try:
            if options.max_lifetime is None:
                await handler
                outcome = Close(CloseCode.NORMAL_CLOSURE)
            else:
                with trio.move_on_after(options.max_lifetime) as lifetime:
                    await handler
                outcome = (
                    _LIFETIME_OVER if lifetime.cancelled_caught else Close(CloseCode.NORMAL_CLOSURE)
                )
        except Exception as exc:  # re-raised bare below, never inside a group
            outcome, handler_error = _judge(exc)
            unanswered = await refuse(conn, ws, exc)
            if unanswered is None:
                outcome, handler_error = Close(CloseCode.NORMAL_CLOSURE), None
            elif unanswered is not exc:
                outcome, handler_error = _judge(unanswered)
        finally:
            await conn.finish(outcome)
            nursery.cancel_scope.cancel()
    if handler_error is not None:
        raise handler_error


def _judge(exc: Exception) -> tuple[Close, BaseException | None]:
    """The close a handler's exception calls for, and the error to re-raise (if any)."""
    if isinstance(exc, WebSocketDisconnect):
        return Close(CloseCode.NORMAL_CLOSURE), None
    if isinstance(exc, WebSocketException):
        return Close(exc.code, exc.reason), None
    if isinstance(exc, ExceptionGroup):  # from a nursery of the handler's own
        rest = exc.subgroup(lambda e: not isinstance(e, WebSocketDisconnect | ExceptionGroup))
        if rest is None:
            return Close(CloseCode.NORMAL_CLOSURE), None
        chosen = rest.exceptions[0] if len(rest.exceptions) == 1 else None
        if isinstance(chosen, WebSocketException):
            return Close(chosen.code, chosen.reason), None
    return Close(CloseCode.INTERNAL_ERROR), exc
