"""Request bodies: body(), json(), form() (urlencoded, multipart), stream(), max_body_size;
and as routes plan them: Form, File, UploadFile, form models, JSON and its content type."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import pytest
import trio

from fastrapi import Body, FastrAPI, File, Form, HTTPException, Request, UploadFile

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from fastrapi.server import ServerName

    from .conftest import HTTP

BOUNDARY = "xyz123"
MULTIPART = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="title"\r\n\r\n'
    "hello\r\n"
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
    "file body\r\n"
    f"--{BOUNDARY}--\r\n"
).encode()
MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
JSON = "application/json"


def make_app() -> FastrAPI:
    app = FastrAPI(max_body_size=1024)

    @app.post("/form")
    async def form(request: Request) -> dict[str, object]:
        data = await request.form()
        out: dict[str, object] = {}
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                out[key] = [value.filename, value.content_type, (await value.read()).decode()]
            else:
                out[key] = data.getlist(key) if len(data.getlist(key)) > 1 else value
        return out

    @app.post("/stream")
    async def stream(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @app.post("/body-then-stream")
    async def body_then_stream(request: Request) -> list[int]:
        await request.body()
        return [len(chunk) async for chunk in request.stream()]

    @app.post("/twice")
    async def twice(request: Request) -> str:
        async for _ in request.stream():
            pass
        async for _ in request.stream():
            pass
        return "unreachable"  # pragma: no cover

    return app


async def test_urlencoded_form(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            make_app(),
            "POST",
            "/form",
            body=b"a=1&b=x+y&a=2&empty=",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.json() == {"a": ["1", "2"], "b": "x y", "empty": ""}


async def test_multipart_form_with_a_file(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            make_app(), "POST", "/form", body=MULTIPART, headers={"content-type": MULTIPART_TYPE}
        )
    assert response.json() == {"title": "hello", "file": ["a.txt", "text/plain", "file body"]}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (MULTIPART[:-30], MULTIPART_TYPE, 400, "multipart body ends before its closing boundary"),
        (b"garbage", MULTIPART_TYPE, 400, "malformed multipart body"),
        (MULTIPART, "multipart/form-data", 400, "multipart body without a boundary"),
        (
            MULTIPART.replace(b'; name="title"', b""),
            MULTIPART_TYPE,
            400,
            "a multipart part has no name",
        ),
        (b"a=\xff", "application/x-www-form-urlencoded", 400, "form body is not UTF-8"),
        (b"{}", "application/json", 415, "expected a form"),
        (b"a=" + b"x" * 2000, "application/x-www-form-urlencoded", 413, "request body over"),
    ],
)
async def test_bad_forms(
    body: bytes, content_type: str, status: int, detail: str, http: HTTP
) -> None:
    with trio.fail_after(5):
        response = await http(
            make_app(), "POST", "/form", body=body, headers={"content-type": content_type}
        )
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


async def test_stream_then_body_and_the_size_limit(http: HTTP) -> None:
    app = make_app()
    with trio.fail_after(5):
        ok = await http(app, "POST", "/stream", body=b"x" * 1000)
        too_big = await http(app, "POST", "/stream", body=b"x" * 1025)
        twice = await http(app, "POST", "/twice", body=b"x")
        kept = await http(app, "POST", "/body-then-stream", body=b"x" * 10)
    assert ok.json() == {"size": 1000}
    assert kept.json() == [10]
    assert too_big.status_code == 413
    assert twice.status_code == 500


async def test_an_endless_chunked_body_is_refused_while_it_arrives() -> None:
    """The client sends more than ``max_body_size`` and never ends its body: the 413 comes
    as soon as the limit is passed, not after a body that never completes."""
    import h11

    from fastrapi.testing import _serving

    app = FastrAPI(max_body_size=16)
    seen: list[int] = []

    @app.post("/upload")
    async def upload(request: Request) -> str:
        async for chunk in request.stream():
            seen.append(len(chunk))
        return "unreachable"  # pragma: no cover

    conn = h11.Connection(h11.CLIENT)
    head = h11.Request(
        method="POST",
        target="/upload",
        headers=[("host", "testserver"), ("transfer-encoding", "chunked")],
    )
    with trio.fail_after(5):
        async with _serving(app, "native", []) as stream:
            await stream.send_all(conn.send(head) + conn.send(h11.Data(data=b"x" * 10)))
            await stream.send_all(conn.send(h11.Data(data=b"y" * 10)))  # 20 > 16, no end
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(bytes(await stream.receive_some(65536)))
                elif isinstance(event, h11.Response):
                    break
    assert event.status_code == 413
    assert sum(seen) <= 16


class Login(pydantic.BaseModel):
    model_config = {"extra": "forbid"}

    username: str
    password: str


class Item(pydantic.BaseModel):
    name: str
    price: float


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body of (name, filename or None, content) parts."""
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def planned_app(
    uploads: list[UploadFile] | None = None, max_body_size: int = 4 * 2**20, **options: Any
) -> FastrAPI:
    app = FastrAPI(max_body_size=max_body_size, **options)

    @app.post("/files")
    async def files(
        title: Annotated[str, Form(max_length=10)],
        data: Annotated[bytes, File()],
        upload: UploadFile,
        more: list[UploadFile] | None = None,
    ) -> dict[str, object]:
        if uploads is not None:
            uploads.append(upload)
        return {
            "title": title,
            "data": len(data),
            "upload": [upload.filename, upload.content_type, upload.size, upload._in_memory],
            "head": (await upload.read(5)).decode(),
            "more": [m.filename for m in more or []],
        }

    @app.post("/login")
    async def login(data: Annotated[Login, Form()]) -> Login:
        return data

    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    return app


