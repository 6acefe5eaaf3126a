"""Handler signatures planned at declaration, arguments bound and validated per request."""

from __future__ import annotations

import functools
import sys
import uuid
from typing import Annotated, Any

import pydantic
import pytest

from fastrapi import (
    Body,
    Cookie,
    Depends,
    File,
    Form,
    Header,
    HTTPConnection,
    Path,
    Query,
    Request,
    UploadFile,
    WebSocket,
)
from fastrapi._params import NO_BODY, BodyKind, Inputs, Role, Source, plan_handler
from fastrapi.datastructures import FormData
from fastrapi.exceptions import RouteDefinitionError


def inputs(
    qs: str = "",
    path: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    body: object = NO_BODY,
) -> Inputs:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookies:
        raw.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    scope = {"type": "http", "path": "/", "query_string": qs.encode(), "headers": raw}
    return Inputs(HTTPConnection(scope, path or {}), body)


def ok(plan: Any, given: Inputs) -> dict[str, object]:
    kwargs, errors = plan.bind(given)
    assert errors == []
    return dict(kwargs)


def test_seed_style_first_parameter_is_the_websocket() -> None:
    async def chat_room(ws, room: str):  # type: ignore[no-untyped-def]  # the seed's own style
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(chat_room, frozenset({"room"}), Role.WEBSOCKET)
    assert plan.connection_params == ("ws",)
    assert ok(plan, inputs(path={"room": "lobby"})) == {"room": "lobby"}


def test_annotated_websocket_anywhere_and_query_defaults() -> None:
    async def handler(
        room: str, conn: WebSocket, username: str = "Anonymous", limit: int | None = None
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"room"}), Role.WEBSOCKET)
    assert plan.connection_params == ("conn",)
    assert ok(plan, inputs(path={"room": "a"})) == {
        "room": "a",
        "username": "Anonymous",
        "limit": None,
    }
    assert ok(plan, inputs("username=bob&limit=3", {"room": "a"}))["limit"] == 3


def test_conversions() -> None:
    async def handler(
        ws: WebSocket, n: int, x: float, flag: bool, key: uuid.UUID, pid: int, name: str = "z"
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"pid"}), Role.WEBSOCKET)
    key = uuid.uuid4()
    bound = ok(plan, inputs(f"n=1&x=2.5&flag=yes&key={key}", {"pid": "7"}))
    assert bound == {"n": 1, "x": 2.5, "flag": True, "key": key, "pid": 7, "name": "z"}
    assert ok(plan, inputs(f"n=1&x=2&flag=off&key={key}", {"pid": 7}))["flag"] is False


def test_markers_aliases_constraints_and_lists() -> None:
    async def handler(
        request: Request,
        item: Annotated[int, Path(ge=1)],
        limit: Annotated[int, Query(le=100)] = 10,
        tags: Annotated[list[str], Query(alias="tag")] = [],  # noqa: B006  # never mutated
        user_agent: Annotated[str | None, Header()] = None,
        x_token: Annotated[str, Header(convert_underscores=False)] = "",
        session: Annotated[str, Cookie(min_length=2)] = "none",
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"item"}), Role.HTTP)
    bound = ok(
        plan,
        inputs(
            "tag=a&tag=b&limit=5",
            {"item": "3"},
            {"User-Agent": "curl", "x_token": "t"},
            {"session": "abc"},
        ),
    )
    assert bound == {
        "item": 3,
        "limit": 5,
        "tags": ["a", "b"],
        "user_agent": "curl",
        "x_token": "t",
        "session": "abc",
    }


def test_errors_are_fastapis_and_all_of_them() -> None:
    async def handler(
        n: int,
        item: Annotated[int, Path(ge=1)],
        token: Annotated[str, Header()],
        limit: Annotated[int, Query(le=100)] = 10,
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset({"item"}), Role.HTTP)
    _, errors = plan.bind(inputs("n=abc&limit=1000", {"item": "0"}))
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("int_parsing", ("query", "n")),
        ("greater_than_equal", ("path", "item")),
        ("missing", ("header", "token")),
        ("less_than_equal", ("query", "limit")),
    ]
    assert errors[0]["input"] == "abc"
    assert errors[1]["ctx"] == {"ge": 1}
    assert errors[2]["msg"] == "Field required"


class Item(pydantic.BaseModel):
    name: str
    price: float


