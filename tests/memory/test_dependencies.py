"""Dependencies, validated parameters and sync handlers on HTTP and WebSocket routes."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import pydantic
import pytest
import trio
import trio.lowlevel

from fastrapi import (
    Body,
    Cookie,
    Depends,
    FastrAPI,
    Header,
    HTTPException,
    Query,
    Request,
    WebSocket,
)
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from .conftest import HTTP, Connect

JSON = "application/json"
JSON_TYPE = {"content-type": JSON}


class Item(pydantic.BaseModel):
    name: str
    price: float = pydantic.Field(gt=0)


def make_app(events: list[str]) -> FastrAPI:
    app = FastrAPI()

    def sync_value() -> str:
        events.append(f"sync in {threading.current_thread() is threading.main_thread()}")
        return "s"

    async def resource() -> AsyncIterator[str]:
        events.append("open")
        try:
            yield "r"
        except HTTPException as exc:
            events.append(f"saw {exc.status_code}")
            raise
        finally:
            events.append("close")

    def sync_resource() -> Iterator[str]:
        events.append("sync open")
        yield "sr"
        events.append("sync close")

    async def counted(r: Annotated[str, Depends(resource)]) -> str:
        events.append("counted")
        return r + "c"

    @app.get("/deps")
    async def deps(
        a: Annotated[str, Depends(counted)],
        b: Annotated[str, Depends(counted)],
        s: Annotated[str, Depends(sync_value)],
        sr: Annotated[str, Depends(sync_resource)],
    ) -> dict[str, str]:
        events.append("handler")
        return {"a": a, "b": b, "s": s, "sr": sr}

    @app.get("/fails")
    async def fails(r: Annotated[str, Depends(resource)]) -> None:
        raise HTTPException(409, "conflict")

    @app.get("/sync")
    def sync_route(n: int = 1) -> dict[str, object]:
        return {"n": n, "main": threading.current_thread() is threading.main_thread()}

    @app.post("/items/{item_id:int}")
    def create(
        item_id: int,
        item: Item,
        q: Annotated[str | None, Query(max_length=3)] = None,
        x_trace: Annotated[str, Header()] = "-",
        session: Annotated[str, Cookie()] = "-",
    ) -> Item:
        return Item(name=f"{item.name}/{item_id}/{q}/{x_trace}/{session}", price=item.price)

    @app.put("/embedded")
    async def embedded(
        name: Annotated[str, Body()], count: Annotated[int, Body(ge=1)]
    ) -> dict[str, object]:
        return {"name": name, "count": count}

    return app


async def test_dependencies_cached_cleaned_up_after_the_response(http: HTTP) -> None:
    events: list[str] = []
    with trio.fail_after(5):
        response = await http(make_app(events), "GET", "/deps")
    assert response.json() == {"a": "rc", "b": "rc", "s": "s", "sr": "sr"}
    assert events == [
        "open",
        "counted",
        "sync in False",
        "sync open",
        "handler",
        "sync close",
        "close",
    ]


async def test_the_handlers_error_reaches_the_generator(http: HTTP) -> None:
    events: list[str] = []
    with trio.fail_after(5):
        response = await http(make_app(events), "GET", "/fails")
    assert (response.status_code, response.json()) == (409, {"detail": "conflict"})
    assert events == ["open", "saw 409", "close"]


async def test_sync_handlers_run_in_a_worker_thread(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(make_app([]), "GET", "/sync?n=4")
    assert response.json() == {"n": 4, "main": False}


async def test_body_model_and_markers(http: HTTP) -> None:
    app = make_app([])
    with trio.fail_after(5):
        response = await http(
            app,
            "POST",
            "/items/7?q=abc",
            body=b'{"name": "pen", "price": 2.5}',
            headers={"x-trace": "t1", "cookie": "session=s1", "content-type": JSON},
        )
        embedded = await http(
            app, "PUT", "/embedded", body=b'{"name": "n", "count": 2}', headers=JSON_TYPE
        )
    assert response.json() == {"name": "pen/7/abc/t1/s1", "price": 2.5}
    assert response.headers["content-type"] == "application/json"
    assert embedded.json() == {"name": "n", "count": 2}


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        ("/items/7?q=long", b'{"name": "a", "price": 1}', [("string_too_long", ["query", "q"])]),
        ("/items/7", b'{"name": "a", "price": -1}', [("greater_than", ["body", "price"])]),
        (
            "/items/7",
            b'{"price": "x"}',
            [("missing", ["body", "name"]), ("float_parsing", ["body", "price"])],
        ),
        ("/items/7", b"", [("missing", ["body"])]),
        ("/items/7", b"{bad", [("json_invalid", ["body", 1])]),
        ("/items/7", b"[1, 2]", [("model_attributes_type", ["body"])]),
    ],
)
async def test_invalid_input_is_422_with_fastapis_json(
    path: str, body: bytes, errors: list[tuple[str, list[str | int]]], http: HTTP
) -> None:
    with trio.fail_after(5):
        response = await http(make_app([]), "POST", path, body=body, headers=JSON_TYPE)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == errors
    assert all({"type", "loc", "msg", "input"} <= set(e) for e in detail)


async def test_embedded_body_errors(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            make_app([]), "PUT", "/embedded", body=b'{"count": 0}', headers=JSON_TYPE
        )
    detail = response.json()["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == [
        ("missing", ["body", "name"]),
        ("greater_than_equal", ["body", "count"]),
    ]


async def test_a_failing_cleanup_is_logged_and_the_response_stands(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastrAPI()

    async def breaks() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("cleanup broke")

    @app.get("/")
    async def index(n: Annotated[int, Depends(breaks)]) -> dict[str, int]:
        return {"n": n}

    with trio.fail_after(5):
        response = await http(app, "GET", "/")
        again = await http(app, "GET", "/")
    assert response.json() == again.json() == {"n": 1}
    assert "a dependency's cleanup failed" in caplog.text
    assert "cleanup broke" in caplog.text


async def test_overrides_and_use_cache_false(http: HTTP) -> None:
    app = FastrAPI()
    calls: list[str] = []

    def real() -> str:
        calls.append("real")
        return "real"

    async def fake(token: Annotated[str, Header()] = "none") -> str:
        calls.append("fake")
        return f"fake:{token}"

    @app.get("/")
    async def index(
        a: Annotated[str, Depends(real)], b: Annotated[str, Depends(real, use_cache=False)]
    ) -> list[str]:
        return [a, b]

    with trio.fail_after(5):
        assert (await http(app, "GET", "/")).json() == ["real", "real"]
        app.dependency_overrides[real] = fake
        overridden = await http(app, "GET", "/", headers={"token": "t"})
    assert overridden.json() == ["fake:t", "fake:t"]
    assert calls == ["real", "real", "fake", "fake"]


async def test_a_dependency_takes_the_request(http: HTTP) -> None:
    app = FastrAPI()

    def method(request: Request) -> str:
        return request.method

    @app.post("/")
    async def index(m: Annotated[str, Depends(method)]) -> str:
        return m

    with trio.fail_after(5):
        assert (await http(app, "POST", "/")).json() == "POST"


# -- WebSocket routes ------------------------------------------------------------------------


async def test_websocket_dependencies_end_with_the_connection(connect: Connect) -> None:
    app = FastrAPI()
    events: list[str] = []

    async def user(token: Annotated[str, Query()], ws: WebSocket) -> AsyncIterator[str]:
        events.append(f"open {ws.client_state.name}")
        yield token.upper()
        events.append("close")

    @app.websocket("/ws")
    async def handler(ws: WebSocket, name: Annotated[str, Depends(user)]) -> None:
        await ws.accept()
        await ws.send_text(name)
        await ws.receive_text()
        events.append("handler done")

    with trio.fail_after(5):
        async with connect(app, "/ws?token=ann") as client:
            assert await client.receive_text() == "ANN"
            await client.send_text("bye")
            await client.wait_closed()
    assert events == ["open CONNECTING", "handler done", "close"]


async def test_invalid_websocket_values_refuse_with_403_and_the_errors(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(
        ws: WebSocket,
        n: Annotated[int, Query(ge=1)],
        agent: Annotated[str, Header(alias="x-agent")],
    ) -> None:
        await ws.accept()  # pragma: no cover

    caplog.set_level(logging.INFO, "fastrapi")
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/ws?n=0"):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == 403
    import orjson

    detail = orjson.loads(caught.value.body)["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == [
        ("greater_than_equal", ["query", "n"]),
        ("missing", ["header", "x-agent"]),
    ]
    assert "refused with 403: query.n: Input should be greater than or equal to 1" in caplog.text
    assert "1011" not in caplog.text


async def test_the_thread_limit_is_the_apps(http: HTTP) -> None:
    app = FastrAPI(thread_limit=1)
    seen: list[int] = []

    @app.get("/")
    def index() -> str:
        seen.append(app.thread_limiter.borrowed_tokens)
        return "ok"

    with trio.fail_after(5):
        assert (await http(app, "GET", "/")).json() == "ok"
    assert (app.thread_limiter.total_tokens, seen) == (1, [1])


async def test_cleanups_run_when_the_request_is_cancelled() -> None:
    from fastrapi import HTTPConnection
    from fastrapi._dependencies import Solver
    from fastrapi._params import Inputs, Role, plan_handler

    events: list[str] = []
    cancel = trio.CancelScope()

    async def resource() -> AsyncIterator[str]:
        try:
            yield "r"
        finally:
            await trio.lowlevel.checkpoint()  # raises unless the cleanup is shielded
            events.append("cleaned")

    async def handler(r: Annotated[str, Depends(resource)]) -> None:
        cancel.cancel()
        await trio.sleep_forever()

    conn = HTTPConnection({"type": "http", "path": "/", "headers": []}, {})
    solver = Solver(Inputs(conn), conn, {}, trio.CapacityLimiter(1))
    plan = plan_handler(handler, frozenset(), Role.HTTP, locals())
    with trio.fail_after(5), cancel:
        try:
            await solver.call(plan)
        except BaseException as exc:
            await solver.aclose(exc)
            raise
    assert cancel.cancelled_caught
    assert events == ["cleaned"]


async def test_a_websocket_dependency_whose_cleanup_fails_is_logged(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastrAPI()

    async def breaks() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("ws cleanup broke")

    @app.websocket("/ws")
    async def handler(ws: WebSocket, n: Annotated[int, Depends(breaks)]) -> None:
        await ws.accept()
        await ws.send_json(n)

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_json() == 1
            await client.wait_closed()
    assert "a dependency's cleanup failed" in caplog.text
    assert "ws cleanup broke" in caplog.text
