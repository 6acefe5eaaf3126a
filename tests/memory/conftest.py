"""Every in-memory test runs with both WebSocket codecs."""

from __future__ import annotations

import pytest

from fastrapi.server import _codec


@pytest.fixture(autouse=True, params=["websockets", "wsproto"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The codec ``ws="auto"`` picks: websockets, or wsproto as where websockets is missing."""
    if request.param == "wsproto":
        monkeypatch.setattr(_codec, "HAVE_WEBSOCKETS", False)
    name: str = request.param
    return name
