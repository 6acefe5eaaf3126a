"""The Hub with real connections: order, exclude, budgets and policies, presence, history."""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

import fastrapi
from fastrapi import CloseCode, FastrAPI, HistoryGap, Hub, Request, WebSocket, WebSocketDisconnect
from fastrapi.hub import Member, Position
from fastrapi.testing import WebSocketTestSession, open_websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .conftest import HTTP, Connect


def room_app(hub: Hub, **join: Any) -> FastrAPI:
    """A chat room on ``hub``: join the room of the path (with ``?name=`` as presence, and
    ``?epoch=&offset=`` to recover), say "joined", publish what the client sends to the
    others."""
    app = FastrAPI(hub=hub)

    @app.websocket("/rooms/{room}")
    async def room(
        ws: WebSocket, room: str, hub: Hub, name: str = "", epoch: str = "", offset: int = 0
    ) -> None:
        await ws.accept()
        since = Position(epoch, offset) if epoch else None
        try:
            async with hub.join(room, ws, presence=name or None, since=since, **join):
                await ws.send_text("joined")
                async for text in ws.iter_text():
                    await hub.publish(room, text, exclude=ws)
        except HistoryGap:
            await ws.send_json({"type": "reload"})

    return app


async def test_every_member_gets_every_message_once_in_publish_order(connect: Connect) -> None:
    hub = Hub()
    app = room_app(hub)
    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(connect(app, "/rooms/a")) for _ in range(3)]
            for client in clients:
                assert await client.receive_text() == "joined"

            async def publisher(name: str) -> None:
                for i in range(50):
                    await hub.publish("a", f"{name}{i}")

            async with trio.open_nursery() as nursery:
                for name in "xyz":
                    nursery.start_soon(publisher, name)
            seen = [[await client.receive_text() for _ in range(150)] for client in clients]
    assert seen[0] == seen[1] == seen[2]
    assert sorted(seen[0]) == sorted(f"{n}{i}" for n in "xyz" for i in range(50))
    for name in "xyz":
        assert [m for m in seen[0] if m[0] == name] == [f"{name}{i}" for i in range(50)]
    stats = hub.statistics()
    assert (stats.published, stats.delivered, stats.dropped, stats.evicted) == (150, 450, 0, 0)


async def test_exclude_skips_the_sender(connect: Connect) -> None:
    hub = Hub()
    app = room_app(hub)
    with trio.fail_after(10):
        async with connect(app, "/rooms/a") as ann, connect(app, "/rooms/a") as bob:
            assert await ann.receive_text() == "joined"
            assert await bob.receive_text() == "joined"
            await ann.send_text("hi from ann")
            assert await bob.receive_text() == "hi from ann"
            await hub.publish("a", "for all")
            assert await ann.receive_text() == "for all"  # not its own "hi from ann"
            assert await bob.receive_text() == "for all"


async def test_exclude_takes_a_set_of_websockets(connect: Connect) -> None:
    hub = Hub()
    app = FastrAPI(hub=hub)
    members: list[WebSocket] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            members.append(ws)
            await ws.send_text("joined")
            await ws.receive_text()

    with trio.fail_after(10):
        async with AsyncExitStack() as stack:
            clients = []
            for _ in range(3):  # one after the other: members[i] is clients[i]'s
                clients.append(await stack.enter_async_context(connect(app, "/ws")))
                assert await clients[-1].receive_text() == "joined"
            await hub.publish("t", "not for the first two", exclude=set(members[:2]))
            await hub.publish("t", "for all", exclude=[])
            got = [await client.receive_text() for client in clients]
            assert await clients[2].receive_text() == "for all"
    assert got == ["for all", "for all", "not for the first two"]


async def test_messages_keep_their_order_with_the_handlers_own_sends(connect: Connect) -> None:
    hub = Hub()
    app = FastrAPI(hub=hub)

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            for i in range(20):
                await ws.send_text(f"own {i}")
                hub.publish_nowait("t", {"hub": i})
            await ws.send_text("end")

    with trio.fail_after(10):
        async with connect(app, "/ws") as client:
            got = [await client.receive() for _ in range(41)]
    expected: list[str] = []
    for i in range(20):
        expected += [f"own {i}", f'{{"hub":{i}}}']
    assert got == [*expected, "end"]


