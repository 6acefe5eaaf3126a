"""An upload form, FastAPI's way: text fields with ``Form()``, files as ``UploadFile``,
a form model with ``extra="forbid"``, and a page that posts to them.

    python examples/upload_form.py   # then open http://127.0.0.1:8000/
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import pydantic

from fastrapi import FastrAPI, File, Form, HTMLResponse, UploadFile

app = FastrAPI(max_body_size=16 * 2**20)  # uploads up to 16 MiB; larger ones get 413

PAGE = """<!doctype html>
<form action="/upload" enctype="multipart/form-data" method="post">
  <input name="title" required> <input name="files" type="file" multiple>
  <input type="submit">
</form>
<form action="/login" method="post">
  <input name="username"> <input name="password" type="password"> <input type="submit">
</form>
"""


@app.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.post("/upload")
async def upload(
    title: Annotated[str, Form(max_length=100)],
    files: Annotated[list[UploadFile], File(description="one or more files")],
) -> dict[str, object]:
    received = []
    for file in files:  # each is spooled to disk past 1 MiB; read it in pieces
        digest = hashlib.sha256()
        while chunk := await file.read(64 * 1024):
            digest.update(chunk)
        received.append(
            {"name": file.filename, "size": file.size, "sha256": digest.hexdigest()}
        )
    return {"title": title, "files": received}


@app.post("/checksum")
async def checksum(data: Annotated[bytes, File()]) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest()}  # a small file, whole, as bytes


class Login(pydantic.BaseModel):
    model_config = {"extra": "forbid"}  # an unknown field is a 422

    username: str
    password: str


@app.post("/login")
async def login(form: Annotated[Login, Form()]) -> dict[str, str]:
    return {"welcome": form.username}


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
