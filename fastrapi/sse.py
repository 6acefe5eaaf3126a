"""Server-Sent Events and JSON Lines: a route that ``yield``s streams what it yields.

``@app.get(path, response_class=EventSourceResponse)`` on an ``async def`` (or plain) generator
sends each item as an event (``text/event-stream``): a :class:`ServerSentEvent` as it says, any
other item as the ``data:`` of an event, in JSON. A generator route without a response class
sends JSON Lines (``application/jsonl``): one JSON document per item and line. While the
generator is idle, an SSE stream sends a comment (``: ping``) every ``ping_interval`` seconds,
so that proxies keep the connection; when the client leaves, the generator is cancelled at
once.

:func:`hub_events` streams a Hub topic as events whose ``id:`` is the message's
:class:`~fastrapi.hub.Position`, so a browser's ``EventSource`` resumes where it was.
"""

from __future__ import annotations

import base64
import collections.abc
import typing
from typing import TYPE_CHECKING, Any, Final

import pydantic
import trio

from ._json import dumps
from ._streams import ContentStream, bare_errors, iterate, stream_until_disconnect
from .hub import Message, Position
from .hub._members import is_newer
from .responses import StreamingResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping

    from ._types import Receive, Scope, Send
    from .background import BackgroundTasks
    from .hub import Hub

__all__ = [
    "EventSourceResponse",
    "ServerSentEvent",
    "event_id",
    "format_sse_event",
    "hub_events",
    "parse_event_id",
]

PING_INTERVAL: Final = 15.0
"""Seconds of silence after which an SSE stream sends a keep-alive comment."""
KEEPALIVE_COMMENT: Final = b": ping\n\n"


def _single_line(value: str | None, field: str) -> str | None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"SSE {field!r} must be a single line")
    return value


class ServerSentEvent(pydantic.BaseModel):
    """One event of an SSE stream.

    Attributes:
        data: The payload, sent as JSON (a string too: ``"hi"`` goes as ``data: "hi"``).
        raw_data: A payload sent as it is (no JSON), instead of ``data``.
        event: The event's type (``addEventListener(event, ...)`` in a browser); one line.
        id: The event's id; the browser sends the last one back as ``Last-Event-ID`` when it
            reconnects. One line, no NUL.
        retry: How long the browser waits before reconnecting, in milliseconds.
        comment: Comment lines (``: ...``), ignored by ``EventSource``.
    """

    data: Any = None
    raw_data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = pydantic.Field(default=None, ge=0)
    comment: str | None = None

    @pydantic.field_validator("event")
    @classmethod
    def _event_is_one_line(cls, value: str | None) -> str | None:
        return _single_line(value, "event")

    @pydantic.field_validator("id")
    @classmethod
    def _id_is_one_line(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            raise ValueError("SSE 'id' must not contain NUL")
        return _single_line(value, "id")

    @pydantic.model_validator(mode="after")
    def _one_payload(self) -> ServerSentEvent:
        if self.data is not None and self.raw_data is not None:
            raise ValueError("a ServerSentEvent has data or raw_data, not both")
        return self

    def encode(self) -> bytes:
        """The event in the wire format, ending with its blank line."""
        text = self.raw_data if self.raw_data is not None else None
        if text is None and self.data is not None:
            text = dumps(self.data).decode()
        return format_sse_event(
            data_str=text, event=self.event, id=self.id, retry=self.retry, comment=self.comment
        )


def format_sse_event(
    *,
    data_str: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One event in the wire format from a payload already serialised (``data_str``, split
    into one ``data:`` line per line).

    Raises:
        ValueError: ``event`` or ``id`` spans lines, or ``id`` holds a NUL.
    """
    _single_line(event, "event")
    if id is not None and "\0" in id:
        raise ValueError("SSE 'id' must not contain NUL")
    _single_line(id, "id")
    lines: list[str] = []
    if comment is not None:
        lines += [f": {line}" for line in comment.splitlines()]
    if event is not None:
        lines.append(f"event: {event}")
    if data_str is not None:
        lines += [f"data: {line}" for line in data_str.splitlines() or [""]]
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    return ("\n".join(lines) + "\n\n").encode()


def _event_bytes(item: object) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, bytes):
        return item  # already in the wire format
    return format_sse_event(data_str=dumps(item).decode())


class EventSourceResponse(StreamingResponse):
    """A ``text/event-stream`` response: each item of ``content`` is an event (a
    :class:`ServerSentEvent`, raw ``bytes`` in the wire format, or any value sent as JSON
    ``data``), with a ``: ping`` comment after ``ping_interval`` seconds of silence. As
    ``response_class=`` of a generator route, what the route yields is ``content``.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: ContentStream | AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | Any | None = None,
        ping_interval: float | None = PING_INTERVAL,
    ) -> None:
        given = {k.lower(): v for k, v in (headers or {}).items()}
        given.setdefault("cache-control", "no-cache")
        given.setdefault("x-accel-buffering", "no")  # nginx: pass each event on at once
        super().__init__(content, status_code, given, media_type, background)
        self.ping_interval = ping_interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head, then each event as it comes (pings in the silences)."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        pieces = _with_pings(self.body_iterator, self.ping_interval)
        await stream_until_disconnect(pieces, scope, receive, send)


async def _with_pings(content: Any, interval: float | None) -> AsyncIterator[bytes]:
    """The events of ``content``, with a keep-alive comment after ``interval`` seconds of
    silence: the items are pulled by a task of our own, handed over a channel."""
    if interval is None:
        async for item in iterate(content):
            yield _event_bytes(item)
        return
    send_items, items = trio.open_memory_channel[bytes](0)
    failed: list[BaseException] = []

    async def pull() -> None:
        with send_items:
            try:
                async for item in iterate(content):
                    await send_items.send(_event_bytes(item))
            except Exception as exc:  # raised by the consumer, below
                failed.append(exc)

    with bare_errors():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pull)
            try:
                with items:
                    while True:
                        with trio.move_on_after(interval) as idle:
                            try:
                                event = await items.receive()
                            except trio.EndOfChannel:
                                break
                        yield KEEPALIVE_COMMENT if idle.cancelled_caught else event
            finally:
                nursery.cancel_scope.cancel()
    if failed:
        raise failed[0]


