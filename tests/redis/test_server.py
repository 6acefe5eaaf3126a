"""The redis_server fixture works, with coredis on Trio (the client the Redis Hub will use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import coredis
import pytest
import trio

if TYPE_CHECKING:
    from .server import RedisServer

pytestmark = pytest.mark.integration


async def test_set_get_and_one_pubsub_message(redis_server: RedisServer) -> None:
    with trio.fail_after(10):
        client = coredis.Redis.from_url(redis_server.url, decode_responses=True)
        async with client:
            assert await client.set("greeting", "hello")
            assert await client.get("greeting") == "hello"
            async with client.pubsub(channels=["room"], ignore_subscribe_messages=True) as sub:
                assert await client.publish("room", "hi") == 1
                async for message in sub:
                    assert (message["channel"], message["data"]) == ("room", "hi")
                    break


async def test_stop_and_start_keep_the_port_and_forget_the_data(
    redis_server: RedisServer,
) -> None:
    with trio.fail_after(20):
        client = coredis.Redis.from_url(redis_server.url, decode_responses=True)
        async with client:
            await client.set("key", "value")
        redis_server.stop()
        redis_server.start()
        client = coredis.Redis.from_url(redis_server.url, decode_responses=True)
        async with client:
            assert await client.get("key") is None  # no persistence


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_redis_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    import shutil

    from . import server

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="redis-server is missing"):
        server.redis_executable()
