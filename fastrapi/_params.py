"""Parameter planning: a handler's signature (and each dependency's) is planned once, when its
route is declared; each request is then bound to the plan.

Each parameter of a handler is one of: the connection (the WebSocket, or the HTTP Request, or
either for a parameter annotated ``HTTPConnection``), a dependency (``Depends``), or a value from
the request: a path, query, header or cookie parameter, or the JSON body, marked with
``Annotated[T, Query()]`` and friends (see :mod:`fastrapi.params`) or found by its name and type
when unmarked. Values are validated with one pydantic ``TypeAdapter`` per parameter, made here.
Everything that can be wrong with a signature is a
:class:`~fastrapi.exceptions.RouteDefinitionError` at declaration; what can be wrong with a
request is a list of pydantic-style errors when it arrives (FastAPI's 422 ``detail``).
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, final

import pydantic

from ._connection import HTTPConnection
from .exceptions import RouteDefinitionError
from .params import UNSET, Body, Depends, Header, Param, Security

if typing.TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

_REQUIRED: Final = inspect.Parameter.empty
_MANY: Final = frozenset({list, tuple, set, frozenset, collections.abc.Sequence})
ErrorList = list[Mapping[str, object]]


class Source(enum.Enum):
    """Where a parameter's value comes from."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"


class CallKind(enum.Enum):
    """How a handler or dependency is called."""

    ASYNC = "async"
    SYNC = "sync"  # in a worker thread
    ASYNC_GENERATOR = "async generator"
    GENERATOR = "generator"


NO_BODY: Final = object()
"""The request has no body (or none was read): a body parameter is missing."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a request offers to parameters: the connection's (parsed only when a parameter
    asks: its headers, query and cookies are cached properties) and the parsed body."""

    connection: HTTPConnection
    body: object = NO_BODY


@final
@dataclass(frozen=True, slots=True)
class Value:
    """One parameter taken from the request."""

    name: str
    source: Source
    key: str
    adapter: pydantic.TypeAdapter[Any] | None  # None: any string is fine (unannotated, str)
    default: object = _REQUIRED
    many: bool = False


@final
@dataclass(frozen=True, slots=True)
class Dependency:
    """One parameter filled by a dependency."""

    name: str
    call: Callable[..., object]
    use_cache: bool
    plan: HandlerPlan
    scope_key: tuple[str, ...] = ()
    """The sorted scopes in its cache key, when the dependency uses scopes (FastAPI's key)."""


@final
@dataclass(frozen=True, slots=True)
class HandlerPlan:
    """How to call one handler or dependency: which argument comes from where."""

    call: Callable[..., object]
    kind: CallKind
    params: tuple[Value, ...]
    dependencies: tuple[Dependency, ...]
    connection_params: tuple[str, ...]
    """The names of the parameters that get the connection (WebSocket or Request)."""
    embed_body: bool = False
    """Body parameters are the values of their names in a JSON object (else: the body)."""
    needs_body: bool = False
    """This plan or one of its dependencies takes the body."""
    path_names: frozenset[str] = frozenset()
    """The route's path parameters (to plan a dependency override alike)."""
    provided: tuple[tuple[str, object], ...] = ()
    """Parameters that get an object of the app (its Hub), by name."""
    background_params: tuple[str, ...] = ()
    """Parameters that get the request's :class:`~fastrapi.background.BackgroundTasks`."""
    scopes: tuple[str, ...] = ()
    """The OAuth2 scopes required along the chain down to here (``Security(scopes=...)``)."""
    uses_scopes: bool = False
    """It or a dependency below asks for ``SecurityScopes`` or adds scopes."""
    response_params: tuple[str, ...] = ()
    """The names of the parameters that get the response-to-be (annotated ``Response``)."""
    needs_response: bool = False
    """This plan or one of its dependencies takes the response-to-be."""

    @property
    def streams(self) -> bool:
        """A generator handler: what it yields is the response body (SSE, JSON Lines)."""
        return self.kind in (CallKind.ASYNC_GENERATOR, CallKind.GENERATOR)

    def call_directly(self, connection: HTTPConnection) -> Awaitable[object] | None:
        """The call of a coroutine function that takes only the connection and the app's
        objects (nothing to resolve or validate); ``None`` for any other plan."""
        if (
            self.kind is not CallKind.ASYNC
            or self.params
            or self.dependencies
            or self.response_params
        ):
            return None
        if self.background_params:
            return None
        kwargs = {**dict(self.provided), **dict.fromkeys(self.connection_params, connection)}
        return typing.cast("Awaitable[object]", self.call(**kwargs))

    def bind(self, inputs: Inputs) -> tuple[dict[str, object], ErrorList]:
        """The keyword arguments taken from the request, and the errors of those that failed.

        Each error is a dict as pydantic (and FastAPI's 422 ``detail``) has them: ``type``,
        ``loc`` (the source, the name, then where inside), ``msg``, ``input``.
        """
        kwargs: dict[str, object] = dict(self.provided)
        errors: ErrorList = []
        if self.background_params:
            from .background import tasks_of

            tasks = tasks_of(inputs.connection.scope)
            kwargs.update(dict.fromkeys(self.background_params, tasks))
        for param in self.params:
            raw = self._raw(param, inputs)
            if raw is NO_BODY:
                if param.default is _REQUIRED:
                    errors.append(_missing(param, self.embed_body))
                else:
                    kwargs[param.name] = param.default
            elif param.adapter is None:
                kwargs[param.name] = raw
            else:
                try:
                    kwargs[param.name] = param.adapter.validate_python(raw)
                except pydantic.ValidationError as exc:
                    errors.extend(_errors(exc, _loc(param, self.embed_body)))
        return kwargs, errors

    def _raw(self, param: Value, inputs: Inputs) -> object:
        source = param.source
        if source is Source.PATH:
            return inputs.connection.path_params[param.key]
        if source is Source.BODY:
            body = inputs.body
            if not self.embed_body or body is NO_BODY:
                return body
            return body.get(param.key, NO_BODY) if isinstance(body, dict) else NO_BODY
        conn = inputs.connection
        many: Mapping[str, str] = (
            conn.cookies
            if source is Source.COOKIE
            else (conn.query_params if source is Source.QUERY else conn.headers)
        )
        if param.many and source is not Source.COOKIE:
            values = many.getlist(param.key)  # type: ignore[attr-defined]  # query or headers
            return values if values else NO_BODY
        return many.get(param.key, NO_BODY)


