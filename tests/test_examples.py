"""Every example runs, in memory: the FastrAPI docs' snippets and their Trio forms."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from fastrapi import FastrAPI
from fastrapi.testing import HandshakeRejected, http_request, open_live_server, open_websocket

if TYPE_CHECKING:
    from types import ModuleType

EXAMPLES = Path(__file__).parent.parent / "examples"
ICON = '<link rel="icon" href="data:,">'  # an empty inline icon


def load(name: str) -> ModuleType:
    """Import ``examples/NAME.py`` afresh (module state such as rooms starts empty), as
    ``python examples/NAME.py`` would: with the examples folder importable."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    for example in EXAMPLES.glob("*.py"):  # what an example imports of another is fresh too
        sys.modules.pop(example.stem, None)
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: pydantic resolves annotations there
    spec.loader.exec_module(module)
    return module


def app_of(name: str) -> FastrAPI:
    app = load(name).app
    assert isinstance(app, FastrAPI)
    return app


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_every_example_exposes_an_app(path: Path) -> None:
    assert isinstance(load(path.stem).app, FastrAPI)
    assert 'if __name__ == "__main__":' in path.read_text()


async def test_echo() -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("echo"), "/ws") as client:
            for text in ("hello", "again"):
                await client.send_text(text)
                assert await client.receive_json() == {"reply": "Message received", "echo": text}
            await client.close(1001)  # a client that leaves: the handler ends normally
            assert await client.wait_closed() == (1001, "")


async def test_echo_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("echo_seed"), "/ws") as client:
            await client.send_text("hello")
            assert await client.receive_json() == {"reply": "Message received", "echo": "hello"}
    out = capsys.readouterr().out
    assert "Client said: hello" in out
    assert "Connection closed: WebSocket closed with code 1000" in out


async def test_demo_serves_the_page_and_the_echo() -> None:
    app = app_of("demo")
    with trio.fail_after(5):
        index = await http_request(app, "GET", "/")
        page = await http_request(app, "GET", index.headers["location"])
        async with open_websocket(app, "/ws") as client:
            await client.send_text("hi")
            assert await client.receive_json() == {"reply": "Message received", "echo": "hi"}
    assert (index.status_code, index.headers["location"]) == (307, "/static/index.html")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "new WebSocket(`ws://${location.host}/ws`)" in page.text
    assert "WebSocket Test Client" in page.text
    assert ICON in page.text  # the browser asks for no /favicon.ico (a 404 in its console)


@pytest.mark.parametrize("page", sorted(p.name for p in (EXAMPLES / "static").glob("*.html")))
def test_every_example_page_has_its_own_icon(page: str) -> None:
    assert ICON in (EXAMPLES / "static" / page).read_text()


async def test_receive(capsys: pytest.CaptureFixture[str]) -> None:
    app = app_of("receive")
    with trio.fail_after(5):
        for path, message in (("/ws", "text"), ("/bytes", b"\x01\x02"), ("/json", '{"a": 1}')):
            async with open_websocket(app, path) as client:
                await client.send(message)
                await client.wait_closed()
    assert capsys.readouterr().out.splitlines() == [
        "Received: text",
        "Received 2 bytes",
        "Received: {'a': 1}",
    ]


async def test_send() -> None:
    app = app_of("send")
    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_text() == "Hello, client!"
        async with open_websocket(app, "/bytes") as client:
            assert await client.receive_bytes() == b"\x00\x01\x02"
        async with open_websocket(app, "/json") as client:
            assert await client.receive_json() == {"greeting": "Hello, client!"}


async def test_close() -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("close"), "/ws") as client:
            assert await client.receive_text() == "Hello, and goodbye"
            assert await client.wait_closed() == (1000, "")


@pytest.mark.parametrize("example", ["broadcast", "broadcast_seed"])
async def test_broadcast_reaches_every_client(example: str) -> None:
    app = app_of(example)
    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as first, open_websocket(app, "/ws") as second:
            await trio.testing.wait_all_tasks_blocked()
            await first.send_text("hello all")
            expected = {"message": "hello all", "total_clients": 2}
            assert await first.receive_json() == expected
            assert await second.receive_json() == expected


