"""The application: routes, decorators, lifespan, and the ASGI entry point (dispatch only)."""

from __future__ import annotations

import inspect
import logging
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, Unpack, final

import trio

from ._asgi import ASGITransport
from ._bridge import PASSAGE, Passage
from ._connection import HTTPConnection
from ._errors import ExceptionHandler, ExceptionHandlers
from ._http_dispatch import counting, serve_http, serve_route, through_stack
from ._monitor import AppStatistics, Monitor, client_of
from ._pump import PumpOptions, WebSocketOptions, check_websocket_options
from ._websocket_dispatch import native_websocket, serve_session, serve_websocket
from .exceptions import HubUnavailable, ListenError, RouteDefinitionError
from .hub import Hub
from .middleware import Middleware
from .openapi.docs import add_docs_routes
from .requests import Request  # noqa: TC001  # read at runtime: _openapi_response is planned
from .responses import JSONResponse, Response
from .routing import (
    APIRoute,
    APIRouter,
    APIWebSocketRoute,
    HubRouteOptions,
    RouteOptions,
    WebSocketRouteOptions,
    _hub_missing,
    _hub_route_paths,
)

if TYPE_CHECKING:
    from enum import Enum

    from ._http_dispatch import HTTPMiddleware
    from ._types import ASGIApp, ErrorHandler, Receive, Scope, Send
    from .datastructures import Address
    from .params import Depends
    from .server import ServeOptions

__all__ = ["FastrAPI", "WebSocketOptions"]

logger: Final = logging.getLogger("fastrapi")

F = TypeVar("F", bound=Callable[..., Any])

HandshakeHook = Callable[[HTTPConnection], Awaitable[None]]
M = TypeVar("M", bound=Callable[..., Awaitable[Any]])
EH = TypeVar("EH", bound=Callable[..., Any])
Hook = Callable[[], Awaitable[None] | None]
H = TypeVar("H", bound=Hook)
Lifespan = Callable[["FastrAPI"], AbstractAsyncContextManager[None]]


