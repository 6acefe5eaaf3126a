"""The browser's client of the hub protocol: ``fastrapi/static/hub.js``, one ES module with no
dependencies, which every router with a hub route serves at :data:`CLIENT_PATH` (under its
prefix), so a page imports it from the server it talks to::

    import { HubClient } from "/_fastrapi/hub.js";

The file is served by :class:`~fastrapi.responses.FileResponse`, with its ``ETag``: the
``Cache-Control: no-cache`` has a browser ask again each time and get 304 while it is the same,
so a new release reaches the page at its next load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..responses import FileResponse
from ..routing import APIRoute

if TYPE_CHECKING:
    from ..routing import APIRouter

CLIENT_PATH: Final = "/_fastrapi/hub.js"
"""Where a router with a hub route serves the browser client."""
CLIENT_FILE: Final = Path(__file__).parents[1] / "static" / "hub.js"
"""The browser client, shipped in the package."""
_HEADERS: Final = {"cache-control": "no-cache"}


async def hub_js() -> FileResponse:
    """The browser client of the ``fastrapi.hub.v1`` protocol (an ES module)."""
    return FileResponse(CLIENT_FILE, media_type="text/javascript; charset=utf-8", headers=_HEADERS)


def add_client_route(router: APIRouter) -> None:
    """Serve the browser client at :data:`CLIENT_PATH` under ``router``'s prefix, once: not in
    the schema, and none of the router's dependencies apply to it (a page loads it before it
    can send credentials). Called by ``hub_route``, when the route is declared."""
    path = router._full_path(CLIENT_PATH)
    if any(isinstance(route, APIRoute) and route.path == path for route in router.routes):
        return
    router._add(APIRoute(path, hub_js, include_in_schema=False, namespace=globals()))
