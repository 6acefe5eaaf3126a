"""HTTP routes in memory: parameters, return values, responses, errors, 404/405."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi import (
    FastrAPI,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Request,
    Response,
)

if TYPE_CHECKING:
    from .conftest import HTTP


def make_app() -> FastrAPI:
    app = FastrAPI(max_body_size=16)

    @app.get("/items/{item:int}")
    async def get_item(item: int, detail: bool = False) -> dict[str, object]:
        return {"item": item, "detail": detail}

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), headers={"x-method": request.method})

    @app.put("/json")
    async def put_json(request: Request) -> object:
        return {"got": await request.json()}

    @app.patch("/text", response_class=PlainTextResponse)
    async def text() -> str:
        return "plain"

    @app.delete("/html")
    async def html() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>", status_code=202)

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"x-pot": "1"})

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("bug")

    @app.get("/unserialisable")
    async def unserialisable() -> object:
        return {"x": object()}

    @app.get("/list")
    async def as_list() -> list[int]:
        return [1, 2]

    return app


async def test_json_from_a_dict_with_converted_parameters(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(5):
        response = await http(app, "GET", "/items/5?detail=true")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"item": 5, "detail": True}
    assert (await http(app, "GET", "/list")).json() == [1, 2]


async def test_head_has_no_body(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(make_app(), "HEAD", "/items/5")
    assert (response.status_code, response.body) == (200, b"")
    assert response.headers["content-length"] == str(len(b'{"item":5,"detail":false}'))


async def test_body_text_html_and_status(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(5):
        echo = await http(app, "POST", "/echo", body=b"payload")
        text = await http(app, "PATCH", "/text")
        html = await http(app, "DELETE", "/html")
        json = await http(
            app, "PUT", "/json", body=b'{"a": 1}', headers={"content-type": "application/json"}
        )
    assert (echo.status_code, echo.body, echo.headers["x-method"]) == (200, b"payload", "POST")
    assert (text.text, text.headers["content-type"]) == ("plain", "text/plain; charset=utf-8")
    assert (html.status_code, html.text) == (202, "<p>hi</p>")
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert json.json() == {"got": {"a": 1}}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("GET", "/nowhere", b"", 404, "Not Found"),
        ("POST", "/items/1", b"", 405, "Method Not Allowed"),
        ("GET", "/teapot", b"", 418, "short and stout"),
        ("PUT", "/json", b"{bad", 400, "request body is not valid JSON"),
        ("POST", "/echo", b"x" * 17, 413, "request body over 16 bytes"),
    ],
)
async def test_errors_are_json(
    method: str, path: str, body: bytes, status: int, detail: str, http: HTTP
) -> None:
    with trio.fail_after(5):
        response = await http(make_app(), method, path, body=body)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


async def test_405_says_what_is_allowed_and_http_exception_headers(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(5):
        response = await http(app, "POST", "/items/1")
        teapot = await http(app, "GET", "/teapot")
    assert response.headers["allow"] == "GET, HEAD"
    assert teapot.headers["x-pot"] == "1"


@pytest.mark.parametrize("path", ["/broken", "/unserialisable"])
async def test_handler_bugs_are_500_and_logged(
    path: str, caplog: pytest.LogCaptureFixture, http: HTTP
) -> None:
    with trio.fail_after(5):
        response = await http(make_app(), "GET", path)
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert any(r.levelno == logging.ERROR and path in r.getMessage() for r in caplog.records)


def test_responses_render() -> None:
    assert JSONResponse({"a": 1}).body == b'{"a":1}'
    assert PlainTextResponse("é").body == "é".encode()
    custom = Response(b"x", media_type="application/x-custom", headers={"Content-Type": "a/b"})
    assert custom.headers == {"Content-Type": "a/b", "content-length": "1"}
    assert Response(b"x", media_type="image/png").headers == {
        "content-type": "image/png",
        "content-length": "1",
    }
    with pytest.raises(TypeError, match="Response takes str or bytes, not int"):
        Response(1)
    with pytest.raises(TypeError):
        JSONResponse(object())
