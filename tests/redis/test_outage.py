"""Redis away, as an operator meets it: at startup (one line and status 1, or a degraded start
by option), and while serving (one warning when it goes, one when it is back, 503 with
Retry-After to HTTP publishers, 1013 to WebSockets), with a real ``redis-server`` stopped and
started by its PID and the server in a real process; and a pub/sub whose SUBSCRIBE a proxy
loses on its way to Redis."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fastrapi import Hub, HubUnavailable
from fastrapi.hub import RedisBackend
from tests.integration.processes import Output, fastrapi_run
from tests.memory.test_monitor import metric

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .server import RedisServer

pytestmark = pytest.mark.integration

APP: Final = "tests.redis.outage_app:app"
UNAVAILABLE: Final = "Redis hub: Redis at "


@contextlib.asynccontextmanager
async def outage_app(
    url: str, *args: str, **env: str
) -> AsyncIterator[tuple[trio.Process, Output]]:
    environment = {**os.environ, "FASTRAPI_HUB_URL": url, **env}
    async with fastrapi_run(*args, app=APP, env=environment) as started:
        yield started


async def everything(process: trio.Process, out: Output) -> str:
    """What the process printed, once it exited."""
    while chunk := await out.stream.receive_some():
        out.seen += chunk
    await process.wait()
    return out.seen.decode()


def post(port: int, text: str) -> tuple[int, dict[str, str], Any]:
    """``POST /publish/lobby?text=...``: the status, headers and JSON body."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/publish/lobby?text={text}", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def joins(port: int) -> int | None:
    """A WebSocket that joins the lobby and sends one message: ``None`` if it joined and its
    message came back, else the close code it got."""
    try:
        with connect(f"ws://127.0.0.1:{port}/room/lobby") as ws:
            assert ws.recv(timeout=5) == "joined"
            ws.send("hello")
            while True:
                message = json.loads(ws.recv(timeout=5))
                if message["data"] == "hello":
                    return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
        return text


def published_once_back(port: int) -> dict[str, Any]:
    """Publish until it works (Redis is back: within the backoff); its answer."""
    failures = []
    for _ in range(100):
        status, _, body = post(port, "back")
        if status == 200:
            return dict(body)
        assert status == 503
        failures.append(body["detail"])
        time.sleep(0.1)
    raise AssertionError(f"publishing never worked again: {failures}")


