"""Sphinx configuration for fastrapi's documentation (``nox -s docs``)."""

from __future__ import annotations

import fastrapi

project = "fastrapi"
author = "the fastrapi developers"
copyright = "2026, the fastrapi developers"
release = fastrapi.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
