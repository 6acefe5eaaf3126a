"""fastrapi: a Trio-native, WebSocket-first web framework with the FastrAPI API."""

from __future__ import annotations

from . import status as status
from ._connection import HTTPConnection as HTTPConnection
from ._monitor import AppStatistics as AppStatistics
from .app import FastrAPI as FastrAPI
from .app import WebSocketOptions as WebSocketOptions
from .background import BackgroundTasks as BackgroundTasks
from .datastructures import Address as Address
from .datastructures import UploadFile as UploadFile
from .exceptions import FastrapiError as FastrapiError
from .exceptions import HistoryGap as HistoryGap
from .exceptions import HTTPException as HTTPException
from .exceptions import HubUnavailable as HubUnavailable
from .exceptions import ListenError as ListenError
from .exceptions import MessageDecodeError as MessageDecodeError
from .exceptions import MessageTypeError as MessageTypeError
from .exceptions import RequestValidationError as RequestValidationError
from .exceptions import ResponseValidationError as ResponseValidationError
from .exceptions import RouteDefinitionError as RouteDefinitionError
from .exceptions import SlowConsumerError as SlowConsumerError
from .exceptions import WebSocketDisconnect as WebSocketDisconnect
from .exceptions import WebSocketException as WebSocketException
from .exceptions import WebSocketRequestValidationError as WebSocketRequestValidationError
from .exceptions import WebSocketStateError as WebSocketStateError
from .hub import Hub as Hub
from .params import Body as Body
from .params import Cookie as Cookie
from .params import Depends as Depends
from .params import File as File
from .params import Form as Form
from .params import Header as Header
from .params import Path as Path
from .params import Query as Query
from .params import Security as Security
from .requests import Request as Request
from .responses import HTMLResponse as HTMLResponse
from .responses import JSONResponse as JSONResponse
from .responses import PlainTextResponse as PlainTextResponse
from .responses import Response as Response
from .routing import APIRouter as APIRouter
from .security import SecurityScopes as SecurityScopes
from .websocket import CloseCode as CloseCode
from .websocket import WebSocket as WebSocket
from .websocket import WebSocketState as WebSocketState

__version__ = "0.1.0"

__all__ = [
    "APIRouter",
    "Address",
    "AppStatistics",
    "BackgroundTasks",
    "Body",
    "CloseCode",
    "Cookie",
    "Depends",
    "FastrAPI",
    "FastrapiError",
    "File",
    "Form",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Header",
    "HistoryGap",
    "Hub",
    "HubUnavailable",
    "JSONResponse",
    "ListenError",
    "MessageDecodeError",
    "MessageTypeError",
    "Path",
    "PlainTextResponse",
    "Query",
    "Request",
    "RequestValidationError",
    "Response",
    "ResponseValidationError",
    "RouteDefinitionError",
    "Security",
    "SecurityScopes",
    "SlowConsumerError",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketOptions",
    "WebSocketRequestValidationError",
    "WebSocketState",
    "WebSocketStateError",
    "status",
]
