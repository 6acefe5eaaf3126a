"""ASGI aliases: the one module where ``Any`` stands for the loosely typed ASGI dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
ErrorHandler: TypeAlias = Callable[[Scope, Exception, str], None]
"""Told what a WebSocket handler raised and what the client got ("closed with 1011"): it is
logged when serving, re-raised in tests."""
