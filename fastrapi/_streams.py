"""Streaming a response body: iterating what a handler gives (async or plain, a plain one in a
worker thread) and sending it until the client leaves. Shared by
:class:`~fastrapi.responses.StreamingResponse`, :class:`~fastrapi.responses.FileResponse` and
the event streams of :mod:`fastrapi.sse`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

import trio

if TYPE_CHECKING:
    from ._types import Receive, Scope, Send

logger: Final = logging.getLogger("fastrapi")

Content = str | bytes | memoryview
ContentStream = AsyncIterable[Content] | Iterable[Content]


async def iterate(content: ContentStream) -> AsyncIterator[Any]:
    """The items of an async or plain iterable; a plain one's ``next()`` runs in a worker
    thread (one at a time), and it is closed when we stop early."""
    if isinstance(content, AsyncIterable):
        iterator = aiter(content)
        try:
            async for item in iterator:
                yield item
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                    await close()
        return
    sync = iter(content)
    done = object()
    try:
        while True:
            item = await trio.to_thread.run_sync(_next, sync, done)
            if item is done:
                return
            yield item
    finally:
        close = getattr(sync, "close", None)
        if close is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                await trio.to_thread.run_sync(close)


def _next(iterator: Iterator[Any], done: object) -> Any:
    return next(iterator, done)


CLOSE_TIMEOUT: Final = 5.0
"""Seconds an iterator's own cleanup may take once the stream stopped."""


async def stream_until_disconnect(
    pieces: AsyncIterator[bytes], scope: Scope, receive: Receive, send: Send
) -> bool:
    """Send each piece as a body message, then the end; stop at once if the client leaves
    (a ``http.disconnect`` from ``receive``, or a failed send). ``True`` if it all went.

    An error of ``pieces`` is logged with the request and ends the stream without its final
    message (the server then drops the connection: the client sees a truncated body).
    """
    complete = False
    failed: Exception | None = None
    with bare_errors():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_disconnect, receive, nursery.cancel_scope)
            try:
                async for piece in pieces:
                    if piece:
                        message = {"type": "http.response.body", "body": piece, "more_body": True}
                        await send(message)
                await send({"type": "http.response.body", "body": b""})
                complete = True
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the client left while we wrote
            except Exception as exc:  # logged below, outside the nursery's group
                failed = exc
            finally:
                aclose = getattr(pieces, "aclose", None)
                if aclose is not None:
                    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                        await aclose()
                nursery.cancel_scope.cancel()
    if failed is not None:
        logger.error(
            "the streamed response of %s %s failed; the connection is dropped",
            scope.get("method", "?"),
            scope.get("path", "?"),
            exc_info=failed,
        )
    return complete


async def _watch_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    """Cancel ``scope`` when the client leaves (or its unread request body stops coming: the
    server then drops the connection anyway)."""
    while True:
        try:
            message = await receive()
        except Exception:  # a server's sign that the connection is gone (not one of ours)
            message = {"type": "http.disconnect"}
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


@contextlib.contextmanager
def bare_errors() -> Iterator[None]:
    """Let the one exception of a nursery out as it is, not in an ``ExceptionGroup`` (trio's
    groups are strict): a server's own signal that the client is gone, or an async
    generator's ``GeneratorExit``, must reach their handlers unwrapped. A ``Cancelled`` beside
    it is dropped (it came from the same end); several real errors stay a group.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        real = [e for e in leaves if not isinstance(e, trio.Cancelled)]
        if len(real) == 1:
            raise real[0] from None
        if not real:
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc
