"""Every public fastrapi exception.

The hierarchy::

    FastrapiError                            base of all our errors
    ├── FastAPIError(RuntimeError)           an error in the app's code, by FastAPI's name:
    │   │                                    a yield dependency that swallowed the error
    │   └── RouteDefinitionError(ValueError) bad path, duplicate parameter, bad handler;
    │                                        raised when the route is declared
    ├── FastAPIDeprecationWarning(DeprecationWarning) warned: ORJSONResponse, UJSONResponse
    ├── WebSocketStateError(RuntimeError)    misuse: send before accept, receive after close
    ├── WebSocketDisconnect(ConnectionError) the peer left or the link ended; .code, .reason
    ├── WebSocketException                   a handler raises it: close with .code and .reason
    ├── MessageDecodeError(ValueError)       receive_json() got invalid JSON or data; .errors
    ├── ValidationException(ValueError)      values missing or invalid: .errors() (pydantic's)
    │   ├── RequestValidationError           an HTTP request's: 422 {"detail": errors}; .body
    │   ├── WebSocketRequestValidationError  a WebSocket handshake's: 403, the same body
    │   └── ResponseValidationError          a return value against the response_model: 500;
    │                                        .body is what the handler returned
    ├── NoMatchFound(LookupError)            url_path_for(): no route of that name and params
    ├── MessageTypeError(TypeError)          receive_text() got bytes, receive_bytes() text
    ├── HTTPException                        .status_code, .detail, .headers: a response
    ├── HistoryGap(LookupError)              hub.join(since=...): what came after it is gone
    ├── HubUnavailable(ConnectionError)      the Hub's Redis is away: 503 / close 1013
    ├── SlowConsumerError                    a hub.subscribe() consumer fell behind its budget
    ├── HubReplyError                        fastrapi.client: an error reply from the server;
    │                                        .code (HTTP-like), .message
    ├── HubConnectionError(ConnectionError)  fastrapi.client: the connection ended for good
    │                                        (a stop close code) or before a reply came
    └── ListenError(OSError)                 the server cannot listen: port in use, permission

Local errors (you misused the API) and remote ones (the peer left or misbehaved) are kept apart,
as h11 and wsproto do.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._closecodes import validate_close

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .hub import Position

__all__ = [
    "FastAPIDeprecationWarning",
    "FastAPIError",
    "FastrapiError",
    "HTTPException",
    "HistoryGap",
    "HubConnectionError",
    "HubReplyError",
    "HubUnavailable",
    "ListenError",
    "MessageDecodeError",
    "MessageTypeError",
    "NoMatchFound",
    "RequestValidationError",
    "ResponseValidationError",
    "RouteDefinitionError",
    "SlowConsumerError",
    "ValidationException",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketRequestValidationError",
    "WebSocketStateError",
]


class FastrapiError(Exception):
    """Base class of every exception fastrapi raises."""


class FastAPIError(FastrapiError, RuntimeError):
    """An error in the application's code, under the name FastAPI gives it (so that code
    written for FastAPI catches it): a route that cannot be declared
    (:class:`RouteDefinitionError`), or a dependency with ``yield`` whose cleanup swallowed
    the handler's error, leaving the request without an answer (a 500, and this error in the
    log, as FastAPI has it)."""


class FastAPIDeprecationWarning(FastrapiError, DeprecationWarning):
    """Warned, under FastAPI's name (so that FastAPI code filtering it keeps working), where an
    app uses what FastAPI deprecated: ``ORJSONResponse`` and ``UJSONResponse``, which add
    nothing to :class:`~fastrapi.responses.JSONResponse` (orjson already)."""


class RouteDefinitionError(FastAPIError, ValueError):
    """A route cannot be declared: bad path template, bad handler, duplicate parameter."""


class WebSocketStateError(FastrapiError, RuntimeError):
    """The handler used the WebSocket in a way its state does not allow.

    Sending before :meth:`~fastrapi.WebSocket.accept`, accepting twice, or receiving after
    :meth:`~fastrapi.WebSocket.close` are bugs in the handler: don't catch this.
    """


class WebSocketDisconnect(FastrapiError, ConnectionError):
    """The connection is over: the peer closed it, or the server ended it.

    Raised by every ``receive_*`` and ``send_*`` once the connection has ended. A subclass of
    :class:`ConnectionError`, so ``except ConnectionError`` catches it.

    Attributes:
        code: The close code: the peer's own (1000 normal, 1001 going away, ...), 1005 when the
            peer sent none, 1006 when the connection dropped without a close frame, or the code
            the server closed with (1001 after an idle timeout, 1009 for a message too big).
        reason: The close reason, ``""`` when none was given.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"WebSocket closed with code {self.code}" + (
            f": {self.reason}" if self.reason else ""
        )


