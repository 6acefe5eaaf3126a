"""The ``fastrapi.hub.v1`` protocol: the app's Hub spoken over one WebSocket, for clients.

Theory of operation
-------------------
::

    handshake   subprotocol fastrapi.hub.v1 offered? (else HTTP 400)
                the route's dependencies, and those of can_subscribe / can_publish / presence,
                solved once (a refusal: accept, then close 4401 / 4403 / 4400, which a
                browser can see, unlike an HTTP status)
    accept      {"type": "hello", "version": 1, "ping_interval": N}; a task sends
                {"type": "ping"} every N seconds (a heartbeat a browser can see)
    commands    one JSON object per text frame, handled one at a time, in order; each but
                "pong" carries an integer id that its reply or error echoes. Bad input is an
                error reply (400), never a close.

A subscription is a Hub :class:`~fastrapi.hub.Member` of the connection whose messages go out
as ``publication`` messages (built once per published message, shared by every protocol
member), in order with the replies. Subscribing holds the member's live messages while the
history is read (:meth:`Hub._recovery`, shared with SSE streams): ``subscribed``, then what
was missed, then the live messages newer than that, so nothing is lost or repeated between
the history and the live stream.

:class:`HubEndpoint` is the route's handler, planned when the route is declared
(``app.hub_route(...)``); :class:`HubConnection` is what the application's callables get.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import inspect
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, final

import orjson
import trio

from .._closecodes import CloseCode
from .._params import (
    CallKind,
    Dependency,
    HandlerPlan,
    Role,
    _kind,
    _unwrap,
    plan_handler,
)
from .._streams import bare_errors
from .._websocket_dispatch import websocket_solver
from ..exceptions import (
    HTTPException,
    HubUnavailable,
    RequestValidationError,
    RouteDefinitionError,
    WebSocketException,
    WebSocketRequestValidationError,
)
from ..websocket import WebSocket  # noqa: TC001 (the route plans __call__ by it, at runtime)
from ._backend import Position
from ._members import Member

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from .._dependencies import Solver
    from ..params import Depends
    from ._hub import Hub
    from ._wire import Wire

logger: Final = logging.getLogger("fastrapi.hub")

SUBPROTOCOL: Final = "fastrapi.hub.v1"
_NOTICE_TYPES: Final = ("user_joined", "user_left")  # the Hub's presence notices: not a client's
"""The WebSocket subprotocol of the protocol; a client must offer it."""
VERSION: Final = 1
PING: Final = '{"type":"ping"}'
MAX_OFFSET: Final = 2**53  # the largest integer a browser's JSON keeps exactly

RECONNECT_CODES: Final[Mapping[int, str]] = {
    1001: "going away (the server shuts down or restarts): reconnect and recover",
    1006: "abnormal closure (the connection dropped): reconnect and recover",
    1008: "slow consumer (the client fell behind its budget): reconnect and recover",
    1011: "internal error: reconnect and recover",
    1012: "service restart: reconnect and recover",
    1013: "try again later: reconnect and recover",
}
"""Close codes after which a client reconnects (with backoff) and recovers."""
STOP_CODES: Final[Mapping[int, str]] = {
    1000: "normal closure: stop",
    1002: "protocol error: stop",
    1003: "unsupported data: stop",
    1007: "invalid payload data: stop",
    1009: "message too big: stop",
    4400: "bad request (the handshake's values were invalid): stop",
    4401: "unauthorized (the handshake's dependencies refused it): stop",
    4403: "forbidden (the handshake's dependencies refused it): stop",
}
"""Close codes after which a client stops; 4500-4999 are the application's (stop, and tell)."""
APPLICATION_CODES: Final = range(4500, 5000)
CLOSE_CODES: Final[Mapping[int, str]] = {**RECONNECT_CODES, **STOP_CODES}
"""The close-code contract (in the AsyncAPI document)."""


@final
class HubConnection:
    """One client of a hub route, as ``can_subscribe``, ``can_publish``, ``presence`` and the
    rpc handlers get it.

    Attributes:
        websocket: The client's :class:`~fastrapi.WebSocket` (its headers, query, path
            parameters and scope).
        hub: The app's Hub.
        state: A namespace for the application's data about this client (set it in an rpc
            handler or a check).
    """

    __slots__ = ("_members", "hub", "state", "websocket")

    def __init__(self, websocket: WebSocket, hub: Hub) -> None:
        self.websocket = websocket
        self.hub = hub
        self.state = SimpleNamespace()
        self._members: dict[str, Member] = {}

    def __repr__(self) -> str:
        return f"<HubConnection {self.websocket!r} topics={sorted(self._members)}>"

    @property
    def topics(self) -> frozenset[str]:
        """The topics this client is subscribed to now."""
        return frozenset(self._members)


