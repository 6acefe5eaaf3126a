"""ASGI middleware (``add_middleware``), the shipped middleware classes and mounted apps, on
both servers, for HTTP and WebSocket alike."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import pytest
import trio

from fastrapi import (
    FastrAPI,
    PlainTextResponse,
    Request,
    Response,
    RouteDefinitionError,
    WebSocket,
)
from fastrapi.middleware import Middleware
from fastrapi.middleware.gzip import GZipMiddleware
from fastrapi.middleware.httpsredirect import HTTPSRedirectMiddleware
from fastrapi.middleware.sessions import SessionMiddleware
from fastrapi.middleware.trustedhost import TrustedHostMiddleware
from fastrapi.staticfiles import StaticFiles
from fastrapi.testing import HandshakeRejected, open_websocket

if TYPE_CHECKING:
    from pathlib import Path

    from fastrapi._types import ASGIApp, Message, Receive, Scope, Send

    from .conftest import HTTP, Connect


class Tagging:
    """A plain ASGI middleware: notes the scope types it saw, adds a response header."""

    def __init__(self, app: ASGIApp, tag: str, seen: list[str]) -> None:
        self.app = app
        self.tag = tag
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(f"{self.tag}:{scope['type']}")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tag", self.tag.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


class WrappingWebSocket:
    """An ASGI middleware that wraps a WebSocket's calls (upper-cases what the app sends), as
    Starlette's SessionMiddleware wraps ``send``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def upper(message: Message) -> None:
            if message.get("text") is not None:
                message = {**message, "text": message["text"].upper()}
            await send(message)

        await self.app(scope, receive, upper)


def echo_app(*middleware: Middleware) -> FastrAPI:
    app = FastrAPI()
    for cls, args, kwargs in reversed(middleware):
        app.add_middleware(cls, *args, **kwargs)

    @app.get("/text")
    async def text() -> PlainTextResponse:
        return PlainTextResponse("x" * 2000)

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws.iter_text():
            await ws.send_text(message)

    return app


async def test_add_middleware_order_and_both_scopes(http: HTTP, connect: Connect) -> None:
    seen: list[str] = []
    app = echo_app(Middleware(Tagging, "outer", seen), Middleware(Tagging, "inner", seen))
    with trio.fail_after(10):
        response = await http(app, "GET", "/text")
        async with connect(app, "/ws") as client:
            await client.send_text("hi")
            assert await client.receive_text() == "hi"
    assert response.headers.getlist("x-tag") == ["inner", "outer"]
    served = [entry for entry in seen if not entry.endswith(":lifespan")]  # Hypercorn's too
    assert served == ["outer:http", "inner:http", "outer:websocket", "inner:websocket"]
    with pytest.raises(RuntimeError, match="after the application has started"):
        app.add_middleware(Tagging, "late", seen)


async def test_a_middleware_that_wraps_websocket_calls(connect: Connect) -> None:
    app = echo_app(Middleware(WrappingWebSocket))
    with trio.fail_after(10):
        async with connect(app, "/ws") as client:
            await client.send_text("hi")
            assert await client.receive_text() == "HI"
            await client.send_text("again")
            assert await client.receive_text() == "AGAIN"
            await client.close()
    assert client.close_frame is not None
    assert client.close_frame.code == 1000


async def test_gzip_sizes_types_and_streams(http: HTTP) -> None:
    app = echo_app(Middleware(GZipMiddleware, minimum_size=100, compresslevel=5))

    @app.get("/small")
    async def small() -> PlainTextResponse:
        return PlainTextResponse("tiny")

    @app.get("/events")
    async def events() -> Response:
        return Response("data: x\n\n" * 100, media_type="text/event-stream")

    @app.get("/encoded")
    async def encoded() -> Response:
        return Response(b"y" * 500, headers={"content-encoding": "br"})

    accept = {"accept-encoding": "gzip, deflate"}
    with trio.fail_after(10):
        big = await http(app, "GET", "/text", headers=accept)
        plain = await http(app, "GET", "/text")
        tiny = await http(app, "GET", "/small", headers=accept)
        sse = await http(app, "GET", "/events", headers=accept)
        done = await http(app, "GET", "/encoded", headers=accept)
    assert big.headers["content-encoding"] == "gzip"
    assert big.headers["vary"] == "Accept-Encoding"
    assert int(big.headers["content-length"]) == len(big.body) < 2000
    assert gzip.decompress(big.body) == b"x" * 2000
    assert "content-encoding" not in plain.headers
    assert plain.body == b"x" * 2000
    assert "content-encoding" not in tiny.headers
    assert "content-encoding" not in sse.headers
    assert done.headers["content-encoding"] == "br"
    assert done.body == b"y" * 500