async def test_publish_from_an_http_route(connect: Connect, http: HTTP) -> None:
    hub = Hub()
    app = room_app(hub)

    @app.post("/rooms/{room}")
    async def push(room: str, request: Request, hub: Hub) -> dict[str, int]:
        position = await hub.publish(room, {"pushed": (await request.body()).decode()})
        return {"offset": position.offset}

    with trio.fail_after(10):
        async with connect(app, "/rooms/news") as client:
            assert await client.receive_text() == "joined"
            response = await http(app, "POST", "/rooms/news", body=b"hello")
            assert await client.receive_json() == {"pushed": "hello"}
    assert (response.status_code, response.json()) == (200, {"offset": 1})


async def test_presence_and_its_events(connect: Connect) -> None:
    hub = Hub(presence_events=True)
    app = room_app(hub)
    with trio.fail_after(10):
        async with connect(app, "/rooms/a?name=ann") as ann:
            assert await ann.receive_text() == "joined"
            async with connect(app, "/rooms/a?name=bob") as bob:
                assert await bob.receive_text() == "joined"
                assert await ann.receive_json() == {
                    "type": "user_joined",
                    "topic": "a",
                    "presence": "bob",
                }
                assert await hub.members("a") == ["ann", "bob"]
            assert await ann.receive_json() == {
                "type": "user_left",
                "topic": "a",
                "presence": "bob",
            }
            assert await hub.members("a") == ["ann"]
    assert await hub.members("a") == []
    assert hub.statistics().members == 0


async def test_history_replays_what_was_missed_then_goes_live(connect: Connect) -> None:
    hub = Hub(history_size=10, envelope=True)
    app = room_app(hub)
    positions = [await hub.publish("a", f"m{i}") for i in range(5)]
    since = positions[1]
    with trio.fail_after(10):
        async with connect(app, f"/rooms/a?epoch={since.epoch}&offset={since.offset}") as client:
            replayed = [await client.receive_json() for _ in range(3)]
            assert await client.receive_text() == "joined"
            await hub.publish("a", {"live": True})
            live = await client.receive_json()
    assert [m["data"] for m in replayed] == ["m2", "m3", "m4"]
    assert [m["offset"] for m in replayed] == [3, 4, 5]
    assert {m["epoch"] for m in replayed} == {since.epoch}
    assert live == {"topic": "a", "epoch": since.epoch, "offset": 6, "data": {"live": True}}


@pytest.mark.parametrize(
    "query",
    ["epoch={epoch}&offset=1", "epoch=other&offset=9", "epoch={epoch}&offset=99"],
    ids=["evicted", "other epoch", "future"],
)
async def test_a_history_gap_is_told_and_nothing_is_joined(connect: Connect, query: str) -> None:
    hub = Hub(history_size=3)
    app = room_app(hub)
    positions = [await hub.publish("a", f"m{i}") for i in range(10)]
    path = "/rooms/a?" + query.format(epoch=positions[0].epoch)
    with trio.fail_after(10):
        async with connect(app, path) as client:
            assert await client.receive_json() == {"type": "reload"}
            assert await client.wait_closed() == (1000, "")
    assert hub.statistics().members == 0


async def test_recovery_from_the_latest_position_replays_nothing() -> None:
    hub = Hub()  # no history: the latest position of a topic in use is still no gap
    app = room_app(hub)
    with trio.fail_after(10):
        async with hub.subscribe("a"):
            position = await hub.publish("a", "m")
            path = f"/rooms/a?epoch={position.epoch}&offset={position.offset}"
            async with open_websocket(app, path) as client:
                assert await client.receive_text() == "joined"


async def test_history_expires_after_its_ttl(autojump_clock: trio.testing.MockClock) -> None:
    hub = Hub()
    hub.set_history("a", 10, ttl=60)
    app = room_app(hub)
    first = await hub.publish("a", "old")
    await hub.publish("a", "newer")
    since = f"/rooms/a?epoch={first.epoch}&offset={first.offset}"
    async with open_websocket(app, since) as client:
        assert await client.receive_text() == "newer"
        assert await client.receive_text() == "joined"
    await trio.sleep(61)
    async with open_websocket(app, since) as client:
        assert await client.receive_json() == {"type": "reload"}


