"""A patron's current loans, with overdue ones in colour."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable

from kiosk.data.lending.circulation import LoanView
from kiosk.locale import format_date, t
from kiosk.widgets.row_table import fit

MIN_TITLE = 8
"""The narrowest a title is cut to (with an ellipsis) so the due date and status fit."""


class LoanTable(DataTable[Text], can_focus=False):
    """Title, due date and status of each loan; overdue rows stand out in red.

    The due date and the status are always shown whole; the title takes the width that
    is left and is cut with an ellipsis when it must (at 80x24, beside the camera).
    It never takes the focus, which stays in the scan field.
    """

    DEFAULT_CSS = """
    LoanTable { height: auto; max-height: 12; margin: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.loans: tuple[LoanView, ...] = ()
        self._drawn_for = -1

    def show(self, loans: tuple[LoanView, ...]) -> None:
        """Replace the rows with ``loans``."""
        self.loans = loans
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._drawn_for:
            self._draw()

    def _draw(self) -> None:
        headings = (t("col.title"), t("col.due"), t("col.status"))
        rows = [
            (
                loan.title,
                format_date(loan.due_on),
                t("loan.overdue", days=loan.days_overdue) if loan.overdue else t("loan.on_time"),
                "bold white on dark_red" if loan.overdue else "",
            )
            for loan in self.loans
        ]
        due = max([cell_len(headings[1]), *(cell_len(row[1]) for row in rows)])
        status = max([cell_len(headings[2]), *(cell_len(row[2]) for row in rows)])
        longest = max([cell_len(headings[0]), *(cell_len(row[0]) for row in rows)])
        padding = 2 * self.cell_padding * len(headings)
        room = self.size.width - self.styles.scrollbar_size_vertical
        left = room - due - status - padding
        title = longest if room <= 0 else max(MIN_TITLE, min(longest, left))
        self._drawn_for = self.size.width
        self.clear(columns=True)
        self.add_column(headings[0], width=title, key="title")
        self.add_column(headings[1], width=due, key="due")
        self.add_column(headings[2], width=status, key="status")
        for loan, (name, day, state, style) in zip(self.loans, rows, strict=True):
            self.add_row(
                Text(fit(name, title).rstrip() if cell_len(name) > title else name, style=style),
                Text(day, style=style),
                Text(state, style=style),
                key=loan.loan_id,
            )
