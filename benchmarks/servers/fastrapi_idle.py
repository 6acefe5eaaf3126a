"""fastrapi for the idle-connection benchmark: ``python fastrapi_idle.py PORT PING_INTERVAL
PING_TIMEOUT [LATENESS_FILE]``. The app of ``fastrapi_app.py`` (``/ws`` echoes), with the
server pinging every connection (its protocol pings, the attendant's timers) as a deployment
with the default options does, only more often.

With ``LATENESS_FILE``, one timer in ``SAMPLE`` of the server's attendant (pings, pong checks)
records how late it ran (the time it ran minus its deadline, in seconds), and every full
(generation 2) collection of the garbage collector its length; when the server has shut down
(SIGTERM) they are written there, one a line: ``late WHEN SECONDS`` and ``gc WHEN SECONDS``,
``WHEN`` on ``time.monotonic()`` (the benchmark's clock). Only the sampled timers carry the
wrapper, so the memory per connection is not changed by it.
"""

from __future__ import annotations

import gc
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import trio
from fastrapi_app import app

from fastrapi._attendant import Attendant

if TYPE_CHECKING:
    from collections.abc import Callable

SAMPLE: Final = 16
late: list[tuple[float, float]] = []
full_collections: list[tuple[float, float]] = []
_scheduled = 0
_call_at = Attendant.call_at


def _timed(deadline: float, callback: Callable[[], None]) -> None:
    late.append((time.monotonic(), trio.current_time() - deadline))
    callback()


_gc_began = 0.0


def _on_gc(phase: str, info: dict[str, int]) -> None:
    global _gc_began
    if info["generation"] != 2:
        return
    if phase == "start":
        _gc_began = time.monotonic()
    else:
        full_collections.append((_gc_began, time.monotonic() - _gc_began))


def _sampling_call_at(self: Attendant, deadline: float, callback: Callable[[], None]) -> int:
    global _scheduled
    _scheduled += 1
    if _scheduled % SAMPLE == 0:
        callback = partial(_timed, deadline, callback)
    return _call_at(self, deadline, callback)


if __name__ == "__main__":
    port, interval, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    if len(sys.argv) > 4:
        Attendant.call_at = _sampling_call_at  # type: ignore[method-assign]  # the measurement
        gc.callbacks.append(_on_gc)
    app.serve("127.0.0.1", port, ping_interval=interval, ping_timeout=timeout)
    if len(sys.argv) > 4:
        Path(sys.argv[4]).write_text(
            "".join(f"late {when:.6f} {value:.6f}\n" for when, value in late)
            + "".join(f"gc {when:.6f} {length:.6f}\n" for when, length in full_collections)
        )
