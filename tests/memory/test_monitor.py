"""app.statistics(), the log lines of WebSockets and HTTP requests, and Prometheus metrics."""

from __future__ import annotations

import logging
import re

import pytest
import trio

from fastrapi import FastrAPI, WebSocket
from fastrapi.testing import http_request, open_websocket


def echo_app(**options: object) -> FastrAPI:
    app = FastrAPI(**options)  # type: ignore[arg-type]  # the tests pass FastrAPI's own options

    @app.websocket("/echo/{room}")
    async def echo(ws: WebSocket, room: str) -> None:
        await ws.accept()
        while (text := await ws.receive_text()) != "quit":
            if text == "ping":
                await ws.ping()
            await ws.send_text(text)

    @app.get("/items/{item}")
    async def item(item: int) -> dict[str, int]:
        return {"item": item}

    return app


async def test_statistics_count_open_connections_messages_and_close_codes() -> None:
    app = echo_app(ping_interval=None)
    with trio.fail_after(5):
        async with open_websocket(app, "/echo/a") as client:
            for text in ("one", "ping"):
                await client.send_text(text)
                assert await client.receive_text() == text
            open_now = app.statistics()
            await client.close(4000, "bye")
        async with open_websocket(app, "/echo/b") as client:
            await client.send_text("quit")
            assert (await client.wait_closed()).code == 1000
    assert dict(open_now.connections_open) == {"/echo/{room}": 1}
    assert (open_now.messages_in, open_now.messages_out) == (2, 2)
    assert open_now.ping_rtt_last is not None
    assert open_now.ping_rtt_max == open_now.ping_rtt_last
    ended = app.statistics()
    assert dict(ended.connections_open) == {"/echo/{room}": 0}
    assert ended.connections_total == 2
    assert (ended.messages_in, ended.messages_out) == (3, 2)
    assert dict(ended.close_codes) == {4000: 1, 1000: 1}
    assert ended.ping_rtt_last is None  # measured on open connections only
    assert (ended.hub_dropped, ended.hub_evicted, ended.hub_pending) == (0, 0, 0)


async def test_one_line_per_websocket_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fastrapi.websocket")
    app = echo_app()
    with trio.fail_after(5):
        async with open_websocket(app, "/echo/a") as client:
            await client.send_text("hi")
            await client.receive_text()
            await client.close(4000, "bye")
        async with open_websocket(app, "/echo/b") as client:
            await client.send_text("quit")
            await client.wait_closed()
    lines = [r.getMessage() for r in caplog.records if r.name == "fastrapi.websocket"]
    assert len(lines) == 2
    assert re.fullmatch(
        r"WebSocket /echo/\{room\} \S+ closed by client 4000 'bye' after \d+\.\d{3}s, 1 in, 1 out",
        lines[0],
    )
    assert re.fullmatch(
        r"WebSocket /echo/\{room\} \S+ closed by server 1000 after \d+\.\d{3}s, 1 in, 0 out",
        lines[1],
    )


async def test_a_server_end_is_logged_with_its_code(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.INFO, logger="fastrapi.websocket")
    app = echo_app(idle_timeout=30)
    with trio.fail_after(60):
        async with open_websocket(app, "/echo/a") as client:
            await client.wait_closed()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "fastrapi.websocket"]
    assert "closed by server 1001 'idle timeout' after 30.000s, 0 in, 0 out" in line


async def test_an_access_line_per_http_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fastrapi.access")
    app = echo_app()
    with trio.fail_after(5):
        assert (await http_request(app, "GET", "/items/7?x=1")).status_code == 200
        assert (await http_request(app, "GET", "/items/seven")).status_code == 422
    lines = [r.getMessage() for r in caplog.records if r.name == "fastrapi.access"]
    assert re.fullmatch(r'\S+ "GET /items/7\?x=1 HTTP/1.1" 200 10 \d+\.\dms', lines[0])
    assert '"GET /items/seven HTTP/1.1" 422 ' in lines[1]


async def test_access_log_none_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = echo_app(access_log=None)
    with trio.fail_after(5):
        await http_request(app, "GET", "/items/1")
        async with open_websocket(app, "/echo/a") as client:
            await client.send_text("quit")
            await client.wait_closed()
    assert [r for r in caplog.records if r.name in ("fastrapi.access", "fastrapi.websocket")] == []
    assert app.statistics().connections_total == 1  # counted all the same


async def test_access_log_at_another_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fastrapi.access")
    app = echo_app(access_log=logging.DEBUG)
    with trio.fail_after(5):
        await http_request(app, "GET", "/items/1")
    assert [r.levelno for r in caplog.records if r.name == "fastrapi.access"] == [logging.DEBUG]


async def test_refused_handshake_is_logged_and_not_counted_as_a_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fastrapi.websocket")
    app = FastrAPI()

    @app.websocket("/no")
    async def refuse(ws: WebSocket) -> None:
        await ws.close()

    from fastrapi.testing import HandshakeRejected

    with trio.fail_after(5), pytest.raises(HandshakeRejected):
        async with open_websocket(app, "/no"):
            pass
    assert [r.getMessage() for r in caplog.records][-1].endswith("refused")
    assert dict(app.statistics().close_codes) == {}


async def test_prometheus_endpoint() -> None:
    pytest.importorskip("prometheus_client")  # in the test group; the extra `metrics`
    app = echo_app(metrics_path="/metrics")
    with trio.fail_after(5):
        async with open_websocket(app, "/echo/a") as client:
            await client.send_text("hi")
            await client.receive_text()
            await client.close(4000)
        await http_request(app, "GET", "/items/1")
        response = await http_request(app, "GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'fastrapi_websocket_closed_total{by="client",code="4000",route="/echo/{room}"} 1.0' in text
    )
    assert 'fastrapi_websocket_messages_total{direction="in",route="/echo/{room}"} 1.0' in text
    assert 'fastrapi_websocket_connections{route="/echo/{room}"} 0.0' in text
    assert 'fastrapi_http_requests_total{method="GET",status="200"} 1.0' in text


def test_metrics_without_prometheus_client_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    app = echo_app(metrics_path="/metrics")
    with pytest.raises(RuntimeError, match=r"pip install 'fastrapi-trio\[metrics\]'"):
        app.monitor.prometheus  # noqa: B018  # the property makes the metrics
