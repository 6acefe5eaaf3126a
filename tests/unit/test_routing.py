"""Path templates, routers and route objects (pure, synchronous: declaring and matching)."""

from __future__ import annotations

import uuid
from typing import Any

import pydantic
import pytest

from fastrapi import (
    Depends,
    FastrAPI,
    HTMLResponse,
    Hub,
    PlainTextResponse,
    Response,
    WebSocket,
    WebSocketOptions,
)
from fastrapi.exceptions import NoMatchFound, RouteDefinitionError
from fastrapi.routing import (
    APIRoute,
    APIRouter,
    APIWebSocketRoute,
    HubRouteOptions,
    MethodNotAllowed,
    PathTemplate,
    WebSocketRouteOptions,
)


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/ws", "/ws", {}),
        ("/chat/{room}", "/chat/lobby", {"room": "lobby"}),
        ("/items/{id:int}", "/items/-42", {"id": -42}),
        ("/price/{value:float}", "/price/3.5", {"value": 3.5}),
        ("/files/{rest:path}", "/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        (
            "/u/{key:uuid}",
            "/u/12345678-1234-5678-1234-567812345678",
            {"key": uuid.UUID("12345678-1234-5678-1234-567812345678")},
        ),
        ("/a.b/{x}", "/a.b/1", {"x": "1"}),
    ],
)
def test_template_matches_and_converts(template: str, path: str, params: dict[str, object]) -> None:
    assert PathTemplate(template).match(path) == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/chat/{room}", "/chat/a/b"),
        ("/chat/{room}", "/chat/"),
        ("/items/{id:int}", "/items/x"),
        ("/price/{value:float}", "/price/1e5"),
        ("/u/{key:uuid}", "/u/not-a-uuid"),
        ("/a.b/{x}", "/aXb/1"),
        ("/ws", "/ws/"),
    ],
)
def test_template_rejects(template: str, path: str) -> None:
    assert PathTemplate(template).match(path) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("chat/{room}", "must start with '/'"),
        ("/chat/{room", "unbalanced brace"),
        ("/chat/room}", "unbalanced brace"),
        ("/chat/{room}/{room}", "'room' twice"),
        ("/chat/{1room}", "identifier"),
        ("/chat/{}", "identifier"),
        ("/chat/{room:bogus}", "unknown converter 'bogus'"),
    ],
)
def test_bad_templates_fail_at_declaration(template: str, message: str) -> None:
    with pytest.raises(RouteDefinitionError, match=message):
        PathTemplate(template)


def test_param_names() -> None:
    assert PathTemplate("/{a}/x/{b:int}").param_names == {"a", "b"}


def test_first_websocket_route_wins_even_for_the_same_path() -> None:
    router = APIRouter()

    async def lobby(ws: WebSocket) -> None: ...

    async def room(ws: WebSocket, room: str) -> None: ...

    async def again(ws: WebSocket, room: str) -> None: ...

    router.add_api_websocket_route("/chat/lobby", lobby)
    router.add_api_websocket_route("/chat/{room}", room)
    router.add_api_websocket_route("/chat/{room}", again)
    assert router.match_websocket("/chat/lobby") == (router.websocket_routes[0], {})
    found = router.match_websocket("/chat/x")
    assert found is not None
    assert (found[0].endpoint, found[1]) == (room, {"room": "x"})
    assert router.match_websocket("/nope") is None


async def _get(id: int) -> None: ...


async def _write(id: int) -> None: ...


def test_http_methods_head_405_and_first_wins() -> None:
    router = APIRouter()
    router.add_api_route("/items/{id:int}", _get, methods=["get"])
    router.add_api_route("/items/{id:int}", _write, methods=["POST", "PUT"])
    router.add_api_route("/items/{id:int}", _write, methods=["GET"])  # shadowed: first wins
    found = router.match_http("GET", "/items/1")
    assert isinstance(found, tuple)
    assert (found[0].endpoint, found[1]) == (_get, {"id": 1})
    head = router.match_http("HEAD", "/items/1")
    assert isinstance(head, tuple)
    assert head[0].endpoint is _get
    assert router.match_http("DELETE", "/items/1") == MethodNotAllowed(
        ("GET", "HEAD", "POST", "PUT")
    )
    assert router.match_http("GET", "/other") is None


