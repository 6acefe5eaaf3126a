"""``Security(dependency, scopes=[...])`` and ``SecurityScopes``: the scopes gathered along a
dependency chain, on HTTP routes and WebSocket handshakes, on both servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import pytest
import trio

from fastrapi import Depends, FastrAPI, HTTPException, Security, SecurityScopes, WebSocket
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import HTTP, Connect


def scopes_app() -> tuple[FastrAPI, list[str], Callable[..., str]]:
    """Routes whose dependencies need scopes; ``calls`` records each call of ``user``."""
    app = FastrAPI()
    calls: list[str] = []
    granted = {"ann": ["me", "items"], "bob": ["me"]}

    def user(scopes: SecurityScopes, name: str = "ann") -> str:
        calls.append(scopes.scope_str)
        missing = [s for s in scopes.scopes if s not in granted[name]]
        if missing:
            raise HTTPException(
                401, f"missing {' '.join(missing)}", {"WWW-Authenticate": scopes.scope_str}
            )
        return name

    def active(u: Annotated[str, Security(user, scopes=["me"])]) -> str:
        return u

    @app.get("/me")
    async def me(u: Annotated[str, Security(active, scopes=["me"])]) -> dict[str, str]:
        return {"user": u}

    @app.get("/items")
    async def items(u: Annotated[str, Security(active, scopes=["items"])]) -> dict[str, str]:
        return {"user": u}

    @app.get("/plain")
    async def plain(u: Annotated[str, Depends(user)], s: SecurityScopes) -> dict[str, object]:
        return {"user": u, "route": s.scopes}

    @app.get("/twice")
    async def twice(
        a: Annotated[str, Security(user, scopes=["me"])],
        b: Annotated[str, Security(user, scopes=["me"])],
        c: Annotated[str, Security(user, scopes=["items"])],
    ) -> list[str]:
        return [a, b, c]

    @app.websocket("/ws")
    async def ws_route(
        ws: WebSocket, u: Annotated[str, Security(active, scopes=["items"])]
    ) -> None:
        await ws.accept()
        await ws.send_json({"user": u})

    return app, calls, user


async def test_scopes_accumulate_outermost_first_each_once(http: HTTP) -> None:
    app, calls, _ = scopes_app()
    with trio.fail_after(5):
        me = await http(app, "GET", "/me")
        items = await http(app, "GET", "/items?name=ann")
    assert (me.status_code, me.json()) == (200, {"user": "ann"})
    assert (items.status_code, items.json()) == (200, {"user": "ann"})
    assert calls == ["me", "items me"]


async def test_a_missing_scope_is_refused_by_the_dependency(http: HTTP) -> None:
    app, _, _ = scopes_app()
    with trio.fail_after(5):
        response = await http(app, "GET", "/items?name=bob")
    assert response.status_code == 401
    assert response.json() == {"detail": "missing items"}
    assert response.headers["www-authenticate"] == "items me"


async def test_without_security_the_scopes_are_empty(http: HTTP) -> None:
    app, calls, _ = scopes_app()
    with trio.fail_after(5):
        response = await http(app, "GET", "/plain")
    assert response.json() == {"user": "ann", "route": []}
    assert calls == [""]


async def test_the_cache_is_per_set_of_scopes(http: HTTP) -> None:
    app, calls, _ = scopes_app()
    with trio.fail_after(5):
        response = await http(app, "GET", "/twice")
    assert response.json() == ["ann", "ann", "ann"]
    assert calls == ["me", "items"]  # the two "me" share a call


async def test_scopes_on_a_websocket_handshake(connect: Connect) -> None:
    app, calls, _ = scopes_app()
    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.receive_json() == {"user": "ann"}
        with pytest.raises(HandshakeRejected) as caught:
            async with connect(app, "/ws?name=bob"):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == 401
    assert caught.value.headers["www-authenticate"] == "items me"
    assert calls == ["items me", "items me"]


async def test_an_override_keeps_the_scopes(http: HTTP) -> None:
    app, _, user = scopes_app()
    seen: list[list[str]] = []

    def fake_user(scopes: SecurityScopes) -> str:
        seen.append(scopes.scopes)
        return "fake"

    app.dependency_overrides[user] = fake_user
    with trio.fail_after(5):
        response = await http(app, "GET", "/items")
    assert response.json() == {"user": "fake"}
    assert seen == [["items", "me"]]


async def test_route_dependencies_take_security_scopes(http: HTTP, connect: Connect) -> None:
    app = FastrAPI()
    seen: list[list[str]] = []

    def admin_only(scopes: SecurityScopes, role: str = "user") -> None:
        seen.append(scopes.scopes)
        if role not in scopes.scopes:
            raise HTTPException(403, "admins only", {"WWW-Authenticate": scopes.scope_str})

    @app.get("/admin", dependencies=[Security(admin_only, scopes=["admin"])])
    async def admin() -> str:
        return "ok"

    @app.websocket("/admin", dependencies=[Security(admin_only, scopes=["admin"])])
    async def admin_ws(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("ok")

    with trio.fail_after(5):
        refused = await http(app, "GET", "/admin")
        allowed = await http(app, "GET", "/admin?role=admin")
        async with connect(app, "/admin?role=admin") as client:
            assert await client.receive_text() == "ok"
        with pytest.raises(HandshakeRejected) as caught:
            async with connect(app, "/admin"):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert (refused.status_code, refused.headers["www-authenticate"]) == (403, "admin")
    assert (allowed.status_code, allowed.json()) == (200, "ok")
    assert caught.value.status_code == 403
    assert seen == [["admin"]] * 4