def test_a_model_is_the_body_and_several_bodies_are_embedded() -> None:
    async def one(item: Item) -> None:
        """Parameters only: the plan is what is tested."""

    async def two(item: Item, count: Annotated[int, Body()]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(one, frozenset(), Role.HTTP)
    assert plan.needs_body
    assert ok(plan, inputs(body={"name": "a", "price": 1})) == {"item": Item(name="a", price=1)}
    _, errors = plan.bind(inputs(body={"name": "a", "price": "x"}))
    assert [(e["type"], e["loc"]) for e in errors] == [("float_parsing", ("body", "price"))]
    two_plan = plan_handler(two, frozenset(), Role.HTTP)
    got = ok(two_plan, inputs(body={"item": {"name": "a", "price": 1}, "count": 2}))
    assert got == {"item": Item(name="a", price=1), "count": 2}
    _, errors = two_plan.bind(inputs(body=[1]))
    assert [e["loc"] for e in errors] == [("body", "item"), ("body", "count")]


def get_user(token: Annotated[str, Header()]) -> str:
    return token


def test_dependencies_are_planned_with_their_own_parameters() -> None:
    async def handler(user: Annotated[str, Depends(get_user)]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    (dep,) = plan.dependencies
    assert (dep.name, dep.call, dep.use_cache) == ("user", get_user, True)
    assert [v.key for v in dep.plan.params] == ["token"]


def sync_handler(ws: WebSocket) -> None:
    pass


async def star_args(ws: WebSocket, *args: Any) -> None:
    pass


async def star_kwargs(ws: WebSocket, **kwargs: Any) -> None:
    pass


async def positional_only(ws: WebSocket, /) -> None:
    pass


async def unvalidatable(ws: WebSocket, data: object()) -> None:  # type: ignore[valid-type]
    pass


async def no_websocket(room: str) -> None:
    pass


async def missing_path_param(ws: WebSocket) -> None:
    pass


async def unresolvable(ws: WebSocket, x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
    pass


async def body_on_websocket(ws: WebSocket, item: Item) -> None:
    pass


def wants_a_body(item: Item) -> Item:
    return item


async def body_through_a_dependency(
    ws: WebSocket, x: Annotated[Item, Depends(wants_a_body)]
) -> None:
    pass


async def path_not_in_template(ws: WebSocket, room: Annotated[str, Path()]) -> None:
    pass


async def generator_handler(ws: WebSocket) -> Any:
    yield


class AsyncCallable:
    async def __call__(self, ws: WebSocket) -> None:
        """Parameters only: the plan is what is tested."""


@pytest.mark.parametrize(
    ("handler", "paths", "message"),
    [
        (sync_handler, frozenset(), "must be an async function"),
        (generator_handler, frozenset(), "must be an async function"),
        (star_args, frozenset(), r"\*args and \*\*kwargs"),
        (star_kwargs, frozenset(), r"\*args and \*\*kwargs"),
        (positional_only, frozenset(), "positional-only"),
        (unvalidatable, frozenset(), "cannot validate"),
        (no_websocket, frozenset({"room"}), "must take the WebSocket as its first parameter"),
        (missing_path_param, frozenset({"room"}), "no parameter for path parameter\\(s\\) room"),
        (unresolvable, frozenset(), "cannot resolve its annotations"),
        (body_on_websocket, frozenset(), "a WebSocket handshake has no body"),
        (body_through_a_dependency, frozenset(), "a WebSocket handshake has no body"),
        (path_not_in_template, frozenset(), "not in the path template"),
    ],
)
def test_bad_signatures_fail_at_declaration(
    handler: Any, paths: frozenset[str], message: str
) -> None:
    with pytest.raises(RouteDefinitionError, match=message):
        plan_handler(handler, paths, Role.WEBSOCKET)


def test_a_generator_http_handler_streams() -> None:
    def handler() -> Any:
        yield

    async def plain() -> None:
        """Not a generator."""

    assert plan_handler(handler, frozenset(), Role.HTTP).streams
    assert not plan_handler(plain, frozenset(), Role.HTTP).streams


def test_async_callable_object_is_accepted() -> None:
    plan = plan_handler(AsyncCallable(), frozenset(), Role.WEBSOCKET)
    assert plan.connection_params == ("ws",)


def test_partial_is_accepted() -> None:
    async def handler(ws: WebSocket, room: str, size: int) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(functools.partial(handler, size=3), frozenset({"room"}), Role.WEBSOCKET)
    assert ok(plan, inputs(path={"room": "r"})) == {"room": "r", "size": 3}


class Settings:
    def __init__(self, mode: Annotated[str, Query()] = "fast") -> None:
        self.mode = mode


def test_default_spelling_and_a_class_as_its_own_dependency() -> None:
    async def handler(
        ws: WebSocket,
        n: int = Query(3, le=5),  # type: ignore[assignment]  # the old spelling
        settings: Annotated[Settings, Depends()] = None,  # type: ignore[assignment]
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.WEBSOCKET, globals())
    assert ok(plan, inputs()) == {"n": 3}
    _, errors = plan.bind(inputs("n=6"))
    assert [e["loc"] for e in errors] == [("query", "n")]
    (dep,) = plan.dependencies
    assert dep.call is Settings
    assert [v.key for v in dep.plan.params] == ["mode"]


def test_a_dependency_without_a_signature_fails_at_declaration() -> None:
    async def handler(ws: WebSocket, x: Annotated[None, Depends()]) -> None:
        """Parameters only: the plan is what is tested."""

    with pytest.raises(RouteDefinitionError, match="NoneType: cannot read its signature"):
        plan_handler(handler, frozenset(), Role.WEBSOCKET)


def test_depends_needs_something_to_call() -> None:
    async def handler(ws: WebSocket, x=Depends()) -> None:  # type: ignore[no-untyped-def]  # noqa: B008
        """Parameters only: the plan is what is tested."""

    with pytest.raises(RouteDefinitionError, match="Depends\\(\\) needs a callable"):
        plan_handler(handler, frozenset(), Role.WEBSOCKET)


class Filters(pydantic.BaseModel):
    model_config = {"extra": "forbid"}

    limit: int = 10
    tags: list[str] = []


class CommonHeaders(pydantic.BaseModel):
    save_data: bool
    x_tag: list[str] = []


def test_parameter_models_take_their_fields_and_refuse_extras() -> None:
    async def handler(
        filters: Annotated[Filters, Query()], headers: Annotated[CommonHeaders, Header()]
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    bound = ok(plan, inputs("limit=5&tags=a&tags=b", headers={"save-data": "yes", "x-tag": "t"}))
    assert bound["filters"] == Filters(limit=5, tags=["a", "b"])
    assert bound["headers"] == CommonHeaders(save_data=True, x_tag=["t"])
    _, errors = plan.bind(inputs("other=1", headers={"save_data": "yes"}))
    assert errors == [
        {
            "type": "extra_forbidden",
            "loc": ("query", "other"),
            "msg": "Extra inputs are not permitted",
            "input": "1",
        },
        {
            "type": "missing",
            "loc": ("header", "save_data"),
            "msg": "Field required",
            "input": {"x_tag": []},  # FastAPI's input: what was found ("save_data" is not read)
        },
    ]


def test_header_model_without_converting_underscores() -> None:
    async def handler(
        headers: Annotated[CommonHeaders, Header(convert_underscores=False)],
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    assert ok(plan, inputs(headers={"save_data": "no"}))["headers"] == CommonHeaders(
        save_data=False
    )


def test_marker_options_are_kept_and_ellipsis_is_required() -> None:
    marker = Query(
        ...,
        alias="item-query",
        title="Query string",
        description="what to look for",
        deprecated=True,
        include_in_schema=False,
        examples=["x"],
        openapi_examples={"a": {"value": "x"}},
        regex="^fixed$",
        max_length=5,
        something_else=1,
    )
    assert (marker.title, marker.description, marker.deprecated) == (
        "Query string",
        "what to look for",
        True,
    )
    assert (marker.include_in_schema, marker.examples, marker.extra) == (
        False,
        ["x"],
        {"something_else": 1},
    )
    assert marker.constraints == {"pattern": "^fixed$", "max_length": 5}

    async def handler(q: Annotated[str, marker]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP, {"marker": marker})
    assert ok(plan, inputs("item-query=fixed")) == {"q": "fixed"}
    _, errors = plan.bind(inputs("item-query=other"))
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("string_pattern_mismatch", ("query", "item-query"))
    ]
    _, errors = plan.bind(inputs())
    assert [(e["type"], e["loc"]) for e in errors] == [("missing", ("query", "item-query"))]


def test_default_factory_and_fresh_mutable_defaults() -> None:
    async def handler(
        a: Annotated[list[str], Query(default_factory=lambda: ["made"])],
        b: Annotated[list[str], Query()] = [],  # noqa: B006  # a fresh copy per request
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    first, second = ok(plan, inputs()), ok(plan, inputs())
    assert first == {"a": ["made"], "b": []}
    assert first["b"] is not second["b"]


def test_form_plans_and_what_they_read() -> None:
    async def handler(
        name: Annotated[str, Form()],
        data: Annotated[bytes, File()],
        upload: UploadFile,
        many: list[UploadFile] | None = None,
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    assert (plan.body_kind, plan.bytes_fields) == (BodyKind.FORM, frozenset({"data"}))
    assert [v.source for v in plan.params] == [Source.FORM] * 4
    _, errors = plan.bind(inputs(body=FormData([("name", ""), ("upload", "text")])))
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("missing", ("body", "name")),  # an empty field is missing, as in FastAPI
        ("missing", ("body", "data")),
        ("value_error", ("body", "upload")),
    ]


def test_routes_without_a_body_plan_none() -> None:
    async def handler(q: str = "") -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    assert (plan.body_kind, plan.needs_body, plan.bytes_fields) == (None, False, frozenset())


def test_a_route_cannot_take_json_and_a_form() -> None:
    async def handler(item: Item, name: Annotated[str, Form()]) -> None:
        """Parameters only: the plan is what is tested."""

    with pytest.raises(RouteDefinitionError, match="either JSON"):
        plan_handler(handler, frozenset(), Role.HTTP)


def test_forms_need_python_multipart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_multipart", None)

    async def handler(name: Annotated[str, Form()]) -> None:
        """Parameters only: the plan is what is tested."""

    with pytest.raises(RouteDefinitionError, match='requires "python-multipart"'):
        plan_handler(handler, frozenset(), Role.HTTP)


def test_a_bare_list_takes_every_value_and_a_validators_error_is_fastapis() -> None:
    def check(value: str) -> str:
        raise ValueError("bad id")

    async def handler(
        q: Annotated[list, Query()] = [],  # type: ignore[type-arg]  # noqa: B006  # FastAPI's tutorial
        id: Annotated[str | None, pydantic.AfterValidator(check)] = None,
    ) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP, {"check": check})
    assert ok(plan, inputs("q=a&q=b")) == {"q": ["a", "b"], "id": None}
    _, errors = plan.bind(inputs("id=x"))
    assert errors == [
        {
            "type": "value_error",
            "loc": ("query", "id"),
            "msg": "Value error, bad id",
            "input": "x",
            "ctx": {"error": {}},
        }
    ]


def test_body_values_of_a_route_and_its_dependencies_are_embedded_together() -> None:
    def get_user(user: Annotated[str, Body()]) -> str:
        return user

    async def handler(item: Item, user: Annotated[str, Depends(get_user)]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP, {"get_user": get_user})
    body = {"item": {"name": "pen", "price": 2}, "user": "ann"}
    assert (plan.embed_body, plan.dependencies[0].plan.embed_body) == (True, True)
    assert ok(plan, inputs(body=body)) == {"item": Item(name="pen", price=2)}
    assert ok(plan.dependencies[0].plan, inputs(body=body)) == {"user": "ann"}


class Session(pydantic.BaseModel):
    model_config = {"extra": "forbid"}

    session_id: str
    tracker: str | None = None


def test_cookie_model() -> None:
    async def handler(cookies: Annotated[Session, Cookie()]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.HTTP)
    bound = ok(plan, inputs(cookies={"session_id": "s1"}))
    assert bound == {"cookies": Session(session_id="s1")}
    _, errors = plan.bind(inputs(cookies={"session_id": "s1", "ads": "yes"}))
    assert [(e["type"], e["loc"], e["input"]) for e in errors] == [
        ("extra_forbidden", ("cookie", "ads"), "yes")
    ]


def test_a_websocket_handshake_takes_parameter_models_but_no_form() -> None:
    async def handler(ws: WebSocket, filters: Annotated[Filters, Query()]) -> None:
        """Parameters only: the plan is what is tested."""

    plan = plan_handler(handler, frozenset(), Role.WEBSOCKET)
    assert ok(plan, inputs("limit=3")) == {"filters": Filters(limit=3)}

    async def upload(ws: WebSocket, file: UploadFile) -> None:
        """Parameters only: the plan is what is tested."""

    with pytest.raises(RouteDefinitionError, match="handshake has no body"):
        plan_handler(upload, frozenset(), Role.WEBSOCKET)
