"""Exception handlers on HTTP and WebSocket routes, on both servers; yield dependencies that
turn an error into another; FastAPI's default answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
import pydantic
import pytest
import trio

from fastrapi import (
    Depends,
    FastrAPI,
    HTTPException,
    HubUnavailable,
    JSONResponse,
    PlainTextResponse,
    Request,
    Response,
    WebSocket,
    WebSocketRequestValidationError,
)
from fastrapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from fastrapi.exceptions import RequestValidationError
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from fastrapi._types import Message

    from .conftest import HTTP, Connect


JSON = {"content-type": "application/json"}


class UnicornError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class PinkUnicornError(UnicornError):
    pass


class Item(pydantic.BaseModel):
    title: str
    size: int


def unicorn_app() -> FastrAPI:
    app = FastrAPI()

    @app.exception_handler(UnicornError)
    async def unicorn(request: Request, exc: UnicornError) -> Response:
        return JSONResponse({"message": f"Oops! {exc.name} did something."}, 418)

    @app.get("/unicorns/{name}")
    async def read_unicorn(name: str) -> dict[str, str]:
        if name == "yolo":
            raise UnicornError(name)
        if name == "pink":
            raise PinkUnicornError(name)
        return {"unicorn_name": name}

    return app


@pytest.mark.parametrize("name", ["yolo", "pink"])
async def test_a_handler_answers_its_class_and_subclasses(name: str, http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(unicorn_app(), "GET", f"/unicorns/{name}")
        fine = await http(unicorn_app(), "GET", "/unicorns/ann")
    assert response.status_code == 418
    assert response.json() == {"message": f"Oops! {name} did something."}
    assert fine.json() == {"unicorn_name": "ann"}


async def test_the_nearest_class_in_the_mro_wins_and_sync_handlers_run(http: HTTP) -> None:
    app = unicorn_app()

    @app.exception_handler(PinkUnicornError)
    def pink(request: Request, exc: PinkUnicornError) -> Response:  # a def: in a thread
        assert trio.lowlevel.in_trio_run() is False
        return PlainTextResponse("pink", 400)

    with trio.fail_after(5):
        response = await http(app, "GET", "/unicorns/pink")
        plain = await http(app, "GET", "/unicorns/yolo")
    assert (response.status_code, response.text) == (400, "pink")
    assert plain.status_code == 418


async def test_status_handlers_take_the_routers_404_and_405(http: HTTP) -> None:
    app = FastrAPI()

    @app.exception_handler(404)
    async def not_found(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse(f"nothing at {request.url.rsplit('/', 1)[-1]}", 404)

    @app.get("/items/{item}")
    async def item(item: str) -> str:
        if item == "gone":
            raise HTTPException(404, "gone")
        raise HTTPException(409)

    with trio.fail_after(5):
        missing = await http(app, "GET", "/nowhere")
        gone = await http(app, "GET", "/items/gone")
        conflict = await http(app, "GET", "/items/x")
        wrong_method = await http(app, "POST", "/items/x")
    assert (missing.status_code, missing.text) == (404, "nothing at nowhere")
    assert (gone.status_code, gone.text) == (404, "nothing at gone")
    assert conflict.json() == {"detail": "Conflict"}  # no handler for 409: the default
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "Method Not Allowed"}
    assert wrong_method.headers["allow"] == "GET, HEAD"


async def test_default_http_errors_are_fastapis(http: HTTP) -> None:
    app = FastrAPI()

    @app.get("/empty")
    async def empty() -> None:
        raise HTTPException(204, headers={"x-a": "1"})

    @app.get("/items/{n}")
    async def item(n: int) -> int:
        return n  # pragma: no cover

    with trio.fail_after(5):
        missing = await http(app, "GET", "/nowhere")
        empty_response = await http(app, "GET", "/empty")
        invalid = await http(app, "GET", "/items/x")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (empty_response.status_code, empty_response.body) == (204, b"")
    assert empty_response.headers["x-a"] == "1"
    assert invalid.status_code == 422
    assert invalid.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["path", "n"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "x",
            }
        ]
    }


def check_id(value: str) -> str:
    if not value.startswith("isbn-"):
        raise ValueError('Invalid ID format, it must start with "isbn-"')
    return value


async def test_a_validators_error_is_fastapis_json(http: HTTP) -> None:
    app = FastrAPI()

    @app.get("/books")
    async def books(book: Annotated[str, pydantic.AfterValidator(check_id)]) -> str:
        return book  # pragma: no cover

    with trio.fail_after(5):
        response = await http(app, "GET", "/books?book=wtf")
    assert response.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["query", "book"],
                "msg": 'Value error, Invalid ID format, it must start with "isbn-"',
                "input": "wtf",
                "ctx": {"error": {}},
            }
        ]
    }


def handled_app() -> FastrAPI:
    """FastAPI's handling_errors tutorials 004 to 006 in one app."""
    app = FastrAPI()

    @app.exception_handler(HTTPException)
    async def plain_http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 418:
            return await http_exception_handler(request, exc)
        return PlainTextResponse(str(exc.detail), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        if request.url.endswith("/default"):
            return await request_validation_exception_handler(request, exc)
        lines = [f"{e['loc']}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"lines": lines, "body": exc.body}, 400)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        if item_id == 3:
            raise HTTPException(418, "Nope! I don't like 3.")
        if item_id == 4:
            raise HTTPException(400, "four")
        return {"item_id": item_id}

    @app.post("/items/{kind}")
    async def create_item(kind: str, item: Item) -> Item:
        return item  # pragma: no cover

    return app


async def test_handlers_replace_the_defaults_and_may_call_them(http: HTTP) -> None:
    app = handled_app()
    with trio.fail_after(5):
        invalid = await http(app, "GET", "/items/foo")
        teapot = await http(app, "GET", "/items/3")
        four = await http(app, "GET", "/items/4")
        body = await http(
            app, "POST", "/items/x", body=b'{"title": "towel", "size": "XL"}', headers=JSON
        )
        default = await http(app, "POST", "/items/default", body=b'{"title": "t"}', headers=JSON)
    assert invalid.status_code == 400
    assert invalid.json()["lines"] == [
        "('path', 'item_id'): Input should be a valid integer, unable to parse string as an integer"
    ]
    assert teapot.json() == {"detail": "Nope! I don't like 3."}
    assert (four.status_code, four.text) == (400, "four")
    assert body.json()["body"] == {"title": "towel", "size": "XL"}
    assert default.status_code == 422
    assert [e["loc"] for e in default.json()["detail"]] == [["body", "size"]]


async def test_starlettes_http_exception_means_ours(http: HTTP) -> None:
    starlette_http_exception = type("HTTPException", (Exception,), {})
    starlette_http_exception.__module__ = "starlette.exceptions"
    app = FastrAPI(
        exception_handlers={
            starlette_http_exception: lambda request, exc: PlainTextResponse("s", exc.status_code)
        }
    )
    with trio.fail_after(5):
        response = await http(app, "GET", "/nowhere")
    assert (response.status_code, response.text) == (404, "s")
    assert list(app.exception_handlers) == [starlette_http_exception]  # as registered


async def test_a_server_error_handler_answers_and_the_error_is_still_logged(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    app = unicorn_app()

    @app.exception_handler(Exception)
    async def oops(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": type(exc).__name__}, 500)

    @app.get("/bug")
    async def bug() -> None:
        raise KeyError("x")

    @app.get("/http")
    async def http_error() -> None:
        raise HTTPException(403)

    with trio.fail_after(5):
        response = await http(app, "GET", "/bug")
        forbidden = await http(app, "GET", "/http")
        unicorn = await http(app, "GET", "/unicorns/yolo")
    assert (response.status_code, response.json()) == (500, {"error": "KeyError"})
    assert "HTTP GET handler for /bug" in caplog.text
    assert "KeyError" in caplog.text
    assert forbidden.json() == {"detail": "Forbidden"}  # HTTPException stops the lookup
    assert unicorn.status_code == 418


@pytest.mark.parametrize("returned", ["not a response", None])
async def test_a_broken_handler_is_a_plain_500(
    returned: object, http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    app = unicorn_app()

    @app.exception_handler(UnicornError)
    async def bad(request: Request, exc: UnicornError) -> object:
        return returned

    @app.exception_handler(500)
    async def also_bad(request: Request, exc: Exception) -> Response:
        raise RuntimeError("the 500 handler fails too")

    with trio.fail_after(5):
        response = await http(app, "GET", "/unicorns/yolo")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert "not a Response" in caplog.text
    assert "the exception handler for 500 failed" in caplog.text
    assert "Traceback" not in response.text


def test_bad_registrations_are_refused() -> None:
    app = FastrAPI()
    with pytest.raises(TypeError, match="exception class or a status"):
        app.add_exception_handler("404", http_exception_handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception class or a status"):
        app.add_exception_handler(True, http_exception_handler)
    with pytest.raises(ValueError, match="400-599, not 200"):
        app.add_exception_handler(200, http_exception_handler)
    with pytest.raises(TypeError, match="must be callable"):
        app.add_exception_handler(KeyError, "handler")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="status"):
        FastrAPI(exception_handlers={"x": http_exception_handler})
    assert app.exception_handlers == {}


async def _asgi_get(app: FastrAPI, path: str) -> tuple[list[Message], BaseException | None]:
    """Call the app as a foreign ASGI server (or Starlette's test client) would."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "http_version": "1.1",
    }
    try:
        await app(scope, receive, send)
    except Exception as exc:
        return sent, exc
    return sent, None


async def test_a_foreign_server_gets_the_error_after_the_500() -> None:
    app = unicorn_app()

    @app.get("/bug")
    async def bug() -> None:
        raise KeyError("x")

    with trio.fail_after(5):
        sent, error = await _asgi_get(app, "/bug")
        handled, no_error = await _asgi_get(app, "/unicorns/yolo")
    assert isinstance(error, KeyError)
    assert (sent[0]["status"], sent[1]["body"]) == (500, b"Internal Server Error")
    assert (handled[0]["status"], no_error) == (418, None)


# -- yield dependencies -------------------------------------------------------------------


class OwnerError(Exception):
    pass


def owner_app(events: list[str]) -> FastrAPI:
    """FastAPI's dependencies tutorial 008b and friends, sync and async."""
    app = FastrAPI()

    def sync_username() -> Iterator[str]:
        try:
            yield "Rick"
        except OwnerError as exc:
            events.append(f"sync saw {exc!r}")
            raise HTTPException(400, f"Owner error: {exc}") from None
        finally:
            events.append("sync cleanup")

    async def async_outer() -> AsyncIterator[str]:
        try:
            yield "outer"
        except Exception as exc:
            events.append(f"outer saw {exc!r}")
            raise
        finally:
            events.append("outer cleanup")

    async def async_username(outer: Annotated[str, Depends(async_outer)]) -> AsyncIterator[str]:
        try:
            yield "Morty"
        except OwnerError as exc:
            raise HTTPException(400, f"async owner error: {exc}") from None
        finally:
            events.append("async cleanup")

    async def swallow() -> AsyncIterator[None]:
        try:
            yield
        except OwnerError:
            events.append("swallowed")

    @app.get("/sync/{owner}")
    def sync_item(owner: str, username: Annotated[str, Depends(sync_username)]) -> str:
        if owner != username:
            raise OwnerError(username)
        if owner == "Rick":
            events.append("handler done")
        return owner

    @app.get("/async/{owner}")
    async def async_item(owner: str, username: Annotated[str, Depends(async_username)]) -> str:
        if owner != username:
            raise OwnerError(username)
        return owner

    @app.get("/swallow")
    async def swallowing(_: Annotated[None, Depends(swallow)]) -> None:
        raise OwnerError("lost")

    return app


async def test_a_yield_dependency_turns_the_error_into_its_http_exception(http: HTTP) -> None:
    events: list[str] = []
    app = owner_app(events)
    with trio.fail_after(5):
        response = await http(app, "GET", "/sync/Morty")
        fine = await http(app, "GET", "/sync/Rick")
    assert (response.status_code, response.json()) == (400, {"detail": "Owner error: Rick"})
    assert fine.json() == "Rick"  # a str is JSON, as FastAPI has it
    assert events == [
        "sync saw OwnerError('Rick')",
        "sync cleanup",
        "handler done",
        "sync cleanup",  # after the response: FastAPI's order when nothing failed
    ]


async def test_cleanups_run_innermost_first_and_the_outer_sees_the_new_error(
    http: HTTP,
) -> None:
    events: list[str] = []
    with trio.fail_after(5):
        response = await http(owner_app(events), "GET", "/async/Rick")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "async owner error: Morty"},
    )
    assert events == [
        "async cleanup",
        "outer saw HTTPException(status_code=400, detail='async owner error: Morty')",
        "outer cleanup",
    ]


async def test_a_swallowed_error_is_still_a_500(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    with trio.fail_after(5):
        response = await http(owner_app(events), "GET", "/swallow")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert events == ["swallowed"]
    assert "FastAPIError: no response: the handler was raising an exception" in caplog.text
    assert "OwnerError('lost')" in caplog.text


# -- WebSocket routes ---------------------------------------------------------------------


class BannedError(Exception):
    pass


def ws_app() -> FastrAPI:
    app = FastrAPI()

    @app.exception_handler(BannedError)
    async def banned(websocket: WebSocket, exc: BannedError) -> Response | None:
        kind = str(exc)
        if kind == "response":
            return JSONResponse({"banned": True}, 403, headers={"x-why": "banned"})
        if kind == "http":
            raise HTTPException(451, "unavailable")
        if kind == "close":
            await websocket.close(4003, "banned")
        return None

    async def gate(websocket: WebSocket, when: str = "") -> AsyncIterator[None]:
        try:
            yield
        except KeyError:
            raise HTTPException(400, "bad key") from None

    @app.websocket("/ws")
    async def handler(
        websocket: WebSocket, _: Annotated[None, Depends(gate)], when: str = "", kind: str = ""
    ) -> None:
        if when == "after":
            await websocket.accept()
            await websocket.send_text("accepted")
        if kind == "key":
            raise KeyError(kind)
        raise BannedError(kind)

    @app.websocket("/count")
    async def count(websocket: WebSocket, n: int) -> None:
        await websocket.accept()  # pragma: no cover

    return app


async def test_a_websocket_handler_may_refuse_with_a_response(connect: Connect) -> None:
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(ws_app(), "/ws?kind=response"):
            pytest.fail("refused")  # pragma: no cover
    assert (caught.value.status_code, caught.value.headers["x-why"]) == (403, "banned")
    assert orjson.loads(caught.value.body) == {"banned": True}


async def test_a_websocket_handler_may_raise_http_exception(connect: Connect) -> None:
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(ws_app(), "/ws?kind=http"):
            pytest.fail("refused")  # pragma: no cover
    assert caught.value.status_code == 451
    assert orjson.loads(caught.value.body) == {"detail": "unavailable"}


async def test_a_yield_dependency_on_a_websocket_turns_the_error_into_a_refusal(
    connect: Connect,
) -> None:
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(ws_app(), "/ws?kind=key"):
            pytest.fail("refused")  # pragma: no cover
    assert caught.value.status_code == 400
    assert orjson.loads(caught.value.body) == {"detail": "bad key"}


@pytest.mark.parametrize(("kind", "code"), [("close", 4003), ("none", 1011)])
async def test_after_accept_the_handler_closes_with_its_code(
    kind: str, code: int, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(5):
        async with connect(ws_app(), f"/ws?when=after&kind={kind}") as client:
            assert await client.receive_text() == "accepted"
            closed = await client.wait_closed()
    assert closed.code == code
    assert "Traceback" not in caplog.text  # handled: nothing to report


async def test_an_unhandled_websocket_error_is_still_a_1011(connect: Connect) -> None:
    with trio.fail_after(5):
        async with connect(
            ws_app(), "/ws?when=after&kind=key", raise_server_exceptions=False
        ) as client:
            assert await client.receive_text() == "accepted"
            closed = await client.wait_closed()
    assert closed.code == 1011  # the dependency's HTTPException after accept: an error


async def test_invalid_handshake_values_are_a_403_with_fastapis_json(connect: Connect) -> None:
    app = ws_app()

    @app.exception_handler(RequestValidationError)
    async def http_only(request: Request, exc: RequestValidationError) -> Response:
        return PlainTextResponse("not for WebSockets", 400)  # pragma: no cover

    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/count?n=x"):
            pytest.fail("refused")  # pragma: no cover
    assert caught.value.status_code == 403
    assert orjson.loads(caught.value.body)["detail"][0]["loc"] == ["query", "n"]


async def test_websocket_validation_errors_have_their_own_handler(connect: Connect) -> None:
    app = ws_app()
    seen: list[WebSocketRequestValidationError] = []

    @app.exception_handler(WebSocketRequestValidationError)
    async def logged(websocket: WebSocket, exc: WebSocketRequestValidationError) -> Response | None:
        seen.append(exc)
        return await websocket_request_validation_exception_handler(websocket, exc)

    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/count"):
            pytest.fail("refused")  # pragma: no cover
    assert caught.value.status_code == 403
    assert [e["type"] for e in seen[0].errors()] == ["missing"]


async def test_the_validation_handler_closes_with_1008_after_accept(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/late")
    async def late(websocket: WebSocket) -> None:
        await websocket.accept()
        errors = [{"type": "missing", "loc": ("query", "x" * 200), "msg": "Field required"}]
        await websocket_request_validation_exception_handler(
            websocket, WebSocketRequestValidationError(errors)
        )

    with trio.fail_after(5):
        async with connect(app, "/late") as client:
            closed = await client.wait_closed()
    assert closed.code == 1008
    assert closed.reason.startswith("query.xxx")
    assert closed.reason.endswith("...")
    assert len(closed.reason.encode()) <= 123


async def test_a_server_error_handler_applies_to_websockets_too(connect: Connect) -> None:
    app = FastrAPI()

    @app.exception_handler(Exception)
    async def oops(connection: WebSocket, exc: Exception) -> Response:
        return PlainTextResponse(f"sorry: {exc}", 503)

    @app.websocket("/ws")
    async def handler(websocket: WebSocket) -> None:
        raise LookupError("down")

    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/ws"):
            pytest.fail("refused")  # pragma: no cover
    assert (caught.value.status_code, caught.value.body) == (503, b"sorry: down")


async def test_a_websocket_handler_returning_no_response_is_reported(connect: Connect) -> None:
    app = FastrAPI()

    @app.exception_handler(BannedError)
    async def wrong(websocket: WebSocket, exc: BannedError) -> object:
        return {"not": "a response"}

    @app.websocket("/ws")
    async def handler(websocket: WebSocket) -> None:
        raise BannedError

    with trio.fail_after(5), pytest.raises(TypeError, match="not a Response"):
        async with connect(app, "/ws"):
            pytest.fail("refused")  # pragma: no cover


async def test_a_failing_websocket_handler_is_reported(connect: Connect) -> None:
    app = FastrAPI()

    @app.exception_handler(BannedError)
    async def broken(websocket: WebSocket, exc: BannedError) -> None:
        raise RuntimeError("handler bug")

    @app.websocket("/ws")
    async def handler(websocket: WebSocket) -> None:
        await websocket.accept()
        raise BannedError

    with trio.fail_after(5), pytest.raises(RuntimeError, match="handler bug"):
        async with connect(app, "/ws") as client:
            assert (await client.wait_closed()).code == 1011


# -- JSON bodies and their content type (FastAPI's strict_content_type) ---------------------


def items_app(**options: bool) -> FastrAPI:
    app = FastrAPI(**options)  # type: ignore[arg-type]

    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    return app


BODY = b'{"title": "towel", "size": 5}'


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/geo+json", "Application/JSON; charset=utf-8"]
)
async def test_json_content_types_are_read_as_json(content_type: str, http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            items_app(), "POST", "/items", body=BODY, headers={"content-type": content_type}
        )
    assert response.json() == {"title": "towel", "size": 5}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/geo+json-seq"])
async def test_json_without_a_json_content_type_is_a_422(
    content_type: str | None, http: HTTP
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with trio.fail_after(5):
        response = await http(items_app(), "POST", "/items", body=BODY, headers=headers)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": BODY.decode(),
            }
        ]
    }


async def test_without_strict_content_type_a_body_without_one_is_json(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(items_app(strict_content_type=False), "POST", "/items", body=BODY)
        text = await http(
            items_app(strict_content_type=False),
            "POST",
            "/items",
            body=BODY,
            headers={"content-type": "text/plain"},
        )
    assert response.json() == {"title": "towel", "size": 5}
    assert text.status_code == 422  # a content type that is not JSON still is not


async def test_malformed_json_is_fastapis_json_invalid(http: HTTP) -> None:
    app = items_app()
    seen: list[object] = []

    @app.exception_handler(RequestValidationError)
    async def keep(request: Request, exc: RequestValidationError) -> Response:
        seen.append(exc.body)
        return await request_validation_exception_handler(request, exc)

    with trio.fail_after(5):
        response = await http(app, "POST", "/items", body=b"{some broken json}", headers=JSON)
        lenient = await http(
            app, "POST", "/items", body=b'{"title": "t", "size": 1, "x": NaN}', headers=JSON
        )
        not_text = await http(app, "POST", "/items", body=b'{"title": "\xff"}', headers=JSON)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 1],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting property name enclosed in double quotes"},
            }
        ]
    }
    assert seen == ["{some broken json}"]
    assert lenient.json() == {"title": "t", "size": 1}  # what Python's json takes, FastAPI does
    assert (not_text.status_code, not_text.json()) == (
        400,
        {"detail": "There was an error parsing the body"},
    )


