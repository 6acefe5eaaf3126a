"""fastrapi.client against hub routes served on loopback: commands, subscriptions, recovery
after a server restart, stop codes, the heartbeat, and a hub route driven by the `websockets`
library (a client we did not write)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pytest
import trio
from websockets.asyncio.client import connect as websockets_connect

from fastrapi import Depends, FastrAPI, Header, HTTPException, Hub
from fastrapi.client import connect_hub
from fastrapi.exceptions import HubConnectionError, HubReplyError
from fastrapi.hub import Position
from fastrapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from fastrapi.datastructures import Address
    from fastrapi.hub import HubConnection

pytestmark = pytest.mark.integration


def url(address: Address, path: str = "/hub") -> str:
    return f"ws://{address.host}:{address.port}{path}"


async def user(x_user: Annotated[str, Header()] = "") -> str:
    if not x_user:
        raise HTTPException(401, "who are you?")
    return x_user


async def can_publish(
    connection: HubConnection, topic: str, name: Annotated[str, Depends(user)]
) -> bool:
    return topic != "readonly"


async def whoami(connection: HubConnection, params: Any) -> Any:
    return {"params": params, "topics": sorted(connection.topics)}


def hub_app(hub: Hub | None = None, **options: Any) -> FastrAPI:
    app = FastrAPI(hub=hub or Hub(history_size=100))
    app.hub_route(
        "/hub",
        can_subscribe=lambda connection, topic: topic != "secret",
        can_publish=can_publish,
        rpc={"whoami": whoami},
        presence=lambda connection, topic: connection.websocket.headers.get("x-user"),
        **options,
    )
    return app


async def test_publish_subscribe_rpc_presence_history() -> None:
    app = hub_app()
    with trio.fail_after(20):
        async with (
            open_live_server(app) as address,
            connect_hub(url(address), headers={"x-user": "ann"}) as hub,
        ):
            async with hub.subscribe("room") as sub:
                assert hub.state == "connected"
                assert (sub.was_recovering, sub.recovered, sub.subscribed) == (False, False, 1)
                first = await hub.publish("room", {"n": 1})
                await hub.publish("room", "two")
                got = [await sub.__anext__() for _ in range(2)]
                assert [p.data for p in got] == [{"n": 1}, "two"]
                assert got[0].position == first
                assert got[1].position == Position(first.epoch, first.offset + 1)
                assert await hub.rpc("whoami", [1]) == {"params": [1], "topics": ["room"]}
                assert await hub.presence("room") == ["ann"]
                kept, now = await hub.history("room", since=first)
                assert [p.data for p in kept] == ["two"]
                assert now == got[1].position
            with pytest.raises(HubReplyError) as refused:
                await hub.publish("readonly", 1)
            assert refused.value.code == 403
            with pytest.raises(HubReplyError) as unknown:
                await hub.rpc("nope")
            assert unknown.value.code == 404
            with pytest.raises(HubReplyError) as secret:
                async with hub.subscribe("secret"):
                    pytest.fail("subscribed")
            assert secret.value.code == 403
            assert await hub.rpc("whoami") == {"params": None, "topics": []}
            with pytest.raises(ValueError, match="subscribed to topic 'a' already"):
                async with hub.subscribe("a"), hub.subscribe("a"):
                    pytest.fail("subscribed twice")
        state: str = hub.state  # the block closed it
        assert state == "disconnected"


async def test_join_and_leave_move_the_position_so_recovery_does_not_replay_them() -> None:
    """Join and leave notices take offsets in the topic: the client moves past them (without
    delivering them), so a resubscription from its position asks for nothing it saw."""
    app = hub_app(presence_events=True)
    with trio.fail_after(20):
        async with (
            open_live_server(app) as address,
            connect_hub(url(address), headers={"x-user": "ann"}) as ann,
            ann.subscribe("room") as sub,
        ):
            async with connect_hub(url(address), headers={"x-user": "bob"}) as bob:
                await bob.rpc("whoami", None)  # connected
                async with bob.subscribe("room") as bobs:
                    assert bobs.subscribed == 1
            # ann's join, then bob's join and leave: notices the client does not deliver
            while sub.position is None or sub.position.offset < 3:  # noqa: ASYNC110 - polls
                await trio.sleep(0.01)
            kept, now = await ann.history("room", since=sub.position)
            assert (kept, now) == ([], sub.position)


async def test_a_refused_handshake_stops_the_client() -> None:
    with trio.fail_after(20):
        async with open_live_server(hub_app()) as address, connect_hub(url(address)) as hub:
            with pytest.raises(HubConnectionError) as stopped:
                await hub.publish("room", 1)
            assert stopped.value.code == 4401
            # refused before its hello: never connected
            assert (hub.state, hub.close_code, hub.connections) == ("disconnected", 4401, 0)
        async with (
            open_live_server(hub_app()) as address,
            connect_hub(url(address, "/nope")) as hub,
        ):
            with pytest.raises(HubConnectionError) as missing:
                await hub.rpc("whoami")
            assert missing.value.code == 4404
            assert hub.connections == 0


async def test_restarted_server_with_a_memory_hub_says_recovered_false() -> None:
    """The memory Hub dies with its process: a new epoch, so the client is told of the gap,
    and the publications go on from the new server."""
    with trio.fail_after(30), trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = hub_app()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            stop_first, first_done = trio.Event(), trio.Event()
            await nursery.start(_serve, first, port, stop_first, first_done)
            async with (
                connect_hub(
                    f"ws://127.0.0.1:{port}/hub",
                    headers={"x-user": "ann"},
                    min_reconnect_delay=0.05,
                    max_reconnect_delay=0.2,
                ) as hub,
                hub.subscribe("room") as sub,
            ):
                await hub.publish("room", "before")
                assert (await sub.__anext__()).data == "before"
                stop_first.set()  # graceful: 1001, reconnect
                await first_done.wait()  # its port is free again
                second = hub_app()
                await nursery.start(_serve, second, port, trio.Event(), trio.Event())
                await sub.wait_subscribed(2)
                assert (sub.was_recovering, sub.recovered) == (True, False)
                assert (hub.close_code, hub.connections) == (1001, 2)
                await hub.publish("room", "after")
                assert (await sub.__anext__()).data == "after"
            nursery.cancel_scope.cancel()


async def _serve(
    app: FastrAPI,
    port: int,
    stop: trio.Event,
    done: trio.Event,
    task_status: trio.TaskStatus[Address],
) -> None:
    try:
        await app.serve("127.0.0.1", port, shutdown_trigger=stop.wait, task_status=task_status)
    finally:
        done.set()


async def test_pings_keep_a_quiet_connection() -> None:
    with trio.fail_after(20):
        async with (
            open_live_server(hub_app(ping_interval=0.05)) as address,
            connect_hub(url(address), headers={"x-user": "ann"}, ping_grace=0.5) as hub,
        ):
            await hub.rpc("whoami")
            await trio.sleep(1)  # twenty pings, answered
            assert (hub.state, hub.connections) == ("connected", 1)


async def test_an_application_close_code_stops_the_client() -> None:
    app = FastrAPI(hub=Hub())

    def refuse() -> None:
        from fastrapi import WebSocketException

        raise WebSocketException(4501, "maintenance")

    app.hub_route("/hub", dependencies=[Depends(refuse)])
    with trio.fail_after(20):
        async with open_live_server(app) as address, connect_hub(url(address)) as hub:
            with pytest.raises(HubConnectionError) as stopped:
                await hub.rpc("any")
            assert (stopped.value.code, stopped.value.reason) == (4501, "maintenance")


async def test_the_route_with_the_websockets_library() -> None:
    """A client we did not write speaks the protocol to the route."""
    app = hub_app()
    with trio.fail_after(20):
        async with open_live_server(app) as address:

            def talk() -> list[dict[str, Any]]:
                import asyncio

                async def run() -> list[dict[str, Any]]:
                    async with websockets_connect(
                        url(address),
                        subprotocols=["fastrapi.hub.v1"],  # type: ignore[list-item]
                        additional_headers={"x-user": "ann"},
                    ) as ws:
                        got = [json.loads(await ws.recv())]
                        await ws.send('{"type": "subscribe", "id": 1, "topic": "t"}')
                        got.append(json.loads(await ws.recv()))
                        await ws.send('{"type": "publish", "id": 2, "topic": "t", "data": [1]}')
                        got += [json.loads(await ws.recv()) for _ in range(2)]
                        await ws.send("{oops")
                        got.append(json.loads(await ws.recv()))
                        return got

                return asyncio.run(run())

            hello, subscribed, publication, reply, error = await trio.to_thread.run_sync(talk)
    assert hello["type"] == "hello"
    assert (subscribed["type"], subscribed["offset"]) == ("subscribed", 0)
    assert (publication["data"], publication["offset"]) == ([1], 1)
    assert reply == {
        "type": "reply",
        "id": 2,
        "result": {"epoch": subscribed["epoch"], "offset": 1},
    }
    assert (error["type"], error["id"], error["code"]) == ("error", None, 400)


async def test_a_bearer_token_in_the_subprotocols_reaches_the_security_scheme() -> None:
    """A browser cannot set headers on a WebSocket: its token rides in the subprotocols after
    fastrapi.hub.v1, and the handshake's HTTPBearer reads it there."""
    bearer = HTTPBearer()
    app = FastrAPI(hub=Hub())

    async def who(
        connection: HubConnection,
        params: Any,
    ) -> Any:
        return connection.state.token

    async def can_subscribe(
        connection: HubConnection,
        topic: str,
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> bool:
        connection.state.token = credentials.credentials
        return topic == credentials.credentials

    app.hub_route("/hub", can_subscribe=can_subscribe, rpc={"who": who})
    with trio.fail_after(20):
        async with open_live_server(app) as address:
            async with (
                connect_hub(url(address), subprotocols=["bearer", "s3cret"]) as hub,
                hub.subscribe("s3cret"),
            ):
                assert await hub.rpc("who") == "s3cret"
            async with connect_hub(url(address)) as anonymous:
                with pytest.raises(HubConnectionError) as refused:
                    await anonymous.rpc("who")
                assert refused.value.code == 4401  # HTTPBearer: no credentials is a 401
