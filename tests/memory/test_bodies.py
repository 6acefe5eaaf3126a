"""Request bodies: body(), json(), form() (urlencoded, multipart), stream(), max_body_size."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi import FastrAPI, Request
from fastrapi.datastructures import UploadFile

if TYPE_CHECKING:
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


def make_app() -> FastrAPI:
    app = FastrAPI(max_body_size=1024)

    @app.post("/form")
    async def form(request: Request) -> dict[str, object]:
        data = await request.form()
        out: dict[str, object] = {}
        for key, value in data.multi_items():
            if isinstance(value, UploadFile):
                out[key] = [value.filename, value.content_type, value.content.decode()]
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