@final
class _Callable:
    """An application callable ``f(connection, topic, **dependencies)``, planned: the
    dependencies are solved once per connection, at the handshake."""

    __slots__ = ("is_async", "plan")

    def __init__(
        self,
        function: Callable[..., Any],
        what: str,
        path_names: frozenset[str],
        namespace: Mapping[str, Any] | None,
    ) -> None:
        if not callable(function):
            raise RouteDefinitionError(f"hub_route {what}= takes a callable, not {function!r}")
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError) as exc:
            raise RouteDefinitionError(
                f"hub_route {what}: cannot read its signature: {exc}"
            ) from exc
        params = list(signature.parameters.values())
        if len(params) < 2 or any(
            p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params[:2]
        ):
            raise RouteDefinitionError(
                f"hub_route {what}={function!r} must take (connection, topic) first"
            )
        self.is_async = _kind(function) is CallKind.ASYNC
        rest = params[2:]
        target = _unwrap(function)
        annotations = getattr(target, "__annotations__", {})

        def bind(**kwargs: Any) -> Callable[..., Any]:
            return functools.partial(function, **kwargs)

        bind.__signature__ = signature.replace(parameters=rest)  # type: ignore[attr-defined]  # what is planned
        bind.__annotations__ = {p.name: annotations[p.name] for p in rest if p.name in annotations}
        bind.__wrapped__ = inspect.unwrap(target)  # type: ignore[attr-defined]  # its globals
        bind.__qualname__ = f"{what}={getattr(function, '__qualname__', repr(function))}"
        self.plan = plan_handler(bind, path_names, Role.DEPENDENCY, namespace)


_DESCRIPTION: Final = """The app's Hub, in the fastrapi.hub.v1 protocol (its subprotocol).

Commands carry an integer id, echoed by their reply or error; a subscribe with since gets
subscribed, then the publications it missed, in order (recovered: false when they are no
longer kept). The server pings every ping_interval seconds; a client that gets no ping for
that and a grace reconnects. After a close with 1001, 1006, 1008, 1011, 1012 or 1013 a client
reconnects with backoff and full jitter and resubscribes from its last positions; after
1000, 1002, 1003, 1007, 1009, 4400, 4401 or 4403 it stops; 4500-4999 are the application's
(it stops and reports the code)."""


def _no_dependency() -> None:
    """The handshake's own plan: only the route's ``dependencies=``, run for their effect."""


