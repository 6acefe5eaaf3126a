"""Rooms and fan-out: :class:`Hub`, the one way fastrapi sends a message to many.

``from fastrapi import Hub`` is the usual import; the other names here are what the Hub hands
out (members, subscriptions, messages, positions, statistics) and its memory backend.
"""

from __future__ import annotations

from ..exceptions import HistoryGap as HistoryGap
from ..exceptions import HubUnavailable as HubUnavailable
from ..exceptions import SlowConsumerError as SlowConsumerError
from ._backend import Position as Position
from ._hub import Hub as Hub
from ._hub import HubStatistics as HubStatistics
from ._members import Member as Member
from ._members import Message as Message
from ._members import Subscription as Subscription
from ._memory import MemoryBackend as MemoryBackend
from ._protocol import HubConnection as HubConnection
from ._redis import RedisBackend as RedisBackend

__all__ = [
    "HistoryGap",
    "Hub",
    "HubConnection",
    "HubStatistics",
    "HubUnavailable",
    "Member",
    "MemoryBackend",
    "Message",
    "Position",
    "RedisBackend",
    "SlowConsumerError",
    "Subscription",
]
