"""`fastrapi run` with real processes: workers on one port, their supervisor, and its errors."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from .processes import APP, ROOT, fastrapi_run, start_workers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT workers are Linux's"),
]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_two_workers_share_the_port_and_a_signal_closes_every_client_with_1001(
    signum: int,
) -> None:
    with trio.fail_after(60):
        async with fastrapi_run("--workers", "2", "--shutdown-timeout", "2") as (process, out):
            port, pids = await start_workers(out, 2)
            answered: set[int] = set()
            while answered != set(pids.values()):  # new connections reach both workers
                answered.add(
                    int(await trio.to_thread.run_sync(get, f"http://127.0.0.1:{port}/pid"))
                )

            def clients() -> list[int | None]:
                with contextlib.ExitStack() as stack:
                    url = f"ws://127.0.0.1:{port}/ws"
                    sockets: list[ClientConnection] = []
                    served_by: set[int] = set()
                    while served_by != set(pids.values()) or len(sockets) < 4:
                        ws = stack.enter_context(connect(url))
                        ws.send("pid")
                        served_by.add(int(ws.recv(timeout=5)))  # open WebSockets on both
                        sockets.append(ws)
                    process.send_signal(signum)
                    codes = []
                    for ws in sockets:
                        with pytest.raises(ConnectionClosed):
                            ws.recv(timeout=10)
                        codes.append(ws.close_code)
                    return codes

            codes = await trio.to_thread.run_sync(clients)
            assert await process.wait() == 0
            await out.wait_for(rb"every worker has stopped")
    assert set(codes) == {1001}


async def test_serving_on_is_said_once_with_the_worker_count() -> None:
    with trio.fail_after(60):
        async with fastrapi_run("--workers", "2") as (process, out):
            await start_workers(out, 2)
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
            await out.wait_for(rb"every worker has stopped")
    lines = [line for line in out.seen.decode().splitlines() if "serving on" in line]
    assert len(lines) == 1
    assert re.search(r"serving on http://127\.0\.0\.1:\d+ with 2 workers", lines[0])


async def test_metrics_of_every_worker_in_one_scrape() -> None:
    # prometheus-client's multiprocess mode: a scrape reaches one worker, which reads the files
    # of all of them (the supervisor sets PROMETHEUS_MULTIPROC_DIR before it starts them)
    with trio.fail_after(60):
        async with fastrapi_run("--workers", "2") as (process, out):
            port, pids = await start_workers(out, 2)
            answered: list[int] = []
            while set(answered) != set(pids.values()):
                answered.append(
                    int(await trio.to_thread.run_sync(get, f"http://127.0.0.1:{port}/pid"))
                )
            for scrape in range(3):  # whichever worker answers, it counts every worker's
                metrics = await trio.to_thread.run_sync(get, f"http://127.0.0.1:{port}/metrics")
                pattern = r'fastrapi_http_requests_total\{method="GET",status="200"\} (\S+)'
                found = re.search(pattern, metrics)
                assert found is not None, metrics
                assert float(found[1]) == len(answered) + scrape  # the earlier scrapes too
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


async def test_a_killed_worker_is_replaced() -> None:
    with trio.fail_after(60):
        async with fastrapi_run("--workers", "2", "--shutdown-timeout", "1") as (process, out):
            port, pids = await start_workers(out, 2)
            os.kill(pids[1], signal.SIGKILL)
            await out.wait_for(rb"worker 1 \(pid %d\) was killed by SIGKILL; restarting" % pids[1])
            found = await out.wait_for(rb"worker 1 \(pid (\d+)\) is serving", len(out.seen))
            assert int(found[1]) != pids[1]
            assert await trio.to_thread.run_sync(get, f"http://127.0.0.1:{port}/") == "ok"
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("nowhere:app", "fastrapi: cannot import 'nowhere': no module named 'nowhere'"),
        ("tests.integration.served_app:nothing", "has no attribute 'nothing'"),
        ("tests.integration.served_app:echo", "is a function, not a FastrAPI app"),
        ("served_app", "app must look like module:attribute"),
    ],
)
async def test_a_bad_app_is_one_line_and_status_1(app: str, message: str) -> None:
    with trio.fail_after(30):
        result = await trio.run_process(
            [sys.executable, "-m", "fastrapi", "run", app],
            cwd=ROOT,
            check=False,
            capture_stderr=True,
        )
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1
    assert message in lines[0]


async def test_a_port_in_use_is_one_line_and_status_1_with_workers() -> None:
    import socket

    with socket.socket() as busy, trio.fail_after(30):
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = await trio.run_process(
            [sys.executable, "-m", "fastrapi", "run", APP, "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            check=False,
            capture_stderr=True,
        )
    assert result.returncode == 1
    assert (
        result.stderr.decode()
        == f"fastrapi: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )


APP_SOURCE = """
from fastrapi import FastrAPI, PlainTextResponse

app = FastrAPI()


