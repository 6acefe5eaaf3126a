"""The documentation pages: Swagger UI (``/docs``), Redoc (``/redoc``), Swagger UI's OAuth2
redirect page, and the AsyncAPI viewer (``/asyncapi``), as FastAPI's
``fastapi.openapi.docs`` makes the first three.

The pages' scripts and styles come from the ``docs-ui`` extra (``pip install
fastrapi-trio[docs-ui]``: the ``swagger-ui-bundle-v2``, ``openapi-ui-bundles`` and
``asyncapi-viewer`` packages, which ship them) and the app serves them itself under
:data:`ASSETS_PATH`, with an ``ETag``, so the pages work with no internet. Without the extra
they come from a CDN (said once in the log). Nothing is ever downloaded by fastrapi.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from ..encoders import jsonable_encoder
from ..exceptions import HTTPException
from ..requests import Request  # noqa: TC001 (the planner resolves it)
from ..responses import FileResponse, HTMLResponse, JSONResponse
from ..routing import APIRoute

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import FastrAPI

__all__ = [
    "ASSETS_PATH",
    "get_asyncapi_html",
    "get_redoc_html",
    "get_swagger_ui_html",
    "get_swagger_ui_oauth2_redirect_html",
    "swagger_ui_default_parameters",
]

logger: Final = logging.getLogger("fastrapi")

ASSETS_PATH: Final = "/_fastrapi/docs-ui"
"""Where the app serves the viewers' files (``{ASSETS_PATH}/swagger-ui-bundle.js``...)."""

swagger_ui_default_parameters: Final[dict[str, Any]] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
}
"""Swagger UI's options that ``swagger_ui_parameters`` add to or replace (FastAPI's)."""

# The viewers' files: the name served -> (the package that ships it, a glob in that package,
# its media type, the CDN URL used when the package is missing).
_FILES: Final[dict[str, tuple[str, str, str, str]]] = {
    "swagger-ui-bundle.js": (
        "swagger_ui_bundle",
        "vendor/swagger-ui-*/swagger-ui-bundle.js",
        "application/javascript; charset=utf-8",
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
    ),
    "swagger-ui.css": (
        "swagger_ui_bundle",
        "vendor/swagger-ui-*/swagger-ui.css",
        "text/css; charset=utf-8",
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css",
    ),
    "favicon.png": (
        "swagger_ui_bundle",
        "vendor/swagger-ui-*/favicon-32x32.png",
        "image/png",
        "https://fastapi.tiangolo.com/img/favicon.png",
    ),
    "redoc.standalone.js": (
        "openapi_ui_bundles",
        "redoc/vendor/redoc.standalone.js",
        "application/javascript; charset=utf-8",
        "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
    ),
    "asyncapi-viewer.js": (
        "asyncapi_viewer",
        "static/asyncapi-viewer.iife.js",
        "application/javascript; charset=utf-8",
        "https://cdn.jsdelivr.net/npm/asyncapi-viewer@2/dist/asyncapi-viewer.iife.js",
    ),
    "asyncapi-theme.css": (
        "asyncapi_viewer",
        "static/asyncapi-theme.css",
        "text/css; charset=utf-8",
        "https://cdn.jsdelivr.net/npm/asyncapi-viewer@2/theme/asyncapi-theme.css",
    ),
}

_CACHE_CONTROL: Final = {"cache-control": "public, max-age=86400"}


def _package_dir(package: str) -> Path | None:
    """Where an installed package's files are, without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def local_files() -> dict[str, Path]:
    """The viewers' files this installation has (the ``docs-ui`` extra), by served name.

    A missing package is logged once (its files then come from a CDN).
    """
    found: dict[str, Path] = {}
    missing: set[str] = set()
    for name, (package, pattern, _, _) in _FILES.items():
        root = _package_dir(package)
        matches = sorted(root.glob(pattern)) if root is not None else []
        if matches:
            found[name] = matches[-1]  # the newest version folder, if there are several
        else:
            missing.add(package.replace("_", "-"))
    if missing:
        logger.warning(
            "the API documentation pages load %s from a CDN: install fastrapi-trio[docs-ui] "
            "(%s) to serve them from the app",
            ", ".join(sorted(n for n in _FILES if n not in found)),
            ", ".join(sorted(missing)),
        )
    return found


def asset_url(name: str, root_path: str = "") -> str:
    """The URL of a viewer's file: the app's own (under ``root_path`` + :data:`ASSETS_PATH`)
    when the ``docs-ui`` extra is installed, else the CDN's."""
    if name in local_files():
        return f"{root_path}{ASSETS_PATH}/{name}"
    return _FILES[name][3]