@pytest.mark.parametrize(("example", "ann"), [("chat_room", "ann"), ("chat_room_seed", None)])
async def test_chat_room(example: str, ann: str | None) -> None:
    app = app_of(example)
    name = ann or "Anonymous"
    query = f"?username={ann}" if ann else ""
    with trio.fail_after(5):
        async with open_websocket(app, f"/chat/lobby{query}") as first:
            async with open_websocket(app, "/chat/lobby") as second:
                assert await first.receive_json() == {
                    "type": "user_joined",
                    "username": "Anonymous",
                    "room": "lobby",
                }
                async with open_websocket(app, "/chat/elsewhere") as other:
                    await first.send_text("hi")
                    said = {"type": "message", "username": name, "message": "hi"}
                    assert await first.receive_json() == said
                    assert await second.receive_json() == said
                    await other.send_text("other room")
                    assert (await other.receive_json())["message"] == "other room"
            assert await first.receive_json() == {"type": "user_left", "username": "Anonymous"}


@pytest.mark.parametrize(
    "backend", ["memory", pytest.param("redis", marks=pytest.mark.integration)]
)
async def test_chat_hub_rooms_presence_and_recovery(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "redis":
        monkeypatch.setenv("FASTRAPI_HUB_URL", request.getfixturevalue("redis_server").url)
    app = app_of("chat_hub")
    with trio.fail_after(10):
        async with app.running():
            to_page = await http_request(app, "GET", "/?room=lobby")
            page = await http_request(app, "GET", "/static/chat.html")
            async with open_websocket(app, "/chat/lobby?username=ann") as ann:
                assert await ann.receive_json() == {
                    "type": "members",
                    "members": [{"username": "ann"}],
                }
                async with open_websocket(app, "/chat/lobby?username=bob") as bob:
                    members = await bob.receive_json()
                    joined = await ann.receive_json()
                    async with open_websocket(app, "/chat/elsewhere?username=cat") as cat:
                        await cat.receive_json()  # its members
                        await ann.send_text("hi")
                        said = await ann.receive_json()
                        assert await bob.receive_json() == said
                        await cat.send_text("anyone?")  # the first thing cat gets: its own
                        assert (await cat.receive_json())["data"]["message"] == "anyone?"
                seen = said  # bob's last message; then he is away
                left = await ann.receive_json()
                await ann.send_text("while you were out")
                missed = await ann.receive_json()
                back = f"/chat/lobby?username=bob&epoch={seen['epoch']}&offset={seen['offset']}"
                async with open_websocket(app, back) as bob:
                    assert await bob.receive_json() == left
                    assert await bob.receive_json() == missed
                    assert (await bob.receive_json())["type"] == "members"
                async with open_websocket(
                    app, "/chat/lobby?username=bob&epoch=old&offset=1"
                ) as bob:
                    assert await bob.receive_json() == {"type": "reload"}
    assert (to_page.status_code, to_page.headers["location"]) == (
        307,
        "/static/chat.html?room=lobby",
    )
    assert page.status_code == 200
    assert "Chat on the Hub" in page.text
    assert members == {"type": "members", "members": [{"username": "ann"}, {"username": "bob"}]}
    assert joined["data"] == {
        "type": "user_joined",
        "topic": "lobby",
        "presence": {"username": "bob"},
    }
    assert said["data"] == {"type": "message", "username": "ann", "message": "hi"}
    assert said["topic"] == "lobby"
    assert left["data"]["type"] == "user_left"
    assert missed["data"]["message"] == "while you were out"


async def test_chat_hub_realtime_is_what_its_page_speaks() -> None:
    """The page's side of ``chat_hub``: ``/realtime``, with the browser client at
    ``/_fastrapi/hub.js``; ``say`` names the speaker, presence lists the room, pages cannot
    publish themselves, and bad ``say`` calls get error replies."""
    app = app_of("chat_hub")
    hub_v1 = ["fastrapi.hub.v1"]
    with trio.fail_after(10):
        async with app.running():
            script = await http_request(app, "GET", "/_fastrapi/hub.js")
            page = await http_request(app, "GET", "/static/chat.html")
            async with (
                open_websocket(app, "/realtime?username=ann", subprotocols=hub_v1) as ann,
                open_websocket(app, "/realtime?username=bob", subprotocols=hub_v1) as bob,
            ):
                for ws in (ann, bob):
                    assert (await ws.receive_json())["type"] == "hello"
                await ann.send_json({"type": "subscribe", "id": 1, "topic": "lobby"})
                assert (await ann.receive_json())["type"] == "subscribed"
                await bob.send_json({"type": "subscribe", "id": 1, "topic": "lobby"})
                assert (await bob.receive_json())["type"] == "subscribed"
                joined = await ann.receive_json()
                await bob.send_json({"type": "presence", "id": 2, "topic": "lobby"})
                members = (await bob.receive_json())["result"]["members"]
                say = {"type": "rpc", "id": 3, "method": "say"}
                await bob.send_json(say | {"params": {"room": "lobby", "text": "hi"}})
                said = await ann.receive_json()
                await bob.send_json(say | {"params": {"room": "garden", "text": "hi"}})
                await bob.send_json(say | {"params": {"room": "lobby"}})
                await bob.send_json({"type": "publish", "id": 4, "topic": "lobby", "data": 1})
                answers = [await bob.receive_json() for _ in range(5)]
    assert (script.status_code, page.status_code) == (200, 200)
    assert 'import { HubClient } from "/_fastrapi/hub.js";' in page.text
    assert joined == {"type": "join", "topic": "lobby", "member": {"username": "bob"}} | {
        "epoch": joined["epoch"],
        "offset": 2,  # ann's join is the lobby's first message, bob's the second
    }
    assert members == [{"username": "ann"}, {"username": "bob"}]
    message = {"type": "message", "username": "bob", "message": "hi"}
    assert (said["type"], said["data"]) == ("publication", message)
    assert answers[0]["data"] == message
    assert answers[1] == {"type": "reply", "id": 3, "result": None}
    assert [(a["type"], a["code"]) for a in answers[2:]] == [
        ("error", 403),
        ("error", 400),
        ("error", 403),
    ]
    assert answers[2]["message"] == "say: not in room 'garden'"
    assert answers[3]["message"].startswith("say takes a room and a text: Field required")


async def test_chat_room_serves_its_page() -> None:
    app = app_of("chat_room")
    with trio.fail_after(5):
        index = await http_request(app, "GET", "/")
        page = await http_request(app, "GET", index.headers["location"])
    assert (index.status_code, page.status_code) == (307, 200)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "new WebSocket(`ws://${location.host}/chat/${room}?username=${user}`)" in page.text


async def test_connection_state_loop_reads_everything() -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("connection_state"), "/ws") as client:
            await client.send_text("one")
            await client.send_text("two")
            assert await client.receive_text() == "Echo: one"
            assert await client.receive_text() == "Echo: two"


