"""The Hub's wire format (``hub/_wire.py``) and the Redis backend's messages
(``hub/_redis.py``), fed what a publisher, or anyone who may PUBLISH on the Redis server, could
put there.

The property: whatever is published comes back as it went (text, bytes or JSON, with its
position); bytes that are no Hub's message are a ``ValueError``, and a running Hub ignores them
(counted, logged) instead of crashing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import coredis
import orjson
import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st

from fastrapi import Hub
from fastrapi.hub import Position, RedisBackend
from fastrapi.hub._redis import _kind, _published
from fastrapi.hub._wire import encode, envelope
from tests.fuzz.conftest import json_values, memory_kept

if TYPE_CHECKING:
    from tests.redis.server import RedisServer

published_data = st.one_of(st.text(max_size=20), st.binary(max_size=20), json_values)
epochs = st.text(st.characters(blacklist_characters="\n"), min_size=1, max_size=12)
offsets = st.integers(0, 2**53)


def lua_message(origin: str, data: object, epoch: str, offset: int) -> bytes:
    """The message as the publish script puts it on the channel and in the stream."""
    wire = encode(data)
    return b"\n".join(
        [origin.encode(), _kind(wire).encode(), epoch.encode(), b"%d" % offset, wire.payload]
    )


@given(published_data, epochs, offsets, st.text(max_size=8))
def test_what_is_published_comes_back_as_it_went(
    data: object, epoch: str, offset: int, topic: str
) -> None:
    wire = encode(data)
    back = _published(topic, lua_message("origin", data, epoch, offset))
    assert back.topic == topic
    assert back.position == Position(epoch, offset)
    assert (back.wire.data, back.wire.payload, back.wire.is_json) == (
        wire.data,
        wire.payload,
        wire.is_json,
    )
    framed = envelope(back.wire, topic, back.position)
    if wire.is_text:
        decoded = orjson.loads(framed.payload)
        assert decoded == {
            "topic": topic,
            "epoch": epoch,
            "offset": offset,
            "data": orjson.loads(wire.payload) if wire.is_json else data,
        }
    else:
        assert framed is back.wire


@given(st.binary(max_size=40))
@example(b"junk")  # too few fields: the Hub's reader crashed, and the app with it
@example(b"o\nx\ne\n1\npayload")  # an unknown kind: KeyError
@example(b"o\nt\ne\n1\n\xff")  # text that is not UTF-8
@example(b"o\nt\n\xff\n1\n")  # an epoch that is not UTF-8
def test_any_bytes_are_a_message_or_a_value_error(message: bytes) -> None:
    try:
        back = _published("t", message)
    except ValueError:
        return
    assert back.position.offset == int(message.split(b"\n")[3])


@pytest.mark.integration
async def test_a_running_hub_ignores_what_no_hub_published(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = Hub(redis_server.url), Hub(redis_server.url)
    with trio.fail_after(10):
        async with one.running(), two.running(), one.subscribe("t") as messages:
            raw = coredis.Redis.from_url(redis_server.url)
            async with raw:
                for junk in (b"junk", b"o\nx\ne\n1\npayload", b"o\nt\ne\n1\n\xff"):
                    await raw.publish("fastrapi:0:t", junk)
                for _ in range(2):  # as a reconnected pub/sub may hand a message again
                    await raw.publish("fastrapi:0:t", lua_message("another", "once", "e", 1))
            await two.publish("t", "still here")
            assert (await messages.__anext__()).data == "once"
            assert (await messages.__anext__()).data == "still here"
    ignored = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(ignored) == 1  # logged once, not for every message
    assert "1 message(s) on b'fastrapi:0:t' ignored so far: no Hub published it" in ignored[0]


def test_decoding_gives_memory_back() -> None:
    inputs = [lua_message("o", {"n": n, "s": "x" * n}, "e", n) for n in range(40)]
    inputs += [b"junk", b"o\nx\ne\n1\n"] * 10

    def run(message: object) -> object:
        assert isinstance(message, bytes)
        try:
            return _published("topic", message)
        except ValueError:
            return None

    assert memory_kept(run, inputs) < 16 * 1024


def test_a_redis_backend_serves_one_hub() -> None:
    backend = RedisBackend("redis://127.0.0.1:1/0")
    Hub(backend=backend)
    with pytest.raises(RuntimeError, match="serves a Hub already"):
        Hub(backend=backend)
