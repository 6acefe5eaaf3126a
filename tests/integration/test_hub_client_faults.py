"""fastrapi.client against scripted servers that misbehave: duplicates, malformed messages, a
connection lost during a command, a refused resubscription, a reader that falls behind, a
server that does not speak the protocol, a handshake refused with 503, bad options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio

from fastrapi import FastrAPI, HTTPException, WebSocket
from fastrapi.client import connect_hub
from fastrapi.exceptions import HubConnectionError, HubReplyError, SlowConsumerError
from fastrapi.hub import Position
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

pytestmark = pytest.mark.integration


def scripted(
    script: Callable[[WebSocket, int], Awaitable[None]], ping_interval: float = 25
) -> FastrAPI:
    """An app whose /hub says hello, then runs ``script(ws, connection number)``."""
    app = FastrAPI()
    connections = 0

    @app.websocket("/hub")
    async def hub(ws: WebSocket) -> None:
        nonlocal connections
        connections += 1
        await ws.accept("fastrapi.hub.v1")
        await ws.send_json({"type": "hello", "version": 1, "ping_interval": ping_interval})
        await script(ws, connections)

    return app


async def drain(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until it leaves."""
    async for _ in ws.iter_text():
        pass


def url_of(app_address: Any) -> str:
    return f"ws://{app_address.host}:{app_address.port}/hub"


async def subscribed(ws: WebSocket, offset: int = 0) -> int:
    command = await ws.receive_json()
    assert command["type"] == "subscribe"
    await ws.send_json(
        {
            "type": "subscribed",
            "id": command["id"],
            "topic": command["topic"],
            "epoch": "e",
            "offset": offset,
            "was_recovering": command["since"] is not None,
            "recovered": command["since"] is not None,
        }
    )
    command_id: int = command["id"]
    return command_id


def publication(offset: int, data: object, **extra: object) -> dict[str, object]:
    return {"type": "publication", "topic": "t", "epoch": "e", "offset": offset, "data": data}


async def test_a_server_that_stops_pinging_is_left_and_reconnected() -> None:
    """No ping within ping_interval + ping_grace: the client takes the connection as dead
    (however quiet it looks) and connects again."""
    accepted = 0

    async def silent(ws: WebSocket, number: int) -> None:
        nonlocal accepted
        accepted = number
        await drain(ws)  # no ping, ever

    with trio.fail_after(20):
        async with (
            open_live_server(scripted(silent, ping_interval=0.2)) as address,
            connect_hub(
                url_of(address), ping_grace=0.2, min_reconnect_delay=0.01, max_reconnect_delay=0.05
            ) as hub,
        ):
            await hub.wait_connected(3)
            assert hub.close_code == 1006
            assert accepted >= 3


async def test_duplicates_binary_and_malformed_messages(caplog: pytest.LogCaptureFixture) -> None:
    async def script(ws: WebSocket, number: int) -> None:
        await subscribed(ws)
        await ws.send_json(publication(1, "a"))
        await ws.send_json(publication(1, "a again"))  # not newer: dropped
        await ws.send_json({**publication(2, "AQ=="), "encoding": "base64"})
        await ws.send_json({"type": "publication", "topic": "t", "epoch": "e"})  # no offset
        await ws.send_json({"type": "error", "id": 999, "code": 500, "message": "whose?"})
        await ws.send_json({"type": "publication", "topic": "other", "epoch": "e", "offset": 9})
        await ws.send_json(publication(3, "c"))
        await drain(ws)

    with trio.fail_after(20):
        async with (
            open_live_server(scripted(script)) as address,
            connect_hub(url_of(address)) as hub,
            hub.subscribe("t") as sub,
        ):
            got = [await sub.__anext__() for _ in range(3)]
            assert [p.data for p in got] == ["a", b"\x01", "c"]
            assert got[2].position == Position("e", 3)
            assert (sub.duplicates, sub.position) == (1, Position("e", 3))
            assert repr(sub) == "<HubSubscription 't' at Position(epoch='e', offset=3)>"
            assert repr(hub).startswith("<HubClient ws://127.0.0.1:")
    assert "a malformed publication message" in caplog.text
    assert "the server reported an error: 500: whose?" in caplog.text


async def test_a_reader_that_falls_behind_ends_with_slow_consumer() -> None:
    async def script(ws: WebSocket, number: int) -> None:
        await subscribed(ws)
        command = await ws.receive_json()  # the rpc: its reply comes after the five
        for offset in range(1, 6):
            await ws.send_json(publication(offset, offset))
        await ws.send_json({"type": "reply", "id": command["id"], "result": None})
        await drain(ws)

    with trio.fail_after(20):
        async with (
            open_live_server(scripted(script)) as address,
            connect_hub(url_of(address), max_pending=2) as hub,
            hub.subscribe("t") as sub,
        ):
            await hub.rpc("sync")  # the five came; the third was one too many
            assert [(await sub.__anext__()).data for _ in range(2)] == [1, 2]
            with pytest.raises(SlowConsumerError, match="over max_pending"):
                await sub.__anext__()


