"""ASGI middleware, a mounted sub-application and sessions, as a FastAPI app has them.

Run it, then open http://localhost:8000/visits (a count kept in a signed session cookie)
or http://localhost:8000/admin/status (a separate app mounted under /admin).
"""

from __future__ import annotations

from fastrapi import FastrAPI, Request, WebSocket
from fastrapi.middleware import Middleware
from fastrapi.middleware.cors import CORSMiddleware
from fastrapi.middleware.gzip import GZipMiddleware
from fastrapi.middleware.sessions import SessionMiddleware
from fastrapi.middleware.trustedhost import TrustedHostMiddleware

app = FastrAPI(
    middleware=[
        Middleware(
            TrustedHostMiddleware,
            allowed_hosts=["localhost", "127.0.0.1", "testserver"],
        )
    ]
)
app.add_middleware(GZipMiddleware, minimum_size=1000)
app.add_middleware(
    CORSMiddleware, allow_origins=["https://app.example"], allow_credentials=True
)
app.add_middleware(SessionMiddleware, secret_key="change me: a long random secret")


@app.get("/visits")
async def visits(request: Request) -> dict[str, int]:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"visits": request.session["visits"]}


@app.get("/report")
async def report() -> dict[str, list[int]]:
    return {"numbers": list(range(1000))}  # big: sent gzipped to clients that accept it


@app.websocket("/ws")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


admin = FastrAPI()


@admin.get("/status")
async def status(request: Request) -> dict[str, str]:
    return {"status": "ok", "mounted_at": request.scope["root_path"]}


@admin.websocket("/events")
async def events(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json({"event": "hello from the admin app"})
    await ws.close()


app.mount("/admin", admin)


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
