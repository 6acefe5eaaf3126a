"""The documentation pages (/docs, /redoc, the OAuth2 redirect) and the viewers' files the app
serves from the docs-ui extra, on both servers; the CDN fallback without the extra."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi import Depends, FastrAPI, HTTPException
from fastrapi.openapi import docs
from fastrapi.openapi.docs import (
    ASSETS_PATH,
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .conftest import HTTP


@pytest.fixture
def app() -> FastrAPI:
    app = FastrAPI(
        title="Shop",
        swagger_ui_parameters={"syntaxHighlight": {"theme": "obsidian"}, "deepLinking": False},
        swagger_ui_init_oauth={"clientId": "abc", "scopes": "read"},
    )

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


async def test_swagger_ui_page_uses_the_apps_own_files(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        page = await http(app, "GET", "/docs")
    text = page.body.decode()
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Shop - Swagger UI</title>" in text
    assert f'src="{ASSETS_PATH}/swagger-ui-bundle.js"' in text
    assert f'href="{ASSETS_PATH}/swagger-ui.css"' in text
    assert 'url: "/openapi.json",' in text
    assert '"syntaxHighlight": {"theme": "obsidian"},' in text
    assert '"deepLinking": false,' in text
    assert '"deepLinking": true' not in text
    assert '"dom_id": "#swagger-ui",' in text
    assert '"layout": "BaseLayout",' in text
    assert 'oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect"' in text
    assert 'ui.initOAuth({"clientId": "abc", "scopes": "read"})' in text
    assert "http" not in text.replace("http-equiv", "")  # no URL of another host


async def test_redoc_page_offline_without_fonts_or_logo(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        page = await http(app, "GET", "/redoc")
    text = page.body.decode()
    assert page.status_code == 200
    assert "<title>Shop - ReDoc</title>" in text
    assert '<redoc spec-url="/openapi.json"></redoc>' in text
    assert f'src="{ASSETS_PATH}/redoc.standalone.js"' in text
    assert "fonts.googleapis.com" not in text
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data:;" in policy  # Redoc's logo from Redocly's site: not loaded
    assert "connect-src 'self';" in policy


async def test_oauth2_redirect_page(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(5):
        page = await http(app, "GET", "/docs/oauth2-redirect")
    assert page.status_code == 200
    assert b"window.opener.swaggerUIRedirectOauth2" in page.body


async def test_assets_are_cacheable(app: FastrAPI, http: HTTP) -> None:
    with trio.fail_after(10):
        js = await http(app, "GET", f"{ASSETS_PATH}/redoc.standalone.js")
        again = await http(
            app,
            "GET",
            f"{ASSETS_PATH}/redoc.standalone.js",
            headers={"if-none-match": js.headers["etag"]},
        )
        css = await http(app, "HEAD", f"{ASSETS_PATH}/swagger-ui.css")
    assert js.status_code == 200
    assert js.body.startswith(b"/*")
    assert js.headers["content-type"] == "application/javascript; charset=utf-8"
    assert js.headers["cache-control"] == "public, max-age=86400"
    assert (again.status_code, again.body) == (304, b"")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize("name", ["nope.js", "..%2f..%2fpyproject.toml", "swagger-ui.css%00"])
async def test_unknown_asset_is_404(app: FastrAPI, http: HTTP, name: str) -> None:
    with trio.fail_after(5):
        response = await http(app, "GET", f"{ASSETS_PATH}/{name}")
    assert response.status_code == 404


async def test_pages_off_and_not_in_the_schema(http: HTTP) -> None:
    no_docs = FastrAPI(docs_url=None, redoc_url=None, asyncapi_docs_url=None)
    no_openapi = FastrAPI(openapi_url=None)
    no_redirect = FastrAPI(swagger_ui_oauth2_redirect_url=None)
    with trio.fail_after(5):
        assert (await http(no_docs, "GET", "/docs")).status_code == 404
        assert (await http(no_docs, "GET", "/redoc")).status_code == 404
        assert (await http(no_docs, "GET", f"{ASSETS_PATH}/swagger-ui.css")).status_code == 404
        assert (await http(no_openapi, "GET", "/docs")).status_code == 404
        assert (await http(no_redirect, "GET", "/docs/oauth2-redirect")).status_code == 404
        page = await http(no_redirect, "GET", "/docs")
    assert b"oauth2RedirectUrl" not in page.body
    app = FastrAPI()
    assert all(not getattr(route, "include_in_schema", False) for route in app.routes)


def test_custom_pages_take_their_urls_and_escape() -> None:
    swagger = get_swagger_ui_html(
        openapi_url="/api.json",
        title="A <b> & c",
        swagger_js_url="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui.css",
        swagger_favicon_url="/static/icon.png",
    ).body.decode()
    assert '<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js">' in swagger
    assert 'href="/static/swagger-ui.css"' in swagger
    assert 'href="/static/icon.png"' in swagger
    assert "<title>A &lt;b&gt; &amp; c</title>" in swagger
    assert "initOAuth" not in swagger
    assert "oauth2RedirectUrl" not in swagger
    redoc = get_redoc_html(
        openapi_url="https://api.example.com/openapi.json",
        title="R",
        redoc_js_url="https://unpkg.com/redoc@2/bundles/redoc.standalone.js",
    )
    assert b"https://unpkg.com/redoc@2/bundles/redoc.standalone.js" in redoc.body
    assert b"fonts.googleapis.com" in redoc.body  # FastAPI's default
    policy = redoc.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://unpkg.com;" in policy
    assert "connect-src 'self' https://api.example.com;" in policy
    assert "https://fonts.gstatic.com" in policy
    hostile = get_swagger_ui_html(openapi_url="</script><script>alert(1)", title="t")
    assert b"</script><script>alert(1)" not in hostile.body
    assert b"window.opener.swaggerUIRedirectOauth2" in get_swagger_ui_oauth2_redirect_html().body


@pytest.fixture
def without_extra(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if the docs-ui extra were not installed."""
    monkeypatch.setattr(docs, "_package_dir", lambda package: None)
    docs.local_files.cache_clear()
    yield
    monkeypatch.undo()
    docs.local_files.cache_clear()


