"""Handler signatures planned at declaration, arguments bound per request."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import pytest

from fastrapi import Request, WebSocket
from fastrapi._params import ParameterError, plan_handler
from fastrapi.datastructures import QueryParams
from fastrapi.exceptions import RouteDefinitionError


def query(text: str) -> QueryParams:
    return QueryParams.from_query_string(text)


def test_seed_style_first_parameter_is_the_websocket() -> None:
    async def chat_room(ws, room: str):  # type: ignore[no-untyped-def]  # the seed's own style
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(chat_room, frozenset({"room"}), WebSocket, first_is_connection=True)
    assert plan.connection_params == ("ws",)
    assert plan.bind({"room": "lobby"}, query("")) == {"room": "lobby"}


def test_annotated_websocket_anywhere_and_query_defaults() -> None:
    async def handler(
        room: str, conn: WebSocket, username: str = "Anonymous", limit: int | None = None
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"room"}), WebSocket, first_is_connection=True)
    assert plan.connection_params == ("conn",)
    assert plan.bind({"room": "a"}, query("")) == {
        "room": "a",
        "username": "Anonymous",
        "limit": None,
    }
    assert plan.bind({"room": "a"}, query("username=bob&limit=3")) == {
        "room": "a",
        "username": "bob",
        "limit": 3,
    }


def test_conversions() -> None:
    async def handler(
        ws: WebSocket, n: int, x: float, flag: bool, key: uuid.UUID, pid: int, name: str = "z"
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"pid"}), WebSocket, first_is_connection=True)
    key = uuid.uuid4()
    bound = plan.bind({"pid": "7"}, query(f"n=1&x=2.5&flag=yes&key={key}"))
    assert bound == {"n": 1, "x": 2.5, "flag": True, "key": key, "pid": 7, "name": "z"}
    assert plan.bind({"pid": 7}, query(f"n=1&x=2&flag=off&key={key}"))["flag"] is False


@pytest.mark.parametrize(
    ("qs", "message"),
    [
        ("", "missing query parameter 'n'"),
        ("n=abc", "query parameter 'n': expected int, got 'abc'"),
        ("n=1&flag=maybe", "query parameter 'flag': expected bool, got 'maybe'"),
    ],
)
def test_bad_requests_say_which_parameter(qs: str, message: str) -> None:
    async def handler(ws: WebSocket, n: int, flag: bool = False) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), WebSocket, first_is_connection=True)
    with pytest.raises(ParameterError, match=message):
        plan.bind({}, query(qs))


def test_bad_path_value_names_the_path() -> None:
    async def handler(ws: WebSocket, item: int) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"item"}), WebSocket, first_is_connection=True)
    with pytest.raises(ParameterError, match="path parameter 'item': expected int, got 'x'"):
        plan.bind({"item": "x"}, query(""))


def test_request_parameter_for_http() -> None:
    async def handler(request: Request, q: str = "") -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Request, first_is_connection=False)
    assert plan.connection_params == ("request",)
    assert plan.bind({}, query("q=1")) == {"q": "1"}


def sync_handler(ws: WebSocket) -> None:
    pass


async def star_args(ws: WebSocket, *args: Any) -> None:
    pass


async def star_kwargs(ws: WebSocket, **kwargs: Any) -> None:
    pass


async def positional_only(ws: WebSocket, /) -> None:
    pass


async def bad_annotation(ws: WebSocket, data: list[int]) -> None:
    pass


async def no_websocket(room: str) -> None:
    pass


async def missing_path_param(ws: WebSocket) -> None:
    pass


async def unresolvable(ws: WebSocket, x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
    pass


class AsyncCallable:
    async def __call__(self, ws: WebSocket) -> None:
        """Parameters only: the plan is what is tested."""


@pytest.mark.parametrize(
    ("handler", "paths", "message"),
    [
        (sync_handler, frozenset(), "must be an async function"),
        (star_args, frozenset(), r"\*args and \*\*kwargs"),
        (star_kwargs, frozenset(), r"\*args and \*\*kwargs"),
        (positional_only, frozenset(), "positional-only"),
        (bad_annotation, frozenset(), "annotation list\\[int\\] is not supported"),
        (no_websocket, frozenset({"room"}), "must take the WebSocket as its first parameter"),
        (missing_path_param, frozenset({"room"}), "no parameter for path parameter\\(s\\) room"),
        (unresolvable, frozenset(), "cannot resolve its annotations"),
    ],
)
def test_bad_signatures_fail_at_declaration(
    handler: Any, paths: frozenset[str], message: str
) -> None:
    with pytest.raises(RouteDefinitionError, match=message):
        plan_handler(handler, paths, WebSocket, first_is_connection=True)


def test_async_callable_object_is_accepted() -> None:
    plan = plan_handler(AsyncCallable(), frozenset(), WebSocket, first_is_connection=True)
    assert plan.connection_params == ("ws",)


def test_partial_is_accepted() -> None:
    async def handler(ws: WebSocket, room: str, size: int) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(
        functools.partial(handler, size=3), frozenset({"room"}), WebSocket, first_is_connection=True
    )
    assert plan.bind({"room": "r"}, query("")) == {"room": "r", "size": 3}
