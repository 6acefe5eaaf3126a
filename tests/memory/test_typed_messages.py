"""Typed messages: receive_json(Model), iter_json(Model), send_json(model), on both servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pydantic
import pytest
import trio

from fastrapi import FastrAPI, MessageDecodeError, WebSocket

if TYPE_CHECKING:
    from .conftest import Connect


class Point(pydantic.BaseModel):
    x: int
    y: int = 0


@dataclass
class Pair:
    a: str
    b: str


async def test_receive_json_validates_and_the_connection_stays(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        for _ in range(3):
            try:
                point = await ws.receive_json(Point)
            except ValueError as exc:  # MessageDecodeError is one
                errors = exc.errors if isinstance(exc, MessageDecodeError) else None
                await ws.send_json({"error": str(exc), "errors": errors})
            else:
                await ws.send_json(point)
        numbers = await ws.receive_json(list[int])
        pair = await ws.receive_json(Pair)
        await ws.send_json({"sum": sum(numbers), "pair": [pair.a, pair.b]})

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_text('{"x": "3"}')
            assert await client.receive_json() == {"x": 3, "y": 0}
            await client.send_text('{"x": "three"}')
            bad = await client.receive_json()
            await client.send_text("{not json")
            broken = await client.receive_json()
            await client.send_bytes(b"[1, 2, 3]")
            await client.send_text('{"a": "p", "b": "q"}')
            assert await client.receive_json() == {"sum": 6, "pair": ["p", "q"]}
    assert bad["error"].startswith("receive_json() got data that is not a valid Point: x: ")
    assert [(e["type"], e["loc"]) for e in bad["errors"]] == [("int_parsing", ["x"])]
    assert [e["type"] for e in broken["errors"]] == ["json_invalid"]


async def test_iter_json_with_a_model(connect: Connect) -> None:
    app = FastrAPI()
    got: list[Point] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with pytest.raises(MessageDecodeError):  # noqa: PT012  # raised inside the iteration
            async for point in ws.iter_json(Point):
                got.append(point)
        async for point in ws.iter_json(Point):  # iterating again carries on
            got.append(point)

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_json({"x": 1})
            await client.send_json({"y": 2})
            await client.send_json({"x": 3, "y": 4})
    assert got == [Point(x=1), Point(x=3, y=4)]


async def test_send_json_takes_models_inside_data(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"points": [Point(x=1), Point(x=2, y=3)]})
        with pytest.raises(TypeError, match="not JSON serializable: object"):
            await ws.send_json({"x": object()})

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_json() == {"points": [{"x": 1, "y": 0}, {"x": 2, "y": 3}]}