async def test_gzip_streams_chunk_by_chunk() -> None:
    sent: list[Message] = []

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a" * 10, "more_body": True})
        await send({"type": "http.response.body", "body": b"b" * 10, "more_body": False})

    async def record(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: dict[str, Any] = {"type": "http", "headers": [(b"accept-encoding", b"gzip")]}
    await GZipMiddleware(streaming, minimum_size=1000)(scope, nothing, record)
    headers = dict(sent[0]["headers"])
    assert headers[b"content-encoding"] == b"gzip"
    assert b"content-length" not in headers
    first = sent[1]["body"]
    assert first  # flushed at once, before the rest came
    assert gzip.decompress(first + sent[2]["body"]) == b"a" * 10 + b"b" * 10
    assert sent[2]["more_body"] is False


def test_gzip_options_are_checked() -> None:
    with pytest.raises(ValueError, match="compresslevel"):
        GZipMiddleware(echo_app(), compresslevel=10)
    with pytest.raises(ValueError, match="minimum_size"):
        GZipMiddleware(echo_app(), minimum_size=-1)


async def test_trusted_host_http_and_websocket(http: HTTP, connect: Connect) -> None:
    allowed = ["testserver", "127.0.0.1", "*.example.com", "www.example.org"]
    app = echo_app(Middleware(TrustedHostMiddleware, allowed_hosts=allowed))
    with trio.fail_after(10):
        good = await http(app, "GET", "/text")
        sub = await http(app, "GET", "/text", headers={"host": "a.example.com:8000"})
        apex = await http(app, "GET", "/text", headers={"host": "example.com"})
        www = await http(app, "GET", "/text?q=1", headers={"host": "example.org"})
        async with connect(app, "/ws") as client:
            await client.send_text("hi")
            assert await client.receive_text() == "hi"
        with pytest.raises(HandshakeRejected) as refused:
            async with connect(app, "/ws", headers={"host": "evil.test"}):
                pass
    assert good.status_code == 200
    assert sub.status_code == 200
    assert (apex.status_code, apex.text) == (400, "Invalid host header")
    assert www.status_code == 307
    assert www.headers["location"] == "http://www.example.org/text?q=1"
    assert (refused.value.status_code, refused.value.body) == (400, b"Invalid host header")


def test_trusted_host_patterns_are_checked() -> None:
    with pytest.raises(ValueError, match="may only start with"):
        TrustedHostMiddleware(echo_app(), allowed_hosts=["ex*ample.com"])
    with pytest.raises(ValueError, match="may only start with"):
        TrustedHostMiddleware(echo_app(), allowed_hosts=["*example.com"])


async def test_https_redirect_http_and_websocket(http: HTTP, connect: Connect) -> None:
    app = echo_app(Middleware(HTTPSRedirectMiddleware))
    with trio.fail_after(10):
        response = await http(app, "GET", "/text?a=b", headers={"host": "site.test:80"})
        with pytest.raises(HandshakeRejected) as refused:
            async with connect(app, "/ws?x=1", headers={"host": "site.test:8080"}):
                pass
    assert response.status_code == 307
    assert response.headers["location"] == "https://site.test/text?a=b"
    assert refused.value.status_code == 307
    assert refused.value.headers["location"] == "wss://site.test:8080/ws?x=1"


def session_app() -> FastrAPI:
    app = FastrAPI()
    app.add_middleware(SessionMiddleware, secret_key="s3cret", max_age=60)

    @app.get("/set/{value}")
    async def set_value(request: Request, value: str) -> dict[str, Any]:
        request.session["value"] = value
        return request.session

    @app.get("/get")
    async def get_value(request: Request) -> dict[str, Any]:
        return dict(request.session)

    @app.get("/clear")
    async def clear(request: Request) -> dict[str, Any]:
        request.session.clear()
        return {}

    @app.websocket("/ws")
    async def ws_session(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(ws.session)

    return app


async def test_sessions_round_trip_and_bad_cookies(http: HTTP, connect: Connect) -> None:
    app = session_app()
    with trio.fail_after(10):
        first = await http(app, "GET", "/set/ann")
        cookie = first.headers["set-cookie"].split(";")[0]
        back = await http(app, "GET", "/get", headers={"cookie": cookie})
        name, _, value = cookie.partition("=")
        forged = await http(app, "GET", "/get", headers={"cookie": f"{name}={value[:-2]}xx"})
        junk = await http(app, "GET", "/get", headers={"cookie": "session=not-a-session"})
        cleared = await http(app, "GET", "/clear", headers={"cookie": cookie})
        none = await http(app, "GET", "/get")
        async with connect(app, "/ws", headers={"cookie": cookie}) as client:
            ws_session = await client.receive_json()
    assert first.json() == {"value": "ann"}
    assert "httponly" in first.headers["set-cookie"]
    assert "Max-Age=60" in first.headers["set-cookie"]
    assert back.json() == {"value": "ann"}
    assert forged.json() == {}
    assert junk.json() == {}
    assert "1970" in cleared.headers["set-cookie"]
    assert "set-cookie" not in none.headers
    assert ws_session == {"value": "ann"}


async def test_another_key_is_an_empty_session(http: HTTP) -> None:
    app, other = session_app(), FastrAPI()
    other.add_middleware(SessionMiddleware, secret_key="another")

    @other.get("/get")
    async def get_value(request: Request) -> dict[str, Any]:
        return dict(request.session)

    with trio.fail_after(10):
        first = await http(app, "GET", "/set/ann")
        cookie = first.headers["set-cookie"].split(";")[0]
        there = await http(other, "GET", "/get", headers={"cookie": cookie})
    assert there.json() == {}


async def test_session_without_the_middleware_is_an_error(http: HTTP) -> None:
    app = FastrAPI()

    @app.get("/")
    async def read(request: Request) -> dict[str, Any]:
        try:
            return request.session
        except RuntimeError as exc:
            return {"error": str(exc)}

    with trio.fail_after(10):
        response = await http(app, "GET", "/")
    assert "SessionMiddleware must be installed" in response.json()["error"]


@pytest.fixture
def mounted() -> FastrAPI:
    sub = FastrAPI()
    sub.add_middleware(Tagging, "sub", [])

    @sub.get("/hello")
    async def hello(request: Request) -> dict[str, str]:
        return {"root_path": request.scope["root_path"], "path": request.scope["path"]}

    @sub.websocket("/ws/{name}")
    async def greet(ws: WebSocket, name: str) -> None:
        await ws.accept()
        await ws.send_text(f"hello {name} under {ws.scope['root_path']}")

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"raw {scope['path']}"})
        await send({"type": "websocket.close", "code": 4000})

    app = FastrAPI()
    app.mount("/sub", sub, name="sub")
    app.mount("/raw", raw)
    return app


