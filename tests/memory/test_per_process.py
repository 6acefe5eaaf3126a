"""What a process that serves makes for itself, not inherited from the one that made the app
(a supervisor forks its workers after importing it): its worker threads' limit. The Hub's
identities are tested with forked processes in ``tests/redis/test_workers.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from fastrapi import FastrAPI

if TYPE_CHECKING:
    from .conftest import HTTP


async def test_threads_counted_before_the_app_served_do_not_hold_up_its_sync_routes(
    http: HTTP,
) -> None:
    app = FastrAPI(thread_limit=1)

    @app.get("/sync")
    def in_a_thread() -> str:
        return "ran"

    # the one thread taken, as in a worker forked while its parent had a thread running
    app.thread_limiter.acquire_on_behalf_of_nowait("a thread of the parent")
    with trio.fail_after(5):
        async with app.running():
            response = await http(app, "GET", "/sync")
            assert app.thread_limiter.total_tokens == 1  # the app's limit, all free again
            assert app.thread_limiter.borrowed_tokens == 0
    assert (response.status_code, response.json()) == (200, "ran")
