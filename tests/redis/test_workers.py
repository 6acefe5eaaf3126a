"""Workers of one app on one Redis: ``fastrapi run --workers 2``, ``app.serve(workers=2)`` and
``--workers 2 --reload``. Each worker has identities of its own on Redis, made in the process
that serves, so a room, its members and its history span the workers, and a worker that is
killed and replaced comes back as a new process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import pytest
import trio
from websockets.sync.client import ClientConnection, connect

from fastrapi import FastrAPI, Hub, WebSocket
from fastrapi.testing import open_websocket
from tests.integration.processes import ROOT, Output, fastrapi_run, python_run, start_workers

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
    from pathlib import Path

    from .server import RedisServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT workers are Linux's"),
]

APP: Final = "tests.redis.hub_app"
PRESENCE_TTL: Final = 3.0  # seconds, where a test waits for a killed worker's members to expire
TRIES: Final = 60  # connections before SO_REUSEPORT must have reached every worker
ROOM: Final = "lobby"


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "FASTRAPI_HUB_URL": url,
        "FASTRAPI_HUB_PRESENCE_TTL": str(PRESENCE_TTL),
    }


@contextlib.asynccontextmanager
async def two_workers(how: str, url: str) -> AsyncIterator[tuple[trio.Process, Output]]:
    """``hub_app`` served by two workers on the Redis at ``url``: through the command, or
    through ``app.serve(workers=2)`` in a script."""
    env = environment(url)
    if how == "run":
        running = fastrapi_run(
            "--workers", "2", "--shutdown-timeout", "1", app=f"{APP}:app", env=env
        )
    else:
        running = python_run("-m", APP, env=env)
    async with running as started:
        yield started


@dataclass
class Client:
    """A member of the room, the worker that serves it, and what it received."""

    name: str
    ws: ClientConnection
    pid: int
    got: list[dict[str, Any]] = field(default_factory=list)


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return message


def enter(
    stack: contextlib.ExitStack, port: int, name: str = "", since: dict[str, Any] | None = None
) -> tuple[ClientConnection, int, list[dict[str, Any]]]:
    """A WebSocket in the room (named ``name``, recovering after the position of the message
    ``since``), the pid of the worker it reached, and the messages it recovered."""
    query = {"name": name}
    if since is not None:
        query |= {"epoch": since["epoch"], "offset": since["offset"]}
    # unbounded: what a client has not read yet never holds up the server
    ws = stack.enter_context(
        connect(f"ws://127.0.0.1:{port}/room/{ROOM}?{urlencode(query)}", max_queue=None)
    )
    recovered = []
    while "pid" not in (message := receive(ws)):
        recovered.append(message)
    return ws, message["pid"], recovered


def clients_on(
    stack: contextlib.ExitStack, port: int, pids: Iterable[int], each: int, prefix: str
) -> list[Client]:
    """Members named ``prefix0``, ``prefix1``... joined one after the other, until every worker
    of ``pids`` serves ``each`` of them (the kernel spreads connections: a few more may come)."""
    clients: list[Client] = []
    for n in range(TRIES):
        name = f"{prefix}{n}"
        ws, pid, _ = enter(stack, port, name)
        clients.append(Client(name, ws, pid))
        served = Counter(client.pid for client in clients)
        if all(served[pid] >= each for pid in pids):
            return clients
    raise AssertionError(f"{TRIES} connections reached only {served}, not each of {pids}")


def exchange(clients: list[Client], rounds: int) -> None:
    """Each client publishes ``rounds`` messages; each gets every one once, each publisher's
    in the order it published them, at the same positions as the others."""
    for n in range(rounds):
        for client in clients:
            client.ws.send(str(n))
    expected = sorted((client.name, str(n)) for client in clients for n in range(rounds))
    positions: dict[int, object] = {}
    for client in clients:
        got = [receive(client.ws) for _ in expected]
        client.got += got
        sent = [(message["data"]["from"], message["data"]["text"]) for message in got]
        assert sorted(sent) == expected, (client.name, client.pid, sent)
        for publisher in {name for name, _ in expected}:
            texts = [text for name, text in sent if name == publisher]
            assert texts == sorted(texts, key=int), (client.name, publisher, texts)
        for message in got:
            assert positions.setdefault(message["offset"], message["data"]) == message["data"]
        with pytest.raises(TimeoutError):  # and nothing more: no message twice
            client.ws.recv(timeout=0.2)


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.loads(response.read())


def from_each(port: int, path: str, pids: Iterable[int]) -> dict[int, Any]:
    """``GET path`` answered by each worker of ``pids`` (each request is a new connection,
    which the kernel gives to any worker), by pid."""
    answers: dict[int, Any] = {}
    for _ in range(TRIES):
        answer = get_json(port, path)
        answers[answer["pid"]] = answer
        if set(answers) >= set(pids):
            return {pid: answers[pid] for pid in pids}
    raise AssertionError(f"{TRIES} requests reached only {set(answers)}, not each of {pids}")


def members(port: int, pids: Iterable[int]) -> dict[int, list[object]]:
    """The room's members as each worker lists them."""
    return {
        pid: answer["members"] for pid, answer in from_each(port, f"/members/{ROOM}", pids).items()
    }


