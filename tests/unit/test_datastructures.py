"""Headers, query parameters, cookies, addresses."""

from __future__ import annotations

from fastrapi.datastructures import Address, Headers, QueryParams, parse_cookies


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    headers = Headers.from_raw([(b"X-A", b"1"), (b"x-a", b"2"), (b"Host", b"h")])
    assert headers["X-a"] == "2"
    assert headers.getlist("X-A") == ["1", "2"]
    assert "HOST" in headers
    assert object() not in headers
    assert len(headers) == 2
    assert sorted(headers) == ["host", "x-a"]
    assert headers.multi_items() == [("x-a", "1"), ("x-a", "2"), ("host", "h")]
    assert repr(Headers([])) == "Headers([])"


def test_query_params() -> None:
    params = QueryParams.from_query_string(b"a=1&b=x%20y&a=3&empty=")
    assert params["a"] == "3"
    assert params.getlist("a") == ["1", "3"]
    assert params["b"] == "x y"
    assert params["empty"] == ""
    assert "A" not in params
    assert QueryParams.from_query_string("q=1")["q"] == "1"


def test_cookies() -> None:
    assert parse_cookies("a=1; b=two") == {"a": "1", "b": "two"}
    assert parse_cookies('bad="') == {}


def test_address_url() -> None:
    assert Address("127.0.0.1", 80).url() == "http://127.0.0.1:80/"
    assert Address("::1", 9).url("/ws", scheme="ws") == "ws://[::1]:9/ws"
