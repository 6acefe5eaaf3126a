"""ASGI middleware, as FastAPI has it: ``app.add_middleware(cls, **options)`` or
``FastrAPI(middleware=[Middleware(cls, **options)])``.

The classes live in submodules named as FastAPI's: :mod:`fastrapi.middleware.cors`,
:mod:`~fastrapi.middleware.gzip`, :mod:`~fastrapi.middleware.trustedhost`,
:mod:`~fastrapi.middleware.httpsredirect` and :mod:`~fastrapi.middleware.sessions`. Any ASGI 3
middleware class works the same way (Starlette's too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .._types import ASGIApp

__all__ = ["Middleware"]


@final
class Middleware:
    """A middleware class with its options, for ``FastrAPI(middleware=[...])``:
    ``Middleware(GZipMiddleware, minimum_size=500)``.

    The stack calls ``cls(app, *args, **kwargs)`` once, at startup. Unpacks as
    ``cls, args, kwargs`` (Starlette's ``Middleware`` does too).
    """

    def __init__(self, cls: Callable[..., ASGIApp], *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        name = getattr(self.cls, "__name__", repr(self.cls))
        return f"Middleware({', '.join([name, *options])})"
