"""Background tasks: work that runs after the response is sent (``BackgroundTasks``).

A handler or dependency that takes a parameter annotated :class:`BackgroundTasks` gets the
request's one instance and adds tasks to it; they run once the response has been sent, in
the order added. A response may also carry its own (``Response(..., background=...)``).
"""

from __future__ import annotations

import inspect
import logging
from functools import partial
from typing import TYPE_CHECKING, Any, Final, ParamSpec, final

import trio

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._types import Scope

__all__ = ["BackgroundTask", "BackgroundTasks"]

logger: Final = logging.getLogger("fastrapi")

P = ParamSpec("P")
_SCOPE_KEY: Final = "fastrapi.background"


class BackgroundTask:
    """One call to make after the response: ``func(*args, **kwargs)``; an ``async def`` is
    awaited, a plain function runs in a worker thread (the app's thread limiter when the app
    runs it)."""

    def __init__(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        target = func.func if isinstance(func, partial) else func
        self.is_async = inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
            getattr(target, "__call__", None)  # noqa: B004 (an object with an async __call__)
        )

    async def __call__(self, limiter: trio.CapacityLimiter | None = None) -> None:
        """Run it (a plain function in a worker thread, under ``limiter`` if given)."""
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            call = partial(self.func, *self.args, **self.kwargs)
            await trio.to_thread.run_sync(call, limiter=limiter)


@final
class BackgroundTasks(BackgroundTask):
    """Tasks to run after the response, in order: ``tasks.add_task(send_email, to, body)``.

    Declare a handler (or dependency) parameter ``tasks: BackgroundTasks`` to get the
    request's instance. A task that raises is logged with the request's method and path, and
    the next one still runs.
    """

    def __init__(self, tasks: Sequence[BackgroundTask] | None = None) -> None:
        self.tasks = list(tasks or [])

    def add_task(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
        """Add ``func(*args, **kwargs)`` (``async def`` or plain) to run after the response."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self, limiter: trio.CapacityLimiter | None = None) -> None:
        """Run every task in order; one that raises is logged and the next runs."""
        for task in self.tasks:
            await _run_one(task, limiter, None)


async def _run_one(
    task: Callable[..., Any], limiter: trio.CapacityLimiter | None, scope: Scope | None
) -> None:
    try:
        if isinstance(task, BackgroundTask):
            await task(limiter)
        else:  # any callable of no arguments
            result = task()
            if inspect.isawaitable(result):
                await result
    except Exception as exc:
        where = f" of {scope.get('method', '?')} {scope.get('path', '?')}" if scope else ""
        name = getattr(getattr(task, "func", task), "__qualname__", repr(task))
        logger.error("background task %s%s failed", name, where, exc_info=exc)


async def run_background(
    background: Any, limiter: trio.CapacityLimiter | None, scope: Scope
) -> None:
    """Run a response's ``background`` after it was sent; every error is logged with the
    request (never raised: the response is out)."""
    if isinstance(background, BackgroundTasks):
        for task in background.tasks:
            await _run_one(task, limiter, scope)
    else:
        await _run_one(background, limiter, scope)


def tasks_of(scope: Scope) -> BackgroundTasks:
    """The request's :class:`BackgroundTasks` (made on first use), for its parameters."""
    tasks: BackgroundTasks | None = scope.get(_SCOPE_KEY)
    if tasks is None:
        tasks = scope[_SCOPE_KEY] = BackgroundTasks()
    return tasks


def added_tasks(scope: Scope) -> BackgroundTasks | None:
    """The request's :class:`BackgroundTasks` if a parameter asked for it."""
    tasks: BackgroundTasks | None = scope.get(_SCOPE_KEY)
    return tasks
