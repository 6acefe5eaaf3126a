"""StaticFiles mounted on an app, on both servers: types, caching, HEAD, streaming, no escape."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi import FastrAPI, RouteDefinitionError
from fastrapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import HTTP


@pytest.fixture
def site(tmp_path: Path) -> FastrAPI:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<p>home</p>")
    (root / "app.js").write_text("let x = 1;")
    (root / "big.bin").write_bytes(bytes(range(256)) * 1024)  # 256 KiB: several chunks
    (root / "sub" / "index.html").write_text("<p>sub</p>")
    (tmp_path / "secret.txt").write_text("do not serve")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    (root / "inside").symlink_to(root / "app.js")
    app = FastrAPI()
    app.mount("/static", StaticFiles(directory=root, html=True, chunk_size=10_000))
    return app


async def test_files_with_type_length_and_validators(site: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        js = await http(site, "GET", "/static/app.js")
        big = await http(site, "GET", "/static/big.bin")
        sub = await http(site, "GET", "/static/sub/")
        linked = await http(site, "GET", "/static/inside")
    assert (js.status_code, js.body) == (200, b"let x = 1;")
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert js.headers["content-length"] == "10"
    assert js.headers["etag"].startswith('"')
    assert js.headers["last-modified"].endswith(" GMT")
    assert big.body == bytes(range(256)) * 1024
    assert big.headers["content-type"] == "application/octet-stream"
    assert sub.body == b"<p>sub</p>"
    assert linked.body == b"let x = 1;"  # a link that stays inside is fine


async def test_304_from_etag_or_date_and_head(site: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        first = await http(site, "GET", "/static/index.html")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        by_tag = await http(site, "GET", "/static/index.html", headers={"if-none-match": etag})
        by_date = await http(
            site, "GET", "/static/index.html", headers={"if-modified-since": modified}
        )
        stale = await http(site, "GET", "/static/index.html", headers={"if-none-match": '"x"'})
        bad_date = await http(
            site, "GET", "/static/index.html", headers={"if-modified-since": "yesterday"}
        )
        head = await http(site, "HEAD", "/static/index.html")
    assert (by_tag.status_code, by_tag.body, by_tag.headers["etag"]) == (304, b"", etag)
    assert (by_date.status_code, by_date.body) == (304, b"")
    assert (stale.status_code, stale.body) == (200, b"<p>home</p>")
    assert bad_date.status_code == 200
    assert (head.status_code, head.body, head.headers["content-length"]) == (200, b"", "11")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub%2F..%2F..%2Fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/escape",
        "/static/missing.txt",
        "/static/app.js%00.html",
    ],
)
async def test_nothing_outside_is_served(site: FastrAPI, path: str, http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(site, "GET", path)
    assert response.status_code in (400, 404)
    assert b"do not serve" not in response.body


async def test_only_get_and_head(site: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(site, "POST", "/static/app.js")
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")


def test_directory_must_exist_and_mount_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a directory"):
        StaticFiles(directory=tmp_path / "nope")
    app = FastrAPI()
    for bad in ("static", "/static/"):
        with pytest.raises(RouteDefinitionError, match="mount path"):
            app.mount(bad, StaticFiles(directory=tmp_path))


async def test_a_directory_without_html_is_a_404(tmp_path: Path, http: HTTP) -> None:
    (tmp_path / "d").mkdir()
    app = FastrAPI()
    app.mount("/files", StaticFiles(directory=tmp_path))
    with trio.fail_after(5):
        response = await http(app, "GET", "/files/d")
    assert response.status_code == 404


async def test_ranges_of_a_static_file(site: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        part = await http(site, "GET", "/static/app.js", headers={"range": "bytes=4-4"})
        past = await http(site, "GET", "/static/app.js", headers={"range": "bytes=100-"})
    assert (part.status_code, part.body) == (206, b"x")
    assert part.headers["content-range"] == "bytes 4-4/10"
    assert past.status_code == 416
