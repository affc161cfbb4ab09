"""The big message that answers each scan: green for done, red for a refusal."""

from __future__ import annotations

from textual.widgets import Static

from kiosk.data.core.errors import KioskError
from kiosk.locale import t

KINDS = ("ok", "refused", "info", "warn")


class Verdict(Static):
    """A large, high-contrast message box; shows plain text, never markup.

    Scanned codes and imported titles reach this box, so it never interprets
    ``[markup]``; control characters were already made visible by the service.
    """

    DEFAULT_CSS = """
    Verdict {
        width: 1fr; height: auto; min-height: 3; padding: 1 2; margin: 0 1;
        text-style: bold; content-align: center middle; text-align: center;
        display: none;
    }
    Verdict.-shown { display: block; }
    Verdict.-ok { background: $success-darken-2; color: $text; }
    Verdict.-refused { background: $error-darken-2; color: $text; }
    Verdict.-warn { background: $warning-darken-3; color: $text; }
    Verdict.-info { background: $primary-darken-2; color: $text; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.kind = ""
        self.text = ""
        """The message shown ('' when hidden)."""
        self.count = 0
        """How many messages were shown (lets tests and benchmarks see a new one)."""

    def say(self, text: str, kind: str = "info") -> None:
        """Show ``text`` as a message of ``kind`` (ok, refused, info or warn)."""
        for name in KINDS:
            self.remove_class(f"-{name}")
        self.kind = kind
        self.text = text
        self.count += 1
        self.add_class("-shown", f"-{kind}")
        self.update(text)

    def refuse(self, error: KioskError) -> None:
        """Show why something was refused, with the error's heading."""
        self.say(f"{t(error.title_key)}\n{t(error.key, **error.params)}", "refused")

    def clear(self) -> None:
        """Hide the message."""
        self.kind = ""
        self.text = ""
        self.remove_class("-shown")
        self.update("")
