"""The fastrapi.hub.v1 protocol served by ``app.hub_route``: every command, every error reply,
recovery, presence, pings, and the handshake's refusals as close codes."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import pytest
import trio
import trio.lowlevel
import trio.testing

from fastrapi import (
    Depends,
    FastrAPI,
    Header,
    HTTPException,
    Hub,
    HubUnavailable,
    RouteDefinitionError,
    WebSocketDisconnect,
    WebSocketException,
)
from fastrapi.hub._protocol import SUBPROTOCOL, HubConnection, _ping
from fastrapi.routing import APIRouter
from fastrapi.testing import HandshakeRejected, WebSocketTestSession, open_websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .conftest import Connect


async def user(x_user: Annotated[str, Header()] = "") -> str:
    """The user a handshake names (``X-User``); none is 401, ``banned`` is 403."""
    if not x_user:
        raise HTTPException(401, "who are you?")
    if x_user == "banned":
        raise HTTPException(403, "banned")
    return x_user


async def can_subscribe(
    connection: HubConnection, topic: str, name: Annotated[str, Depends(user)]
) -> bool:
    if topic == "teapot":
        raise HTTPException(418, "I am a teapot")
    if topic == "closed":
        raise WebSocketException(4403, "topic closed")
    if topic == "buggy":
        raise RuntimeError("a bug in can_subscribe")
    return not topic.startswith("private:") or topic == f"private:{name}"


def can_publish(connection: HubConnection, topic: str) -> bool:
    return not topic.startswith("readonly")


async def echo(connection: HubConnection, params: Any) -> Any:
    return {"echo": params, "topics": sorted(connection.topics)}


async def fail(connection: HubConnection, params: Any) -> Any:
    raise ValueError("a bug in an rpc handler")


async def refuse(connection: HubConnection, params: Any) -> Any:
    raise HTTPException(402, "pay first")


async def unserialisable(connection: HubConnection, params: Any) -> Any:
    return {1, 2}


async def presence(
    connection: HubConnection, topic: str, name: Annotated[str, Depends(user)]
) -> str:
    return name


def make_app(hub: Hub | None = None, **options: Any) -> FastrAPI:
    app = FastrAPI(hub=hub or Hub(history_size=100))
    defaults: dict[str, Any] = {
        "can_subscribe": can_subscribe,
        "can_publish": can_publish,
        "rpc": {"echo": echo, "fail": fail, "refuse": refuse, "set": unserialisable},
        "presence": presence,
        "presence_events": True,
    }
    app.hub_route("/hub", **{**defaults, **options})
    return app


class Client:
    """A protocol client over a test session: numbered commands, replies by id."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.ids = 0

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = orjson.loads(await self.ws.receive_text())
        return message

    async def next(self, *skip: str) -> dict[str, Any]:
        """The next message whose type is not in ``skip`` (``ping`` always skipped)."""
        while True:
            message = await self.receive()
            if message["type"] not in ("ping", *skip):
                return message

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.ids += 1
        await self.ws.send_text(orjson.dumps({"type": kind, "id": self.ids, **fields}).decode())
        return await self.next("publication", "join", "leave")

    async def publish(self, topic: str, data: Any) -> dict[str, Any]:
        reply = await self.command("publish", topic=topic, data=data)
        assert reply["type"] == "reply", reply
        result: dict[str, Any] = reply["result"]
        return result


@asynccontextmanager
async def hub_client(
    connect: Connect, app: FastrAPI, name: str = "ann", **options: Any
) -> AsyncIterator[Client]:
    headers = {"x-user": name} if name else {}
    async with connect(app, "/hub", subprotocols=[SUBPROTOCOL], headers=headers, **options) as ws:
        client = Client(ws)
        hello = await client.receive()
        assert hello == {"type": "hello", "version": 1, "ping_interval": 25.0}
        assert ws.subprotocol == SUBPROTOCOL
        yield client


