"""An intersphinx inventory of Trio's public API, written at build time from the installed trio.

Trio's own ``objects.inv`` lives on readthedocs, which a build without the network (or a CI
runner behind a proxy) cannot fetch. The names and kinds come from the installed ``trio``
(so they match the version we depend on); the page each lives on follows the layout of
Trio's reference (core, I/O, testing, low-level).
"""

from __future__ import annotations

import inspect
import zlib
from typing import TYPE_CHECKING

import trio
import trio.testing

if TYPE_CHECKING:
    from pathlib import Path

_IO = {
    "open_file", "wrap_file", "Path", "SocketStream", "SocketListener", "SSLStream",
    "SSLListener", "StapledStream", "open_tcp_stream", "open_tcp_listeners", "serve_tcp",
    "open_ssl_over_tcp_stream", "open_ssl_over_tcp_listeners", "serve_ssl_over_tcp",
    "open_unix_socket", "serve_listeners", "run_process", "open_signal_receiver",
    "DTLSEndpoint", "DTLSChannel", "NeedHandshakeError", "aclose_forcefully",
}  # fmt: skip
_PAGES = {"trio.abc": "reference-io", "trio.socket": "reference-io",
          "trio.testing": "reference-testing", "trio.lowlevel": "reference-lowlevel"}  # fmt: skip


def _role(value: object) -> str:
    if inspect.isclass(value):
        return "py:exception" if issubclass(value, BaseException) else "py:class"
    if callable(value):
        return "py:function"
    return "py:data"


def entries() -> list[tuple[str, str, str]]:
    """(name, role, page) for every public name of trio and its public submodules."""
    found = []
    modules = {"trio": trio, "trio.abc": trio.abc, "trio.testing": trio.testing,
               "trio.lowlevel": trio.lowlevel, "trio.to_thread": trio.to_thread,
               "trio.from_thread": trio.from_thread, "trio.socket": trio.socket}  # fmt: skip
    for prefix, module in modules.items():
        for name in dir(module):
            if name.startswith("_") or inspect.ismodule(getattr(module, name)):
                continue
            page = _PAGES.get(prefix, "reference-io" if name in _IO else "reference-core")
            found.append((f"{prefix}.{name}", _role(getattr(module, name)), page))
    return found


def write(path: Path) -> Path:
    """Write the inventory to ``path`` (Sphinx's version-2 format) and return it."""
    lines = [f"{name} {role} 1 {page}.html#$ -\n" for name, role, page in entries()]
    lines += [f"{m} py:module 1 {p}.html#module-$ -\n" for m, p in
              (("trio", "reference-core"), ("trio.testing", "reference-testing"))]  # fmt: skip
    head = (
        "# Sphinx inventory version 2\n"
        f"# Project: Trio\n# Version: {trio.__version__}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head.encode() + zlib.compress("".join(lines).encode()))
    return path