async def _stall_one_of_many(stack: AsyncExitStack, hub: Hub) -> WebSocketTestSession:
    """200 members that read and one that does not (yet) get the messages 0 to 99 of room
    "a"; check that the 200 got every one; return the one that did not read."""
    app = room_app(hub)
    others = [await stack.enter_async_context(open_websocket(app, "/rooms/a")) for _ in range(200)]
    stalled = await stack.enter_async_context(
        open_websocket(app, "/rooms/a", lockstep=True)  # its writes wait for its reads
    )
    for client in [*others, stalled]:
        assert await client.receive_text() == "joined"
    for i in range(100):
        await hub.publish("a", str(i))
    for client in others:
        assert [await client.receive_text() for _ in range(100)] == [str(i) for i in range(100)]
    return stalled


async def test_a_member_that_never_reads_is_closed_and_nobody_else_notices(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = Hub(max_pending=8)
    with trio.fail_after(60):
        async with AsyncExitStack() as stack:
            stalled = await _stall_one_of_many(stack, hub)
            got, closed = await _read_until_closed(stalled)
    assert closed.code == CloseCode.POLICY_VIOLATION
    assert closed.reason == "slow consumer: over max_pending (8 messages)"
    assert got == [str(i) for i in range(len(got))]
    assert 8 <= len(got) <= 9  # its budget, and the one being written when it stalled
    stats = hub.statistics()
    assert (stats.evicted, stats.dropped, stats.peak_pending) == (1, 0, 8)
    assert stats.delivered == 200 * 100 + len(got)
    logged = [r.getMessage() for r in caplog.records if r.name == "fastrapi.hub"]
    assert len(logged) == 1
    assert "of topic 'a' is over max_pending (8 messages): closed" in logged[0]


async def _read_until_closed(
    client: WebSocketTestSession,
) -> tuple[list[str], WebSocketDisconnect]:
    got: list[str] = []
    while True:
        try:
            got.append(await client.receive_text())
        except WebSocketDisconnect as closed:
            return got, closed


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
async def test_a_member_that_never_reads_loses_messages_per_policy(
    policy: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub = Hub(max_pending=8, policy=policy)  # type: ignore[arg-type]  # a Policy
    with trio.fail_after(60):
        async with AsyncExitStack() as stack:
            stalled = await _stall_one_of_many(stack, hub)
            got = [await stalled.receive_text() for _ in range(100 - hub.statistics().dropped)]
            await hub.publish("a", "end")  # it is still a member, and hears this
            assert await stalled.receive_text() == "end"
    numbers = [int(text) for text in got]
    assert numbers == sorted(numbers)
    assert 8 <= len(numbers) <= 9
    if policy == "drop_newest":  # the first ones
        assert numbers == list(range(len(numbers)))
    else:  # the first ones already offered, then the latest
        assert numbers[-1] == 99
    stats = hub.statistics()
    assert (stats.evicted, stats.dropped) == (0, 100 - len(numbers))
    logged = [r.getMessage() for r in caplog.records if r.name == "fastrapi.hub"]
    assert len(logged) == 1  # once for the member, not once per message
    assert f"dropping messages ({policy})" in logged[0]


async def test_a_handler_cancelled_inside_join_leaves_no_member_behind() -> None:
    hub = Hub(presence_events=True)
    app = FastrAPI(hub=hub)
    inside = trio.Event()
    scopes: list[trio.CancelScope] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        with trio.CancelScope() as scope:
            scopes.append(scope)
            async with hub.join("t", ws, presence="ann"):
                inside.set()
                await trio.sleep_forever()
        await ws.send_json({"members": await hub.members("t"), **_counts(hub)})

    with trio.fail_after(10):
        async with hub.subscribe("t") as notices, open_websocket(app, "/ws") as client:
            await inside.wait()
            assert await hub.members("t") == ["ann"]
            scopes[0].cancel()
            assert await client.receive_json() == {"members": [], "members_left": 1}
            joined = await notices.__anext__()
            left = await notices.__anext__()
    assert [joined.json(), left.json()] == [
        {"type": "user_joined", "topic": "t", "presence": "ann"},
        {"type": "user_left", "topic": "t", "presence": "ann"},
    ]
    assert hub.statistics().members == 0


def _counts(hub: Hub) -> dict[str, int]:
    return {"members_left": hub.statistics().members}


async def test_a_join_cancelled_before_it_completes_leaves_nothing() -> None:
    hub = Hub(presence_events=True)
    app = FastrAPI(hub=hub)

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        with trio.CancelScope() as scope:
            scope.cancel()  # the join's notice is where it is cancelled
            async with hub.join("t", ws, presence="ann"):
                await ws.send_text("never")
        await ws.send_json({"members": await hub.members("t"), **_counts(hub)})

    with trio.fail_after(10):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_json() == {"members": [], "members_left": 0}
    assert hub.statistics().topics == 0


async def test_a_member_whose_connection_ended_is_dropped_at_the_next_publish() -> None:
    hub = Hub()
    app = FastrAPI(hub=hub)
    members: list[Member] = []
    release = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws) as member:
            members.append(member)
            await ws.close()
            await release.wait()

    with trio.fail_after(10):
        async with open_websocket(app, "/ws") as client:
            assert await client.wait_closed() == (1000, "")
            assert hub.statistics().members == 1
            await hub.publish("t", "late")
            assert hub.statistics().members == 0
            release.set()
    assert members[0].position is None
    assert hub.statistics().delivered == 0


async def test_join_checks_its_arguments() -> None:
    hub = Hub()
    app = FastrAPI(hub=hub)
    errors: list[Exception] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        attempts: list[dict[str, Any]] = [{}, {"presence": object()}, {"since": ("epoch", 1)}]
        for options in attempts:
            try:
                async with hub.join("t", ws, **options):
                    pass
            except Exception as exc:
                errors.append(exc)
            if not ws.application_state:
                await ws.accept()

    with trio.fail_after(10):
        async with open_websocket(app, "/ws"):
            pass
    assert [type(e) for e in errors] == [fastrapi.WebSocketStateError, TypeError, TypeError]
    assert "needs an accepted, open WebSocket; this one is CONNECTING" in str(errors[0])
    assert "since is a Position(epoch, offset), not ('epoch', 1)" in str(errors[2])
    assert hub.statistics().members == 0


# -- without WebSockets: subscriptions, bad input, the backend interface --------------------------


async def test_a_subscription_gets_messages_in_order_with_their_positions() -> None:
    hub = Hub()
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages:
            await hub.publish("t", "text")
            await hub.publish("t", b"\x00binary")
            await hub.publish("t", {"json": [1, 2]})
            got = [await messages.__anext__() for _ in range(3)]
    assert [m.data for m in got] == ["text", b"\x00binary", '{"json":[1,2]}']
    assert got[2].json() == {"json": [1, 2]}
    assert [m.position.offset for m in got] == [1, 2, 3]
    assert {m.topic for m in got} == {"t"}


async def test_a_subscription_ends_with_its_block() -> None:
    hub = Hub()
    got: list[object] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery, hub.subscribe("t") as messages:

            async def consume() -> None:
                async for message in messages:
                    got.append(message.data)

            nursery.start_soon(consume)
            await trio.testing.wait_all_tasks_blocked()
            hub.publish_nowait("t", "one")
            await trio.testing.wait_all_tasks_blocked()
    assert got == ["one"]
    assert hub.statistics().members == 0


async def test_a_slow_subscription_is_closed_after_what_was_pending() -> None:
    hub = Hub(max_pending=3)
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages, hub.subscribe("t") as fast:
            for i in range(5):
                await hub.publish("t", str(i))
                assert (await fast.__anext__()).data == str(i)
            got = [(await messages.__anext__()).data for _ in range(3)]
            with pytest.raises(fastrapi.SlowConsumerError, match="over max_pending"):
                await messages.__anext__()
    assert got == ["0", "1", "2"]
    assert hub.statistics().evicted == 1


@pytest.mark.parametrize(
    ("policy", "kept"), [("drop_newest", ["0", "1", "2"]), ("drop_oldest", ["2", "3", "4"])]
)
async def test_a_slow_subscription_drops_per_policy(policy: str, kept: list[str]) -> None:
    hub = Hub()
    with trio.fail_after(5):
        async with hub.subscribe("t", max_pending=3, policy=policy) as messages:  # type: ignore[arg-type]
            for i in range(5):
                await hub.publish("t", str(i))
            got = [(await messages.__anext__()).data for _ in range(3)]
    assert got == kept
    assert hub.statistics().dropped == 2


async def test_the_byte_budget_counts_too() -> None:
    hub = Hub(max_pending_bytes=10, policy="drop_newest")
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages:
            await hub.publish("t", "12345")
            await hub.publish("t", "678901")  # 11 bytes pending: over
            await hub.publish("t", "abcde")
            got = [(await messages.__anext__()).data for _ in range(2)]
    assert got == ["12345", "abcde"]


async def test_joins_and_leaves_during_publishes_are_safe() -> None:
    hub = Hub(max_pending=10_000)
    runs: list[list[int]] = []

    async def member(rounds: int) -> None:
        for _ in range(rounds):
            async with hub.subscribe("t") as messages:
                await trio.lowlevel.checkpoint()
                got: list[int] = []
                while messages.pending:
                    got.append(int((await messages.__anext__()).data))
                runs.append(got)

    async def publisher() -> None:
        for i in range(300):
            await hub.publish("t", str(i))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publisher)
            for rounds in range(1, 20):
                nursery.start_soon(member, rounds)
    assert sum(map(len, runs)) > 0
    for got in filter(None, runs):  # while it was in: every message, once, in order
        assert got == list(range(got[0], got[0] + len(got)))
    assert hub.statistics().members == 0


