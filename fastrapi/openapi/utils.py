"""The OpenAPI 3.1 document of an app's HTTP routes (FastAPI's ``fastapi.openapi.utils``).

:func:`get_openapi` reads only the route objects: their options (tags, summary, responses...)
and their planned parameters (:mod:`fastrapi._params`). Every value that has a JSON schema (a
parameter, a body, a response model) becomes one input of a single pydantic
``GenerateJsonSchema.generate_definitions`` call, so the models are named once for the whole
document, and a model whose validation and serialization schemas differ gets two entries
(``Item-Input``, ``Item-Output``) unless ``separate_input_output_schemas`` is off. The document
is the one FastAPI makes for the same app. It is built when first asked for and cached by the
app (:meth:`fastrapi.FastrAPI.openapi`), so serving requests never pays for it.
"""

from __future__ import annotations

import copy
import dataclasses
import http.client
import inspect
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import pydantic
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from .._params import Dependency, HandlerPlan, Source, Value
from ..encoders import jsonable_encoder
from ..params import UNSET, Body, File, Form, Header, Param
from ..responses import JSONResponse
from ..routing import APIRoute
from ..security.base import SecurityBase
from ..sse import EventSourceResponse, ServerSentEvent
from .constants import METHODS_WITH_BODY, REF_PREFIX, REF_TEMPLATE

if TYPE_CHECKING:
    from pydantic_core import CoreSchema

__all__ = ["get_openapi"]

Mode = Literal["validation", "serialization"]


VALIDATION_ERROR: Final[dict[str, Any]] = {
    "title": "ValidationError",
    "type": "object",
    "properties": {
        "loc": {
            "title": "Location",
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
        "input": {"title": "Input"},
        "ctx": {"title": "Context", "type": "object"},
    },
    "required": ["loc", "msg", "type"],
}
HTTP_VALIDATION_ERROR: Final[dict[str, Any]] = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {
        "detail": {
            "title": "Detail",
            "type": "array",
            "items": {"$ref": REF_PREFIX + "ValidationError"},
        }
    },
}
_RANGES: Final = {
    "1XX": "Information",
    "2XX": "Success",
    "3XX": "Redirection",
    "4XX": "Client Error",
    "5XX": "Server Error",
    "DEFAULT": "Default Response",
}


