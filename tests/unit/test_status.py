"""fastrapi.status: the constants FastAPI and Starlette name, with the right values."""

from __future__ import annotations

import http

import fastrapi
from fastrapi import CloseCode, status


def test_importable_as_fastapi_does() -> None:
    from fastrapi.status import HTTP_200_OK

    assert fastrapi.status is status
    assert HTTP_200_OK == 200
    assert status.WS_1000_NORMAL_CLOSURE == 1000


def test_every_http_constant_matches_its_name_and_the_registry() -> None:
    known = {s.value for s in http.HTTPStatus}
    http_names = [n for n in status.__all__ if n.startswith("HTTP_")]
    assert len(http_names) >= 60
    for name in http_names:
        value = getattr(status, name)
        assert name.split("_")[1] == str(value)
        assert value in known or value == 306  # 306 is "reserved" (unused) in the registry


def test_every_close_code_matches_the_enum() -> None:
    ws_names = [n for n in status.__all__ if n.startswith("WS_")]
    assert len(ws_names) == 15
    for name in ws_names:
        assert CloseCode(getattr(status, name)) == int(name.split("_")[1])


def test_renamed_statuses_keep_both_names() -> None:
    assert status.HTTP_422_UNPROCESSABLE_ENTITY == status.HTTP_422_UNPROCESSABLE_CONTENT == 422
    assert status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == status.HTTP_413_CONTENT_TOO_LARGE
    assert status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE == status.HTTP_416_RANGE_NOT_SATISFIABLE
