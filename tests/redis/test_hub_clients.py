"""fastrapi.client across processes and failures: a worker SIGKILLed mid-stream and started
again (Redis: every message once, in order, ``recovered: true``; the memory Hub: ``recovered:
false``), and 500 clients of a killed worker coming back spread over the backoff window."""

from __future__ import annotations

import os
import sys
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest
import trio

from fastrapi.client import HubClient, connect_hub
from tests.integration.processes import Output, python_run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from .server import RedisServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="processes killed by signal: Linux"),
]

APP: Final = "tests.redis.hub_protocol_app:app"
MESSAGES: Final = 200
RATE: Final = 40  # messages per second


@dataclass
class Worker:
    process: trio.Process
    port: int

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/hub"


async def _drain(output: Output) -> None:
    """Keep reading what the process prints, so that it never blocks on a full pipe."""
    while await output.stream.receive_some():
        pass


@asynccontextmanager
async def worker(port: int, env: Mapping[str, str]) -> AsyncIterator[Worker]:
    """The app served by one process on ``port`` (0: a free one), killed at the end."""
    command = ("-m", "fastrapi", "run", APP, "--port", str(port))
    async with python_run(*command, env=env) as (process, out):
        with trio.fail_after(60):
            found = await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_drain, out)
            yield Worker(process, int(found[1]))
            nursery.cancel_scope.cancel()


def kill(process: trio.Process) -> None:
    process.kill()  # SIGKILL: no close frame, no goodbye


async def receive(sub: object, count: int, into: list[object]) -> None:
    from fastrapi.client import HubSubscription

    assert isinstance(sub, HubSubscription)
    while len(into) < count:
        into.append((await sub.__anext__()).data)


async def test_200_messages_through_a_killed_worker_once_each_in_order_recovered(
    redis_server: RedisServer,
) -> None:
    env = {**os.environ, "FASTRAPI_HUB_URL": redis_server.url}
    got: list[object] = []
    with trio.fail_after(120):
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(worker(0, env))
            other = await stack.enter_async_context(worker(0, env))
            follower = await stack.enter_async_context(
                connect_hub(first.url, min_reconnect_delay=0.05, max_reconnect_delay=0.5)
            )
            publisher = await stack.enter_async_context(connect_hub(other.url))
            sub = await stack.enter_async_context(follower.subscribe("numbers"))

            async def publish() -> None:
                for n in range(1, MESSAGES + 1):
                    await publisher.publish("numbers", n)
                    await trio.sleep(1 / RATE)
                await publisher.publish("numbers", "end")

            nursery = await stack.enter_async_context(trio.open_nursery())
            nursery.start_soon(publish)
            await receive(sub, MESSAGES // 4, got)  # mid-stream
            kill(first.process)
            await first.process.wait()
            restarted = await stack.enter_async_context(worker(first.port, env))
            assert restarted.port == first.port
            await receive(sub, MESSAGES + 1, got)
            assert got == [*range(1, MESSAGES + 1), "end"]  # each once, in order, all
            assert (sub.subscribed, sub.was_recovering, sub.recovered) == (2, True, True)
            assert (follower.connections, follower.close_code) == (2, 1006)


async def test_a_restarted_worker_with_the_memory_hub_says_recovered_false() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FASTRAPI_HUB_URL"}
    with trio.fail_after(120):
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(worker(0, env))
            client = await stack.enter_async_context(
                connect_hub(first.url, min_reconnect_delay=0.05, max_reconnect_delay=0.5)
            )
            sub = await stack.enter_async_context(client.subscribe("numbers"))
            for n in range(1, 6):
                await client.publish("numbers", n)
            before: list[object] = []
            await receive(sub, 5, before)
            kill(first.process)
            await first.process.wait()
            await stack.enter_async_context(worker(first.port, env))
            await sub.wait_subscribed(2)
            assert (sub.was_recovering, sub.recovered) == (True, False)  # a new epoch
            position = await client.publish("numbers", "after")
            assert position.offset == 1
            after: list[object] = []
            await receive(sub, 1, after)
            assert (before, after) == ([1, 2, 3, 4, 5], ["after"])


CLIENTS: Final = 500
WINDOW: Final = 3.0  # seconds: every reconnection attempt waits uniform(0, WINDOW)


async def test_500_clients_of_a_killed_worker_come_back_spread_over_the_window() -> None:
    """Full jitter: after the worker is back, each client's next attempt falls anywhere in
    the window, so the reconnections are spread over it, not one burst. Measured: when the
    attempts that connected each client again were due, from the first of them (when they
    completed also depends on how fast two busy processes get through them)."""
    env = {k: v for k, v in os.environ.items() if k != "FASTRAPI_HUB_URL"}
    with trio.fail_after(180):
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(worker(0, env))
            clients: list[HubClient] = []
            for _ in range(CLIENTS):
                client = await stack.enter_async_context(
                    connect_hub(first.url, min_reconnect_delay=WINDOW, max_reconnect_delay=WINDOW)
                )
                clients.append(client)
            for client in clients:
                await client.wait_connected()
            kill(first.process)
            await first.process.wait()
            await stack.enter_async_context(worker(first.port, env))
            for client in clients:
                await client.wait_connected(2)
    due = sorted(client.attempted_at for client in clients)  # type: ignore[type-var]
    first_due: float = due[0]  # type: ignore[assignment]
    times = [t - first_due for t in due]  # type: ignore[operator]
    done = max(client.connected_at for client in clients) - first_due  # type: ignore[type-var,operator]
    p10, p90 = times[len(times) // 10], times[len(times) * 9 // 10]
    slices = [0] * 10  # tenths of the window
    for t in times:
        slices[min(9, max(0, int(t / WINDOW * 10)))] += 1
    print(
        f"reconnection attempts after the worker was back: p10 {p10:.2f}s p90 {p90:.2f}s,"
        f" per tenth of the window {slices}; all connected after {done:.2f}s"
    )
    # While the worker was down every client kept trying, each wait uniform over the window,
    # so when it is back the time to each client's next try is a renewal process's residual:
    # density falling linearly from 2/W at 0 to none at W (p10 0.15 s, p90 2.05 s, 19% in the
    # first tenth). Without jitter they would all come in one instant, in one tenth.
    assert p90 - p10 > WINDOW / 3
    assert max(slices) < CLIENTS / 2