def _loc(param: Value, embed: bool) -> tuple[str, ...]:
    if param.source is Source.BODY and not embed:
        return ("body",)
    return (param.source.value, param.key)


def _missing(param: Value, embed: bool) -> Mapping[str, object]:
    return {"type": "missing", "loc": _loc(param, embed), "msg": "Field required", "input": None}


def _errors(exc: pydantic.ValidationError, loc: tuple[str, ...]) -> ErrorList:
    """pydantic's errors with ``loc`` in front, made JSON-safe (a ``ctx`` may hold objects)."""
    out: ErrorList = []
    for error in exc.errors(include_url=False):
        item: dict[str, object] = {
            "type": error["type"],
            "loc": (*loc, *error["loc"]),  # a tuple, as pydantic's and FastAPI's
            "msg": error["msg"],
            "input": error.get("input"),
        }
        if "ctx" in error:
            item["ctx"] = {k: _plain(v) for k, v in error["ctx"].items()}
        out.append(item)
    return out


def validation_errors(exc: pydantic.ValidationError) -> ErrorList:
    """pydantic's errors of ``exc``, made JSON-safe, with their own ``loc``."""
    return _errors(exc, ())


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class Role(enum.Enum):
    """What is planned: a route's handler of either kind, or a dependency."""

    WEBSOCKET = "WebSocket handler"
    HTTP = "HTTP handler"
    DEPENDENCY = "dependency"


