"""Request forms (``_forms.py``), urlencoded and multipart, fed bodies a hostile client could
send, cut into chunks at arbitrary points.

The property: a body is a :class:`FormData` or an ``HTTPException`` (400 malformed, 415 not a
form); nothing else raises, and the files made for a refused body are closed. A well formed
multipart body gives back its fields and files as they were sent.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import trio
from hypothesis import example, given
from hypothesis import strategies as st

from fastrapi._forms import parse_form
from fastrapi.datastructures import FormData, UploadFile
from fastrapi.exceptions import HTTPException
from tests.fuzz.conftest import memory_kept

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

BOUNDARY = b"fUzZbOuNdArY"
# (a browser sends a line break in a name or file name as %0D%0A: none here)
names = st.one_of(
    st.sampled_from(["a", "b", "file", ""]),
    st.text(st.characters(blacklist_characters="\r\n"), max_size=6),
)
field_values = st.one_of(
    st.binary(max_size=30),
    # near the delimiter, not it (a client picks a boundary that is not in the data)
    st.sampled_from([b"\r\n--" + BOUNDARY[:-1], b"x--" + BOUNDARY, b"\r\n", b"--", b"\r"]),
)


@st.composite
def parts(draw: st.DrawFn) -> tuple[str, bytes, str | None]:
    filename = draw(st.one_of(st.none(), names))
    return draw(names), draw(field_values), filename


def quoted(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace('"', '\\"').encode()


def multipart(items: list[tuple[str, bytes, str | None]]) -> bytes:
    body = b""
    for name, value, filename in items:
        disposition = b'form-data; name="%s"' % quoted(name)
        if filename is not None:
            disposition += b'; filename="%s"' % quoted(filename)
        body += b"--%s\r\nContent-Disposition: %s\r\n\r\n%s\r\n" % (BOUNDARY, disposition, value)
    return body + b"--%s--\r\n" % BOUNDARY


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes, list[tuple[str, bytes, str | None]] | None]:
    """A content type and a body: a multipart body (sent as made, or damaged in one place), an
    urlencoded one, or bytes. The parts too when the body is sent as made."""
    kind = draw(st.sampled_from(["multipart", "multipart", "urlencoded", "other"]))
    if kind == "urlencoded":
        return "application/x-www-form-urlencoded", draw(st.binary(max_size=40)), None
    if kind == "other":
        content_type = draw(
            st.sampled_from(
                [
                    "multipart/form-data",
                    "multipart/form-data; boundary=",
                    'multipart/form-data; boundary="unterminated',
                    "text/plain",
                    "",
                    ";;;",
                ]
            )
        )
        return content_type, draw(st.binary(max_size=40)), None
    items = draw(st.lists(parts(), max_size=4))
    body = multipart(items)
    damage = draw(st.sampled_from(["none", "none", "change", "cut", "truncate", "junk header"]))
    at = draw(st.integers(0, len(body) - 1))
    if damage == "change":
        body = body[:at] + draw(st.binary(min_size=1, max_size=1)) + body[at + 1 :]
    elif damage == "cut":
        body = body[:at] + body[at + draw(st.integers(1, 6)) :]
    elif damage == "truncate":
        body = body[:at]
    elif damage == "junk header":
        body = body.replace(b"\r\n\r\n", b"\r\n" + draw(st.binary(max_size=12)) + b"\r\n\r\n", 1)
    content_type = f"multipart/form-data; boundary={BOUNDARY.decode()}"
    return content_type, body, items if damage == "none" else None


async def chunked(body: bytes, cuts: list[int]) -> AsyncGenerator[bytes, None]:
    for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True):
        if a < b:
            yield body[a:b]


async def parse(content_type: str, body: bytes, cuts: list[int]) -> FormData | HTTPException:
    with trio.fail_after(10):
        try:
            return await parse_form(content_type, chunked(body, sorted(cuts)))
        except HTTPException as exc:
            refused = exc
    assert refused.status_code in (400, 415), refused
    return refused


@given(bodies(), st.lists(st.integers(0, 200), max_size=4))
@example(("multipart/form-data; boundary=fUzZbOuNdArY", b"--fUzZbOuNdArY--\r\n", []), [])
async def test_a_body_is_a_form_or_a_400(
    made: tuple[str, bytes, list[tuple[str, bytes, str | None]] | None], cuts: list[int]
) -> None:
    content_type, body, items = made
    form = await parse(content_type, body, cuts)
    if isinstance(form, FormData):
        await form.close()
    if items is None:
        return
    assert isinstance(form, FormData)
    got = form.multi_items()
    assert [name for name, _ in got] == [name for name, _, _ in items]
    for (_, value), (_, sent, filename) in zip(got, items, strict=True):
        if filename is None:
            assert value == sent.decode("utf-8", "replace")
        else:
            assert isinstance(value, UploadFile)
            assert value.filename == filename
            assert value.file.closed  # (closed above)


async def test_the_files_of_a_refused_body_are_closed() -> None:
    body = multipart([("f", b"data", "f.txt")])[:-5]  # no closing boundary
    seen: list[UploadFile] = []
    original = UploadFile.__init__

    def spy(self: UploadFile, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]  # the same arguments
        seen.append(self)

    UploadFile.__init__ = spy  # type: ignore[method-assign]  # watch the files made
    try:
        refused = await parse(f"multipart/form-data; boundary={BOUNDARY.decode()}", body, [7])
    finally:
        UploadFile.__init__ = original  # type: ignore[method-assign]
    assert isinstance(refused, HTTPException)
    assert refused.status_code == 400
    assert [f.file.closed for f in seen] == [True]


def test_forms_give_memory_back() -> None:
    inputs = [multipart([("a", b"x" * n, None), ("f", b"y" * n, "f.txt")]) for n in range(30)]
    inputs += [b"--" + BOUNDARY + b"\r\njunk"] * 10

    def run(body: object) -> object:
        assert isinstance(body, bytes)

        async def once() -> None:
            form = await parse(f"multipart/form-data; boundary={BOUNDARY.decode()}", body, [9])
            if isinstance(form, FormData):
                await form.close()

        with contextlib.suppress(HTTPException):
            trio.run(once)
        return None

    assert memory_kept(run, inputs) < 32 * 1024
