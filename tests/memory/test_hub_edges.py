"""Edges of the Hub that the tests of its features do not reach: reading history directly,
backends asked about topics they never had, a published message's wires built once."""

from __future__ import annotations

import pytest
import trio

from fastrapi import HistoryGap, Hub, SlowConsumerError
from fastrapi.hub import MemoryBackend, Position
from fastrapi.hub._backend import Published
from fastrapi.hub._wire import encode


async def test_history_gives_what_came_after_a_position() -> None:
    hub = Hub(history_size=10)
    with trio.fail_after(5):
        first = await hub.publish("t", "one")
        await hub.publish("t", {"n": 2})
        await hub.publish("t", b"\x03")
        missed = await hub.history("t", first)
        assert [(m.data, m.position.offset) for m in missed] == [
            ('{"n":2}', first.offset + 1),
            (b"\x03", first.offset + 2),
        ]
        assert all(m.topic == "t" for m in missed)
        with pytest.raises(HistoryGap):
            await hub.history("t", Position("another epoch", 0))
        with pytest.raises(ValueError, match="topic"):
            await hub.history("", first)


async def test_a_memory_backend_forgets_nothing_it_never_had() -> None:
    backend = MemoryBackend()
    with trio.fail_after(5):
        await backend.unsubscribe("never")
        await backend.remove_presence("never", "key")
        assert await backend.presence("never") == []


def test_a_published_message_builds_each_wire_once() -> None:
    published = Published("t", Position("e", 1), encode({"a": 1}))
    assert published.enveloped is published.enveloped
    assert published.publication is published.publication
    assert published.enveloped.payload == b'{"topic":"t","epoch":"e","offset":1,"data":{"a":1}}'


async def test_a_message_from_the_backend_for_a_topic_nobody_here_is_in_is_dropped() -> None:
    """The close policy ends the only subscriber here at once, but the Hub stays subscribed
    on the backend until that subscriber's block ends: what comes meanwhile goes to nobody."""
    shared = MemoryBackend()
    here, there = Hub(backend=shared), Hub(backend=MemoryBackend(shared_with=shared))
    with trio.fail_after(5):
        async with here.subscribe("t", max_pending=1) as messages:
            for text in ("kept", "over", "after"):
                await there.publish("t", text)
            stats = here.statistics()
            assert (stats.topics, stats.members, stats.delivered, stats.evicted) == (0, 0, 1, 1)
            assert (await messages.__anext__()).data == "kept"
            with pytest.raises(SlowConsumerError):
                await messages.__anext__()
        async with here.subscribe("t") as messages:  # subscribed again: delivered again
            await there.publish("t", "again")
            assert (await messages.__anext__()).data == "again"
    assert here.statistics().delivered == 2
