"""The memory backend: topics, history and presence of one process, in its memory.

It is the default, and the reference the Redis backend is tested against. Several
:class:`MemoryBackend` objects may share one store (``MemoryBackend(shared_with=other)``), as
several processes share one Redis: each then gets what the others publish to the topics it
subscribed to, which is how the Hub's remote path is tested without a server.
"""

from __future__ import annotations

import secrets
from collections import deque
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, final

import trio

from ..exceptions import HistoryGap
from ._backend import Position, Published

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from ._backend import History
    from ._wire import Wire


@final
class _Topic:
    """What the store keeps of one topic."""

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(6)
        self.last = 0  # the offset of the latest message
        self.kept: deque[tuple[float, Published]] = deque()  # (when, message), oldest first
        self.presence: dict[str, object] = {}
        self.subscribers: dict[int, MemoryBackend] = {}

    def expire(self, ttl: float | None) -> None:
        if ttl is not None:
            oldest = trio.current_time() - ttl
            while self.kept and self.kept[0][0] < oldest:
                self.kept.popleft()


@final
class _Store:
    def __init__(self) -> None:
        self.topics: dict[str, _Topic] = {}
        self.ttl: dict[str, float | None] = {}  # the history_ttl each topic was last published with


@final
class MemoryBackend:
    """Topics in this process's memory (the Hub's default backend).

    A topic lives while it has subscribers, presence or kept history (at most its
    ``history_size`` messages); then it is forgotten, and its next message starts a new epoch.

    Args:
        shared_with: Another memory backend whose store to share (for tests of several Hubs,
            as several processes would share one Redis).
    """

    def __init__(self, *, shared_with: MemoryBackend | None = None) -> None:
        self._store: _Store = shared_with._store if shared_with is not None else _Store()
        self._deliver: Callable[[Published], None] | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Nothing to run: memory needs no connection."""
        yield

    def connect(self, deliver: Callable[[Published], None]) -> None:
        if self._deliver is not None:
            raise RuntimeError("this backend serves a Hub already: give each Hub its own")
        self._deliver = deliver

    def _topic(self, name: str) -> _Topic:
        topic = self._store.topics.get(name)
        if topic is None:
            topic = self._store.topics[name] = _Topic()
        return topic

    async def publish(self, topic: str, wire: Wire, history: History) -> Published:
        return self.publish_nowait(topic, wire, history)

    def publish_nowait(self, topic: str, wire: Wire, history: History) -> Published:
        kept = self._topic(topic)
        kept.last += 1
        published = Published(topic, Position(kept.epoch, kept.last), wire)
        self._store.ttl[topic] = history.ttl
        if history.size:
            kept.kept.append((trio.current_time(), published))
            while len(kept.kept) > history.size:
                kept.kept.popleft()
        for other in list(kept.subscribers.values()):
            if other is not self and other._deliver is not None:
                other._deliver(published)
        if not history.size:
            self._forget_if_unused(topic, kept)  # a publish to nobody leaves nothing behind
        return published

    async def subscribe(self, topic: str) -> None:
        self._topic(topic).subscribers[id(self)] = self

    async def unsubscribe(self, topic: str) -> None:
        kept = self._store.topics.get(topic)
        if kept is None:
            return
        kept.subscribers.pop(id(self), None)
        self._forget_if_unused(topic, kept)

    def _forget_if_unused(self, name: str, topic: _Topic) -> None:
        """Forget a topic nobody is in and that keeps nothing: its next message starts a new
        epoch (positions of the old one get a HistoryGap, as they should)."""
        topic.expire(self._store.ttl.get(name))
        if not (topic.kept or topic.presence or topic.subscribers):
            del self._store.topics[name]
            self._store.ttl.pop(name, None)

    async def add_presence(self, topic: str, key: str, value: object) -> None:
        self._topic(topic).presence[key] = value

    async def remove_presence(self, topic: str, key: str) -> None:
        kept = self._store.topics.get(topic)
        if kept is not None:
            kept.presence.pop(key, None)
            self._forget_if_unused(topic, kept)

    async def presence(self, topic: str) -> list[object]:
        kept = self._store.topics.get(topic)
        return list(kept.presence.values()) if kept is not None else []

    async def history(self, topic: str, since: Position) -> list[Published]:
        kept = self._store.topics.get(topic)
        if kept is None or kept.epoch != since.epoch:
            raise HistoryGap(topic, since, "that epoch of the topic is gone")
        if since.offset > kept.last:
            raise HistoryGap(topic, since, f"the topic's latest offset is {kept.last}")
        kept.expire(self._store.ttl.get(topic))
        first = kept.kept[0][1].position.offset if kept.kept else kept.last + 1
        if since.offset < first - 1:
            raise HistoryGap(
                topic, since, f"messages {since.offset + 1} to {first - 1} are no longer kept"
            )
        return [message for _, message in kept.kept if message.position.offset > since.offset]

    async def kept(self, topic: str, after: int | None) -> tuple[Position, list[Published]]:
        kept = self._topic(topic)
        position = Position(kept.epoch, kept.last)
        messages: list[Published] = []
        if after is not None:
            kept.expire(self._store.ttl.get(topic))
            messages = [message for _, message in kept.kept if message.position.offset > after]
        self._forget_if_unused(topic, kept)
        return position, messages
