"""A topic's local subscribers: WebSocket members and subscriptions, with their budgets.

Each subscriber is a record, not a task. A member's budget counts what was offered to its
connection (``WebSocket._offer``) and is not written yet; ``on_sent`` gives it back. Over the
budget, the policy acts: ``close`` terminates the connection with 1008, ``drop_newest`` drops
the new message, ``drop_oldest`` the oldest not yet offered. Under ``drop_oldest`` only a small
window of messages (``_OFFER_WINDOW``, at most half the budget) is offered to the connection at
a time; the rest waits in the member's backlog, where the oldest can be dropped (what was
offered cannot be taken back). Otherwise all is offered at once. Drops and evictions are
counted in the Hub and logged once per subscriber.
"""

from __future__ import annotations

import logging
import operator
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar, final

import orjson
import trio

from .._closecodes import CloseCode
from ..exceptions import SlowConsumerError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..websocket import WebSocket
    from ._backend import Position, Published
    from ._hub import Hub
    from ._wire import Wire

logger: Final = logging.getLogger("fastrapi.hub")

Policy = Literal["close", "drop_oldest", "drop_newest"]
_POLICIES: Final = ("close", "drop_oldest", "drop_newest")
T = TypeVar("T")
_OFFER_WINDOW: Final = 8  # drop_oldest: messages offered to the connection at a time
# What a member's connection gets of a published message: the message, its envelope, or the
# fastrapi.hub.v1 publication (each built once per message, shared by every member)
_BARE: Final = operator.attrgetter("wire")
_ENVELOPED: Final = operator.attrgetter("enveloped")
_PUBLICATION: Final = operator.attrgetter("publication")


@final
@dataclass(frozen=True, slots=True)
class Message:
    """A message as :meth:`Hub.subscribe` yields it."""

    topic: str
    position: Position
    data: str | bytes
    """``str`` for text (JSON data arrives as its JSON text), ``bytes`` for binary."""

    def json(self) -> object:
        """``data`` parsed as JSON."""
        return orjson.loads(self.data)