async def _me() -> None: ...


async def _named(name: str) -> None: ...


def test_static_paths_keep_declaration_order_with_templates() -> None:
    # a static path is a dict lookup, yet a template declared before it still wins its path
    router = APIRouter()
    router.add_api_route("/items/{name}", _named, methods=["GET"])
    router.add_api_route("/items/me", _me, methods=["GET", "POST"])
    router.add_api_route("/items/{name}/x", _named, methods=["GET"])
    found = router.match_http("GET", "/items/me")
    assert isinstance(found, tuple)
    assert (found[0].endpoint, found[1]) == (_named, {"name": "me"})
    found[1]["name"] = "changed"  # each match has a dict of its own
    again = router.match_http("GET", "/items/me")
    assert isinstance(again, tuple)
    assert again[1] == {"name": "me"}
    posted = router.match_http("POST", "/items/me")
    assert isinstance(posted, tuple)
    assert (posted[0].endpoint, posted[1]) == (_me, {})
    assert router.match_http("PUT", "/items/me") == MethodNotAllowed(("GET", "HEAD", "POST"))
    assert router.match_http("GET", "/items/me/") is None
    # "/items/me" + "\n" is not the static route (which takes POST): the template's only
    assert router.match_http("POST", "/items/me\n") == MethodNotAllowed(("GET", "HEAD"))
    assert router.match_http("GET", "/items/1\n/x") == (router.http_routes[2], {"name": "1\n"})
    assert PathTemplate("/items/{id:int}").match("/items/1\n") is None


def test_routes_added_after_a_lookup_are_found() -> None:
    router = APIRouter()
    router.add_api_route("/a", _me, methods=["GET"])
    assert router.match_http("GET", "/b") is None
    assert router.match_websocket("/ws") is None
    router.add_api_route("/b", _me, methods=["GET"])
    found = router.match_http("GET", "/b")
    assert isinstance(found, tuple)
    assert found[0].path == "/b"

    async def ws(ws: WebSocket) -> None: ...

    router.add_api_websocket_route("/ws", ws)
    assert router.match_websocket("/ws") == (router.websocket_routes[0], {})


def test_405_without_get_lists_no_head() -> None:
    router = APIRouter()

    async def post() -> None: ...

    router.add_api_route("/x", post, methods=["POST"])
    assert router.match_http("GET", "/x") == MethodNotAllowed(("POST",))


def test_decorators_make_routes_with_their_methods() -> None:
    router = APIRouter()
    for method in ("get", "post", "put", "patch", "delete", "head", "options", "trace"):
        getattr(router, method)(f"/{method}")(_plain)
    router.api_route("/both", methods=["GET", "POST"])(_plain)
    router.api_route("/default")(_plain)
    methods = {route.path: route.methods for route in router.routes}
    assert methods["/trace"] == {"TRACE"}
    assert methods["/options"] == {"OPTIONS"}
    assert methods["/both"] == {"GET", "POST"}
    assert methods["/default"] == {"GET"}
    assert all(isinstance(route, APIRoute) for route in router.routes)


def _plain() -> dict[str, str]:
    """Read it.

    More here.
    \f
    Not in the document.
    """
    return {}


def test_route_metadata_is_kept() -> None:
    router = APIRouter()

    def dep() -> None: ...

    router.get(
        "/items",
        status_code=201,
        tags=["items"],
        summary="List",
        response_description="The items",
        responses={404: {"description": "None"}},
        deprecated=True,
        operation_id="list_items",
        include_in_schema=False,
        response_class=HTMLResponse,
        name="items",
        openapi_extra={"x-a": 1},
        dependencies=[Depends(dep)],
        response_model=None,
    )(_plain)
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    assert (route.path, route.name, route.status_code, route.tags) == (
        "/items",
        "items",
        201,
        ["items"],
    )
    assert (route.summary, route.response_description, route.deprecated) == (
        "List",
        "The items",
        True,
    )
    assert route.description == "Read it.\n\nMore here."
    assert route.responses == {404: {"description": "None"}}
    assert (route.operation_id, route.unique_id) == ("list_items", "list_items")
    assert route.include_in_schema is False
    assert route.response_class is HTMLResponse
    assert route.openapi_extra == {"x-a": 1}
    assert route.response_model is None
    assert [d.dependency for d in route.dependencies] == [dep]
    assert route.plan.dependencies[0].name == ""  # run for its effect, not passed


