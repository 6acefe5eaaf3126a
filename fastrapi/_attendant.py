"""One task per server for what would otherwise cost a task or a timer per connection.

Theory of operation
-------------------
A connection's handler reads the socket itself while it waits in ``receive()`` (see
``_pump.py``). When it is busy elsewhere (computing, sleeping, sending to a slow client), nobody
reads: pings would go unanswered and a close unseen. So each time a handler leaves ``receive()``
its connection asks to be *watched*: the attendant looks again ``READ_GRACE`` seconds later,
and if the handler has not been back in ``receive()`` since, it starts the connection's reader
task, which reads into the bounded inbound queue until the handler returns (then hands the role
back). A handler in a tight receive/send loop costs one flag test per message here; the
attendant wakes at most once per ``READ_GRACE`` per busy connection.

It also runs every connection's timers (pings and their pong deadlines, idle timeouts) from one
heap, so an idle connection costs a heap entry, not a sleeping task. A heap entry is a
``(deadline, number)`` pair and the callbacks wait in a dict by number: such a pair holds no
object the cyclic garbage collector tracks, so the collector stops tracking it at its first pass.
With tens of thousands of connections each re-arming a timer every ping interval, entries that
held their callbacks would live long enough to be promoted, with the bound methods or closures
they held, and the promotions alone would set off full collections (every object of every
connection walked, hundreds of milliseconds at 20,000 connections; one in a 90 s idle hold
there). Callers pass callbacks that live as long as their connection (bound once), for the
same reason.

Callbacks run in the attendant's task: they never wait, and an error in one is logged, not
raised, so one connection's bug never stops the others' timers.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import deque
from typing import TYPE_CHECKING, Final, Protocol, final

import trio

if TYPE_CHECKING:
    from collections.abc import Callable

READ_GRACE: Final = 0.1  # seconds a handler may be away from receive() before a reader starts
logger: Final = logging.getLogger("fastrapi")


class Watched(Protocol):
    """What the attendant needs from a connection it watches."""

    watched: bool
    """Set while the connection waits in the attendant's queue."""
    leaves: int
    """How often the handler has returned from ``receive()``: unchanged means away since."""

    def check_busy(self, leaves: int) -> bool:
        """Start a reader if the handler is still away (``leaves`` unchanged) and nobody reads;
        ``True`` if it should be looked at again later."""


@final
class Attendant:
    """The server-wide watcher and timer heap; :meth:`run` in a nursery of the server."""

    def __init__(self) -> None:
        self._busy: deque[tuple[float, Watched, int]] = deque()
        self._timers: list[tuple[float, int]] = []  # (deadline, number): see the module's doc
        self._callbacks: dict[int, Callable[[], None]] = {}  # by number
        self._order = itertools.count()  # ties in the heap: first scheduled, first run
        self._sleep: trio.CancelScope | None = None
        self._next = math.inf

    def watch(self, conn: Watched) -> None:
        """The handler of ``conn`` just left ``receive()`` (callers check ``conn.watched``)."""
        conn.watched = True
        due = trio.current_time() + READ_GRACE
        self._busy.append((due, conn, conn.leaves))
        self._wake_by(due)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> int:
        """Run ``callback`` (which must not wait) at ``deadline``, in the attendant's task; the
        timer's number, for :meth:`cancel`."""
        number = next(self._order)
        self._callbacks[number] = callback
        heapq.heappush(self._timers, (deadline, number))
        self._wake_by(deadline)
        return number

    def cancel(self, number: int) -> None:
        """Forget the timer ``number`` (and its callback) if it has not run."""
        self._callbacks.pop(number, None)

    def _wake_by(self, due: float) -> None:
        if due < self._next:
            self._next = due
            if self._sleep is not None:
                self._sleep.deadline = due

    async def run(self) -> None:
        """Serve the queue and the timers until cancelled."""
        while True:
            with trio.CancelScope(deadline=self._next) as self._sleep:
                await trio.sleep_forever()
            self._sleep = None
            now = trio.current_time()
            busy = self._busy
            while busy and busy[0][0] <= now:
                _, conn, leaves = busy.popleft()
                if self._safely(conn.check_busy, leaves):
                    busy.append((now + READ_GRACE, conn, conn.leaves))
                else:
                    conn.watched = False
            timers, callbacks = self._timers, self._callbacks
            while timers and timers[0][0] <= now:
                callback = callbacks.pop(heapq.heappop(timers)[1], None)
                if callback is not None:  # (None: cancelled)
                    self._safely(callback)
            self._next = min(busy[0][0] if busy else math.inf, timers[0][0] if timers else math.inf)

    @staticmethod
    def _safely(callback: Callable[..., object], *args: object) -> bool:
        try:
            return bool(callback(*args))
        except Exception:  # a bug of one connection must not stop the others' timers
            logger.exception("fastrapi: a connection's timer failed")
            return False
