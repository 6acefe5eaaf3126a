"""Build the AsyncAPI 3.0.0 document from the WebSocket routes' objects and their plans.

One channel per route (its address is the path, its path parameters the channel's
parameters, the ``ws`` binding its query and header schemas), a ``receive`` operation with
the route's ``receives`` messages and a ``send`` operation with its ``sends`` messages (and
the Hub's envelope where the handler takes the Hub), the handshake's security schemes, and
every JSON Schema moved into ``components/schemas``.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import urlsplit

import pydantic

from .._closecodes import CloseCode
from .._params import _REQUIRED, Dependency, HandlerPlan, Source, Value
from ..hub import Hub
from ..hub._protocol import HubEndpoint
from ..routing import APIWebSocketRoute
from ..security.base import SecurityBase

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["ASYNCAPI_VERSION", "get_asyncapi"]

ASYNCAPI_VERSION: Final = "3.0.0"
WS_BINDING_VERSION: Final = "0.1.0"
_REF: Final = "#/components/schemas/{model}"
_ID: Final = re.compile(r"[^A-Za-z0-9_.\-]")

HUB_ENVELOPE: Final[dict[str, Any]] = {
    "name": "HubEnvelope",
    "title": "Hub envelope",
    "summary": "A Hub message with its position, sent when the Hub or the join asks for "
    "envelopes (envelope=True); binary messages go bare.",
    "contentType": "application/json",
    "payload": {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "description": "The topic it was published to."},
            "epoch": {"type": "string", "description": "The topic's history epoch."},
            "offset": {"type": "integer", "description": "Its offset in that epoch."},
            "data": {"description": "The message as published."},
        },
        "required": ["topic", "epoch", "offset", "data"],
    },
}

# str and bytes declare text and binary messages as they are (receive_text(), send_bytes()...).
_RAW: Final[dict[object, tuple[str, str]]] = {
    str: ("Text", "text/plain"),
    bytes: ("Binary", "application/octet-stream"),
}

# The close codes fastrapi itself may end any WebSocket connection with.
_FRAMEWORK_CLOSES: Final[dict[int, str]] = {
    CloseCode.NORMAL_CLOSURE: "the handler returned",
    CloseCode.GOING_AWAY: "server shutting down, idle timeout or lifetime reached",
    CloseCode.MESSAGE_TOO_BIG: "a message over the route's size limit",
    CloseCode.INTERNAL_ERROR: "the handler failed, or a keepalive ping went unanswered",
}


def get_asyncapi(
    *,
    title: str,
    version: str,
    routes: Iterable[object],
    description: str | None = None,
    servers: dict[str, Any] | None = None,
    openapi_servers: Iterable[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the WebSocket routes among ``routes`` (those with
    ``include_in_schema``). ``servers`` are AsyncAPI Server objects by name; without them, the
    absolute ``http(s)://`` or ``ws(s)://`` URLs among ``openapi_servers`` (the app's
    ``servers``) become ``ws``/``wss`` servers.

    Raises:
        pydantic.PydanticSchemaGenerationError: a message type has no JSON Schema.
    """
    builder = _Builder()
    taken: set[str] = set()
    for route in routes:
        if isinstance(route, APIWebSocketRoute) and route.include_in_schema:
            builder.add(route, _unique(_ID.sub("_", route.name) or "channel", taken))
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
    }
    if servers:
        document["servers"] = servers
    elif asyncapi_servers := _servers(openapi_servers or []):
        document["servers"] = asyncapi_servers
    document["channels"] = builder.channels
    document["operations"] = builder.operations
    components = {
        key: value
        for key, value in (
            ("schemas", builder.schemas),
            ("messages", builder.messages),
            ("securitySchemes", builder.security),
        )
        if value
    }
    if components:
        document["components"] = components
    return document


