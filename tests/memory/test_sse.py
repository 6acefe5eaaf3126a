"""Server-Sent Events and JSON Lines from generator routes, on both servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pydantic
import pytest
import trio

from fastrapi import FastrAPI
from fastrapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

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