# -- Depends(scope=...) -------------------------------------------------------------------


def scoped_app(events: list[str]) -> FastrAPI:
    app = FastrAPI()

    def function_scoped() -> Iterator[str]:
        yield "f"
        events.append("function cleanup")

    async def request_scoped() -> AsyncIterator[str]:
        yield "r"
        events.append("request cleanup")

    def refusing() -> Iterator[None]:
        yield
        raise HTTPException(409, "refused by the cleanup")

    def failing_late() -> Iterator[None]:
        yield
        raise RuntimeError("too late to answer")

    @app.get("/order")
    def order(
        r: Annotated[str, Depends(request_scoped)],
        f: Annotated[str, Depends(function_scoped, scope="function")],
    ) -> str:
        events.append("handler")
        return r + f

    @app.get("/refused")
    def refused(_: Annotated[None, Depends(refusing, scope="function")]) -> str:
        return "not sent"

    @app.get("/late")
    def late(_: Annotated[None, Depends(failing_late, scope="request")]) -> str:
        return "sent"

    return app


async def test_function_scoped_cleanups_run_before_the_response(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    app = scoped_app(events)
    with trio.fail_after(5):
        response = await http(app, "GET", "/order")
        refused = await http(app, "GET", "/refused")
        late = await http(app, "GET", "/late")
    assert response.json() == "rf"
    assert events == ["handler", "function cleanup", "request cleanup"]
    assert (refused.status_code, refused.json()) == (409, {"detail": "refused by the cleanup"})
    assert (late.status_code, late.json()) == (200, "sent")  # the response was out already
    assert "a dependency's cleanup failed" in caplog.text


def test_depends_scope_is_function_or_request() -> None:
    assert Depends(scope="function").scope == "function"
    assert Depends().scope is None
    with pytest.raises(ValueError, match="'function' or 'request', not 'app'"):
        Depends(scope="app")  # type: ignore[arg-type]


def hub_down_app() -> FastrAPI:
    """Routes that raise what a Hub raises while its Redis is away."""
    app = FastrAPI()

    @app.post("/publish")
    async def publish() -> None:
        raise HubUnavailable("Redis could not publish: it is away", retry_after=2.5)

    @app.websocket("/ws")
    async def room(ws: WebSocket, when: str = "after") -> None:
        if when == "after":
            await ws.accept()
            await ws.send_text("accepted")
        raise HubUnavailable("Redis could not subscribe: it is away")

    return app


async def test_a_hub_unavailable_http_route_answers_503_with_retry_after(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(5):
        response = await http(hub_down_app(), "POST", "/publish")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"  # whole seconds, rounded up
    assert response.json() == {"detail": "Redis could not publish: it is away"}
    assert "Traceback" not in caplog.text  # the Hub logs the outage, once


async def test_a_hub_unavailable_websocket_closes_with_1013_or_refuses_with_503(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(5):
        async with connect(hub_down_app(), "/ws") as client:
            assert await client.receive_text() == "accepted"
            closed = await client.wait_closed()
        assert (closed.code, closed.reason) == (1013, "hub unavailable")
        with pytest.raises(HandshakeRejected) as caught:
            async with connect(hub_down_app(), "/ws?when=before"):
                pytest.fail("refused")  # pragma: no cover
    assert caught.value.status_code == 503
    assert caught.value.headers["retry-after"] == "1"
    assert "Traceback" not in caplog.text


async def test_an_exception_handler_of_hub_unavailable_replaces_the_503(http: HTTP) -> None:
    app = hub_down_app()

    @app.exception_handler(HubUnavailable)
    async def busy(request: Request, exc: HubUnavailable) -> Response:
        return PlainTextResponse(f"busy, retry in {exc.retry_after}s", 429)

    with trio.fail_after(5):
        response = await http(app, "POST", "/publish")
    assert (response.status_code, response.text) == (429, "busy, retry in 2.5s")
