"""Developer tasks: ``nox`` runs lint, typecheck, tests, docs and dist; ``nox -s bench``
benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "docs", "dist"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"
FULLY_COVERED = [  # every branch taken: the protocol engine, the session, the Hub
    "fastrapi/server/_codec.py",
    "fastrapi/server/_handshake.py",
    "fastrapi/_pump.py",
    "fastrapi/_state.py",
    "fastrapi/hub/__init__.py",
    "fastrapi/hub/_backend.py",
    "fastrapi/hub/_browser.py",
    "fastrapi/hub/_hub.py",
    "fastrapi/hub/_members.py",
    "fastrapi/hub/_memory.py",
    "fastrapi/hub/_messages.py",
    "fastrapi/hub/_protocol.py",
    "fastrapi/hub/_redis.py",
    "fastrapi/hub/_wire.py",
]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit, in-memory, loopback, Redis and browser tests, with branch coverage."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("bash", "tests/browser/install.sh", external=True)
    session.run("bash", "tests/redis/install.sh", external=True)
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")
    # FULLY_COVERED at 100% (the rest: fail_under in pyproject.toml)
    session.run("coverage", "report", f"--include={','.join(FULLY_COVERED)}", "--fail-under=100")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: formatting and lint rules."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, tests, examples and benchmarks."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx docs with warnings as errors (with the extras whose modules the API
    page documents)."""
    extras = ".[testclient,sessions,templates]"
    session.install("-e", extras, *nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session(python=PYTHON)
def dist(session: nox.Session) -> None:
    """Build the sdist, and the wheel from it (``python -m build``); install the wheel here
    (not the checkout), import it from outside the checkout, and check that every file of the
    package is in both and installed, and that an app made with it serves its pages and its
    files (the viewers' of the docs-ui extra, the Hub's browser client), and its command
    runs."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "dist"))
    checkout = Path.cwd()
    out = Path(session.create_tmp()).resolve() / "dist"
    shutil.rmtree(out, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(out), ".")
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    session.run(
        "python", "-m", "pip", "uninstall", "--yes", "--quiet", PYPROJECT["project"]["name"]
    )
    session.install(f"{wheel}[docs-ui]")
    session.chdir(out)
    session.run(
        "python", str(checkout / "tests/dist/check.py"), str(checkout), str(wheel), str(sdist)
    )
    session.run("fastrapi", "run", "--help", silent=True)  # the wheel's command is installed


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Echo, JSON, 64 KiB, handshakes, idle memory and fan-out against the peers, the Hub
    across two processes on Redis, then the HTTP routes under wrk (not a default; ``nox -s
    bench -- --quick``, ``--servers``, ``--workloads``; ``-- --http [ARGS]`` for the HTTP run
    alone, ``-- --idle [ARGS]`` for 100,000 idle WebSockets: see benchmarks/README.md)."""
    session.install("-e", ".[redis]", *nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("bash", "tests/redis/install.sh", external=True)
    session.run("bash", "benchmarks/install_wrk.sh", external=True)
    if session.posargs[:1] == ["--http"]:
        session.run("python", "benchmarks/http_run.py", *session.posargs[1:])
        return
    if session.posargs[:1] == ["--idle"]:  # many idle WebSockets on one process: opt-in
        session.run("python", "benchmarks/idle_many.py", *session.posargs[1:])
        return
    session.run("python", "benchmarks/run.py", *session.posargs)
    if not session.posargs:
        session.run("python", "benchmarks/http_run.py")
