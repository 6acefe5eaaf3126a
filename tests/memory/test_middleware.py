"""HTTP middleware in FastAPI's form, and CORSMiddleware, on both servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from fastrapi import FastrAPI, PlainTextResponse, Request, Response
from fastrapi.middleware.cors import CORSMiddleware

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import pytest

    from .conftest import HTTP


async def test_middleware_wraps_routes_in_order(http: HTTP) -> None:
    app = FastrAPI()
    order: list[str] = []

    @app.middleware("http")
    async def outer(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        order.append("outer in")
        response = await call_next(request)
        order.append("outer out")
        response.headers["x-outer"] = "1"
        return response

    @app.middleware("http")
    async def gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        order.append("gate")
        if request.headers.get("x-key") != "k":
            return PlainTextResponse("no key", 401)
        return await call_next(request)

    @app.get("/", response_class=PlainTextResponse)
    async def index() -> str:
        order.append("handler")
        return "hi"

    with trio.fail_after(5):
        ok = await http(app, "GET", "/", headers={"x-key": "k"})
        refused = await http(app, "GET", "/")
        missing = await http(app, "GET", "/nowhere", headers={"x-key": "k"})
    assert (ok.text, ok.headers["x-outer"]) == ("hi", "1")
    assert (refused.status_code, refused.headers["x-outer"]) == (401, "1")
    assert (missing.status_code, missing.headers["x-outer"]) == (404, "1")
    assert order[:5] == ["outer in", "gate", "handler", "outer out", "outer in"]


async def test_a_failing_middleware_is_a_500(http: HTTP, caplog: pytest.LogCaptureFixture) -> None:
    app = FastrAPI()

    @app.middleware("http")
    async def broken(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        raise RuntimeError("middleware bug")

    @app.get("/")
    async def index() -> str:
        return "hi"  # pragma: no cover

    with trio.fail_after(5):
        response = await http(app, "GET", "/")
    assert response.status_code == 500
    assert "middleware bug" in caplog.text


def cors_app(**options: object) -> FastrAPI:
    app = FastrAPI()
    app.add_middleware(CORSMiddleware, **options)

    @app.get("/data")
    async def data() -> dict[str, int]:
        return {"n": 1}

    return app


async def test_cors_simple_and_preflight(http: HTTP) -> None:
    app = cors_app(
        allow_origins=["https://a.example"],
        allow_methods=["GET", "POST"],
        allow_headers=["x-token"],
        allow_credentials=True,
        expose_headers=["x-count"],
    )
    good = {"origin": "https://a.example"}
    with trio.fail_after(5):
        simple = await http(app, "GET", "/data", headers=good)
        other = await http(app, "GET", "/data", headers={"origin": "https://evil.example"})
        plain = await http(app, "GET", "/data")
        preflight = await http(
            app,
            "OPTIONS",
            "/data",
            headers={
                **good,
                "access-control-request-method": "POST",
                "access-control-request-headers": "X-Token",
            },
        )
        bad_method = await http(
            app, "OPTIONS", "/data", headers={**good, "access-control-request-method": "DELETE"}
        )
        bad_header = await http(
            app,
            "OPTIONS",
            "/data",
            headers={
                **good,
                "access-control-request-method": "GET",
                "access-control-request-headers": "x-other",
            },
        )
        bad_origin = await http(
            app,
            "OPTIONS",
            "/data",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        )
    assert simple.headers["access-control-allow-origin"] == "https://a.example"
    assert simple.headers["access-control-allow-credentials"] == "true"
    assert simple.headers["access-control-expose-headers"] == "x-count"
    assert simple.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in plain.headers
    assert (preflight.status_code, preflight.text) == (200, "OK")
    assert preflight.headers["access-control-allow-origin"] == "https://a.example"
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    assert preflight.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Content-Language, Content-Type, x-token"
    )
    assert preflight.headers["access-control-max-age"] == "600"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert (bad_method.status_code, bad_method.text) == (400, "Disallowed CORS method")
    assert (bad_header.status_code, bad_header.text) == (400, "Disallowed CORS headers")
    assert (bad_origin.status_code, bad_origin.text) == (400, "Disallowed CORS origin")


async def test_cors_any_origin(http: HTTP) -> None:
    app = cors_app(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    with trio.fail_after(5):
        simple = await http(app, "GET", "/data", headers={"origin": "https://b.example"})
        preflight = await http(
            app,
            "OPTIONS",
            "/data",
            headers={
                "origin": "https://b.example",
                "access-control-request-method": "PATCH",
                "access-control-request-headers": "x-anything",
            },
        )
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "vary" not in simple.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "x-anything"


async def test_cors_any_origin_with_a_cookie_echoes_it(http: HTTP) -> None:
    app = cors_app(allow_origins=["*"], allow_origin_regex=None)
    with trio.fail_after(5):
        response = await http(
            app, "GET", "/data", headers={"origin": "https://c.example", "cookie": "a=1"}
        )
    assert response.headers["access-control-allow-origin"] == "https://c.example"
    assert response.headers["vary"] == "Origin"


async def test_cors_origin_regex(http: HTTP) -> None:
    app = cors_app(allow_origin_regex=r"https://.*\.example\.org")
    with trio.fail_after(5):
        good = await http(app, "GET", "/data", headers={"origin": "https://x.example.org"})
        bad = await http(app, "GET", "/data", headers={"origin": "https://x.example.org.evil"})
    assert good.headers["access-control-allow-origin"] == "https://x.example.org"
    assert "access-control-allow-origin" not in bad.headers
