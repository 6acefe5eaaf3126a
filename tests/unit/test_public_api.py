"""The public API: exactly what __all__ says, sorted, documented, importable as the seed does."""

from __future__ import annotations

import importlib

import pytest

import fastrapi

PUBLIC_MODULES = [
    "fastrapi",
    "fastrapi.background",
    "fastrapi.datastructures",
    "fastrapi.encoders",
    "fastrapi.exception_handlers",
    "fastrapi.exceptions",
    "fastrapi.hub",
    "fastrapi.middleware",
    "fastrapi.middleware.cors",
    "fastrapi.middleware.gzip",
    "fastrapi.middleware.httpsredirect",
    "fastrapi.middleware.sessions",
    "fastrapi.middleware.trustedhost",
    "fastrapi.openapi",
    "fastrapi.openapi.constants",
    "fastrapi.openapi.utils",
    "fastrapi.params",
    "fastrapi.requests",
    "fastrapi.responses",
    "fastrapi.routing",
    "fastrapi.security",
    "fastrapi.sse",
    "fastrapi.staticfiles",
    "fastrapi.status",
    "fastrapi.testclient",
    "fastrapi.testing",
    "fastrapi.websocket",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_complete_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for attr in module.__all__:
        obj = getattr(module, attr)
        assert getattr(obj, "__doc__", None), f"{name}.{attr} has no docstring"


def test_package_exports_every_public_class() -> None:
    exported = {
        name
        for name, obj in vars(fastrapi).items()
        if isinstance(obj, type) and not name.startswith("_")
    }
    modules = {"status"}  # public submodules re-exported as FastAPI does
    assert exported == set(fastrapi.__all__) - modules


def test_seed_imports() -> None:
    from fastrapi import FastrAPI, WebSocketException  # noqa: F401
    from fastrapi.websocket import websocket

    assert websocket is fastrapi.WebSocket


def test_version() -> None:
    assert fastrapi.__version__.count(".") == 2
