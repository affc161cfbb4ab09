"""One error hierarchy for everything a user can meet.

Every error carries a translation key (``kiosk/locale/*.toml``) and the values the
message needs, so the screens can say it in the kiosk's language, and a ``title``
key for the heading of the message. The data layer never formats user text itself.
"""

from __future__ import annotations

from typing import Any


class KioskError(Exception):
    """An error with a message a patron or the librarian can read.

    Attributes:
        key: the translation key of the message, for example ``card.revoked``.
        params: the values the message refers to.
    """

    title_key = "error.title"

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, {self.params!r})"


class Refused(KioskError):
    """The rules say no: the refusal is recorded in the journal and explained."""

    title_key = "refusal.title"


class CardRefused(Refused):
    """A card that cannot be used: forged, revoked, unknown, expired or blocked."""


class NotFound(KioskError):
    """A code that names no patron or copy this library knows."""

    title_key = "refusal.title"


class AlreadyBorrowed(KioskError):
    """The patron scanned a copy they already have: offer to return or renew it."""

    def __init__(self, loan: Any) -> None:
        super().__init__("copy.already_yours", title=loan.title)
        self.loan = loan


class StorageError(KioskError):
    """The database is locked, full or gone; nothing was recorded."""

    title_key = "storage.title"
