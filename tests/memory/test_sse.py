"""Server-Sent Events and JSON Lines from generator routes, on both servers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import h11
import orjson
import pydantic
import pytest
import trio

from fastrapi import Body, FastrAPI, Header, Hub
from fastrapi.hub import Position
from fastrapi.responses import StreamingResponse
from fastrapi.server._stream import RECEIVE_SIZE
from fastrapi.sse import (
    EventSourceResponse,
    ServerSentEvent,
    event_id,
    format_sse_event,
    hub_events,
    parse_event_id,
)
from fastrapi.testing import _serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastrapi.server import ServerName

    from .conftest import HTTP


class Item(pydantic.BaseModel):
    name: str
    price: float


def test_event_wire_format() -> None:
    event = ServerSentEvent(data={"a": 1}, event="update", id="7", retry=500, comment="hi\nthere")
    assert event.encode() == (b': hi\n: there\nevent: update\ndata: {"a":1}\nid: 7\nretry: 500\n\n')
    assert ServerSentEvent(data="hello").encode() == b'data: "hello"\n\n'
    assert ServerSentEvent(raw_data="a\nb").encode() == b"data: a\ndata: b\n\n"
    assert format_sse_event(comment="ping") == b": ping\n\n"


@pytest.mark.parametrize(
    "fields",
    [{"event": "a\nb"}, {"id": "1\r"}, {"id": "a\0b"}, {"retry": -1}, {"data": 1, "raw_data": "x"}],
)
def test_bad_events_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ServerSentEvent(**fields)  # type: ignore[arg-type]  # the point of the test


def make_app() -> FastrAPI:
    app = FastrAPI()
    items = [Item(name="a", price=1.5), Item(name="b", price=2)]

    @app.get("/lines")
    async def lines() -> AsyncIterator[Item]:
        for item in items:
            yield item

    @app.get("/lines-sync")
    def lines_sync(limit: int = 2) -> Iterator[dict[str, int]]:
        for i in range(limit):
            yield {"i": i}

    @app.get("/events")
    async def events() -> EventSourceResponse:
        async def stream() -> AsyncIterator[object]:
            yield ServerSentEvent(comment="updates")
            for i, item in enumerate(items):
                yield ServerSentEvent(data=item, event="item", id=str(i))
            yield {"plain": True}

        return EventSourceResponse(stream())

    @app.get("/declared", response_class=EventSourceResponse)
    def declared() -> Iterator[Item]:
        yield from items

    @app.post("/words", response_class=StreamingResponse)
    async def words(text: Annotated[str, Body(embed=True)]) -> AsyncIterator[str]:
        for word in text.split():
            yield word.upper()

    @app.get("/slow")
    async def slow() -> EventSourceResponse:
        async def stream() -> AsyncIterator[str]:
            await trio.sleep(0.05)
            yield "late"

        return EventSourceResponse(stream(), ping_interval=0.01)

    return app


async def test_a_generator_route_sends_json_lines(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(10):
        response = await http(app, "GET", "/lines")
        sync = await http(app, "GET", "/lines-sync?limit=3")
        invalid = await http(app, "GET", "/lines-sync?limit=x")
    assert response.headers["content-type"] == "application/jsonl"
    assert [orjson.loads(line) for line in response.body.splitlines()] == [
        {"name": "a", "price": 1.5},
        {"name": "b", "price": 2.0},
    ]
    assert sync.body == b'{"i":0}\n{"i":1}\n{"i":2}\n'
    assert invalid.status_code == 422  # parameters are checked before anything streams


async def test_event_source_response(http: HTTP) -> None:
    with trio.fail_after(10):
        response = await http(make_app(), "GET", "/events")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == (
        ": updates\n\n"
        'event: item\ndata: {"name":"a","price":1.5}\nid: 0\n\n'
        'event: item\ndata: {"name":"b","price":2.0}\nid: 1\n\n'
        'data: {"plain":true}\n\n'
    )


async def test_idle_streams_are_pinged(http: HTTP) -> None:
    with trio.fail_after(10):
        response = await http(make_app(), "GET", "/slow")
    assert response.text.startswith(": ping\n\n")
    assert response.text.endswith('data: "late"\n\n')


class EventReader:
    """The client side of one open event stream: its head, then one event block at a time."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)
        self.buffer = b""
        self.status = 0

    async def _more(self) -> None:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(bytes(await self.stream.receive_some(RECEIVE_SIZE)))
            elif isinstance(event, h11.Response):
                self.status = event.status_code
            elif isinstance(event, h11.Data):
                self.buffer += bytes(event.data)
                return
            else:
                raise AssertionError(f"the stream ended: {event!r}")

    async def next(self) -> str:
        """The next event block (a comment-only block too), without its blank line."""
        while b"\n\n" not in self.buffer:
            await self._more()
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        return block.decode()


