"""The big message that answers each scan: green for done, red for a refusal.

Each message also asks for its sound (:class:`Verdict.Said`, handled by the app):
``done`` for a message of kind ``ok``, ``refused`` for a refusal, ``librarian`` for a
refusal that sends the child to the librarian (:data:`SEE_LIBRARIAN`) or a message
that does (a book for the desk); notes and hints make no sound.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.widgets import Static

from kiosk.data.core.errors import KioskError
from kiosk.locale import t

KINDS = ("ok", "refused", "info", "warn")

SOUND_OF_KIND = {"ok": "done", "refused": "refused"}
"""The sound a message of each kind makes (unless it says otherwise)."""

SEE_LIBRARIAN = frozenset({
    "card.damaged", "card.forged", "card.unknown", "card.expired", "card.inactive",
    "card.blocked", "copy.unknown", "copy.on_loan_other", "copy.not_lendable",
    "patron.unknown", "patron.no_rule", "storage.failed", "error.unexpected",
})
"""The refusals whose words send the child to the librarian: they sound the
``librarian`` chime, not the ``refused`` notes (a test checks the words agree)."""


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

    @dataclass
    class Said(Message):
        """A message was shown that wants ``sound`` played (posted to the app, which
        plays it)."""

        verdict: Verdict
        sound: str

        @property
        def control(self) -> Verdict:
            """The message box."""
            return self.verdict

    def say(self, text: str, kind: str = "info", sound: str | None = None) -> None:
        """Show ``text`` as a message of ``kind`` (ok, refused, info or warn), with
        ``sound`` (``done``, ``refused``, ``librarian``; by default the kind's)."""
        for name in KINDS:
            self.remove_class(f"-{name}")
        self.kind = kind
        self.text = text
        self.count += 1
        self.add_class("-shown", f"-{kind}")
        self.update(text)
        sound = sound or SOUND_OF_KIND.get(kind)
        if sound and self.is_attached:
            # straight to the app, which plays it: a message bubbling up from here
            # would stop below the screen that called (Textual stops a message at
            # the widget whose parent sent it)
            self.app.post_message(self.Said(self, sound))

    def refuse(self, error: KioskError) -> None:
        """Show why something was refused, with the error's heading."""
        sound = "librarian" if error.key in SEE_LIBRARIAN else "refused"
        self.say(f"{t(error.title_key)}\n{t(error.key, **error.params)}", "refused", sound)

    def clear(self) -> None:
        """Hide the message."""
        self.kind = ""
        self.text = ""
        self.remove_class("-shown")
        self.update("")
