"""The Hub on a real Redis: two Hubs, as two processes would be, share topics, presence, history."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import coredis
import pytest
import trio
import trio.testing
import trustme

from fastrapi import FastrAPI, HistoryGap, Hub, HubUnavailable, WebSocket
from fastrapi.hub import Position, RedisBackend
from fastrapi.testing import open_websocket

from .server import RedisServer, redis_executable

if TYPE_CHECKING:
    from pathlib import Path

    from fastrapi.hub import Subscription

pytestmark = pytest.mark.integration


async def received(messages: Subscription, count: int) -> list[object]:
    return [(await messages.__anext__()).data for _ in range(count)]


async def flush(server: RedisServer) -> None:
    client = coredis.Redis.from_url(server.url)
    async with client:
        await client.flushall()


async def test_two_hubs_exchange_messages_in_order_and_exactly_once(
    redis_server: RedisServer,
) -> None:
    one, two = Hub(redis_server.url), Hub(redis_server.url)
    with trio.fail_after(10):
        async with (
            one.running(),
            two.running(),
            one.subscribe("t") as here,
            two.subscribe("t") as there,
        ):
            for n in range(20):
                await (one if n % 2 else two).publish("t", {"n": n})
            await one.publish("t", b"\x00end")
            expected = {n + 1: f'{{"n":{n}}}' for n in range(20)} | {21: b"\x00end"}
            for messages in (here, there):
                got = [await messages.__anext__() for _ in range(21)]
                # each once, with the offset of the publish order (published one at a time)
                assert {m.position.offset: m.data for m in got} == expected
                by_one = {k for k in expected if k % 2 == 0 or k == 21}  # n odd, and the end
                for mine in (True, False):  # each Hub's messages in the order it published them
                    offsets = [
                        m.position.offset for m in got if (m.position.offset in by_one) == mine
                    ]
                    assert offsets == sorted(offsets)
                with trio.move_on_after(0.3):  # nothing more: no message twice
                    extra = await messages.__anext__()
                    pytest.fail(f"a message came twice: {extra.data!r}")


async def test_presence_lists_the_members_of_both_hubs_and_forgets_a_stopped_one(
    redis_server: RedisServer,
) -> None:
    one = RedisBackend(redis_server.url, presence_ttl=1.0)
    two = RedisBackend(redis_server.url, presence_ttl=1.0)
    hub_one, hub_two = Hub(backend=one), Hub(backend=two)
    with trio.fail_after(15):
        async with hub_two.running():
            async with hub_one.running():
                await one.add_presence("room", "a", {"user": "ann"})
                await two.add_presence("room", "b", {"user": "bob"})
                await trio.sleep(1.5)  # longer than presence_ttl: both refresh theirs
                assert await hub_one.members("room") == [{"user": "ann"}, {"user": "bob"}]
                assert await hub_two.members("room") == [{"user": "ann"}, {"user": "bob"}]
            # hub_one's process stopped without removing its member (as a killed one would)
            while await hub_two.members("room") != [{"user": "bob"}]:  # noqa: ASYNC110 - polls Redis
                await trio.sleep(0.2)
            await two.remove_presence("room", "b")
            assert await hub_two.members("room") == []


async def listed(one: Hub, two: Hub, topic: str, expected: list[object]) -> None:
    """Wait until both Hubs list ``expected`` as ``topic``'s members (Redis may not answer)."""
    while True:
        with contextlib.suppress(HubUnavailable):
            if await one.members(topic) == expected and await two.members(topic) == expected:
                return
        await trio.sleep(0.05)