async def json_and_private_routes(app: FastrAPI) -> None:
    """``/json`` answers bad JSON and echoes good JSON; ``/private`` closes with 4003 without
    the token and welcomes with it (examples/errors.py and error_handling.py alike)."""
    with trio.fail_after(5):
        async with open_websocket(app, "/json") as client:
            await client.send_text("{broken")
            error = await client.receive_json()
            assert error["error"].startswith("receive_json() got invalid JSON")
            await client.send_text('{"ok": true}')
            assert await client.receive_json() == {"echo": {"ok": True}}
        async with open_websocket(app, "/private?token=nope") as client:
            assert await client.wait_closed() == (4003, "forbidden")
        async with open_websocket(app, "/private?token=secret") as client:
            assert await client.receive_text() == "welcome"


async def test_error_handling(capsys: pytest.CaptureFixture[str]) -> None:
    app = app_of("error_handling")
    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as client:
            await client.send_text("x")
            assert await client.receive_json() == {"echo": "x"}
    await json_and_private_routes(app)
    assert capsys.readouterr().out.splitlines() == ["Client disconnected", "Connection closed"]


async def test_errors(caplog: pytest.LogCaptureFixture) -> None:
    await json_and_private_routes(app_of("errors"))
    assert "Traceback" not in caplog.text  # a client that leaves is no error


async def test_best_practices() -> None:
    app = app_of("best_practices")
    with trio.fail_after(5):
        async with open_websocket(app, "/echo") as client:
            await client.send_text("same")
            assert await client.receive_text() == "same"
        async with (
            open_websocket(app, "/rooms/room1") as a,
            open_websocket(app, "/rooms/room1") as b,
        ):
            await trio.testing.wait_all_tasks_blocked()
            await a.send_text("hey")
            assert await a.receive_text() == "room1: hey"
            assert await b.receive_text() == "room1: hey"
        async with open_websocket(app, "/rooms/room9") as client:
            assert await client.wait_closed() == (4004, "no room room9")


