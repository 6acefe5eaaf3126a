"""Sphinx configuration for fastrapi's documentation (``nox -s docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

import fastrapi

sys.path.insert(0, str(Path(__file__).parent))
import trio_inventory

project = "fastrapi"
author = "the fastrapi developers"
copyright = "2026, the fastrapi developers"
release = fastrapi.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "code_width",  # every code line fits the desktop's width; narrower, lines wrap
]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "fastrapi"

# Links into Trio's docs, from an inventory written here from the installed trio: the build
# needs no network (see trio_inventory.py).
_TRIO_INVENTORY = trio_inventory.write(Path(__file__).parent / "_build" / "trio-objects.inv")
intersphinx_mapping = {
    "trio": ("https://trio.readthedocs.io/en/stable/", str(_TRIO_INVENTORY)),
}

html_static_path = ["_static"]
