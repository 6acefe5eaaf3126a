"""The ``fastrapi.hub.v1`` protocol (``hub/_protocol.py``), fed the commands a hostile client
could send over one connection of the real server (in memory).

The property: every command but ``pong`` gets one answer with its id (``null`` when it had no
integer id): a reply, ``subscribed``, or an error whose code the protocol documents (400, 403,
404, 409); the connection stays up, and nobody hears of a member that did not join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import trio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastrapi import FastrAPI, Hub
from fastrapi.hub._protocol import SUBPROTOCOL
from fastrapi.testing import WebSocketTestSession, open_websocket
from tests.fuzz.conftest import json_values

if TYPE_CHECKING:
    from fastrapi.hub import HubConnection

CODES = {400, 403, 404, 409}
TYPES = ["subscribe", "unsubscribe", "publish", "rpc", "presence", "history", "pong", "junk"]


async def echo(connection: HubConnection, params: Any) -> Any:
    return params


def make_app() -> FastrAPI:
    app = FastrAPI(hub=Hub(history_size=10))
    app.hub_route(
        "/hub",
        can_publish=lambda connection, topic: topic != "readonly",
        rpc={"echo": echo},
        presence=lambda connection, topic: "me",
        presence_events=True,
    )
    return app


topics = st.one_of(st.sampled_from(["t", "u", "readonly", ""]), json_values)
positions = st.one_of(
    st.none(),
    st.fixed_dictionaries({"epoch": st.text(max_size=4), "offset": st.integers(-2, 5)}),
    json_values,
)


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any] | str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", "[]", "{", "null", '{"type": 1}', '"type"']))
    command: dict[str, Any] = {"type": draw(st.sampled_from(TYPES))}
    command["id"] = draw(st.one_of(st.integers(0, 99), st.integers(0, 99), json_values))
    fields = {
        "topic": topics,
        "data": json_values,
        "since": positions,
        "limit": st.one_of(st.none(), st.integers(-1, 20), json_values),
        "method": st.sampled_from(["echo", "nope", 1]),
        "params": json_values,
    }
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True)):
        command[name] = draw(fields[name])
    if draw(st.booleans()):  # well formed more often than chance makes it
        command.update(topic="t", id=draw(st.integers(0, 99)))
        command.setdefault("data", draw(json_values))
    return command


async def answer(ws: WebSocketTestSession) -> dict[str, Any]:
    """The next answer to a command (publications, presence events and pings skipped)."""
    while True:
        message: dict[str, Any] = orjson.loads(await ws.receive_text())
        if message["type"] not in ("publication", "join", "leave", "ping"):
            return message
        if message["type"] == "join":
            assert message["member"] == "me"  # never what a publisher made up


@settings(max_examples=50)  # a connection per example
@given(st.lists(commands(), min_size=1, max_size=6))
@example(
    [
        {"type": "subscribe", "id": 1, "topic": "t"},
        {
            "type": "publish",
            "id": 2,
            "topic": "t",
            "data": {"type": "user_joined", "presence": "x"},
        },
    ]
)
@example(
    [
        {"type": "subscribe", "id": 1, "topic": "t"},
        {"type": "publish", "id": 2, "topic": "t", "data": {"type": "message"}},
        {"type": "history", "id": 3, "topic": "t", "since": None, "limit": 1},
        {"type": "presence", "id": 4, "topic": "t"},
        {"type": "unsubscribe", "id": 5, "topic": "t"},
    ]
)
async def test_every_command_gets_its_answer(sent: list[dict[str, Any] | str]) -> None:
    with trio.fail_after(3):
        async with open_websocket(make_app(), "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["type"] == "hello"
            for command in sent:
                text = command if isinstance(command, str) else orjson.dumps(command).decode()
                await ws.send_text(text)
                if isinstance(command, dict) and command["type"] == "pong":
                    continue
                got = await answer(ws)
                raw_id = command.get("id") if isinstance(command, dict) else None
                expected_id = raw_id if type(raw_id) is int else None
                assert got["id"] == expected_id, (command, got)
                assert got["type"] in ("reply", "subscribed", "error"), got
                if got["type"] == "error":
                    assert got["code"] in CODES, (command, got)
            await ws.send_text(orjson.dumps({"type": "rpc", "id": 1000, "method": "echo"}).decode())
            assert await answer(ws) == {"type": "reply", "id": 1000, "result": None}
