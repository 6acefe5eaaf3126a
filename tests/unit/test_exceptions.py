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


def test_http_exception_is_fastapis() -> None:
    error = fastrapi.HTTPException(status_code=404)
    assert (error.status_code, error.detail, error.headers) == (404, "Not Found", {})
    assert repr(error) == "HTTPException(status_code=404, detail='Not Found')"
    assert fastrapi.HTTPException(400, {"why": ["a"]}).detail == {"why": ["a"]}
    with pytest.raises(ValueError, match="599"):
        fastrapi.HTTPException(599)


def test_websocket_exception_reason_may_be_none() -> None:
    error = fastrapi.WebSocketException(code=1008, reason=None)
    assert (error.code, error.reason) == (1008, "")
    assert repr(error) == "WebSocketException(code=1008, reason='')"


ERRORS: list[dict[str, object]] = [
    {"type": "missing", "loc": ("query", "q"), "msg": "Field required", "input": None},
    {"type": "int_parsing", "loc": ("path", "n"), "msg": "Input should be an int", "input": "x"},
]


@pytest.mark.parametrize(
    "error",
    [
        exceptions.RequestValidationError,
        exceptions.WebSocketRequestValidationError,
        exceptions.ResponseValidationError,
    ],
)
def test_validation_errors_have_fastapis_shape(error: type[exceptions.ValidationException]) -> None:
    exc = error(ERRORS)
    assert isinstance(exc, exceptions.ValidationException)
    assert isinstance(exc, ValueError)
    assert exc.errors() == ERRORS
    assert str(exc).splitlines() == ["2 validation errors:", f"  {ERRORS[0]}", f"  {ERRORS[1]}"]
    assert exc.summary() == "query.q: Field required; path.n: Input should be an int"


def test_request_and_response_validation_errors_carry_the_body() -> None:
    assert exceptions.RequestValidationError(ERRORS, body={"a": 1}).body == {"a": 1}
    assert exceptions.RequestValidationError(ERRORS).body is None
    assert exceptions.ResponseValidationError(ERRORS, body=[1]).body == [1]
    assert not issubclass(
        exceptions.WebSocketRequestValidationError, exceptions.RequestValidationError
    )


def test_validation_error_names_its_endpoint() -> None:
    ctx = {"function": "read", "path": "GET /items", "file": "app.py", "line": 3}
    exc = exceptions.RequestValidationError(ERRORS[:1], endpoint_ctx=ctx)
    assert str(exc).splitlines() == [
        "1 validation error:",
        f"  {ERRORS[0]}",
        '  File "app.py", line 3, in read',
        "    GET /items",
    ]
    only_path = exceptions.ResponseValidationError([], endpoint_ctx={"path": "GET /x"})
    assert str(only_path).splitlines() == ["0 validation errors:", "  Endpoint: GET /x"]


def test_a_close_reason_is_cut_to_what_a_close_frame_carries() -> None:
    from fastrapi.exception_handlers import _truncated

    assert _truncated("query.n: Field required") == "query.n: Field required"
    cut = _truncated("é" * 100)
    assert len(cut.encode()) <= 123
    assert cut.endswith("...")