async def test_a_command_whose_connection_is_lost_and_a_refused_resubscription() -> None:
    async def script(ws: WebSocket, number: int) -> None:
        if number == 1:
            await subscribed(ws)
            command = await ws.receive_json()
            assert command["type"] == "rpc"
            await ws.close(1012, "restarting")  # before the reply
            return
        command = await ws.receive_json()  # the resubscription, from its position
        assert (command["type"], command["since"]) == ("subscribe", {"epoch": "e", "offset": 0})
        await ws.send_json({"type": "error", "id": command["id"], "code": 403, "message": "no"})
        await drain(ws)

    with trio.fail_after(20):
        async with (
            open_live_server(scripted(script)) as address,
            connect_hub(url_of(address), min_reconnect_delay=0.01, max_reconnect_delay=0.02) as hub,
            hub.subscribe("t") as sub,
        ):
            with pytest.raises(HubConnectionError) as lost:
                await hub.rpc("slow")
            assert (lost.value.code, lost.value.reason) == (
                1012,
                "the connection ended before the reply",
            )
            with pytest.raises(HubReplyError) as refused:
                await sub.__anext__()
            assert (refused.value.code, refused.value.message) == (403, "no")
            with pytest.raises(HubReplyError):
                await sub.wait_subscribed(2)
            assert hub.connections == 2


@pytest.mark.parametrize(
    "hello",
    [{"type": "welcome"}, {"type": "hello", "version": 2}, [1, 2], "not json"],
)
async def test_a_server_that_does_not_speak_the_protocol_stops_the_client(hello: object) -> None:
    app = FastrAPI()

    @app.websocket("/hub")
    async def speak(ws: WebSocket) -> None:
        await ws.accept("fastrapi.hub.v1")
        await (ws.send_text(hello) if isinstance(hello, str) else ws.send_json(hello))
        await drain(ws)

    with trio.fail_after(20):
        async with open_live_server(app) as address, connect_hub(url_of(address)) as hub:
            with pytest.raises(HubConnectionError) as stopped:
                async with hub.subscribe("t"):  # waits, then is told
                    pytest.fail("subscribed")
            assert (stopped.value.code, hub.state, hub.close_code) == (1002, "disconnected", 1002)


async def test_the_subscription_of_a_client_that_stops_is_told() -> None:
    async def script(ws: WebSocket, number: int) -> None:
        await subscribed(ws)
        await ws.close(4403, "banned now")

    with trio.fail_after(20):
        async with (
            open_live_server(scripted(script)) as address,
            connect_hub(url_of(address)) as hub,
            hub.subscribe("t") as sub,
        ):
            with pytest.raises(HubConnectionError) as stopped:
                await sub.__anext__()
            assert (stopped.value.code, stopped.value.reason) == (4403, "banned now")
            with pytest.raises(HubConnectionError):
                await hub.wait_connected(2)


async def test_a_handshake_refused_with_503_is_tried_again() -> None:
    app = FastrAPI()
    tries = 0
    enough = trio.Event()

    @app.websocket("/hub")
    async def busy(ws: WebSocket) -> None:
        nonlocal tries
        tries += 1
        if tries == 3:
            enough.set()
        raise HTTPException(503, "busy")

    with trio.fail_after(20):
        async with (
            open_live_server(app) as address,
            connect_hub(url_of(address), min_reconnect_delay=0.01, max_reconnect_delay=0.02) as hub,
        ):
            await enough.wait()
            assert (hub.state, hub.connections) == ("connecting", 0)


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("http://h/hub", {}, "a hub URL is ws://"),
        ("ws:///hub", {}, "a hub URL is ws://"),
        ("ws://h/hub", {"ssl_context": object()}, "an ssl_context is for wss://"),
        ("ws://h/hub", {"min_reconnect_delay": 0}, "reconnect delays"),
        ("ws://h/hub", {"min_reconnect_delay": 2, "max_reconnect_delay": 1}, "reconnect delays"),
        ("ws://h/hub", {"reply_timeout": 0}, "reply_timeout must be"),
        ("ws://h/hub", {"ping_grace": -1}, "ping_grace must be"),
        ("ws://h/hub", {"max_pending": 0}, "max_pending must be"),
    ],
)
async def test_bad_options(url: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        async with connect_hub(url, **options):
            pytest.fail("connected")


async def test_wss_and_the_host_header_of_a_url_with_a_port_and_query() -> None:
    """A wss:// URL gets TLS (here refused: nothing listens), and the client keeps trying."""
    with trio.fail_after(20), trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        async with connect_hub(
            f"wss://127.0.0.1:{port}/hub?x=1", min_reconnect_delay=0.01, max_reconnect_delay=0.02
        ) as hub:
            assert (hub._host, hub._resource, hub._port) == (f"127.0.0.1:{port}", "/hub?x=1", port)
            with trio.move_on_after(0.5):
                await hub.wait_connected()
            # failed attempts are no connection that ended: no close code
            assert (hub.state, hub.connections, hub.close_code) == ("connecting", 0, None)
