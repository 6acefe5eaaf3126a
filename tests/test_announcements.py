"""The tests the Testing page shows: ``examples/announcements.py``, whose Hub is on Redis where
it is deployed, tested on a memory Hub and with test settings, through each kind of client."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from fastrapi import FastrAPI, Hub
from fastrapi.testclient import TestClient
from fastrapi.testing import http_request, open_live_server, open_websocket
from tests.test_examples import load

if TYPE_CHECKING:
    from types import ModuleType


@pytest.fixture
def announcements() -> ModuleType:
    """The app's module, loaded afresh for each test (in your tests: ``import myapp``)."""
    return load("announcements")


@pytest.fixture
def app(announcements: ModuleType) -> FastrAPI:
    """The app with a memory Hub in place of the one it was made with, test settings."""
    app: FastrAPI = announcements.app
    app.hub = Hub()
    test_settings = announcements.Settings(admin_token="t0ken")
    app.dependency_overrides[announcements.get_settings] = lambda: test_settings
    return app


def test_an_announcement_reaches_the_room(app: FastrAPI) -> None:
    with TestClient(app) as client, client.websocket_connect("/rooms/lobby") as ws:
        assert ws.receive_json() == {"joined": "lobby"}
        response = client.post(
            "/rooms/lobby/announce", params={"text": "hello"}, headers={"token": "t0ken"}
        )
        assert response.json() == {"offset": 1}
        assert ws.receive_json() == {"room": "lobby", "text": "hello", "from": "admin"}


async def test_members_hear_each_other(app: FastrAPI) -> None:
    with trio.fail_after(5):
        async with (
            open_websocket(app, "/rooms/lobby") as ann,
            open_websocket(app, "/rooms/lobby") as bob,
        ):
            assert await ann.receive_json() == {"joined": "lobby"}
            assert await bob.receive_json() == {"joined": "lobby"}
            await ann.send_text("hi")
            assert await bob.receive_json() == {"room": "lobby", "text": "hi"}
            assert await ann.receive_json() == {"room": "lobby", "text": "hi"}


async def test_only_the_admin_announces(app: FastrAPI) -> None:
    with trio.fail_after(5):
        response = await http_request(
            app, "POST", "/rooms/lobby/announce?text=hi", headers={"token": "change me"}
        )
    assert response.status_code == 403
    assert response.json() == {"detail": "only the admin announces"}


async def test_over_a_real_socket(app: FastrAPI) -> None:
    with trio.fail_after(10):
        async with (
            open_live_server(app) as server,
            open_websocket_url(server.url("/rooms/lobby", scheme="ws")) as ws,
            httpx.AsyncClient(base_url=server.url()) as client,
        ):
            assert json.loads(await ws.get_message()) == {"joined": "lobby"}
            url = "/rooms/lobby/announce"
            await client.post(url, params={"text": "hi"}, headers={"token": "t0ken"})
            assert json.loads(await ws.get_message())["text"] == "hi"
