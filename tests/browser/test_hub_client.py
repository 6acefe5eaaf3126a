"""The browser client, ``/_fastrapi/hub.js``, in headless Chromium against real servers
(``hub_app.py``): through a worker SIGKILLed mid-stream on Redis (every message once, in order,
``recovered: true``), a memory Hub whose process restarts (``recovered: false``), refusals that
leave the connection up, the browser going offline and online, a reload, and a server that
stops pinging. The page is driven line by line through ``bridge.mjs``.

The spread of many clients' reconnections is measured by the module's Node tests
(``hub.test.mjs``: 500 clients with a seeded random and mock timers), not with 500 pages."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import orjson
import pytest
import trio
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from fastrapi.testing import open_live_server
from tests.integration.processes import fastrapi_run, start_workers

from .conftest import HERE
from .hub_app import app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.redis.server import RedisServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.usefixtures("browser_ready"),
]

APP: Final = "tests.browser.hub_app:app"
SUBPROTOCOL: Final = "fastrapi.hub.v1"
TRIES: Final = 60  # connections before SO_REUSEPORT must have reached the other worker
COUNT: Final = 200  # numbered messages published
RATE: Final = 40  # per second

# What the page runs to make its client: window.hub, and window.log of what it was told.
WATCH: Final = """(([url, topic, options]) => {
  const log = { got: [], subscribed: [], states: [], closes: [], errors: [] };
  const hub = new hubjs.HubClient(url, options);
  hub.addEventListener("state", (e) => log.states.push(e.detail));
  hub.addEventListener("close", (e) => log.closes.push(e.detail));
  hub.subscribe(topic, {
    onMessage: (data) => log.got.push(data),
    onSubscribed: ({ recovered, wasRecovering }) =>
      log.subscribed.push({ recovered, wasRecovering }),
    onError: (error) => log.errors.push([error.code, error.message]),
  });
  window.hub = hub;
  window.log = log;
})(%s)"""

FAST: Final = {"minReconnectDelay": 0.1, "maxReconnectDelay": 0.5}


class Page:
    """A page of ``hub_app`` in Chromium, driven through ``bridge.mjs``."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.buffer = b""

    async def _line(self) -> Any:
        while b"\n" not in self.buffer:
            chunk = await self.stdout.receive_some()
            assert chunk, "the browser exited (its stderr is in the test's output)"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        assert "error" not in answer, answer["error"]
        return answer["ok"]

    async def _ask(self, command: dict[str, Any]) -> Any:
        await self.stdin.send_all(orjson.dumps(command) + b"\n")
        return await self._line()

    async def js(self, expression: str) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        return await self._ask({"js": expression})

    async def wait(self, expression: str, seconds: float = 20) -> Any:
        """The first truthy value of ``expression``, polled; fails after ``seconds``."""
        return await self._ask({"wait": expression, "timeout": seconds * 1000})

    async def watch(self, url: str, topic: str, **options: object) -> None:
        """Make the page's client of ``url``, subscribed to ``topic``, and wait for its
        ``subscribed``."""
        await self.js(WATCH % json.dumps([url, topic, options]))
        await self.wait("log.subscribed.length > 0")

    async def log(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.js("log")
        return found

    async def offline(self, offline: bool) -> None:
        await self._ask({"offline": offline})

    async def reload(self) -> None:
        await self._ask({"reload": True})


@contextlib.asynccontextmanager
async def open_page(url: str, tmp_path: Path) -> AsyncIterator[Page]:
    """``url`` in headless Chromium; its stderr (the page's errors and console) is printed when
    the test fails."""
    errors = tmp_path / "browser.log"
    with errors.open("wb") as stderr, trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            command = ["node", str(HERE / "bridge.mjs"), url]
            run = partial(
                trio.run_process,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                check=False,
            )
            process: trio.Process = await nursery.start(run)
            try:
                page = Page(process)
                assert await page._line() == "ready"
                yield page
            except BaseException:
                print(errors.read_text())
                raise
            finally:
                await process.stdin.aclose()  # type: ignore[union-attr]  # set by PIPE
                with trio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()


# -- a publisher in Python, on a worker of our choosing ------------------------------------------


class Publisher:
    """A client of the hub route that we did not write (``websockets``), for publishing."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 1
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello", hello

    def call(self, command: dict[str, Any]) -> Any:
        """Send ``command``; its reply's result (pings on the way are answered)."""
        command_id, self.next_id = self.next_id, self.next_id + 1
        self.ws.send(json.dumps({**command, "id": command_id}))
        while True:
            message = json.loads(self.ws.recv(timeout=5))
            if message["type"] == "ping":
                self.ws.send('{"type":"pong"}')
            elif message.get("id") == command_id:
                assert message["type"] == "reply", message
                return message["result"]


def publisher_on_another_worker(stack: contextlib.ExitStack, port: int, busy: int) -> Publisher:
    """A publisher served by a worker other than ``busy``."""
    for _ in range(TRIES):
        url = f"ws://127.0.0.1:{port}/realtime"
        ws = stack.enter_context(connect(url, subprotocols=[Subprotocol(SUBPROTOCOL)]))
        publisher = Publisher(ws)
        if publisher.call({"type": "rpc", "method": "pid", "params": None}) != busy:
            return publisher
        ws.close()
    raise AssertionError(f"{TRIES} connections all reached worker {busy}")


def publish_numbers(publisher: Publisher, numbers: range) -> None:
    """Publish ``numbers`` to the topic ``numbers``, RATE a second, each once the last was
    published."""
    for n in numbers:
        publisher.call({"type": "publish", "topic": "numbers", "data": n})
        time.sleep(1 / RATE)


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT workers are Linux's")
async def test_a_worker_killed_mid_stream_on_redis_loses_and_repeats_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The page on one worker, 200 numbers published through the other at 40/s; the page's
    worker SIGKILLed after 60 of them (its supervisor starts another): the page gets all 200
    once each, in order, and is told ``recovered: true``."""
    env = {**os.environ, "FASTRAPI_HUB_URL": redis_server.url}
    run = trio.to_thread.run_sync
    with contextlib.ExitStack() as stack, trio.fail_after(90):
        running = fastrapi_run("--workers", "2", "--shutdown-timeout", "1", app=APP, env=env)
        async with running as (_, out):
            port, _ = await start_workers(out, 2)
            async with open_page(f"http://127.0.0.1:{port}/", tmp_path) as page:
                await page.watch("/realtime", "numbers", **FAST)
                busy = await page.js('hub.rpc("pid")')
                publisher = await run(publisher_on_another_worker, stack, port, busy)
                await run(publish_numbers, publisher, range(60))
                os.kill(busy, signal.SIGKILL)
                await run(publish_numbers, publisher, range(60, COUNT))
                await run(publisher.call, {"type": "publish", "topic": "numbers", "data": "end"})
                await page.wait('log.got.includes("end")')
                log = await page.log()
    assert log["got"] == [*range(COUNT), "end"]
    first, *again = log["subscribed"]
    assert first == {"recovered": False, "wasRecovering": False}
    assert again
    assert all(info == {"recovered": True, "wasRecovering": True} for info in again), again
    assert log["closes"][0] == {"code": 1006, "reason": "", "reconnect": True}
    assert log["states"][-1] == "connected"
    assert log["errors"] == []


async def test_a_memory_hub_restarted_is_a_gap_and_the_page_is_told(tmp_path: Path) -> None:
    """Refusals are error replies on a connection that stays up (a refused handshake is a
    4401 that stops its client); offline and online, and a reload, recover from the last
    position; then the process is killed and started again on
    its port: its memory Hub is new, so the page hears ``recovered: false`` and goes on."""
    with trio.fail_after(90):
        async with fastrapi_run("--shutdown-timeout", "1", app=APP) as (process, out):
            found = await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)/")
            port = int(found[1])
            async with open_page(f"http://127.0.0.1:{port}/", tmp_path) as page:
                await page.watch("/realtime", "numbers", **FAST)
                # a refused subscription and a refused publish get their error replies
                refused = await page.js(
                    """new Promise((resolve) =>
                      hub.subscribe("secret", { onError: (e) => resolve([e.code, e.message]) }))"""
                )
                assert refused == [403, "subscription of topic 'secret' refused"]
                published = await page.js(
                    'hub.publish("readonly:x", 1).catch((e) => [e.reason, e.code, e.message])'
                )
                assert published == ["error", 403, "publishing of topic 'readonly:x' refused"]
                # ... and the connection is up: the next publish goes through
                position = await page.js('hub.publish("numbers", 0)')
                history = await page.js('hub.history("numbers")')
                assert position == {"epoch": history["epoch"], "offset": 1}
                assert history["publications"] == [{"data": 0, **position}]
                await page.wait("log.got.length === 1")
                log = await page.log()
                assert (log["states"], log["closes"]) == (["connected"], [])
                # a handshake refused (401): closed with 4401, and that client stops
                stopped = await page.js(
                    """new Promise((resolve) => {
                      const refused = new hubjs.HubClient("/realtime?user=mallory");
                      refused.addEventListener("close", (e) =>
                        resolve([e.detail, refused.stopCode, refused.state]));
                    })"""
                )
                assert stopped == [
                    {"code": 4401, "reason": "not you, mallory", "reconnect": False},
                    4401,
                    "disconnected",
                ]

                # offline: closed at once; a publish waits; online: reconnected, recovered
                await page.offline(True)
                await page.wait('hub.state === "disconnected"')
                waiting = 'window.queued = hub.publish("numbers", 1, { timeout: 30 }); true'
                assert await page.js(waiting)
                await page.offline(False)
                assert (await page.js("queued"))["offset"] == 2
                await page.wait("log.got.length === 2")
                log = await page.log()
                assert log["closes"] == [
                    {"code": 1006, "reason": "the browser is offline", "reconnect": False}
                ]
                assert log["subscribed"][-1] == {"recovered": True, "wasRecovering": True}

                # a reload: the new page's client recovers from the position in sessionStorage
                await page.reload()
                await page.watch("/realtime", "numbers", **FAST)
                assert (await page.log())["subscribed"] == [
                    {"recovered": True, "wasRecovering": True}
                ]
                await page.js('hub.publish("numbers", 2)')
                await page.wait("log.got.length === 1")
                assert (await page.log())["got"] == [2]

                # the process killed and started again on its port: a new memory Hub
                process.kill()
                await process.wait()
                restart = ("--port", str(port), "--shutdown-timeout", "1")
                async with fastrapi_run(*restart, app=APP) as (_, again):
                    await again.wait_for(rb"serving on http://127\.0\.0\.1:%d/" % port)
                    await page.wait("log.subscribed.length === 2")
                    log = await page.log()
                    assert log["subscribed"][-1] == {"recovered": False, "wasRecovering": True}
                    assert log["closes"][-1]["reconnect"] is True
                    await page.js('hub.publish("numbers", 3)')
                    await page.wait("log.got.length === 2")
                    assert (await page.log())["got"] == [2, 3]


async def test_a_server_that_stops_pinging_is_left_and_connected_again(tmp_path: Path) -> None:
    """``/silent`` announces pings every 0.5 s and sends none: the client drops the connection
    after the interval and its grace, tells the page, and connects again."""
    with trio.fail_after(60):
        async with (
            open_live_server(app) as server,
            open_page(server.url("/"), tmp_path) as page,
        ):
            await page.js(WATCH % json.dumps(["/silent", "x", {"pingGrace": 0.5, **FAST}]))
            await page.wait('hub.state === "connected"')
            # bounded: ping_interval + grace is 1 s; a busy machine gets ten
            await page.wait("log.closes.length > 0", seconds=10)
            await page.wait('hub.state === "connected"', seconds=10)
            log = await page.log()
    assert log["closes"][0] == {
        "code": 1006,
        "reason": "no ping from the server",
        "reconnect": True,
    }
    assert log["states"][:3] == ["connected", "disconnected", "connecting"]
    assert log["states"].count("connected") >= 2