def _servers(openapi: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """OpenAPI Server objects with an absolute URL as AsyncAPI's (``https`` is ``wss``)."""
    found: dict[str, Any] = {}
    for server in openapi:
        parts = urlsplit(str(server.get("url", "")))
        protocol = {"http": "ws", "ws": "ws", "https": "wss", "wss": "wss"}.get(parts.scheme)
        if protocol is None or not parts.netloc:
            continue  # a relative URL (a root_path): no host to name
        entry: dict[str, Any] = {"host": parts.netloc, "protocol": protocol}
        if parts.path.rstrip("/"):
            entry["pathname"] = parts.path.rstrip("/")
        if server.get("description"):
            entry["description"] = server["description"]
        found[f"server{len(found) + 1}"] = entry
    return found


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


class _Builder:
    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.security: dict[str, Any] = {}

    def add(self, route: APIWebSocketRoute, name: str) -> None:
        plan = route.plan
        if isinstance(route.endpoint, HubEndpoint):  # what its handshake solves is inside
            plan = route.endpoint.described(plan)
        values = list(_values(plan))
        channel: dict[str, Any] = {"address": route.path}
        summary, doc = _docstring(route.endpoint)
        if summary:
            channel["title"] = summary
        channel["description"] = _describe(doc, route.closes)
        parameters = {
            key: _parameter(value)
            for key in route.template.param_names
            for value in [
                next((v for v in values if v.source is Source.PATH and v.key == key), None)
            ]
        }
        if parameters:
            channel["parameters"] = parameters
        binding: dict[str, Any] = {}
        for field, source in (("query", Source.QUERY), ("headers", Source.HEADER)):
            schema = self._object([v for v in values if v.source is source])
            if schema is not None:
                binding[field] = schema
        binding["bindingVersion"] = WS_BINDING_VERSION
        channel["bindings"] = {"ws": binding}
        messages: dict[str, Any] = {}
        received = self._messages(route.receives, "validation", messages)
        sent = self._messages(route.sends, "serialization", messages)
        if _takes_hub(plan):
            self.messages["HubEnvelope"] = HUB_ENVELOPE
            messages["HubEnvelope"] = {"$ref": "#/components/messages/HubEnvelope"}
            sent.append("HubEnvelope")
        channel["messages"] = messages
        self.channels[name] = channel
        security = self._security(plan)
        for action, names in (("receive", received), ("send", sent)):
            if not names:
                continue
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": f"What the {'client sends' if action == 'receive' else 'server sends'}"
                f" on {route.path}",
                "messages": [{"$ref": f"#/channels/{name}/messages/{m}"} for m in names],
            }
            if security:
                operation["security"] = security
            self.operations[f"{action}_{name}"] = operation

    def _schema(self, type_: object, mode: Literal["validation", "serialization"]) -> Any:
        """``type_``'s JSON Schema, its ``$defs`` moved into ``components/schemas``; a
        model's own schema goes there too, and a ``$ref`` to it is returned."""
        adapter: pydantic.TypeAdapter[Any] = (
            type_
            if isinstance(type_, pydantic.TypeAdapter)
            else pydantic.TypeAdapter(cast("Any", type_))
        )
        schema = adapter.json_schema(ref_template=_REF, mode=mode)
        self.schemas.update(schema.pop("$defs", {}))
        if isinstance(type_, type) and issubclass(type_, pydantic.BaseModel):
            self.schemas[type_.__name__] = schema
            return {"$ref": _REF.format(model=type_.__name__)}
        return schema

    def _messages(
        self,
        declared: object,
        mode: Literal["validation", "serialization"],
        into: dict[str, Any],
    ) -> list[str]:
        """Add the messages of a declared type (one per member of a union of classes) to
        ``components/messages`` and the channel's ``into``; their names."""
        if declared is None:
            return []
        names = []
        for member in _members(declared):
            name, content_type = _RAW.get(member, ("", "application/json"))
            name = name or _ID.sub("_", getattr(member, "__name__", "") or "") or "Message"
            self.messages[name] = {
                "name": name,
                "contentType": content_type,
                "payload": self._schema(member, mode),
            }
            own = isinstance(member, type) and member.__module__ != "builtins"
            summary = _docstring(member)[0] if own else ""
            if summary and not summary.startswith(f"{name}("):
                self.messages[name]["summary"] = summary
            into[name] = {"$ref": f"#/components/messages/{name}"}
            names.append(name)
        return names

    def _object(self, values: list[Value]) -> dict[str, Any] | None:
        if not values:
            return None
        properties: dict[str, Any] = {}
        required: list[str] = []
        for value in values:
            properties[value.key] = (
                self._schema(value.adapter, "validation")
                if value.adapter is not None
                else {"type": "string"}
            )
            if value.default is _REQUIRED and value.default_factory is None:
                required.append(value.key)
            elif isinstance(value.default, str | int | float | bool):
                properties[value.key] = {**properties[value.key], "default": value.default}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def _security(self, plan: HandlerPlan) -> list[dict[str, str]]:
        refs: list[dict[str, str]] = []
        for dependency in _dependencies(plan):
            scheme: object = dependency.call
            if not isinstance(scheme, SecurityBase):
                continue
            name = scheme.scheme_name
            self.security[name] = _security_scheme(
                scheme.model.model_dump(by_alias=True, exclude_none=True)
            )
            ref = {"$ref": f"#/components/securitySchemes/{name}"}
            if ref not in refs:
                refs.append(ref)
        return refs


