"""The small interface between the Hub and where topics live: memory (one process) or Redis.

A backend does four things, and only these: it **publishes** a message (gives it its position,
keeps it in the topic's history, and hands it to every *other* process subscribed to the
topic), it **subscribes** this process to a topic (``deliver`` is then called with what others
publish there), it keeps **presence** (who is in a topic, across processes), and it replays
**history** after a position. Local fan-out (members, budgets, policies) is the Hub's, never
the backend's: a process subscribes once per topic, however many members it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, final

from ._wire import envelope, publication

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from ._wire import Wire


@final
@dataclass(frozen=True, slots=True)
class Position:
    """Where a message stands in its topic: ``offset`` counts the topic's messages (from 1)
    within one ``epoch`` (a topic's history; a new epoch means the old offsets are gone).

    A client keeps the last one it saw and hands it back at ``hub.join(..., since=position)``.
    """

    epoch: str
    offset: int

    def __post_init__(self) -> None:
        if not isinstance(self.epoch, str) or not isinstance(self.offset, int):
            raise TypeError(f"a Position is (epoch: str, offset: int), not {self!r}")


@final
@dataclass(frozen=True, slots=True)
class History:
    """How much of a topic to keep: the last ``size`` messages, none older than ``ttl``
    seconds (``None``: no age limit)."""

    size: int = 0
    ttl: float | None = None

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"history_size must be 0 or more, not {self.size}")
        if self.ttl is not None and not self.ttl > 0:
            raise ValueError(f"history_ttl must be a positive number of seconds, not {self.ttl}")


@final
class Published:
    """A message with its position, as the backend hands it back or to other processes."""

    __slots__ = ("_enveloped", "_publication", "position", "topic", "wire")

    def __init__(self, topic: str, position: Position, wire: Wire) -> None:
        self.topic = topic
        self.position = position
        self.wire = wire
        self._enveloped: Wire | None = None
        self._publication: Wire | None = None

    @property
    def enveloped(self) -> Wire:
        """The message inside its envelope (topic and position), built once on first use."""
        if self._enveloped is None:
            self._enveloped = envelope(self.wire, self.topic, self.position)
        return self._enveloped

    @property
    def publication(self) -> Wire:
        """The message as the ``fastrapi.hub.v1`` protocol sends it, built once on first use."""
        if self._publication is None:
            self._publication = publication(self.wire, self.topic, self.position)
        return self._publication


class Backend(Protocol):
    """What the Hub needs from where topics live."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """The backend's connections and tasks, for the block (:meth:`Hub.running`)."""

    def connect(self, deliver: Callable[[Published], None]) -> None:
        """Tell the backend where to hand what *other* processes publish to the topics this
        one subscribed to (called once, by the Hub that uses the backend)."""

    async def publish(self, topic: str, wire: Wire, history: History) -> Published:
        """Give the message its position, keep it as ``history`` says, pass it to the other
        subscribed processes; return it with its position (for local fan-out)."""

    def publish_nowait(self, topic: str, wire: Wire, history: History) -> Published:
        """:meth:`publish` without waiting; ``trio.WouldBlock`` if that cannot be done now."""

    async def subscribe(self, topic: str) -> None:
        """This process wants what others publish to ``topic`` (the first local member)."""

    async def unsubscribe(self, topic: str) -> None:
        """This process no longer does (its last local member left)."""

    async def add_presence(self, topic: str, key: str, value: object) -> None:
        """Record that member ``key`` (unique across processes) is in ``topic``."""

    async def remove_presence(self, topic: str, key: str) -> None:
        """Forget member ``key`` of ``topic`` (idempotent)."""

    async def presence(self, topic: str) -> list[object]:
        """The presence values of ``topic``'s members, in join order."""

    async def history(self, topic: str, since: Position) -> list[Published]:
        """Every kept message of ``topic`` after ``since``, in order.

        Raises:
            HistoryGap: some of them are no longer kept (evicted, expired), or ``since`` is of
                another epoch.
        """

    async def kept(self, topic: str, after: int | None) -> tuple[Position, list[Published]]:
        """The topic's position now (the epoch is made if the topic has none yet, so a
        consumer can hold a position before the first message) and, unless ``after`` is
        ``None``, its kept messages of that epoch with an offset above ``after``, in order,
        without a check for what is no longer kept."""
