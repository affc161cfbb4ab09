"""What the kiosk's screens use of the app that shows them: a small protocol.

The screens are typed against :class:`KioskHost`, not against the app class itself
(:class:`kiosk.app.KioskApp` is one host, a test's app may be another), so no screen
imports the app and the app can import every screen without a circle. Everything else
a screen needs of Textual's App it takes from ``self.app`` as any Textual screen does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from textual.screen import Screen

    from kiosk.bridges.camera import CameraLink
    from kiosk.bridges.scans import ScanLink
    from kiosk.bridges.sync import SyncLink
    from kiosk.config import Config
    from kiosk.data.core.errors import KioskError
    from kiosk.data.lending.circulation import Circulation, PatronView
    from kiosk.screens.session import Session

T = TypeVar("T")


class StartScreen(Protocol):
    """The attract screen, as the other screens use it."""

    def refuse_on_return(self, error: KioskError) -> None:
        """Say ``error`` when the start screen shows again (a card refused on the way)."""
        ...

    def post_message(self, message: Any) -> bool:
        """Hand the start screen a message (a scan meant for it)."""
        ...


class KioskHost(Protocol):
    """The kiosk app, as its screens see it."""

    circulation: Circulation
    """The lending service (its store is the kiosk's database)."""
    config: Config
    library_name: str
    returns_only: bool
    """The end-of-term switch: only returns are taken."""
    camera: CameraLink
    sync: SyncLink
    scans: ScanLink
    attract: StartScreen
    """The start screen, always at the bottom of the stack."""

    async def run_db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call on the kiosk's database thread."""
        ...

    def touch(self) -> None:
        """Someone is using the kiosk: restart the idle timeout."""
        ...

    def reset_to_attract(self) -> None:
        """Back to the start, forgetting the visitor."""
        ...

    def open_patron(
        self, patron: PatronView, *, replace: bool = False, session: Session | None = None
    ) -> None:
        """Show the page a scanned card opens (the patron's, a teacher's, helper mode...)."""
        ...

    def open_returns(self, first_code: str | None = None) -> None:
        """Start returning books without a card."""
        ...

    def show_receipt(self, session: Session) -> None:
        """End a visit with its receipt."""
        ...

    def open_class_visit(self, teacher: PatronView, session: Session) -> None:
        """A teacher's "Class visit": pick the class."""
        ...

    def show(self, screen: Screen[Any], *, replace: bool) -> None:
        """Show ``screen`` in place of the current one, or over the start screen."""
        ...

    # Textual's own, used by the functions that route cards and end visits.
    @property
    def screen_stack(self) -> Iterable[Screen[Any]]: ...

    def run_worker(self, work: Awaitable[Any], **kwargs: Any) -> Any: ...

    def set_interval(self, interval: float, callback: Callable[[], Any]) -> Any: ...