async def test_subscribe_publish_and_receive_in_order(connect: Connect) -> None:
    app = make_app(presence_events=False)
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann, hub_client(connect, app, "bob") as bob:
            subscribed = await ann.command("subscribe", topic="room")
            assert subscribed["type"] == "subscribed"
            assert subscribed["id"] == 1
            assert subscribed["topic"] == "room"
            assert (subscribed["was_recovering"], subscribed["recovered"]) == (False, False)
            assert subscribed["offset"] == 0
            for i in range(3):
                position = await bob.publish("room", {"n": i})
                assert position == {"epoch": subscribed["epoch"], "offset": i + 1}
            got = [await ann.next("join") for _ in range(3)]
            assert got == [
                {
                    "type": "publication",
                    "topic": "room",
                    "epoch": subscribed["epoch"],
                    "offset": i + 1,
                    "data": {"n": i},
                }
                for i in range(3)
            ]


async def test_recovery_replays_what_was_missed_then_goes_live(connect: Connect) -> None:
    hub = Hub(history_size=10)
    app = make_app(hub, presence_events=False)
    with trio.fail_after(10):
        first = await hub.publish("room", "one")
        for text in ("two", "three"):
            await hub.publish("room", text)
        async with hub_client(connect, app) as ann:
            since = {"epoch": first.epoch, "offset": 1}
            subscribed = await ann.command("subscribe", topic="room", since=since)
            assert (subscribed["was_recovering"], subscribed["recovered"]) == (True, True)
            assert (subscribed["epoch"], subscribed["offset"]) == (first.epoch, 1)
            await hub.publish("room", "four")
            got = [await ann.next() for _ in range(3)]
            assert [(m["offset"], m["data"]) for m in got] == [
                (2, "two"),
                (3, "three"),
                (4, "four"),
            ]


async def test_a_gap_is_recovered_false_and_the_subscription_stays(connect: Connect) -> None:
    hub = Hub(history_size=2)
    app = make_app(hub, presence_events=False)
    with trio.fail_after(10):
        first = await hub.publish("room", "one")
        for text in ("two", "three", "four"):
            await hub.publish("room", text)
        async with hub_client(connect, app) as ann:
            since = {"epoch": first.epoch, "offset": 1}
            subscribed = await ann.command("subscribe", topic="room", since=since)
            assert (subscribed["was_recovering"], subscribed["recovered"]) == (True, False)
            assert (subscribed["epoch"], subscribed["offset"]) == (first.epoch, 4)
            other = await ann.command("subscribe", topic="b", since={"epoch": "gone", "offset": 3})
            assert (other["was_recovering"], other["recovered"]) == (True, False)
            await hub.publish("room", "five")
            message = await ann.next()
            assert (message["offset"], message["data"]) == (5, "five")


async def test_live_messages_during_recovery_are_neither_lost_nor_repeated(
    connect: Connect,
) -> None:
    """The history is read after the subscription is made: what is published meanwhile
    comes once, after the replay."""
    hub = Hub(history_size=100)
    app = make_app(hub, presence_events=False)
    with trio.fail_after(10):
        first = await hub.publish("room", 1)
        async with hub_client(connect, app) as ann, trio.open_nursery() as nursery:

            async def publish_more() -> None:
                for i in range(2, 51):
                    await hub.publish("room", i)
                    await trio.lowlevel.checkpoint()

            nursery.start_soon(publish_more)
            since = {"epoch": first.epoch, "offset": 1}
            await ann.command("subscribe", topic="room", since=since)
            got = [(await ann.next())["data"] for _ in range(49)]
            assert got == list(range(2, 51))


async def test_unsubscribe_stops_delivery_and_unknown_topic_is_404(connect: Connect) -> None:
    hub = Hub()
    app = make_app(hub)
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.command("subscribe", topic="a")
            assert await ann.command("unsubscribe", topic="a") == {
                "type": "reply",
                "id": 2,
                "result": None,
            }
            await hub.publish("a", "not for ann")
            error = await ann.command("unsubscribe", topic="a")
            assert error == {
                "type": "error",
                "id": 3,
                "code": 404,
                "message": "not subscribed to topic 'a'",
            }
            assert hub.statistics().members == 0


