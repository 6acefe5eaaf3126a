"""Signed-cookie sessions: ``app.add_middleware(SessionMiddleware, secret_key=...)`` and
``request.session``. Needs ``itsdangerous`` (the ``sessions`` extra)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, Literal, final

import orjson

from ..datastructures import Headers, parse_cookies

if TYPE_CHECKING:
    from .._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SessionMiddleware"]


@final
class SessionMiddleware:
    """A session dict per client, kept in a signed cookie, as Starlette's (and so FastAPI's):
    ``request.session["user"] = "ann"``.

    The session is JSON, signed with ``secret_key`` and a timestamp (``itsdangerous``), so the
    client can read it but not change it; a cookie whose signature is bad, unknown (another
    key), expired, or whose content is not a session is an empty session, never an error. A
    response carries the cookie again whenever the session is not empty (renewing its age), and
    clears it once the session was emptied. WebSocket handshakes get ``websocket.session`` too
    (read-only in effect: a WebSocket cannot set a cookie).

    Args:
        app: The ASGI app to wrap (given by ``add_middleware``).
        secret_key: The signing key: long, random and secret.
        session_cookie: The cookie's name.
        max_age: Seconds a session lasts (also the cookie's ``Max-Age``); ``None``: until
            the browser closes.
        path: The cookie's ``Path``.
        same_site: The cookie's ``SameSite``.
        https_only: Mark the cookie ``Secure``.
        domain: The cookie's ``Domain``.

    Raises:
        ImportError: ``itsdangerous`` is not installed.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
    ) -> None:
        try:
            import itsdangerous
        except ImportError as exc:  # pragma: no cover - the extra is a test dependency
            raise ImportError(
                "SessionMiddleware needs itsdangerous: pip install 'fastrapi-trio[sessions]'"
            ) from exc
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.bad_signature = itsdangerous.BadSignature
        self.session_cookie = session_cookie
        self.max_age = max_age
        flags = [f"path={path}"]
        if max_age is not None:
            flags.append(f"Max-Age={max_age}")
        if domain is not None:
            flags.append(f"domain={domain}")
        flags.append("httponly")
        flags.append(f"samesite={same_site}")
        if https_only:
            flags.append("secure")
        self.flags = "; ".join(flags)
        self.clearing = f"path={path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; " + "; ".join(
            flags[2 if max_age is not None else 1 :]
        )

    def load(self, cookie: str) -> dict[str, Any]:
        """The session in ``cookie``; ``{}`` for one that is not a valid, current session."""
        try:
            data = self.signer.unsign(cookie.encode("latin-1"), max_age=self.max_age)
            session = orjson.loads(base64.b64decode(data, validate=True))
        except (self.bad_signature, binascii.Error, orjson.JSONDecodeError, UnicodeError):
            return {}
        return session if isinstance(session, dict) else {}

    def dump(self, session: dict[str, Any]) -> str:
        """The signed cookie value of ``session``."""
        return self.signer.sign(base64.b64encode(orjson.dumps(session))).decode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookies = parse_cookies(Headers.from_raw(scope["headers"]).get("cookie", ""))
        cookie = cookies.get(self.session_cookie)
        session = self.load(cookie) if cookie is not None else {}
        scope["session"] = session
        if kind == "websocket":  # no cookie to set: the calls pass untouched
            await self.app(scope, receive, send)
            return
        had_cookie = cookie is not None

        async def cookie_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = scope["session"]
                value = None
                if current:
                    value = f"{self.session_cookie}={self.dump(current)}; {self.flags}"
                elif had_cookie:
                    value = f"{self.session_cookie}=null; {self.clearing}"
                if value is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", value.encode("latin-1")))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, cookie_send)
