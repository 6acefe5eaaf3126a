"""Constants of the OpenAPI document (FastAPI's ``fastapi.openapi.constants``)."""

from __future__ import annotations

from typing import Final

__all__ = ["METHODS_WITH_BODY", "REF_PREFIX", "REF_TEMPLATE"]

METHODS_WITH_BODY: Final = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
"""The methods whose operations document a request body (FastAPI's set)."""
REF_PREFIX: Final = "#/components/schemas/"
"""Where a ``$ref`` to a schema of the document points."""
REF_TEMPLATE: Final = REF_PREFIX + "{model}"
"""pydantic's ``ref_template`` for the schemas of the document."""