async def test_an_eviction_during_a_publish_does_not_disturb_the_others() -> None:
    hub = Hub()
    with trio.fail_after(5):
        async with (
            hub.subscribe("t", max_pending=1) as first,
            hub.subscribe("t") as second,
        ):
            await hub.publish("t", "a")
            await hub.publish("t", "b")  # evicts the first, then reaches the second
            assert [(await second.__anext__()).data for _ in range(2)] == ["a", "b"]
            assert (await first.__anext__()).data == "a"
    assert hub.statistics().evicted == 1


@pytest.mark.parametrize("topic", ["", 7, None, b"t"])
async def test_a_bad_topic_is_a_value_error(topic: Any) -> None:
    hub = Hub()
    with pytest.raises(ValueError, match="a topic is a non-empty str"):
        await hub.publish(topic, "x")
    with pytest.raises(ValueError, match="a topic is a non-empty str"):
        hub.publish_nowait(topic, "x")
    with pytest.raises(ValueError, match="a topic is a non-empty str"):
        hub.subscribe(topic)
    with pytest.raises(ValueError, match="a topic is a non-empty str"):
        await hub.members(topic)


async def test_data_that_cannot_be_serialised_is_a_type_error_and_nothing_is_sent() -> None:
    hub = Hub()
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages:
            with pytest.raises(TypeError, match="cannot serialise object to JSON"):
                await hub.publish("t", object())
            with pytest.raises(TypeError, match="cannot serialise set"):
                hub.publish_nowait("t", {1, 2})
            assert messages.pending == 0
    assert hub.statistics().published == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pending": 0}, "max_pending must be 1 or more"),
        ({"max_pending_bytes": 0}, "max_pending_bytes must be 1 or more"),
        ({"policy": "ignore"}, "policy must be one of close, drop_oldest, drop_newest"),
        ({"history_size": -1}, "history_size must be 0 or more"),
        ({"history_ttl": 0}, "history_ttl must be a positive number"),
    ],
)
def test_bad_options_are_value_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Hub(**options)