class WebSocketException(FastrapiError):
    """Raise this in a handler to close the connection with ``code`` and ``reason``.

    Raises:
        ValueError: ``code`` is not a close code an endpoint may send (1000-1003, 1007-1014,
            3000-4999), or ``reason`` is longer than 123 bytes in UTF-8.
    """

    def __init__(self, code: int, reason: str | None = None) -> None:
        reason = reason or ""
        validate_close(code, reason)
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.reason else str(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class MessageDecodeError(FastrapiError, ValueError):
    """:meth:`~fastrapi.WebSocket.receive_json` got a message that is not valid JSON, or (with
    a type to validate) JSON that does not fit the type.

    The message is consumed and the connection stays open, so a handler may answer with an
    error and carry on.

    Attributes:
        errors: pydantic's errors (``type``, ``loc``, ``msg``, ``input``) when the JSON did not
            validate; empty when it was not JSON at all.
    """

    def __init__(self, message: str, errors: Sequence[Mapping[str, object]] = ()) -> None:
        super().__init__(message)
        self.errors: list[Mapping[str, object]] = list(errors)


class ValidationException(FastrapiError, ValueError):
    """Values are missing or invalid; the base of the three validation errors below.

    Attributes:
        endpoint_ctx: Where the route was declared, when known: ``function``, ``path``,
            ``file``, ``line`` (shown by ``str()``).
    """

    def __init__(
        self,
        errors: Sequence[Mapping[str, Any]],
        *,
        endpoint_ctx: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(errors)
        self._errors = list(errors)
        self.endpoint_ctx = endpoint_ctx

    def errors(self) -> list[Mapping[str, Any]]:
        """Each error as pydantic reports it: ``type``, ``loc`` (a tuple: where the value comes
        from, then its name, then where inside it), ``msg``, ``input``, and ``ctx`` when the
        message has parameters."""
        return self._errors

    def __str__(self) -> str:
        count = len(self._errors)
        lines = [f"{count} validation error{'' if count == 1 else 's'}:"]
        lines += [f"  {error}" for error in self._errors]
        ctx = self.endpoint_ctx or {}
        if ctx.get("file") and ctx.get("line") and ctx.get("function"):
            lines.append(f'  File "{ctx["file"]}", line {ctx["line"]}, in {ctx["function"]}')
            if ctx.get("path"):
                lines.append(f"    {ctx['path']}")
        elif ctx.get("path"):
            lines.append(f"  Endpoint: {ctx['path']}")
        return "\n".join(lines)

    def summary(self) -> str:
        """The errors on one line, ``query.limit: Input should be a valid integer; ...``."""
        return "; ".join(
            f"{'.'.join(map(str, error.get('loc', ())))}: {error.get('msg')}"
            for error in self._errors
        )


class RequestValidationError(ValidationException):
    """Values of an HTTP request (path, query, header, cookie or body) are missing or invalid.

    Answered with 422 and ``{"detail": errors}``, FastAPI's error JSON, unless an exception
    handler for it says otherwise.

    Attributes:
        body: The request body as it was parsed (JSON, or the form), ``None`` if it had none
            or the error is not about it.
    """

    def __init__(
        self,
        errors: Sequence[Mapping[str, Any]],
        *,
        body: Any = None,
        endpoint_ctx: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class WebSocketRequestValidationError(ValidationException):
    """Values of a WebSocket handshake (path, query, header, cookie) are missing or invalid.

    The handshake is refused with 403 and ``{"detail": errors}``, unless an exception handler
    for it says otherwise (FastAPI accepts and closes with 1008 instead: a browser cannot read
    a close reason's JSON, and a refused handshake never runs the handler).
    """


class ResponseValidationError(ValidationException):
    """What a handler returned does not fit its ``response_model``: a bug on the server.

    Answered with 500 ``Internal Server Error`` and logged with the errors, unless an
    exception handler for it says otherwise.

    Attributes:
        body: What the handler returned.
    """

    def __init__(
        self,
        errors: Sequence[Mapping[str, Any]],
        *,
        body: Any = None,
        endpoint_ctx: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class MessageTypeError(FastrapiError, TypeError):
    """A message of the other kind arrived: binary for ``receive_text``, text for ``receive_bytes``.

    The message is consumed and the connection stays open.
    """


class HTTPException(FastrapiError):
    """Raise this in an HTTP handler to answer with ``status_code`` and ``detail``.

    The response is JSON: ``{"detail": detail}`` (no body for 204, 304 and 1xx), with
    ``headers``. ``detail`` (anything JSON can carry) defaults to the status phrase
    (``"Not Found"``). Raised by a WebSocket handler or dependency before ``accept()``, it
    refuses the handshake with that status, ``headers`` and body (a 401 with
    ``WWW-Authenticate``, a 429 with ``Retry-After``).

    Raises:
        ValueError: ``detail`` is not given and ``status_code`` is not an HTTP status.
    """

    def __init__(
        self,
        status_code: int,
        detail: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            detail = HTTPStatus(status_code).phrase
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class HistoryGap(FastrapiError, LookupError):
    """``hub.join(topic, ws, since=position)`` cannot replay everything after ``position``:
    some of it is no longer kept (evicted, expired), or the position is of another epoch.

    Nothing was joined. Tell the client to reload (fetch the state afresh), then join without
    ``since``.
    """

    def __init__(self, topic: str, since: Position, detail: str) -> None:
        super().__init__(f"history of topic {topic!r} after {since}: {detail}")
        self.topic = topic
        self.since = since
        self.detail = detail


class HubUnavailable(FastrapiError, ConnectionError):
    """The Hub's backend (Redis) did not answer within its timeout, is away, or is not
    running: the message was not published (to anyone), the member not joined.

    Local delivery goes on meanwhile for what other calls published; retry later. Raised out
    of a route, it is answered by default: an HTTP request gets ``503`` with ``Retry-After``
    (``retry_after``, rounded up), a WebSocket is closed with ``1013`` (try again later), or
    its handshake refused with that 503 if it was not accepted yet (see :doc:`/processes`).

    Attributes:
        retry_after: Seconds after which trying again may succeed (the backend's reconnection
            backoff).
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HubReplyError(FastrapiError):
    """A command of :mod:`fastrapi.client` got an error reply: refused (403, or the status of
    the ``HTTPException`` the server's check raised), unknown (404), malformed (400), failed
    (500) or the Hub unavailable (503). The connection stays up.

    Attributes:
        code: The reply's code (HTTP's statuses).
        message: What the server said.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class HubConnectionError(FastrapiError, ConnectionError):
    """A :mod:`fastrapi.client` connection ended: for good (the server closed it with a code
    that says stop, such as 4401, or the client was closed), or while a command waited for its
    reply (it may or may not have been carried out; the client reconnects meanwhile).

    Attributes:
        code: The close code (1006 when the connection was lost without one).
        reason: The close reason, or what happened.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}" if reason else str(code))
        self.code = code
        self.reason = reason


class SlowConsumerError(FastrapiError):
    """A ``hub.subscribe()`` consumer fell behind its budget under the ``"close"`` policy:
    it gets what was pending, then this, and is no longer subscribed."""


class ListenError(FastrapiError, OSError):
    """The server cannot listen on its address: already in use, not allowed, not this host's.

    ``str()`` is one line, ``cannot listen on 127.0.0.1:8000: address already in use``; ``errno``
    is the operating system's (``errno.EADDRINUSE`` there). Served from plain Python
    (:meth:`~fastrapi.FastrAPI.serve` outside Trio) or from the ``fastrapi`` command, this line
    is printed and the process exits with status 1; inside Trio it is raised.

    Attributes:
        host: The address that was asked for.
        port: The port that was asked for.
    """

    def __init__(self, errno: int, strerror: str, host: str, port: int) -> None:
        super().__init__(errno, strerror)
        self.host = host
        self.port = port

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"cannot listen on {host}:{self.port}: {(self.strerror or '').lower()}"


class NoMatchFound(FastrapiError, LookupError):
    """``url_path_for(name, **params)`` found no route of that name taking those parameters.

    Attributes:
        name: The route name (or path template) asked for.
        params: The path parameters given.
    """

    def __init__(self, name: str, params: Mapping[str, object]) -> None:
        super().__init__(f"no route named {name!r} takes the parameters {sorted(params)}")
        self.name = name
        self.params = dict(params)
