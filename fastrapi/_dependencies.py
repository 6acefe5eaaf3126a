"""Calling a planned handler: its dependencies first (cached per request), then the handler.

A :class:`Solver` lives for one HTTP request or one WebSocket connection. It resolves the
dependency tree of a :class:`~fastrapi._params.HandlerPlan` depth first, calls each dependency
once (unless ``use_cache=False``), runs plain ``def`` functions in a worker thread under the
app's capacity limiter, and enters generator dependencies on an ``AsyncExitStack`` whose exit
(:meth:`Solver.aclose`) is their cleanup: after the response, or when the connection ends; when
the handler raises, before the error is answered (:meth:`Solver.unwind`), as FastAPI does.
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import trio

from ._params import NO_BODY, CallKind, plan_dependency
from .exceptions import FastAPIError, RequestValidationError, WebSocketRequestValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from ._connection import HTTPConnection
    from ._params import HandlerPlan, Inputs
    from .responses import Response

logger: Final = logging.getLogger("fastrapi")

CLEANUP_TIMEOUT: Final = 10.0
"""Seconds the cleanup of generator dependencies may take once the request was cancelled."""


class Solver:
    """Resolves and calls plans for one request or connection; see the module docstring."""

    __slots__ = (
        "_cache",
        "_connection",
        "_limiter",
        "_overrides",
        "_stack",
        "_websocket",
        "function_stack",
        "inputs",
        "response",
    )

    def __init__(
        self,
        inputs: Inputs,
        connection: HTTPConnection,
        overrides: Mapping[Callable[..., Any], Callable[..., Any]],
        limiter: trio.CapacityLimiter,
        *,
        websocket: bool = False,
    ) -> None:
        self.inputs = inputs
        self._connection = connection
        self._overrides = overrides
        self._limiter = limiter
        self._websocket = websocket
        self._cache: dict[object, object] = {}  # by callable, or (callable, scopes)
        self._stack: contextlib.AsyncExitStack | None = None  # made by the first generator
        self.function_stack: contextlib.AsyncExitStack | None = None
        """The cleanups of ``scope="function"`` generators, once there is one."""
        self.response: Response | None = None
        """The response-to-be given to ``Response`` parameters (made when first asked for)."""

    @property
    def _cleanups(self) -> contextlib.AsyncExitStack:
        if self._stack is None:
            self._stack = contextlib.AsyncExitStack()
        return self._stack

    async def arguments(self, plan: HandlerPlan) -> dict[str, object]:
        """The keyword arguments for ``plan``'s call: its dependencies called, its values bound.

        Raises:
            RequestValidationError: values of the request (of this plan or its dependencies)
                are missing or invalid; it lists them all (on a WebSocket,
                ``WebSocketRequestValidationError``).
            Exception: what a dependency raised (``HTTPException``, say).
        """
        kwargs: dict[str, object] = {}
        errors: list[Mapping[str, object]] = []
        for dep in plan.dependencies:
            call = self._overrides.get(dep.call, dep.call)
            key: object = (call, dep.scope_key) if dep.scope_key else call
            if dep.use_cache and key in self._cache:
                if dep.name:  # "": a route's dependency, run for its effect
                    kwargs[dep.name] = self._cache[key]
                continue
            sub = (
                dep.plan
                if call is dep.call
                else plan_dependency(call, dep.plan.path_names, dep.plan.scopes)
            )
            try:
                value = await self.call(sub, function_scope=dep.function_scope)
            except (RequestValidationError, WebSocketRequestValidationError) as exc:
                errors.extend(exc.errors())
                continue
            if dep.use_cache:
                self._cache[key] = value
            if dep.name:  # "": a route's dependency, run for its effect
                kwargs[dep.name] = value
        values, bad = plan.bind(self.inputs)
        errors.extend(bad)
        if errors:
            raise self._invalid(errors)
        kwargs.update(values)
        kwargs.update(dict.fromkeys(plan.connection_params, self._connection))
        if plan.response_params:
            if self.response is None:
                from .responses import Response

                self.response = Response()
            kwargs.update(dict.fromkeys(plan.response_params, self.response))
        return kwargs

    def _invalid(
        self, errors: list[Mapping[str, object]]
    ) -> RequestValidationError | WebSocketRequestValidationError:
        if self._websocket:
            return WebSocketRequestValidationError(errors)
        body = self.inputs.body
        return RequestValidationError(errors, body=None if body is NO_BODY else body)

    async def call(self, plan: HandlerPlan, *, function_scope: bool = False) -> object:
        """Call ``plan``'s function with its arguments; a generator is entered (its cleanup
        waits for :meth:`aclose`, or for :meth:`end_function_scope` if ``function_scope``)."""
        kwargs = await self.arguments(plan)
        function = plan.call
        if plan.kind is CallKind.ASYNC:
            return await function(**kwargs)  # type: ignore[misc]  # planned as async
        if plan.kind is CallKind.SYNC:
            return await trio.to_thread.run_sync(partial(function, **kwargs), limiter=self._limiter)
        if plan.kind is CallKind.ASYNC_GENERATOR:
            manager: contextlib.AbstractAsyncContextManager[object]
            manager = contextlib.asynccontextmanager(function)(**kwargs)  # type: ignore[arg-type]
            return await self._stack_for(function_scope).enter_async_context(manager)
        sync_manager: contextlib.AbstractContextManager[object]
        sync_manager = contextlib.contextmanager(function)(**kwargs)  # type: ignore[arg-type]
        value: object = await trio.to_thread.run_sync(sync_manager.__enter__, limiter=self._limiter)
        self._stack_for(function_scope).push_async_exit(partial(self._exit_in_thread, sync_manager))
        return value

    def _stack_for(self, function_scope: bool) -> contextlib.AsyncExitStack:
        if not function_scope:
            return self._cleanups
        if self.function_stack is None:
            self.function_stack = contextlib.AsyncExitStack()
        return self.function_stack

    async def end_function_scope(self) -> None:
        """The handler has returned: run the cleanups of ``Depends(..., scope="function")``
        generators now, before the response (FastAPI's order).

        Raises:
            Exception: what such a cleanup raised (an ``HTTPException``, say), to be answered.
        """
        stack = self.function_stack
        if stack is not None:
            self.function_stack = None
            await stack.aclose()

    async def _exit_in_thread(
        self,
        manager: contextlib.AbstractContextManager[object],
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await trio.to_thread.run_sync(manager.__exit__, kind, exc, tb, limiter=self._limiter)

    async def unwind(self, error: Exception) -> Exception:
        """Run the cleanups of generator dependencies now, ``error`` thrown in at their
        ``yield``, and return the error to answer: what a cleanup raised instead (FastAPI's
        ``except OwnerError: raise HTTPException(400)``), else ``error``.

        This is FastAPI's order: the handler's error passes through the dependencies before an
        exception handler answers it. A cleanup that swallows the error (no ``raise``) leaves
        the request without an answer: that is a :class:`FastAPIError` (a 500), as in FastAPI.
        The cleanups are spent after this; :meth:`aclose` has nothing left to do.
        """
        stacks = (self.function_stack, self._stack)  # the function's are the inner ones
        self.function_stack = self._stack = None
        for stack in stacks:
            if stack is None:
                continue
            try:
                swallowed = await stack.__aexit__(type(error), error, error.__traceback__)
            except Exception as raised:
                error = raised
                continue
            if swallowed:
                swallowed_error = FastAPIError(
                    "no response: the handler was raising an exception and a dependency with "
                    f"yield swallowed it (an except without raise in its cleanup): {error!r}"
                )
                swallowed_error.__cause__ = error
                error = swallowed_error
        return error

    async def aclose(self, error: BaseException | None = None) -> None:
        """Run the cleanups of generator dependencies, last entered first.

        ``error`` (what the handler raised, if anything) is thrown into them at their
        ``yield``, so they may see it. An error of a cleanup itself is logged, not raised: the
        response is out already. Cancelled, the cleanups get ``CLEANUP_TIMEOUT`` seconds.
        """
        stacks = [stack for stack in (self.function_stack, self._stack) if stack is not None]
        if not stacks:
            return  # no generator dependency: nothing to clean up
        self.function_stack = self._stack = None
        for stack in stacks:
            if isinstance(error, trio.Cancelled):
                with trio.move_on_after(CLEANUP_TIMEOUT, shield=True):
                    await self._exit(stack, error)
            else:
                await self._exit(stack, error)

    @staticmethod
    async def _exit(stack: contextlib.AsyncExitStack, error: BaseException | None) -> None:
        try:
            await stack.__aexit__(
                type(error) if error else None, error, error.__traceback__ if error else None
            )
        except Exception as exc:
            if exc is not error:
                logger.exception("a dependency's cleanup failed", exc_info=exc)