def test_unique_id_and_name_defaults() -> None:
    router = APIRouter()
    router.get("/items/{id}")(_get)
    route = router.routes[0]
    assert (route.name, route.unique_id) == ("_get", "_get_items__id__get")


class Item(pydantic.BaseModel):
    name: str


async def _model() -> Item:
    return Item(name="x")


async def _response() -> Response:
    return Response()


async def _none() -> None: ...


def test_response_model_follows_fastapis_rules() -> None:
    router = APIRouter()
    router.get("/a")(_model)
    router.get("/b")(_response)
    router.get("/c")(_none)
    router.get("/d", response_model=None)(_model)
    router.get("/e", response_model=list[Item])(_model)
    models = [route.response_model for route in router.routes]
    assert models == [Item, None, None, None, list[Item]]
    assert router.routes[0].returns.adapter is not None
    assert router.routes[1].returns.adapter is None


def test_bad_response_models_fail_at_declaration() -> None:
    router = APIRouter()

    async def either() -> Response | dict[str, str]:
        return {}

    with pytest.raises(RouteDefinitionError, match="response_model=None"):
        router.get("/x")(either)
    router.get("/x", response_model=None)(either)
    with pytest.raises(RouteDefinitionError, match="204 must not have a response body"):
        router.get("/y", status_code=204)(_model)


def test_unknown_route_option_is_a_type_error() -> None:
    router = APIRouter()
    options: dict[str, Any] = {"respons_model": Item}
    with pytest.raises(TypeError, match="respons_model"):
        router.get("/x", **options)(_plain)
    with pytest.raises(TypeError, match="max_queu"):
        router.websocket("/ws", max_queu=1)  # type: ignore[call-arg]  # the error under test


async def _chat(ws: WebSocket) -> None: ...


def test_a_websocket_routes_own_options_are_only_its_connection_options() -> None:
    route_keywords = WebSocketRouteOptions.__optional_keys__ - WebSocketOptions.__optional_keys__
    hub_keywords = HubRouteOptions.__optional_keys__ - WebSocketOptions.__optional_keys__
    route_options: dict[str, Any] = dict.fromkeys(route_keywords)
    hub_options: dict[str, Any] = dict.fromkeys(hub_keywords)
    router = APIRouter()
    route = router.add_api_websocket_route("/ws", _chat, max_queue=3, **route_options)
    hub = router.hub_route("/hub", max_queue=4, **hub_options)
    assert (route.overrides, hub.overrides) == ({"max_queue": 3}, {"max_queue": 4})


def test_include_router_nests_prefixes_tags_dependencies_and_responses() -> None:
    def outer_dep() -> None: ...

    def inner_dep() -> None: ...

    def include_dep() -> None: ...

    inner = APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[Depends(inner_dep)],
        responses={404: {"description": "Not found"}},
        default_response_class=PlainTextResponse,
    )
    inner.get("/{id}", tags=["one"], responses={403: {"description": "No"}})(_get)

    async def chat(ws: WebSocket, id: int) -> None: ...

    inner.websocket("/{id}/ws", max_queue=3)(chat)
    outer = APIRouter(prefix="/v1", dependencies=[Depends(outer_dep)], tags=["v1"])
    outer.include_router(inner, prefix="/shop", dependencies=[Depends(include_dep)])
    app = FastrAPI(max_queue=9)
    app.include_router(outer, tags=["api"])
    route, ws_route = app.routes[-2:]  # after the app's own (the docs pages)
    assert isinstance(route, APIRoute)
    assert route.path == "/v1/shop/items/{id}"
    assert route.tags == ["api", "v1", "items", "one"]
    assert [d.dependency for d in route.dependencies] == [outer_dep, include_dep, inner_dep]
    assert route.responses == {404: {"description": "Not found"}, 403: {"description": "No"}}
    assert route.response_class is PlainTextResponse
    assert isinstance(ws_route, APIWebSocketRoute)
    assert ws_route.path == "/v1/shop/items/{id}/ws"
    assert [d.dependency for d in ws_route.dependencies] == [outer_dep, include_dep, inner_dep]
    assert (ws_route.options.max_queue, ws_route.overrides) == (3, {"max_queue": 3})
    found = app.router.match_http("GET", "/v1/shop/items/7")
    assert isinstance(found, tuple)
    assert found[1] == {"id": "7"}


