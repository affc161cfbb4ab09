"""A patron's current loans, with overdue ones in colour."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from kiosk.data.lending.circulation import LoanView
from kiosk.locale import format_date, t


class LoanTable(DataTable[Text], can_focus=False):
    """Title, due date and status of each loan; overdue rows stand out in red.

    It never takes the focus, which stays in the scan field.
    """

    DEFAULT_CSS = """
    LoanTable { height: auto; max-height: 12; margin: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.add_column(t("col.title"), key="title")
        self.add_column(t("col.due"), key="due")
        self.add_column(t("col.status"), key="status")

    def show(self, loans: tuple[LoanView, ...]) -> None:
        """Replace the rows with ``loans``."""
        self.clear()
        for loan in loans:
            style = "bold white on dark_red" if loan.overdue else ""
            status = t("loan.overdue", days=loan.days_overdue) if loan.overdue else t("loan.on_time")
            self.add_row(
                Text(loan.title, style=style),
                Text(format_date(loan.due_on), style=style),
                Text(status, style=style),
                key=loan.loan_id,
            )
