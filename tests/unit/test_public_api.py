"""The public API: exactly what __all__ says, sorted, documented, importable as the seed does."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import fastrapi

API_PAGE = Path(__file__).parents[2] / "docs" / "api.rst"


def public_modules() -> list[str]:
    """The package and every module under it with no part of its name starting with ``_``."""
    found = ["fastrapi"]
    for module in pkgutil.walk_packages(fastrapi.__path__, "fastrapi."):
        if not any(part.startswith("_") for part in module.name.split(".")):
            found.append(module.name)
    return found


PUBLIC_MODULES = public_modules()


def resolve(dotted: str) -> object:
    """The module or object ``dotted`` names."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, attribute = dotted.rpartition(".")
        if not module:
            raise
        return getattr(resolve(module), attribute)


def listed_on_the_api_page(text: str) -> list[object]:
    """What the page's autosummary tables list, each entry under its ``currentmodule``, and
    the constants it names with ``:data:``."""
    current = ""
    listed = [resolve(name) for name in re.findall(r":data:`~?([\w.]+)`", text)]
    for line in text.splitlines():
        if found := re.fullmatch(r"\.\. currentmodule:: (\S+)", line):
            current = "" if found[1] == "None" else found[1] + "."
        elif found := re.fullmatch(r"   ([A-Za-z_][\w.]*)", line):
            listed.append(resolve(current + found[1]))
    return listed


def missing_from(text: str) -> list[str]:
    """``module.name`` for each name of a public ``__all__`` the page does not list (a module
    listed on the page covers its names)."""
    listed = listed_on_the_api_page(text)
    ids = {id(thing) for thing in listed}
    whole = {thing.__name__ for thing in listed if isinstance(thing, ModuleType)}
    missing = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        if name not in whole:
            missing += [f"{name}.{a}" for a in module.__all__ if id(getattr(module, a)) not in ids]
    return missing


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_complete_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for attr in module.__all__:
        obj = getattr(module, attr)
        assert getattr(obj, "__doc__", None), f"{name}.{attr} has no docstring"


def test_public_modules_are_found_in_subpackages_too() -> None:
    expected = {
        "fastrapi.hub",
        "fastrapi.security",
        "fastrapi.middleware.cors",
        "fastrapi.openapi.utils",
    }
    assert expected <= set(PUBLIC_MODULES)
    assert not [name for name in PUBLIC_MODULES if "._" in name]


def test_the_api_page_lists_every_public_name() -> None:
    missing = missing_from(API_PAGE.read_text())
    assert not missing, f"docs/api.rst does not list {', '.join(missing)}"


def test_a_name_left_off_the_page_is_reported() -> None:
    text = API_PAGE.read_text()
    assert "   Hub\n" in text
    assert "fastrapi.Hub" in missing_from(text.replace("   Hub\n", ""))
    assert "fastrapi.status.HTTP_200_OK" in missing_from(text.replace("   status\n", ""))
    constant = ":data:`fastrapi.openapi.constants.REF_PREFIX`"
    assert constant in text
    assert "fastrapi.openapi.constants.REF_PREFIX" in missing_from(text.replace(constant, ""))


def test_a_page_entry_that_names_nothing_is_an_error() -> None:
    with pytest.raises(AttributeError):
        listed_on_the_api_page(".. currentmodule:: fastrapi\n\n   NoSuchName\n")


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