@pytest.mark.usefixtures("without_extra")
async def test_without_the_extra_a_cdn_said_once(
    http: HTTP, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastrAPI()
    with caplog.at_level(logging.WARNING, "fastrapi"), trio.fail_after(5):
        page = await http(app, "GET", "/docs")
        redoc = await http(app, "GET", "/redoc")
        asset = await http(app, "GET", f"{ASSETS_PATH}/swagger-ui.css")
    assert b"https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in page.body
    assert b"https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js" in redoc.body
    assert "https://cdn.jsdelivr.net" in redoc.headers["content-security-policy"]
    assert asset.status_code == 404
    said = [r for r in caplog.records if "fastrapi-trio[docs-ui]" in r.getMessage()]
    assert len(said) == 1


async def test_pages_take_no_app_dependencies_and_follow_root_path(http: HTTP) -> None:
    async def refuse() -> None:
        raise HTTPException(401, "no")

    app = FastrAPI(root_path="/api", dependencies=[Depends(refuse)])

    @app.get("/items")
    async def items() -> list[int]:
        return []

    with trio.fail_after(5):
        swagger = await http(app, "GET", "/docs")
        redoc = await http(app, "GET", "/redoc")
        asyncapi = await http(app, "GET", "/asyncapi")
        document = await http(app, "GET", "/asyncapi.json")
        asset = await http(app, "GET", f"{ASSETS_PATH}/swagger-ui.css")
        guarded = await http(app, "GET", "/items")
    assert guarded.status_code == 401
    assert [swagger.status_code, redoc.status_code, asyncapi.status_code] == [200, 200, 200]
    assert (document.status_code, asset.status_code) == (200, 200)
    assert b'url: "/api/openapi.json"' in swagger.body
    assert f'src="/api{ASSETS_PATH}/swagger-ui-bundle.js"'.encode() in swagger.body
    assert b'"/api/docs/oauth2-redirect"' in swagger.body
    assert b'<redoc spec-url="/api/openapi.json">' in redoc.body
    assert b'<asyncapi-viewer src="/api/asyncapi.json"' in asyncapi.body
