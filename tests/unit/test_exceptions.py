"""The exception hierarchy and what each error says."""

from __future__ import annotations

import pytest

import fastrapi
from fastrapi import exceptions


def test_every_error_derives_from_fastrapi_error() -> None:
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.FastrapiError), name


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (exceptions.WebSocketDisconnect, ConnectionError),
        (exceptions.MessageDecodeError, ValueError),
        (exceptions.MessageTypeError, TypeError),
        (exceptions.RouteDefinitionError, ValueError),
        (exceptions.WebSocketStateError, RuntimeError),
    ],
)
def test_seed_catchable_as_builtins(error: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(error, builtin)


def test_disconnect_carries_code_and_reason() -> None:
    error = fastrapi.WebSocketDisconnect(4001, "bye")
    assert (error.code, error.reason) == (4001, "bye")
    assert str(error) == "WebSocket closed with code 4001: bye"
    assert str(fastrapi.WebSocketDisconnect()) == "WebSocket closed with code 1000"


def test_websocket_exception_validates_its_code() -> None:
    error = fastrapi.WebSocketException(4003, "forbidden")
    assert (error.code, error.reason, str(error)) == (4003, "forbidden", "4003: forbidden")
    assert str(fastrapi.WebSocketException(1008)) == "1008"
    with pytest.raises(ValueError, match="close code 1006 cannot be sent"):
        fastrapi.WebSocketException(1006)


def test_http_exception_defaults_to_the_status_phrase() -> None:
    assert fastrapi.HTTPException(404).detail == "Not Found"
    error = fastrapi.HTTPException(418, "teapot", headers={"x-a": "b"})
    assert (str(error), error.headers) == ("418: teapot", {"x-a": "b"})
