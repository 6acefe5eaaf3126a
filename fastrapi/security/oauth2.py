"""OAuth2 schemes (FastAPI's ``fastapi.security.oauth2``) and :class:`SecurityScopes`."""

from __future__ import annotations

from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SecurityScopes"]


@final
class SecurityScopes:
    """The OAuth2 scopes a dependency chain requires, for a parameter annotated with this class.

    fastrapi fills it in: ``scopes`` has the scopes of every ``Security(..., scopes=[...])``
    from the route down to the dependency that asks, outermost first, each once;
    ``scope_str`` is them joined by spaces (the OAuth2 spelling, for a ``WWW-Authenticate``
    header). Treat it as read-only: it is made once, when the route is declared.

    Args:
        scopes: The scopes (fastrapi gives them; construct one yourself only in tests).
    """

    def __init__(self, scopes: Iterable[str] | None = None) -> None:
        self.scopes: list[str] = list(scopes or ())
        self.scope_str: str = " ".join(self.scopes)

    def __repr__(self) -> str:
        return f"SecurityScopes({self.scopes!r})"