async def test_refusals_are_error_replies_and_the_connection_stays_up(connect: Connect) -> None:
    app = make_app()
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            refused = await ann.command("subscribe", topic="private:bob")
            assert (refused["type"], refused["id"], refused["code"]) == ("error", 1, 403)
            teapot = await ann.command("subscribe", topic="teapot")
            assert (teapot["code"], teapot["message"]) == (418, "I am a teapot")
            closed = await ann.command("subscribe", topic="closed")
            assert (closed["code"], closed["message"]) == (403, "topic closed")
            buggy = await ann.command("subscribe", topic="buggy")
            assert buggy["code"] == 500
            assert "RuntimeError" not in buggy["message"]
            publish = await ann.command("publish", topic="readonly", data=1)
            assert (publish["type"], publish["code"]) == ("error", 403)
            mine = await ann.command("subscribe", topic="private:ann")
            assert (mine["type"], mine["recovered"]) == ("subscribed", False)
            again = await ann.command("subscribe", topic="private:ann")
            assert (again["type"], again["code"]) == ("error", 409)
            # offset 1 is the join notice of its subscription
            assert (await ann.publish("private:ann", "still up"))["offset"] == 2


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("not json", 400, "not JSON"),
        ("[1, 2]", 400, "a command is a JSON object"),
        ('{"type": "dance", "id": 1}', 400, "unknown command type 'dance'"),
        ('{"id": 1}', 400, "unknown command type None"),
        ('{"type": "subscribe"}', 400, "needs an integer id"),
        ('{"type": "subscribe", "id": true, "topic": "a"}', 400, "needs an integer id"),
        ('{"type": "subscribe", "id": 1}', 400, "topic is a non-empty string"),
        ('{"type": "subscribe", "id": 1, "topic": ""}', 400, "topic is a non-empty string"),
        ('{"type": "subscribe", "id": 1, "topic": "a", "since": 5}', 400, "since is"),
        (
            '{"type": "subscribe", "id": 1, "topic": "a", "since": {"epoch": "e", "offset": -1}}',
            400,
            "since is",
        ),
        (
            '{"type": "subscribe", "id": 1, "topic": "a", "since": {"epoch": "e", "offset": '
            + str(2**53 + 1)
            + "}}",
            400,
            "since is",
        ),
        ('{"type": "history", "id": 1, "topic": "a", "since": {"epoch": 5}}', 400, "since is"),
        ('{"type": "publish", "id": 1, "topic": "a"}', 400, "needs data"),
        ('{"type": "rpc", "id": 1}', 400, "needs a method name"),
        ('{"type": "rpc", "id": 1, "method": "nope"}', 404, "no rpc method 'nope'"),
        ('{"type": "rpc", "id": 1, "method": "fail"}', 500, "rpc method 'fail' failed"),
        ('{"type": "rpc", "id": 1, "method": "set"}', 500, "rpc method 'set' failed"),
        ('{"type": "rpc", "id": 1, "method": "refuse"}', 402, "pay first"),
        ('{"type": "history", "id": 1, "topic": "a", "limit": 0}', 400, "limit is"),
        ('{"type": "presence", "id": 1, "topic": 7}', 400, "topic is"),
    ],
)
async def test_bad_commands_get_error_replies(
    connect: Connect, command: str, code: int, message: str
) -> None:
    app = make_app()
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.ws.send_text(command)
            error = await ann.next()
            assert error["type"] == "error"
            assert error["code"] == code
            assert error["message"].startswith(message) or message in error["message"]
            assert error["id"] == (1 if '"id": 1' in command else None)
            assert (await ann.command("rpc", method="echo", params=[1]))["result"] == {
                "echo": [1],
                "topics": [],
            }