def _js(value: object) -> str:
    """``value`` as JSON safe inside a ``<script>`` element."""
    text = json.dumps(jsonable_encoder(value))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def get_swagger_ui_html(
    *,
    openapi_url: str,
    title: str,
    swagger_js_url: str | None = None,
    swagger_css_url: str | None = None,
    swagger_favicon_url: str | None = None,
    oauth2_redirect_url: str | None = None,
    init_oauth: dict[str, Any] | None = None,
    swagger_ui_parameters: dict[str, Any] | None = None,
) -> HTMLResponse:
    """A Swagger UI page for the OpenAPI document at ``openapi_url`` (FastAPI's).

    Args:
        openapi_url: The document's URL.
        title: The page's title.
        swagger_js_url: Swagger UI's script (default: the app's copy, else a CDN's).
        swagger_css_url: Swagger UI's style sheet (likewise).
        swagger_favicon_url: The page's icon (likewise).
        oauth2_redirect_url: The OAuth2 redirect page's path, for "Authorize".
        init_oauth: Passed to Swagger UI's ``initOAuth`` (``clientId``, ``scopes``...).
        swagger_ui_parameters: Swagger UI's options, added to or replacing
            :data:`swagger_ui_default_parameters`.
    """
    parameters = {**swagger_ui_default_parameters, **(swagger_ui_parameters or {})}
    options = "".join(f"        {_js(key)}: {_js(value)},\n" for key, value in parameters.items())
    if oauth2_redirect_url:
        options += (
            f"        oauth2RedirectUrl: window.location.origin + {_js(oauth2_redirect_url)},\n"
        )
    oauth = f"    ui.initOAuth({_js(init_oauth)})\n" if init_oauth else ""
    css = swagger_css_url or asset_url("swagger-ui.css")
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<link type="text/css" rel="stylesheet" href="{_attr(css)}">
<link rel="shortcut icon" href="{_attr(swagger_favicon_url or asset_url("favicon.png"))}">
<title>{html.escape(title)}</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{_attr(swagger_js_url or asset_url("swagger-ui-bundle.js"))}"></script>
<script>
    const ui = SwaggerUIBundle({{
        url: {_js(openapi_url)},
{options}        presets: [
            SwaggerUIBundle.presets.apis,
            SwaggerUIBundle.SwaggerUIStandalonePreset
        ],
    }})
{oauth}</script>
</body>
</html>
"""
    return HTMLResponse(page)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, or ``""`` for one on this site."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _policy(scripts: list[str], fetched: list[str], fonts: bool) -> str:
    """A Content-Security-Policy allowing this site, the scripts' and the documents' hosts."""
    script = " ".join(["'self'", "'unsafe-inline'", *filter(None, map(_origin, scripts))])
    connect = " ".join(["'self'", *filter(None, map(_origin, fetched))])
    style = "'self' 'unsafe-inline'" + (" https://fonts.googleapis.com" if fonts else "")
    font = "'self' data:" + (" https://fonts.gstatic.com" if fonts else "")
    return (
        f"default-src 'self'; script-src {script}; style-src {style}; font-src {font}; "
        f"img-src 'self' data:; connect-src {connect}; worker-src 'self' blob:"
    )


def get_redoc_html(
    *,
    openapi_url: str,
    title: str,
    redoc_js_url: str | None = None,
    redoc_favicon_url: str | None = None,
    with_google_fonts: bool = True,
) -> HTMLResponse:
    """A Redoc page for the OpenAPI document at ``openapi_url`` (FastAPI's).

    The page's Content-Security-Policy lets it load only from this site, the script's host
    and the document's: Redoc's sidebar logo, fetched from Redocly's site on every view, is
    not loaded (Redoc has no option to turn it off).

    Args:
        openapi_url: The document's URL.
        title: The page's title.
        redoc_js_url: Redoc's script (default: the app's copy, else a CDN's).
        redoc_favicon_url: The page's icon (likewise).
        with_google_fonts: Load the Montserrat and Roboto fonts from Google Fonts.
    """
    script = redoc_js_url or asset_url("redoc.standalone.js")
    fonts = (
        '<link href="https://fonts.googleapis.com/css?family=Montserrat:300,400,700|'
        'Roboto:300,400,700" rel="stylesheet">\n'
        if with_google_fonts
        else ""
    )
    page = f"""<!DOCTYPE html>
<html>
<head>
<title>{html.escape(title)}</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
{fonts}<link rel="shortcut icon" href="{_attr(redoc_favicon_url or asset_url("favicon.png"))}">
<style>
  body {{
    margin: 0;
    padding: 0;
  }}
</style>
</head>
<body>
<noscript>
    ReDoc requires Javascript to function. Please enable it to browse the documentation.
</noscript>
<redoc spec-url="{_attr(openapi_url)}"></redoc>
<script src="{_attr(script)}"></script>
</body>
</html>
"""
    policy = _policy([script], [openapi_url], with_google_fonts)
    return HTMLResponse(page, headers={"content-security-policy": policy})


def get_swagger_ui_oauth2_redirect_html() -> HTMLResponse:
    """The page an OAuth2 provider redirects to after "Authorize" in Swagger UI: it hands
    the code or token it was given back to the Swagger UI window that opened it."""
    page = """<!doctype html>
<html lang="en-US">
<head><title>Swagger UI: OAuth2 Redirect</title></head>
<body>
<script>
    "use strict";
    (function () {
        const oauth2 = window.opener.swaggerUIRedirectOauth2;
        const given = /code|token|error/.test(window.location.hash)
            ? window.location.hash.substring(1).replace("?", "&")
            : window.location.search.substring(1);
        const answer = Object.fromEntries(new URLSearchParams(given));
        const flow = oauth2.auth.schema.get("flow");
        const byCode = ["accessCode", "authorizationCode", "authorization_code"];
        const stateOk = answer.state === oauth2.state;
        if (byCode.includes(flow) && !oauth2.auth.code) {
            if (!stateOk) {
                oauth2.errCb({
                    authId: oauth2.auth.name, source: "auth", level: "warning",
                    message: "Authorization may be unsafe: the state sent differs from"
                        + " the one received."
                });
            }
            if (answer.code) {
                delete oauth2.state;
                oauth2.auth.code = answer.code;
                oauth2.callback({auth: oauth2.auth, redirectUrl: oauth2.redirectUrl});
            } else {
                const why = answer.error
                    ? "[" + answer.error + "]: " + (answer.error_description || "")
                    + (answer.error_uri ? " More info: " + answer.error_uri : "")
                    : "no code was received from the server";
                oauth2.errCb({
                    authId: oauth2.auth.name, source: "auth", level: "error", message: why
                });
            }
        } else {
            oauth2.callback({
                auth: oauth2.auth, token: answer, isValid: stateOk,
                redirectUrl: oauth2.redirectUrl
            });
        }
        window.close();
    })();
</script>
</body>
</html>
"""
    return HTMLResponse(page)


def get_asyncapi_html(
    *,
    asyncapi_url: str,
    title: str,
    viewer_js_url: str | None = None,
    viewer_css_url: str | None = None,
    favicon_url: str | None = None,
) -> HTMLResponse:
    """A page rendering the AsyncAPI document at ``asyncapi_url`` with the
    ``<asyncapi-viewer>`` element (the ``asyncapi-viewer`` package's).

    Args:
        asyncapi_url: The document's URL.
        title: The page's title.
        viewer_js_url: The viewer's script (default: the app's copy, else a CDN's).
        viewer_css_url: The viewer's theme (likewise).
        favicon_url: The page's icon (likewise).
    """
    script = viewer_js_url or asset_url("asyncapi-viewer.js")
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="shortcut icon" href="{_attr(favicon_url or asset_url("favicon.png"))}">
<link rel="stylesheet" href="{_attr(viewer_css_url or asset_url("asyncapi-theme.css"))}">
<script defer src="{_attr(script)}"></script>
</head>
<body>
<asyncapi-viewer src="{_attr(asyncapi_url)}" sidebar></asyncapi-viewer>
</body>
</html>
"""
    policy = _policy([script], [asyncapi_url], fonts=False)
    return HTMLResponse(page, headers={"content-security-policy": policy})


def _own(app: FastrAPI, path: str, handler: Callable[..., Any]) -> None:
    """Add one of the app's own routes: not in the schema, and none of the router's options
    (``dependencies``...) apply to it, as in FastAPI."""
    app.router._add(APIRoute(path, handler, include_in_schema=False, namespace=globals()))


def _root(request: Request) -> str:
    """The path the app is served under (behind a proxy), for the pages' own URLs."""
    return str(request.scope.get("root_path", "")).rstrip("/")


async def _asset(name: str) -> FileResponse:
    """One of the viewers' files, by its served name (never a path)."""
    path = local_files().get(name)
    if path is None:
        raise HTTPException(404, "Not Found")
    return FileResponse(path, media_type=_FILES[name][2], headers=_CACHE_CONTROL)


def add_docs_routes(app: FastrAPI) -> None:
    """Add the app's documentation routes (none in the schema): the viewers' files,
    ``docs_url``, ``swagger_ui_oauth2_redirect_url``, ``redoc_url`` where ``openapi_url`` is
    set, as FastAPI's do, and ``asyncapi_url`` and ``asyncapi_docs_url``. Called once, when
    the app is made."""
    document_url, page_url = app.asyncapi_url, app.asyncapi_docs_url
    if document_url:

        async def asyncapi_document() -> JSONResponse:
            return JSONResponse(app.asyncapi())

        _own(app, document_url, asyncapi_document)
    asyncapi_page = bool(document_url and page_url)
    if document_url and page_url:

        async def asyncapi_html(request: Request) -> HTMLResponse:
            root = _root(request)
            return get_asyncapi_html(
                asyncapi_url=f"{root}{document_url}",
                title=f"{app.title} - AsyncAPI",
                viewer_js_url=asset_url("asyncapi-viewer.js", root),
                viewer_css_url=asset_url("asyncapi-theme.css", root),
                favicon_url=asset_url("favicon.png", root),
            )

        _own(app, page_url, asyncapi_html)
    openapi_pages = app.openapi_url and (app.docs_url or app.redoc_url)
    if openapi_pages or asyncapi_page:
        _own(app, f"{ASSETS_PATH}/{{name}}", _asset)
    if not openapi_pages:
        return
    if app.docs_url:

        async def swagger_ui_html(request: Request) -> HTMLResponse:
            root = _root(request)
            redirect = app.swagger_ui_oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=asset_url("swagger-ui-bundle.js", root),
                swagger_css_url=asset_url("swagger-ui.css", root),
                swagger_favicon_url=asset_url("favicon.png", root),
                oauth2_redirect_url=f"{root}{redirect}" if redirect else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )

        _own(app, app.docs_url, swagger_ui_html)
        if app.swagger_ui_oauth2_redirect_url:

            async def swagger_ui_redirect() -> HTMLResponse:
                return get_swagger_ui_oauth2_redirect_html()

            _own(app, app.swagger_ui_oauth2_redirect_url, swagger_ui_redirect)
    if app.redoc_url:

        async def redoc_html(request: Request) -> HTMLResponse:
            root = _root(request)
            local = "redoc.standalone.js" in local_files()
            return get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=asset_url("redoc.standalone.js", root),
                redoc_favicon_url=asset_url("favicon.png", root),
                with_google_fonts=not local,  # offline: the fonts Redoc falls back to
            )

        _own(app, app.redoc_url, redoc_html)