class _SchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, with bytes as OpenAPI 3.1 has binary strings (FastAPI's)."""

    def bytes_schema(self, schema: Any) -> JsonSchemaValue:
        json_schema: dict[str, Any] = {
            "type": "string",
            "contentMediaType": "application/octet-stream",
        }
        config = self._config
        encoding = config.ser_json_bytes if self.mode == "serialization" else config.val_json_bytes
        if encoding == "base64":
            json_schema["contentEncoding"] = "base64"
        self.update_with_validations(json_schema, schema, self.ValidationsMapping.bytes)
        return json_schema


@dataclasses.dataclass(eq=False)
class _Field:
    """One value with a schema in the document (hashed by identity)."""

    alias: str
    adapter: pydantic.TypeAdapter[Any]
    mode: Mode = "validation"
    title: str | None = None
    required: bool = True


def _adapter(annotation: Any, info: Any = None) -> pydantic.TypeAdapter[Any]:
    with warnings.catch_warnings():
        # pydantic warns about Field attributes a TypeAdapter does not use (an alias...)
        warnings.simplefilter("ignore")
        if info is None:
            return pydantic.TypeAdapter(annotation)
        return pydantic.TypeAdapter(Annotated[annotation, info])


_MISSING: Final = inspect.Parameter.empty


def _field_info(value: Value, *, alias: str | None = None) -> Any:
    """The pydantic ``FieldInfo`` that documents ``value`` (its marker's keywords)."""
    marker = value.marker
    options: dict[str, Any] = {}
    if value.default_factory is not None:
        options["default_factory"] = value.default_factory
    elif value.default is not _MISSING:
        options["default"] = value.default
    if alias is not None:
        options["alias"] = alias
    if marker is not None:
        extra = marker.json_schema_extra or marker.extra or None
        options.update(
            title=marker.title,
            description=marker.description,
            examples=marker.examples,
            deprecated=marker.deprecated,
            json_schema_extra=extra,
            **marker.constraints,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydantic.Field(**options)


def _annotation(value: Value) -> Any:
    return Any if value.annotation is _MISSING or value.annotation is None else value.annotation


def _alias(value: Value) -> str:
    marker = value.marker
    if marker is not None and marker.alias is not None:
        return marker.alias
    if isinstance(marker, Header) and marker.convert_underscores:
        return value.name.replace("_", "-")
    return value.name


def _required(value: Value) -> bool:
    return value.no_default or (value.default is _MISSING and value.default_factory is None)


@dataclasses.dataclass
class _Parameter:
    field: _Field
    where: str
    name: str
    marker: Param | None
    description: str | None = None


@dataclasses.dataclass
class _Body:
    field: _Field
    media_type: str
    marker: Param | None


@dataclasses.dataclass
class _Operation:
    """What the document says of one route, with the fields to generate schemas for."""

    route: APIRoute
    parameters: list[_Parameter]
    body: _Body | None
    response: _Field | None
    responses: dict[int | str, _Field]
    security: list[tuple[SecurityBase, list[str]]]
    validated: bool
    callbacks: list[_Operation]

    def fields(self) -> list[_Field]:
        out = [cb_field for callback in self.callbacks for cb_field in callback.fields()]
        if self.body is not None:
            out.append(self.body.field)
        if self.response is not None:
            out.append(self.response)
        out.extend(self.responses.values())
        out.extend(p.field for p in self.parameters)
        return out


@dataclasses.dataclass
class _Flat:
    values: list[Value] = dataclasses.field(default_factory=list)
    security: list[tuple[SecurityBase, list[str]]] = dataclasses.field(default_factory=list)


def _flatten(plan: HandlerPlan, flat: _Flat, seen: set[object]) -> None:
    """The values and security schemes of ``plan`` and its dependencies (each dependency
    once), its own first, as FastAPI lists them."""
    flat.values.extend(plan.params)
    for dependency in plan.dependencies:
        key = _key(dependency)
        if key in seen:
            continue
        seen.add(key)
        call: object = dependency.call
        if isinstance(call, SecurityBase):
            flat.security.append((call, list(dependency.plan.scopes)))
        _flatten(dependency.plan, flat, seen)


def _key(dependency: Dependency) -> object:
    # by identity: a dependency may be an unhashable callable object
    return (id(dependency.call), dependency.scope_key)


def _plan_operation(route: APIRoute) -> _Operation:
    flat = _Flat()
    _flatten(route.plan, flat, {(id(route.plan.call), ())})
    parameters: list[_Parameter] = []
    bodies: list[Value] = []
    by_source: dict[Source, list[_Parameter]] = {s: [] for s in Source}
    for value in flat.values:
        if value.source in (Source.BODY, Source.FORM):
            bodies.append(value)
            continue
        for parameter in _parameters(value):
            by_source[value.source].append(parameter)
    for source in (Source.PATH, Source.QUERY, Source.HEADER, Source.COOKIE):
        parameters.extend(by_source[source])
    body = _body(route, bodies)
    response = None
    if route.response_model is not None and route.response_model is not ServerSentEvent:
        response = _Field(
            "Response_" + route.unique_id, _adapter(route.response_model), "serialization"
        )
    responses: dict[int | str, _Field] = {}
    for code, extra in route.responses.items():
        model = extra.get("model") if isinstance(extra, Mapping) else None
        if model is not None:
            responses[code] = _Field(
                f"Response_{code}_{route.unique_id}", _adapter(model), "serialization"
            )
    callbacks = [_plan_operation(cb) for cb in route.callbacks if isinstance(cb, APIRoute)]
    validated = bool(body) or any(v.source not in (Source.BODY, Source.FORM) for v in flat.values)
    return _Operation(
        route, parameters, body, response, responses, flat.security, validated, callbacks
    )


def _parameters(value: Value) -> list[_Parameter]:
    """The OpenAPI parameters of a path, query, header or cookie value (one per field of a
    parameter model)."""
    marker = value.marker
    if marker is not None and not marker.include_in_schema:
        return []
    where = value.source.value
    model = _model_of(value)
    if model is not None:
        convert = not isinstance(marker, Header) or marker.convert_underscores
        out = []
        for name, info in model.model_fields.items():
            alias = info.alias or name
            shown = alias
            if value.source is Source.HEADER and info.alias is None and convert:
                shown = name.replace("_", "-")
            field = _Field(
                alias,
                _adapter(info.annotation, _plain_info(info)),
                title=info.title,
                required=info.is_required(),
            )
            out.append(_Parameter(field, where, shown, None, info.description))
        return out
    alias = _alias(value)
    field = _Field(
        alias,
        _adapter(_annotation(value), _field_info(value)),
        title=marker.title if marker is not None else None,
        required=_required(value),
    )
    return [_Parameter(field, where, alias, marker, marker.description if marker else None)]


def _plain_info(info: Any) -> Any:
    """A model field's ``FieldInfo`` without its alias (a TypeAdapter has no use for one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydantic.fields.FieldInfo.merge_field_infos(info, alias=None)


def _model_of(value: Value) -> type[pydantic.BaseModel] | None:
    if value.fields is None:
        return None
    annotation = value.annotation
    while hasattr(annotation, "__metadata__"):
        annotation = annotation.__origin__
    base = _optional(annotation)
    return base if isinstance(base, type) and issubclass(base, pydantic.BaseModel) else None


def _models_only(annotation: Any) -> bool:
    """A pydantic model, or a union of them (a form body that is not embedded)."""
    while hasattr(annotation, "__metadata__"):
        annotation = annotation.__origin__
    if isinstance(annotation, type):
        return issubclass(annotation, pydantic.BaseModel)
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    return all(_models_only(a) for a in typing.get_args(annotation) if a is not type(None))


def _optional(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if args and type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return annotation


def _body(route: APIRoute, bodies: list[Value]) -> _Body | None:
    """The request body: the one body value, or a ``Body_<id>`` model of them all (FastAPI's
    embedding rule)."""
    if not bodies:
        return None
    first = bodies[0]
    names = {v.name for v in bodies}
    embed = (
        len(names) > 1
        or (isinstance(first.marker, Body) and first.marker.embed)
        or (first.source is Source.FORM and not _models_only(_annotation(first)))
    )
    if not embed:
        marker = first.marker
        media_type = marker.media_type if isinstance(marker, Body) else "application/json"
        field = _Field(
            _alias(first),
            _adapter(_annotation(first), _field_info(first)),
            title=marker.title if marker is not None else None,
            required=_required(first),
        )
        return _Body(field, media_type, marker)
    definitions: dict[str, Any] = {}
    for value in bodies:
        definitions[value.name] = (_annotation(value), _field_info(value, alias=_alias(value)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body_model = pydantic.create_model("Body_" + route.unique_id, **definitions)
    kinds = {
        v.marker.media_type if isinstance(v.marker, Body) else "application/json"
        for v in bodies
        if v.marker is None or isinstance(v.marker, Body)
    }
    if any(isinstance(v.marker, File) for v in bodies):
        media_type = "multipart/form-data"
    elif any(isinstance(v.marker, Form) or v.source is Source.FORM for v in bodies):
        media_type = "application/x-www-form-urlencoded"
    else:
        media_type = "application/json"
    if len(kinds) == 1:
        media_type = kinds.pop()
    required = any(_required(v) for v in bodies)
    return _Body(_Field("body", _adapter(body_model), required=required), media_type, None)


def _computed_fields(field: _Field) -> bool:
    """A model with computed fields (its output schema is kept apart in any case, as in
    FastAPI: the input one lacks them)."""
    schema: Any = field.adapter.core_schema
    return bool(schema.get("schema", {}).get("computed_fields"))


class _Document:
    """The schemas of every field of a document, generated at once."""

    def __init__(self, operations: Sequence[_Operation], separate: bool) -> None:
        fields = [f for op in operations for f in op.fields()]
        self.separate = separate
        generator = _SchemaGenerator(ref_template=REF_TEMPLATE)
        inputs: list[tuple[_Field, Mode, CoreSchema]] = [
            (f, self.mode(f), f.adapter.core_schema) for f in fields
        ]
        mapping, definitions = generator.generate_definitions(inputs=inputs)
        self.mapping = mapping
        self.definitions: dict[str, Any] = {}
        for name, schema in definitions.items():
            if isinstance(schema.get("description"), str):
                schema["description"] = schema["description"].split("\f")[0]
            self.definitions[name] = _clean(schema)

    def mode(self, field: _Field) -> Mode:
        if self.separate or _computed_fields(field):
            return field.mode
        return "validation"

    def schema(self, field: _Field) -> dict[str, Any]:
        schema: dict[str, Any] = _clean(dict(self.mapping[(field, self.mode(field))]))
        if "$ref" not in schema:
            schema["title"] = field.title or field.alias.title().replace("_", " ")
        return schema


_SUBSCHEMA: Final = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_SUBSCHEMA_LISTS: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAPS: Final = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _clean(schema: Any) -> Any:
    """``schema`` without its ``None`` keywords (FastAPI's document has none, as a
    ``"default": null``), in it and in its subschemas."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, item in schema.items():
        if item is None:
            continue
        if key in _SUBSCHEMA:
            out[key] = _clean(item)
        elif key in _SUBSCHEMA_LISTS and isinstance(item, list):
            out[key] = [_clean(s) for s in item]
        elif key in _SUBSCHEMA_MAPS and isinstance(item, dict):
            out[key] = {k: _clean(s) for k, s in item.items()}
        else:
            out[key] = item
    return out


def _deep_update(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Merge ``update`` into ``target``: dicts merged, lists concatenated, others replaced."""
    for key, value in update.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_update(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            target[key] = current + value
        else:
            target[key] = value


def _status_of(route: APIRoute) -> str:
    if route.status_code is not None:
        return str(route.status_code)
    parameter = inspect.signature(route.response_class.__init__).parameters.get("status_code")
    if parameter is not None and isinstance(parameter.default, int):
        return str(parameter.default)
    return "200"


def _body_allowed(status: int | None) -> bool:
    return status is None or not (status < 200 or status in (204, 205, 304))


def _path_item(
    operation: _Operation,
    document: _Document,
    ids: set[str],
    schemes: dict[str, Any],
    definitions: dict[str, Any],
) -> dict[str, Any]:
    route = operation.route
    item: dict[str, Any] = {}
    if not route.include_in_schema:
        return item
    media_type = route.response_class.media_type
    for method in route.methods:
        out: dict[str, Any] = {}
        if route.tags:
            out["tags"] = [getattr(t, "value", t) for t in route.tags]
        out["summary"] = route.summary or route.name.replace("_", " ").title()
        if route.description:
            out["description"] = route.description
        operation_id = route.operation_id or route.unique_id
        if operation_id in ids:
            where = getattr(route.endpoint, "__globals__", {}).get("__file__")
            message = f"Duplicate Operation ID {operation_id} for function "
            message += getattr(route.endpoint, "__name__", repr(route.endpoint))
            if where:
                message += f" at {where}"
            warnings.warn(message, stacklevel=2)
        ids.add(operation_id)
        out["operationId"] = operation_id
        if route.deprecated:
            out["deprecated"] = route.deprecated
        required: dict[str, list[str]] = {}  # one requirement per scheme, scopes merged
        for scheme, scopes in operation.security:
            model = scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
            schemes[scheme.scheme_name] = model
            merged = required.setdefault(scheme.scheme_name, [])
            merged.extend(scope for scope in scopes if scope not in merged)
        if required:
            out["security"] = [{name: scopes} for name, scopes in required.items()]
        if operation.parameters:
            out["parameters"] = _parameter_objects(operation.parameters, document)
        if method in METHODS_WITH_BODY and operation.body is not None:
            out["requestBody"] = _request_body(operation.body, document)
        if operation.callbacks:
            callbacks: dict[str, Any] = {}
            for callback in operation.callbacks:
                path = _path_item(callback, document, ids, {}, definitions)
                callbacks[callback.route.name] = {callback.route.path: path}
            out["callbacks"] = callbacks
        responses: dict[str, Any] = {}
        out["responses"] = responses
        status = _status_of(route)
        responses.setdefault(status, {})["description"] = route.response_description
        streamed = _streamed_content(operation, document)
        if streamed is not None:
            responses[status]["content"] = streamed
        elif media_type and _body_allowed(route.status_code):
            schema: dict[str, Any] = {"type": "string"}
            if _is_json(route.response_class):
                schema = document.schema(operation.response) if operation.response else {}
            content = responses[status].setdefault("content", {})
            content.setdefault(media_type, {})["schema"] = schema
        for code, extra in route.responses.items():
            given = copy.deepcopy(dict(extra))  # the user's dicts may be shared by routes
            given.pop("model", None)
            key = str(code).upper()
            if key == "DEFAULT":
                key = "default"
            response = responses.setdefault(key, {})
            field = operation.responses.get(code)
            if field is not None:
                content = given.setdefault("content", {})
                entry = content.setdefault(media_type or "application/json", {})
                _deep_update(entry.setdefault("schema", {}), document.schema(field))
            text = _RANGES.get(str(code).upper())
            if text is None:
                try:
                    text = http.client.responses.get(int(code))
                except ValueError:
                    raise ValueError(
                        f"route {route.path}: responses key {code!r} is not a status code,"
                        " a range such as '4XX', or 'default'"
                    ) from None
            description = (
                given.get("description")
                or response.get("description")
                or text
                or "Additional Response"
            )
            _deep_update(response, given)
            response["description"] = description
        if operation.validated and not any(k in responses for k in ("422", "4XX", "default")):
            responses["422"] = {
                "description": "Validation Error",
                "content": {
                    "application/json": {"schema": {"$ref": REF_PREFIX + "HTTPValidationError"}}
                },
            }
            definitions.setdefault("ValidationError", VALIDATION_ERROR)
            definitions.setdefault("HTTPValidationError", HTTP_VALIDATION_ERROR)
        if route.openapi_extra:
            _deep_update(out, route.openapi_extra)
        item[method.lower()] = out
    return item


def _is_json(response_class: type) -> bool:
    """A JSON response class: ours, or another framework's (Starlette's) of that type."""
    return issubclass(response_class, JSONResponse) or any(
        c.__name__ == "JSONResponse" for c in response_class.__mro__
    )


def _streamed_content(operation: _Operation, document: _Document) -> dict[str, Any] | None:
    """The content of a generator route's response: each item's schema, for Server-Sent
    Events (in an event's ``data``) or JSON Lines; ``None`` for any other route."""
    route = operation.route
    if not route.plan.streams:
        return None
    item = document.schema(operation.response) if operation.response is not None else None
    if issubclass(route.response_class, EventSourceResponse):
        data: dict[str, Any] = {"type": "string"}
        if item is not None:
            data.update(contentMediaType="application/json", contentSchema=item)
        event: dict[str, Any] = {
            "type": "object",
            "properties": {
                "data": data,
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0},
            },
        }
        if item is not None:
            event["required"] = ["data"]
        return {"text/event-stream": {"itemSchema": event}}
    if _is_json(route.response_class):
        return {"application/jsonl": {"itemSchema": item or {}}}
    return None


def _parameter_objects(parameters: list[_Parameter], document: _Document) -> list[Any]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    required: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in parameters:
        marker = parameter.marker
        out: dict[str, Any] = {
            "name": parameter.name,
            "in": parameter.where,
            "required": parameter.field.required or parameter.where == "path",
            "schema": document.schema(parameter.field),
        }
        if parameter.description:
            out["description"] = parameter.description
        if marker is not None:
            if marker.openapi_examples:
                out["examples"] = jsonable_encoder(marker.openapi_examples)
            elif marker.example is not UNSET:
                out["example"] = jsonable_encoder(marker.example)
            if marker.deprecated:
                out["deprecated"] = True
        key = (out["in"], out["name"])
        found[key] = out
        if out["required"]:
            required[key] = out
    found.update(required)
    return list(found.values())


def _request_body(body: _Body, document: _Document) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if body.field.required:
        out["required"] = True
    content: dict[str, Any] = {"schema": document.schema(body.field)}
    marker = body.marker
    if marker is not None:
        if marker.openapi_examples:
            content["examples"] = jsonable_encoder(marker.openapi_examples)
        elif marker.example is not UNSET:
            content["example"] = jsonable_encoder(marker.example)
    out["content"] = {body.media_type: content}
    return out


def _plan_operations(routes: Sequence[Any]) -> list[_Operation]:
    return [_plan_operation(r) for r in routes if isinstance(r, APIRoute) and r.include_in_schema]


def _paths(
    operations: list[_Operation], document: _Document, ids: set[str], schemes: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The path items of ``operations`` (the security schemes they use go to ``schemes``)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = _path_item(operation, document, ids, schemes, document.definitions)
        if item:
            paths.setdefault(operation.route.path_format, {}).update(item)
    return paths


def get_openapi(
    *,
    title: str,
    version: str,
    openapi_version: str = "3.1.0",
    summary: str | None = None,
    description: str | None = None,
    routes: Sequence[Any],
    webhooks: Sequence[Any] | None = None,
    tags: list[dict[str, Any]] | None = None,
    servers: list[dict[str, Any]] | None = None,
    terms_of_service: str | None = None,
    contact: dict[str, Any] | None = None,
    license_info: dict[str, Any] | None = None,
    separate_input_output_schemas: bool = True,
    external_docs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (and ``webhooks``), as FastAPI's function of this
    name makes it: what :meth:`fastrapi.FastrAPI.openapi` returns, and what a custom
    ``app.openapi`` calls before changing the result.

    Args:
        title: The API's title (``info.title``).
        version: The API's version (``info.version``).
        openapi_version: The OpenAPI version the document declares.
        summary: ``info.summary``.
        description: ``info.description``.
        routes: The routes (``app.routes``); those that are not HTTP routes, or not
            ``include_in_schema``, are left out.
        webhooks: The routes that describe webhooks (``app.webhooks.routes``).
        tags: The tags' metadata (``openapi_tags``).
        servers: The ``servers`` list.
        terms_of_service: ``info.termsOfService``.
        contact: ``info.contact``.
        license_info: ``info.license``.
        separate_input_output_schemas: A model whose input and output schemas differ gets
            one of each (``Item-Input``, ``Item-Output``); ``False``: the input one only.
        external_docs: The document's ``externalDocs``.

    Raises:
        pydantic.PydanticSchemaGenerationError: a type with no JSON schema.
    """
    fields = {
        "summary": summary,
        "description": description,
        "termsOfService": terms_of_service,
        "contact": contact,
        "license": license_info,
    }
    info: dict[str, Any] = {"title": title, "version": version}
    info.update((k, v) for k, v in fields.items() if v)
    output: dict[str, Any] = {"openapi": openapi_version, "info": info}
    if servers:
        output["servers"] = servers
    operations = _plan_operations(routes)
    hook_operations = _plan_operations(webhooks or ())
    document = _Document(operations + hook_operations, separate_input_output_schemas)
    schemes: dict[str, Any] = {}
    ids: set[str] = set()
    paths = _paths(operations, document, ids, schemes)
    hook_paths = _paths(hook_operations, document, ids, schemes)
    components: dict[str, Any] = {}
    if schemes:
        components["securitySchemes"] = schemes
    if document.definitions:
        components["schemas"] = dict(sorted(document.definitions.items()))
    if components:
        output["components"] = components
    output["paths"] = paths
    if hook_paths:
        output["webhooks"] = hook_paths
    if tags:
        output["tags"] = tags
    if external_docs:
        output["externalDocs"] = external_docs
    encoded: dict[str, Any] = jsonable_encoder(output)
    return encoded
