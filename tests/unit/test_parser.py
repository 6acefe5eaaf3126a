"""The two HTTP/1.1 parsers behind one interface, sans I/O: the same bytes, the same answers."""

from __future__ import annotations

import pytest

from fastrapi.server._parser import HTTPParser, ParseError, ParserName, ResponseError, make_parser

PARSERS: list[ParserName] = ["httptools", "h11"]


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest) -> HTTPParser:
    return make_parser(request.param, 1024)


def test_a_head_in_one_byte_pieces(parser: HTTPParser) -> None:
    data = b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 100 + b"\r\n\r\n"
    for i in range(len(data) - 1):
        parser.feed(data[i : i + 1])
        assert parser.next_request() is None
        assert parser.in_head()
    parser.feed(data[-1:])
    head = parser.next_request()
    assert head is not None
    assert (head.method, head.target, head.http_version) == (b"GET", b"/a?b=1", b"1.1")
    assert head.headers == [(b"host", b"x"), (b"x-long", b"v" * 100)]
    assert parser.body() == (b"", True)
    assert not parser.in_head()


def test_a_head_over_the_limit_in_pieces_is_431(parser: HTTPParser) -> None:
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    with pytest.raises(ParseError) as caught:  # noqa: PT012  # which feed trips it varies
        for _ in range(20):
            parser.feed(b"v" * 100)
            assert parser.next_request() is None
        parser.feed(b"\r\n\r\n")
        parser.next_request()
    assert caught.value.status == 431


def test_a_body_in_pieces_and_the_next_request_after_it(parser: HTTPParser) -> None:
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
    head = parser.next_request()
    assert head is not None
    assert head.content_length == 5
    assert parser.body() == (b"ab", False)
    assert parser.body() is None
    parser.feed(b"cdeGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    assert parser.body() == (b"cde", True)
    assert parser.next_request() is None  # not before the exchange is over
    parser.response(200, [], b"ok")
    assert parser.next_cycle()
    following = parser.next_request()
    assert following is not None
    assert following.target == b"/next"


def test_a_whole_body_gets_its_length_and_a_head_none(parser: HTTPParser) -> None:
    parser.feed(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    data = parser.response(200, [(b"content-length", b"5")], b"")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"content-length: 5\r\n\r\n")
    assert parser.next_cycle()


def test_a_streamed_body_is_chunked_and_a_204_has_none(parser: HTTPParser) -> None:
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    head = parser.response(200, [], b"ab", more=True)
    assert b"transfer-encoding: chunked\r\n" in head.lower()
    assert head.endswith(b"\r\n\r\n2\r\nab\r\n")
    assert parser.body_part(b"", more=False) == b"0\r\n\r\n"
    assert parser.next_cycle()
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    data = parser.response(204, [], b"")
    assert b"content-length" not in data.lower()
    assert data.endswith(b"\r\n\r\n")
    assert parser.next_cycle()


def test_an_http10_streamed_body_ends_with_the_connection(parser: HTTPParser) -> None:
    parser.feed(b"GET / HTTP/1.0\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    head = parser.response(200, [], b"ab", more=True)
    assert b"chunked" not in head.lower()
    assert head.endswith(b"ab")
    assert parser.body_part(b"cd", more=False) == b"cd"
    assert not parser.next_cycle()


def test_more_body_than_its_length_or_a_line_break_in_a_header(parser: HTTPParser) -> None:
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    with pytest.raises(ResponseError):
        parser.response(200, [(b"x", b"a\r\nset-cookie: b")], b"")


def test_more_body_than_its_length(parser: HTTPParser) -> None:
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.body() == (b"", True)
    parser.response(200, [(b"content-length", b"2")], b"a", more=True)
    with pytest.raises(ResponseError):
        parser.body_part(b"bc", more=False)
    assert not parser.next_cycle()


def test_an_upgrade_keeps_what_followed_it(parser: HTTPParser) -> None:
    parser.feed(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81"
    )
    head = parser.next_request()
    assert head is not None
    assert head.websocket
    parser.body()
    parser.feed(b"\x82")
    assert parser.informational(101, [(b"upgrade", b"websocket")]).startswith(b"HTTP/1.1 101 ")
    assert parser.trailing_data() == b"\x81\x82"


def test_http11_without_host_is_400(parser: HTTPParser) -> None:
    with pytest.raises(ParseError) as caught:  # noqa: PT012  # h11 finds it when asked
        parser.feed(b"GET / HTTP/1.1\r\nX: y\r\n\r\n")
        parser.next_request()
    assert caught.value.status == 400


@pytest.mark.parametrize("name", PARSERS)
def test_a_request_line_past_its_limit_in_pieces_is_414(name: ParserName) -> None:
    parser = make_parser(name, 4096, max_request_line=100)
    parser.feed(b"GET /")
    with pytest.raises(ParseError) as caught:  # noqa: PT012  # which feed trips it varies
        for _ in range(20):
            parser.feed(b"a" * 10)
            assert parser.next_request() is None
    assert (caught.value.status, str(caught.value)) == (414, "request line over 100 bytes")


@pytest.mark.parametrize("name", PARSERS)
def test_a_request_line_at_its_limit_and_header_fields_at_theirs_pass(name: ParserName) -> None:
    parser = make_parser(name, 4096, max_request_line=100, max_header_count=3)
    line = b"POST /" + b"a" * (100 - len(b"POST / HTTP/1.1")) + b" HTTP/1.1"
    parser.feed(line + b"\r\nHost: x\r\nA: 1\r\nContent-Length: 0\r\n\r\n")
    head = parser.next_request()
    assert head is not None
    assert (len(head.target), len(head.headers)) == (100 - len(b"POST  HTTP/1.1"), 3)


@pytest.mark.parametrize("name", PARSERS)
def test_one_header_field_past_max_header_count_is_431(name: ParserName) -> None:
    parser = make_parser(name, 4096, max_header_count=3)
    with pytest.raises(ParseError) as caught:  # noqa: PT012  # feed (httptools) or next (h11)
        parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        parser.next_request()
    assert (caught.value.status, str(caught.value)) == (431, "more than 3 request header fields")
