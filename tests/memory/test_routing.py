"""Routers and route options served: response models, status codes, response classes, the
Response parameter, route/router/app dependencies (HTTP and WebSocket handshakes), the
trailing-slash redirect, first-registered-wins, url_for and root_path; on both servers."""

from __future__ import annotations

import gzip
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import pydantic
import pytest
import trio

from fastrapi import (
    APIRouter,
    Body,
    Depends,
    FastrAPI,
    Header,
    HTMLResponse,
    HTTPException,
    PlainTextResponse,
    Request,
    Response,
    WebSocket,
)
from fastrapi.exceptions import RequestValidationError
from fastrapi.routing import APIRoute
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

    from .conftest import HTTP, Connect


class ItemIn(pydantic.BaseModel):
    name: str
    price: float
    secret: str = "s"


class ItemOut(pydantic.BaseModel):
    name: str
    price: float
    tax: float | None = None
    tags: list[str] = []


def _shop() -> FastrAPI:
    app = FastrAPI()

    @app.post("/items", response_model=ItemOut, status_code=201)
    async def create(item: ItemIn) -> ItemIn:
        return item  # filtered through ItemOut: no secret

    @app.get("/annotated")
    async def annotated() -> ItemOut:
        return ItemOut(name="a", price=1, tags=["x"])

    @app.get("/dict-filtered", response_model=ItemOut, response_model_exclude_unset=True)
    async def unset() -> dict[str, object]:
        return {"name": "u", "price": 2}

    @app.get(
        "/include",
        response_model=ItemOut,
        response_model_include={"name"},
        response_model_exclude_none=True,
    )
    async def include() -> ItemOut:
        return ItemOut(name="i", price=3)

    @app.get("/none", response_model=ItemOut, response_model_exclude_none=True)
    async def none() -> ItemOut:
        return ItemOut(name="n", price=4)

    @app.get("/list", response_model=list[ItemOut])
    async def many() -> list[dict[str, object]]:
        return [{"name": "l", "price": 5, "extra": 1}]

    @app.get("/invalid", response_model=ItemOut)
    async def invalid() -> dict[str, object]:
        return {"name": "bad"}

    @app.get("/bypass", response_model=ItemOut)
    async def bypass() -> Response:
        return PlainTextResponse("as is")

    @app.get("/off", response_model=None)
    async def off() -> Response | dict[str, str]:
        return {"anything": "goes"}

    @app.get("/html", response_class=HTMLResponse)
    async def html() -> str:
        return "<p>hi</p>"

    @app.get("/text")
    async def text() -> str:
        return "json string"

    @app.get("/int-keys", response_model=None)
    async def int_keys() -> dict[int, float]:
        return {1: 2.5}

    @app.delete("/gone", status_code=204)
    async def gone() -> None:
        return None

    return app


async def test_response_model_validates_and_filters(http: HTTP) -> None:
    app = _shop()
    with trio.fail_after(5):
        created = await http(
            app,
            "POST",
            "/items",
            body=b'{"name": "pen", "price": 1.5}',
            headers={"content-type": "application/json"},
        )
        annotated = await http(app, "GET", "/annotated")
        unset = await http(app, "GET", "/dict-filtered")
        include = await http(app, "GET", "/include")
        none = await http(app, "GET", "/none")
        many = await http(app, "GET", "/list")
    assert created.status_code == 201
    assert created.json() == {"name": "pen", "price": 1.5, "tax": None, "tags": []}
    assert annotated.json() == {"name": "a", "price": 1.0, "tax": None, "tags": ["x"]}
    assert unset.json() == {"name": "u", "price": 2.0}
    assert include.json() == {"name": "i"}
    assert none.json() == {"name": "n", "price": 4.0, "tags": []}
    assert many.json() == [{"name": "l", "price": 5.0, "tax": None, "tags": []}]


