"""Two fastrapi processes on one Redis: the chat example's rooms, presence and history span both."""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

import pytest
import trio
from websockets.sync.client import connect

from tests.integration.processes import ROOT, fastrapi_run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .server import RedisServer

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def chat_process(url: str) -> AsyncIterator[int]:
    """``fastrapi run chat_hub:app`` on the Redis at ``url``; its port."""
    env = {**os.environ, "FASTRAPI_HUB_URL": url}
    async with fastrapi_run(app="chat_hub:app", cwd=ROOT / "examples", env=env) as (_, out):
        yield int((await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)/"))[1])


def conversation(one: int, two: int) -> dict[str, Any]:
    """Ann on process one, Bob on process two; then Bob comes back on process one."""

    def receive(ws: Any) -> Any:
        return json.loads(ws.recv(timeout=5))

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
        async with chat_process(redis_server.url) as one, chat_process(redis_server.url) as two:
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
