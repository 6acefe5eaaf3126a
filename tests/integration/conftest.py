"""Every loopback test runs against both servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio

if TYPE_CHECKING:
    from fastrapi import FastrAPI


@pytest.fixture(params=["native", "hypercorn"])
def server_name(request: pytest.FixtureRequest) -> str:
    """The server to run the app on: fastrapi's own, or Hypercorn's trio worker."""
    name: str = request.param
    return name


async def all_gone(app: FastrAPI) -> None:
    """Wait until the app's connection has ended: its handler returned and its tasks are gone
    (the caller bounds the wait)."""
    # a poll: the statistics have no event to wait for, and the server is in this process
    while any((stats := app.statistics()).connections_open.values()):  # noqa: ASYNC110
        await trio.sleep(0.01)
    assert stats.connections_total == 1