@final
class FastrAPI:
    """A fastrapi application: WebSocket and HTTP routes, served on Trio.

    Args:
        on_startup: Functions (sync or async) run before the server accepts connections.
        on_shutdown: Functions run after it stopped.
        lifespan: An async context manager factory taking the app, entered at startup and
            exited at shutdown (for resources, or a nursery of long-lived tasks).
        max_body_size: Largest HTTP request body (default 1 MiB); larger gets a 413.
        max_connections: Open connections at most in each process, HTTP and WebSocket
            together (default ``None``: no limit); past it a WebSocket handshake or an HTTP
            request gets ``503 Service Unavailable`` with ``Retry-After`` at once, and no
            handler runs (:doc:`/limits`). The native server's; ``serve(max_connections=...)``
            overrides it.
        max_connections_per_ip: Open connections at most from one client address in each
            process (an IPv6 client's ``/64``; default ``None``: no limit); past it ``429 Too
            Many Requests`` with ``Retry-After``. Behind a reverse proxy every client has the
            proxy's address: leave it unset there.
        allowed_origins: The ``Origin`` values a WebSocket handshake may carry (default
            ``None``: any). A browser always sends its page's origin, so this stops other sites'
            pages from opening WebSockets with your users' cookies (cross-site WebSocket
            hijacking); a handshake from another origin is refused with 403. Clients that send
            no ``Origin`` (not browsers) are let through.
        hub: The app's :class:`~fastrapi.Hub` (``app.hub``): a handler, HTTP route or
            dependency gets it by a parameter annotated ``Hub``.
        access_log: The level of the log lines, one per WebSocket when it ends (logger
            ``fastrapi.websocket``) and one per HTTP request (``fastrapi.access``); default
            ``logging.INFO``, ``None`` for none.
        metrics_path: Serve Prometheus metrics at this path (``"/metrics"``, say; default none);
            needs ``prometheus-client`` (the ``metrics`` extra). See :doc:`/deployment`.
        thread_limit: Most plain ``def`` handlers and dependencies running at once in worker
            threads (default 40, as anyio's); more wait for a free thread.
        asyncapi_url: Serve the WebSocket routes' AsyncAPI 3.0 document (:meth:`asyncapi`)
            here (``None``: not served).
        asyncapi_docs_url: Serve a page rendering that document here (``None``: none).
        validate_sends: Check what ``send_json()`` sends: on a route declared with ``sends=``,
            against that type (a ``TypeError`` if it does not fit), and on every route, for
            floats JSON cannot carry (NaN, Infinity: a ``ValueError``; unchecked, they are sent
            as ``null``). Default: on where pytest is imported (tests), off otherwise (the
            checks cost a validation per message).
        **options: Default :class:`WebSocketOptions` of every WebSocket route.

    FastAPI's keywords are taken too, and kept on the app (or its router) for the routes and
    the API documents: ``title``, ``summary``, ``description``, ``version``, ``openapi_url``,
    ``openapi_tags``, ``servers``, ``docs_url``, ``redoc_url``, the ``swagger_ui_*`` options,
    ``terms_of_service``, ``contact``, ``license_info``, ``openapi_external_docs``,
    ``separate_input_output_schemas``, ``webhooks``, ``root_path`` (``openapi_prefix`` is its
    old name) and ``root_path_in_servers``, ``debug``; ``dependencies``, ``responses``,
    ``callbacks``, ``deprecated``, ``include_in_schema``, ``default_response_class``,
    ``redirect_slashes`` and ``generate_unique_id_function`` apply to every route as
    :class:`~fastrapi.routing.APIRouter`'s do; ``exception_handlers`` and ``middleware``
    as :meth:`add_exception_handler` and :meth:`add_middleware` would.

    Raises:
        TypeError: an unknown keyword (named in the message).
        ValueError: an option is out of range.
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        routes: Sequence[Any] | None = None,
        title: str = "FastAPI",
        summary: str | None = None,
        description: str = "",
        version: str = "0.1.0",
        openapi_url: str | None = "/openapi.json",
        openapi_tags: list[dict[str, Any]] | None = None,
        servers: list[dict[str, Any]] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | None = None,
        redirect_slashes: bool = True,
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        swagger_ui_oauth2_redirect_url: str | None = "/docs/oauth2-redirect",
        swagger_ui_init_oauth: dict[str, Any] | None = None,
        middleware: Sequence[Any] | None = None,
        exception_handlers: Mapping[Any, Callable[..., Any]] | None = None,
        on_startup: Iterable[Hook] | None = None,
        on_shutdown: Iterable[Hook] | None = None,
        lifespan: Lifespan | None = None,
        terms_of_service: str | None = None,
        contact: dict[str, Any] | None = None,
        license_info: dict[str, Any] | None = None,
        openapi_prefix: str = "",
        root_path: str = "",
        root_path_in_servers: bool = True,
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        webhooks: Any = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        swagger_ui_parameters: dict[str, Any] | None = None,
        generate_unique_id_function: Callable[[Any], str] | None = None,
        separate_input_output_schemas: bool = True,
        openapi_external_docs: dict[str, Any] | None = None,
        strict_content_type: bool = True,
        max_body_size: int = 2**20,
        max_connections: int | None = None,
        max_connections_per_ip: int | None = None,
        allowed_origins: Iterable[str] | None = None,
        hub: Hub | None = None,
        access_log: int | None = logging.INFO,
        metrics_path: str | None = None,
        thread_limit: int = 40,
        asyncapi_url: str | None = "/asyncapi.json",
        asyncapi_docs_url: str | None = "/asyncapi",
        validate_sends: bool | None = None,
        **options: Unpack[WebSocketOptions],
    ) -> None:
        check_websocket_options("FastrAPI()", options)
        self.websocket_options = PumpOptions(**options)
        if hub is not None and not isinstance(hub, Hub):
            raise TypeError(f"FastrAPI(hub=...) takes a fastrapi.Hub, not {hub!r}")
        self._hub = hub
        self._started = False  # running() entered: the Hub is the one it started
        self.router: Final = APIRouter(
            routes=routes,
            redirect_slashes=redirect_slashes,
            dependencies=dependencies,
            default_response_class=default_response_class,
            responses=responses,
            callbacks=callbacks,
            on_startup=list(on_startup or ()),
            on_shutdown=list(on_shutdown or ()),
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            generate_unique_id_function=generate_unique_id_function,
        )
        """The app's route table and its decorators' implementation (``app.get`` is
        ``app.router.get``)."""
        self.router._provided = {Hub: self._current_hub}
        self.router._strict = True
        self.router._websocket_options = self.websocket_options
        self.on_startup: Final = self.router.on_startup
        self.on_shutdown: Final = self.router.on_shutdown
        self.debug = debug
        self.title = title
        self.summary = summary
        self.description = description
        self.version = version
        self.openapi_version = "3.1.0"
        self.openapi_url = openapi_url
        self.openapi_tags = openapi_tags
        self.servers = list(servers or [])
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.swagger_ui_oauth2_redirect_url = swagger_ui_oauth2_redirect_url
        self.swagger_ui_init_oauth = swagger_ui_init_oauth
        self.swagger_ui_parameters = swagger_ui_parameters
        self.terms_of_service = terms_of_service
        self.contact = contact
        self.license_info = license_info
        self.openapi_external_docs = openapi_external_docs
        self.separate_input_output_schemas = separate_input_output_schemas
        self.webhooks: APIRouter = webhooks if webhooks is not None else APIRouter()
        """Routes that describe the webhooks in the OpenAPI document (not served)."""
        self.openapi_schema: dict[str, Any] | None = None
        """The OpenAPI document once made (cached)."""
        self.root_path = root_path or openapi_prefix
        """Set as the ``root_path`` of every request's scope when not empty (the path the app
        is served under behind a proxy)."""
        self.root_path_in_servers = root_path_in_servers
        self.strict_content_type = strict_content_type
        self.exception_handlers: dict[Any, Callable[..., Any]] = {}
        """Exception class or status code -> handler, as registered (FastAPI's)."""
        self._exception_table = ExceptionHandlers()
        for key, handler in (exception_handlers or {}).items():
            self.add_exception_handler(key, handler)
        self.user_middleware: list[Any] = list(middleware or [])
        """The ASGI middleware (``middleware=``, then :meth:`add_middleware`), outermost
        first, as FastAPI's."""
        self._stack: ASGIApp | None = None  # the middleware around the routes, if any
        self._stack_built = False  # at startup, or the first request
        self.mount_names: dict[str, str] = {}
        """The mounts' paths by their ``name``."""
        self.lifespan = lifespan
        self.max_body_size = max_body_size
        for name, cap in (
            ("max_connections", max_connections),
            ("max_connections_per_ip", max_connections_per_ip),
        ):
            if cap is not None and (not isinstance(cap, int) or cap < 1):
                raise ValueError(f"{name} must be a positive integer or None, not {cap!r}")
        self.max_connections = max_connections
        """Open connections at most per process (``None``: no limit); see :doc:`/limits`."""
        self.max_connections_per_ip = max_connections_per_ip
        """Open connections at most per client address and process (``None``: no limit)."""
        self.allowed_origins = frozenset(allowed_origins) if allowed_origins is not None else None
        self.state = SimpleNamespace()
        """A namespace for the application's own data (a connection registry, say)."""
        self.thread_limiter = trio.CapacityLimiter(thread_limit)
        """The worker threads' limit shared by every sync handler and dependency; each process
        that serves makes its own (:meth:`running`)."""
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        """Replacements of dependencies, for tests (``{get_db: get_test_db}``)."""
        self._mounts: list[tuple[str, ASGIApp]] = []
        self._http_middleware: list[HTTPMiddleware] = []
        self._handshake_hooks: list[HandshakeHook] = []
        self.monitor: Final = Monitor(access_log, metrics=metrics_path is not None)
        # The app's own routes (metrics, the documents) are not named by the
        # generate_unique_id_function written for the user's routes.
        self.router.generate_unique_id_function = None
        if metrics_path is not None:
            self.router.add_api_route(
                metrics_path, self._metrics, include_in_schema=False, namespace={}
            )
        if openapi_url:  # none of the router's options (dependencies...) apply, as in FastAPI
            own = APIRoute(openapi_url, self._openapi_response, include_in_schema=False)
            self.router._add(own)
        self.asyncapi_url = asyncapi_url
        self.asyncapi_docs_url = asyncapi_docs_url
        self.asyncapi_schema: dict[str, Any] | None = None
        """The AsyncAPI document once made (cached)."""
        self.validate_sends = "pytest" in sys.modules if validate_sends is None else validate_sends
        add_docs_routes(self)
        self.router.generate_unique_id_function = generate_unique_id_function

    def on_event(self, event_type: Literal["startup", "shutdown"]) -> Callable[[H], H]:
        """Run the decorated function (sync or async) at startup or at shutdown, as
        ``on_startup``/``on_shutdown`` do: ``@app.on_event("startup")``.

        Deprecated as in FastAPI (a ``DeprecationWarning``): use ``lifespan`` instead.

        Raises:
            ValueError: ``event_type`` is neither.
        """
        warnings.warn(
            "on_event is deprecated, use lifespan event handlers instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.router.on_event(event_type)

    # -- declaring routes ---------------------------------------------------------------------

    @property
    def routes(self) -> list[Any]:
        """Every route of the app, in the order declared (``app.router.routes``)."""
        return self.router.routes

    def websocket(
        self, path: str, name: str | None = None, **options: Unpack[WebSocketRouteOptions]
    ) -> Callable[[F], F]:
        """Declare a WebSocket route: ``@app.websocket("/chat/{room}", receives=In,
        sends=Out)``; see :meth:`APIRouter.websocket <fastrapi.routing.APIRouter.websocket>`,
        and :class:`~fastrapi.routing.WebSocketRouteOptions` for ``options``."""
        return self.router.websocket(path, name, **options)

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        **options: Unpack[WebSocketRouteOptions],
    ) -> APIWebSocketRoute:
        """Add a WebSocket route for ``endpoint``; see :meth:`websocket`."""
        namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        return self.router.add_api_websocket_route(
            path, endpoint, name, namespace=namespace, **options
        )

    def hub_route(self, path: str, **options: Unpack[HubRouteOptions]) -> APIWebSocketRoute:
        """Serve the app's Hub at ``path`` to clients of the ``fastrapi.hub.v1`` protocol; see
        :meth:`APIRouter.hub_route <fastrapi.routing.APIRouter.hub_route>`,
        :class:`~fastrapi.routing.HubRouteOptions` for ``options``, and :doc:`/clients`.

        Raises:
            RouteDefinitionError: the app has no Hub, a bad path, or a callable that cannot be
                planned.
        """
        namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        return self.router.hub_route(path, namespace=namespace, **options)

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of the app's WebSocket routes (served at
        ``asyncapi_url``), made on the first call and kept in :attr:`asyncapi_schema`;
        see :func:`fastrapi.asyncapi.get_asyncapi`. Replace this method on the app to serve
        another document."""
        if self.asyncapi_schema is None:
            from .asyncapi import get_asyncapi

            self.asyncapi_schema = get_asyncapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
                openapi_servers=self.servers,
            )
        return self.asyncapi_schema

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | set[str] | None = None,
        **options: Unpack[RouteOptions],
    ) -> APIRoute:
        """Add an HTTP route for ``endpoint``; see :meth:`get`."""
        namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        return self.router.add_api_route(
            path, endpoint, methods=methods, namespace=namespace, **options
        )

    def api_route(
        self, path: str, *, methods: Sequence[str] | None = None, **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Declare an HTTP route for ``methods`` (default ``["GET"]``); see :meth:`get`."""
        return self.router.api_route(path, methods=methods, **options)

    def route(self, path: str, methods: Sequence[str] | None = None) -> Callable[[F], F]:
        """Declare an HTTP route for ``methods``: :meth:`api_route` without its options."""
        return self.router.api_route(path, methods=methods)

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a GET route (which also answers HEAD, without the body); see
        :meth:`APIRouter.get <fastrapi.routing.APIRouter.get>` for what the handler takes and
        returns, and :class:`~fastrapi.routing.RouteOptions` for ``options``."""
        return self.router.get(path, **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a POST route; see :meth:`get`."""
        return self.router.post(path, **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a PUT route; see :meth:`get`."""
        return self.router.put(path, **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a PATCH route; see :meth:`get`."""
        return self.router.patch(path, **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a DELETE route; see :meth:`get`."""
        return self.router.delete(path, **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a HEAD route; see :meth:`get`."""
        return self.router.head(path, **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare an OPTIONS route; see :meth:`get`."""
        return self.router.options(path, **options)

    def trace(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a TRACE route; see :meth:`get`."""
        return self.router.trace(path, **options)

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: Sequence[str | Enum] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | None = None,
        responses: Mapping[int | str, dict[str, Any]] | None = None,
        callbacks: Sequence[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[APIRoute], str] | None = None,
    ) -> None:
        """Add the routes of ``router``; see :meth:`APIRouter.include_router
        <fastrapi.routing.APIRouter.include_router>`."""
        self.router.include_router(
            router,
            prefix=prefix,
            tags=tags,
            dependencies=dependencies,
            default_response_class=default_response_class,
            responses=responses,
            callbacks=callbacks,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            generate_unique_id_function=generate_unique_id_function,
        )

    def url_path_for(self, name: str, /, **path_params: object) -> str:
        """The path of the route named ``name`` with ``path_params`` put in.

        A mount's ``name`` takes the path inside it (``url_path_for("static", path="/app.css")``),
        and ``"mount:route"`` a route of a mounted app.

        Raises:
            NoMatchFound: no route of that name takes exactly those parameters.
        """
        if self.mount_names:
            found = self._mount_path_for(name, path_params)
            if found is not None:
                return found
        return self.router.url_path_for(name, **path_params)

    def _mount_path_for(self, name: str, path_params: dict[str, object]) -> str | None:
        mount, _, inner = name.partition(":")
        prefix = self.mount_names.get(mount)
        if prefix is None:
            return None
        if not inner:
            rest = path_params.get("path")
            if set(path_params) != {"path"} or not isinstance(rest, str):
                return None
            return prefix + "/" + rest.lstrip("/")
        mounted = next(app for path, app in self._mounts if path == prefix)
        if not isinstance(mounted, FastrAPI):
            return None
        return prefix + mounted.url_path_for(inner, **path_params)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve every HTTP request and WebSocket under ``path`` with the ASGI ``app``:
        ``app.mount("/static", StaticFiles(directory="static"))``, or another
        :class:`FastrAPI` (a sub-application, with its own routes, middleware and docs).

        The mounted app sees the rest of the path (``/static/app.js`` as ``/app.js``) and
        ``path`` added to ``root_path``. Mounts are looked at before the routes, inside the
        ASGI middleware (:meth:`add_middleware`) and outside the HTTP middleware. A mounted
        :class:`FastrAPI` gets the native server's WebSockets as they are (pings included).
        ``name`` names the mount for ``url_for(name, path=...)``.

        One mount may be at ``/``: it serves what no route (and no other mount) matches, as a
        single-page app's ``app.mount("/", StaticFiles(directory="dist", html=True))`` wants.

        Raises:
            RouteDefinitionError: ``path`` does not start with ``/``, or ends with one (other
                than ``/`` itself), or a second mount at ``/``.
        """
        if path in ("", "/"):
            if any(prefix == "" for prefix, _ in self._mounts):
                raise RouteDefinitionError("there is a mount at / already")
            path = ""
        elif not path.startswith("/") or path.endswith("/"):
            raise RouteDefinitionError(
                f"mount path must start with / and not end with one: {path!r}"
            )
        self._mounts.append((path, app))
        if name is not None:
            self.mount_names[name] = path

    def add_middleware(
        self, middleware_class: Callable[..., ASGIApp], *args: Any, **kwargs: Any
    ) -> None:
        """Wrap the app in an ASGI middleware: ``app.add_middleware(GZipMiddleware,
        minimum_size=1000)`` (the last added is the outermost, as in FastAPI).

        ``middleware_class(app, *args, **kwargs)`` must make an ASGI 3 app; fastrapi's
        (:mod:`fastrapi.middleware`) and Starlette's work alike. The stack is built once, at
        startup or the first request, and sees every HTTP request and WebSocket on both servers;
        an app without middleware pays nothing for it. See :doc:`/middleware`.

        Raises:
            RuntimeError: the app has started already.
        """
        if self._stack_built:
            raise RuntimeError("cannot add middleware after the application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def _build_stack(self) -> ASGIApp | None:
        """Build the middleware around the routes, once (``None``: there is none)."""
        if not self._stack_built:
            app: ASGIApp | None = None
            if self.user_middleware:
                app = self._innermost
                for cls, args, kwargs in reversed(self.user_middleware):
                    app = cls(app, *args, **kwargs)
            self._stack = app
            self._stack_built = True
        return self._stack

    def exception_handler(self, key: type[BaseException] | int) -> Callable[[EH], EH]:
        """Answer an exception class (and its subclasses), or an HTTP status, with the
        decorated handler: ``@app.exception_handler(UnicornError)``; see
        :meth:`add_exception_handler`."""

        def decorate(handler: EH) -> EH:
            self.add_exception_handler(key, handler)
            return handler

        return decorate

    def add_exception_handler(
        self, key: type[BaseException] | int, handler: ExceptionHandler
    ) -> None:
        """Answer ``key`` (an exception class, or an HTTP status) with ``handler``.

        ``handler(request, exc)`` (``async def``, or ``def``, run in a worker thread) returns
        the :class:`~fastrapi.Response` for an HTTP route that raised ``exc`` (or whose
        dependency did). The nearest class in the exception's MRO wins; a status (``404``)
        takes an :class:`~fastrapi.HTTPException` of that status first, including the 404 and
        405 of the router. ``Exception`` (or ``500``) takes what nothing else does: its
        response is sent, and the error still goes to the server's log.

        On a WebSocket route the same handler is called as ``handler(websocket, exc)``: before
        ``accept()`` a Response it returns (or an ``HTTPException`` it raises) refuses the
        handshake with it; after, it may close with a code of its choosing
        (``await websocket.close(4000)``), or the connection closes with 1011.

        Raises:
            TypeError: ``key`` is neither an exception class nor an ``int``, or ``handler`` is
                not callable.
            ValueError: ``key`` is a status outside 400-599.
        """
        self._exception_table.add(key, handler)
        self.exception_handlers[key] = handler

    def middleware(self, kind: Literal["http", "websocket"]) -> Callable[[M], M]:
        """Add a middleware: ``@app.middleware("http")`` or ``@app.middleware("websocket")``.

        An ``"http"`` one is FastAPI's: ``async def add_header(request, call_next)`` awaits
        ``call_next(request)`` for the :class:`~fastrapi.Response` (or answers by itself) and
        returns a response. The first added is the outermost.

        A ``"websocket"`` one is a handshake hook: ``async def check(conn: HTTPConnection)``
        runs for every WebSocket handshake that found its route, before its dependencies and
        handler; raising :class:`~fastrapi.HTTPException` refuses the handshake with that
        status, headers and ``{"detail": ...}`` body.

        Raises:
            ValueError: ``kind`` is neither.
        """
        if kind not in ("http", "websocket"):
            raise ValueError(f"middleware kind must be 'http' or 'websocket', not {kind!r}")

        def decorate(function: M) -> M:
            if kind == "http":
                self._http_middleware.append(function)
            else:
                self._handshake_hooks.append(function)
            return function

        return decorate

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry point: ``hypercorn --worker-class trio module:app`` serves it.

        On a server that does not run Trio (uvicorn, say), startup fails with one line that
        says so, and any request is answered with that line (HTTP 500, or a refused WebSocket).
        """
        if not trio.lowlevel.in_trio_run():
            await _refuse_non_trio(scope, receive, send)
            return
        # As Starlette does: the error that made a 500 goes on to the server, which logs it
        # (a test client raises it) once the response is out.
        await self.serve_asgi(scope, receive, send, self._raise_http_error)

    def _raise_http_error(self, scope: Scope, exc: Exception, outcome: str) -> None:
        if scope["type"] == "http":
            raise exc
        self.log_handler_error(scope, exc, outcome)

    async def serve_asgi(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        on_error: ErrorHandler,
        defaults: WebSocketOptions | None = None,
    ) -> None:
        """The ASGI entry point that tells ``on_error`` what a handler raised that made a 500
        or a 1011, with the WebSocket options given to ``serve()`` (``defaults``), through the
        app's ASGI middleware if it has any."""
        stack = self._stack if self._stack_built else self._build_stack()
        if stack is None:
            await self._dispatch(scope, receive, send, on_error, defaults)
        elif scope["type"] == "http":
            await through_stack(stack, scope, receive, send, Passage(on_error, defaults, None))
        else:
            scope[PASSAGE] = Passage(on_error, defaults, None)
            await stack(scope, receive, send)

    async def _innermost(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app inside its middleware: the native WebSocket back to its transport when the
        middleware passed it through untouched, else the routes over ASGI."""
        passage: Passage | None = scope.get(PASSAGE)
        if passage is None:  # a middleware made a scope of its own
            passage = Passage(self._raise_http_error, None, None)
        bridge = passage.bridge
        if scope["type"] == "websocket" and bridge is not None and bridge.hand_over(receive, send):
            await native_websocket(
                self, scope, bridge.transport, passage.on_error, passage.defaults
            )
            return
        await self._dispatch(scope, receive, send, passage.on_error, passage.defaults)

    async def _dispatch(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        on_error: ErrorHandler,
        defaults: WebSocketOptions | None,
    ) -> None:
        kind = scope["type"]
        if kind == "websocket":
            mounted = self._mounted(scope) if self._mounts else None
            if mounted is not None:
                child, sub = mounted
                if isinstance(sub, FastrAPI):
                    await sub.serve_asgi(child, receive, send, on_error, defaults)
                else:
                    await sub(child, receive, send)
                return
            transport = ASGITransport(scope, receive, send)
            if await transport.wait_connect():
                await serve_session(self, scope, transport, on_error, defaults)
        elif kind == "http":
            monitor = self.monitor
            if monitor.counts_http():
                send = counting(monitor, scope, send)
            error = await serve_http(self, scope, receive, send)
            if error is not None:
                on_error(scope, error, "answered with HTTP 500")
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _mounted(self, scope: Scope) -> tuple[Scope, ASGIApp] | None:
        """The scope for the mounted app that serves this path, and that app."""
        self._enter(scope)
        path = self._scope_path(scope)
        root: ASGIApp | None = None
        for prefix, mounted in self._mounts:
            if not prefix:
                root = mounted
            elif path == prefix or path.startswith(prefix + "/"):
                child = dict(scope)
                child["path"] = path[len(prefix) :] or "/"
                child["root_path"] = scope.get("root_path", "") + prefix
                return child, mounted
        if root is None:
            return None
        router = self.router
        if scope["type"] == "websocket":
            routed = router.match_websocket(path) is not None
        else:
            routed = router.match_http(scope["method"], path) is not None
        return None if routed else ({**scope, "path": path}, root)

    def log_handler_error(self, scope: Scope, exc: Exception, outcome: str) -> None:
        """Log what a handler (or its dependency) raised, with its route, peer and what the
        client got (``outcome``); the server carries on."""
        logger.error(
            "%s handler for %s (client %s) failed; %s",
            "WebSocket" if scope["type"] == "websocket" else "HTTP " + scope["method"],
            scope["path"],
            client_of(scope),
            outcome,
            exc_info=exc,
        )

    serve_websocket = serve_websocket  # (in _websocket_dispatch.py)

    def largest_message_size(self) -> int:
        """The largest WebSocket message any route accepts (the app's default or a route's
        own ``max_message_size``), for the server's codec limits."""
        return max(
            [self.websocket_options.max_message_size]
            + [route.options.max_message_size for route in self.router.websocket_routes]
        )

    def statistics(self) -> AppStatistics:
        """What this process served so far: open WebSockets per route, messages, close codes,
        ping round trips (a snapshot; with several workers, each has its own)."""
        return self.monitor.statistics(self.hub)

    def openapi(self) -> dict[str, Any]:
        """The app's OpenAPI 3.1 document (served at ``openapi_url``), made on the first call
        and kept in :attr:`openapi_schema`. Replace this method on the app
        (``app.openapi = custom_openapi``) to serve another document, as with FastAPI.
        """
        if self.openapi_schema is None:
            from .openapi.utils import get_openapi

            self.openapi_schema = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                summary=self.summary,
                description=self.description,
                terms_of_service=self.terms_of_service,
                contact=self.contact,
                license_info=self.license_info,
                routes=self.routes,
                webhooks=self.webhooks.routes,
                tags=self.openapi_tags,
                servers=self.servers,
                separate_input_output_schemas=self.separate_input_output_schemas,
                external_docs=self.openapi_external_docs,
            )
        return self.openapi_schema

    async def _openapi_response(self, request: Request) -> Response:
        # The root path this request came through is the first server, in this answer only:
        # a client's root_path must not stay in the document others get (as in FastAPI).
        schema = self.openapi()
        root = str(request.scope.get("root_path", "")).rstrip("/")
        if root and self.root_path_in_servers:
            servers = schema.get("servers", [])
            if all(s.get("url") != root for s in servers):
                schema = {**schema, "servers": [{"url": root}, *servers]}
        return JSONResponse(schema)

    async def _metrics(self) -> Response:
        body, content_type = self.monitor.render(self.hub)
        return Response(body, headers={"content-type": content_type})

    def _enter(self, scope: Scope) -> None:
        """Give the scope the app (``request.app``) and the app's ``root_path``, if it has
        one, before the function middleware and the routes see it."""
        scope["app"] = self
        if self.root_path:
            scope["root_path"] = self.root_path

    @staticmethod
    def _scope_path(scope: Scope) -> str:
        """The path to route: the scope's, without its ``root_path``."""
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
            return path[len(root) :] or "/"
        return path

    serve_route = serve_route  # (in _http_dispatch.py)

    # -- the Hub ------------------------------------------------------------------------------

    @property
    def hub(self) -> Hub | None:
        """The app's :class:`~fastrapi.Hub`, if it has one: what parameters annotated ``Hub``
        get, and what the app starts (:meth:`running`).

        Assign another before the app starts, a test's memory Hub in place of the Redis one:
        ``app.hub = Hub()``. Every route gets it, those declared before too (they read it at
        each request).

        Raises:
            TypeError: on assignment, not a ``Hub``.
            RuntimeError: on assignment while the app runs (its lifespan started the Hub its
                routes use).
            ValueError: on assigning ``None`` to an app whose routes take a ``Hub`` or serve
                it (:meth:`hub_route`).
        """
        return self._hub

    @hub.setter
    def hub(self, hub: Hub | None) -> None:
        if hub is not None and not isinstance(hub, Hub):
            raise TypeError(f"app.hub is a fastrapi.Hub or None, not {hub!r}")
        if self._started and hub is not self._hub:
            raise RuntimeError(
                "app.hub cannot change while the app runs (it started its Hub): assign it "
                "before, in a test before the client opens or the server starts"
            )
        if hub is None:
            from .asyncapi.utils import _takes_hub

            taking = [r.path for r in self.routes if hasattr(r, "plan") and _takes_hub(r.plan)]
            taking += _hub_route_paths(self.routes)
            if taking:
                raise ValueError(f"app.hub cannot be None: route(s) {', '.join(taking)} take it")
        self._hub = hub

    def _current_hub(self) -> Hub | None:
        """What a parameter annotated ``Hub`` gets: :attr:`hub` (read at each call)."""
        if Hub in self.dependency_overrides:
            raise TypeError(
                "the Hub is not a dependency to override: swap it with app.hub = Hub(), "
                "before the app starts"
            )
        return self._hub

    # -- lifespan -----------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start the hub (:meth:`Hub.running`), run the startup hooks and enter ``lifespan``;
        on exit, the reverse.

        Servers use it around serving; tests may too. The middleware stack is built here.
        """
        self._build_stack()
        # the threads of the process that serves: a limiter inherited from the process that
        # made the app (a supervisor forks its workers) may count threads that are not here
        self.thread_limiter = trio.CapacityLimiter(self.thread_limiter.total_tokens)
        hub = self._current_hub()  # a wrong swap of the Hub fails here, not at a request
        unserved = _hub_route_paths(self.routes) if hub is None else []
        if unserved:  # given in routes=, which nothing checked before
            raise RouteDefinitionError(_hub_missing(unserved[0]))
        self.monitor.serving(hub)
        self._started = True
        try:
            async with hub.running() if hub is not None else nullcontext():
                for hook in self.on_startup:
                    await _call_hook(hook)
                try:
                    async with AsyncExitStack() as lifespans:
                        if self.lifespan is not None:
                            await lifespans.enter_async_context(self.lifespan(self))
                        for included in self.router.lifespans:  # the included routers' own
                            await lifespans.enter_async_context(included(self))
                        yield
                finally:
                    for hook in self.on_shutdown:
                        await _call_hook(hook)
        finally:
            self.monitor.stopped()
            self._started = False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        started = False
        try:
            async with self.running():
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
        except Exception as exc:
            phase = "shutdown" if started else "startup"
            logger.exception("application %s failed", phase)
            await send({"type": f"lifespan.{phase}.failed", "message": repr(exc)})
        else:
            await send({"type": "lifespan.shutdown.complete"})

    # -- serving ------------------------------------------------------------------------------

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        task_status: trio.TaskStatus[Address] = trio.TASK_STATUS_IGNORED,
        **options: Unpack[ServeOptions],
    ) -> Any:
        """Serve the app on ``host``:``port`` until shut down.

        Called from plain Python (``app.serve("0.0.0.0", 8000)``), it runs Trio itself and
        blocks until Ctrl-C or SIGTERM, then shuts down gracefully: it stops accepting, closes
        every WebSocket with 1001, gives handlers ``shutdown_timeout`` to finish, and returns.
        Inside Trio it returns the coroutine to await: ``trio.run(app.serve)``,
        ``await app.serve(...)``, or ``address = await nursery.start(app.serve, "127.0.0.1", 0)``
        which returns the bound :class:`~fastrapi.Address` (the real port when ``port`` is 0);
        cancel that nursery to stop the server.

        Args:
            host: The address to listen on (``"0.0.0.0"`` for every IPv4 interface, ``"::"``
                for IPv6 too).
            port: The port; 0 picks a free one.
            task_status: For ``nursery.start``.
            **options: :class:`~fastrapi.server.ServeOptions`: the server (``"native"`` or
                ``"hypercorn"``), the codec, TLS, limits and timeouts.

        With ``workers=N`` (from plain Python only) it serves with N processes on one port;
        see :doc:`/deployment`.

        Raises:
            ValueError: an unknown option (the message names the nearest), an option out of
                range, or not one the chosen server has.
            ListenError: inside Trio, ``host``:``port`` cannot be listened on. Outside Trio the
                error's one line is printed and the process exits with status 1.
            HubUnavailable: the app's Hub could not reach Redis at startup (see
                :class:`~fastrapi.hub.RedisBackend`'s ``startup_timeout``); outside Trio, as
                ``ListenError``.
        """
        from .server import check_options, configure_logging, serve

        check_options(options)
        if trio.lowlevel.in_trio_run():
            return serve(self, host, port, options, task_status=task_status)
        configure_logging()
        try:
            if options.get("workers", 1) > 1:
                from .server._workers import run_workers

                run_workers(self, host, port, options, options["workers"])
            else:
                trio.run(partial(serve, self, host, port, options, task_status=task_status))
        except (ListenError, HubUnavailable) as exc:  # HubUnavailable: Redis away at startup
            print(f"fastrapi: {exc}", file=sys.stderr)  # as the command's other mistakes
            raise SystemExit(1) from None
        return None


async def _call_hook(hook: Hook) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


NOT_TRIO: Final = (
    "fastrapi runs on Trio: serve it with its own server (app.serve(), or `fastrapi run "
    "module:app`) or Hypercorn's trio worker (`hypercorn --worker-class trio module:app`), "
    "not on an asyncio server such as uvicorn"
)


async def _refuse_non_trio(scope: Scope, receive: Receive, send: Send) -> None:
    """Say in one line that this server is the wrong one (no trio call: we are not on Trio)."""
    kind = scope["type"]
    if kind == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.failed", "message": NOT_TRIO})
        return
    logger.error("%s", NOT_TRIO)
    if kind == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1011, "reason": "server is not Trio"})
    elif kind == "http":
        body = NOT_TRIO.encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
