"""The AsyncAPI 3.0.0 rules, as a JSON Schema of our own, for the parts of the document
``app.asyncapi()`` writes: the top level, info, servers, channels with the ``ws`` binding,
operations, messages and security schemes. Written from the specification's text
(asyncapi.com/docs/reference/specification/v3.0.0); it is narrower than the official schema,
which is not packaged on PyPI: every object it knows is closed (``additionalProperties``
false), so a field the specification does not name is an error too.
"""

from __future__ import annotations

from typing import Any, Final

_REF: Final = {
    "type": "object",
    "required": ["$ref"],
    "properties": {"$ref": {"type": "string", "pattern": "^#/"}},
    "additionalProperties": False,
}
_SCHEMA: Final = {"type": ["object", "boolean"]}  # a JSON Schema (pydantic's, moved)
_TEXT: Final = {"type": "string"}

_SECURITY_SCHEME: Final = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "enum": [
                "userPassword",
                "apiKey",
                "X509",
                "symmetricEncryption",
                "asymmetricEncryption",
                "httpApiKey",
                "http",
                "oauth2",
                "openIdConnect",
                "plain",
                "scramSha256",
                "scramSha512",
                "gssapi",
            ]
        },
        "description": _TEXT,
        "name": _TEXT,
        "in": {"enum": ["user", "password", "query", "header", "cookie"]},
        "scheme": _TEXT,
        "bearerFormat": _TEXT,
        "flows": {"type": "object"},
        "openIdConnectUrl": _TEXT,
        "scopes": {"type": "array", "items": _TEXT},
    },
    "additionalProperties": False,
}

_WS_BINDING: Final = {
    "type": "object",
    "properties": {
        "method": {"enum": ["GET", "POST"]},
        "query": _SCHEMA,
        "headers": _SCHEMA,
        "bindingVersion": {"const": "0.1.0"},
    },
    "additionalProperties": False,
}

_MESSAGE: Final = {
    "type": "object",
    "properties": {
        "name": _TEXT,
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "contentType": _TEXT,
        "payload": _SCHEMA,
        "headers": _SCHEMA,
    },
    "additionalProperties": False,
}

_CHANNEL: Final = {
    "type": "object",
    "properties": {
        "address": {"type": ["string", "null"]},
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "messages": {"type": "object", "additionalProperties": {"anyOf": [_REF, _MESSAGE]}},
        "parameters": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "enum": {"type": "array", "items": _TEXT},
                    "default": _TEXT,
                    "description": _TEXT,
                    "examples": {"type": "array", "items": _TEXT},
                    "location": _TEXT,
                },
                "additionalProperties": False,
            },
        },
        "bindings": {
            "type": "object",
            "properties": {"ws": _WS_BINDING},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_OPERATION: Final = {
    "type": "object",
    "required": ["action", "channel"],
    "properties": {
        "action": {"enum": ["send", "receive"]},
        "channel": _REF,
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "messages": {"type": "array", "items": _REF},
        "security": {"type": "array", "items": {"anyOf": [_REF, _SECURITY_SCHEME]}},
    },
    "additionalProperties": False,
}

_SERVER: Final = {
    "type": "object",
    "required": ["host", "protocol"],
    "properties": {
        "host": _TEXT,
        "protocol": _TEXT,
        "pathname": _TEXT,
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
    },
    "additionalProperties": False,
}

_NAMES: Final = "^[A-Za-z0-9.\\-_]+$"  # the specification's pattern for component keys

ASYNCAPI_3_RULES: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["asyncapi", "info"],
    "properties": {
        "asyncapi": {"const": "3.0.0"},
        "id": _TEXT,
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {
                "title": _TEXT,
                "version": _TEXT,
                "description": _TEXT,
                "termsOfService": _TEXT,
                "contact": {"type": "object"},
                "license": {"type": "object", "required": ["name"]},
                "tags": {"type": "array"},
                "externalDocs": {"type": "object", "required": ["url"]},
            },
            "additionalProperties": False,
        },
        "defaultContentType": _TEXT,
        "servers": {"type": "object", "additionalProperties": _SERVER},
        "channels": {"type": "object", "additionalProperties": _CHANNEL},
        "operations": {"type": "object", "additionalProperties": _OPERATION},
        "components": {
            "type": "object",
            "properties": {
                "schemas": {"type": "object", "propertyNames": {"pattern": _NAMES}},
                "messages": {
                    "type": "object",
                    "propertyNames": {"pattern": _NAMES},
                    "additionalProperties": _MESSAGE,
                },
                "securitySchemes": {
                    "type": "object",
                    "propertyNames": {"pattern": _NAMES},
                    "additionalProperties": _SECURITY_SCHEME,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
