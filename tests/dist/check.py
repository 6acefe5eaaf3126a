"""Check a built sdist and wheel against the checkout: ``nox -s dist`` runs it in a venv where
the wheel is installed, from outside the checkout (so ``import fastrapi`` is the wheel's).

    python tests/dist/check.py CHECKOUT WHEEL SDIST

It checks that the distribution is named as the docs' install line names it, that every file of
the package in the checkout (modules, ``py.typed``, the files the app serves itself, such as the
browser's Hub client) is in the wheel, in the sdist and installed, that the installed package is
the one imported, and that an app made with it serves its pages and the files it serves itself
(the API viewers' of the ``docs-ui`` extra, the Hub's browser client). Prints one line per problem
and exits 1 if there is one.
"""

from __future__ import annotations

import email.parser
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

PACKAGE = "fastrapi"


def package_files(checkout: Path) -> set[str]:
    """The package's files in the checkout, as paths relative to it (``fastrapi/py.typed``),
    without compiled bytecode."""
    return {
        path.relative_to(checkout).as_posix()
        for path in (checkout / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def sdist_files(names: list[str]) -> set[str]:
    """The sdist's member names without their top folder (``fastrapi_trio-0.1.0/``)."""
    return {PurePosixPath(*PurePosixPath(name).parts[1:]).as_posix() for name in names}


def wheel_name(wheel: zipfile.ZipFile) -> str:
    """The distribution's name in the wheel's metadata."""
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return str(email.parser.HeaderParser().parsestr(wheel.read(metadata).decode())["Name"])


def problems(checkout: Path, wheel_path: Path, sdist_path: Path) -> list[str]:
    """What is wrong with the distributions built from ``checkout`` (empty: nothing)."""
    found: list[str] = []
    expected = package_files(checkout)
    if not expected:
        return [f"no package files under {checkout / PACKAGE}"]
    name = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]["name"]
    with zipfile.ZipFile(wheel_path) as wheel:
        if wheel_name(wheel) != name:
            found.append(f"the wheel is {wheel_name(wheel)!r}, pyproject names {name!r}")
        in_wheel = set(wheel.namelist())
    with tarfile.open(sdist_path) as sdist:
        in_sdist = sdist_files(sdist.getnames())
    for path in sorted(expected - in_wheel):
        found.append(f"{path}: not in the wheel")
    for path in sorted(({"pyproject.toml", "README.md"} | expected) - in_sdist):
        found.append(f"{path}: not in the sdist")
    return found


def installed_problems(checkout: Path) -> list[str]:
    """What is wrong with the installed package: imported from the checkout, or missing a
    file of the checkout's package, or an app that cannot serve its pages."""
    import trio

    import fastrapi
    from fastrapi.testing import http_request

    here = Path(fastrapi.__file__).resolve().parent
    if here == (checkout / PACKAGE).resolve():
        return [f"imported the checkout's package ({here}), not the installed one"]
    found = [
        f"{path}: not installed"
        for path in sorted(package_files(checkout))
        if not (here.parent / path).is_file()
    ]
    from fastrapi.openapi.docs import _FILES, ASSETS_PATH

    app = fastrapi.FastrAPI(hub=fastrapi.Hub())
    app.hub_route("/hub")

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    # its pages, and the viewers' files it serves itself (the docs-ui extra is installed)
    expected = {path: b"" for path in ("/hello", "/docs", "/redoc", "/openapi.json", "/asyncapi")}
    expected.update({f"{ASSETS_PATH}/{name}": b"" for name in _FILES})
    hub_client = checkout / PACKAGE / "static" / "hub.js"
    if hub_client.is_file():  # the browser's Hub client, served by an app with a hub route
        expected["/_fastrapi/hub.js"] = hub_client.read_bytes()

    async def served() -> list[str]:
        wrong = []
        for path, body in expected.items():
            response = await http_request(app, "GET", path)
            if response.status_code != 200 or (body and response.body != body):
                wrong.append(f"GET {path}: {response.status_code}, not 200 with its file")
        return wrong

    return found + trio.run(served)


def main(argv: list[str]) -> int:
    checkout, wheel, sdist = (Path(arg) for arg in argv)
    found = problems(checkout, wheel, sdist) + installed_problems(checkout)
    for problem in found:
        print(f"dist: {problem}")
    if not found:
        print(f"dist: {wheel.name} and {sdist.name} hold every file of the package")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