@pytest.mark.parametrize("lost", ["restarted", "flushed", "deleted"])
async def test_presence_of_connected_members_comes_back_after_redis_loses_it(
    redis_server: RedisServer, lost: str
) -> None:
    one = RedisBackend(redis_server.url, presence_ttl=1.0)
    two = RedisBackend(redis_server.url, presence_ttl=1.0)
    hub_one, hub_two = Hub(backend=one), Hub(backend=two)
    ann, bob, cat, dan = ({"user": name} for name in ("ann", "bob", "cat", "dan"))
    with trio.fail_after(20):
        async with hub_one.running(), hub_two.running():
            await one.add_presence("room", "a", ann)
            await two.add_presence("room", "b", bob)
            await one.add_presence("room", "c", cat)
            await two.add_presence("lobby", "b2", bob)
            expected: list[object] = [ann, bob, cat]
            assert await hub_one.members("room") == await hub_two.members("room") == expected
            if lost == "restarted":  # no persistence: every key is gone
                redis_server.stop()
                redis_server.start()
            else:
                if lost == "flushed":
                    await flush(redis_server)
                else:  # the room's keys only (evicted, say): both processes are still alive
                    client = coredis.Redis.from_url(redis_server.url)
                    async with client:
                        await client.delete(["fastrapi:room:members", "fastrapi:room:presence"])
                # a join before the refreshers notice: the keys are there again, and the
                # members Redis lost must come back all the same
                await two.add_presence("room", "d", dan)
                expected.append(dan)
            # each process refreshes every presence_ttl / 3 and reconnects within max_backoff
            with trio.fail_after(5):
                await listed(hub_one, hub_two, "room", expected)
                await listed(hub_one, hub_two, "lobby", [bob])
            await one.remove_presence("room", "a")  # what came back leaves as before
            assert await hub_one.members("room") == await hub_two.members("room") == expected[1:]


async def test_history_is_recovered_through_the_other_hub_and_a_flush_is_a_gap(
    redis_server: RedisServer,
) -> None:
    one = Hub(redis_server.url, history_size=10)
    two = Hub(redis_server.url, history_size=10)
    with trio.fail_after(10):
        async with one.running(), two.running():
            first = await one.publish("t", "first")
            await one.publish("t", "second")
            await one.publish("t", b"\x00third")
            kept = await two._backend.history("t", first)
            assert [m.wire.data for m in kept] == ["second", b"\x00third"]
            assert [m.position for m in kept] == [
                Position(first.epoch, 2),
                Position(first.epoch, 3),
            ]
            assert await two._backend.history("t", Position(first.epoch, 3)) == []
            with pytest.raises(HistoryGap, match="latest offset is 3"):
                await two._backend.history("t", Position(first.epoch, 4))
            await flush(redis_server)
            again = await two.publish("t", "after the flush")
            assert again.epoch != first.epoch
            assert again.offset == 1
            with pytest.raises(HistoryGap, match="that epoch of the topic is gone"):
                await one._backend.history("t", first)


async def test_history_beyond_its_size_is_a_gap(redis_server: RedisServer) -> None:
    hub = Hub(redis_server.url)
    hub.set_history("t", 2)
    with trio.fail_after(10):
        async with hub.running():
            first = await hub.publish("t", 0)
            for n in range(1, 300):  # MAXLEN ~ trims by whole nodes: push far past the size
                await hub.publish("t", n)
            with pytest.raises(HistoryGap, match="no longer kept"):
                await hub._backend.history("t", first)


async def test_history_older_than_its_ttl_is_a_gap(redis_server: RedisServer) -> None:
    hub = Hub(redis_server.url, history_size=10, history_ttl=0.6)
    with trio.fail_after(10):
        async with hub.running():
            first = await hub.publish("t", "old")
            await trio.sleep(0.35)
            second = await hub.publish("t", "newer")  # the topic lives 0.6s from each publish
            await trio.sleep(0.35)  # on Redis's clock too: the first is past its ttl
            await hub.publish("t", "newest")
            with pytest.raises(HistoryGap, match=r"messages 1 to [12] are no longer kept"):
                await hub.history("t", Position(first.epoch, 0))
            assert [m.data for m in await hub.history("t", second)] == ["newest"]


