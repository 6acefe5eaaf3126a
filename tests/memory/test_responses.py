"""Response classes on both servers: cookies and repeated headers, streaming (and a client that
leaves mid-stream), files (ranges, validators, HEAD, names), redirects, JSON flavours."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import h11
import pytest
import trio
import trio.lowlevel
import trio.testing

from fastrapi import FastrAPI
from fastrapi.exceptions import FastAPIDeprecationWarning
from fastrapi.responses import (
    FileResponse,
    JSONResponse,
    MutableHeaders,
    ORJSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    UJSONResponse,
)
from fastrapi.server._stream import RECEIVE_SIZE
from fastrapi.testing import _serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from fastrapi.server import ServerName

    from .conftest import HTTP

BIG = bytes(range(256)) * 1024  # 256 KiB: several chunks


def test_mutable_headers_repeat_and_replace() -> None:
    headers = MutableHeaders()
    headers.append("Set-Cookie", "a=1")
    headers.append("set-cookie", "b=2")
    headers["X-One"] = "1"
    assert headers.getlist("SET-COOKIE") == ["a=1", "b=2"]
    assert headers["set-cookie"] == "a=1"
    assert "x-one" in headers
    headers["set-cookie"] = "c=3"
    assert headers.items() == [("set-cookie", "c=3"), ("x-one", "1")]
    del headers["X-ONE"]
    assert headers.get("x-one") is None
    with pytest.raises(KeyError):
        del headers["x-one"]
    assert headers.setdefault("x-two", "2") == "2"
    assert headers == {"Set-Cookie": "c=3", "x-two": "2"}


def test_cookies_are_starlettes() -> None:
    response = Response("hi")
    response.set_cookie("session", "abc", max_age=60, httponly=True, secure=True)
    response.set_cookie("theme", "dark", samesite="strict", domain="example.com")
    response.delete_cookie("old")
    cookies = response.headers.getlist("set-cookie")
    assert len(cookies) == 3
    assert cookies[0].startswith("session=abc;")
    assert "HttpOnly" in cookies[0]
    assert "Max-Age=60" in cookies[0]
    assert "Secure" in cookies[0]
    assert "Path=/" in cookies[0]
    assert "SameSite=lax" in cookies[0]
    assert "Domain=example.com" in cookies[1]
    assert "SameSite=strict" in cookies[1]
    assert "Max-Age=0" in cookies[2]
    assert "expires=" in cookies[2]
    with pytest.raises(ValueError, match="samesite"):
        response.set_cookie("x", "y", samesite="bogus")  # type: ignore[arg-type]  # the point
    with pytest.raises(ValueError, match="invalid cookie name"):
        response.set_cookie("bad name;", "y")


def test_bodies_and_types() -> None:
    assert Response(None).body == b""
    assert Response(status_code=204).headers.get("content-length") is None
    with pytest.warns(FastAPIDeprecationWarning, match="ORJSONResponse is deprecated"):
        assert ORJSONResponse({1: "a"}).body == b'{"1":"a"}'
    with pytest.warns(FastAPIDeprecationWarning, match="UJSONResponse is deprecated"):
        assert UJSONResponse({"a": "é"}).body.decode() in ('{"a":"é"}', '{"a": "é"}')
    redirect = RedirectResponse("/a b?x=1")
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/a%20b?x=1")
    assert RedirectResponse("/x", 301).status_code == 301


def make_app(tmp_path: Path, events: list[str]) -> FastrAPI:
    app = FastrAPI()
    (tmp_path / "big.bin").write_bytes(BIG)
    (tmp_path / "notes.txt").write_text("hello world")

    @app.get("/cookies")
    async def cookies() -> Response:
        response = Response("ok")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    @app.get("/async")
    async def async_stream() -> StreamingResponse:
        async def pieces() -> AsyncIterator[str]:
            for word in ("one ", "two ", "three"):
                await trio.lowlevel.checkpoint()
                yield word

        return StreamingResponse(pieces(), media_type="text/plain")

    @app.get("/sync")
    async def sync_stream() -> StreamingResponse:
        def pieces() -> Iterator[bytes]:
            yield b"a"
            yield b"b"
            events.append("sync done")

        return StreamingResponse(pieces())

    @app.get("/broken")
    async def broken() -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            yield b"first"
            raise RuntimeError("the source broke")

        return StreamingResponse(pieces())

    @app.get("/file/{name}")
    async def file(name: str) -> FileResponse:
        return FileResponse(tmp_path / name)

    @app.get("/download")
    async def download(name: str) -> FileResponse:
        return FileResponse(tmp_path / "notes.txt", filename=name)

    return app


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def app(tmp_path: Path, events: list[str]) -> FastrAPI:
    return make_app(tmp_path, events)


async def test_several_cookies_reach_the_client(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        response = await http(app, "GET", "/cookies")
    assert response.headers.getlist("set-cookie")[0].startswith("a=1;")
    assert response.headers.getlist("set-cookie")[1].startswith("b=2;")


async def test_streams_async_and_sync_iterators(
    app: FastrAPI, http: HTTP, events: list[str]
) -> None:
    with trio.fail_after(10):
        first = await http(app, "GET", "/async")
        second = await http(app, "GET", "/sync")
        head = await http(app, "HEAD", "/async")
    assert first.body == b"one two three"
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    assert first.headers.get("transfer-encoding") == "chunked"
    assert second.body == b"ab"
    assert events == ["sync done"]
    assert (head.status_code, head.body) == (200, b"")


async def test_a_failing_stream_is_logged_and_cut(
    app: FastrAPI, http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    cut = False
    with trio.fail_after(10):
        try:
            await http(app, "GET", "/broken")
        except* h11.RemoteProtocolError:
            cut = True  # the connection dropped mid-body
    assert cut
    assert "the streamed response of GET /broken failed" in caplog.text
    # and the server still serves
    with trio.fail_after(10):
        assert (await http(app, "GET", "/cookies")).status_code == 200


async def test_whole_file_with_validators(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        response = await http(app, "GET", "/file/big.bin")
        etag = response.headers["etag"]
        again = await http(app, "GET", "/file/big.bin", headers={"if-none-match": etag})
        since = await http(
            app,
            "GET",
            "/file/big.bin",
            headers={"if-modified-since": response.headers["last-modified"]},
        )
        head = await http(app, "HEAD", "/file/big.bin")
    assert response.status_code == 200
    assert response.body == BIG
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(BIG))
    assert (again.status_code, again.body, again.headers["etag"]) == (304, b"", etag)
    assert since.status_code == 304
    assert (head.status_code, head.body) == (200, b"")
    assert head.headers["content-length"] == str(len(BIG))


async def test_byte_ranges(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        one = await http(app, "GET", "/file/big.bin", headers={"range": "bytes=10-19"})
        tail = await http(app, "GET", "/file/big.bin", headers={"range": "bytes=-5"})
        many = await http(app, "GET", "/file/notes.txt", headers={"range": "bytes=0-4,6-"})
        past = await http(app, "GET", "/file/big.bin", headers={"range": "bytes=999999-"})
        junk = await http(app, "GET", "/file/notes.txt", headers={"range": "bytes=x-y"})
        stale = await http(
            app, "GET", "/file/notes.txt", headers={"range": "bytes=0-1", "if-range": '"old"'}
        )
    assert (one.status_code, one.body) == (206, BIG[10:20])
    assert one.headers["content-range"] == f"bytes 10-19/{len(BIG)}"
    assert tail.body == BIG[-5:]
    assert many.status_code == 206
    kind = many.headers["content-type"]
    assert kind.startswith("multipart/byteranges; boundary=")
    boundary = kind.split("=", 1)[1]
    assert many.headers["content-length"] == str(len(many.body))
    assert b"content-range: bytes 0-4/11\r\n\r\nhello" in many.body
    assert b"content-range: bytes 6-10/11\r\n\r\nworld" in many.body
    assert many.body.endswith(f"--{boundary}--\r\n".encode())
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(BIG)}"
    assert (junk.status_code, junk.body) == (200, b"hello world")  # a bad Range is ignored
    assert (stale.status_code, stale.body) == (200, b"hello world")


async def test_missing_file_is_a_logged_500(
    app: FastrAPI, http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(10), caplog.at_level(logging.ERROR, "fastrapi"):
        response = await http(app, "GET", "/file/nope.txt")
    assert response.status_code == 500
    assert "nope.txt" in caplog.text
    assert "nope.txt" not in response.text  # no path sent to the client


async def test_download_names(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        plain = await http(app, "GET", "/download?name=notes.txt")
        accents = await http(app, "GET", "/download?name=r%C3%A9sum%C3%A9.txt")
        sneaky = await http(app, "GET", "/download?name=..%2F..%2Fetc%2Fpasswd")
        quote = await http(app, "GET", "/download?name=a%22b%0D%0Ac.txt")
    assert plain.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"
    assert accents.headers["content-disposition"] == (
        "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt"
    )
    assert sneaky.headers["content-disposition"] == 'attachment; filename="passwd"'
    assert quote.headers["content-disposition"] == 'attachment; filename="abc.txt"'
    assert plain.body == b"hello world"


async def test_a_client_leaving_mid_stream_cancels_the_generator(target: str, http: HTTP) -> None:
    app = FastrAPI()
    started = trio.Event()
    stopped = trio.Event()

    @app.get("/forever")
    async def forever() -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            try:
                yield b"hello"
                started.set()
                await trio.sleep_forever()
            finally:
                stopped.set()

        return StreamingResponse(pieces())

    server: ServerName = "hypercorn" if target == "hypercorn" else "native"
    conn = h11.Connection(h11.CLIENT)
    with trio.fail_after(10):
        async with _serving(app, server, []) as stream:
            request = h11.Request(method="GET", target="/forever", headers=[("host", "x")])
            await stream.send_all(conn.send(request) + (conn.send(h11.EndOfMessage()) or b""))
            await started.wait()
            received = b""
            while b"hello" not in received:
                received += await stream.receive_some(RECEIVE_SIZE)
            await stream.aclose()  # the client leaves while the generator waits
            await stopped.wait()  # cancelled at once, not at its next piece
    assert stopped.is_set()
    assert b"200" in received


async def test_a_request_pipelined_behind_a_stream_is_served(app: FastrAPI) -> None:
    conn = h11.Connection(h11.CLIENT)
    first = h11.Request(method="GET", target="/async", headers=[("host", "x")])
    second = b"GET /cookies HTTP/1.1\r\nhost: x\r\n\r\n"  # h11 clients do not pipeline
    bodies: list[bytes] = []
    statuses: list[int] = []
    with trio.fail_after(10):
        async with _serving(app, "native", []) as stream:
            wire = conn.send(first) + (conn.send(h11.EndOfMessage()) or b"")
            await stream.send_all(wire)
            while len(bodies) < 2:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(bytes(await stream.receive_some(RECEIVE_SIZE)))
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
                    bodies.append(b"")
                    if len(statuses) == 1:  # the second request goes while the first streams
                        await stream.send_all(second)
                elif isinstance(event, h11.Data):
                    bodies[-1] += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage) and len(statuses) == 1:
                    conn.start_next_cycle()
            while not isinstance(event := conn.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    conn.receive_data(bytes(await stream.receive_some(RECEIVE_SIZE)))
                elif isinstance(event, h11.Data):
                    bodies[-1] += bytes(event.data)
    assert statuses == [200, 200]
    assert bodies == [b"one two three", b"ok"]


def test_json_falls_back_to_jsonable_encoder() -> None:
    from decimal import Decimal

    assert JSONResponse({"tags": {"a"}, "price": Decimal("2")}).body == b'{"tags":["a"],"price":2}'
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        JSONResponse({"x": object()})


def test_init_headers_after_a_new_body() -> None:
    response = Response(b"a")
    response.body = b"abc"
    response.init_headers({"x-kind": "letters"})
    assert response.headers == {"x-kind": "letters", "content-length": "3"}


async def test_a_stalled_request_body_ends_a_stream_without_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    stopped = trio.Event()

    @app.post("/upload-and-stream")
    async def upload() -> StreamingResponse:  # streams without reading the body
        async def pieces() -> AsyncIterator[bytes]:
            try:
                yield b"started"
                await trio.sleep_forever()
            finally:
                stopped.set()

        return StreamingResponse(pieces())

    conn = h11.Connection(h11.CLIENT)
    head = h11.Request(
        method="POST",
        target="/upload-and-stream",
        headers=[("host", "x"), ("content-length", "100")],
    )
    with trio.fail_after(30):
        async with _serving(app, "native", []) as stream:
            await stream.send_all(conn.send(head) + conn.send(h11.Data(data=b"part")))
            await stopped.wait()  # the body never comes: the server's header_timeout ends it
    assert stopped.is_set()
