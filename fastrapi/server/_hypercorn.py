"""Serving the app with Hypercorn's trio worker, in-process (``server="hypercorn"``)."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from ..datastructures import Address
from ._serve import listen_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .._types import ASGIApp

logger: Final = logging.getLogger("fastrapi")


async def serve_hypercorn(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    max_message_size: int,
    keep_alive_timeout: float,
    max_header_size: int,
    certfile: str | None,
    keyfile: str | None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None,
    shutdown_timeout: float,
    task_status: trio.TaskStatus[Address],
) -> None:
    """Serve ``app`` with Hypercorn until ``shutdown_trigger`` returns or we are cancelled.

    Raises:
        ListenError: ``host``:``port`` cannot be listened on.
    """
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # into logging, not onto stderr
    config.websocket_max_message_size = max_message_size
    # (no websocket_ping_interval: Hypercorn 0.18's pinger writes beside its other writes and
    # can crash the server with BusyResourceError; it would not check the pongs anyway)
    config.keep_alive_timeout = keep_alive_timeout
    config.h11_max_incomplete_size = max_header_size
    config.graceful_timeout = shutdown_timeout
    config.certfile = certfile
    config.keyfile = keyfile
    bind_error: OSError | None = None
    async with trio.open_nursery() as nursery:
        try:
            binds: list[str] = await nursery.start(
                partial(serve, app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]  # hypercorn's Framework type is narrower than any ASGI callable
            )
        except (OSError, ExceptionGroup) as exc:  # Hypercorn could not bind: nothing runs yet
            bind_error = _only_oserror(exc)
            if bind_error is None:
                raise
            # raised bare below, not in the nursery's ExceptionGroup
        else:
            bound = urlsplit(binds[0])
            address = Address(bound.hostname or host, bound.port or port)
            logger.info("serving on %s with Hypercorn (Ctrl+C to stop)", address.url())
            task_status.started(address)
    if bind_error is not None:
        raise listen_error(bind_error, host, port) from None


def _only_oserror(exc: BaseException) -> OSError | None:
    """The OSError that ``exc`` is, or that its nested groups hold alone (Hypercorn's nurseries
    wrap a failed bind in three)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, OSError) else None