async def test_delivery_resumes_after_redis_restarts(redis_server: RedisServer) -> None:
    one, two = Hub(redis_server.url), Hub(redis_server.url)
    with trio.fail_after(30):
        async with one.running(), two.running(), two.subscribe("t") as there:
            await one.publish("t", "before")
            assert await received(there, 1) == ["before"]
            redis_server.stop()
            with pytest.raises(HubUnavailable):
                await one.publish("t", "during")
            redis_server.start()
            while True:  # until both reconnected and two resubscribed
                try:
                    await one.publish("t", "after")
                except HubUnavailable:
                    await trio.sleep(0.2)
                    continue
                with trio.move_on_after(0.5):
                    assert await received(there, 1) == ["after"]
                    break
            await one.publish("t", "later")
            assert await received(there, 1) == ["later"]


async def test_publish_while_redis_is_unreachable_fails_within_its_bound(
    redis_server: RedisServer,
) -> None:
    backend = RedisBackend(redis_server.url, timeout=0.5, startup_timeout=0, start_degraded=True)
    hub = Hub(backend=backend)
    redis_server.stop()
    with trio.fail_after(10):
        async with hub.running():
            with pytest.raises(HubUnavailable, match="publish"):
                await hub.publish("t", "nobody hears this")
            redis_server.start()
            while True:  # it connects once Redis is there
                try:
                    assert (await hub.publish("t", "now")).offset == 1
                    break
                except HubUnavailable:
                    await trio.sleep(0.2)


async def test_a_redis_hub_is_used_in_the_app_lifespan(redis_server: RedisServer) -> None:
    hub = Hub(redis_server.url)
    app = FastrAPI(hub=hub)
    with trio.fail_after(10):
        with pytest.raises(HubUnavailable, match="not running"):
            await hub.publish("t", "too early")
        async with app.running():
            assert (await hub.publish("t", "in the lifespan")).offset == 1
        with pytest.raises(HubUnavailable, match="not running"):
            await hub.publish("t", "too late")


async def test_a_redis_hub_runs_once_at_a_time_and_each_run_is_a_new_process(
    redis_server: RedisServer,
) -> None:
    hub = Hub(redis_server.url)
    with trio.fail_after(10):
        async with hub.running():
            first = repr(hub), repr(hub._backend)
            with pytest.raises(RuntimeError, match="running already"):
                async with hub.running():
                    pytest.fail("a second run of one backend at once")
            assert (repr(hub), repr(hub._backend)) == first  # the run goes on as it was
            assert (await hub.publish("t", "still running")).offset == 1
        async with hub.running():
            again = repr(hub), repr(hub._backend)
    assert first[0] != again[0]
    assert first[1] != again[1]


async def test_two_hubs_exchange_a_message_over_tls(tmp_path: Path) -> None:
    with RedisServer(redis_executable(), tmp_path, ca=trustme.CA()) as server:
        one, two = Hub(server.url), Hub(server.url)  # trusting the CA; the name is checked
        with trio.fail_after(10):
            async with one.running(), two.running(), two.subscribe("t") as there:
                await one.publish("t", "over TLS")
                assert await received(there, 1) == ["over TLS"]


async def test_a_hub_that_does_not_trust_the_ca_says_so_within_its_bound(tmp_path: Path) -> None:
    with RedisServer(redis_executable(), tmp_path, ca=trustme.CA()) as server:
        url = f"rediss://127.0.0.1:{server.port}/0"  # the system's CAs only
        backend = RedisBackend(url, startup_timeout=0)
        hub = Hub(backend=backend)
        with trio.fail_after(backend.timeout + 2):  # each call is bounded by timeout
            with pytest.raises(HubUnavailable, match="certificate verify failed"):
                async with hub.running():
                    pytest.fail("started with a server it cannot verify")
        degraded = Hub(backend=RedisBackend(url, startup_timeout=0, start_degraded=True))
        with trio.fail_after(backend.timeout * 2 + 2):
            async with degraded.running():
                with pytest.raises(HubUnavailable, match="certificate verify failed"):
                    await degraded.publish("t", "to an unverified server")


