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
import copy
import dataclasses
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
from ._forms import MISSING_MULTIPART, multipart_installed
from .datastructures import FormData, UploadFile
from .encoders import jsonable_encoder
from .exceptions import RouteDefinitionError
from .params import UNSET, Body, Depends, File, Header, Param, Security

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
    FORM = "form"

    @property
    def loc(self) -> str:
        """The first item of an error's ``loc`` (a form field's is ``"body"``, as FastAPI's)."""
        return "body" if self is Source.FORM else self.value


class BodyKind(enum.Enum):
    """What a route's body is read as, planned from its parameters."""

    JSON = "json"
    FORM = "form"


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
    fields: tuple[ModelField, ...] | None = None
    """A parameter model's fields (``Annotated[Model, Query()]``): the value is a dict."""
    default_factory: Callable[[], object] | None = None
    blank_is_missing: bool = False
    """An empty string counts as missing (a form field, as FastAPI has it)."""
    read_bytes: bool = False
    """A file field annotated ``bytes`` (or a list of them): the form gives the contents."""
    marker: Param | None = None
    """The parameter's marker (``Query(...)``...), for the API documents."""
    annotation: Any = None
    """The parameter's type with its other ``Annotated`` metadata, for the API documents."""
    no_default: bool = False
    """``T | None`` with no default: optional here, required in FastAPI's documents."""

    def default_value(self) -> object:
        """The default for this request (a fresh copy of a mutable one)."""
        if self.default_factory is not None:
            return self.default_factory()
        default = self.default
        return copy.copy(default) if isinstance(default, list | dict | set) else default


