"""Chinese line breaking for every widget: Textual's (and Rich's) wrapping, given the rules
of :mod:`kiosk.widgets.linebreak`.

Textual wraps every text it draws (a ``Static``, a ``Label``, a button's label, a
message box) in ``Content._wrap_and_format``, which asks ``rich._wrap.divide_line``
where to break; Rich's own ``Text.wrap`` asks the same function. That function breaks
only at spaces and folds a Chinese sentence at any character. :func:`install` points
both modules' name at :func:`~kiosk.widgets.linebreak.break_offsets`, which has the same
contract and leaves text without Chinese to Rich's rule, so English lines break exactly
as before. The apps install it as they start; ``tests/test_linebreak.py`` checks that
Textual still wraps through that name (a Textual upgrade that changed it would fail
there, not silently on a child's screen).
"""

from __future__ import annotations

import rich.text
import textual.content

from kiosk.widgets.linebreak import break_offsets


def install() -> None:
    """Make Textual and Rich break lines by the rules of Chinese typesetting."""
    textual.content.divide_line = break_offsets  # type: ignore[attr-defined]
    rich.text.divide_line = break_offsets  # type: ignore[attr-defined]


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return textual.content.divide_line is break_offsets  # type: ignore[attr-defined]