async def test_two_hubs_on_one_backend_hear_each_other() -> None:
    from fastrapi.hub import MemoryBackend

    shared = MemoryBackend()
    one, two = Hub(backend=shared), Hub(backend=MemoryBackend(shared_with=shared))
    with trio.fail_after(5):
        async with one.subscribe("t") as here, two.subscribe("t") as there:
            position = await one.publish("t", "from one")
            await two.publish("t", "from two")
            assert [(await here.__anext__()).data for _ in range(2)] == ["from one", "from two"]
            assert [(await there.__anext__()).data for _ in range(2)] == ["from one", "from two"]
        with pytest.raises(RuntimeError, match="serves a Hub already"):
            Hub(backend=shared)
    assert position.offset == 1


def test_a_route_wanting_the_hub_needs_an_app_with_one() -> None:
    app = FastrAPI()
    with pytest.raises(fastrapi.RouteDefinitionError, match="the app has no Hub"):

        @app.get("/")
        async def push(hub: Hub) -> str:
            return ""


async def test_the_close_policy_ends_the_handlers_receive_and_send() -> None:
    hub = Hub(max_pending=1)
    app = FastrAPI(hub=hub)
    seen: list[WebSocketDisconnect] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            await ws.send_text("joined")
            try:
                await ws.receive_text()
            except WebSocketDisconnect as exc:
                seen.append(exc)
            with pytest.raises(WebSocketDisconnect) as late:
                await ws.send_text("too late")
            seen.append(late.value)

    with trio.fail_after(10):
        async with open_websocket(app, "/ws", lockstep=True) as client:
            assert await client.receive_text() == "joined"
            for i in range(3):
                await hub.publish("t", str(i))
            got, closed = await _read_until_closed(client)
    reason = "slow consumer: over max_pending (1 messages)"
    assert [(e.code, e.reason) for e in seen] == [(1008, reason)] * 2
    assert (closed.code, closed.reason) == (1008, reason)
    assert got == ["0"]  # being written when the second came: over
    assert hub.statistics().evicted == 1