async def test_binary_frames_get_an_error_reply(connect: Connect) -> None:
    with trio.fail_after(10):
        async with hub_client(connect, make_app()) as ann:
            await ann.ws.send_bytes(b"\x00")
            error = await ann.next()
            assert (error["type"], error["id"], error["code"]) == ("error", None, 400)


async def test_rpc_replies_with_the_result(connect: Connect) -> None:
    with trio.fail_after(10):
        async with hub_client(connect, make_app()) as ann:
            await ann.command("subscribe", topic="a")
            reply = await ann.command("rpc", method="echo", params={"x": [1, None]})
            assert reply == {
                "type": "reply",
                "id": 2,
                "result": {"echo": {"x": [1, None]}, "topics": ["a"]},
            }


async def test_presence_and_join_leave_events(connect: Connect) -> None:
    app = make_app()
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.command("subscribe", topic="room")
            async with hub_client(connect, app, "bob") as bob:
                await bob.command("subscribe", topic="room")
                joined = await ann.next()
                assert joined == {"type": "join", "topic": "room", "member": "bob"} | {
                    "epoch": joined["epoch"],
                    "offset": joined["offset"],
                }
                reply = await bob.command("presence", topic="room")
                assert reply["result"] == {"members": ["ann", "bob"]}
                refused = await bob.command("presence", topic="private:ann")
                assert refused["code"] == 403
            assert await ann.next() == {"type": "leave", "topic": "room", "member": "bob"} | {
                "epoch": joined["epoch"],
                "offset": joined["offset"] + 1,  # the next message of the topic
            }
            reply = await ann.command("presence", topic="room")
            assert reply["result"] == {"members": ["ann"]}


async def test_history_with_since_and_limit(connect: Connect) -> None:
    hub = Hub(history_size=5)
    app = make_app(hub)
    with trio.fail_after(10):
        positions = [await hub.publish("log", i) for i in range(1, 8)]
        await hub.publish("log", "text")
        await hub.publish("log", b"\x01\x02")
        epoch = positions[0].epoch
        async with hub_client(connect, app) as ann:
            everything = (await ann.command("history", topic="log"))["result"]
            assert (everything["epoch"], everything["offset"]) == (epoch, 9)
            assert [p["data"] for p in everything["publications"]] == [5, 6, 7, "text", "AQI="]
            assert [p["offset"] for p in everything["publications"]] == [5, 6, 7, 8, 9]
            last = (await ann.command("history", topic="log", limit=2))["result"]
            assert [p["offset"] for p in last["publications"]] == [8, 9]
            since = {"epoch": epoch, "offset": 5}
            page = (await ann.command("history", topic="log", since=since, limit=2))["result"]
            assert [p["data"] for p in page["publications"]] == [6, 7]
            other = {"epoch": "another", "offset": 8}
            fresh = (await ann.command("history", topic="log", since=other, limit=1))["result"]
            assert [p["offset"] for p in fresh["publications"]] == [5]
            empty = (await ann.command("history", topic="nothing"))["result"]
            assert (empty["publications"], empty["offset"]) == ([], 0)


async def test_binary_publications_are_base64(connect: Connect) -> None:
    hub = Hub()
    with trio.fail_after(10):
        async with hub_client(connect, make_app(hub)) as ann:
            await ann.command("subscribe", topic="bin")
            await hub.publish("bin", b"\xff\x00")
            message = await ann.next()
            assert (message["data"], message["encoding"]) == ("/wA=", "base64")


async def test_pings_come_every_ping_interval(autojump_clock: trio.testing.MockClock) -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", ping_interval=5)
    with trio.fail_after(60):
        async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["ping_interval"] == 5
            start = trio.current_time()
            for i in range(1, 4):
                assert await ws.receive_text() == '{"type":"ping"}'
                assert trio.current_time() - start == pytest.approx(5 * i)
                await ws.send_text('{"type": "pong"}')


async def test_no_pings_with_ping_interval_none(autojump_clock: trio.testing.MockClock) -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", ping_interval=None)
    with trio.fail_after(600):
        async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["ping_interval"] is None
            with trio.move_on_after(300):
                await ws.receive_text()
                pytest.fail("a ping came")


