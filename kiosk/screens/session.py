"""What one person's session at the kiosk did, for the receipt (not a class visit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class ReceiptLine:
    """One thing done: ``borrowed``, ``returned`` or ``renewed``, with its title."""

    action: str
    title: str
    due_on: date | None = None


@dataclass
class Session:
    """The patron (if any) and everything done since the card was shown."""

    name: str = ""
    lines: list[ReceiptLine] = field(default_factory=list)

    def add(self, action: str, title: str, due_on: date | None = None) -> None:
        """Note one thing done."""
        self.lines.append(ReceiptLine(action, title, due_on))
