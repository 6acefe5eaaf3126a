"""A Sphinx extension: every line of every code block fits the width the theme shows on a
desktop, so that no example is cut off there; a longer line is a build warning (an error under
``-W``), with its page and line.

Furo's content column holds :data:`CODE_COLUMNS` characters of code from a 768 px wide window
up. Below that width (phones, narrow windows) code blocks wrap their long lines instead of
hiding them behind a scroll bar (``_static/code.css``). ``tests/browser/test_docs_width.py``
measures both in Chromium.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from docutils import nodes
from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

CODE_COLUMNS: Final = 90
"""The characters of code a line of Furo's content column shows on a desktop."""

logger = logging.getLogger(__name__)


def too_long(text: str, columns: int = CODE_COLUMNS) -> list[tuple[int, str]]:
    """The lines of ``text`` longer than ``columns`` characters, with their numbers (from 1)."""
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if len(line) > columns]


def check(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Warn about each code block line of ``docname`` that does not fit."""
    for block in doctree.findall(nodes.literal_block):
        for number, line in too_long(block.astext()):
            logger.warning(
                "line %d of a code block has %d characters, %d fit on a desktop: %s",
                number,
                len(line),
                CODE_COLUMNS,
                line.strip(),
                location=block,
                type="code_width",
            )


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("doctree-resolved", check)
    app.add_css_file("code.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