@final
class HubEndpoint:
    """The handler of a hub route (see :meth:`FastrAPI.hub_route
    <fastrapi.FastrAPI.hub_route>`): its callables planned once, then one :meth:`__call__` per
    client connection."""

    def __init__(
        self,
        path_names: frozenset[str],
        *,
        can_subscribe: Callable[..., Any] | None = None,
        can_publish: Callable[..., Any] | None = None,
        presence: Callable[..., Any] | None = None,
        rpc: Mapping[str, Callable[[HubConnection, Any], Awaitable[Any]]] | None = None,
        presence_events: bool = False,
        ping_interval: float | None = 25.0,
        dependencies: Sequence[Depends] | None = None,
        namespace: Mapping[str, Any] | None = None,
    ) -> None:
        from ..routing import _with_dependencies

        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(
                f"ping_interval must be a positive number of seconds, not {ping_interval}"
            )
        self.ping_interval = ping_interval
        self.presence_events = presence_events
        self.rpc: dict[str, Callable[[HubConnection, Any], Awaitable[Any]]] = dict(rpc or {})
        for name, handler in self.rpc.items():
            if not isinstance(name, str) or _kind(handler) is not CallKind.ASYNC:
                raise RouteDefinitionError(
                    f"hub_route rpc= maps names to async functions, not {name!r}: {handler!r}"
                )
        self.can_subscribe = self._plan(can_subscribe, "can_subscribe", path_names, namespace)
        self.can_publish = self._plan(can_publish, "can_publish", path_names, namespace)
        self.presence = self._plan(presence, "presence", path_names, namespace)
        own = plan_handler(_no_dependency, path_names, Role.DEPENDENCY)
        self.handshake: HandlerPlan | None = (
            _with_dependencies(own, dependencies, "hub_route") if dependencies else None
        )
        self.__doc__ = _DESCRIPTION
        self._hello = orjson.dumps(
            {"type": "hello", "version": VERSION, "ping_interval": ping_interval}
        ).decode()

    def described(self, plan: HandlerPlan) -> HandlerPlan:
        """The route's ``plan`` with the dependencies solved at the handshake (its query,
        headers and security schemes, for the AsyncAPI document)."""
        extra = [
            Dependency("", planned.plan.call, True, planned.plan)
            for planned in (self.can_subscribe, self.can_publish, self.presence)
            if planned is not None
        ]
        if self.handshake is not None:
            extra[:0] = self.handshake.dependencies
        return dataclasses.replace(plan, dependencies=(*plan.dependencies, *extra))

    @staticmethod
    def _plan(
        function: Callable[..., Any] | None,
        what: str,
        path_names: frozenset[str],
        namespace: Mapping[str, Any] | None,
    ) -> _Callable | None:
        return None if function is None else _Callable(function, what, path_names, namespace)

    async def __call__(self, websocket: WebSocket) -> None:
        """Serve one client: the handshake, then its commands until it leaves."""
        if SUBPROTOCOL not in websocket.subprotocols:
            raise HTTPException(400, f"a hub route speaks the subprotocol {SUBPROTOCOL}: offer it")
        app = websocket.scope["app"]
        hub: Hub | None = app.hub
        if hub is None:
            # only an app that was not started, with the route given in routes=, gets here
            raise RuntimeError(
                "a hub route needs an app with a Hub, and this app has none:"
                " pass hub=Hub(...) to FastrAPI()"
            )
        solver = websocket_solver(app, websocket)
        error: BaseException | None = None
        try:
            bound = await self._handshake(websocket, solver)
            if bound is None:
                return
            connection = HubConnection(websocket, hub)
            session = _Session(self, connection, *bound)
            with bare_errors():
                async with trio.open_nursery() as nursery:
                    if self.ping_interval is not None:
                        nursery.start_soon(_ping, websocket, self.ping_interval)
                    try:
                        await session.run()
                    finally:
                        nursery.cancel_scope.cancel()
                        await session.leave_all()
        except BaseException as exc:
            error = exc
            raise
        finally:
            await solver.aclose(error)

    async def _handshake(
        self, websocket: WebSocket, solver: Solver
    ) -> tuple[Callable[..., Any] | None, ...] | None:
        """Solve the dependencies and accept; ``None`` if they refused (closed with 44xx)."""
        code = 0
        reason = ""
        bound: list[Callable[..., Any] | None] = []
        try:
            if self.handshake is not None:
                await solver.call(self.handshake)
            for planned in (self.can_subscribe, self.can_publish, self.presence):
                bound.append(None if planned is None else await _bound(solver, planned))
        except HTTPException as exc:
            code = {401: 4401, 403: 4403}.get(exc.status_code, 4400)
            if exc.status_code >= 500:
                code = CloseCode.INTERNAL_ERROR
            reason = str(exc.detail)
        except WebSocketException as exc:
            code, reason = exc.code, exc.reason
        except (WebSocketRequestValidationError, RequestValidationError) as exc:
            code, reason = 4400, exc.summary()
        await websocket.accept(SUBPROTOCOL)
        if code:
            path = websocket.scope["path"]
            logger.info("hub route %s refused a client: %d %s", path, code, reason)
            await websocket.close(code, _short(reason))
            return None
        await websocket.send_text(self._hello)
        return tuple(bound)


async def _bound(solver: Solver, planned: _Callable) -> Callable[..., Any]:
    function: Callable[..., Any] = await solver.call(planned.plan)  # type: ignore[assignment]  # bind() returns it
    if planned.is_async:
        return function

    async def call(connection: HubConnection, topic: str) -> Any:
        return function(connection, topic)

    return call


def _short(reason: str) -> str:
    """A close reason within its 123 bytes."""
    data = reason.encode()
    return reason if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


async def _ping(websocket: WebSocket, interval: float) -> None:
    """The application-level heartbeat: what a browser's page can see (it cannot see pings)."""
    try:
        while True:
            await trio.sleep(interval)
            await websocket.send_text(PING)
    except Exception:  # the connection ended: the command loop sees it
        return