async def test_mounted_apps_serve_http_and_websockets(
    mounted: FastrAPI, http: HTTP, connect: Connect
) -> None:
    with trio.fail_after(10):
        response = await http(mounted, "GET", "/sub/hello")
        missing = await http(mounted, "GET", "/sub/nothing")
        async with connect(mounted, "/sub/ws/ann") as client:
            greeting = await client.receive_text()
        async with connect(mounted, "/raw/x") as client:
            raw = await client.receive_text()
            closed = await client.wait_closed()
        with pytest.raises(HandshakeRejected) as refused:
            async with connect(mounted, "/sub/other"):
                pass
    assert response.json() == {"root_path": "/sub", "path": "/hello"}
    assert response.headers["x-tag"] == "sub"
    assert missing.status_code == 404
    assert greeting == "hello ann under /sub"
    assert raw == "raw /x"
    assert closed.code == 4000
    assert refused.value.status_code == 404
    assert mounted.mount_names == {"sub": "/sub"}


class FailingOnWebSockets:
    """A middleware with a bug on WebSockets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            raise LookupError("middleware bug")
        await self.app(scope, receive, send)


async def test_a_failing_middleware_refuses_the_handshake_with_500() -> None:
    app = echo_app(Middleware(FailingOnWebSockets))
    with trio.fail_after(10):
        with pytest.raises(LookupError, match="middleware bug"):
            async with open_websocket(app, "/ws"):
                pass  # pragma: no cover
        with pytest.raises(HandshakeRejected) as refused:
            async with open_websocket(app, "/ws", raise_server_exceptions=False):
                pass  # pragma: no cover
    assert refused.value.status_code == 500


async def test_a_mounted_app_that_never_answers_is_a_500(connect: Connect) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect, and nothing more

    app = FastrAPI()
    app.mount("/silent", silent)
    with trio.fail_after(10), pytest.raises(HandshakeRejected) as refused:
        async with connect(app, "/silent"):
            pass  # pragma: no cover
    assert refused.value.status_code == 500


async def test_middleware_given_to_the_constructor(http: HTTP, connect: Connect) -> None:
    seen: list[str] = []
    app = FastrAPI(middleware=[Middleware(Tagging, "given", seen)])
    app.add_middleware(Tagging, "added", seen)

    @app.get("/")
    async def root() -> dict[str, int]:
        return {"a": 1}

    with trio.fail_after(10):
        response = await http(app, "GET", "/")
    assert response.headers.getlist("x-tag") == ["given", "added"]  # added is outermost
    assert [s for s in seen if s.endswith(":http")] == ["added:http", "given:http"]
    assert repr(app.user_middleware[0]) == "Middleware(Tagging, 'added', [...])".replace(
        "[...]", repr(seen)
    )


class FailingOnHTTP:
    """A middleware with a bug on HTTP requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise LookupError("middleware bug")
        await self.app(scope, receive, send)