async def test_a_member_that_left_gets_nothing_of_its_backlog() -> None:
    hub = Hub(max_pending=8, policy="drop_oldest")  # 4 offered at a time, 4 in backlog
    app = FastrAPI(hub=hub)
    leave = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            await ws.send_text("joined")
            await leave.wait()
        await ws.send_text(await ws.receive_text())  # still open, no longer a member

    with trio.fail_after(10):
        async with open_websocket(app, "/ws", lockstep=True) as client:
            assert await client.receive_text() == "joined"
            for i in range(6):
                await hub.publish("t", str(i))
            leave.set()
            await trio.testing.wait_all_tasks_blocked()
            assert hub.statistics().members == 0
            got = [await client.receive_text() for _ in range(4)]
            await client.send_text("left")
            got.append(await client.receive_text())
    assert got == ["0", "1", "2", "3", "left"]
    assert hub.statistics().dropped == 0


async def test_a_lifespan_task_relays_between_topics(connect: Connect) -> None:
    hub = Hub()

    async def relay() -> None:
        async with hub.subscribe("in") as messages:
            async for message in messages:
                await hub.publish("out", message.data.upper())

    @asynccontextmanager
    async def lifespan(app: FastrAPI) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay)
            yield
            nursery.cancel_scope.cancel()

    app = room_app(hub)
    app.lifespan = lifespan
    with trio.fail_after(10):
        async with app.running(), connect(app, "/rooms/out") as client:
            assert await client.receive_text() == "joined"
            await trio.testing.wait_all_tasks_blocked()
            await hub.publish("in", "shout")
            assert await client.receive_text() == "SHOUT"


async def test_topics_nobody_is_in_leave_nothing_behind() -> None:
    from fastrapi.hub import MemoryBackend

    backend = MemoryBackend()
    hub = Hub(backend=backend)
    hub.set_history("kept", 2)
    with trio.fail_after(5):
        for i in range(100):
            await hub.publish(f"user-{i}", "nobody listens")
        async with hub.subscribe("t"):
            await hub.publish("t", "heard")
        for i in range(5):
            await hub.publish("kept", str(i))
    assert list(backend._store.topics) == ["kept"]
    assert len(backend._store.topics["kept"].kept) == 2


@pytest.mark.parametrize("validate", [None, True])
async def test_a_nan_or_an_infinity_is_refused_where_the_hub_validates(
    validate: bool | None,
) -> None:
    hub = Hub(validate_publish=validate)  # None: on, under pytest
    with trio.fail_after(5):
        async with hub.subscribe("t") as messages:
            with pytest.raises(ValueError, match=r"got inf at data\['x'\]\[1\]: JSON has no"):
                await hub.publish("t", {"none": None, "x": [1, float("inf")]})
            with pytest.raises(ValueError, match="publish\\(\\) got nan at data: "):
                hub.publish_nowait("t", float("nan"))
            await hub.publish("t", {"none": None, "x": 1.5})
            await hub.publish("t", "null: a str is no JSON")
            assert messages.pending == 2
    assert hub.statistics().published == 2


async def test_unvalidated_the_hub_publishes_a_nan_as_null() -> None:
    hub = Hub(validate_publish=False)
    app = FastrAPI(hub=hub)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            await ws.send_text("joined")
            await ws.receive_text()

    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_text() == "joined"
            await hub.publish("t", {"x": [float("nan"), float("-inf")]})
            assert await client.receive_json() == {"x": [None, None]}
