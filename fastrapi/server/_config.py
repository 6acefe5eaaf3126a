"""The native server's settings, checked once."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Literal

from ._codec import CodecName, pick_codec
from ._parser import MAX_HEADER_COUNT, MAX_REQUEST_LINE, ParserName, pick_parser


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings of the native server; see :meth:`fastrapi.FastrAPI.serve` for each one."""

    ws: CodecName = "wsproto"
    http: ParserName = "h11"
    compression: bool = True
    max_message_size: int = 16 * 2**20
    max_body_size: int = 2**20
    header_timeout: float = 10.0
    max_header_size: int = 16 * 1024
    max_request_line: int = MAX_REQUEST_LINE
    max_header_count: int = MAX_HEADER_COUNT
    keep_alive_timeout: float = 5.0
    max_connections: int | None = None
    max_connections_per_ip: int | None = None
    send_timeout: float | None = 30.0
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        for name in ("header_timeout", "keep_alive_timeout", "send_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        for name in (
            "max_header_size",
            "max_request_line",
            "max_header_count",
            "max_connections",
            "max_connections_per_ip",
            "max_body_size",
            "max_message_size",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, not {value}")


def make_config(
    *,
    ws: CodecName | Literal["auto"],
    compression: bool,
    certfile: str | None,
    keyfile: str | None,
    ssl_context: ssl.SSLContext | None,
    http: ParserName | Literal["auto"] = "auto",
    **settings: float | int | None,
) -> ServerConfig:
    """Build a :class:`ServerConfig` from :meth:`~fastrapi.FastrAPI.serve`'s options.

    Raises:
        ValueError: an option is out of range, an unknown codec or parser, or TLS asked for
            twice.
    """
    if certfile is not None:
        if ssl_context is not None:
            raise ValueError("give ssl_context or certfile/keyfile, not both")
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(certfile, keyfile)
    elif keyfile is not None:
        raise ValueError("keyfile needs certfile")
    return ServerConfig(
        ws=pick_codec(ws),
        http=pick_parser(http),
        compression=compression,
        ssl_context=ssl_context,
        **settings,  # type: ignore[arg-type]  # names and types checked by serve()'s signature
    )
