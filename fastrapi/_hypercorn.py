"""Serving the app with Hypercorn's trio worker, in-process."""

from __future__ import annotations

import logging
import signal
import threading
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from .datastructures import Address

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._types import ASGIApp

logger = logging.getLogger("fastrapi")


async def serve_hypercorn(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    max_message_size: int,
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
    config.graceful_timeout = shutdown_timeout
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            partial(serve, app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]  # hypercorn's Framework type is narrower than any ASGI callable
        )
        bound = urlsplit(binds[0])
        address = Address(bound.hostname or host, bound.port or port)
        logger.info("serving on %s (Ctrl+C to stop)", address.url())
        task_status.started(address)


async def wait_for_signal() -> None:
    """Return at the first SIGINT or SIGTERM (from the main thread; elsewhere, never)."""
    if threading.current_thread() is not threading.main_thread():
        await trio.sleep_forever()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("%s: shutting down", signal.Signals(signum).name)
            return


def configure_logging() -> None:
    """Show fastrapi's INFO lines when the app serves itself and logging is not configured."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
