"""The Hub: topics, their local subscribers, budgets and slow-consumer policies.

Theory of operation
-------------------
::

    publish(topic, data) ── encode once (_wire) ── backend.publish: position, history, others
        │
        ▼ for each local subscriber of the topic, in join order, without awaiting anything:
    budget (pending messages and bytes) ── over? policy: close | drop_oldest | drop_newest
        │
        ▼
    Member: ws._offer(frame, data, on_sent)   the connection's own outbound path
    Subscription: its deque, and a wake-up for its consumer

A subscriber is a record, not a task: a WebSocket that joins ten topics costs ten records.
A member's budget counts what was offered to its connection and is not written yet;
``on_sent`` gives it back. A member whose connection is gone is dropped at its next delivery
(``_offer`` says so); leaving (the end of the ``join`` block) removes the record, its presence
and, with the last local member, this process's subscription of the topic. Fan-out iterates a
snapshot of the subscribers, so joins, leaves and evictions during a publish are safe: a
subscriber that joined during it does not get that message, one that left does not either.
The subscribers and their policies are in ``_members.py``.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import sys
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final

import orjson
import trio

from ..exceptions import HistoryGap, HubUnavailable, WebSocketStateError
from ..websocket import WebSocket, WebSocketState
from ._backend import History, Position
from ._members import Member, Message, Subscription, _Budget
from ._memory import MemoryBackend
from ._redis import RedisBackend
from ._wire import encode

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from ._backend import Backend, Published
    from ._members import Policy, _Subscriber

logger: Final = logging.getLogger("fastrapi.hub")
LEAVE_TIMEOUT: Final = 5.0  # seconds for a leave's backend work (presence, notice)


@final
@dataclass(frozen=True, slots=True)
class HubStatistics:
    """What :meth:`Hub.statistics` returns."""

    topics: int
    """Topics with a local subscriber."""
    members: int
    """Local subscribers (WebSocket members and subscriptions)."""
    published: int
    """Messages published through this Hub."""
    delivered: int
    """Messages handed to a local subscriber (to its connection, or its subscription)."""
    dropped: int
    """Messages dropped by ``drop_oldest`` or ``drop_newest``."""
    evicted: int
    """Subscribers closed by the ``close`` policy."""
    peak_pending: int
    """The most messages one subscriber had pending at once."""
    dropped_oldest: int = 0
    """Of ``dropped``, those of subscribers under ``drop_oldest``."""
    dropped_newest: int = 0
    """Of ``dropped``, those of subscribers under ``drop_newest``."""
    pending: int = 0
    """Messages handed to local subscribers and not written (or taken) yet, now."""
    pending_bytes: int = 0
    """Their bytes."""
    redis_available: bool = True
    """Whether Redis answered the last call (always true on memory)."""
    redis_outages: int = 0
    """Times Redis went away while this process ran (0 on memory)."""
    redis_reconnects: int = 0
    """Times it came back."""
    redis_outage_seconds: float = 0.0
    """Seconds it was away, the current outage included."""
    redis_dropped: int = 0
    """Messages from other processes dropped because this one did not keep up (the
    :class:`RedisBackend`'s ``buffer`` was full)."""


@final
@dataclass(frozen=True, slots=True)
class Recovery:
    """What a consumer that subscribed to a topic missed since its position (see
    :meth:`Hub._recovery`); shared by the protocol route and SSE streams."""

    position: Position
    """Where the consumer stands once ``missed`` is delivered: its ``since`` when recovered,
    else the topic's position now (what comes later is newer)."""
    missed: list[Published]
    was_recovering: bool
    recovered: bool
    detail: str = ""
    """Why not recovered (a gap), when it was asked to."""


@final
class _Local:
    """This process's subscribers of one topic, in join order."""

    __slots__ = ("_snapshot", "subscribers")

    def __init__(self) -> None:
        self.subscribers: dict[int, _Subscriber] = {}
        self._snapshot: tuple[_Subscriber, ...] | None = None

    def add(self, subscriber: _Subscriber) -> None:
        self.subscribers[id(subscriber)] = subscriber
        subscriber.active = True
        self._snapshot = None

    def remove(self, subscriber: _Subscriber) -> bool:
        """Remove ``subscriber``; whether it was there."""
        if self.subscribers.pop(id(subscriber), None) is None:
            return False
        subscriber.active = False
        self._snapshot = None
        return True

    def snapshot(self) -> tuple[_Subscriber, ...]:
        if self._snapshot is None:
            self._snapshot = tuple(self.subscribers.values())
        return self._snapshot


@final
class Hub:
    """Rooms and fan-out: publish to a topic, and every subscriber of it gets the message.

    ``async with hub.join(topic, ws)`` makes a WebSocket a member of a topic;
    ``await hub.publish(topic, data)`` hands the message to every member, encoded once, without
    waiting on any of them. Each subscriber has a budget of pending messages and bytes; a
    subscriber over it meets the policy: ``"close"`` (the connection is closed with 1008),
    ``"drop_oldest"`` or ``"drop_newest"`` (counted, and logged once per subscriber).

    Args:
        max_pending: Messages a subscriber may have pending (handed over, not yet written).
        max_pending_bytes: Bytes it may have pending.
        policy: What happens to a subscriber over its budget.
        presence_events: Publish ``{"type": "user_joined" | "user_left", "topic": ...,
            "presence": ...}`` to the topic when a member joins (not to that member) or leaves.
        history_size: Messages kept per topic, for ``join(..., since=position)`` (0: none).
        history_ttl: Seconds a kept message lives (``None``: until pushed out by newer ones).
        envelope: Send every member ``{"topic", "epoch", "offset", "data"}`` instead of the bare
            message, so that clients can keep their position (binary messages go bare).
        url: ``"redis://host:6379/0"`` (or ``rediss://``, ``unix://``): topics shared by every
            process on that Redis, through a :class:`RedisBackend` (``pip install
            fastrapi-trio[redis]``); its tasks run in :meth:`running`.
        backend: Where topics live: a :class:`MemoryBackend` of this process by default.
        validate_publish: Refuse to publish a float JSON cannot carry (NaN, Infinity,
            -Infinity: a ``ValueError``); unchecked, it is sent as ``null``. Default: on where
            pytest is imported (tests), off otherwise (the check costs a walk of each message
            with a ``null``), as the app's ``validate_sends``.

    Every option but ``url``, ``backend`` and ``validate_publish`` can be overridden per join;
    history per topic with :meth:`set_history`.

    Raises:
        ValueError: an option is out of range, or both ``url`` and ``backend`` are given.
        ImportError: a Redis ``url`` without coredis installed.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        max_pending: int = 256,
        max_pending_bytes: int = 2**20,
        policy: Policy = "close",
        presence_events: bool = False,
        history_size: int = 0,
        history_ttl: float | None = None,
        envelope: bool = False,
        backend: Backend | None = None,
        validate_publish: bool | None = None,
    ) -> None:
        self._validate = "pytest" in sys.modules if validate_publish is None else validate_publish
        self._budget = _Budget(max_pending, max_pending_bytes, policy)
        self._presence_events = presence_events
        self._history = History(history_size, history_ttl)
        self._topic_history: dict[str, History] = {}
        self._envelope = envelope
        if url is not None and not isinstance(url, str):
            raise TypeError(
                f"Hub(url) takes a Redis URL; a backend is Hub(backend=...), not {url!r}"
            )
        if url is not None and backend is not None:
            raise ValueError("give a Hub a url or a backend, not both")
        if url is not None:
            backend = RedisBackend(url)
        self._backend: Backend = backend if backend is not None else MemoryBackend()
        self._backend.connect(self._from_backend)
        self._start()

    def _start(self) -> None:
        """This process's side of the Hub: its id, its subscribers, its counts."""
        self._pid = os.getpid()
        self._id = secrets.token_hex(4)
        self._keys = itertools.count(1)
        self._topics: dict[str, _Local] = {}
        self._subscribed: set[str] = set()
        self._published = 0
        self._delivered = 0
        self._dropped = 0
        self._dropped_oldest = 0
        self._evicted = 0
        self._peak_pending = 0

    def __repr__(self) -> str:
        return f"<Hub {self._id} topics={len(self._topics)}>"

    def running(self) -> AbstractAsyncContextManager[None]:
        """Run the backend's tasks (Redis: its connection, pub/sub reader, presence refresh)
        for the block; nothing more for the memory backend. A :class:`~fastrapi.FastrAPI` app
        with ``hub=`` enters it in its lifespan, in each worker.

        What is a process's own is made here, in the process that serves: the id its members'
        keys carry, and the backend's (Redis: the process's id, connection and subscriptions).
        So every worker has its own, however it was started (forked after the app's module was
        imported, or spawned).
        """
        return self._running()

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        if self._pid != os.getpid():  # forked: what the copy holds is another process's
            self._start()
        async with self._backend.running():
            self._id = secrets.token_hex(4)
            yield

    @property
    def _per_process(self) -> bool:
        """Whether the topics live in this process only (the memory backend)."""
        return isinstance(self._backend, MemoryBackend)

    def set_history(self, topic: str, size: int, ttl: float | None = None) -> None:
        """Keep the last ``size`` messages of ``topic`` (none older than ``ttl`` seconds),
        instead of the Hub's ``history_size`` and ``history_ttl``.

        Raises:
            ValueError: a bad topic, or a value out of range.
        """
        self._topic_history[_check_topic(topic)] = History(size, ttl)

    # -- publishing ----------------------------------------------------------------------------

    async def publish(
        self, topic: str, data: object, *, exclude: WebSocket | Iterable[WebSocket] | None = None
    ) -> Position:
        """Hand ``data`` to every subscriber of ``topic`` but ``exclude``; return its position.

        ``data`` is a ``str`` (a text message), bytes (binary) or anything orjson serialises
        (a JSON text message). It is encoded once. This returns once every local subscriber has
        the message in its budget: it never waits on a subscriber's socket. Cancelled before
        it starts, it publishes nothing.

        A float JSON has no number for (NaN, Infinity, -Infinity) is sent as ``null``, as
        orjson writes it, unless the Hub validates what it publishes (``validate_publish``: in
        tests, by default).

        Raises:
            ValueError: ``topic`` is not a non-empty ``str``; or, where the Hub validates what
                it publishes, ``data`` holds a NaN or an infinity (nothing was published).
            TypeError: ``data`` cannot be serialised; nothing was published.
        """
        await trio.lowlevel.checkpoint()
        _check_topic(topic)
        wire = encode(data, self._validate)
        published = await self._backend.publish(topic, wire, self._history_of(topic))
        return self._fan_out(published, exclude)

    def publish_nowait(
        self, topic: str, data: object, *, exclude: WebSocket | Iterable[WebSocket] | None = None
    ) -> Position:
        """:meth:`publish` from synchronous code.

        Raises:
            trio.WouldBlock: the backend cannot publish without waiting now (never: memory).
            ValueError, TypeError: as :meth:`publish`.
        """
        _check_topic(topic)
        wire = encode(data, self._validate)
        published = self._backend.publish_nowait(topic, wire, self._history_of(topic))
        return self._fan_out(published, exclude)

    async def history(self, topic: str, since: Position) -> list[Message]:
        """The kept messages of ``topic`` published after ``since``, oldest first (what a
        reconnecting consumer missed; SSE streams resume with it).

        Raises:
            HistoryGap: some of them are no longer kept, or ``since`` is of another epoch.
            HubUnavailable: the backend cannot be reached.
        """
        _check_topic(topic)
        kept = await self._backend.history(topic, since)
        return [Message(p.topic, p.position, p.wire.data) for p in kept]

    async def _recovery(self, topic: str, since: Position | None) -> Recovery:
        """What a consumer at ``since`` missed of ``topic``, read *after* it subscribed, so
        that nothing falls between the history and the live messages; the live ones not
        newer than :attr:`Recovery.position` are then dropped (:func:`is_newer`).

        Raises:
            HubUnavailable: the backend cannot be reached.
        """
        detail = ""
        if since is not None:
            try:
                missed = await self._backend.history(topic, since)
            except HistoryGap as gap:
                detail = gap.detail
            else:
                return Recovery(since, missed, was_recovering=True, recovered=True)
        position, _ = await self._backend.kept(topic, None)
        return Recovery(position, [], since is not None, recovered=False, detail=detail)

    def _history_of(self, topic: str) -> History:
        return self._topic_history.get(topic, self._history)

    def _fan_out(
        self, published: Published, exclude: WebSocket | Iterable[WebSocket] | None
    ) -> Position:
        self._published += 1
        local = self._topics.get(published.topic)
        if local is not None:
            # every one in the snapshot is active: a delivery awaits nothing and can remove only
            # its own subscriber (the close policy, or a connection that is closing)
            if exclude is None:
                for subscriber in local.snapshot():
                    subscriber.deliver(published)
            else:
                skip = (exclude,) if isinstance(exclude, WebSocket) else frozenset(exclude)
                for subscriber in local.snapshot():
                    if subscriber.target not in skip:
                        subscriber.deliver(published)
        return published.position

    def _from_backend(self, published: Published) -> None:
        """A message another process published to a topic this one subscribed to (dropped if
        its last subscriber here is gone: it may still come until the backend unsubscribed)."""
        local = self._topics.get(published.topic)
        if local is not None:
            for subscriber in local.snapshot():
                subscriber.deliver(published)

    # -- subscribing ---------------------------------------------------------------------------

    def join(
        self,
        topic: str,
        ws: WebSocket,
        *,
        presence: object = None,
        since: Position | None = None,
        presence_events: bool | None = None,
        envelope: bool | None = None,
        max_pending: int | None = None,
        max_pending_bytes: int | None = None,
        policy: Policy | None = None,
    ) -> AbstractAsyncContextManager[Member]:
        """Make ``ws`` a member of ``topic`` for the ``async with`` block.

        Every message published to ``topic`` after the join reaches ``ws`` once, in publish
        order and in order with the handler's own sends, until the block ends or the
        connection does. Leaving is automatic (at the end of the block, even when it is
        cancelled or fails) and idempotent. One connection may join many topics.

        Args:
            topic: The topic.
            ws: An accepted WebSocket.
            presence: A JSON-able value listed by :meth:`members` while the member is in.
            since: A position the client saw: first deliver every message after it, then the
                live stream.
            presence_events, envelope, max_pending, max_pending_bytes, policy: This member's
                own values of the Hub's options.

        Raises:
            ValueError: ``topic`` is not a non-empty ``str``, or an option is out of range.
            WebSocketStateError: ``ws`` is not accepted, or is closing.
            TypeError: ``presence`` is not JSON-able, or ``since`` not a Position.
            HistoryGap: ``since`` was given and what came after it is no longer kept;
                nothing was joined.
        """
        _check_topic(topic)
        if ws.application_state is not WebSocketState.CONNECTED:
            raise WebSocketStateError(
                f"hub.join() needs an accepted, open WebSocket; this one is"
                f" {ws.application_state.name}"
            )
        if presence is not None:
            orjson.dumps(presence)  # a TypeError now, not in another process
        if since is not None and not isinstance(since, Position):
            raise TypeError(f"since is a Position(epoch, offset), not {since!r}")
        member = Member(
            self,
            topic,
            ws,
            self._budget_with(max_pending, max_pending_bytes, policy),
            presence=presence,
            envelope=self._envelope if envelope is None else envelope,
        )
        events = self._presence_events if presence_events is None else presence_events
        return self._membership(member, since, events)

    def subscribe(
        self,
        topic: str,
        *,
        max_pending: int | None = None,
        max_pending_bytes: int | None = None,
        policy: Policy | None = None,
    ) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe a consumer that is not a WebSocket (a background task, a test):
        ``async with hub.subscribe(topic) as messages: async for message in messages: ...``.

        The same budget and policies apply; the block's end unsubscribes.

        Raises:
            ValueError: ``topic`` is not a non-empty ``str``, or an option is out of range.
        """
        _check_topic(topic)
        budget = self._budget_with(max_pending, max_pending_bytes, policy)
        return self._subscription(Subscription(self, topic, budget))

    def _budget_with(
        self, max_pending: int | None, max_pending_bytes: int | None, policy: Policy | None
    ) -> _Budget:
        default = self._budget
        return _Budget(
            default.max_pending if max_pending is None else max_pending,
            default.max_pending_bytes if max_pending_bytes is None else max_pending_bytes,
            default.policy if policy is None else policy,
        )

    @asynccontextmanager
    async def _membership(
        self, member: Member, since: Position | None, events: bool
    ) -> AsyncIterator[Member]:
        topic = member.topic
        try:
            if since is not None:
                member._recovering = []
            await self._add(member)
            if since is not None:
                member._recover(await self._backend.history(topic, since), since)
            if member.presence is not None:
                await self._backend.add_presence(topic, member.key, member.presence)
            if events:
                notice = {"type": "user_joined", "topic": topic, "presence": member.presence}
                await self.publish(topic, notice, exclude=member.ws)
        except BaseException:
            await self._leave(member, None)
            raise
        try:
            yield member
        finally:
            notice = {"type": "user_left", "topic": topic, "presence": member.presence}
            await self._leave(member, notice if events else None)

    @asynccontextmanager
    async def _subscription(self, subscription: Subscription) -> AsyncIterator[Subscription]:
        try:
            await self._add(subscription)
            yield subscription
        finally:
            subscription._end(StopAsyncIteration())
            await self._leave(subscription, None)

    async def _add(self, subscriber: _Subscriber) -> None:
        topic = subscriber.topic
        local = self._topics.get(topic)
        if local is None:
            local = self._topics[topic] = _Local()
        local.add(subscriber)
        if topic not in self._subscribed:
            self._subscribed.add(topic)
            await self._backend.subscribe(topic)

    def _remove(self, subscriber: _Subscriber) -> None:
        """Stop delivering to ``subscriber`` (now: no await); idempotent."""
        local = self._topics.get(subscriber.topic)
        if local is not None and local.remove(subscriber) and not local.subscribers:
            del self._topics[subscriber.topic]

    async def _leave(self, subscriber: _Subscriber, notice: object) -> None:
        """Remove ``subscriber`` here and from the backend, even when cancelled (bounded)."""
        self._remove(subscriber)
        topic = subscriber.topic
        with trio.move_on_after(LEAVE_TIMEOUT, shield=True):
            if isinstance(subscriber, Member) and subscriber.presence is not None:
                await self._backend.remove_presence(topic, subscriber.key)
            if notice is not None:
                try:
                    await self.publish(topic, notice)
                except HubUnavailable as exc:  # the leave goes on; members() no longer lists it
                    logger.info("hub: the leave from %r was not announced: %s", topic, exc)
            if topic not in self._topics and topic in self._subscribed:
                self._subscribed.discard(topic)
                await self._backend.unsubscribe(topic)

    # -- looking -------------------------------------------------------------------------------

    async def members(self, topic: str) -> list[object]:
        """The presence values of ``topic``'s members that joined with one, in join order
        (across processes, with a shared backend).

        Raises:
            ValueError: ``topic`` is not a non-empty ``str``.
        """
        await trio.lowlevel.checkpoint()
        return await self._backend.presence(_check_topic(topic))

    def statistics(self) -> HubStatistics:
        """Counts since the Hub was made (in a forked worker: since it started serving
        there), and the state now."""
        members = pending = pending_bytes = 0
        for local in self._topics.values():
            members += len(local.subscribers)
            for subscriber in local.subscribers.values():
                pending += subscriber.pending
                pending_bytes += subscriber.pending_bytes
        redis = self._backend if isinstance(self._backend, RedisBackend) else None
        return HubStatistics(
            topics=len(self._topics),
            members=members,
            published=self._published,
            delivered=self._delivered,
            dropped=self._dropped,
            evicted=self._evicted,
            peak_pending=self._peak_pending,
            dropped_oldest=self._dropped_oldest,
            dropped_newest=self._dropped - self._dropped_oldest,
            pending=pending,
            pending_bytes=pending_bytes,
            redis_available=redis.available if redis else True,
            redis_outages=redis.outages if redis else 0,
            redis_reconnects=redis.reconnects if redis else 0,
            redis_outage_seconds=redis.outage_seconds if redis else 0.0,
            redis_dropped=redis.dropped if redis else 0,
        )


def _check_topic(topic: object) -> str:
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"a topic is a non-empty str, not {topic!r}")
    return topic
