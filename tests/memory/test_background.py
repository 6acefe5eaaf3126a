"""Background tasks on both servers: after the response, in order, errors logged with the route."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import trio
import trio.lowlevel

from fastrapi import Depends, FastrAPI, HTTPException
from fastrapi.background import BackgroundTask, BackgroundTasks
from fastrapi.responses import PlainTextResponse

if TYPE_CHECKING:
    import pytest

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
