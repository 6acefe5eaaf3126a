"""``python -m fastrapi run module:app``: the ``fastrapi`` command."""

from __future__ import annotations

from .cli import main

main()
