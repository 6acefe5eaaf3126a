"""Startup and shutdown: hooks, the lifespan context manager, the ASGI lifespan protocol."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio
import trio.testing

from fastrapi import FastrAPI
from fastrapi._types import Message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import pytest


async def run_lifespan(app: FastrAPI) -> list[str]:
    """Drive the ASGI lifespan protocol as a server does; return what the app answered."""
    to_app, app_inbox = trio.open_memory_channel[Message](2)
    answers: list[str] = []

    async def send(message: Message) -> None:
        answers.append(message["type"])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, {"type": "lifespan"}, app_inbox.receive, send)
        await to_app.send({"type": "lifespan.startup"})
        await trio.testing.wait_all_tasks_blocked()
        if answers == ["lifespan.startup.complete"]:
            await to_app.send({"type": "lifespan.shutdown"})
    return answers


async def test_hooks_and_lifespan_run_in_order() -> None:
    events: list[str] = []

    def sync_hook() -> None:
        events.append("sync startup")

    async def async_hook() -> None:
        events.append("async startup")

    async def shutdown() -> None:
        events.append("shutdown")

    @asynccontextmanager
    async def lifespan(app: FastrAPI) -> AsyncIterator[None]:
        events.append("enter")
        app.state.ready = True
        async with trio.open_nursery() as nursery:  # long-lived tasks live here
            nursery.start_soon(trio.sleep_forever)
            yield
            nursery.cancel_scope.cancel()
        events.append("exit")

    app = FastrAPI(on_startup=[sync_hook, async_hook], on_shutdown=[shutdown], lifespan=lifespan)
    with trio.fail_after(5):
        answers = await run_lifespan(app)
    assert answers == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["sync startup", "async startup", "enter", "exit", "shutdown"]
    assert app.state.ready


async def test_failed_startup_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("no database")

    with trio.fail_after(5):
        answers = await run_lifespan(FastrAPI(on_startup=[broken]))
    assert answers == ["lifespan.startup.failed"]
    assert "application startup failed" in caplog.text


async def test_failed_shutdown_is_reported() -> None:
    def broken() -> None:
        raise RuntimeError("flush failed")

    with trio.fail_after(5):
        answers = await run_lifespan(FastrAPI(on_shutdown=[broken]))
    assert answers == ["lifespan.startup.complete", "lifespan.shutdown.failed"]


async def test_running_for_tests() -> None:
    events: list[str] = []
    app = FastrAPI(on_startup=[lambda: events.append("up")])
    app.on_shutdown.append(lambda: events.append("down"))
    with trio.fail_after(5):
        async with app.running():
            assert events == ["up"]
    assert events == ["up", "down"]
