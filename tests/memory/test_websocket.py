"""The WebSocket object in memory: every method, state and error a handler sees."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from fastrapi import (
    CloseCode,
    FastrAPI,
    MessageDecodeError,
    MessageTypeError,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketState,
    WebSocketStateError,
)
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from .conftest import Connect


async def test_text_bytes_json_and_raw_round_trip(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.send_bytes(await ws.receive_bytes())
        await ws.send_json(await ws.receive_json())
        await ws.send(await ws.receive())
        await ws.send(await ws.receive())
        await ws.send(bytearray(b"ba"))
        await ws.send_bytes(memoryview(b"mv"))

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_text("héllo")
            assert await client.receive_text() == "héllo"
            await client.send_bytes(b"\x00\xff")
            assert await client.receive_bytes() == b"\x00\xff"
            await client.send_json({"a": [1, None]})
            assert await client.receive_json() == {"a": [1, None]}
            await client.send("text")
            assert await client.receive() == "text"
            await client.send(b"bin")
            assert await client.receive() == b"bin"
            assert await client.receive() == b"ba"
            assert await client.receive() == b"mv"
            assert await client.wait_closed() == (1000, "")


async def test_wrong_kind_and_bad_json_leave_the_connection_usable(connect: Connect) -> None:
    app = FastrAPI()
    errors: list[Exception] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        for receive in (ws.receive_text, ws.receive_bytes, ws.receive_json):
            try:
                await receive()
            except (TypeError, ValueError) as exc:
                errors.append(exc)
        await ws.send_text(await ws.receive_text())

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_bytes(b"12345")
            await client.send_text("abc")
            await client.send_text("{not json")
            await client.send_text("still here")
            assert await client.receive_text() == "still here"
    assert [type(e) for e in errors] == [MessageTypeError, MessageTypeError, MessageDecodeError]
    assert "got a binary message (5 bytes)" in str(errors[0])
    assert "got a text message (3 characters)" in str(errors[1])
    assert "invalid JSON" in str(errors[2])


async def test_unserialisable_json_is_a_type_error_and_nothing_is_sent(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with pytest.raises(TypeError):
            await ws.send_json({"when": object()})
        with pytest.raises(TypeError, match="send_text\\(\\) takes str, not bytes"):
            await ws.send_text(b"x")  # type: ignore[arg-type]  # the point of the test
        with pytest.raises(TypeError, match="send\\(\\) takes str or bytes, not int"):
            await ws.send(1)  # type: ignore[arg-type]  # the point of the test
        with pytest.raises(TypeError, match="send_bytes\\(\\) takes str or bytes, not str"):
            await ws.send_bytes("x")  # type: ignore[arg-type]  # the point of the test
        await ws.send_json({"ok": True})

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_json() == {"ok": True}


@pytest.mark.parametrize("code", [1000, 1001])
async def test_iterators_end_on_a_normal_close(code: int, connect: Connect, target: str) -> None:
    app = FastrAPI()
    seen: list[object] = []

    @app.websocket("/text")
    async def text(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([m async for m in ws.iter_text()])

    @app.websocket("/bytes")
    async def binary(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([m async for m in ws.iter_bytes()])

    @app.websocket("/json")
    async def json(ws: WebSocket) -> None:
        await ws.accept()
        seen.extend([m async for m in ws.iter_json()])

    with trio.fail_after(5):
        for path, messages in (("/text", ["a", "b"]), ("/bytes", [b"c"]), ("/json", ["null", "1"])):
            async with connect(app, path) as client:
                for message in messages:
                    await client.send(message)
                await client.close(code)
    # Hypercorn reports every client close as 1006: the iterators raise WebSocketDisconnect
    assert seen == ([] if target == "hypercorn" else ["a", "b", b"c", None, 1])


async def test_iterator_raises_on_an_abnormal_close(connect: Connect, target: str) -> None:
    app = FastrAPI()
    codes: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            async for _ in ws.iter_text():
                pass
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.close(4001, "gone")
    assert codes == [1006 if target == "hypercorn" else 4001]  # Hypercorn loses the code


async def test_peer_close_code_and_reason_reach_the_handler_and_every_call_raises(
    connect: Connect, target: str
) -> None:
    app = FastrAPI()
    seen: list[tuple[str, int, str]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        assert await ws.receive_text() == "last words"
        for name, call in (
            ("receive", ws.receive),
            ("receive_text", ws.receive_text),
            ("send_text", lambda: ws.send_text("x")),
            ("send_json", lambda: ws.send_json({})),
        ):
            with pytest.raises(ConnectionError) as caught:
                await call()
            assert isinstance(caught.value, WebSocketDisconnect)
            seen.append((name, caught.value.code, caught.value.reason))
        assert ws.client_state is WebSocketState.DISCONNECTED
        await ws.close()  # closing after the peer left does nothing

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_text("last words")
            await client.close(4001, "bye")
    close = (1006, "") if target == "hypercorn" else (4001, "bye")  # Hypercorn loses them
    assert seen == [
        (name, *close) for name in ("receive", "receive_text", "send_text", "send_json")
    ]


async def test_close_with_code_and_reason(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("before")
        await ws.close(code=4000, reason="done")
        assert ws.application_state in (WebSocketState.CLOSING, WebSocketState.DISCONNECTED)
        with pytest.raises(WebSocketStateError, match="after close"):
            await ws.send_text("after")
        with pytest.raises(WebSocketStateError, match="after close"):
            await ws.receive_text()
        await ws.close()  # a second close does nothing

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_text() == "before"
            assert await client.wait_closed() == (4000, "done")


async def test_close_rejects_codes_it_may_not_send(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with pytest.raises(ValueError, match="1005 cannot be sent"):
            await ws.close(1005)
        await ws.send_text("open")

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_text() == "open"


async def test_websocket_exception_closes_with_its_code(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        raise WebSocketException(4003, "forbidden")

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.wait_closed() == (4003, "forbidden")


async def test_handler_error_closes_with_1011_and_is_reraised_bare(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("about to fail")
        raise KeyError("boom")

    frames = []
    with trio.fail_after(5), pytest.raises(KeyError, match="boom"):  # noqa: PT012 (raised on exit)
        async with connect(app, "/ws") as client:
            assert await client.receive_text() == "about to fail"
            frames.append(await client.wait_closed())
    assert frames == [(CloseCode.INTERNAL_ERROR, "")]


async def test_misuse_is_a_local_error(connect: Connect) -> None:
    app = FastrAPI()
    errors: list[str] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        for call in (lambda: ws.send_text("x"), ws.receive_text):
            with pytest.raises(WebSocketStateError) as caught:
                await call()
            errors.append(str(caught.value))
        await ws.accept()
        with pytest.raises(WebSocketStateError) as again:
            await ws.accept()
        errors.append(str(again.value))

    with trio.fail_after(5):
        async with connect(app, "/ws"):
            pass
    assert errors[0].startswith("send_text() before accept()")
    assert errors[1].startswith("receive_text() before accept()")
    assert "accept() may be called once" in errors[2]


async def test_states_follow_the_connection(connect: Connect) -> None:
    app = FastrAPI()
    states: list[tuple[WebSocketState, WebSocketState]] = []
    peer_gone = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        states.append((ws.client_state, ws.application_state))
        await ws.accept()
        states.append((ws.client_state, ws.application_state))
        await peer_gone.wait()
        states.append((ws.client_state, ws.application_state))  # "late" still unread
        while ws.client_state == 1:
            assert await ws.receive_text() == "late"
        states.append((ws.client_state, ws.application_state))

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.send_text("late")
            await client.close()
            await trio.testing.wait_all_tasks_blocked()
            peer_gone.set()
    assert states == [
        (WebSocketState.CONNECTING, WebSocketState.CONNECTING),
        (WebSocketState.CONNECTED, WebSocketState.CONNECTED),
        (WebSocketState.CONNECTED, WebSocketState.CONNECTED),
        (WebSocketState.DISCONNECTED, WebSocketState.CONNECTED),
    ]


async def test_request_facts(connect: Connect, target: str) -> None:
    app = FastrAPI()
    facts: list[object] = []

    @app.websocket("/rooms/{room}/{n:int}")
    async def handler(ws: WebSocket, room: str, n: int) -> None:
        ws.state.user = "me"
        facts.extend(
            [
                ws.path_params,
                ws.query_params.getlist("tag"),
                ws.headers["x-token"],
                ws.cookies,
                ws.url,
                ws.client,
                ws.subprotocols,
                ws.state.user,
                repr(ws),
                (ws.scope["type"], ws.scope["path"]),
            ]
        )
        await ws.accept(subprotocol="chat.v2", headers={"X-Server": "fastrapi"})

    with trio.fail_after(5):
        async with connect(
            app,
            "/rooms/main/3?tag=a&tag=b",
            subprotocols=["chat.v1", "chat.v2"],
            headers={"X-Token": "t", "Cookie": "session=abc"},
        ) as client:
            assert client.subprotocol == "chat.v2"
            assert client.headers["x-server"] == "fastrapi"
    client_port = 50000 if target != "hypercorn" else facts[5][1]  # type: ignore[index]  # a real socket's
    assert facts == [
        {"room": "main", "n": 3},
        ["a", "b"],
        "t",
        {"session": "abc"},
        "ws://testserver/rooms/main/3?tag=a&tag=b",
        ("127.0.0.1", client_port),
        ["chat.v1", "chat.v2"],
        "me",
        f"<WebSocket /rooms/main/3 client=Address(host='127.0.0.1', port={client_port})"
        " CONNECTING>",
        ("websocket", "/rooms/main/3"),
    ]


async def test_subprotocol_not_offered_is_an_error_and_a_refusal(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept(subprotocol="nope")

    with trio.fail_after(5), pytest.raises(ValueError, match="'nope' was not offered"):
        async with connect(app, "/ws", subprotocols=["chat"]):
            pytest.fail("the handshake must be refused")  # pragma: no cover


@pytest.mark.parametrize(
    ("path", "status"),
    [("/nowhere", 404), ("/items/abc", 404), ("/items/1?limit=x", 403), ("/closes", 403)],
)
async def test_refused_handshakes(
    path: str, status: int, caplog: pytest.LogCaptureFixture, connect: Connect
) -> None:
    app = FastrAPI()

    @app.websocket("/items/{item:int}")
    async def items(ws: WebSocket, item: int, limit: int = 10) -> None:
        await ws.accept()  # pragma: no cover

    @app.websocket("/closes")
    async def closes(ws: WebSocket) -> None:
        await ws.close()

    caplog.set_level(logging.INFO, "fastrapi")
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, path):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == status
    if "limit" in path:
        assert "refused with 403: query.limit: Input should be a valid integer" in caplog.text
        assert caught.value.body.startswith(b'{"detail":[{"type":"int_parsing"')


async def test_handler_returning_before_accept_refuses(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        return

    with trio.fail_after(5), pytest.raises(HandshakeRejected, match="403"):
        async with connect(app, "/ws"):
            pytest.fail("the handshake must be refused")  # pragma: no cover
