"""Swapping the app's Hub for a test one: ``app.hub = Hub()`` reaches the routes declared
before, the app starts that one, and a wrong swap fails at once, saying how to do it."""

from __future__ import annotations

import pytest
import trio

from fastrapi import APIRouter, FastrAPI, Hub, WebSocket
from fastrapi.testclient import TestClient
from fastrapi.testing import http_request, open_websocket

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens there: using this Hub fails


def redis_app() -> FastrAPI:
    """An app whose Hub is on Redis, with a WebSocket room and an HTTP publisher that take
    the Hub as a parameter, one of them through an included router."""
    app = FastrAPI(hub=Hub(UNREACHABLE))
    router = APIRouter()

    @app.websocket("/rooms/{room}")
    async def room(ws: WebSocket, room: str, hub: Hub) -> None:
        await ws.accept()
        async with hub.join(room, ws):
            await ws.send_text("joined")
            async for text in ws.iter_text():
                await hub.publish(room, text)

    @router.post("/rooms/{room}")
    async def announce(room: str, text: str, hub: Hub) -> dict[str, int]:
        position = await hub.publish(room, text)
        return {"offset": position.offset}

    app.include_router(router)
    return app


async def test_a_hub_assigned_after_the_routes_is_the_one_they_get() -> None:
    app = redis_app()
    app.hub = hub = Hub()
    with trio.fail_after(10):
        async with open_websocket(app, "/rooms/a") as client:
            assert await client.receive_text() == "joined"
            await client.send_text("hi")
            assert await client.receive_text() == "hi"
            response = await http_request(app, "POST", "/rooms/a?text=news")
            assert response.status_code == 200, response.text
            assert await client.receive_text() == "news"
    assert app.hub is hub
    assert hub.statistics().published == 2


def test_the_app_starts_the_swapped_hub_not_the_one_it_was_made_with() -> None:
    app = redis_app()
    app.hub = Hub()
    # the Redis Hub, started, would wait for a server that is not there
    with TestClient(app) as client, client.websocket_connect("/rooms/a") as ws:
        assert ws.receive_text() == "joined"
        ws.send_text("hi")
        assert ws.receive_text() == "hi"


async def test_swapping_the_hub_of_a_running_app_is_refused() -> None:
    app = redis_app()
    app.hub = hub = Hub()
    with trio.fail_after(5):
        async with app.running():
            with pytest.raises(RuntimeError, match=r"cannot change while the app runs"):
                app.hub = Hub()
            app.hub = hub  # the same one: nothing changes
        app.hub = Hub()  # stopped: free again
    assert app.hub is not hub


def test_a_dependency_override_of_the_hub_fails_at_startup_saying_how() -> None:
    app = redis_app()
    app.dependency_overrides[Hub] = Hub
    with (
        pytest.raises(TypeError, match=r"swap it with app\.hub = Hub\(\)"),
        TestClient(app),
    ):
        pass


async def test_a_dependency_override_of_the_hub_fails_the_request_saying_how(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = redis_app()
    app.dependency_overrides[Hub] = Hub
    with trio.fail_after(5):
        response = await http_request(app, "POST", "/rooms/a?text=news")
        assert response.status_code == 500
        assert "the Hub is not a dependency to override" in caplog.text
        with pytest.raises(TypeError, match=r"swap it with app\.hub = Hub\(\)"):
            async with open_websocket(app, "/rooms/a"):
                pass


def test_a_hub_is_a_hub() -> None:
    app = redis_app()
    with pytest.raises(TypeError, match=r"app\.hub is a fastrapi\.Hub or None, not 'redis"):
        app.hub = UNREACHABLE  # type: ignore[assignment]  # what is tested
    with pytest.raises(TypeError, match=r"FastrAPI\(hub=\.\.\.\) takes a fastrapi\.Hub"):
        FastrAPI(hub=UNREACHABLE)  # type: ignore[arg-type]  # what is tested


def test_routes_that_take_the_hub_keep_it() -> None:
    app = redis_app()
    with pytest.raises(ValueError, match=r"route\(s\) /rooms/\{room\}, /rooms/\{room\} take it"):
        app.hub = None
    plain = FastrAPI(hub=Hub())

    @plain.get("/")
    async def index() -> str:
        return "no hub here"

    plain.hub = None
    assert plain.hub is None