def _dependencies(plan: HandlerPlan) -> Iterator[Dependency]:
    for dependency in plan.dependencies:
        yield dependency
        yield from _dependencies(dependency.plan)


def _values(plan: HandlerPlan) -> Iterator[Value]:
    yield from plan.params
    for dependency in _dependencies(plan):
        yield from dependency.plan.params


def _takes_hub(plan: HandlerPlan) -> bool:
    plans = [plan, *(d.plan for d in _dependencies(plan))]
    return any(isinstance(read(), Hub) for p in plans for _, read in p.provided)


def _members(declared: object) -> list[object]:
    """The union's members when it is a union of classes (a message each), else the type."""
    inner = declared
    if typing.get_origin(inner) is typing.Annotated:
        return [declared]  # a discriminated union and the like: one message, as declared
    if typing.get_origin(inner) in (typing.Union, types.UnionType):
        members = typing.get_args(inner)
        if all(isinstance(m, type) for m in members):
            return list(members)
    return [declared]


def _parameter(value: Value | None) -> dict[str, Any]:
    if value is None or value.adapter is None:
        return {}
    schema = value.adapter.json_schema()
    found: dict[str, Any] = {
        key: schema[key] for key in ("enum", "description", "examples") if key in schema
    }
    if "enum" in found:
        found["enum"] = [str(item) for item in found["enum"]]
    return found


def _docstring(obj: object) -> tuple[str, str]:
    """The first paragraph of ``obj``'s own docstring (on one line), and the whole."""
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    return " ".join(doc.partition("\n\n")[0].split()), doc


def _describe(doc: str, closes: dict[int, str]) -> str:
    codes: dict[int, str] = {**_FRAMEWORK_CLOSES, **closes}
    lines = [f"- `{code}`: {meaning}" for code, meaning in sorted(codes.items())]
    return (doc + "\n\n" if doc else "") + "Close codes:\n\n" + "\n".join(lines)


def _security_scheme(openapi: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI Security Scheme object as AsyncAPI 3's."""
    kind = openapi.get("type")
    out: dict[str, Any] = {}
    if kind == "apiKey":
        out = {"type": "httpApiKey", "name": openapi["name"], "in": openapi["in"]}
    elif kind == "http":
        out = {"type": "http", "scheme": openapi["scheme"]}
        if "bearerFormat" in openapi:
            out["bearerFormat"] = openapi["bearerFormat"]
    elif kind == "oauth2":
        flows = {}
        for flow_name, flow in openapi.get("flows", {}).items():
            flows[flow_name] = {
                **{k: v for k, v in flow.items() if k != "scopes"},
                "availableScopes": flow.get("scopes", {}),
            }
        out = {"type": "oauth2", "flows": flows}
    elif kind == "openIdConnect":
        out = {"type": "openIdConnect", "openIdConnectUrl": openapi["openIdConnectUrl"]}
    else:
        out = {"type": "plain"}
    if "description" in openapi:
        out["description"] = openapi["description"]
    return out