async def test_a_client_without_the_subprotocol_is_refused_with_400(connect: Connect) -> None:
    with trio.fail_after(10), pytest.raises(HandshakeRejected) as refused:
        async with connect(make_app(), "/hub", headers={"x-user": "ann"}):
            pytest.fail("accepted")
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, 4401), ({"x-user": "banned"}, 4403)],
)
async def test_refused_handshake_dependencies_accept_then_close(
    connect: Connect, headers: dict[str, str], code: int
) -> None:
    with trio.fail_after(10):
        async with connect(make_app(), "/hub", subprotocols=[SUBPROTOCOL], headers=headers) as ws:
            closed = await ws.wait_closed()
    assert closed.code == code


async def test_route_dependencies_and_invalid_values_close_with_44xx(connect: Connect) -> None:
    def token(token: int) -> int:
        if token == 0:
            raise WebSocketException(4500, "an application code")
        return token

    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", dependencies=[Depends(token)])
    with trio.fail_after(10):
        async with connect(app, "/hub?token=x", subprotocols=[SUBPROTOCOL]) as ws:
            assert (await ws.wait_closed()).code == 4400
        async with connect(app, "/hub?token=0", subprotocols=[SUBPROTOCOL]) as ws:
            closed = await ws.wait_closed()
            assert (closed.code, closed.reason) == (4500, "an application code")
        async with connect(app, "/hub?token=1", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["type"] == "hello"


async def test_hub_route_on_a_router_and_declaration_errors() -> None:
    router = APIRouter(prefix="/rt")
    router.hub_route("/hub", rpc={"echo": echo})
    app = FastrAPI(hub=Hub())
    app.include_router(router)
    with trio.fail_after(10):
        async with open_websocket(app, "/rt/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["type"] == "hello"
            await ws.send_text('{"type": "rpc", "id": 9, "method": "echo", "params": 1}')
            assert orjson.loads(await ws.receive_text())["result"] == {"echo": 1, "topics": []}
    with pytest.raises(RouteDefinitionError, match="needs an app with a Hub"):
        FastrAPI().hub_route("/hub")
    with pytest.raises(RouteDefinitionError, match="must take \\(connection, topic\\)"):
        app.hub_route("/x", can_subscribe=lambda connection: True)
    with pytest.raises(RouteDefinitionError, match="async functions"):
        app.hub_route("/x", rpc={"sync": lambda connection, params: None})  # type: ignore[dict-item,return-value]
    with pytest.raises(ValueError, match="ping_interval"):
        app.hub_route("/x", ping_interval=0)


async def test_the_hub_is_left_when_the_client_goes(connect: Connect) -> None:
    hub = Hub()
    app = make_app(hub)
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.command("subscribe", topic="a")
            await ann.command("subscribe", topic="b")
            assert hub.statistics().members == 2
        assert hub.statistics().members == 0  # the server side ended with the session
        assert await hub.members("a") == []


async def test_the_hub_down_is_a_503_reply_and_the_connection_stays(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hub = Hub()
    app = make_app(hub)

    async def down(*args: object, **kwargs: object) -> Any:
        raise HubUnavailable("Redis did not answer")

    async def rpc_down(connection: HubConnection, params: Any) -> Any:
        raise HubUnavailable("Redis did not answer")

    app.hub_route("/down", rpc={"down": rpc_down})
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.command("subscribe", topic="a")
            await ann.command("rpc", method="echo")  # one at a time: a's join notice is out
            monkeypatch.setattr(hub._backend, "publish", down)
            published = await ann.command("publish", topic="a", data=1)
            assert (published["code"], published["message"]) == (503, "Redis did not answer")
            joined = await ann.command("subscribe", topic="b")  # its join notice fails: logged
            assert joined["type"] == "subscribed"
            await ann.command("rpc", method="echo")
            assert "the join to 'b' was not announced" in caplog.text
            monkeypatch.setattr(hub._backend, "kept", down)
            refused = await ann.command("subscribe", topic="c")
            assert (refused["type"], refused["code"]) == ("error", 503)
            assert "c" not in hub._topics  # nothing left behind
            again = await ann.command("unsubscribe", topic="c")
            assert again["code"] == 404
        async with connect(app, "/down", subprotocols=[SUBPROTOCOL]) as ws:
            await ws.receive_text()
            await ws.send_text('{"type": "rpc", "id": 1, "method": "down"}')
            assert orjson.loads(await ws.receive_text())["code"] == 503


async def test_a_5xx_from_a_handshake_dependency_closes_with_1011(connect: Connect) -> None:
    def broken() -> None:
        raise HTTPException(503, "database down")

    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", dependencies=[Depends(broken)])
    with trio.fail_after(10):
        async with connect(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            closed = await ws.wait_closed()
    assert (closed.code, closed.reason) == (1011, "database down")


def test_a_router_hub_route_in_an_app_without_a_hub_is_refused_at_inclusion() -> None:
    router = APIRouter(prefix="/rt")
    router.hub_route("/hub")
    outer = APIRouter(prefix="/v1")
    outer.include_router(router)  # not the app's router: its Hub is not known yet
    app = FastrAPI()
    before = list(app.routes)
    missing = r"hub route /v1/rt/hub needs an app with a Hub.*pass hub=Hub\(\.\.\.\)"
    with pytest.raises(RouteDefinitionError, match=missing):
        app.include_router(outer)
    assert app.routes == before, "nothing of the router is included"  # not even hub.js
    with pytest.raises(RouteDefinitionError, match="hub route /hub needs an app with a Hub"):
        app.router.hub_route("/hub")
    assert app.routes == before


async def test_a_hub_route_keeps_the_app_s_hub_and_one_given_in_routes_fails_at_startup() -> None:
    router = APIRouter()
    router.hub_route("/hub")
    app = FastrAPI(hub=Hub())
    app.include_router(router)
    app.hub = Hub()  # a test's Hub in place of the app's: allowed
    with pytest.raises(ValueError, match=r"route\(s\) /hub take it"):
        app.hub = None
    assert app.hub is not None
    unchecked = FastrAPI(routes=router.routes)
    with trio.fail_after(10), pytest.raises(RouteDefinitionError, match="hub route /hub"):
        async with unchecked.running():
            pytest.fail("started")
    with trio.fail_after(10), pytest.raises(RuntimeError, match="needs an app with a Hub"):
        async with open_websocket(unchecked, "/hub", subprotocols=[SUBPROTOCOL]):
            pytest.fail("accepted")  # not started: the connection is the last check


async def test_the_connection_says_what_it_is_subscribed_to(connect: Connect) -> None:
    async def describe(connection: HubConnection, params: Any) -> str:
        return repr(connection)

    app = make_app(rpc={"describe": describe})
    with trio.fail_after(10):
        async with hub_client(connect, app) as ann:
            await ann.command("subscribe", topic="b")
            await ann.command("subscribe", topic="a")
            described = (await ann.command("rpc", method="describe"))["result"]
            assert described.startswith("<HubConnection <")
            assert described.endswith("topics=['a', 'b']>")


def test_callables_that_cannot_be_planned() -> None:
    app = FastrAPI(hub=Hub())
    with pytest.raises(RouteDefinitionError, match="takes a callable"):
        app.hub_route("/x", can_publish=42)  # type: ignore[arg-type]  # the error checked
    with pytest.raises(RouteDefinitionError, match="cannot read its signature"):
        app.hub_route("/x", presence=max)


async def test_pings_stop_when_the_connection_is_gone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Gone:
        sent = 0

        async def send_text(self, text: str) -> None:
            self.sent += 1
            raise WebSocketDisconnect(1006)

    gone = Gone()
    with trio.fail_after(10):
        await _ping(gone, 1.0)  # type: ignore[arg-type]  # what _ping uses of a WebSocket
    assert gone.sent == 1