async def test_rediss_checks_the_host_name_unless_the_url_says_not_to(tmp_path: Path) -> None:
    ca = trustme.CA()
    with RedisServer(redis_executable(), tmp_path, ca=ca, tls_host="example.org") as server:
        # a trusted certificate, but for another name
        backend = RedisBackend(server.url, startup_timeout=0)
        checked = Hub(backend=backend)
        with trio.fail_after(backend.timeout + 2):  # each call is bounded by timeout
            with pytest.raises(HubUnavailable, match="mismatch"):
                async with checked.running():
                    pytest.fail("started with a server named otherwise")
        unchecked = Hub(f"{server.url}&ssl_check_hostname=false")
        # no verification at all: no name to check either (coredis refuses the two together)
        unverified = Hub(f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=none")
        with trio.fail_after(10):
            async with unchecked.running(), unverified.running():
                assert (await unchecked.publish("t", "name not checked")).offset == 1
                assert (await unverified.publish("t", "nothing checked")).offset == 2


async def test_hubs_over_a_unix_socket_keep_to_their_db(tmp_path: Path) -> None:
    with RedisServer(redis_executable(), tmp_path, unix=True) as server:
        one, two = Hub(f"{server.url}?db=3"), Hub(f"{server.url}?db=3")
        three, four = Hub(f"{server.url}?db=4"), Hub(f"{server.url}?db=4")
        with trio.fail_after(10):
            async with (
                one.running(),
                two.running(),
                three.running(),
                four.running(),
                two.subscribe("t") as in_3,
                four.subscribe("t") as in_4,
            ):
                await one.publish("t", "in db 3")
                await three.publish("t", "in db 4")
                # Redis sends pub/sub messages to all databases: had "in db 3" reached four,
                # it would have come first
                assert await received(in_4, 1) == ["in db 4"]
                assert await received(in_3, 1) == ["in db 3"]
                await one.publish("t", "in db 3 again")
                assert await received(in_3, 1) == ["in db 3 again"]  # not "in db 4"
            for db, kept in ((0, 0), (3, 1), (4, 1)):  # the topic's keys are in its database
                client = coredis.Redis.from_url(f"{server.url}?db={db}")
                async with client:
                    assert await client.exists(["fastrapi:t:meta"]) == kept, db


def test_redis_options_are_checked() -> None:
    with pytest.raises(ValueError, match="a Redis URL starts with"):
        Hub("http://localhost")
    with pytest.raises(ValueError, match="a url or a backend, not both"):
        Hub("redis://localhost", backend=RedisBackend("redis://localhost"))
    with pytest.raises(TypeError, match=r"a backend is Hub\(backend=\.\.\.\)"):
        Hub(RedisBackend("redis://localhost"))  # type: ignore[arg-type]  # the mistake tested
    with pytest.raises(ValueError, match="presence_ttl must be"):
        RedisBackend("redis://localhost", presence_ttl=0)
    with pytest.raises(ValueError, match="buffer must be"):
        RedisBackend("unix:///nowhere", buffer=0)
    with pytest.raises(ValueError, match="max_backoff must be a positive number"):
        RedisBackend("redis://localhost", max_backoff=0)
    with pytest.raises(ValueError, match="startup_timeout must be 0 or more"):
        RedisBackend("redis://localhost", startup_timeout=-1)
    with pytest.raises(trio.WouldBlock, match=r"await hub\.publish"):
        Hub("rediss://localhost").publish_nowait("t", "x")


def test_without_coredis_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "coredis", None)
    monkeypatch.setitem(sys.modules, "coredis.retry", None)
    with pytest.raises(ImportError, match=r"pip install fastrapi-trio\[redis\]"):
        Hub("redis://localhost")


async def test_the_memory_hub_needs_nothing_running() -> None:
    hub = Hub()
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages:
            await hub.publish("t", "no server")
            assert await received(messages, 1) == ["no server"]


