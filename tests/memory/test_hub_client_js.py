"""The browser client, ``fastrapi/static/hub.js``, as a router with a hub route serves it at
``/_fastrapi/hub.js``: the file as shipped, a JavaScript type, an ETag that answers 304, under
the router's prefix, once, and nowhere without a hub route."""

from __future__ import annotations

import trio

from fastrapi import Depends, FastrAPI, HTTPException, Hub
from fastrapi.hub._browser import CLIENT_FILE, CLIENT_PATH
from fastrapi.routing import APIRoute, APIRouter
from fastrapi.testing import http_request


def refuse() -> None:
    raise HTTPException(401, "the router's dependencies are not the client file's")


async def test_an_app_with_a_hub_route_serves_the_client_with_an_etag() -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/realtime", dependencies=[Depends(refuse)])
    with trio.fail_after(10):
        response = await http_request(app, "GET", CLIENT_PATH)
        assert response.status_code == 200
        assert response.body == CLIENT_FILE.read_bytes()
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        etag = response.headers["etag"]
        again = await http_request(app, "GET", CLIENT_PATH, headers={"if-none-match": etag})
        assert (again.status_code, again.body, again.headers["etag"]) == (304, b"", etag)
        stale = await http_request(app, "GET", CLIENT_PATH, headers={"if-none-match": '"old"'})
        assert (stale.status_code, stale.body) == (200, CLIENT_FILE.read_bytes())
        head = await http_request(app, "HEAD", CLIENT_PATH)
        assert (head.status_code, head.body) == (200, b"")
        assert head.headers["content-length"] == str(CLIENT_FILE.stat().st_size)
        post = await http_request(app, "POST", CLIENT_PATH)
        assert post.status_code == 405
    assert "/_fastrapi/hub.js" not in app.openapi()["paths"]


async def test_the_client_is_the_module_the_docs_import() -> None:
    source = CLIENT_FILE.read_text()
    assert "export class HubClient extends EventTarget" in source
    assert "import " not in source.split("*/", 1)[1]  # no dependency: nothing imported


async def test_two_hub_routes_serve_it_once_and_a_router_under_its_prefix() -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/one")
    app.hub_route("/two")
    served = [r for r in app.routes if isinstance(r, APIRoute) and r.path == CLIENT_PATH]
    assert len(served) == 1
    router = APIRouter(prefix="/api")
    router.hub_route("/realtime")
    other = FastrAPI(hub=Hub())
    other.include_router(router)
    with trio.fail_after(10):
        found = await http_request(other, "GET", "/api/_fastrapi/hub.js")
        assert (found.status_code, found.body) == (200, CLIENT_FILE.read_bytes())
        assert (await http_request(other, "GET", CLIENT_PATH)).status_code == 404


async def test_an_app_without_a_hub_route_does_not_serve_it() -> None:
    app = FastrAPI(hub=Hub())
    with trio.fail_after(10):
        assert (await http_request(app, "GET", CLIENT_PATH)).status_code == 404