async def test_a_value_that_does_not_fit_the_model_is_a_500(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(5):
        response = await http(_shop(), "GET", "/invalid")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert "'loc': ['response', 'price']" in caplog.text


async def test_a_returned_response_bypasses_the_model_and_none_turns_it_off(http: HTTP) -> None:
    app = _shop()
    with trio.fail_after(5):
        bypass = await http(app, "GET", "/bypass")
        off = await http(app, "GET", "/off")
    assert (bypass.text, bypass.headers["content-type"]) == (
        "as is",
        "text/plain; charset=utf-8",
    )
    assert off.json() == {"anything": "goes"}


async def test_response_class_status_code_and_str_as_json(http: HTTP) -> None:
    app = _shop()
    with trio.fail_after(5):
        html = await http(app, "GET", "/html")
        text = await http(app, "GET", "/text")
        gone = await http(app, "DELETE", "/gone")
        int_keys = await http(app, "GET", "/int-keys")
    assert (html.text, html.headers["content-type"]) == ("<p>hi</p>", "text/html; charset=utf-8")
    assert (text.json(), text.headers["content-type"]) == ("json string", "application/json")
    assert (gone.status_code, gone.body) == (204, b"")
    assert int_keys.json() == {"1": 2.5}


async def test_the_response_parameter_sets_status_headers_and_cookies(http: HTTP) -> None:
    app = FastrAPI()

    def tracked(response: Response) -> None:
        response.headers["x-dep"] = "1"

    @app.put("/items/{name}", status_code=200, dependencies=[Depends(tracked)])
    async def upsert(name: str, response: Response) -> dict[str, str]:
        if name == "new":
            response.status_code = 201
        response.headers["x-name"] = name
        response.set_cookie("seen", "yes")
        response.set_cookie("again", "too")
        return {"name": name}

    @app.get("/direct")
    async def direct(response: Response) -> Response:
        response.headers["x-lost"] = "1"  # FastAPI's rule: a returned response is sent as is
        return PlainTextResponse("direct")

    with trio.fail_after(5):
        new = await http(app, "PUT", "/items/new")
        old = await http(app, "PUT", "/items/old")
        direct_response = await http(app, "GET", "/direct")
    assert (new.status_code, new.json(), new.headers["x-name"]) == (201, {"name": "new"}, "new")
    assert new.headers["x-dep"] == "1"
    assert [c.split(";")[0] for c in new.headers.getlist("set-cookie")] == [
        "seen=yes",
        "again=too",
    ]
    assert new.headers["content-type"] == "application/json"
    assert old.status_code == 200
    assert "x-lost" not in direct_response.headers


def _routers() -> tuple[FastrAPI, list[str]]:
    calls: list[str] = []

    def app_dep() -> None:
        calls.append("app")

    async def router_dep(x_token: Annotated[str, Header()]) -> None:
        calls.append("router")
        if x_token != "secret":
            raise HTTPException(400, "X-Token header invalid")

    def route_dep() -> None:
        calls.append("route")

    items = APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[Depends(router_dep)],
        responses={404: {"description": "Not found"}},
    )

    @items.get("/", dependencies=[Depends(route_dep)])
    async def read_items() -> list[str]:
        return ["pen"]

    @items.get("/{item_id}")
    async def read_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    @items.websocket("/{item_id}/ws")
    async def watch(ws: WebSocket, item_id: str) -> None:
        await ws.accept()
        await ws.send_text(item_id)

    users = APIRouter()

    @users.get("/users/me")
    async def me() -> dict[str, str]:
        return {"user": "me"}

    api = APIRouter(prefix="/api")
    api.include_router(items)
    app = FastrAPI(dependencies=[Depends(app_dep)])
    app.include_router(api)
    app.include_router(users, prefix="/v1")
    return app, calls


