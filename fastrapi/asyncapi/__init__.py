"""The AsyncAPI 3.0 document of an app's WebSocket routes (:func:`get_asyncapi`), served by
:class:`~fastrapi.FastrAPI` at ``asyncapi_url`` and rendered at ``asyncapi_docs_url``."""

from __future__ import annotations

from .utils import ASYNCAPI_VERSION as ASYNCAPI_VERSION
from .utils import get_asyncapi as get_asyncapi

__all__ = ["ASYNCAPI_VERSION", "get_asyncapi"]
