"""HTTP/1.1 for the native server: one small sans-I/O interface, two parsers behind it.

``h11`` is the reference (pure Python, strict, its own state machine for both directions);
``httptools`` (llhttp, the C parser of Node.js, as uvicorn uses it) is the fast one: it parses
with callbacks, and the responses are framed here. ``http="auto"`` picks httptools when it is
installed, as ``ws="auto"`` picks the faster WebSocket codec. Both pass the same tests.

Theory of operation
-------------------
The server's connection loop (``_http11.py``) owns the socket; a parser never awaits. The loop
feeds what it reads (:meth:`HTTPParser.feed`) and asks for the next request head
(:meth:`HTTPParser.next_request`), then for that request's body (:meth:`HTTPParser.body`) as the
app reads it. Pipelined requests wait in the parser, in order: a request's head is handed out
only once the previous exchange is over (:meth:`HTTPParser.next_cycle`). The loop reads again
only when the parser has nothing for it, so what waits in the parser is bounded by one read.

A response goes out as bytes the parser makes: :meth:`HTTPParser.response` for the head (with the
whole body when it is not streamed: one ``send()``), :meth:`HTTPParser.body_part` for the parts of
a streamed body. The parser frames it (``content-length``, chunked, nothing after a HEAD, a 204
or a 304) and decides whether the connection may carry another request.

What a client sends wrong is a :class:`ParseError` with the status to answer: the connection
then ends. Request smuggling is refused by both parsers: ``Content-Length`` with
``Transfer-Encoding``, two different lengths, an obs-folded header line, an invalid chunk size.
"""

from __future__ import annotations

import importlib.util
from collections import deque
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias, final

import h11

from ._handshake import reason_phrase

if TYPE_CHECKING:
    from collections.abc import Sequence

ParserName: TypeAlias = Literal["h11", "httptools"]
HAVE_HTTPTOOLS: Final = importlib.util.find_spec("httptools") is not None

Header: TypeAlias = tuple[bytes, bytes]


