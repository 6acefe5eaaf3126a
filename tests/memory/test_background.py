"""Background tasks on both servers: after the response, in order, errors logged with the route."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import h11
import pytest
import trio

from fastrapi import Depends, FastrAPI, HTTPException
from fastrapi.background import BackgroundTask, BackgroundTasks
from fastrapi.responses import PlainTextResponse
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from fastrapi.server import ServerName

    from .conftest import HTTP


def make_app(log: list[str]) -> FastrAPI:
    app = FastrAPI()

    def write(line: str) -> None:
        main = threading.current_thread() is threading.main_thread()
        log.append(f"{line} in {'main' if main else 'worker'}")

    async def awrite(line: str) -> None:
        await trio.lowlevel.checkpoint()
        log.append(f"{line} async")

    def fail() -> None:
        raise RuntimeError("the task broke")

    def with_tasks(tasks: BackgroundTasks) -> BackgroundTasks:
        tasks.add_task(write, "from the dependency")
        return tasks

    @app.post("/send/{who}")
    async def send(
        who: str, tasks: BackgroundTasks, dep: Annotated[BackgroundTasks, Depends(with_tasks)]
    ) -> dict[str, str]:
        assert dep is tasks  # one instance per request
        tasks.add_task(write, who)
        tasks.add_task(awrite, who)
        log.append("handler returned")
        return {"queued": who}

    @app.get("/failing")
    async def failing(tasks: BackgroundTasks) -> str:
        tasks.add_task(fail)
        tasks.add_task(write, "after the failure")
        return "ok"

    @app.get("/own")
    async def own() -> PlainTextResponse:
        return PlainTextResponse("own", background=BackgroundTask(write, "own task"))

    @app.get("/refused")
    async def refused(tasks: BackgroundTasks) -> str:
        tasks.add_task(write, "never")
        raise HTTPException(403, "no")

    return app


async def test_tasks_run_after_the_response_in_order(http: HTTP) -> None:
    log: list[str] = []
    with trio.fail_after(10):
        response = await http(make_app(log), "POST", "/send/ann")
    assert response.json() == {"queued": "ann"}
    assert log == [
        "handler returned",
        "from the dependency in worker",
        "ann in worker",
        "ann async",
    ]


async def test_a_failing_task_is_logged_with_its_route_and_the_next_runs(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    with trio.fail_after(10), caplog.at_level(logging.ERROR, "fastrapi"):
        response = await http(make_app(log), "GET", "/failing")
    assert response.json() == "ok"
    assert "background task" in caplog.text
    assert "of GET /failing failed" in caplog.text
    assert "the task broke" in caplog.text
    assert log == ["after the failure in worker"]


async def test_a_responses_own_task_and_none_after_an_error(http: HTTP) -> None:
    log: list[str] = []
    app = make_app(log)
    with trio.fail_after(10):
        assert (await http(app, "GET", "/own")).text == "own"
        assert (await http(app, "GET", "/refused")).status_code == 403
    assert log == ["own task in worker"]


async def test_background_tasks_run_standalone() -> None:
    log: list[int] = []
    tasks = BackgroundTasks()
    tasks.add_task(log.append, 1)
    tasks.add_task(log.append, 2)
    with trio.fail_after(5):
        await tasks()
    assert log == [1, 2]


@pytest.mark.parametrize("server", ["native", "hypercorn"])
async def test_a_task_outliving_shutdown_timeout_is_cancelled(server: ServerName) -> None:
    app = FastrAPI()
    started = trio.Event()
    cancelled = trio.Event()

    async def forever() -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    @app.get("/")
    async def index(tasks: BackgroundTasks) -> str:
        tasks.add_task(forever)
        return "ok"

    conn = h11.Connection(h11.CLIENT)
    received = b""
    with trio.fail_after(10):
        async with open_live_server(app, server=server, shutdown_timeout=0.1) as address:
            stream = await trio.open_tcp_stream(address.host, address.port)
            request = h11.Request(method="GET", target="/", headers=[("host", "x")])
            await stream.send_all(conn.send(request) + (conn.send(h11.EndOfMessage()) or b""))
            while b"ok" not in received:
                received += await stream.receive_some(4096)
            await started.wait()  # the response is out, the task runs: now shut down
        await cancelled.wait()
        await stream.aclose()
    assert received.startswith(b"HTTP/1.1 200")