def plan_handler(
    handler: Callable[..., object],
    path_params: frozenset[str],
    role: Role,
    namespace: Mapping[str, Any] | None = None,
    provided: Mapping[type, object] | None = None,
    scopes: tuple[str, ...] = (),
) -> HandlerPlan:
    """Plan the calls of ``handler``.

    Args:
        handler: The function. A WebSocket handler must be ``async def`` and take the
            WebSocket (its unannotated first parameter, or one annotated ``WebSocket``); an
            HTTP handler or a dependency may be a plain ``def`` (run in a worker thread), and a
            dependency may be a generator of either kind.
        path_params: The names in the route's path template; a handler must take them all.
        role: What ``handler`` is.
        namespace: Where the route was declared (the decorating frame's locals): string
            annotations (``from __future__ import annotations``) may name local dependencies.
        provided: Objects of the app by type: a parameter annotated with one of these types
            gets it (``None`` there: the app has none, a declaration error).
        scopes: The OAuth2 scopes required by the ``Security`` markers above ``handler``; a
            parameter annotated ``SecurityScopes`` gets them.

    Raises:
        RouteDefinitionError: ``handler`` is not ``async def`` where it must be, takes
            ``*args``/``**kwargs`` or a positional-only parameter, has an annotation that cannot
            be resolved or validated, a marker that does not fit, or misses a path parameter.
    """
    from .background import BackgroundTasks
    from .requests import Request
    from .responses import Response
    from .security.oauth2 import SecurityScopes
    from .websocket import WebSocket

    name = getattr(handler, "__qualname__", repr(handler))
    kind = _kind(handler)
    if role is Role.WEBSOCKET and kind is not CallKind.ASYNC:
        raise RouteDefinitionError(
            f"handler {name} must be an async function (async def), it is {kind.value}"
        )
    try:
        hints = _parameter_hints(_unwrap(handler), namespace)
    except Exception as exc:
        raise RouteDefinitionError(
            f"handler {name}: cannot resolve its annotations: {exc}"
        ) from exc
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as exc:
        raise RouteDefinitionError(f"{name}: cannot read its signature: {exc}") from exc
    connection_type: type = Request if role is Role.HTTP else WebSocket
    if role is Role.DEPENDENCY:
        connection_type = HTTPConnection  # either; bound per route by the caller
    values: list[Value] = []
    dependencies: list[Dependency] = []
    connection: list[str] = []
    response: list[str] = []
    fixed: list[tuple[str, object]] = []
    background: list[str] = []
    embed = False
    uses_scopes = False
    for index, parameter in enumerate(signature.parameters.values()):
        where = f"{name}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise RouteDefinitionError(f"{where}: *args and **kwargs cannot be filled in")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise RouteDefinitionError(f"{where}: positional-only parameters cannot be filled in")
        annotation = hints.get(parameter.name, _REQUIRED)
        base, extras, marker = _split(annotation, parameter.default)
        if isinstance(marker, Depends):
            call = marker.dependency or base
            if call is _REQUIRED or not callable(call):
                raise RouteDefinitionError(
                    f"{where}: Depends() needs a callable, or an annotation to call"
                )
            own = marker.scopes if isinstance(marker, Security) else ()
            sub_scopes = tuple(dict.fromkeys((*scopes, *own)))
            sub = plan_handler(call, path_params, Role.DEPENDENCY, namespace, provided, sub_scopes)
            key = tuple(sorted(sub_scopes)) if own or sub.uses_scopes else ()
            uses_scopes = uses_scopes or bool(key)
            dependencies.append(Dependency(parameter.name, call, marker.use_cache, sub, key))
        elif marker is None and base is SecurityScopes:
            fixed.append((parameter.name, SecurityScopes(scopes)))
            uses_scopes = True
        elif (marker is None and _is_connection(base, connection_type)) or (
            marker is None and role is Role.WEBSOCKET and index == 0 and base is _REQUIRED
        ):
            connection.append(parameter.name)
        elif marker is None and base is BackgroundTasks:
            background.append(parameter.name)
        elif marker is None and isinstance(base, type) and issubclass(base, Response):
            if role is Role.WEBSOCKET:
                raise RouteDefinitionError(f"{where}: a WebSocket handler has no response")
            response.append(parameter.name)
        elif marker is None and provided and base in provided:
            if provided[base] is None:
                raise RouteDefinitionError(
                    f"{where}: the app has no {base.__name__}"
                    f" (give it one: FastrAPI({base.__name__.lower()}=...))"
                )
            fixed.append((parameter.name, provided[base]))
        else:
            value = _value(parameter, base, extras, marker, path_params, where)
            embed = embed or (isinstance(marker, Body) and marker.embed)
            values.append(value)
    missing = path_params - {v.key for v in values if v.source is Source.PATH}
    if missing and role is not Role.DEPENDENCY:
        raise RouteDefinitionError(
            f"handler {name} has no parameter for path parameter(s) {', '.join(sorted(missing))}"
        )
    if role is Role.WEBSOCKET and not connection:
        raise RouteDefinitionError(f"handler {name} must take the WebSocket as its first parameter")
    bodies = sum(v.source is Source.BODY for v in values)
    needs_body = bodies > 0 or any(d.plan.needs_body for d in dependencies)
    if role is Role.WEBSOCKET and needs_body:
        raise RouteDefinitionError(f"handler {name}: a WebSocket handshake has no body")
    return HandlerPlan(
        handler,
        kind,
        tuple(values),
        tuple(dependencies),
        tuple(connection),
        embed_body=embed or bodies > 1,
        needs_body=needs_body,
        path_names=path_params,
        provided=tuple(fixed),
        background_params=tuple(background),
        scopes=scopes,
        uses_scopes=uses_scopes,
        response_params=tuple(response),
        needs_response=bool(response) or any(d.plan.needs_response for d in dependencies),
    )


