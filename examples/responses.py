"""Responses as FastAPI has them: cookies, a redirect, a file download with ranges, and a
response that runs a task once it is sent.

    python examples/responses.py
    curl -i localhost:8000/login
    curl -i localhost:8000/report -H 'Range: bytes=0-9'
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastrapi import BackgroundTasks, FastrAPI, status
from fastrapi.responses import FileResponse, RedirectResponse, Response

app = FastrAPI()
REPORT = Path(tempfile.gettempdir()) / "fastrapi-example-report.csv"
REPORT.write_text("day,visits\nmon,10\ntue,12\n")
audit: list[str] = []


@app.get("/login")
async def login() -> Response:
    """Two cookies on one response: ``set-cookie`` repeats."""
    response = Response("welcome", media_type="text/plain")
    response.set_cookie("session", "abc123", httponly=True, max_age=3600)
    response.set_cookie("theme", "dark")
    return response


@app.get("/logout")
async def logout() -> RedirectResponse:
    """Forget the session and go home."""
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie("session")
    return response


@app.get("/report")
async def report(tasks: BackgroundTasks) -> FileResponse:
    """The report as a download (ranges, ETag and 304 included); noted once it is sent."""
    tasks.add_task(audit.append, "report downloaded")
    return FileResponse(REPORT, filename="visits.csv", media_type="text/csv")


if __name__ == "__main__":
    app.serve()
