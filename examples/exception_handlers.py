"""Exception handlers, as FastAPI's "Handling Errors" has them, on HTTP and WebSocket
routes.

``UnicornError`` is answered by one handler on both kinds of route: an HTTP route gets
its 418, a WebSocket handshake is refused with it, and an accepted WebSocket is closed
with 4418. A yield dependency turns the handler's ``OwnerError`` into a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastrapi import (
    Depends,
    FastrAPI,
    HTTPException,
    Request,
    WebSocket,
    WebSocketState,
)
from fastrapi.exception_handlers import http_exception_handler
from fastrapi.responses import JSONResponse, Response

if TYPE_CHECKING:
    from collections.abc import Iterator

app = FastrAPI()


class UnicornError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@app.exception_handler(UnicornError)
async def unicorn_handler(
    connection: Request | WebSocket, exc: UnicornError
) -> Response | None:
    if (
        isinstance(connection, WebSocket)
        and connection.application_state is WebSocketState.CONNECTED
    ):
        await connection.close(4418, f"{exc.name} did something")  # accepted: close
        return None
    return JSONResponse(
        {"message": f"Oops! {exc.name} did something."}, status_code=418
    )


@app.exception_handler(404)
async def not_found(request: Request, exc: HTTPException) -> Response:
    print(f"404 for {request.url}: {exc.detail}")
    return await http_exception_handler(request, exc)  # then FastAPI's default answer


@app.get("/unicorns/{name}")
async def read_unicorn(name: str) -> dict[str, str]:
    if name == "yolo":
        raise UnicornError(name)
    return {"unicorn_name": name}


@app.websocket("/unicorns/{name}/ws")
async def unicorn_feed(
    websocket: WebSocket, name: str, accept_first: bool = False
) -> None:
    if accept_first:
        await websocket.accept()
        await websocket.send_text(f"hello {name}")
    if name == "yolo":
        raise UnicornError(name)
    await websocket.accept()
    await websocket.send_text(f"hello {name}")


class OwnerError(Exception):
    pass


def get_username() -> Iterator[str]:
    try:
        yield "Rick"
    except OwnerError as exc:
        raise HTTPException(status_code=400, detail=f"Owner error: {exc}") from None


@app.get("/items/{owner}")
def get_item(
    owner: str, username: Annotated[str, Depends(get_username)]
) -> dict[str, str]:
    if owner != username:
        raise OwnerError(username)
    return {"owner": owner}


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