@final
@dataclass(frozen=True, slots=True)
class ModelField:
    """One field of a parameter model: its name for validation, where it is in the request,
    and what stands for it when it is absent (FastAPI shows that in a missing error's input)."""

    name: str
    key: str
    many: bool
    absent: object = NO_BODY


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
    function_scope: bool = False
    """``Depends(..., scope="function")``: a generator's cleanup runs when the handler returns."""


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
    provided: tuple[tuple[str, Callable[[], object]], ...] = ()
    """Parameters that get an object of the app (its Hub), by name, with the function that
    reads it at each call (so that ``app.hub = test_hub`` reaches routes declared before)."""
    background_params: tuple[str, ...] = ()
    """Parameters that get the request's :class:`~fastrapi.background.BackgroundTasks`."""
    body_kind: BodyKind | None = None
    """How the route's body is read (for it and its dependencies), if it takes one."""
    bytes_fields: frozenset[str] = frozenset()
    """Form fields whose files are read into ``bytes`` (for it and its dependencies)."""
    scopes: tuple[str, ...] = ()
    """The OAuth2 scopes required along the chain down to here (``Security(scopes=...)``)."""
    uses_scopes: bool = False
    """It or a dependency below asks for ``SecurityScopes`` or adds scopes."""
    response_params: tuple[str, ...] = ()
    """The names of the parameters that get the response-to-be (annotated ``Response``)."""
    needs_response: bool = False
    """This plan or one of its dependencies takes the response-to-be."""
    _direct: int = dataclasses.field(init=False, repr=False, compare=False)
    """What :meth:`call_directly` does, decided once: 0 nothing, 1 call with no arguments, 2
    call with the app's objects and the connection."""
    simple: bool = dataclasses.field(init=False, repr=False, compare=False)
    """A function (``async def`` or plain) whose arguments are only the request's values, the
    connection and the app's objects: no dependency, no response-to-be, no background tasks,
    so no solver (nothing to resolve, cache or clean up): :meth:`bind` and call."""

    def __post_init__(self) -> None:
        simple = not (
            self.kind not in (CallKind.ASYNC, CallKind.SYNC)
            or self.dependencies
            or self.response_params
            or self.background_params
        )
        direct = simple and self.kind is CallKind.ASYNC and not self.params
        bare = direct and not self.provided and not self.connection_params
        object.__setattr__(self, "simple", simple)
        object.__setattr__(self, "_direct", 1 if bare else 2 if direct else 0)

    @property
    def streams(self) -> bool:
        """A generator handler: what it yields is the response body (SSE, JSON Lines)."""
        return self.kind in (CallKind.ASYNC_GENERATOR, CallKind.GENERATOR)

    def call_directly(self, connection: HTTPConnection) -> Awaitable[object] | None:
        """The call of a coroutine function that takes only the connection and the app's
        objects (nothing to resolve or validate); ``None`` for any other plan."""
        direct = self._direct
        if direct == 1:
            return typing.cast("Awaitable[object]", self.call())
        if not direct:
            return None
        kwargs: dict[str, object] = dict.fromkeys(self.connection_params, connection)
        for name, read in self.provided:
            kwargs[name] = read()
        return typing.cast("Awaitable[object]", self.call(**kwargs))

    def bind(self, inputs: Inputs) -> tuple[dict[str, object], ErrorList]:
        """The keyword arguments taken from the request, and the errors of those that failed.

        Each error is a dict as pydantic (and FastAPI's 422 ``detail``) has them: ``type``,
        ``loc`` (the source, the name, then where inside), ``msg``, ``input``.
        """
        kwargs: dict[str, object] = {name: read() for name, read in self.provided}
        errors: ErrorList = []
        if self.background_params:
            from .background import tasks_of

            tasks = tasks_of(inputs.connection.scope)
            kwargs.update(dict.fromkeys(self.background_params, tasks))
        for param in self.params:
            raw = self._raw(param, inputs)
            if raw is NO_BODY:
                if param.default is _REQUIRED and param.default_factory is None:
                    errors.append(_missing(param, self.embed_body))
                else:
                    kwargs[param.name] = param.default_value()
            elif param.adapter is None:
                kwargs[param.name] = raw
            else:
                try:
                    # (the core validator: TypeAdapter.validate_python only passes it on)
                    validator = param.adapter.validator
                    kwargs[param.name] = validator.validate_python(raw, from_attributes=True)
                except pydantic.ValidationError as exc:
                    errors.extend(_errors(exc, _loc(param, self.embed_body)))
        return kwargs, errors

    def _raw(self, param: Value, inputs: Inputs) -> object:
        source = param.source
        if source is Source.PATH:
            return inputs.connection.path_params[param.key]
        if source is Source.BODY:
            body = inputs.body
            if self.embed_body and body is not NO_BODY:
                body = body.get(param.key, NO_BODY) if isinstance(body, dict) else NO_BODY
            return NO_BODY if body is None else body  # FastAPI: null is missing
        many: Mapping[str, object]
        if source is Source.FORM:
            body = inputs.body
            many = body if isinstance(body, FormData) else _NO_FORM
        else:
            conn = inputs.connection
            many = (
                conn.cookies
                if source is Source.COOKIE
                else (conn.query_params if source is Source.QUERY else conn.headers)
            )
        if param.fields is not None:
            return _model_input(param, many)
        if not param.many and not param.blank_is_missing:  # the common case, inline
            return many.get(param.key, NO_BODY)
        return _field_value(param.key, param.many, param.blank_is_missing, many)


_NO_FORM: Final = FormData(())


def _field_value(
    key: str, many: bool, blank_is_missing: bool, values: Mapping[str, object]
) -> object:
    """The value of ``key`` in a request's ``values`` (all of them for ``many``), or
    ``NO_BODY``."""
    if many and not isinstance(values, dict):  # a query, headers or a form: keys repeat
        found = values.getlist(key)  # type: ignore[attr-defined]  # a multi-mapping
        if blank_is_missing:
            found = [v for v in found if v != ""]
        return found if found else NO_BODY
    value = values.get(key, NO_BODY)
    if blank_is_missing and value == "":
        return NO_BODY
    return value


def _model_input(param: Value, values: Mapping[str, object]) -> dict[str, object]:
    """A parameter model's input: its fields found in ``values``, then every other key (so that
    ``extra="forbid"`` can refuse them and ``extra="allow"`` keep them)."""
    data: dict[str, object] = {}
    seen: set[str] = set()
    for field in param.fields or ():
        value = _field_value(field.key, field.many, param.blank_is_missing, values)
        if value is not NO_BODY:
            data[field.name] = value
        elif field.absent is not NO_BODY:
            data[field.name] = copy.copy(field.absent)
        seen.add(field.key)
        seen.add(field.name)
    for key in values:
        if key not in seen:
            if isinstance(values, dict):
                data[key] = values[key]
            else:
                repeats = values.getlist(key)  # type: ignore[attr-defined]  # a multi-mapping
                data[key] = repeats[0] if len(repeats) == 1 else repeats
    return data