def test_included_router_routes_get_the_app_defaults() -> None:
    router = APIRouter()

    async def chat(ws: WebSocket) -> None: ...

    router.websocket("/ws")(chat)
    app = FastrAPI(max_queue=2, default_response_class=HTMLResponse)
    router.get("/page")(_plain)
    app.include_router(router)
    ws_route, page = app.routes[-2:]
    assert ws_route.options.max_queue == 2
    assert page.response_class is HTMLResponse


@pytest.mark.parametrize("prefix", ["items", "/items/", "/"])
def test_bad_prefix_fails(prefix: str) -> None:
    with pytest.raises(RouteDefinitionError, match="prefix"):
        APIRouter(prefix=prefix)
    with pytest.raises(RouteDefinitionError, match="prefix"):
        APIRouter().include_router(APIRouter(), prefix=prefix)


def test_empty_path_needs_a_prefix() -> None:
    router = APIRouter(prefix="/items")
    router.get("")(_plain)
    assert router.routes[0].path == "/items"
    with pytest.raises(RouteDefinitionError, match="cannot both be empty"):
        FastrAPI().get("")(_plain)


def test_paths_that_are_no_templates_are_documents_only_outside_the_app() -> None:
    callbacks = APIRouter()
    callbacks.post("{$callback_url}/invoices/{$request.body.id}")(_plain)
    route = callbacks.routes[0]
    assert (route.path, route.servable, callbacks.http_routes) == (
        "{$callback_url}/invoices/{$request.body.id}",
        False,
        [],
    )
    with pytest.raises(RouteDefinitionError, match="must start with '/'"):
        FastrAPI().include_router(callbacks)


def test_a_router_cannot_include_itself() -> None:
    router = APIRouter()
    with pytest.raises(RouteDefinitionError, match="itself"):
        router.include_router(router)


def test_url_path_for() -> None:
    app = FastrAPI()
    app.get("/items/{id:int}/{name}", name="item")(_item)

    async def chat(ws: WebSocket) -> None: ...

    app.websocket("/chat")(chat)
    assert app.url_path_for("item", id=3, name="x") == "/items/3/x"
    assert app.url_path_for("chat") == "/chat"
    with pytest.raises(NoMatchFound, match="'item'"):
        app.url_path_for("item", id=3)
    with pytest.raises(NoMatchFound, match="'nope'"):
        app.url_path_for("nope")


async def _item(id: int, name: str) -> None: ...


def test_redirect_path_finds_the_other_form() -> None:
    router = APIRouter()
    router.get("/items/")(_plain)
    router.get("/users")(_plain)
    assert router.redirect_path("GET", "/items") == "/items/"
    assert router.redirect_path("GET", "/users/") == "/users"
    assert router.redirect_path("POST", "/users/") == "/users"  # then a 405 there
    assert router.redirect_path("GET", "/nope") is None
    assert router.redirect_path("GET", "/") is None
    off = APIRouter(redirect_slashes=False)
    off.get("/items/")(_plain)
    assert off.redirect_path("GET", "/items") is None


def test_a_router_route_gets_the_apps_hub_when_included() -> None:
    router = APIRouter()

    async def publish(hub: Hub) -> None: ...

    router.post("/publish")(publish)
    hub = Hub()
    app = FastrAPI(hub=hub)
    app.include_router(router)
    [(name, read)] = app.routes[-1].plan.provided
    assert (name, read()) == ("hub", hub)
    with pytest.raises(RouteDefinitionError, match="the app has no Hub"):
        FastrAPI().include_router(router)
