"""The attendant's timers (``_attendant.py``): order, cancelling, and entries the garbage
collector stops tracking."""

from __future__ import annotations

import gc

import trio
import trio.testing

from fastrapi._attendant import Attendant


async def test_timers_run_in_deadline_order_and_a_cancelled_one_never_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    attendant = Attendant()
    ran: list[tuple[str, float]] = []

    def timer(name: str) -> None:
        ran.append((name, trio.current_time()))

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(attendant.run)
            now = trio.current_time()
            attendant.call_at(now + 3, lambda: timer("late"))
            cancelled = attendant.call_at(now + 1, lambda: timer("cancelled"))
            attendant.call_at(now + 2, lambda: timer("first of a tie"))
            attendant.call_at(now + 2, lambda: timer("second of a tie"))
            attendant.cancel(cancelled)
            attendant.cancel(cancelled)  # twice, or after it ran: nothing
            await trio.sleep(5)
            nursery.cancel_scope.cancel()
    assert ran == [
        ("first of a tie", now + 2),
        ("second of a tie", now + 2),
        ("late", now + 3),
    ]


def test_a_waiting_timer_holds_no_object_the_collector_tracks() -> None:
    # thousands of connections re-arm a timer every ping interval: entries the collector
    # tracked would be promoted and set off full collections (see the module's doc)
    attendant = Attendant()
    callback = print  # long-lived, as a connection's bound timer callback is
    attendant.call_at(1e9, callback)
    (entry,) = attendant._timers
    gc.collect()
    assert not gc.is_tracked(entry)