async def test_heartbeat_pings_every_interval(autojump_clock: trio.testing.MockClock) -> None:
    module = load("heartbeat")
    with trio.fail_after(1000):
        async with open_websocket(module.app, "/ws") as client:
            await client.send_text("hi")
            assert await client.receive_json() == {"type": "echo", "data": "hi"}
            for n in (1, 2, 3):
                assert await client.receive_json() == {"type": "ping"}
                assert trio.current_time() == n * module.HEARTBEAT_SECONDS


async def test_lifetime_forms(autojump_clock: trio.testing.MockClock) -> None:
    module = load("lifetime")
    with trio.fail_after(10_000):
        async with open_websocket(module.app, "/ws") as client:
            await client.send_text("echo")
            assert await client.receive_text() == "echo"
            assert await client.wait_closed() == (1000, "")
            assert trio.current_time() == module.LIFETIME_SECONDS
        async with open_websocket(module.app, "/limited") as client:
            closed = await client.wait_closed()
            assert closed == (1001, "maximum connection lifetime reached")
            assert trio.current_time() == 2 * module.LIFETIME_SECONDS


async def test_nursery_ticker(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(100):
        async with open_websocket(app_of("nursery_ticker"), "/ws") as client:
            assert (await client.receive_json())["type"] == "tick"
            await client.send_text("hello")
            assert await client.receive_json() == {"type": "echo", "text": "hello"}
            assert (await client.receive_json())["type"] == "tick"


async def test_autobahn_echo() -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("autobahn_echo"), "/ws") as client:
            for message in ("text", b"binary"):
                await client.send(message)
                assert await client.receive() == message
        with pytest.raises(HandshakeRejected):
            async with open_websocket(app_of("autobahn_echo"), "/other"):
                pytest.fail("only /ws exists")  # pragma: no cover


async def test_liveness(autojump_clock: trio.testing.MockClock) -> None:
    module = load("liveness")
    with trio.fail_after(1000):
        async with open_websocket(module.app, "/ws") as client:
            await client.send_text("hi")  # the client answers the ping as it waits
            assert await client.receive_json() == {"echo": "hi", "rtt_ms": 0.0}
            start = trio.current_time()
            # pinged every 10 s and answering, but silent: closed when idle, not before
            assert await client.wait_closed() == (1001, "idle timeout")
            assert trio.current_time() - start == module.IDLE_TIMEOUT


async def test_dependencies() -> None:
    app = app_of("dependencies")
    with trio.fail_after(5):
        listed = await http_request(app, "GET", "/items?limit=1")
        too_many = await http_request(app, "GET", "/items?limit=1000")
        json = {"content-type": "application/json"}
        added = await http_request(
            app, "POST", "/items", body=b'{"name": "nib", "price": 2}', headers=json
        )
        bad = await http_request(
            app, "POST", "/items", body=b'{"name": "", "price": 0}', headers=json
        )
        report = await http_request(app, "GET", "/report", headers={"user-agent": "t"})
        async with open_websocket(app, "/items/feed?limit=2") as client:
            feed = [await client.receive_json(), await client.receive_json()]
    assert listed.json() == [{"name": "pen", "price": 1.5}]
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["query", "limit"]
    assert added.json() == {"count": 3}
    assert [e["loc"] for e in bad.json()["detail"]] == [["body", "name"], ["body", "price"]]
    assert report.text == "3 items worth 7.50, asked by t"
    assert feed == [{"name": "pen", "price": 1.5}, {"name": "ink", "price": 4.0}]


async def test_handshake_auth() -> None:
    app = app_of("handshake_auth")
    with trio.fail_after(5):
        async with open_websocket(app, "/query?token=secret-bob") as client:
            assert await client.receive_json() == {"hello": "bob"}
        with pytest.raises(HandshakeRejected) as caught:
            async with open_websocket(app, "/cookie"):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == 401


async def test_typed_messages() -> None:
    with trio.fail_after(5):
        async with open_websocket(app_of("typed_messages"), "/chat") as client:
            await client.send_json({"room": "lobby", "text": "hi"})
            assert await client.receive_json() == {"room": "lobby", "echo": "hi"}
            await client.send_json({"room": "", "text": "hi"})
            error = await client.receive_json()
            await client.send_json({"room": "a", "text": "again"})
            assert await client.receive_json() == {"room": "a", "echo": "again"}
    assert error["error"] == "invalid message"
    assert error["detail"][0]["loc"] == ["room"]