async def test_a_failing_middleware_answers_500_and_is_logged(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    app = echo_app(Middleware(FailingOnHTTP))
    with trio.fail_after(10):
        response = await http(app, "GET", "/text")
    assert (response.status_code, response.body) == (500, b"Internal Server Error")
    assert "middleware bug" in caplog.text


async def test_the_asgi_entry_raises_a_middleware_error_after_its_500() -> None:
    app = echo_app(Middleware(FailingOnHTTP))
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/text", "headers": []}
    with trio.fail_after(10), pytest.raises(LookupError, match="middleware bug"):
        await app(scope, nothing, record)
    assert sent[0]["status"] == 500


class ClosingEarly:
    """A middleware that refuses WebSockets by closing before accept (twice, to be sure)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        await send({"type": "websocket.close", "code": 1008})


async def test_a_close_before_accept_refuses_with_403(connect: Connect) -> None:
    app = echo_app(Middleware(ClosingEarly))
    with trio.fail_after(10), pytest.raises(HandshakeRejected) as refused:
        async with connect(app, "/ws"):
            pass  # pragma: no cover
    assert refused.value.status_code == 403


async def test_binary_messages_through_a_wrapping_middleware(connect: Connect) -> None:
    app = FastrAPI()
    app.add_middleware(WrappingWebSocket)

    @app.websocket("/bytes")
    async def echo_bytes(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_bytes(await ws.receive_bytes())
        await ws.close(4002, "done")

    with trio.fail_after(10):
        async with connect(app, "/bytes") as client:
            await client.send_bytes(b"\x00\xff")
            assert await client.receive_bytes() == b"\x00\xff"
            closed = await client.wait_closed()
    assert (closed.code, closed.reason) == (4002, "done")


async def test_a_refusal_where_the_server_has_no_http_responses() -> None:
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def connect_message() -> Message:
        return {"type": "websocket.connect"}

    scope: dict[str, Any] = {"type": "websocket", "path": "/", "headers": [(b"host", b"evil")]}
    middleware = TrustedHostMiddleware(echo_app(), allowed_hosts=["good.example"])
    await middleware(scope, connect_message, record)
    assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_a_mount_at_the_root_serves_what_no_route_matches(
    http: HTTP, connect: Connect, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<p>spa</p>")
    (tmp_path / "app.js").write_text("let x;")
    app = echo_app()

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"fallback {scope['path']}"})
        await send({"type": "websocket.close", "code": 1000})

    sub = FastrAPI()
    sub.mount("/", fallback)
    app.mount("/ws-sub", sub)
    app.mount("/", StaticFiles(directory=tmp_path, html=True), name="spa")
    with trio.fail_after(10):
        index = await http(app, "GET", "/")
        script = await http(app, "GET", "/app.js")
        routed = await http(app, "GET", "/text")
        async with connect(app, "/ws") as client:
            await client.send_text("routed")
            assert await client.receive_text() == "routed"
        async with connect(app, "/ws-sub/other") as client:
            assert await client.receive_text() == "fallback /other"
    assert index.body == b"<p>spa</p>"
    assert script.body == b"let x;"
    assert routed.body == b"x" * 2000
    assert app.url_path_for("spa", path="/app.js") == "/app.js"
    with pytest.raises(RouteDefinitionError, match="at / already"):
        app.mount("/", StaticFiles(directory=tmp_path))
    with pytest.raises(RouteDefinitionError, match="must start with /"):
        app.mount("static", StaticFiles(directory=tmp_path))


class ReceivingEarly:
    """A middleware that reads a WebSocket message before the app accepted (a bug)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await receive()  # nothing can come before accept


async def test_a_receive_before_accept_is_an_error_and_a_500() -> None:
    app = echo_app(Middleware(ReceivingEarly))
    with trio.fail_after(10):
        with pytest.raises(RuntimeError, match="before the WebSocket was accepted"):
            async with open_websocket(app, "/ws"):
                pass  # pragma: no cover
        with pytest.raises(HandshakeRejected) as refused:
            async with open_websocket(app, "/ws", raise_server_exceptions=False):
                pass  # pragma: no cover
    assert refused.value.status_code == 500