@asynccontextmanager
async def open_events(
    app: FastrAPI, server: ServerName, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[EventReader]:
    """Open ``path`` as an event stream on ``server``; the client leaves when the block ends."""
    async with _serving(app, server, []) as stream:
        reader = EventReader(stream)
        fields = [("host", "x"), *(headers or {}).items()]
        request = h11.Request(method="GET", target=path, headers=fields)
        await stream.send_all(
            reader.conn.send(request) + (reader.conn.send(h11.EndOfMessage()) or b"")
        )
        yield reader


def hub_app() -> FastrAPI:
    app = FastrAPI(hub=Hub(history_size=10))

    @app.get("/feed/{topic}")
    async def feed(
        topic: str, hub: Hub, last_event_id: Annotated[str | None, Header()] = None
    ) -> EventSourceResponse:
        return EventSourceResponse(hub_events(hub, topic, last_event_id))

    return app


def test_event_ids_are_positions() -> None:
    assert event_id(Position("e1", 7)) == "e1:7"
    assert parse_event_id("e1:7") == Position("e1", 7)
    assert parse_event_id("a:b:3") == Position("a:b", 3)
    for bad in ("", "7", ":7", "e1:", "e1:x", "e1:-1"):
        assert parse_event_id(bad) is None


async def test_a_hub_feed_resumes_from_last_event_id(target: str, http: HTTP) -> None:
    app = hub_app()
    assert app.hub is not None
    server: ServerName = "hypercorn" if target == "hypercorn" else "native"
    with trio.fail_after(10):
        async with app.running():
            positions = [await app.hub.publish("news", {"n": n}) for n in range(3)]
            resume = {"last-event-id": event_id(positions[1])}
            async with open_events(app, server, "/feed/news", resume) as events:
                missed = await events.next()
                await app.hub.publish("news", {"n": 3})  # subscribed before the history
                await app.hub.publish("news", b"\x00\x01")
                live = await events.next()
                binary = await events.next()
            assert events.status == 200
            async with open_events(app, server, "/feed/news", {"last-event-id": "junk"}) as events:
                junk = await events.next()
            old = {"last-event-id": "gone-epoch:1"}
            async with open_events(app, server, "/feed/news", old) as events:
                gone = await events.next()
                await app.hub.publish("news", "after the gap")
                after = await events.next()
    assert missed == f'data: {{"n":2}}\nid: {event_id(positions[2])}'
    assert live == f'data: {{"n":3}}\nid: {positions[2].epoch}:4'
    assert binary == f"event: binary\ndata: AAE=\nid: {positions[2].epoch}:5"
    assert junk.startswith("event: gap\ndata: ")
    assert '"detail":"not an event id of this stream"' in junk
    assert gone.startswith("event: gap\n")
    assert '"last_event_id":"gone-epoch:1"' in gone
    assert after.startswith("data: after the gap\nid: ")
    assert app.hub.statistics().members == 0  # every subscription ended with its client


async def test_the_response_class_of_a_generator_route(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(10):
        events = await http(app, "GET", "/declared")
        json = {"content-type": "application/json"}
        words = await http(app, "POST", "/words", body=b'{"text": "a b"}', headers=json)
    assert events.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert events.text == 'data: {"name":"a","price":1.5}\n\ndata: {"name":"b","price":2.0}\n\n'
    assert words.body == b"AB"
