"""Two fastrapi processes on one Redis: the chat example's rooms, presence and history span both,
and outlast a killed process and a restarted Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import coredis
import pytest
import trio
from websockets.sync.client import ClientConnection, connect

from fastrapi.hub._redis import PREFIX
from tests.integration.processes import ROOT, fastrapi_run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .server import RedisServer

pytestmark = pytest.mark.integration

PRESENCE_TTL: Final = 1.0  # seconds, where a test waits for a presence to expire
ANN, BOB, CAROL = ({"username": name} for name in ("ann", "bob", "carol"))


@contextlib.asynccontextmanager
async def chat_process(
    url: str, presence_ttl: float | None = None
) -> AsyncIterator[tuple[trio.Process, int]]:
    """``fastrapi run chat_hub:app`` on the Redis at ``url``; the process and its port."""
    env = {**os.environ, "FASTRAPI_HUB_URL": url}
    if presence_ttl is not None:
        env["FASTRAPI_HUB_PRESENCE_TTL"] = str(presence_ttl)
    async with fastrapi_run(app="chat_hub:app", cwd=ROOT / "examples", env=env) as (process, out):
        yield process, int((await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)/"))[1])


def receive(ws: ClientConnection) -> Any:
    """The next message from the server, decoded (waiting at most 5 s)."""
    return json.loads(ws.recv(timeout=5))


async def received(ws: ClientConnection) -> Any:
    return await trio.to_thread.run_sync(receive, ws)


async def join(
    clients: contextlib.ExitStack, port: int, username: str
) -> tuple[ClientConnection, list[object]]:
    """``username`` in the lobby of the process at ``port`` (closed with ``clients``), and the
    members the process lists to it."""
    url = f"ws://127.0.0.1:{port}/chat/lobby?username={username}"
    # unbounded: a client that leaves the others' notices unread still reads the server's close
    opened = await trio.to_thread.run_sync(partial(connect, url, max_queue=None))
    ws = clients.enter_context(opened)
    return ws, (await received(ws))["members"]


async def seen_by_a_newcomer(port: int) -> list[object]:
    """The members listed to Carol, who joins the lobby on the process at ``port`` and leaves."""
    with contextlib.ExitStack() as clients:
        return (await join(clients, port, "carol"))[1]


def conversation(one: int, two: int) -> dict[str, Any]:
    """Ann on process one, Bob on process two; then Bob comes back on process one."""
    seen: dict[str, Any] = {}
    with connect(f"ws://127.0.0.1:{one}/chat/lobby?username=ann") as ann:
        seen["ann members"] = receive(ann)
        with connect(f"ws://127.0.0.1:{two}/chat/lobby?username=bob") as bob:
            seen["bob members"] = receive(bob)
            seen["ann hears bob join"] = receive(ann)["data"]
            for n in range(10):
                (ann if n % 2 else bob).send(f"message {n}")
            seen["ann got"] = [receive(ann) for _ in range(10)]
            seen["bob got"] = [receive(bob) for _ in range(10)]
        seen["ann hears bob leave"] = receive(ann)["data"]["type"]
        ann.send("while bob is away")
        missed = receive(ann)
        last = max(seen["bob got"], key=lambda message: message["offset"])  # see the test
        back = f"/chat/lobby?username=bob&epoch={last['epoch']}&offset={last['offset']}"
        with connect(f"ws://127.0.0.1:{one}{back}") as bob:
            seen["bob recovers"] = [receive(bob) for _ in range(2)]
            seen["missed"] = missed
    return seen


async def test_two_processes_share_rooms_presence_and_history(redis_server: RedisServer) -> None:
    with trio.fail_after(60):
        async with (
            chat_process(redis_server.url) as (_, one),
            chat_process(redis_server.url) as (_, two),
        ):
            seen = await trio.to_thread.run_sync(conversation, one, two)
    assert seen["ann members"]["members"] == [{"username": "ann"}]
    assert seen["bob members"]["members"] == [{"username": "ann"}, {"username": "bob"}]
    assert seen["ann hears bob join"]["type"] == "user_joined"
    for got in (seen["ann got"], seen["bob got"]):
        texts = [message["data"]["message"] for message in got]
        assert sorted(texts) == [f"message {n}" for n in range(10)]  # each once
        for sender in ("ann", "bob"):  # each sender's messages in the order it sent them
            sent = [text for text in texts if int(text.split()[1]) % 2 == (sender == "ann")]
            assert sent == sorted(sent), (sender, texts)
    # a process hands its own messages to its members at once, and the others' when Redis
    # passes them on: so a member keeps the highest offset it saw, not the last one
    by_offset = {message["offset"]: message for message in seen["ann got"]}
    assert by_offset == {message["offset"]: message for message in seen["bob got"]}
    assert seen["ann hears bob leave"] == "user_left"
    left, missed = seen["bob recovers"]
    assert left["data"]["type"] == "user_left"
    assert missed == seen["missed"]


async def test_a_killed_process_members_are_not_listed_once_its_presence_expires(
    redis_server: RedisServer,
) -> None:
    with trio.fail_after(30):
        async with (
            chat_process(redis_server.url, PRESENCE_TTL) as (_, one),
            chat_process(redis_server.url, PRESENCE_TTL) as (process_two, two),
        ):
            with contextlib.ExitStack() as clients:
                ann, members = await join(clients, one, "ann")  # she keeps the room's keys
                assert members == [ANN]
                _, members = await join(clients, two, "bob")
                assert members == [ANN, BOB]
                assert (await received(ann))["data"]["presence"] == BOB  # Bob joined
                assert await seen_by_a_newcomer(one) == [ANN, BOB, CAROL]
                os.kill(process_two.pid, signal.SIGKILL)  # nobody removes Bob: a ghost, until
                await process_two.wait()
                # his process refreshed its presence at most PRESENCE_TTL / 3 before it died
                with trio.fail_after(PRESENCE_TTL + 3):  # the rest: for a busy machine
                    while await seen_by_a_newcomer(one) != [ANN, CAROL]:  # noqa: ASYNC110 - polls
                        await trio.sleep(0.1)


async def subscribers(server: RedisServer, topic: str) -> int:
    """How many processes Redis hands ``topic``'s messages to (0 while it is down)."""
    client = coredis.Redis.from_url(server.url)
    channel = f"{PREFIX}0:{topic}"
    try:
        async with client:
            return (await client.pubsub_numsub(channel))[channel.encode()]
    except coredis.exceptions.ConnectionError:
        return 0


async def test_delivery_between_processes_resumes_after_redis_restarts(
    redis_server: RedisServer,
) -> None:
    with trio.fail_after(30):
        async with (
            chat_process(redis_server.url) as (_, one),
            chat_process(redis_server.url) as (_, two),
        ):
            with contextlib.ExitStack() as clients:
                ann, _ = await join(clients, one, "ann")
                bob, _ = await join(clients, two, "bob")
                assert (await received(ann))["data"]["type"] == "user_joined"
                await trio.to_thread.run_sync(ann.send, "before")
                assert (await received(bob))["data"]["message"] == "before"
                redis_server.stop()  # nobody sends meanwhile: that publish would fail (1011)
                redis_server.start()
                # each process's pub/sub retries within max_backoff (2 s), then connects and
                # subscribes within timeout (2 s) each: 6 s, and the rest for a busy machine
                with trio.fail_after(10):
                    while await subscribers(redis_server, "lobby") < 2:  # noqa: ASYNC110 - polls
                        await trio.sleep(0.05)
                await trio.to_thread.run_sync(ann.send, "after")
                after = await received(bob)
                assert (after["data"]["message"], after["offset"]) == ("after", 1)  # new epoch