async def test_form_fields_files_and_lists(http: HTTP) -> None:
    big = b"B" * (2**20 + 10)  # past the spool size: on disk
    body = multipart(
        ("title", None, b"hello"),
        ("data", "d.bin", b"12345678"),
        ("upload", "big.bin", big),
        ("more", "m1.txt", b"a"),
        ("more", "m2.txt", b"b"),
    )
    uploads: list[UploadFile] = []
    with trio.fail_after(10):
        response = await http(
            planned_app(uploads),
            "POST",
            "/files",
            body=body,
            headers={"content-type": MULTIPART_TYPE},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "hello",
        "data": 8,
        "upload": ["big.bin", "application/octet-stream", len(big), False],
        "head": "BBBBB",
        "more": ["m1.txt", "m2.txt"],
    }
    assert uploads[0].file.closed  # closed after the response


async def test_form_errors_are_fastapis(http: HTTP) -> None:
    body = multipart(("title", None, b"far too long a title"), ("upload", None, b"text"))
    app = planned_app()
    with trio.fail_after(5):
        bad = await http(app, "POST", "/files", body=body, headers={"content-type": MULTIPART_TYPE})
        as_json = await http(
            app, "POST", "/files", body=b'{"title": "x"}', headers={"content-type": JSON}
        )
    assert bad.status_code == 422
    assert [(e["type"], e["loc"]) for e in bad.json()["detail"]] == [
        ("string_too_long", ["body", "title"]),
        ("missing", ["body", "data"]),
        ("value_error", ["body", "upload"]),
    ]
    assert as_json.status_code == 422  # a JSON body is no form: every field is missing
    assert [e["loc"] for e in as_json.json()["detail"]] == [
        ["body", "title"],
        ["body", "data"],
        ["body", "upload"],
    ]