async def test_secure_chat_guards_http_and_websocket_with_one_scheme() -> None:
    app = app_of("secure_chat")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    async def token_of(body: bytes) -> str:
        response = await http_request(app, "POST", "/token", headers=form, body=body)
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "bearer"
        token: str = response.json()["access_token"]
        return token

    with trio.fail_after(10):
        async with app.running():
            wrong = await http_request(
                app, "POST", "/token", headers=form, body=b"username=ann&password=nope"
            )
            ann_token = await token_of(
                b"username=ann&password=ann-secret&scope=chat:read+chat:write"
            )
            bob_token = await token_of(
                b"username=bob&password=bob-secret&scope=chat:read+chat:write"
            )
            listener = await token_of(b"username=ann&password=ann-secret")  # asked for no scope
            ann = {"Authorization": f"Bearer {ann_token}"}
            me = await http_request(app, "GET", "/me", headers=ann)
            nobody = await http_request(app, "GET", "/me")
            unscoped = await http_request(
                app, "GET", "/me", headers={"Authorization": f"Bearer {listener}"}
            )
            async with (
                open_websocket(app, "/chat/lobby", headers=ann) as writer,
                open_websocket(app, "/chat/lobby", subprotocols=["bearer", bob_token]) as reader,
            ):
                await reader.send_text("may I?")
                assert await reader.receive_json() == {"error": "you may only listen here"}
                await writer.send_text("hello")
                assert await reader.receive_json() == {"user": "ann", "text": "hello"}
                assert await writer.receive_json() == {"user": "ann", "text": "hello"}
            with pytest.raises(HandshakeRejected) as refused:
                async with open_websocket(
                    app, "/chat/lobby", headers={"Authorization": "Bearer x"}
                ):
                    pytest.fail("the handshake must be refused")  # pragma: no cover
    assert (wrong.status_code, wrong.json()) == (400, {"detail": "Incorrect username or password"})
    assert (me.status_code, me.json()) == (
        200,
        {"name": "ann", "scopes": ["chat:read", "chat:write"]},
    )
    assert (nobody.status_code, nobody.headers["www-authenticate"]) == (401, "Bearer")
    assert unscoped.status_code == 403
    assert unscoped.headers["www-authenticate"] == 'Bearer scope="chat:read"'
    assert reader.subprotocol == "bearer"
    assert refused.value.status_code == 401
    assert refused.value.headers["www-authenticate"] == 'Bearer scope="chat:read"'


async def test_sse_feed_resumes_where_the_client_left() -> None:
    from tests.memory.test_sse import open_events

    app = app_of("sse_feed")
    body = b'{"title":"first"}'
    json = {"content-type": "application/json"}
    with trio.fail_after(10):
        async with app.running():
            first = await http_request(app, "POST", "/publish/news", headers=json, body=body)
            second = await http_request(
                app, "POST", "/publish/news", headers=json, body=b'{"title":"second"}'
            )
            seen = {"last-event-id": first.json()["id"]}
            async with open_events(app, "native", "/feed/news", seen) as events:
                missed = await events.next()
    assert missed == f'data: {{"title":"second"}}\nid: {second.json()["id"]}'


async def test_responses_example() -> None:
    module = load("responses")
    app = module.app
    with trio.fail_after(10):
        login = await http_request(app, "GET", "/login")
        logout = await http_request(app, "GET", "/logout")
        part = await http_request(app, "GET", "/report", headers={"range": "bytes=0-9"})
        whole = await http_request(app, "GET", "/report")
        cached = await http_request(
            app, "GET", "/report", headers={"if-none-match": whole.headers["etag"]}
        )
    cookies = login.headers.getlist("set-cookie")
    assert [c.split(";")[0] for c in cookies] == ["session=abc123", "theme=dark"]
    assert (logout.status_code, logout.headers["location"]) == (303, "/")
    assert logout.headers["set-cookie"].startswith("session=")
    assert (part.status_code, part.body) == (206, b"day,visits")
    assert whole.headers["content-disposition"] == 'attachment; filename="visits.csv"'
    assert whole.body == b"day,visits\nmon,10\ntue,12\n"
    assert cached.status_code == 304
    assert module.audit == ["report downloaded"] * 3  # after each response, the 304 too