def refused(port: int) -> tuple[int, dict[str, str], Any]:
    """A publish that fails while Redis is away (the first may find it out: up to its timeout)."""
    status, headers, body = post(port, "away")
    assert status == 503, (status, body)
    return status, {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_redis_away_at_startup_is_one_line_and_status_1(
    redis_server: RedisServer, workers: str
) -> None:
    if workers != "1" and sys.platform != "linux":
        pytest.skip("SO_REUSEPORT workers are Linux's")
    redis_server.stop()
    with trio.fail_after(30):
        running = outage_app(
            redis_server.url, "--workers", workers, FASTRAPI_HUB_STARTUP_TIMEOUT="1"
        )
        async with running as (process, out):
            printed = await everything(process, out)
    assert process.returncode == 1, printed
    lines = printed.splitlines()
    failures = [line for line in lines if line.startswith("fastrapi: ")]
    assert failures == [lines[-1]], printed  # one line, the last
    assert failures[0].startswith(f"fastrapi: Redis at {redis_server.url} did not answer within 1")
    assert "RedisBackend(start_degraded=True)" in failures[0]
    assert "Traceback" not in printed
    assert "Retry attempt" not in printed  # coredis's chatter is below WARNING
    if workers == "1":
        assert lines == failures


async def test_a_degraded_start_and_an_outage_answer_503_and_1013_and_log_once_each(
    redis_server: RedisServer,
) -> None:
    run = trio.to_thread.run_sync
    redis_server.stop()
    with trio.fail_after(60):
        async with outage_app(redis_server.url, FASTRAPI_HUB_DEGRADED="1") as (process, out):
            found = await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)/")
            port = int(found[1])
            await out.wait_for(rb"is unavailable")  # logged as it starts
            # Redis is away: HTTP publishers get 503 and when to come back, WebSockets 1013
            for _ in range(3):
                _, headers, body = await run(refused, port)
                assert headers["retry-after"] == "1"  # max_backoff=0.5, in whole seconds
                assert body["detail"].startswith("Redis could not publish: ")
            assert await run(joins, port) == 1013
            redis_server.start()
            assert (await run(published_once_back, port))["offset"] == 1
            assert await run(joins, port) is None
            # and it goes away while serving, with a member in the room
            with connect(f"ws://127.0.0.1:{port}/room/lobby") as member:
                assert await run(member.recv, 5) == "joined"
                redis_server.stop()
                await run(refused, port)
                await run(member.send, "while away")  # its publish fails: 1013
                with pytest.raises(ConnectionClosed) as closed:
                    await run(member.recv, 5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1013
            redis_server.start()
            await run(published_once_back, port)
            assert await run(joins, port) is None
            metrics = await run(scrape, port)
            process.send_signal(signal.SIGTERM)
            printed = await everything(process, out)
    assert process.returncode == 0, printed
    gone, back = f"{redis_server.url} is unavailable (", f"{redis_server.url} is back after "
    assert printed.count(gone) == 2, printed  # once each time it went
    assert printed.count(back) == 2, printed  # once each time it came back
    assert printed.count(UNAVAILABLE) == 4, printed  # and nothing else of the Hub's
    assert "Traceback" not in printed
    assert "coredis" not in printed  # its retry lines are below WARNING
    assert " 503 " in printed  # the access log has the statuses, one line a request
    assert metric(metrics, "fastrapi_hub_redis_outages_total") == 2
    assert metric(metrics, "fastrapi_hub_redis_reconnects_total") == 2
    assert metric(metrics, "fastrapi_hub_redis_outage_seconds_total") > 0
    assert metric(metrics, "fastrapi_hub_redis_available") == 1
    assert "1013" in printed  # and the WebSocket lines their close code


# -- the same in this process, with the backend's counts ------------------------------------


async def test_running_waits_for_redis_at_startup(redis_server: RedisServer) -> None:
    redis_server.stop()
    backend = RedisBackend(redis_server.url, startup_timeout=20, max_backoff=0.2)
    hub = Hub(backend=backend)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:

            async def start_later() -> None:
                await trio.sleep(0.5)  # a few pings have failed by then
                await trio.to_thread.run_sync(redis_server.start)

            nursery.start_soon(start_later)
            async with hub.running():
                assert backend.available
                assert (await hub.publish("t", "up")).offset == 1
    assert (backend.outages, backend.reconnects) == (0, 0)  # waiting is not an outage


async def test_running_fails_after_startup_timeout_with_the_reason(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    hub = Hub(backend=RedisBackend(redis_server.url, startup_timeout=0.3))
    with trio.fail_after(10), pytest.raises(HubUnavailable) as caught:
        async with hub.running():
            pytest.fail("started without Redis")
    message = str(caught.value)
    assert message.startswith(f"Redis at {redis_server.url} did not answer within 0.3s (")
    assert "Unable to establish a connection" in message
    assert caught.value.retry_after == 2.0  # max_backoff


async def test_a_server_that_never_answers_is_a_timeout_at_startup() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()  # accepts, and never answers

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            backend = RedisBackend(f"redis://127.0.0.1:{port}/0", timeout=0.3, startup_timeout=0)
            started = False
            with pytest.raises(HubUnavailable, match=r"\(no answer within 0\.3s\)"):
                async with Hub(backend=backend).running():
                    started = True
            assert not started
            nursery.cancel_scope.cancel()


async def test_an_outage_is_one_warning_each_way_and_counted(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = RedisBackend(redis_server.url, timeout=0.5, max_backoff=1.0)
    hub = Hub(backend=backend)
    with trio.fail_after(30):
        async with hub.running():
            await hub.publish("t", "before")
            redis_server.stop()
            with pytest.raises(HubUnavailable, match="could not publish") as first:
                await hub.publish("t", "during")
            assert first.value.retry_after == 1.0
            assert not hub.statistics().redis_available
            for _ in range(3):  # known away: at once (no attempt) until the next one is due
                with pytest.raises(HubUnavailable, match="it is unavailable"):
                    await hub.publish("t", "during")
            await trio.sleep(1.1)  # max_backoff: the next call tries, fails, and warns no more
            with pytest.raises(HubUnavailable, match="could not publish: Unable"):
                await hub.publish("t", "during")
            redis_server.start()
            while True:
                try:
                    await hub.publish("t", "after")
                    break
                except HubUnavailable:
                    await trio.sleep(0.05)
            assert backend.available
            stats = hub.statistics()
    assert (backend.outages, backend.reconnects) == (1, 1)
    assert backend.outage_seconds > 0
    assert (stats.redis_outages, stats.redis_reconnects) == (1, 1)
    assert stats.redis_outage_seconds == backend.outage_seconds
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert f"Redis at {redis_server.url} is unavailable (could not publish: " in warnings[0]
    assert f"Redis at {redis_server.url} is back after " in warnings[1]
    assert not [r for r in caplog.records if r.name.startswith("coredis")]


async def test_a_degraded_start_refuses_joins_at_once_until_redis_is_there(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.stop()
    backend = RedisBackend(
        redis_server.url, timeout=0.5, max_backoff=0.2, startup_timeout=0, start_degraded=True
    )
    hub = Hub(backend=backend)
    with trio.fail_after(30):
        async with hub.running():
            assert not hub.statistics().redis_available
            assert backend.outages == 1
            subscribed = False
            # at once, without waiting for the pub/sub: Redis is known to be away
            with pytest.raises(HubUnavailable, match="not connected: Redis is unavailable"):
                async with hub.subscribe("t"):
                    subscribed = True
            assert not subscribed
            await trio.to_thread.run_sync(redis_server.start)
            while not backend.available:  # noqa: ASYNC110 - polls until the pub/sub is back
                await trio.sleep(0.05)
            async with hub.subscribe("t") as messages:
                await hub.publish("t", "now")
                assert (await messages.__anext__()).data == "now"
    assert backend.reconnects == 1
    assert "is unavailable" in caplog.text


async def test_a_call_that_only_times_out_fails_alone(redis_server: RedisServer) -> None:
    backend = RedisBackend(redis_server.url, timeout=0.3)
    hub = Hub(backend=backend)
    with trio.fail_after(10):
        async with hub.running():

            async def slow(client: object) -> None:
                await trio.sleep(1)  # a busy Redis, or a busy process

            with pytest.raises(HubUnavailable, match=r"Redis did not answer within 0\.3s"):
                await backend._call("answer", slow)
            assert hub.statistics().redis_available  # slow is not gone: no outage
            assert (await hub.publish("t", "still there")).offset == 1
    assert backend.outages == 0


class LosingProxy:
    """A TCP proxy to Redis that loses the pub/sub's next SUBSCRIBE of topic ``t`` on its way
    (Redis never sees it, so never acknowledges it); everything else goes through."""

    SUBSCRIBE: Final = b"*2\r\n$9\r\nSUBSCRIBE\r\n$12\r\nfastrapi:0:t\r\n"

    def __init__(self, port: int) -> None:
        self.port = port
        self.lost = 0

    async def serve(self, *, task_status: trio.TaskStatus[int]) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(self._connection, listeners)

    async def _connection(self, client: trio.SocketStream) -> None:
        async with client:
            server = await trio.open_tcp_stream("127.0.0.1", self.port)
            async with server, trio.open_nursery() as nursery:
                nursery.start_soon(self._pipe, client, server, nursery.cancel_scope, True)
                nursery.start_soon(self._pipe, server, client, nursery.cancel_scope, False)

    async def _pipe(
        self,
        source: trio.SocketStream,
        sink: trio.SocketStream,
        both: trio.CancelScope,
        to_redis: bool,
    ) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            async for chunk in source:
                if to_redis and not self.lost and self.SUBSCRIBE in chunk:
                    chunk = chunk.replace(self.SUBSCRIBE, b"", 1)
                    self.lost += 1
                await sink.send_all(chunk)
        both.cancel()  # one side closed: so does the other


async def test_a_pub_sub_subscription_not_acknowledged_in_time_is_slow_not_gone(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "fastrapi.hub")
    proxy = LosingProxy(redis_server.port)
    other = Hub(redis_server.url)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.serve)
            backend = RedisBackend(f"redis://127.0.0.1:{port}/0", timeout=0.5)
            hub = Hub(backend=backend)
            async with other.running(), hub.running():
                # joined before the pub/sub is up: the pub/sub subscribes the topic as it
                # connects, and Redis never answers that
                with pytest.raises(HubUnavailable, match=r"not connected \(waited 0\.5s\)"):
                    async with hub.subscribe("t"):
                        pytest.fail("subscribed without an answer from Redis")
                assert proxy.lost == 1
                async with hub.subscribe("t") as messages:  # the pub/sub subscribed again
                    await other.publish("t", "through")
                    assert (await messages.__anext__()).data == "through"
            nursery.cancel_scope.cancel()
    assert "pub/sub did not subscribe within 0.5s" in caplog.text
    assert (backend.outages, backend.reconnects) == (0, 0)  # slow is not gone


async def test_a_pub_sub_subscription_lost_is_an_outage_until_it_is_made_again(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = LosingProxy(redis_server.port)
    other = Hub(redis_server.url)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.serve)
            backend = RedisBackend(f"redis://127.0.0.1:{port}/0")  # timeout=2: coredis's 1s
            hub = Hub(backend=backend)
            # the pub/sub's SUBSCRIBE is lost: the join waits for it to subscribe again
            async with other.running(), hub.running(), hub.subscribe("t") as messages:
                assert proxy.lost == 1
                await other.publish("t", "through")
                assert (await messages.__anext__()).data == "through"
            nursery.cancel_scope.cancel()
    assert (backend.outages, backend.reconnects) == (1, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "is unavailable (could not keep the pub/sub connection: " in warnings[0]
    assert "is back after " in warnings[1]