async def test_form_model_forbids_extras(http: HTTP) -> None:
    app = planned_app()
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    with trio.fail_after(5):
        good = await http(app, "POST", "/login", body=b"username=a&password=b", headers=urlencoded)
        extra = await http(
            app, "POST", "/login", body=b"username=a&password=b&x=1", headers=urlencoded
        )
        missing = await http(app, "POST", "/login", body=b"username=a", headers=urlencoded)
    assert good.json() == {"username": "a", "password": "b"}
    assert extra.json()["detail"] == [
        {
            "type": "extra_forbidden",
            "loc": ["body", "x"],
            "msg": "Extra inputs are not permitted",
            "input": "1",
        }
    ]
    assert missing.json()["detail"] == [
        {
            "type": "missing",
            "loc": ["body", "password"],
            "msg": "Field required",
            "input": {"username": "a"},
        }
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (multipart(("title", None, b"t"), ("upload", "u", b"x"))[:-20], 400),  # truncated
        (b"--" + BOUNDARY.encode() + b"\r\nno headers end", 400),
        (multipart(("upload", "u", b"x" * 2000)), 413),  # over max_body_size
    ],
)
async def test_bad_multipart_bodies_on_a_planned_route(
    body: bytes, status: int, http: HTTP
) -> None:
    with trio.fail_after(10):
        response = await http(
            planned_app(max_body_size=1024),
            "POST",
            "/files",
            body=body,
            headers={"content-type": MULTIPART_TYPE},
        )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("content_type", "strict", "status", "error"),
    [
        (JSON, True, 200, None),
        ("application/geo+json; charset=utf-8", True, 200, None),
        ("text/plain", True, 422, "model_attributes_type"),
        ("application/not-really-json", True, 422, "model_attributes_type"),
        (None, True, 422, "model_attributes_type"),
        (None, False, 200, None),  # strict_content_type=False: no content type is JSON
        ("text/plain", False, 422, "model_attributes_type"),
    ],
)
async def test_json_needs_a_json_content_type(
    content_type: str | None, strict: bool, status: int, error: str | None, http: HTTP
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"name": "pen", "price": 2.5}'
    with trio.fail_after(5):
        response = await http(
            planned_app(strict_content_type=strict), "POST", "/items", body=body, headers=headers
        )
    assert response.status_code == status
    if error is None:
        assert response.json() == {"name": "pen", "price": 2.5}
    else:
        assert response.json()["detail"] == [
            {
                "type": error,
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": body.decode(),
            }
        ]


async def test_broken_json_and_null(http: HTTP) -> None:
    app = planned_app()
    with trio.fail_after(5):
        broken = await http(
            app, "POST", "/items", body=b"{some broken json}", headers={"content-type": JSON}
        )
        null = await http(app, "POST", "/items", body=b"null", headers={"content-type": JSON})
    assert broken.json()["detail"] == [
        {
            "type": "json_invalid",
            "loc": ["body", 1],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": "Expecting property name enclosed in double quotes"},
        }
    ]
    assert null.json()["detail"] == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    ]


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


async def test_dataclass_bodies_and_embedded_values(http: HTTP) -> None:
    app = FastrAPI()

    @app.post("/points")
    async def point(p: Point) -> Point:
        return Point(p.x * 2, p.y * 2)

    @app.post("/embedded")
    async def embedded(p: Annotated[Point, Body(embed=True)], n: Annotated[int, Body()]) -> int:
        return p.x + n

    with trio.fail_after(5):
        doubled = await http(
            app, "POST", "/points", body=b'{"x": 2}', headers={"content-type": JSON}
        )
        summed = await http(
            app,
            "POST",
            "/embedded",
            body=b'{"p": {"x": 1}, "n": 2}',
            headers={"content-type": JSON},
        )
        bad = await http(app, "POST", "/points", body=b'{"y": 1}', headers={"content-type": JSON})
    assert doubled.json() == {"x": 4, "y": 0}
    assert summed.json() == 3
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["body", "x"])