class ParseError(Exception):
    """The client broke HTTP/1.1: answer ``status`` (400, 413, 431...) and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ResponseError(Exception):
    """The app's response breaks HTTP/1.1 (a header with a line break, more body than its
    ``content-length``): the connection ends, as nothing sensible can follow."""


@final
class RequestHead:
    """One request's head, as both parsers give it."""

    __slots__ = (
        "content_length",
        "expect_continue",
        "headers",
        "http_version",
        "method",
        "target",
        "websocket",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        http_version: bytes,
        headers: list[Header],
        content_length: int | None,
        websocket: bool,
        expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = http_version
        self.headers = headers
        """Lower-case names, values as sent, in order."""
        self.content_length = content_length
        self.websocket = websocket
        """It asks for a WebSocket (``Upgrade: websocket``)."""
        self.expect_continue = expect_continue
        """The client waits for ``100 Continue`` before it sends the body."""


class HTTPParser(Protocol):
    """What the connection loop needs from an HTTP/1.1 parser. Nothing here awaits."""

    def feed(self, data: bytes) -> None:
        """Take bytes the client sent (never ``b""``: the loop handles the end itself).

        Raises:
            ParseError: the bytes break HTTP/1.1.
        """

    def next_request(self) -> RequestHead | None:
        """The next request's head, once it came whole and the previous exchange is over."""

    def in_head(self) -> bool:
        """Whether part of a request head came (so the header timeout runs, not keep-alive)."""

    def body(self) -> tuple[bytes, bool] | None:
        """The current request's body bytes that came since the last call, and whether the
        body is complete; ``None`` while nothing new came and it is not."""

    def expects_continue(self) -> bytes:
        """The ``100 Continue`` to send before reading the body, if the client waits for one
        (once; ``b""`` otherwise)."""

    def response(
        self, status: int, headers: Sequence[Header], body: bytes, *, more: bool = False
    ) -> bytes:
        """The response head, with ``body`` (the whole body unless ``more``).

        Raises:
            ResponseError: the response breaks HTTP/1.1.
        """

    def body_part(self, data: bytes, *, more: bool) -> bytes:
        """The bytes of one more part of a streamed body (the last unless ``more``).

        Raises:
            ResponseError: more body than the response's ``content-length``.
        """

    def informational(self, status: int, headers: Sequence[Header]) -> bytes:
        """A 1xx response (``101 Switching Protocols``) to an upgrade request."""

    def next_cycle(self) -> bool:
        """End the exchange (request read, response sent); ``False`` if the connection must
        close instead of reading another request."""

    def trailing_data(self) -> bytes:
        """After an upgrade: the bytes that followed the request (the first frames)."""

    def close(self) -> None:
        """The connection's HTTP part is over: let go of what the parser holds, so that it is
        freed at once rather than by the cyclic garbage collector (it is not used again)."""


def pick_parser(name: ParserName | Literal["auto"]) -> ParserName:
    """The parser ``http=name`` means: ``auto`` is httptools when installed, else h11.

    Raises:
        ValueError: an unknown name, or ``httptools`` when it is not installed.
    """
    if name == "auto":
        return "httptools" if HAVE_HTTPTOOLS else "h11"
    if name not in ("h11", "httptools"):
        raise ValueError(f"http must be 'auto', 'h11' or 'httptools', not {name!r}")
    if name == "httptools" and not HAVE_HTTPTOOLS:
        raise ValueError("http='httptools' needs the httptools package: pip install httptools")
    return name


MAX_REQUEST_LINE: Final = 8 * 1024
"""The default ``max_request_line``: Apache's (8190) and nginx's (8 KiB) bound."""
MAX_HEADER_COUNT: Final = 100
"""The default ``max_header_count``: Apache's ``LimitRequestFields``."""


def make_parser(
    name: ParserName,
    max_header_size: int,
    max_request_line: int = MAX_REQUEST_LINE,
    max_header_count: int = MAX_HEADER_COUNT,
) -> HTTPParser:
    """A parser for one connection: a request line over ``max_request_line`` bytes (without
    its CRLF) is a 414, a head over ``max_header_size`` bytes or ``max_header_count`` fields a
    431."""
    if name == "httptools":
        return HttptoolsParser(max_header_size, max_request_line, max_header_count)
    return H11Parser(max_header_size, max_request_line, max_header_count)


def _request_line_too_long(limit: int) -> ParseError:
    return ParseError(414, f"request line over {limit} bytes")


def _too_many_headers(limit: int) -> ParseError:
    return ParseError(431, f"more than {limit} request header fields")


def _asks_websocket(value: bytes) -> bool:
    return any(token.strip().lower() == b"websocket" for token in value.split(b","))


# -- h11: the reference -------------------------------------------------------------------------


@final
class H11Parser:
    """The :class:`HTTPParser` of h11, whose state machine frames both directions."""

    __slots__ = (
        "_conn",
        "_max_header_count",
        "_max_header_size",
        "_max_request_line",
        "_request",
    )

    def __init__(self, max_header_size: int, max_request_line: int, max_header_count: int) -> None:
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=max_header_size)
        self._max_header_size = max_header_size
        self._max_request_line = max_request_line
        self._max_header_count = max_header_count
        self._request: RequestHead | None = None

    def feed(self, data: bytes) -> None:
        self._conn.receive_data(data)

    def _next_event(self) -> object:
        try:
            return self._conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ParseError(exc.error_status_hint, str(exc)) from None

    def next_request(self) -> RequestHead | None:
        conn = self._conn
        if conn.their_state is not h11.IDLE:
            return None
        buffered = conn.trailing_data[0]
        line_end = buffered.find(b"\n")  # (h11 has no bound of its own but the whole head's)
        if line_end < 0:
            line_end = len(buffered)
        elif line_end and buffered[line_end - 1] == 13:  # CR
            line_end -= 1
        if line_end > self._max_request_line:
            raise _request_line_too_long(self._max_request_line)
        end = buffered.find(b"\r\n\r\n")
        if b"\n " in buffered[:end] or b"\n\t" in buffered[:end]:  # h11 would unfold it
            raise ParseError(400, "obsolete line folding in a request header")
        event = self._next_event()
        if not isinstance(event, h11.Request):
            return None  # NEED_DATA (or, after an upgrade, PAUSED)
        raw = list(event.headers)  # once: h11's headers are a slow sequence to walk
        if len(raw) > self._max_header_count:
            raise _too_many_headers(self._max_header_count)
        if sum(len(k) + len(v) for k, v in raw) > self._max_header_size:
            # h11 bounds a head that arrives in pieces; this bounds one that came whole
            raise ParseError(431, "request header fields too large")
        length: int | None = None
        websocket = False
        chunked = False
        for name, value in raw:
            if name == b"content-length":
                length = int(value)  # h11 checked it
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"upgrade" and _asks_websocket(value):
                websocket = True
        if chunked and length is not None:  # h11 would take the chunks: refuse, as llhttp does
            raise ParseError(400, "Content-Length and Transfer-Encoding in one request")
        version = event.http_version
        waits = self._conn.they_are_waiting_for_100_continue
        head = RequestHead(event.method, event.target, version, raw, length, websocket, waits)
        self._request = head
        return head

    def in_head(self) -> bool:
        return bool(self._conn.trailing_data[0]) and self._conn.their_state is h11.IDLE

    def body(self) -> tuple[bytes, bool] | None:
        conn = self._conn
        if conn.their_state is not h11.SEND_BODY:
            return (b"", True) if conn.their_state is h11.DONE else None
        parts = []
        while True:
            event = self._next_event()
            if isinstance(event, h11.Data):
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts), True
            else:  # NEED_DATA
                return (b"".join(parts), False) if parts else None

    def expects_continue(self) -> bytes:
        conn = self._conn
        if not conn.they_are_waiting_for_100_continue:
            return b""
        return conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b""

    def response(
        self, status: int, headers: Sequence[Header], body: bytes, *, more: bool = False
    ) -> bytes:
        conn = self._conn
        if self._answers_head():
            body = b""  # an ASGI app may send a body with it: the server drops it
        elif (
            not more
            and status not in _NO_BODY_STATUS
            and not any(name in (b"content-length", b"transfer-encoding") for name, _ in headers)
        ):
            headers = [*headers, (b"content-length", b"%d" % len(body))]
        try:
            data = conn.send(
                h11.Response(
                    status_code=status, headers=list(headers), reason=reason_phrase(status)
                )
            )
            assert data is not None  # a Response always has bytes
            if body:
                data += conn.send(h11.Data(data=body)) or b""
            if not more:
                data += conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise ResponseError(str(exc)) from None
        return data

    def _answers_head(self) -> bool:
        return self._request is not None and self._request.method == b"HEAD"

    def body_part(self, data: bytes, *, more: bool) -> bytes:
        conn = self._conn
        if self._answers_head():
            data = b""
        try:
            out = conn.send(h11.Data(data=data)) or b"" if data else b""
            if not more:
                out += conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise ResponseError(str(exc)) from None
        return out

    def informational(self, status: int, headers: Sequence[Header]) -> bytes:
        data = self._conn.send(h11.InformationalResponse(status_code=status, headers=list(headers)))
        return data or b""

    def next_cycle(self) -> bool:
        conn = self._conn
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    def trailing_data(self) -> bytes:
        return bytes(self._conn.trailing_data[0])

    def close(self) -> None:
        pass  # h11's state holds no cycle