class _Error(Exception):
    """An error reply: its code (HTTP-like) and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_COMMANDS: Final = frozenset(
    {"subscribe", "unsubscribe", "publish", "rpc", "presence", "history", "pong"}
)


@final
class _Session:
    """One connection's commands."""

    def __init__(
        self,
        endpoint: HubEndpoint,
        connection: HubConnection,
        can_subscribe: Callable[..., Any] | None,
        can_publish: Callable[..., Any] | None,
        presence: Callable[..., Any] | None,
    ) -> None:
        self.endpoint = endpoint
        self.connection = connection
        self.ws = connection.websocket
        self.hub = connection.hub
        self.can_subscribe = can_subscribe
        self.can_publish = can_publish
        self.presence = presence

    async def run(self) -> None:
        ws = self.ws
        while True:
            message = await ws.receive()  # WebSocketDisconnect ends the session
            command_id: int | None = None
            try:
                if not isinstance(message, str):
                    raise _Error(400, "commands are JSON objects in text frames, not binary")
                try:
                    command = orjson.loads(message)
                except orjson.JSONDecodeError as exc:
                    raise _Error(400, f"not JSON: {exc}") from None
                if not isinstance(command, dict):
                    raise _Error(400, "a command is a JSON object with a type")
                kind = command.get("type")
                if kind == "pong":
                    continue
                raw_id = command.get("id")
                if isinstance(raw_id, int) and not isinstance(raw_id, bool):
                    command_id = raw_id
                if kind not in _COMMANDS:
                    raise _Error(400, f"unknown command type {kind!r}")
                if command_id is None:
                    raise _Error(400, f"a {kind} command needs an integer id")
                result = await getattr(self, f"_{kind}")(command)
                if result is _SENT:
                    continue
                reply: dict[str, Any] = {"type": "reply", "id": command_id, "result": result}
            except _Error as exc:
                reply = {
                    "type": "error",
                    "id": command_id,
                    "code": exc.code,
                    "message": exc.message,
                }
            except HubUnavailable as exc:
                reply = {"type": "error", "id": command_id, "code": 503, "message": str(exc)}
            await ws.send_text(orjson.dumps(reply).decode())

    # -- checks ----------------------------------------------------------------------------------

    async def _allowed(self, check: Callable[..., Any] | None, topic: str, what: str) -> None:
        if check is not None and not await self._ask(check, topic, what):
            raise _Error(403, f"{what} of topic {topic!r} refused")

    async def _ask(self, function: Callable[..., Any], topic: str, what: str) -> Any:
        """``function(connection, topic)``: an ``HTTPException`` it raises is an error reply
        with its status, a ``WebSocketException`` a 403, anything else a 500 (logged)."""
        try:
            return await function(self.connection, topic)
        except HTTPException as exc:
            raise _Error(exc.status_code, str(exc.detail)) from None
        except WebSocketException as exc:
            raise _Error(403, exc.reason or f"{what} of topic {topic!r} refused") from None
        except Exception as exc:
            logger.exception("hub route: %s check of topic %r failed", what, topic, exc_info=exc)
            raise _Error(500, f"{what} check of topic {topic!r} failed") from None

    # -- commands --------------------------------------------------------------------------------

    async def _subscribe(self, command: dict[str, Any]) -> object:
        topic = _topic(command)
        since = _position(command.get("since"))
        connection = self.connection
        if topic in connection._members:
            raise _Error(409, f"already subscribed to topic {topic!r}")
        await self._allowed(self.can_subscribe, topic, "subscription")
        hub = self.hub
        value = None if self.presence is None else await self._ask(self.presence, topic, "presence")
        member = Member(
            hub, topic, self.ws, hub._budget, presence=value, envelope=False, protocol=True
        )
        member._recovering = []  # held while the history is read
        connection._members[topic] = member
        try:
            await hub._add(member)
            recovery = await hub._recovery(topic, since)
            if value is not None:
                await hub._backend.add_presence(topic, member.key, value)
        except BaseException:
            del connection._members[topic]
            await hub._leave(member, None)
            raise
        position = recovery.position
        reply = {
            "type": "subscribed",
            "id": command["id"],
            "topic": topic,
            "epoch": position.epoch,
            "offset": position.offset,
            "was_recovering": recovery.was_recovering,
            "recovered": recovery.recovered,
        }
        await self.ws.send_text(orjson.dumps(reply).decode())
        member._recover(recovery.missed, position)
        if self.endpoint.presence_events and value is not None:
            notice = {"type": "user_joined", "topic": topic, "presence": value}
            try:
                await hub.publish(topic, notice, exclude=self.ws)
            except HubUnavailable as exc:
                logger.warning("hub: the join to %r was not announced: %s", topic, exc)
        return _SENT

    async def _unsubscribe(self, command: dict[str, Any]) -> object:
        topic = _topic(command)
        member = self.connection._members.pop(topic, None)
        if member is None:
            raise _Error(404, f"not subscribed to topic {topic!r}")
        await self._leave(member)
        return None

    async def _leave(self, member: Member) -> None:
        notice = None
        if self.endpoint.presence_events and member.presence is not None:
            notice = {"type": "user_left", "topic": member.topic, "presence": member.presence}
        await self.hub._leave(member, notice)

    async def leave_all(self) -> None:
        members = self.connection._members
        while members:
            _, member = members.popitem()
            await self._leave(member)

    async def _publish(self, command: dict[str, Any]) -> object:
        topic = _topic(command)
        if "data" not in command:
            raise _Error(400, "a publish command needs data")
        data = command["data"]
        if isinstance(data, dict) and data.get("type") in _NOTICE_TYPES:
            raise _Error(400, "data of type user_joined or user_left is the Hub's own notice")
        await self._allowed(self.can_publish, topic, "publishing")
        position = await self.hub.publish(topic, data)
        return {"epoch": position.epoch, "offset": position.offset}

    async def _rpc(self, command: dict[str, Any]) -> object:
        method = command.get("method")
        if not isinstance(method, str):
            raise _Error(400, "an rpc command needs a method name (a string)")
        handler = self.endpoint.rpc.get(method)
        if handler is None:
            raise _Error(404, f"no rpc method {method!r}")
        try:
            result = await handler(self.connection, command.get("params"))
            orjson.dumps(result)
        except HTTPException as exc:
            raise _Error(exc.status_code, str(exc.detail)) from None
        except (_Error, HubUnavailable):
            raise
        except Exception as exc:
            logger.exception("hub rpc method %r failed", method, exc_info=exc)
            raise _Error(500, f"rpc method {method!r} failed") from None
        return result

    async def _presence(self, command: dict[str, Any]) -> object:
        topic = _topic(command)
        await self._allowed(self.can_subscribe, topic, "presence")
        return {"members": await self.hub.members(topic)}

    async def _history(self, command: dict[str, Any]) -> object:
        topic = _topic(command)
        since = _position(command.get("since"))
        limit = command.get("limit")
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
        ):
            raise _Error(400, f"limit is a positive integer or null, not {limit!r}")
        await self._allowed(self.can_subscribe, topic, "history")
        position, kept = await self.hub._backend.kept(topic, 0)
        if since is not None and since.epoch == position.epoch:
            kept = [p for p in kept if p.position.offset > since.offset]
        if limit is not None:
            kept = kept[:limit] if since is not None else kept[-limit:]
        publications = [
            {"data": _data(p.wire), "epoch": p.position.epoch, "offset": p.position.offset}
            for p in kept
        ]
        return {"publications": publications, "epoch": position.epoch, "offset": position.offset}


_SENT: Final = object()  # a command that sent its own reply (subscribe)


def _data(wire: Wire) -> object:
    """A message's data as JSON: published data as it was, binary data in base64."""
    if wire.is_json:
        return orjson.loads(wire.payload)
    return wire.data if isinstance(wire.data, str) else base64.b64encode(wire.data).decode()


def _topic(command: dict[str, Any]) -> str:
    topic = command.get("topic")
    if not isinstance(topic, str) or not topic:
        raise _Error(400, f"topic is a non-empty string, not {topic!r}")
    return topic


def _position(value: object) -> Position | None:
    if value is None:
        return None
    if (
        isinstance(value, dict)
        and isinstance(value.get("epoch"), str)
        and isinstance(value.get("offset"), int)
        and not isinstance(value.get("offset"), bool)
        and 0 <= value["offset"] <= MAX_OFFSET
    ):
        return Position(value["epoch"], value["offset"])
    raise _Error(400, f'since is {{"epoch": str, "offset": 0 to 2**53}} or null, not {value!r}')