@pytest.mark.parametrize("server", ["native", "hypercorn"])
async def test_a_client_that_leaves_mid_upload_ends_the_request(server: ServerName) -> None:
    """The body stops before its Content-Length and the client half-closes: the handler never
    runs, nothing hangs and nothing is reported as a server error."""
    from fastrapi.testing import _serving

    ran: list[bool] = []

    @(app := planned_app()).post("/upload")
    async def upload(file: UploadFile) -> None:
        ran.append(True)  # pragma: no cover

    errors: list[Exception] = []
    part = multipart(("file", "f.bin", b"x" * 5000))[:3000]
    head = (
        f"POST /upload HTTP/1.1\r\nhost: t\r\ncontent-type: {MULTIPART_TYPE}\r\n"
        f"content-length: 5000\r\n\r\n"
    ).encode()
    with trio.fail_after(5):
        async with _serving(app, server, errors) as stream:
            await stream.send_all(head + part)
            await stream.send_eof()  # type: ignore[attr-defined]  # a half-closable stream
            received = b""
            while chunk := await stream.receive_some(65536):
                received += chunk
    assert ran == []
    assert errors == []
    assert not received.startswith(b"HTTP/1.1 500")


async def test_upload_file_in_memory_then_on_disk() -> None:
    import tempfile

    from fastrapi.datastructures import SPOOL_MAX_SIZE, Headers

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE)  # noqa: SIM115
    upload = UploadFile(
        spool,  # type: ignore[arg-type]  # a binary file object
        size=0,
        filename="a.bin",
        headers=Headers([("content-type", "application/octet-stream")]),
    )
    with trio.fail_after(5):
        await upload.write(b"abc")
        in_memory = [upload._in_memory]
        await upload.write(b"x" * SPOOL_MAX_SIZE)  # rolls over: the I/O moves to a thread
        in_memory.append(upload._in_memory)
        await upload.seek(0)
        head = await upload.read(3)
        await upload.close()
    assert (head, upload.size, upload.content_type) == (
        b"abc",
        3 + SPOOL_MAX_SIZE,
        "application/octet-stream",
    )
    assert in_memory == [True, False]
    assert upload.file.closed
    assert "a.bin" in repr(upload)


async def test_request_form_without_python_multipart(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fastrapi._forms import parse_form

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield b"a=1"

    monkeypatch.setitem(sys.modules, "python_multipart", None)
    monkeypatch.setitem(sys.modules, "python_multipart.multipart", None)
    with pytest.raises(RuntimeError, match='requires "python-multipart"'):
        await parse_form("application/x-www-form-urlencoded", chunks())


def _receiving(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


_CHUNKS = (
    {"type": "http.request", "body": b"ab", "more_body": True},
    {"type": "http.request", "body": b"", "more_body": True},
    {"type": "http.request", "body": b"c", "more_body": False},
)


async def test_body_joins_the_chunks_and_keeps_them() -> None:
    request = Request({"type": "http", "method": "POST"}, _receiving(*_CHUNKS))
    left = Request({"type": "http"}, _receiving({"type": "http.disconnect"}))
    with trio.fail_after(5):
        assert await request.body() == b"abc"
        assert await request.body() == b"abc"
        assert [chunk async for chunk in request.stream()] == [b"abc"]
        assert await left.body() == b""  # the client left before its body


async def test_body_over_the_limit_and_after_a_stream() -> None:
    request = Request({"type": "http"}, _receiving(*_CHUNKS), max_body_size=2)
    streamed = Request({"type": "http"}, _receiving(*_CHUNKS))
    with trio.fail_after(5):
        with pytest.raises(HTTPException) as caught:
            await request.body()
        assert caught.value.status_code == 413
        assert [chunk async for chunk in streamed.stream()] == [b"ab", b"c"]
        with pytest.raises(RuntimeError, match="streamed already"):
            await streamed.body()


async def test_a_subclass_body_comes_from_its_own_stream() -> None:
    class Shouting(Request):
        async def stream(self) -> AsyncGenerator[bytes, None]:
            async for chunk in super().stream():
                yield chunk.upper()

    with trio.fail_after(5):
        assert await Shouting({"type": "http"}, _receiving(*_CHUNKS)).body() == b"ABC"
