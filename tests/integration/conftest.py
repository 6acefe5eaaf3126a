"""Every loopback test runs against both servers."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["native", "hypercorn"])
def server_name(request: pytest.FixtureRequest) -> str:
    """The server to run the app on: fastrapi's own, or Hypercorn's trio worker."""
    name: str = request.param
    return name