def _parameter_hints(
    function: Callable[..., object], namespace: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The resolved annotations of ``function``'s parameters (its return annotation is left
    alone: it may name what is imported only for type checkers)."""
    annotations = dict(getattr(function, "__annotations__", {}))
    annotations.pop("return", None)
    return typing.get_type_hints(
        types.SimpleNamespace(__annotations__=annotations),
        globalns=getattr(inspect.unwrap(function), "__globals__", {}),
        localns=dict(namespace or {}),
        include_extras=True,
    )


@functools.cache
def plan_dependency(
    call: Callable[..., object], path_params: frozenset[str], scopes: tuple[str, ...] = ()
) -> HandlerPlan:
    """The plan of a dependency override, made at its first use for each path shape (and
    each chain of scopes)."""
    return plan_handler(call, path_params, Role.DEPENDENCY, scopes=scopes)


def _split(annotation: Any, default: object) -> tuple[Any, tuple[object, ...], object]:
    """The bare type, the other ``Annotated`` metadata, and our marker (if any)."""
    extras: tuple[object, ...] = ()
    base = annotation
    if typing.get_origin(annotation) is Annotated:
        base, *rest = typing.get_args(annotation)
        extras = tuple(rest)
    markers = [m for m in extras if isinstance(m, Param | Depends)]
    if isinstance(default, Param | Depends):  # the pre-Annotated spelling: x: int = Query()
        markers.append(default)
    extras = tuple(m for m in extras if not isinstance(m, Param | Depends))
    return base, extras, markers[-1] if markers else None


def _is_connection(base: object, connection_type: type) -> bool:
    if not isinstance(base, type):
        return False
    if connection_type is HTTPConnection:  # a dependency: any connection type
        return issubclass(base, HTTPConnection)
    return issubclass(connection_type, base) and issubclass(base, HTTPConnection)


def _value(
    parameter: inspect.Parameter,
    base: Any,
    extras: tuple[object, ...],
    marker: object,
    path_params: frozenset[str],
    where: str,
) -> Value:
    marker = typing.cast("Param | None", marker)  # a Depends was taken by the caller
    default = parameter.default
    if isinstance(default, Param):
        default = _REQUIRED
    if marker is not None and marker.default is not UNSET:
        default = marker.default
    if marker is not None and marker.alias is not None:
        key = marker.alias
    elif isinstance(marker, Header) and marker.convert_underscores:
        key = parameter.name.replace("_", "-")
    else:
        key = parameter.name
    if isinstance(marker, Header):
        key = key.lower()
    if marker is None:
        if parameter.name in path_params:
            source = Source.PATH
        elif isinstance(base, type) and issubclass(base, pydantic.BaseModel):
            source = Source.BODY
        else:
            source = Source.QUERY
    else:
        source = Source(marker.source)
    if source is Source.PATH and key not in path_params:
        raise RouteDefinitionError(f"{where}: Path() names {key!r}, not in the path template")
    many = source in (Source.QUERY, Source.HEADER) and typing.get_origin(_optional(base)) in _MANY
    constraints = marker.constraints if marker is not None else {}
    if base is _REQUIRED or (base is str and not extras and not constraints):
        adapter = None  # a string stays as it came
    else:
        typ = base
        metadata = [*extras, pydantic.Field(**constraints)] if constraints else list(extras)
        if metadata:
            typ = Annotated[(base, *metadata)]
        try:
            adapter = pydantic.TypeAdapter(typ)
        except (pydantic.PydanticSchemaGenerationError, TypeError, ValueError) as exc:
            raise RouteDefinitionError(f"{where}: cannot validate {base!r}: {exc}") from exc
    if default is _REQUIRED and _optional(base) is not base:
        default = None  # ``int | None`` with no default is optional
    return Value(parameter.name, source, key, adapter, default, many)


def _optional(annotation: Any) -> Any:
    """``T`` for ``T | None``; the annotation itself otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(annotation)):
            return args[0]
    return annotation


def _kind(handler: object) -> CallKind:
    target = (
        handler
        if inspect.isroutine(handler) or isinstance(handler, functools.partial)
        else (
            getattr(handler, "__call__", None)  # noqa: B004 (an object with a __call__)
        )
    )
    if isinstance(target, functools.partial):
        target = target.func
    if inspect.isasyncgenfunction(target):
        return CallKind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return CallKind.GENERATOR
    if inspect.iscoroutinefunction(target):
        return CallKind.ASYNC
    return CallKind.SYNC


def _unwrap(handler: Callable[..., object]) -> Callable[..., object]:
    """The function whose annotations describe ``handler`` (a partial's, an object's __call__)."""
    if isinstance(handler, functools.partial):
        return _unwrap(handler.func)
    if isinstance(handler, type):
        init: Callable[..., object] = handler.__init__  # type: ignore[misc]  # its parameters
        return init
    if inspect.isroutine(handler):
        return handler
    call: Callable[..., object] = type(handler).__call__  # a callable object's own method
    return call
