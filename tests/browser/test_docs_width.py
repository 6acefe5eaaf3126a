"""The docs' code blocks in headless Chromium: on a desktop every line shows whole, and the
width it has is the one the build checks lines against (docs/code_width.py); on a phone long
lines wrap instead of being cut off.

The docs are built here from two real pages (the quickstart and the testing page, with their
included examples and tests) and one page of lines exactly as long as fit and a little longer,
with the real configuration and theme: the whole site takes too long for a test, and the build
checks every line of every page against the width measured here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

import pytest
import trio

from .conftest import HERE

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = HERE.parents[1]
DOCS = ROOT / "docs"
DESKTOP = (1280, 800)
PHONE = (390, 844)
SIZES = [f"{width}x{height}" for width, height in (DESKTOP, PHONE)]


def code_columns() -> int:
    spec = importlib.util.spec_from_file_location("code_width", DOCS / "code_width.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    columns = module.CODE_COLUMNS
    assert isinstance(columns, int)
    return columns


COLUMNS = code_columns()
FITS = "x = " + '"' + "f" * (COLUMNS - 6) + '"'  # exactly COLUMNS characters
TOO_LONG = "x = " + '"' + "g" * (COLUMNS - 1) + '"'  # five more


def source(tmp_path: Path) -> Path:
    """A docs source folder with the two real pages (where their includes resolve) and the
    page of measured lines."""
    src = tmp_path / "src"
    (src / "pages").mkdir(parents=True)
    for name in ("examples", "tests"):
        (src / name).symlink_to(ROOT / name)
    for page in ("quickstart", "testing"):
        shutil.copy(DOCS / f"{page}.rst", src / "pages" / f"{page}.rst")
    (src / "widths.rst").write_text(
        "Widths\n======\n\n.. code-block:: python\n\n"
        f"    {FITS}\n\n.. code-block:: python\n\n    {TOO_LONG}\n"
    )
    (src / "index.rst").write_text(
        "Index\n=====\n\n.. toctree::\n\n   pages/quickstart\n   pages/testing\n   widths\n"
    )
    return src


async def measure(pages: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Each page's code blocks measured at the desktop's size and the phone's."""
    done = await trio.run_process(
        ["node", str(HERE / "docs_width.mjs"), ",".join(SIZES), *(page.as_uri() for page in pages)],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    measured: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return measured


@pytest.mark.usefixtures("browser_ready")
async def test_code_fits_a_desktop_and_wraps_on_a_phone(tmp_path: Path) -> None:
    out = tmp_path / "html"
    with trio.fail_after(120):
        build = await trio.run_process(
            [
                *(sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", str(DOCS)),
                *("-D", "exclude_patterns=_build,examples,tests", str(source(tmp_path)), str(out)),
            ],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        pages = [out / "pages" / "quickstart.html", out / "pages" / "testing.html"]
        widths = out / "widths.html"
        measured = await measure([*pages, widths])
    desktop, phone = (measured[size] for size in SIZES)
    warnings = build.stderr.decode()
    assert build.returncode == 0, warnings
    # the build's check flags the long line, and only it
    assert f"has {COLUMNS + 5} characters, {COLUMNS} fit on a desktop" in warnings
    assert warnings.count("[code_width]") == 1, warnings
    quickstart, testing, lines = desktop
    assert quickstart["blocks"] >= 4
    assert testing["blocks"] >= 8
    # on a desktop the theme's code column is as wide as the build's check says
    assert {page["columns"] for page in desktop} == {COLUMNS}
    assert quickstart["overflowing"] == testing["overflowing"] == []
    assert [block["line"] for block in lines["overflowing"]] == [TOO_LONG]
    # on a phone fewer characters fit, and every long line wraps
    assert all(page["columns"] < 50 for page in phone)
    assert [page["overflowing"] for page in phone] == [[], [], []]