@app.get("/", response_class=PlainTextResponse)
async def index() -> str:
    return {text!r}
"""


async def test_reload_restarts_the_server_when_a_file_changes(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")  # in the test group; the extra `reload`
    module = tmp_path / "reloaded_app.py"
    module.write_text(APP_SOURCE.format(text="one"))
    with trio.fail_after(60):
        running = fastrapi_run(
            "--reload", "--shutdown-timeout", "1", app="reloaded_app:app", cwd=tmp_path
        )
        async with running as (process, out):
            port = int((await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)"))[1])
            assert await trio.to_thread.run_sync(get, f"http://127.0.0.1:{port}/") == "one"
            module.write_text(APP_SOURCE.format(text="two"))
            seen = len(out.seen)
            await out.wait_for(rb"reloading: .*reloaded_app\.py changed", seen)
            found = await out.wait_for(rb"serving on http://127\.0\.0\.1:(\d+)", seen)
            url = f"http://127.0.0.1:{int(found[1])}/"
            assert await trio.to_thread.run_sync(get, url) == "two"
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


async def test_workers_that_cannot_start_stop_the_supervisor_with_status_1(
    tmp_path: Path,
) -> None:
    (tmp_path / "failing_app.py").write_text(
        "from fastrapi import FastrAPI\n\n"
        "def fail() -> None:\n"
        "    raise RuntimeError('no database')\n\n"
        "app = FastrAPI(on_startup=[fail])\n"
    )
    command = [sys.executable, "-m", "fastrapi", "run", "failing_app:app", "--port", "0"]
    with trio.fail_after(30):
        result = await trio.run_process(
            [*command, "--workers", "2"], cwd=tmp_path, check=False, capture_stderr=True
        )
    err = result.stderr.decode()
    assert result.returncode == 1
    assert re.search(r"worker \d \(pid \d+\) exited with 1 before it served: stopping", err), err
    assert "RuntimeError: no database" in err  # the worker's log says why


async def test_the_console_script_is_the_command() -> None:
    script = Path(sys.executable).with_name("fastrapi")  # installed by `pip install`
    assert script.exists(), "pip install -e . makes the fastrapi console script"
    with trio.fail_after(30):
        result = await trio.run_process(
            [str(script), "run", "nowhere:app"], cwd=ROOT, check=False, capture_stderr=True
        )
    assert result.returncode == 1
    assert (
        result.stderr.decode() == "fastrapi: cannot import 'nowhere': no module named 'nowhere'\n"
    )


async def test_a_worker_that_does_not_stop_in_time_is_killed(tmp_path: Path) -> None:
    (tmp_path / "stuck_app.py").write_text(
        "import trio\n"
        "from fastrapi import FastrAPI, WebSocket\n\n"
        "app = FastrAPI()\n\n\n"
        "@app.websocket('/stuck')\n"
        "async def stuck(ws: WebSocket) -> None:\n"
        "    await ws.accept()\n"
        "    await ws.send_text('in')\n"
        "    with trio.CancelScope(shield=True):  # deaf to the shutdown\n"
        "        await trio.sleep(600)\n"
    )
    with trio.fail_after(60):
        running = fastrapi_run(
            "--workers", "2", "--shutdown-timeout", "0.2", app="stuck_app:app", cwd=tmp_path
        )
        async with running as (process, out):
            port, _ = await start_workers(out, 2)

            def open_stuck() -> None:
                with connect(f"ws://127.0.0.1:{port}/stuck") as ws:
                    assert ws.recv(timeout=5) == "in"
                    process.send_signal(signal.SIGTERM)
                    with pytest.raises(ConnectionClosed):
                        ws.recv(timeout=30)

            await trio.to_thread.run_sync(open_stuck)
            assert await process.wait() == 0
            await out.wait_for(rb"worker \d \(pid \d+\) did not stop: killed")


async def test_workers_shut_down_when_the_supervisor_is_killed() -> None:
    with trio.fail_after(60):
        async with fastrapi_run("--workers", "2", "--shutdown-timeout", "1") as (process, out):
            await start_workers(out, 2)
            process.kill()  # SIGKILL: the supervisor cannot tell anyone
            assert await process.wait() == -signal.SIGKILL
            await out.wait_for(rb"(?s)(the supervisor is gone: shutting down.*){2}")
            while await out.stream.receive_some():
                pass  # the end of the output: the workers, who hold it too, are exiting
            assert b"Traceback" not in out.seen


async def test_workers_of_an_app_with_a_memory_hub_are_warned_of() -> None:
    with trio.fail_after(60):
        env = {k: v for k, v in os.environ.items() if k != "FASTRAPI_HUB_URL"}
        command = ("--workers", "2", "--shutdown-timeout", "1")
        async with fastrapi_run(*command, app="examples.chat_hub:app", env=env) as (process, out):
            await out.wait_for(rb"the app's Hub has no Redis URL: each worker keeps its own topics")
            await start_workers(out, 2)
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