# -- httptools: the fast one --------------------------------------------------------------------


@final
class _Message:
    """A request as httptools parses it: its head, and its body as it comes."""

    __slots__ = ("complete", "expect_continue", "head", "keep_alive", "parts")

    def __init__(self, head: RequestHead, keep_alive: bool) -> None:
        self.head = head
        self.keep_alive = keep_alive
        self.expect_continue = head.expect_continue  # (until 100 Continue is sent)
        self.parts: list[bytes] = []
        self.complete = False


_NO_REQUEST: Final = _Message(RequestHead(b"GET", b"/", b"1.1", [], None, False, False), False)
_NO_REQUEST.complete = True
_NO_BODY_STATUS: Final = frozenset({204, 304})
_STATUS_LINES: Final = {
    status: b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status))
    for status in (200, 201, 204, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 413, 422, 500)
}
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
# how a response body is framed
_NONE: Final = "none"  # HEAD, 204, 304: no body bytes at all
_COUNTED: Final = "counted"  # content-length
_CHUNKED: Final = "chunked"
_UNTIL_CLOSE: Final = "until-close"  # HTTP/1.0 without a length
_CHUNKED_END: Final = b"0\r\n\r\n"


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status))
    return line


if HAVE_HTTPTOOLS:
    import httptools


@final
class HttptoolsParser:
    """The :class:`HTTPParser` of httptools (llhttp); responses are framed here.

    llhttp refuses the smuggling vectors by default (both framings, duplicate lengths, obs-fold,
    bad chunk sizes); the head's size is bounded here, as llhttp has no limit of its own.
    """

    __slots__ = (
        "_body_left",
        "_current",
        "_expect",
        "_framing",
        "_head_fed",
        "_head_size",
        "_headers",
        "_host",
        "_in_head",
        "_keep_alive",
        "_length",
        "_max_header_count",
        "_max_header_size",
        "_max_line",
        "_max_url",
        "_messages",
        "_parser",
        "_responding",
        "_trailing",
        "_upgraded",
        "_url",
        "_websocket",
    )

    def __init__(self, max_header_size: int, max_request_line: int, max_header_count: int) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._max_header_size = max_header_size
        self._max_line = max_request_line
        # a URL longer than this makes the line too long with the shortest method and version
        # ("GET " and " HTTP/1.1"): only then is the exact length worked out
        self._max_url = max_request_line - 13
        self._max_header_count = max_header_count
        self._messages: deque[_Message] = deque()  # parsed (the last maybe in progress)
        self._current: _Message | None = None  # the exchange the loop is serving
        self._in_head = False
        self._head_size = 0
        self._url = b""
        self._headers: list[Header] = []
        self._length: int | None = None
        self._websocket = False
        self._expect = False
        self._host = False
        self._upgraded = False
        self._trailing = b""
        self._head_fed = 0  # bytes fed after the read in which the current head began
        # the response being sent: its framing, the body bytes its content-length still
        # allows, and whether the connection stays open after it
        self._body_left = -1
        self._framing = _NONE
        self._keep_alive = True
        self._responding = False

    # -- llhttp's callbacks (they run inside feed()) ----------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_fed = -1
        self._head_size = 0
        self._url = b""
        self._headers = []
        self._length = None
        self._websocket = False
        self._expect = False
        self._host = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))
        # llhttp has parsed the method (known, without spaces) and calls this as the URL comes
        # in, piece by piece; the version that follows is " HTTP/1.x"
        size = len(self._url)
        if size > self._max_url and len(self._parser.get_method()) + size + 10 > self._max_line:
            raise _request_line_too_long(self._max_line)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value))
        name = name.lower()
        headers = self._headers
        headers.append((name, value))
        if len(headers) > self._max_header_count:
            raise _too_many_headers(self._max_header_count)
        if name == b"content-length":
            if not value.isdigit():  # (llhttp refuses it first: this is for the type)
                raise ParseError(400, "invalid Content-Length")  # pragma: no cover
            self._length = int(value)
        elif name == b"upgrade":
            self._websocket = self._websocket or _asks_websocket(value)
        elif name == b"expect":
            self._expect = value.lower() == b"100-continue"
        elif name == b"host":
            self._host = True

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self._max_header_size:
            raise ParseError(431, "request header fields too large")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_fed = 0
        parser = self._parser
        version = parser.get_http_version().encode()
        if version == b"1.1" and not self._host:  # RFC 9112 3.2, as h11 refuses it
            raise ParseError(400, "Missing mandatory Host: header")
        head = RequestHead(
            parser.get_method(),
            self._url,
            version,
            self._headers,
            self._length,
            self._websocket,
            self._expect and version == b"1.1",
        )
        self._messages.append(_Message(head, parser.should_keep_alive()))

    def on_body(self, body: bytes) -> None:
        self._messages[-1].parts.append(body)

    def on_message_complete(self) -> None:
        self._messages[-1].complete = True

    # -- the interface ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._upgraded:
            self._trailing += data
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            # llhttp stops at an upgrade request: what follows is the new protocol's
            self._upgraded = True
            self._trailing = data[exc.args[0] :]
            return
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, ParseError):
                raise exc.__context__ from None
            raise ParseError(400, str(exc)) from None  # pragma: no cover  # our callbacks' bug
        except httptools.HttpParserError as exc:
            raise ParseError(400, str(exc) or "invalid HTTP/1.1 request") from None
        if self._in_head:
            # httptools joins a header line's pieces before it calls on_header: bound that too
            if self._head_fed < 0:
                self._head_fed = 0  # the read in which the head began: at most RECEIVE_SIZE
            else:
                self._head_fed += len(data)
                if self._head_fed > self._max_header_size:
                    raise ParseError(431, "request header fields too large")

    def next_request(self) -> RequestHead | None:
        if self._current is not None or not self._messages:
            return None
        message = self._current = self._messages[0]
        self._responding = False
        return message.head

    def in_head(self) -> bool:
        return self._in_head

    def body(self) -> tuple[bytes, bool] | None:
        message = self._current
        if message is None:  # pragma: no cover  # only asked during an exchange
            return None
        parts = message.parts
        if not parts:
            return (b"", True) if message.complete else None
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        return data, message.complete

    def expects_continue(self) -> bytes:
        message = self._current
        if message is None or not message.expect_continue or self._responding:
            return b""
        message.expect_continue = False
        return _CONTINUE

    def response(
        self, status: int, headers: Sequence[Header], body: bytes, *, more: bool = False
    ) -> bytes:
        message = self._current or _NO_REQUEST  # (an error before a head came whole)
        self._responding = True
        length = -1
        chunked = closes = False
        lines = [_status_line(status)]
        for name, value in headers:
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                closes = closes or b"close" in value.lower()
            elif name == b"transfer-encoding":
                chunked = True
            lines.append(b"%s: %s\r\n" % (name, value))
        keep_alive = message.keep_alive and not closes
        if status in _NO_BODY_STATUS or message.head.method == b"HEAD":
            framing = _NONE
        elif chunked:
            framing = _CHUNKED
        elif length >= 0:
            framing = _COUNTED
        elif not more:
            framing = _COUNTED
            length = len(body)
            lines.append(b"content-length: %d\r\n" % length)
        elif message.head.http_version == b"1.1":
            framing = _CHUNKED
            lines.append(b"transfer-encoding: chunked\r\n")
        else:  # HTTP/1.0 has no chunks: the body ends with the connection
            framing = _UNTIL_CLOSE
            keep_alive = False
        if keep_alive and not message.complete and message.expect_continue:
            keep_alive = False  # a client still waiting for 100 Continue may not send its body
        if not keep_alive and not closes:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        head = b"".join(lines)
        if head.count(b"\n") != len(lines) or head.count(b"\r") != len(lines):
            self._keep_alive = False
            raise ResponseError("a response header name or value has a line break")
        self._keep_alive = keep_alive
        self._framing = framing
        self._body_left = length
        if not body and more:
            return head
        return head + self.body_part(body, more=more)

    def body_part(self, data: bytes, *, more: bool) -> bytes:
        framing = self._framing
        if framing is _COUNTED:
            left = self._body_left - len(data)
            if left < 0:
                self._keep_alive = False
                raise ResponseError("the response body is longer than its content-length")
            self._body_left = left
            if not more and left:
                self._keep_alive = False  # shorter than announced: the client cannot tell
            return data
        if framing is _CHUNKED:
            out = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
            return out if more else out + _CHUNKED_END
        return data if framing is _UNTIL_CLOSE else b""

    def informational(self, status: int, headers: Sequence[Header]) -> bytes:
        lines = [_status_line(status)]
        lines.extend(b"%s: %s\r\n" % (name, value) for name, value in headers)
        lines.append(b"\r\n")
        return b"".join(lines)

    def next_cycle(self) -> bool:
        message = self._current
        if message is None or not message.complete or not self._keep_alive or self._upgraded:
            return False
        self._messages.popleft()
        self._current = None
        return True

    def trailing_data(self) -> bytes:
        return self._trailing

    def close(self) -> None:
        del self._parser  # llhttp's parser holds our callbacks, so us: a cycle