class Pushed:
    """What coredis's PubSub hands the reader: three messages at once, then nothing more."""

    def __init__(self) -> None:
        self.messages = [
            {"type": "subscribe", "channel": b"fastrapi:t", "data": 1},
            *({"type": "message", "channel": b"fastrapi:t", "data": b"m"} for _ in range(3)),
        ]

    async def get_message(self, ignore_subscribe_messages: bool) -> object:
        if not self.messages:
            await trio.sleep_forever()
        return self.messages.pop(0)


async def test_a_full_buffer_drops_counts_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    backend = RedisBackend("redis://localhost", buffer=1)
    send, receive = trio.open_memory_channel[Any](1)  # nobody hands over: it stays full
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(backend._read, Pushed(), send)  # type: ignore[arg-type]
            await trio.testing.wait_all_tasks_blocked()  # it read everything there was
            nursery.cancel_scope.cancel()
    assert backend.dropped == 2
    assert receive.receive_nowait() == (b"fastrapi:t", b"m")
    assert "1 message(s) from other processes dropped so far" in caplog.text


async def test_a_member_leaves_cleanly_while_redis_is_down(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "fastrapi.hub")
    hub = Hub(backend=RedisBackend(redis_server.url, timeout=0.5), presence_events=True)
    app = FastrAPI(hub=hub)

    @app.websocket("/room")
    async def room(ws: WebSocket) -> None:
        await ws.accept()
        async with hub.join("t", ws, presence="ann"):
            await ws.send_text("joined")
            await ws.receive_text()
        await ws.send_text("left")  # the leave did not raise out of the block

    with trio.fail_after(20):
        async with app.running(), open_websocket(app, "/room") as ann:
            assert await ann.receive_text() == "joined"
            redis_server.stop()
            await ann.send_text("leave")
            assert await ann.receive_text() == "left"
            assert hub.statistics().members == 0
    assert "the leave from 't' was not announced" in caplog.text


async def members_after_refreshes(backend: RedisBackend) -> list[list[object]]:
    """The members of topics a, b and c, each joined by one member ``k`` on ``backend``, as
    its Hub lists them twice ``presence_ttl`` later: only the refreshes keep them."""
    hub = Hub(backend=backend)
    with trio.fail_after(15):
        async with hub.running():
            for topic in ("a", "b", "c"):
                await backend.add_presence(topic, "k", topic)
            await trio.sleep(2 * backend.presence_ttl + 0.1)
            return [await hub.members(topic) for topic in ("a", "b", "c")]


async def test_a_member_that_leaves_during_a_refresh_is_neither_refreshed_nor_put_back(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = RedisBackend(redis_server.url, presence_ttl=1.2)
    renew = backend._renew
    left: list[str] = []

    async def renew_while_b_leaves(client: Any, *args: Any, **kwargs: Any) -> bool:
        # the refresh took its list of topics just now (no await since): all three are in it
        if kwargs["topic"] == "a" and {"b", "c"} <= backend._present.keys() and not left:
            left.append("b")
            await backend.remove_presence("b", "k")
        return await renew(client, *args, **kwargs)

    monkeypatch.setattr(backend, "_renew", renew_while_b_leaves)
    assert await members_after_refreshes(backend) == [["a"], [], ["c"]]
    assert left == ["b"]


async def test_a_refresh_longer_than_the_timeout_still_keeps_every_topic(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RedisBackend(redis_server.url, presence_ttl=1.2, timeout=0.3)
    renew = backend._renew

    async def slow_renew(client: Any, *args: Any, **kwargs: Any) -> bool:
        await trio.sleep(0.15)  # three topics: 0.45 s a refresh, more than the timeout
        return await renew(client, *args, **kwargs)

    monkeypatch.setattr(backend, "_renew", slow_renew)
    assert await members_after_refreshes(backend) == [["a"], ["b"], ["c"]]
    assert "cannot refresh presence" not in caplog.text
