"""fastrapi.testclient.TestClient: FastAPI's synchronous client over the real server code."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi import FastrAPI, HTTPException, Request, Response, WebSocket, WebSocketDisconnect
from fastrapi.exceptions import NoMatchFound
from fastrapi.staticfiles import StaticFiles
from fastrapi.templating import Jinja2Templates
from fastrapi.testclient import TestClient, WebSocketDenialResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastrapi._types import Receive, Scope, Send


def make_app(events: list[str] | None = None) -> FastrAPI:
    log = events if events is not None else []

    @asynccontextmanager
    async def lifespan(app: FastrAPI) -> AsyncIterator[None]:
        log.append("startup")
        yield
        log.append("shutdown")

    app = FastrAPI(lifespan=lifespan)
    room: list[WebSocket] = []

    @app.get("/items/{item_id}")
    async def item(item_id: int, q: str | None = None) -> dict[str, object]:
        return {"item_id": item_id, "q": q}

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), headers={"x-method": request.method})

    @app.get("/cookie")
    async def cookie(request: Request) -> Response:
        seen = request.cookies.get("n", "0")
        response = Response(seen)
        response.headers["set-cookie"] = f"n={int(seen) + 1}; Path=/"
        return response

    @app.get("/where")
    async def where(request: Request) -> dict[str, object]:
        return {
            "root_path": request.scope["root_path"],
            "scheme": request.scope["scheme"],
            "host": request.headers["host"],
            "agent": request.headers["user-agent"],
            "client": request.scope["client"][0],
        }

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("boom")

    @app.get("/sleep")
    async def sleep() -> None:
        await trio.sleep(30)

    @app.websocket("/chat/{name}")
    async def chat(ws: WebSocket, name: str) -> None:
        await ws.accept(
            subprotocol=ws.scope["subprotocols"][0] if ws.scope["subprotocols"] else None
        )
        room.append(ws)
        try:
            async for text in ws.iter_text():
                for other in room:
                    await other.send_text(f"{name}: {text}")
        finally:
            room.remove(ws)

    @app.websocket("/strict")
    async def strict(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()  # lets the client's close out as WebSocketDisconnect

    @app.websocket("/silent")
    async def silent(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep_forever()

    @app.websocket("/refuse")
    async def refuse(ws: WebSocket) -> None:
        raise HTTPException(401, "who are you?", headers={"www-authenticate": "Bearer"})

    @app.websocket("/fail")
    async def fail(ws: WebSocket) -> None:
        await ws.accept()
        raise RuntimeError("handler bug")

    @app.websocket("/kinds")
    async def kinds(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_bytes(await ws.receive_bytes())
        await ws.send_json(await ws.receive_json())
        await ws.close(4001, "bye")

    return app


def test_requests_give_httpx_responses() -> None:
    client = TestClient(make_app())
    response = client.get("/items/3", params={"q": "x"})
    assert response.status_code == 200
    assert response.json() == {"item_id": 3, "q": "x"}
    assert client.get("/items/nope").status_code == 422
    posted = client.post("/echo", content=b"payload")
    assert (posted.content, posted.headers["x-method"]) == (b"payload", "POST")
    assert client.put("/echo").status_code == 405
    assert client.head("/items/1").content == b""
    assert client.request("POST", "/echo", json={"a": 1}).json() == {"a": 1}


def test_cookies_persist_and_headers_go_with_every_request() -> None:
    client = TestClient(make_app(), cookies={"n": "5"}, headers={"x-extra": "1"})
    assert client.get("/cookie").text == "5"
    assert client.get("/cookie").text == "6"
    where = client.get("/where").json()
    assert where == {
        "root_path": "",
        "scheme": "http",
        "host": "testserver",
        "agent": "testclient",
        "client": "testclient",
    }


def test_base_url_and_root_path() -> None:
    client = TestClient(make_app(), base_url="https://api.example:8443", root_path="/v1")
    where = client.get("/where").json()
    assert (where["root_path"], where["scheme"], where["host"]) == (
        "/v1",
        "https",
        "api.example:8443",
    )


def test_server_exceptions_are_raised_or_answered() -> None:
    with pytest.raises(ValueError, match="boom"):
        TestClient(make_app()).get("/boom")
    response = TestClient(make_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500


def test_a_request_that_takes_too_long_is_a_timeout_error() -> None:
    client = TestClient(make_app(), timeout=0.2)
    with pytest.raises(TimeoutError, match="no whole response"):
        client.get("/sleep")
    assert client.get("/items/1").status_code == 200  # the client carries on


def test_lifespan_runs_only_with_with() -> None:
    events: list[str] = []
    client = TestClient(make_app(events))
    client.get("/items/1")
    assert events == []
    with TestClient(make_app(events)) as client:
        assert events == ["startup"]
        assert client.get("/items/1").status_code == 200
    assert events == ["startup", "shutdown"]


def test_a_failing_startup_is_raised_by_with() -> None:
    def connect() -> None:
        raise RuntimeError("no database")

    @asynccontextmanager
    async def broken(app: FastrAPI) -> AsyncIterator[None]:
        connect()
        yield

    client = TestClient(FastrAPI(lifespan=broken))
    with pytest.raises(RuntimeError, match="no database"), client:
        pass
    assert client._runner._thread is None  # its thread has stopped


def test_websocket_sessions_share_one_app_run() -> None:
    client = TestClient(make_app())
    with (
        client.websocket_connect("/chat/ann", subprotocols=["chat.v1"]) as ann,
        client.websocket_connect("/chat/bob") as bob,
    ):
        assert ann.accepted_subprotocol == "chat.v1"
        ann.send_text("hi")
        assert ann.receive_text() == "ann: hi"
        assert bob.receive_text() == "ann: hi"  # broadcast from the other session
        bob.close()
        ann.send_text("alone")
        assert ann.receive_text() == "ann: alone"


def test_websocket_message_kinds_and_the_app_close() -> None:
    client = TestClient(make_app())
    with client.websocket_connect("/kinds") as ws:
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_bytes() == b"\x00\x01"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        with pytest.raises(WebSocketDisconnect) as again:
            ws.send_text("too late")
    assert (closed.value.code, closed.value.reason) == (4001, "bye")
    assert again.value.code == 4001


def test_a_disconnect_the_handler_lets_out_is_raised_at_the_end() -> None:
    client = TestClient(make_app())
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/strict"):
        pass
    quiet = TestClient(make_app(), raise_server_exceptions=False)
    with quiet.websocket_connect("/strict"):
        pass


def test_a_handler_error_is_raised_at_the_end() -> None:
    client = TestClient(make_app())
    session = client.websocket_connect("/fail")
    ws = session.__enter__()
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1011
    with pytest.raises(RuntimeError, match="handler bug"):
        session.__exit__()


def test_a_refused_handshake_is_a_denial_response() -> None:
    client = TestClient(make_app())
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/refuse"):
        pytest.fail("the handshake was refused")
    assert refused.value.status_code == 401
    assert refused.value.headers["www-authenticate"] == "Bearer"
    assert refused.value.json() == {"detail": "who are you?"}
    assert isinstance(refused.value, WebSocketDisconnect)
    with pytest.raises(WebSocketDenialResponse) as missing, client.websocket_connect("/none"):
        pytest.fail("there is no such route")
    assert missing.value.status_code == 404


def test_every_websocket_receive_is_bounded() -> None:
    client = TestClient(make_app(), websocket_timeout=0.2)
    with client.websocket_connect("/silent") as ws, pytest.raises(TimeoutError, match="within"):
        ws.receive_text()


def test_a_session_outside_its_block_and_bad_keywords() -> None:
    client = TestClient(make_app())
    session = client.websocket_connect("/kinds")
    with pytest.raises(RuntimeError, match="inside"):
        session.send_text("x")
    with pytest.raises(TypeError, match="unexpected"):
        client.websocket_connect("/kinds", nonsense=1)


def test_close_stops_the_thread_and_a_later_call_starts_again() -> None:
    events: list[str] = []
    client = TestClient(make_app(events))
    client.get("/items/1")
    with client:
        assert events == ["startup"]
    before = set(threading.enumerate())
    client.get("/items/2")  # a new run starts, without the lifespan
    with client.websocket_connect("/chat/ann") as ws:
        ws.send_text("x")
        assert ws.receive_text() == "ann: x"
    with client:  # and again, with it
        assert client.get("/items/3").json() == {"item_id": 3, "q": None}
    assert events == ["startup", "shutdown", "startup", "shutdown"]
    client.get("/items/4")
    client.close()
    after = set(threading.enumerate())
    assert not after - before  # no thread of the client's is left
    with pytest.raises(RuntimeError, match="closed"):
        client.get("/items/5")


def test_templates_render_with_url_for(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>{{ name }} {{ request.method }}</p>")
    (tmp_path / "links.html").write_text(
        "{{ url_for('page', name='bob') }} {{ url_for('static', path='/a.css') }} "
        "{{ url_for('admin:status') }}"
    )
    templates = Jinja2Templates(directory=tmp_path)
    app = FastrAPI()
    admin = FastrAPI()

    @admin.get("/status")
    async def status() -> dict[str, str]:
        return {}

    app.mount("/static", StaticFiles(directory=tmp_path), name="static")
    app.mount("/admin", admin, name="admin")

    @app.get("/links")
    async def links(request: Request) -> Response:
        return templates.TemplateResponse(request, "links.html")

    @app.get("/page/{name}")
    async def page(request: Request, name: str) -> Response:
        return templates.TemplateResponse(request, "page.html", {"name": name})

    @app.get("/old")
    async def old(request: Request) -> Response:
        return templates.TemplateResponse("page.html", {"request": request, "name": "<b>"})

    client = TestClient(app)
    response = client.get("/page/ann")
    assert response.text == "<p>ann GET</p>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert client.get("/old").text == "<p>&lt;b&gt; GET</p>"  # autoescaped
    assert client.get("/links").text == (
        "http://testserver/page/bob http://testserver/static/a.css http://testserver/admin/status"
    )
    with pytest.raises(NoMatchFound):
        app.url_path_for("static", file="x")
    with pytest.raises(ValueError, match="directory or an env"):
        Jinja2Templates()
    with pytest.raises(ValueError, match="request"):
        templates.TemplateResponse("page.html", {})


def test_asgi_style_send_and_receive_and_type_checks() -> None:
    client = TestClient(make_app())
    with client.websocket_connect("/kinds") as ws:
        ws.send({"type": "websocket.receive", "bytes": b"raw"})
        assert ws.receive() == {"type": "websocket.send", "bytes": b"raw"}
        ws.send_json({"n": 1}, mode="binary")
        assert ws.receive_json(mode="binary") == {"n": 1}
        assert ws.receive() == {"type": "websocket.close", "code": 4001, "reason": "bye"}
    with client.websocket_connect("/chat/ann") as ws:
        ws.send({"type": "websocket.receive", "text": "hi"})
        assert ws.receive() == {"type": "websocket.send", "text": "ann: hi"}
        ws.send_text("again")
        with pytest.raises(TypeError, match="expected a binary message"):
            ws.receive_bytes()
        ws.send({"type": "websocket.disconnect", "code": 1000})
    quiet = TestClient(make_app(), raise_server_exceptions=False)
    with quiet.websocket_connect("/kinds") as ws:
        ws.send_bytes(b"\x01")
        with pytest.raises(TypeError, match="expected a text message"):
            ws.receive_text()


def test_a_streamed_request_body_goes_whole_and_denials_read_as_text() -> None:
    client = TestClient(make_app())
    posted = client.post("/echo", content=iter([b"a", b"b"]))
    assert posted.content == b"ab"
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/refuse"):
        pytest.fail("the handshake was refused")
    assert refused.value.text == '{"detail":"who are you?"}'


def test_root_path_reaches_websockets_too() -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def where(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(ws.scope["root_path"])

    with TestClient(app, root_path="/v1").websocket_connect("/ws") as ws:
        assert ws.receive_text() == "/v1"


def test_a_failing_shutdown_is_raised_at_the_end_of_with() -> None:
    def disconnect() -> None:
        raise RuntimeError("could not close the database")

    @asynccontextmanager
    async def lifespan(app: FastrAPI) -> AsyncIterator[None]:
        yield
        disconnect()

    with (
        pytest.raises(RuntimeError, match="could not close"),
        TestClient(FastrAPI(lifespan=lifespan)),
    ):
        pass


def test_a_handshake_nobody_answers_is_a_timeout_error() -> None:
    app = FastrAPI()

    async def never(scope: Scope, receive: Receive, send: Send) -> None:
        await trio.sleep_forever()

    app.mount("/never", never)
    client = TestClient(app, websocket_timeout=0.2)
    with pytest.raises(TimeoutError, match="did not answer"), client.websocket_connect("/never/x"):
        pytest.fail("nobody answered")