def identities(port: int, pids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each worker's Hub and Redis backend, as their reprs show their ids."""
    return {
        pid: (answer["hub"], answer["backend"])
        for pid, answer in from_each(port, "/whoami", pids).items()
    }


def recovered_on_another_worker(port: int, client: Client) -> None:
    """A client that saw the room's first message comes back on a worker other than
    ``client``'s and recovers what came after it, as ``client`` got it."""
    seen = sorted(client.got, key=lambda message: message["offset"])
    for _ in range(TRIES):
        with contextlib.ExitStack() as stack:
            _, pid, recovered = enter(stack, port, since=seen[0])
            if pid != client.pid:
                assert recovered == seen[1:]
                return
    raise AssertionError(f"{TRIES} connections all reached worker {client.pid}")


def names(clients: Iterable[Client]) -> list[object]:
    return [{"name": client.name} for client in clients]


@pytest.mark.parametrize("how", ["run", "serve"])
async def test_clients_of_two_workers_share_the_room_and_a_replaced_worker_is_new(
    how: str, redis_server: RedisServer
) -> None:
    stack = contextlib.ExitStack()
    run = trio.to_thread.run_sync
    try:
        with trio.fail_after(90):
            async with two_workers(how, redis_server.url) as (process, out):
                port, pids = await start_workers(out, 2)
                workers = set(pids.values())
                clients = await run(clients_on, stack, port, workers, 2, "a")
                # every worker lists every member, in the order they joined
                assert await run(members, port, workers) == dict.fromkeys(workers, names(clients))
                await run(exchange, clients, 3)
                await run(recovered_on_another_worker, port, clients[0])
                before = await run(identities, port, workers)
                assert len({hub for hub, _ in before.values()}) == 2, before
                assert len({backend for _, backend in before.values()}) == 2, before

                killed, survivor = pids[1], pids[2]
                os.kill(killed, signal.SIGKILL)
                found = await out.wait_for(rb"worker 1 \(pid (\d+)\) is serving", len(out.seen))
                replacement = int(found[1])
                assert replacement != killed
                # nobody removed the killed worker's members: they go when its presence expires
                left = [client for client in clients if client.pid != killed]
                with trio.fail_after(PRESENCE_TTL + 5):  # the rest: for a busy machine
                    while (await run(members, port, [survivor]))[survivor] != names(left):  # noqa: ASYNC110 - polls
                        await trio.sleep(0.1)
                after = await run(identities, port, [survivor, replacement])
                assert after[survivor] == before[survivor]
                new_hub, new_backend = after[replacement]
                assert new_hub not in {hub for hub, _ in before.values()}
                assert new_backend not in {backend for _, backend in before.values()}

                newcomers = await run(clients_on, stack, port, [replacement], 1, "b")
                everyone = left + newcomers
                both = [survivor, replacement]
                assert await run(members, port, both) == dict.fromkeys(both, names(everyone))
                await run(exchange, everyone, 2)
                process.send_signal(signal.SIGTERM)
                assert await process.wait() == 0
    finally:
        await run(stack.close)


async def test_workers_with_reload_share_the_room_before_and_after_a_reload(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    pytest.importorskip("watchfiles")  # in the test group; the extra `reload`
    module = tmp_path / "reloaded_hub.py"
    source = (ROOT / "tests" / "redis" / "hub_app.py").read_text()
    module.write_text(source)
    run = trio.to_thread.run_sync
    with trio.fail_after(90):
        running = fastrapi_run(
            "--workers",
            "2",
            "--reload",
            "--shutdown-timeout",
            "1",
            app="reloaded_hub:app",
            cwd=tmp_path,
            env=environment(redis_server.url),
        )
        async with running as (process, out):
            seen: list[set[tuple[str, str]]] = []  # the workers' ids, by generation
            for generation in range(2):
                start = len(out.seen)
                if generation:  # a change: the supervisor and its workers start again
                    module.write_text(source + "\n# changed\n")
                    await out.wait_for(rb"reloading: .*reloaded_hub\.py changed", start)
                port, pids = await start_workers(out, 2, start)
                workers = set(pids.values())
                with contextlib.ExitStack() as stack:
                    clients = await run(clients_on, stack, port, workers, 1, f"g{generation}-")
                    assert await run(members, port, workers) == dict.fromkeys(
                        workers, names(clients)
                    )
                    await run(exchange, clients, 2)
                    seen.append(set((await run(identities, port, workers)).values()))
                    assert len(seen[-1]) == 2
                    await run(stack.close)
            assert not seen[0] & seen[1]
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


def chat(port: int, count: int) -> tuple[list[object], list[list[str]]]:
    """``count`` clients in the chat example's lobby, joined one after the other, each sending
    one message: the members the last one was shown, and the messages each received."""
    with contextlib.ExitStack() as stack:
        clients = []
        for n in range(count):
            url = f"ws://127.0.0.1:{port}/chat/lobby?username=u{n}"
            clients.append(stack.enter_context(connect(url, max_queue=None)))
            # the members, once it is in; an earlier one's join notice may come first: from
            # the other worker it comes through Redis, and may come after this one joined
            while "members" not in (shown := receive(clients[-1])):
                assert shown["data"]["type"] == "user_joined", shown
        for n, ws in enumerate(clients):
            ws.send(f"from u{n}")
        received = []
        for ws in clients:
            texts: list[str] = []
            while len(texts) < count:  # the others' join notices come first
                message = receive(ws)["data"]
                if message["type"] == "message":
                    texts.append(message["message"])
            with pytest.raises(TimeoutError):  # and nothing more: no message twice
                ws.recv(timeout=0.2)
            received.append(texts)
    return shown["members"], received


async def test_the_chat_example_on_two_workers_gives_every_client_every_message(
    redis_server: RedisServer,
) -> None:
    # as the deployment docs run it; eight clients reach both workers but once in 128 times
    env = {**os.environ, "FASTRAPI_HUB_URL": redis_server.url}
    with trio.fail_after(60):
        command = ("--workers", "2", "--shutdown-timeout", "1")
        async with fastrapi_run(*command, app="examples.chat_hub:app", env=env) as (process, out):
            port, _ = await start_workers(out, 2)
            shown, received = await trio.to_thread.run_sync(chat, port, 8)
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    assert shown == [{"username": f"u{n}"} for n in range(8)]
    for texts in received:
        assert sorted(texts) == sorted(f"from u{n}" for n in range(8))


def in_forked_child(function: Callable[..., Awaitable[object]], *args: object) -> Any:
    """``trio.run(function, *args)`` in a forked child (as in a worker forked after the app was
    imported); what it returned, through JSON."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read)
            os.write(write, json.dumps(trio.run(function, *args)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = json.loads(pipe.read())
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    return answer


async def identity(hub: Hub) -> dict[str, object]:
    """What identifies ``hub`` while it runs: a subscriber's key, and the Redis backend's id
    (``None`` for memory)."""
    with trio.fail_after(10):
        async with hub.running(), hub.subscribe("t") as subscription:
            return {"key": subscription.key, "origin": getattr(hub._backend, "_origin", None)}


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_forked_processes_have_identities_of_their_own(
    backend: str, redis_server: RedisServer
) -> None:
    hub = Hub(redis_server.url) if backend == "redis" else Hub()  # made before the fork
    one, two = in_forked_child(identity, hub), in_forked_child(identity, hub)
    assert one["key"] != two["key"]
    if backend == "redis":
        assert None is not one["origin"] != two["origin"] is not None


async def counts(app: FastrAPI) -> list[int]:
    """Serve one WebSocket that publishes one message; then the app's and the Hub's counts."""
    assert app.hub is not None
    with trio.fail_after(10):
        async with app.running(), open_websocket(app, "/ws") as ws:
            await ws.send_text("hello")
            assert await ws.receive_text() == "hello"
        stats, hub = app.statistics(), app.hub.statistics()
        return [stats.connections_total, stats.messages_in, hub.published, hub.delivered]


def test_a_forked_worker_counts_what_it_serves_not_what_its_parent_did() -> None:
    app = FastrAPI(hub=Hub())

    @app.websocket("/ws")
    async def echo(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("t", ws):
            await hub.publish("t", await ws.receive_text())
            await ws.receive_text()  # until the client leaves

    assert trio.run(counts, app) == [1, 1, 1, 1]  # the parent served one, before the fork
    assert in_forked_child(counts, app) == [1, 1, 1, 1]  # the child: its own one only
    assert trio.run(counts, app) == [2, 2, 2, 2]  # the parent counts on
