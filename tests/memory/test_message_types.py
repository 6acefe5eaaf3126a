"""Declared message types of a WebSocket route (receives=, sends=): receive_json() and
iter_json() validate into them, send_json() is checked where the app validates sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pydantic
import pytest
import trio

from fastrapi import FastrAPI, MessageDecodeError, RouteDefinitionError, WebSocket
from fastrapi.routing import APIRouter, APIWebSocketRoute

if TYPE_CHECKING:
    from .conftest import Connect


class Say(pydantic.BaseModel):
    type: Literal["say"] = "say"
    text: str


class Leave(pydantic.BaseModel):
    type: Literal["leave"] = "leave"


class Said(pydantic.BaseModel):
    user: str
    text: str


def chat_app(*, validate_sends: bool | None = None) -> FastrAPI:
    app = FastrAPI(validate_sends=validate_sends)

    @app.websocket("/chat", receives=Say | Leave, sends=Said)
    async def chat(ws: WebSocket[Say | Leave, Said]) -> None:
        await ws.accept()
        first = await ws.receive_json()
        assert isinstance(first, Say)
        await ws.send_json(Said(user="bob", text=first.text))
        async for message in ws.iter_json():  # until the client closes
            if isinstance(message, Leave):
                await ws.send_text("bye")
                continue
            try:
                await ws.send_json({"user": "bob"})  # type: ignore[arg-type]  # no text
            except TypeError as exc:
                await ws.send_text(f"refused: {exc}")

    return app


async def test_receive_and_iter_validate_into_the_declared_types(connect: Connect) -> None:
    app = chat_app()
    with trio.fail_after(5):
        async with connect(app, "/chat") as client:
            await client.send_json({"type": "say", "text": "hi"})
            assert await client.receive_json() == {"user": "bob", "text": "hi"}
            await client.send_json({"type": "say", "text": "again"})
            refused = await client.receive_text()
            await client.send_json({"type": "leave"})
            assert await client.receive_text() == "bye"
    assert refused.startswith("refused: send_json() got data that is not a valid Said: text: ")


async def test_sends_unchecked_when_the_app_says_so(connect: Connect) -> None:
    app = chat_app(validate_sends=False)
    with trio.fail_after(5):
        async with connect(app, "/chat") as client:
            await client.send_json({"type": "say", "text": "hi"})
            await client.receive_json()
            await client.send_json({"type": "say", "text": "again"})
            assert await client.receive_json() == {"user": "bob"}
            await client.send_json({"type": "leave"})
            assert await client.receive_text() == "bye"


def test_sends_are_validated_by_default_under_pytest() -> None:
    assert FastrAPI().validate_sends is True
    assert FastrAPI(validate_sends=False).validate_sends is False


async def test_a_bad_message_is_refused_and_the_connection_stays(connect: Connect) -> None:
    app = FastrAPI()
    errors: list[str] = []

    @app.websocket("/numbers", receives=list[int])
    async def numbers(ws: WebSocket[list[int]]) -> None:
        await ws.accept()
        while True:
            try:
                got = await ws.receive_json()
            except MessageDecodeError as exc:
                errors.append(str(exc))
                continue
            await ws.send_json(sum(got))
            return

    with trio.fail_after(5):
        async with connect(app, "/numbers") as client:
            await client.send_text('["x"]')
            await client.send_text("[1, 2]")
            assert await client.receive_json() == 3
    assert errors == [
        "receive_json() got data that is not a valid list[int]: 0: Input should "
        "be a valid integer, unable to parse string as an integer"
    ]


async def test_a_type_given_to_receive_json_wins(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws", receives=Say)
    async def handler(ws: WebSocket[Say]) -> None:
        await ws.accept()
        await ws.send_json(await ws.receive_json(dict[str, int]))

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_text('{"a": "1"}')
            assert await client.receive_json() == {"a": 1}


def test_a_type_pydantic_cannot_take_is_a_definition_error() -> None:
    app = FastrAPI()

    class Opaque:
        pass

    async def handler(ws: WebSocket) -> None: ...

    with pytest.raises(RouteDefinitionError, match="'/ws': a message type"):
        app.websocket("/ws", receives=Opaque)(handler)


def test_routers_keep_the_types_and_schema_flags() -> None:
    router = APIRouter(prefix="/r")

    async def handler(ws: WebSocket) -> None: ...

    router.websocket("/a", receives=Say, sends=Said, closes={4001: "full"})(handler)
    router.websocket("/b", include_in_schema=False)(handler)
    app = FastrAPI()
    app.include_router(router, prefix="/v1")
    hidden = APIRouter(include_in_schema=False)
    hidden.websocket("/c", sends=Said)(handler)
    app.include_router(hidden)
    a, b, c = [r for r in app.routes if isinstance(r, APIWebSocketRoute)]
    assert (a.path, a.receives, a.sends, a.closes) == ("/v1/r/a", Say, Said, {4001: "full"})
    assert a.include_in_schema
    assert not b.include_in_schema
    assert not c.include_in_schema
    assert c.sends is Said


def floats_app(*, validate_sends: bool | None = None) -> FastrAPI:
    """An app echoing the JSON it gets with a NaN put in at ``"x"``, and a route declared
    with ``sends=`` that sends an infinity in a model; each handler sends what it was refused
    as text."""
    app = FastrAPI(validate_sends=validate_sends)

    @app.websocket("/untyped")
    async def untyped(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws.iter_json():
            try:
                await ws.send_json({**message, "x": [1.5, float("nan")]})
            except ValueError as exc:
                await ws.send_text(f"refused: {exc}")
            await ws.send_json({**message, "x": None, "y": 1.5})  # a None is no NaN

    @app.websocket("/typed", sends=Said | list[float])
    async def typed(ws: WebSocket[object, Said | list[float]]) -> None:
        await ws.accept()
        try:
            await ws.send_json([0.5, -float("inf")])
        except ValueError as exc:
            await ws.send_text(f"refused: {exc}")

    return app


async def test_a_nan_or_an_infinity_is_refused_where_sends_are_validated(connect: Connect) -> None:
    app = floats_app()
    with trio.fail_after(5):
        async with connect(app, "/untyped") as client:
            await client.send_json({"null": None})
            assert await client.receive_text() == (
                "refused: send_json() got nan at data['x'][1]: JSON has no such number (it"
                " would be sent as null); send None, or a string, in its place"
            )
            assert await client.receive_json() == {"null": None, "x": None, "y": 1.5}
        async with connect(app, "/typed") as client:
            refused = await client.receive_text()
            assert refused.startswith("refused: send_json() got -inf at data[1]: ")


async def test_unvalidated_a_nan_or_an_infinity_is_sent_as_null(connect: Connect) -> None:
    app = floats_app(validate_sends=False)
    with trio.fail_after(5):
        async with connect(app, "/untyped") as client:
            await client.send_json({"null": None})
            assert await client.receive_json() == {"null": None, "x": [1.5, None]}
            assert await client.receive_json() == {"null": None, "x": None, "y": 1.5}
        async with connect(app, "/typed") as client:
            assert await client.receive_json() == [0.5, None]
