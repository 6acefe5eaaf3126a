"""Security schemes as dependencies, FastAPI's ``fastapi.security``, for HTTP and WebSocket."""

from __future__ import annotations

from .oauth2 import SecurityScopes as SecurityScopes

__all__ = ["SecurityScopes"]
