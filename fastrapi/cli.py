"""The ``fastrapi`` command: ``fastrapi run module:app [options]`` (also ``python -m fastrapi``).

``run`` imports the app and serves it as :meth:`fastrapi.FastrAPI.serve` does, with ``--workers N``
processes on one port, and ``--reload`` (development: the server, with its workers, restarts
when a ``.py`` file under the current directory changes; needs ``watchfiles``, the ``reload``
extra). Every mistake
of the command line (a bad ``module:app``, a port in use, an unknown option) is one line,
prefixed ``fastrapi:``, and status 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Final

from .server import _nearest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .app import FastrAPI
    from .server import ServeOptions

__all__ = ["main"]

logger: Final = logging.getLogger("fastrapi")

# (option, type, help): each is the serve() option of the same name
_SERVE_OPTIONS: Final[list[tuple[str, type, str]]] = [
    ("workers", int, "processes on the port (default 1; SO_REUSEPORT, Linux)"),
    ("server", str, "native (default) or hypercorn"),
    ("ws", str, "WebSocket codec: auto (default), websockets or wsproto"),
    ("certfile", str, "serve TLS with this certificate chain (PEM)"),
    ("keyfile", str, "the private key of --certfile"),
    ("header_timeout", float, "seconds for a request head (default 10)"),
    ("max_header_size", int, "largest request head in bytes (default 16 KiB)"),
    ("max_request_line", int, "longest request line in bytes (default 8 KiB)"),
    ("max_header_count", int, "most request header fields (default 100)"),
    ("keep_alive_timeout", float, "seconds an idle keep-alive connection stays (default 5)"),
    ("max_connections", int, "open connections at most (default no limit)"),
    ("max_connections_per_ip", int, "open connections at most per client address"),
    ("send_timeout", float, "seconds one write may take (default 30)"),
    ("shutdown_timeout", float, "seconds handlers get at shutdown (default 5)"),
    ("max_message_size", int, "default largest WebSocket message in bytes"),
    ("max_queue", int, "default messages buffered each way per WebSocket"),
    ("ping_interval", float, "default seconds between pings"),
    ("ping_timeout", float, "default seconds to wait for a pong"),
    ("idle_timeout", float, "default seconds without a message before closing"),
    ("max_lifetime", float, "default seconds a WebSocket handler may run"),
    ("close_timeout", float, "default seconds for the closing handshake"),
    ("max_message_rate", float, "default WebSocket messages a second per client"),
    ("max_message_burst", int, "default messages at once above the rate"),
    ("message_rate_policy", str, "over the rate: throttle (default) or close"),
]


class CommandError(Exception):
    """A mistake on the command line: printed as one line, status 1."""


def _parser() -> argparse.ArgumentParser:
    # no prefix matching: `--worker 2` is a mistake to name, not `--workers` taken silently
    parser = argparse.ArgumentParser(
        prog="fastrapi", description="Serve a fastrapi app.", allow_abbrev=False
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve module:app", allow_abbrev=False)
    run.add_argument("app", help="the app to serve, as module:attribute (examples.chat_hub:app)")
    run.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    run.add_argument("--reload", action="store_true", help="restart when a .py file changes")
    run.add_argument(
        "--log-level", default="info", help="debug, info (default), warning, error or off"
    )
    for name, kind, text in _SERVE_OPTIONS:
        run.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=text)
    run.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an unknown option or a stray argument is a :class:`CommandError` that
    names the nearest option.
    """
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        run = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        known = run.choices[args.command]._option_string_actions
        first = extra[0]
        if not first.startswith("-"):
            raise CommandError(f"unexpected argument {first!r}")
        name = first.partition("=")[0]
        raise CommandError(f"{args.command} has no option {name!r}{_nearest(name, known)}")
    return args


def load_app(spec: str) -> FastrAPI:
    """Import ``module:attribute`` (from the current directory first) and check what it is.

    Raises:
        CommandError: the module or the attribute is missing, the import failed, or the object
            is not a :class:`~fastrapi.FastrAPI`.
    """
    from .app import FastrAPI

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CommandError(f"app must look like module:attribute, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing is not None and f"{module_name}.".startswith(f"{missing}."):
            message = f"cannot import {module_name!r}: no module named {missing!r}"
            raise CommandError(message) from None
        raise CommandError(
            f"importing {module_name!r} failed: {exc!r} (python -c 'import {module_name}' shows"
            " the traceback)"
        ) from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise CommandError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(app, FastrAPI):
        raise CommandError(f"{spec} is a {type(app).__name__}, not a FastrAPI app")
    return app


def _options(args: argparse.Namespace) -> ServeOptions:
    options: dict[str, object] = {
        name: getattr(args, name)
        for name, _, _ in _SERVE_OPTIONS
        if getattr(args, name) is not None
    }
    if args.no_compression:
        options["compression"] = False
    return options  # type: ignore[return-value]  # the names are ServeOptions', by the table


def _configure_logging(level_name: str) -> None:
    if level_name == "off":
        logging.disable(logging.CRITICAL)
        return
    level = logging.getLevelName(level_name.upper())
    if not isinstance(level, int):
        raise CommandError(
            f"--log-level must be debug, info, warning, error or off, not {level_name!r}"
        )
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")


def main(argv: Sequence[str] | None = None) -> None:
    """The entry point of the ``fastrapi`` command."""
    try:
        args = _parse(argv)
        _configure_logging(args.log_level)
        if args.reload:
            _reload(sys.argv[1:] if argv is None else list(argv), args)
            return
        app = load_app(args.app)
        options = _options(args)
        app.serve(args.host, args.port, **options)
    except (CommandError, ValueError) as exc:
        print(f"fastrapi: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _reload(argv: list[str], args: argparse.Namespace) -> None:
    """Run the server in a child process, started again whenever a ``.py`` file changes."""
    try:
        import watchfiles
    except ImportError:
        raise CommandError(
            "--reload needs watchfiles: pip install 'fastrapi-trio[reload]'"
        ) from None
    load_app(args.app)  # a bad module:app is one line here, not a crash loop
    child_argv = [sys.executable, "-m", "fastrapi", *(a for a in argv if a != "--reload")]
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    # the server's shutdown, and with --workers its supervisor's margin before it kills one
    grace = (args.shutdown_timeout or 5.0) + 10.0
    try:
        # its own session: a terminal's Ctrl+C reaches only us, and we stop it once
        child = subprocess.Popen(child_argv, start_new_session=True)
        for changes in watchfiles.watch(
            os.getcwd(),
            watch_filter=watchfiles.PythonFilter(),
            stop_event=stop,
            raise_interrupt=False,
        ):
            logger.info("reloading: %s changed", ", ".join(sorted({p for _, p in changes})))
            _stop_child(child, grace)
            child = subprocess.Popen(child_argv, start_new_session=True)
        _stop_child(child, grace)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_child(child: subprocess.Popen[bytes], grace: float) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
