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
    """Serve ``app`` with Hypercorn until ``shutdown_trigger`` returns or we are cancelled."""
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
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            partial(serve, app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]  # hypercorn's Framework type is narrower than any ASGI callable
        )
        bound = urlsplit(binds[0])
        address = Address(bound.hostname or host, bound.port or port)
        logger.info("serving on %s with Hypercorn (Ctrl+C to stop)", address.url())
        task_status.started(address)