def _loc(param: Value, embed: bool) -> tuple[str, ...]:
    if param.fields is not None or (param.source is Source.BODY and not embed):
        return (param.source.loc,)
    return (param.source.loc, param.key)


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
            "input": _shown(error.get("input")),
        }
        if "ctx" in error:
            # as FastAPI's JSON has it: a validator's ValueError is {}, a Decimal a number
            item["ctx"] = jsonable_encoder(error["ctx"])
        out.append(item)
    return out


def validation_errors(exc: pydantic.ValidationError) -> ErrorList:
    """pydantic's errors of ``exc``, made JSON-safe, with their own ``loc``."""
    return _errors(exc, ())


def _shown(value: object) -> object:
    """An error's input as JSON can carry it (a body that was not JSON is its text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


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
    provided: Mapping[type, Callable[[], object]] | None = None,
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
        provided: Objects of the app by type, each as the function that reads it: a parameter
            annotated with one of these types gets what it returns at each call (``None`` at
            declaration: the app has none, a declaration error).
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
    fixed: list[tuple[str, Callable[[], object]]] = []
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
            dependency = plan_marker(
                parameter.name, marker, call, path_params, namespace, provided, scopes
            )
            uses_scopes = uses_scopes or bool(dependency.scope_key)
            dependencies.append(dependency)
        elif marker is None and base is SecurityScopes:
            fixed.append((parameter.name, _returning(SecurityScopes(scopes))))
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
            if provided[base]() is None:
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
    forms = [v for v in values if v.source is Source.FORM]
    kinds = {d.plan.body_kind for d in dependencies} - {None}
    if forms:
        kinds.add(BodyKind.FORM)
    if bodies:
        kinds.add(BodyKind.JSON)
    needs_body = bool(kinds)
    if role is Role.WEBSOCKET and needs_body:
        raise RouteDefinitionError(f"handler {name}: a WebSocket handshake has no body")
    if len(kinds) > 1:
        raise RouteDefinitionError(
            f"handler {name}: a body is either JSON (Body) or a form (Form, File), not both"
        )
    body_kind = kinds.pop() if kinds else None
    if body_kind is BodyKind.FORM and not multipart_installed():
        raise RouteDefinitionError(f"handler {name}: {MISSING_MULTIPART}")
    bytes_fields = frozenset(v.key for v in forms if v.read_bytes).union(
        *(d.plan.bytes_fields for d in dependencies)
    )
    plan = HandlerPlan(
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
        body_kind=body_kind,
        bytes_fields=bytes_fields,
    )
    if role is Role.HTTP and body_kind is BodyKind.JSON and len(_body_keys(plan)) > 1:
        plan = _embedded(plan)  # FastAPI: body values of the route and its dependencies
    return plan


def _returning(value: object) -> Callable[[], object]:
    """A function that returns ``value`` (a fixed argument, in a plan's ``provided``)."""
    return lambda: value


def _body_keys(plan: HandlerPlan) -> set[str]:
    """The names of the JSON body values taken by ``plan`` and its dependencies."""
    keys = {v.key for v in plan.params if v.source is Source.BODY}
    return keys.union(*(_body_keys(d.plan) for d in plan.dependencies))


def _embedded(plan: HandlerPlan) -> HandlerPlan:
    """``plan`` with every body value (its own and its dependencies') read by name from a
    JSON object: what a route does when more than one value comes from the body."""
    dependencies = tuple(dataclasses.replace(d, plan=_embedded(d.plan)) for d in plan.dependencies)
    return dataclasses.replace(plan, embed_body=True, dependencies=dependencies)


def plan_marker(
    name: str,
    marker: Depends,
    call: Callable[..., object],
    path_params: frozenset[str],
    namespace: Mapping[str, Any] | None = None,
    provided: Mapping[type, Callable[[], object]] | None = None,
    scopes: tuple[str, ...] = (),
) -> Dependency:
    """The plan of the dependency ``marker`` (``Depends`` or ``Security``) for the parameter
    ``name`` (``""``: run for its effect), below the ``scopes`` required above it."""
    own = marker.scopes if isinstance(marker, Security) else ()
    sub_scopes = tuple(dict.fromkeys((*scopes, *own)))
    sub = plan_handler(call, path_params, Role.DEPENDENCY, namespace, provided, sub_scopes)
    key = tuple(sorted(sub_scopes)) if own or sub.uses_scopes else ()
    function_scope = marker.scope == "function"
    return Dependency(name, call, marker.use_cache, sub, key, function_scope=function_scope)


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
    base = typing.get_origin(base) or base  # WebSocket[In, Out] is a WebSocket
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
    if isinstance(default, Param) or default is ...:
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
    inner = _optional(base)
    if marker is None:
        if parameter.name in path_params:
            source = Source.PATH
        elif _is_upload(inner):
            source = Source.FORM
            marker = File()
        elif _is_body_type(inner):
            source = Source.BODY
        else:
            source = Source.QUERY
    else:
        source = Source(marker.source)
    if source is Source.PATH and key not in path_params:
        raise RouteDefinitionError(f"{where}: Path() names {key!r}, not in the path template")
    fields = None
    if source in _MODEL_SOURCES and _is_model(inner):
        convert = not isinstance(marker, Header) or marker.convert_underscores
        fields = _model_fields(inner, source, convert)
    many = source in _MULTI_SOURCES and _is_sequence(inner)
    constraints = marker.constraints if marker is not None else {}
    if base is _REQUIRED or (
        base is str and not extras and not constraints and source is not Source.FORM
    ):
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
    untyped_default = default is _REQUIRED and inner is not base
    if untyped_default:
        default = None  # ``int | None`` with no default is optional
    read_bytes = isinstance(marker, File) and (
        inner is bytes or (many and bytes in typing.get_args(inner))
    )
    return Value(
        parameter.name,
        source,
        key,
        adapter,
        default,
        many,
        fields=fields,
        default_factory=marker.default_factory if marker is not None else None,
        blank_is_missing=source is Source.FORM,
        read_bytes=read_bytes,
        marker=marker,
        no_default=untyped_default,
        annotation=Annotated[(base, *extras)] if extras else base,
    )


_MODEL_SOURCES: Final = frozenset({Source.QUERY, Source.HEADER, Source.COOKIE, Source.FORM})
_MULTI_SOURCES: Final = frozenset({Source.QUERY, Source.HEADER, Source.FORM})


def _is_sequence(annotation: Any) -> bool:
    """``list[T]``, ``tuple[T, ...]``, ``set[T]``..., or a bare ``list``: every value of a key."""
    return (isinstance(annotation, type) and annotation in _MANY) or typing.get_origin(
        annotation
    ) in _MANY


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _is_upload(annotation: Any) -> bool:
    """``UploadFile``, or a list of them: a file of a form without a marker."""
    if _is_sequence(annotation):
        return any(_is_upload(arg) for arg in typing.get_args(annotation))
    return annotation is UploadFile


def _is_body_type(annotation: Any) -> bool:
    """Whether an unmarked parameter of this type is the JSON body, as FastAPI decides: a
    model, a dataclass, a mapping, or a sequence or union of those."""
    if isinstance(annotation, type):
        return issubclass(annotation, pydantic.BaseModel | dict) or dataclasses.is_dataclass(
            annotation
        )
    origin = typing.get_origin(annotation)
    if origin in (dict, collections.abc.Mapping):
        return True
    if origin in _MANY or origin in (typing.Union, types.UnionType):
        return any(_is_body_type(arg) for arg in typing.get_args(annotation))
    return False


def _model_fields(
    model: type[pydantic.BaseModel], source: Source, convert_underscores: bool
) -> tuple[ModelField, ...]:
    """Where each field of a parameter model is found in the request."""
    out = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        field_name = alias or name
        key = field_name
        if source is Source.HEADER:
            if convert_underscores and alias is None:
                key = name.replace("_", "-")
            key = key.lower()
        many = _is_sequence(_optional(info.annotation))
        absent: object = NO_BODY
        if not info.is_required() and info.default is not None and info.default_factory is None:
            absent = info.default
        out.append(ModelField(field_name, key, many, absent))
    return tuple(out)


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