def item_model(annotation: Any) -> Any:
    """The response model of a generator route annotated ``annotation``: the item type of an
    ``AsyncIterable[T]``, ``Iterator[T]``, ``Generator[T, ...]``...; ``None`` (no model) for
    items sent as they are (``ServerSentEvent``, ``str``, ``bytes``) or no item type."""
    origin = typing.get_origin(annotation)
    if origin not in _STREAMS or not typing.get_args(annotation):
        return None
    item = typing.get_args(annotation)[0]
    if isinstance(item, type) and issubclass(item, ServerSentEvent | str | bytes):
        return None
    return item


_STREAMS: Final = frozenset(
    {
        collections.abc.AsyncIterable,
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.Iterable,
        collections.abc.Iterator,
        collections.abc.Generator,
    }
)


def streamed(
    items: Any, response_class: type[Any] | None, content: Callable[[Any], Any] | None = None
) -> StreamingResponse:
    """The response of a generator route: its items as SSE events (``response_class`` an
    :class:`EventSourceResponse`), as the body pieces of another ``StreamingResponse`` class,
    or else as JSON Lines. ``content`` (the route's response model) validates and filters each
    item that is not an event."""
    if content is not None:
        items = _checked(items, content)
    if response_class is not None and issubclass(response_class, StreamingResponse):
        response: StreamingResponse = response_class(items)
        return response
    return StreamingResponse(_json_lines(items), media_type="application/jsonl")


async def _checked(items: Any, content: Callable[[Any], Any]) -> AsyncIterator[Any]:
    async for item in iterate(items):
        yield item if isinstance(item, ServerSentEvent | bytes) else content(item)


async def _json_lines(items: Any) -> AsyncIterator[bytes]:
    async for item in iterate(items):
        yield dumps(item) + b"\n"


# -- a Hub topic as an event stream, resumable by Last-Event-ID ---------------------------------


def event_id(position: Position) -> str:
    """The SSE ``id:`` of a Hub message: its position as ``epoch:offset``."""
    return f"{position.epoch}:{position.offset}"


def parse_event_id(text: str) -> Position | None:
    """The position an ``id:`` (a ``Last-Event-ID``) names; ``None`` if it names none."""
    epoch, colon, offset = text.strip().rpartition(":")
    if not colon or not epoch or not offset.isdigit():
        return None
    return Position(epoch, int(offset))


def _hub_event(message: Message) -> ServerSentEvent:
    data = message.data
    if isinstance(data, bytes):  # SSE is text: binary goes as base64, typed so
        return ServerSentEvent(
            raw_data=base64.b64encode(data).decode(), event="binary", id=event_id(message.position)
        )
    return ServerSentEvent(raw_data=data, id=event_id(message.position))


async def hub_events(
    hub: Hub, topic: str, last_event_id: str | None = None, **options: Any
) -> AsyncIterator[ServerSentEvent]:
    """The messages of a Hub topic as SSE events, for an :class:`EventSourceResponse`: each
    event's ``data`` is the message (the JSON text of published data, a published ``str`` as
    it is, ``bytes`` in base64 with ``event: binary``) and its ``id`` the message's
    :class:`~fastrapi.hub.Position` (:func:`event_id`).

    A browser's ``EventSource`` sends the last id it saw as ``Last-Event-ID`` when it
    reconnects; hand it over as ``last_event_id`` and the stream first sends what was
    published since (from the topic's history), then the live messages, with none lost or
    repeated between the two. If what followed is no longer kept (or the id is not one of
    this stream), the first event is ``event: gap`` with ``data`` ``{"topic", "last_event_id",
    "detail"}``: the client should reload its state; the live messages follow.

    ``options`` go to :meth:`~fastrapi.Hub.subscribe` (``max_pending``, ``policy``...).
    The stream runs until the client leaves.
    """
    async with hub.subscribe(topic, **options) as live:  # before the history: nothing is lost
        last: Position | None = None
        if last_event_id is not None:
            recovery = await hub._recovery(topic, parse_event_id(last_event_id))
            if not recovery.recovered:
                detail = recovery.detail or "not an event id of this stream"
                gap = {"topic": topic, "last_event_id": last_event_id, "detail": detail}
                yield ServerSentEvent(data=gap, event="gap")
            last = recovery.position
            for published in recovery.missed:
                yield _hub_event(Message(topic, published.position, published.wire.data))
                last = published.position
        async for message in live:
            if last is None or is_newer(message.position, last):
                yield _hub_event(message)