@final
@dataclass(frozen=True, slots=True)
class _Budget:
    max_pending: int
    max_pending_bytes: int
    policy: Policy

    def __post_init__(self) -> None:
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be 1 or more, not {self.max_pending}")
        if self.max_pending_bytes < 1:
            raise ValueError(f"max_pending_bytes must be 1 or more, not {self.max_pending_bytes}")
        if self.policy not in _POLICIES:
            raise ValueError(f"policy must be one of {', '.join(_POLICIES)}, not {self.policy!r}")

    @property
    def window(self) -> int:
        """drop_oldest: how many messages are offered to the connection at a time (the rest
        of the budget is the backlog the oldest are dropped from)."""
        return max(1, min(_OFFER_WINDOW, self.max_pending // 2))


class _Subscriber:
    """A local subscriber's record: its budget and what to do when it is over it."""

    __slots__ = (
        "_budget",
        "_hub",
        "_warned",
        "active",
        "dropped",
        "key",
        "pending_bytes",
        "target",
        "topic",
    )

    def __init__(self, hub: Hub, topic: str, budget: _Budget, target: WebSocket | None) -> None:
        self._hub = hub
        self.target = target  # what ``exclude`` is matched against
        self.active = False  # in its topic's subscribers: delivered to
        self.topic = topic
        self._budget = budget
        self.key = f"{hub._id}-{next(hub._keys)}"
        self.dropped = 0
        """Messages dropped for this subscriber by its policy."""
        self.pending_bytes = 0
        self._warned = False

    @property
    def pending(self) -> int:
        """Messages handed to this subscriber and not yet consumed (written, or taken)."""
        raise NotImplementedError

    def deliver(self, published: Published) -> None:
        """Hand ``published`` over now (no await); this may remove this subscriber (its
        policy), never another: the Hub's fan-out relies on it."""
        raise NotImplementedError

    def _over(self, size: int) -> bool:
        budget = self._budget
        return (
            self.pending >= budget.max_pending
            or self.pending_bytes + size > budget.max_pending_bytes
        )

    def _limit(self) -> str:
        budget = self._budget
        if self.pending >= budget.max_pending:
            return f"over max_pending ({budget.max_pending} messages)"
        return f"over max_pending_bytes ({budget.max_pending_bytes} bytes)"

    def _count_drop(self, limit: str) -> None:
        self.dropped += 1
        self._hub._dropped += 1
        if self._budget.policy == "drop_oldest":
            self._hub._dropped_oldest += 1
        if not self._warned:  # once per subscriber; the count is in statistics()
            self._warned = True
            logger.warning(
                "hub: %s of topic %r is %s: dropping messages (%s)",
                self,
                self.topic,
                limit,
                self._budget.policy,
            )

    def _count_eviction(self, limit: str) -> None:
        self._hub._evicted += 1
        logger.warning("hub: %s of topic %r is %s: closed", self, self.topic, limit)
        self._hub._remove(self)


@final
class Member(_Subscriber):
    """A WebSocket's membership of one topic, as ``async with hub.join(...)`` gives it."""

    __slots__ = (
        "_backlog",
        "_direct",
        "_framed",
        "_inflight",
        "_on_sent",
        "_recovering",
        "position",
        "presence",
        "ws",
    )

    def __init__(
        self,
        hub: Hub,
        topic: str,
        ws: WebSocket,
        budget: _Budget,
        *,
        presence: object,
        envelope: bool,
        protocol: bool = False,
    ) -> None:
        super().__init__(hub, topic, budget, ws)
        self.ws = ws
        """The member's connection."""
        self.presence = presence
        """The presence value it joined with (``None``: none)."""
        self.position: Position | None = None
        """The position of the latest message handed to its connection."""
        self._framed: Callable[[Published], Wire] = (
            _PUBLICATION if protocol else _ENVELOPED if envelope else _BARE
        )
        self._inflight: deque[int] = deque()  # sizes of what was offered and is not written
        self._backlog: deque[tuple[Wire, Position]] = deque()  # drop_oldest: not offered yet
        self._recovering: list[Published] | None = None  # live messages during a replay
        # offered at once while fewer than this are in flight (and the bytes are within budget)
        self._direct = budget.window if budget.policy == "drop_oldest" else budget.max_pending
        self._on_sent = self._sent  # bound once, not per message

    def __repr__(self) -> str:
        return f"<Member {self.key} {self.ws!r}>"

    @property
    def pending(self) -> int:
        return len(self._inflight) + len(self._backlog)

    def deliver(self, published: Published) -> None:
        if self._recovering is not None:
            self._recovering.append(published)
            return
        wire = self._framed(published)
        inflight = len(self._inflight)
        if (
            inflight < self._direct
            and not self._backlog
            and self.pending_bytes + len(wire.payload) <= self._budget.max_pending_bytes
        ):  # the common case: within budget, offered at once
            hub = self._hub
            if inflight >= hub._peak_pending:
                hub._peak_pending = inflight + 1
            self._offer(wire, published.position)
        else:
            self._take(wire, published.position)

    def _take(self, wire: Wire, position: Position) -> None:
        """Deliver ``wire`` to a member near or over its budget (see :meth:`deliver`)."""
        size = len(wire)
        if self._over(size):
            limit = self._limit()
            policy = self._budget.policy
            if policy == "close":
                self._count_eviction(limit)
                self.ws._terminate(CloseCode.POLICY_VIOLATION, f"slow consumer: {limit}")
                return
            if policy == "drop_oldest":
                while self._backlog and self._over(size):
                    dropped, _ = self._backlog.popleft()
                    self.pending_bytes -= len(dropped)
                    self._count_drop(limit)
            if self._over(size):  # drop_newest, or nothing left to drop but what is offered
                self._count_drop(limit)
                return
        # Only drop_oldest gets here, with its window full: the other policies offer up to
        # their whole budget at once, so they came here over it (and returned above), and a
        # drop_oldest member has a backlog only while its window is full. It waits there.
        hub = self._hub
        if self.pending >= hub._peak_pending:
            hub._peak_pending = self.pending + 1
        self._backlog.append((wire, position))
        self.pending_bytes += size

    def _offer(self, wire: Wire, position: Position) -> None:
        size = len(wire.payload)
        self._inflight.append(size)  # before: on_sent may come at once
        self.pending_bytes += size
        if self.ws._offer(wire.frame, wire.data, self._on_sent):
            self._hub._delivered += 1
            self.position = position
        else:  # the connection is closing or gone: so is the member
            self._inflight.pop()
            self.pending_bytes -= size
            self._hub._remove(self)

    def _sent(self) -> None:
        self.pending_bytes -= self._inflight.popleft()
        if not self.active:  # it left: what waited in its backlog is nobody's
            self.pending_bytes -= sum(len(wire) for wire, _ in self._backlog)
            self._backlog.clear()
        elif self._backlog and len(self._inflight) < self._budget.window:
            wire, position = self._backlog.popleft()
            self.pending_bytes -= len(wire)
            self._offer(wire, position)

    def _recover(self, replay: list[Published], after: Position) -> None:
        """Deliver ``replay`` (history after ``after``, the position the client is at), then
        what arrived meanwhile and is newer, then go live."""
        live, self._recovering = self._recovering or [], None
        for published in replay:
            self.deliver(published)
            after = published.position
        for published in live:
            if is_newer(published.position, after):
                self.deliver(published)


async def next_queued(
    queue: deque[T], lot: trio.lowlevel.ParkingLot, ended: Callable[[], BaseException | None]
) -> T:
    """The next item of ``queue``, waiting (parked in ``lot``) while it is empty; once it is
    empty and ``ended()`` gives why, that is raised (``StopAsyncIteration``: the end)."""
    await trio.lowlevel.checkpoint()
    while not queue:
        why = ended()
        if why is not None:
            if isinstance(why, StopAsyncIteration):
                raise StopAsyncIteration
            raise why
        await lot.park()
    return queue.popleft()


def is_newer(position: Position, than: Position) -> bool:
    """Whether a message at ``position`` comes after ``than`` (another epoch: a new stream)."""
    return position.epoch != than.epoch or position.offset > than.offset


@final
class Subscription(_Subscriber):
    """A topic's messages for a consumer that is not a WebSocket: ``async for message in it``.

    Iterating waits for the next :class:`Message`; cancelling that wait loses nothing. It ends
    when the ``subscribe`` block does, and raises :class:`~fastrapi.SlowConsumerError` once
    the ``close`` policy ended it (after the messages that were pending).
    """

    __slots__ = ("_ended", "_lot", "_queue")

    def __init__(self, hub: Hub, topic: str, budget: _Budget) -> None:
        super().__init__(hub, topic, budget, None)
        self._queue: deque[tuple[Message, int]] = deque()  # and its size
        self._lot = trio.lowlevel.ParkingLot()
        self._ended: BaseException | None = None

    def __repr__(self) -> str:
        return f"<Subscription {self.key}>"

    @property
    def pending(self) -> int:
        return len(self._queue)

    def deliver(self, published: Published) -> None:
        size = len(published.wire)
        if self._over(size):
            limit = self._limit()
            policy = self._budget.policy
            if policy == "close":
                self._count_eviction(limit)
                self._end(SlowConsumerError(f"subscription of topic {self.topic!r}: {limit}"))
                return
            if policy == "drop_oldest":
                while self._queue and self._over(size):
                    self.pending_bytes -= self._queue.popleft()[1]
                    self._count_drop(limit)
            if self._over(size):  # drop_newest, or this one alone is over
                self._count_drop(limit)
                return
        message = Message(self.topic, published.position, published.wire.data)
        self._queue.append((message, size))
        self.pending_bytes += size
        self._hub._delivered += 1
        if self.pending > self._hub._peak_pending:
            self._hub._peak_pending = self.pending
        self._lot.unpark_all()

    def _end(self, why: BaseException) -> None:
        if self._ended is None:
            self._ended = why
            self._lot.unpark_all()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        message, size = await next_queued(self._queue, self._lot, lambda: self._ended)
        self.pending_bytes -= size
        return message
