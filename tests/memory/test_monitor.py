"""app.statistics(), the log lines of WebSockets and HTTP requests, and Prometheus metrics."""

from __future__ import annotations

import logging
import re

import pytest
import trio

from fastrapi import FastrAPI, Hub, SlowConsumerError, WebSocket
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


def metric(text: str, name: str) -> float:
    """The value of the sample ``name`` (with its labels, as exposed) in ``text``."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in {text}"
    return float(found[1])


def hub_app() -> FastrAPI:
    app = FastrAPI(hub=Hub(), metrics_path="/metrics")

    @app.websocket("/room")
    async def room(ws: WebSocket, hub: Hub) -> None:
        await ws.accept()
        async with hub.join("lobby", ws):
            await ws.send_text("joined")
            async for text in ws.iter_text():
                await hub.publish("lobby", text)

    return app


async def test_hub_deliveries_opens_and_the_hub_are_in_the_metrics() -> None:
    pytest.importorskip("prometheus_client")
    app = hub_app()
    assert app.hub is not None
    route = '{route="/room"}'
    with trio.fail_after(5):
        async with app.running():
            async with open_websocket(app, "/room") as client:
                assert await client.receive_text() == "joined"
                for text in ("one", "two", "three"):
                    await client.send_text(text)
                    assert await client.receive_text() == text  # a Hub delivery
                async with (
                    app.hub.subscribe("lobby", max_pending=1, policy="drop_newest"),
                    app.hub.subscribe("lobby", max_pending=1, policy="drop_oldest"),
                    app.hub.subscribe("lobby", max_pending=1) as evicted,
                ):
                    for n in range(3):
                        await app.hub.publish("lobby", n)
                    with pytest.raises(SlowConsumerError):
                        async for _ in evicted:
                            pass
                    for n in range(3):  # the WebSocket's deliveries
                        assert await client.receive_text() == str(n)
                    during = (await http_request(app, "GET", "/metrics")).text
                    stats = app.statistics()
            after = (await http_request(app, "GET", "/metrics")).text
    # while the connection was open: seen as it opened, per route and per worker
    assert metric(during, f"fastrapi_websocket_opened_total{route}") == 1
    assert metric(during, f"fastrapi_websocket_connections{route}") == 1
    assert metric(during, f"fastrapi_worker_websocket_connections{route}") == 1
    assert metric(during, "fastrapi_hub_topics") == 1
    assert metric(during, "fastrapi_hub_members") == 3  # the evicted one is out
    assert metric(during, "fastrapi_hub_pending") == 2  # the two drop subscriptions' one each
    assert metric(during, "fastrapi_hub_pending_bytes") == 2
    assert metric(during, "fastrapi_hub_redis_available") == 1  # memory: always
    assert (stats.hub_dropped, stats.hub_evicted, stats.hub_pending) == (4, 1, 2)
    # published: three by the client, three by the test; each delivered to the WebSocket
    assert metric(after, "fastrapi_hub_published_total") == 6
    # and to the subscriptions: drop_newest took the first, drop_oldest each (two of them
    # then dropped), close the first
    assert metric(after, "fastrapi_hub_delivered_total") == 6 + 1 + 3 + 1
    assert metric(after, 'fastrapi_hub_dropped_total{policy="drop_newest"}') == 2
    assert metric(after, 'fastrapi_hub_dropped_total{policy="drop_oldest"}') == 2
    assert metric(after, 'fastrapi_hub_evicted_total{policy="close"}') == 1
    assert metric(after, "fastrapi_hub_redis_outages_total") == 0
    assert metric(after, "fastrapi_hub_members") == 0
    out = metric(after, 'fastrapi_websocket_messages_total{direction="out",route="/room"}')
    assert out == 1 + 6  # "joined", and the Hub's six deliveries
    assert metric(after, f"fastrapi_websocket_connections{route}") == 0
    assert metric(after, f"fastrapi_websocket_opened_total{route}") == 1


async def test_hub_figures_are_copied_again_only_by_what_grew() -> None:
    pytest.importorskip("prometheus_client")
    app = hub_app()
    assert app.hub is not None
    with trio.fail_after(5):
        async with app.running():
            await app.hub.publish("lobby", "one")
            first = (await http_request(app, "GET", "/metrics")).text
            second = (await http_request(app, "GET", "/metrics")).text  # nothing new
            await app.hub.publish("lobby", "two")
            third = (await http_request(app, "GET", "/metrics")).text
            app.hub._published = 1  # a Hub that started again counts from zero: all of it
            fourth = (await http_request(app, "GET", "/metrics")).text
    published = [metric(text, "fastrapi_hub_published_total") for text in (first, second, third)]
    assert published == [1, 1, 2]
    assert metric(fourth, "fastrapi_hub_published_total") == 3


async def test_a_failing_copy_of_the_hub_figures_is_reported_and_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("prometheus_client")
    app = hub_app()

    class Broken:
        def statistics(self) -> None:
            raise RuntimeError("no figures")

    with trio.fail_after(5):  # the worker's system task: it returns, it does not raise
        await app.monitor._sync(Broken(), trio.CancelScope())  # type: ignore[arg-type]  # a Hub that fails
    assert "the Hub's metrics are no longer copied" in caplog.text
    assert "no figures" in caplog.text