async def test_routers_with_prefixes_and_dependencies_in_order(http: HTTP) -> None:
    app, calls = _routers()
    token = {"x-token": "secret"}
    with trio.fail_after(5):
        listed = await http(app, "GET", "/api/items/", headers=token)
        one = await http(app, "GET", "/api/items/7", headers=token)
        refused = await http(app, "GET", "/api/items/7", headers={"x-token": "no"})
        missing = await http(app, "GET", "/api/items/7")
        me = await http(app, "GET", "/v1/users/me")
    assert listed.json() == ["pen"]
    assert one.json() == {"item_id": "7"}
    assert (refused.status_code, refused.json()) == (400, {"detail": "X-Token header invalid"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["header", "x-token"]
    assert me.json() == {"user": "me"}
    assert calls[:5] == ["app", "router", "route", "app", "router"]


async def test_router_dependencies_run_at_the_websocket_handshake(connect: Connect) -> None:
    app, calls = _routers()
    with trio.fail_after(5):
        async with connect(app, "/api/items/9/ws", headers={"x-token": "secret"}) as client:
            assert await client.receive_text() == "9"
        with pytest.raises(HandshakeRejected) as refused:
            async with connect(app, "/api/items/9/ws", headers={"x-token": "no"}):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert refused.value.status_code == 400
    assert calls == ["app", "router", "app", "router"]


async def test_trailing_slash_redirects_keep_the_query(http: HTTP) -> None:
    app, _ = _routers()
    with trio.fail_after(5):
        to_slash = await http(app, "GET", "/api/items?x=1")
        from_slash = await http(app, "GET", "/v1/users/me/")
        wrong_method = await http(app, "POST", "/v1/users/me/")
        nothing = await http(app, "GET", "/nowhere/")
    assert (to_slash.status_code, to_slash.headers["location"]) == (
        307,
        "http://testserver/api/items/?x=1",
    )
    assert from_slash.headers["location"] == "http://testserver/v1/users/me"
    assert (wrong_method.status_code, wrong_method.headers["location"]) == (
        307,
        "http://testserver/v1/users/me",
    )
    assert nothing.status_code == 404


async def test_redirect_slashes_off(http: HTTP) -> None:
    app = FastrAPI(redirect_slashes=False)

    @app.get("/items/")
    async def items() -> list[str]:
        return []

    with trio.fail_after(5):
        response = await http(app, "GET", "/items")
    assert response.status_code == 404


async def test_the_first_registered_route_wins(http: HTTP) -> None:
    app = FastrAPI()

    @app.get("/users/me")
    async def me() -> str:
        return "me"

    @app.get("/users/{name}")
    async def user(name: str) -> str:
        return name

    @app.get("/users/me")
    async def shadowed() -> str:  # pragma: no cover (never called)
        return "shadowed"

    with trio.fail_after(5):
        first = await http(app, "GET", "/users/me")
        other = await http(app, "GET", "/users/ann")
    assert (first.json(), other.json()) == ("me", "ann")


async def test_api_route_head_and_options(http: HTTP) -> None:
    app = FastrAPI()

    @app.api_route("/both", methods=["GET", "POST"])
    async def both(request: Request) -> str:
        return request.method

    @app.options("/both")
    async def options() -> Response:
        return Response(headers={"allow": "GET, POST, OPTIONS"})

    with trio.fail_after(5):
        get = await http(app, "GET", "/both")
        post = await http(app, "POST", "/both")
        head = await http(app, "HEAD", "/both")
        opts = await http(app, "OPTIONS", "/both")
        put = await http(app, "PUT", "/both")
    assert (get.json(), post.json()) == ("GET", "POST")
    assert (head.status_code, head.body, head.headers["content-length"]) == (200, b"", "6")
    assert opts.headers["allow"] == "GET, POST, OPTIONS"
    assert (put.status_code, put.headers["allow"]) == (405, "GET, HEAD, OPTIONS, POST")


async def test_url_for_and_root_path(http: HTTP) -> None:
    app = FastrAPI(root_path="/proxy")

    @app.get("/items/{item_id}", name="item")
    async def item(item_id: int, request: Request) -> dict[str, object]:
        return {
            "url": request.url_for("item", item_id=item_id + 1),
            "root_path": request.scope["root_path"],
            "same_app": request.app is app,
        }

    with trio.fail_after(5):
        plain = await http(app, "GET", "/items/1")
        full = await http(app, "GET", "/proxy/items/2")
    assert plain.json() == {
        "url": "http://testserver/proxy/items/2",
        "root_path": "/proxy",
        "same_app": True,
    }
    assert full.json()["url"] == "http://testserver/proxy/items/3"


async def test_response_validation_error_is_logged_not_sent(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "fastrapi")
    with trio.fail_after(5):
        response = await http(_shop(), "GET", "/invalid")
    assert "price" not in response.text
    assert "/invalid" in caplog.text


class _GzipRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            body = await super().body()
            if "gzip" in self.headers.getlist("content-encoding"):
                body = gzip.decompress(body)
            self._body = body
        return self._body


class _GzipRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(_GzipRequest(request.scope, request.receive))

        return handler


class _LoggingRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except RequestValidationError as exc:
                body = await request.body()
                detail = {"errors": len(exc.errors()), "body": body.decode()}
                raise HTTPException(422, detail) from exc
            response.headers["x-timed"] = "1"
            return response

        return handler


async def test_custom_route_classes_wrap_the_handler(http: HTTP) -> None:
    app = FastrAPI()
    app.router.route_class = _GzipRoute

    @app.post("/sum/{factor}")
    async def total(factor: int, numbers: Annotated[list[int], Body()]) -> int:
        return factor * sum(numbers)

    logged = APIRouter(route_class=_LoggingRoute)

    @logged.post("/checked")
    async def checked(numbers: Annotated[list[int], Body()]) -> int:
        return sum(numbers)

    app.include_router(logged)
    json = {"content-type": "application/json"}
    with trio.fail_after(5):
        zipped = await http(
            app,
            "POST",
            "/sum/2",
            body=gzip.compress(b"[1, 2, 3]"),
            headers={**json, "content-encoding": "gzip"},
        )
        plain = await http(app, "POST", "/sum/3", body=b"[1]", headers=json)
        ok = await http(app, "POST", "/checked", body=b"[1, 2]", headers=json)
        bad = await http(app, "POST", "/checked", body=b'["x"]', headers=json)
    assert (zipped.json(), plain.json()) == (12, 3)
    assert (ok.json(), ok.headers["x-timed"]) == (3, "1")
    assert (bad.status_code, bad.json()) == (422, {"detail": {"errors": 1, "body": '["x"]'}})


async def test_included_routers_lifespans_and_hooks_run_with_the_app() -> None:
    events: list[str] = []

    def lifespan_of(name: str) -> Callable[[FastrAPI], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def lifespan(app: FastrAPI) -> AsyncIterator[None]:
            assert isinstance(app, FastrAPI)
            events.append(f"{name} in")
            yield
            events.append(f"{name} out")

        return lifespan

    inner = APIRouter(lifespan=lifespan_of("inner"), on_startup=[lambda: events.append("hook")])
    outer = APIRouter(lifespan=lifespan_of("outer"))
    outer.include_router(inner)
    app = FastrAPI(lifespan=lifespan_of("app"))
    app.include_router(outer)
    with trio.fail_after(5):
        async with app.running():
            events.append("serving")
    assert events == [
        "hook",
        "app in",
        "outer in",
        "inner in",
        "serving",
        "inner out",
        "outer out",
        "app out",
    ]


async def test_route_and_router_dependencies_can_be_overridden(http: HTTP) -> None:
    def deny() -> None:
        raise HTTPException(403, "no")

    router = APIRouter(dependencies=[Depends(deny)])

    @router.get("/guarded", dependencies=[Depends(deny)])
    async def guarded() -> str:
        return "in"

    app = FastrAPI()
    app.include_router(router)
    with trio.fail_after(5):
        denied = await http(app, "GET", "/guarded")
        app.dependency_overrides[deny] = lambda: None
        allowed = await http(app, "GET", "/guarded")
    assert (denied.status_code, allowed.json()) == (403, "in")


async def test_function_middleware_sees_the_app_and_its_root_path(http: HTTP) -> None:
    app = FastrAPI(root_path="/api")

    @app.middleware("http")
    async def tag(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["x-app"] = str(request.app is app)
        response.headers["x-root"] = request.scope["root_path"]
        return response

    @app.get("/")
    async def index() -> None:
        return None

    with trio.fail_after(5):
        response = await http(app, "GET", "/")
    assert (response.headers["x-app"], response.headers["x-root"]) == ("True", "/api")