async def test_upload_form() -> None:
    app = app_of("upload_form")
    boundary = "b0undary"
    parts = [("title", None, b"holiday"), ("files", "a.txt", b"abc"), ("files", "b.txt", b"")]
    body = b""
    for name, filename, content in parts:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        body += f'; filename="{filename}"'.encode() if filename else b""
        body += b"\r\n\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    multipart = {"content-type": f"multipart/form-data; boundary={boundary}"}
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    with trio.fail_after(5):
        page = await http_request(app, "GET", "/")
        uploaded = await http_request(app, "POST", "/upload", body=body, headers=multipart)
        login = await http_request(
            app, "POST", "/login", body=b"username=a&password=b", headers=urlencoded
        )
        extra = await http_request(
            app, "POST", "/login", body=b"username=a&password=b&admin=1", headers=urlencoded
        )
        no_file = await http_request(app, "POST", "/checksum", body=b"", headers=multipart)
    assert 'enctype="multipart/form-data"' in page.text
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert uploaded.json() == {
        "title": "holiday",
        "files": [
            {
                "name": "a.txt",
                "size": 3,
                "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            },
            {"name": "b.txt", "size": 0, "sha256": empty},
        ],
    }
    assert login.json() == {"welcome": "a"}
    assert (extra.status_code, extra.json()["detail"][0]["type"]) == (422, "extra_forbidden")
    assert (no_file.status_code, no_file.json()["detail"][0]["loc"]) == (422, ["body", "data"])


def load_package_app(package: str) -> FastrAPI:
    """Import ``examples/PACKAGE/main.py`` afresh, as ``python -m PACKAGE.main`` would."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    app = importlib.import_module(f"{package}.main").app
    assert isinstance(app, FastrAPI)
    return app


def test_every_example_package_has_a_main_app() -> None:
    packages = [p for p in EXAMPLES.iterdir() if (p / "__init__.py").exists()]
    assert packages
    for package in packages:
        load_package_app(package.name)
        assert 'if __name__ == "__main__":' in (package / "main.py").read_text()


async def test_bigger_app() -> None:
    app = load_package_app("bigger_app")
    token = {"x-token": "fake-super-secret-token"}
    with trio.fail_after(5):
        root = await http_request(app, "GET", "/?token=jessica")
        no_jessica = await http_request(app, "GET", "/")
        users = await http_request(app, "GET", "/users/?token=jessica")
        me = await http_request(app, "GET", "/users/me?token=jessica")
        items = await http_request(app, "GET", "/items/?token=jessica", headers=token)
        plumbus = await http_request(app, "GET", "/items/plumbus?token=jessica", headers=token)
        missing = await http_request(app, "GET", "/items/nope?token=jessica", headers=token)
        bad_token = await http_request(app, "GET", "/items/?token=jessica")
        put = await http_request(app, "PUT", "/items/gun?token=jessica", headers=token)
        admin = await http_request(app, "POST", "/admin/?token=jessica", headers=token)
        redirected = await http_request(app, "GET", "/items?token=jessica", headers=token)
        async with open_websocket(app, "/items/gun/watch?token=jessica", headers=token) as ws:
            watched = await ws.receive_json()
        with pytest.raises(HandshakeRejected) as refused:
            async with open_websocket(app, "/items/gun/watch?token=jessica"):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert root.json() == {"message": "Hello Bigger Applications!"}
    assert (no_jessica.status_code, no_jessica.json()["detail"][0]["loc"]) == (
        422,
        ["query", "token"],
    )
    assert users.json() == [{"username": "Rick"}, {"username": "Morty"}]
    assert me.json() == {"username": "fakecurrentuser"}
    assert items.json()["plumbus"] == {"name": "Plumbus", "price": 3.5}
    assert plumbus.json() == {"name": "Plumbus", "price": 3.5}
    assert (missing.status_code, missing.json()) == (404, {"detail": "Item not found"})
    assert (bad_token.status_code, bad_token.json()["detail"][0]["loc"]) == (
        422,
        ["header", "x-token"],
    )
    assert (put.status_code, put.json()["detail"]) == (
        403,
        "You can only update the item: plumbus",
    )
    assert admin.json() == {"message": "Admin getting schwifty"}
    assert (redirected.status_code, redirected.headers["location"]) == (
        307,
        "http://testserver/items/?token=jessica",
    )
    assert watched == {"name": "Portal Gun", "price": 0.0}
    assert refused.value.status_code == 403
    admin_route = next(r for r in app.routes if r.path == "/admin/")
    assert admin_route.tags == ["admin"]
    assert admin_route.responses == {418: {"description": "I'm a teapot"}}


async def test_exception_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    app = app_of("exception_handlers")
    with trio.fail_after(5):
        unicorn = await http_request(app, "GET", "/unicorns/yolo")
        fine = await http_request(app, "GET", "/unicorns/ann")
        missing = await http_request(app, "GET", "/nowhere")
        owner = await http_request(app, "GET", "/items/Morty")
        rick = await http_request(app, "GET", "/items/Rick")
        with pytest.raises(HandshakeRejected) as refused:
            async with open_websocket(app, "/unicorns/yolo/ws"):
                pytest.fail("refused")  # pragma: no cover
        async with open_websocket(app, "/unicorns/yolo/ws?accept_first=true") as client:
            assert await client.receive_text() == "hello yolo"
            closed = await client.wait_closed()
        async with open_websocket(app, "/unicorns/ann/ws") as client:
            assert await client.receive_text() == "hello ann"
    assert (unicorn.status_code, unicorn.json()) == (418, {"message": "Oops! yolo did something."})
    assert fine.json() == {"unicorn_name": "ann"}
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert "404 for http://" in capsys.readouterr().out
    assert (owner.status_code, owner.json()) == (400, {"detail": "Owner error: Rick"})
    assert rick.json() == {"owner": "Rick"}
    assert refused.value.status_code == 418
    assert closed == (4418, "yolo did something")


def test_middleware_example() -> None:
    from fastrapi.testclient import TestClient

    client = TestClient(app_of("middleware"))
    assert client.get("/visits").json() == {"visits": 1}
    assert client.get("/visits").json() == {"visits": 2}  # the session cookie came back
    report = client.get("/report", headers={"accept-encoding": "gzip"})
    assert report.headers["content-encoding"] == "gzip"
    assert report.json() == {"numbers": list(range(1000))}
    cors = client.get("/visits", headers={"origin": "https://app.example"})
    assert cors.headers["access-control-allow-origin"] == "https://app.example"
    assert client.get("/admin/status").json() == {"status": "ok", "mounted_at": "/admin"}
    with client.websocket_connect("/ws") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
    with client.websocket_connect("/admin/events") as ws:
        assert ws.receive_json() == {"event": "hello from the admin app"}
    assert (
        TestClient(app_of("middleware"), base_url="http://evil.example").get("/").status_code == 400
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_every_example_documents_itself_validly(path: Path) -> None:
    from openapi_spec_validator import validate

    schema = app_of(path.stem).openapi()
    validate(schema)  # raises on an invalid OpenAPI 3.1 document
    assert schema["openapi"] == "3.1.0"


async def test_openapi_document() -> None:
    app = app_of("openapi_document")
    with trio.fail_after(5):
        served = await http_request(app, "GET", "/openapi.json")
    assert served.status_code == 200
    schema = served.json()
    assert schema == app.openapi()
    assert schema["info"]["title"] == "Inventory"
    put = schema["paths"]["/items/{item_id}"]["put"]
    assert put["security"] == [{"OAuth2PasswordBearer": []}]
    assert list(put["responses"]) == ["201", "422"]
    listed = schema["paths"]["/items/"]["get"]["parameters"][0]
    assert listed["description"] == "At most this many"
    assert schema["components"]["schemas"]["Item"]["description"] == "An item in stock."


async def test_api_documentation_chat_declares_and_checks_its_messages() -> None:
    app = app_of("api_documentation")
    with trio.fail_after(5):
        async with (
            open_websocket(app, "/chat/lobby?username=ann") as ann,
            open_websocket(app, "/chat/lobby?username=bob") as bob,
        ):
            assert await ann.receive_json() == {"type": "joined", "username": "ann"}
            assert await ann.receive_json() == {"type": "joined", "username": "bob"}
            assert await bob.receive_json() == {"type": "joined", "username": "bob"}
            rooms = await http_request(app, "GET", "/rooms")
            await bob.send_json({"type": "say", "text": "hi ann"})
            said = {"type": "said", "username": "bob", "text": "hi ann"}
            assert await ann.receive_json() == said
            assert await bob.receive_json() == said
            async with open_websocket(app, "/chat/lobby?username=ann") as again:
                closed = await again.wait_closed()
        document = app.asyncapi()
    assert rooms.json() == [{"name": "lobby", "members": ["ann", "bob"]}]
    assert closed.code == 4009
    assert document["channels"]["chat"]["address"] == "/chat/{room}"
    assert set(document["components"]["messages"]) == {"Say", "Typing", "Said", "Presence"}
    assert "4009" in document["channels"]["chat"]["description"]


async def test_realtime_serves_the_hub_protocol() -> None:
    app = app_of("realtime")
    with trio.fail_after(5):
        async with open_websocket(
            app, "/realtime?user=ann", subprotocols=["fastrapi.hub.v1"]
        ) as ws:
            assert (await ws.receive_json())["type"] == "hello"
            await ws.send_json({"type": "subscribe", "id": 1, "topic": "room:lobby"})
            assert (await ws.receive_json())["type"] == "subscribed"
            await ws.send_json({"type": "publish", "id": 2, "topic": "room:lobby", "data": "hi"})
            assert (await ws.receive_json())["data"] == "hi"
            assert (await ws.receive_json())["result"]["offset"] == 1
            await ws.send_json({"type": "subscribe", "id": 3, "topic": "secret"})
            assert (await ws.receive_json())["code"] == 403
            await ws.send_json({"type": "rpc", "id": 4, "method": "who"})
            assert (await ws.receive_json())["result"] == {"topics": ["room:lobby"]}
        async with open_websocket(app, "/realtime", subprotocols=["fastrapi.hub.v1"]) as ws:
            assert (await ws.receive_json())["type"] == "hello"
            await ws.send_json({"type": "publish", "id": 1, "topic": "room:lobby", "data": "hi"})
            assert await ws.receive_json() == {
                "type": "error",
                "id": 1,
                "code": 401,
                "message": "name yourself (?user=) to write",
            }
        async with open_websocket(
            app, "/realtime?user=mallory", subprotocols=["fastrapi.hub.v1"]
        ) as ws:
            assert (await ws.wait_closed()).code == 4403


async def test_limits() -> None:
    """Over real sockets (the caps are the accept loop's): a client address past its cap gets
    429 while the connections it holds are served."""
    module = load("limits")
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with trio.fail_after(10):
        async with open_live_server(module.app, **module.SERVE_LIMITS) as server:
            held = [
                await trio.open_tcp_stream(server.host, server.port)
                for _ in range(module.MAX_CONNECTIONS_PER_IP)
            ]
            extra = await trio.open_tcp_stream(server.host, server.port)
            await extra.send_all(request)
            refused = await extra.receive_some()
            await extra.aclose()
            await held[0].send_all(request)
            served = await held[0].receive_some()
            for stream in held:
                await stream.aclose()
            long_line = await trio.open_tcp_stream(server.host, server.port)
            async with long_line:
                await long_line.send_all(b"GET /" + b"a" * module.SERVE_LIMITS["max_request_line"])
                too_long = await long_line.receive_some()
    assert too_long.startswith(b"HTTP/1.1 414 ")
    assert refused.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    assert served.startswith(b"HTTP/1.1 200 OK\r\n")
    assert served.endswith(b'{"status":"ok"}')


async def test_realtime_client_follows_a_room(capsys: pytest.CaptureFixture[str]) -> None:
    example = load("realtime_client")
    with trio.fail_after(20):
        async with open_live_server(example.app) as address:
            url = f"ws://{address.host}:{address.port}/realtime?user=service"
            got = await example.follow(url, "room:lobby", 1)
    assert got == [{"text": "hello from a service"}]
    assert "1 {'text': 'hello from a service'} False" in capsys.readouterr().out


async def test_message_rate(autojump_clock: trio.testing.MockClock) -> None:
    """On the mock clock: a chat flood past the burst is paced to the rate and delivered
    whole; a command flood is closed with 1008."""
    module = load("message_rate")
    flood = module.CHAT_BURST + 20
    with trio.fail_after(100):
        async with open_websocket(module.app, "/chat") as client:
            start = trio.current_time()
            for i in range(flood):
                await client.send_text(str(i))
            assert [await client.receive_text() for _ in range(flood)] == [
                str(i) for i in range(flood)
            ]
            took = trio.current_time() - start
        async with open_websocket(module.app, "/commands") as client:
            for i in range(module.COMMAND_BURST + 1):
                await client.send_text(f"command {i}")
            for i in range(module.COMMAND_BURST):
                assert await client.receive_json() == {"command": f"command {i}", "done": True}
            assert await client.wait_closed() == (1008, "rate limit exceeded")
    assert took == pytest.approx((flood - module.CHAT_BURST) / module.CHAT_RATE)
