"""What the desk answers to each SIP2 request: one terminal's conversation.

A :class:`Session` is one connection: it reads a request (:mod:`kiosk.sip2.protocol`),
asks the library (:mod:`kiosk.sip2.adapter`) and writes the answer, in the terminal's
encoding, with screen messages (``AF``) in the patron's language. Like a kiosk, it opens
a patron's "page" when their card is read (a refused card is recorded) and keeps it for
the loans that follow with the same card, until the terminal ends the session, reads
another card, or is quiet for :data:`PAGE_SECONDS`.

Nothing but a login (``93``) and the status exchange (``99``) is answered before the
terminal has logged in; the server closes a connection that tries anything else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from kiosk.locale import LANGUAGES, format_date, translate
from kiosk.sip2 import protocol as sip
from kiosk.sip2.adapter import (
    AlreadyYours,
    Item,
    Library,
    PatronPage,
    Refusal,
    Returned,
    Terminal,
)
from kiosk.sip2.protocol import Request, Response, flags, number, sip_date, sip_day, yes

log = logging.getLogger(__name__)

PAGE_SECONDS = 120.0
"""A patron's page stays open this long after the terminal last named them."""

MAX_LIST = 50
"""Items listed in a patron information answer when the terminal gives no range."""

BAD_IN_A_ROW = 5
"""Unreadable requests in a row after which the connection is closed."""

LOGIN_ATTEMPTS = 3
"""Refused logins on one connection after which it is closed."""

FROM_SIP: dict[str, str] = {"001": "en", "024": "en", "019": "zh_CN", "027": "zh_CN"}
"""SIP2 language codes the catalogues speak (English, UK English, Chinese, Taiwanese)."""
TO_SIP: dict[str, str] = {"en": "001", "zh_CN": "019"}

IMPLEMENTED = frozenset({"23", "11", "09", "99", "97", "93", "63", "35", "17", "15", "29", "65"})
"""The requests this server supports (the ACS status's ``BX`` says Y for these)."""

MEDIA = {"periodical": "002"}
"""SIP2 media types by item kind (``001``, book, for every other)."""

CIRCULATION_STATUS = {
    "available": "03", "on_loan": "04", "hold_shelf": "08", "repair": "06", "lost": "12",
    "withdrawn": "01",
}
"""Item information's circulation status by copy status."""


@dataclass
class Page:
    """The patron whose card the terminal read last."""

    identifier: str
    number: str
    card: int | None
    language: str
    seen: float


class Session:
    """One terminal's connection: its login, its patron's page, its last answer.

    Args:
        library: the desk's library (:class:`~kiosk.sip2.adapter.Library`).
        language: the screen messages' language when neither the terminal's settings
            nor the request say one.
        peer: the terminal's address, for the log.
        monotonic: the clock the page's age is measured by.
    """

    def __init__(
        self, library: Library, *, language: str = LANGUAGES[0], peer: str = "",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.library = library
        self.default_language = language
        self.peer = peer
        self.monotonic = monotonic
        self.terminal: Terminal | None = None
        self.encoding = "utf-8"
        self.language = language
        self.page: Page | None = None
        self.patron_language: str | None = None
        """The language the last patron status or information request asked for (the
        patron at the machine now, even when their card was refused)."""
        self.closing = False
        """Set when the connection must be closed after the answer (if any) is sent."""
        self._bad = 0
        self._failed_logins = 0
        self._last_frame: bytes | None = None
        self._last_answer: bytes | None = None

    # -- one request ------------------------------------------------------------------

    def answer(self, frame: bytes) -> bytes | None:
        """The answer to one request (a frame without its CR), or ``None`` when the
        connection is to be closed without one (:attr:`closing` is then set)."""
        try:
            request = sip.parse(frame, self.encoding)
        except sip.MessageError as error:
            self._bad += 1
            log.warning("sip2 %s: unreadable request (%s)", self._who(), error)
            if self._bad >= BAD_IN_A_ROW:
                self.closing = True
            return sip.resend_request(b"AZ" in frame)
        self._bad = 0
        if request.command == "97":
            return self._last_answer or sip.resend_request(request.checked)
        if request.sequence is not None and frame == self._last_frame and self._last_answer:
            return self._last_answer  # the terminal did not get our answer: same again
        if self.terminal is None and request.command not in ("93", "99"):
            log.warning("sip2 %s: %s before a login; closing", self._who(), request.command)
            self.closing = True
            return None
        response = self._dispatch(request)
        data = response.encode(self.encoding, request)
        self._last_frame, self._last_answer = frame, data
        return data

    def _dispatch(self, request: Request) -> Response:
        handler = _HANDLERS.get(request.command, Session._unsupported)
        try:
            return handler(self, request)
        except Refusal as refusal:  # the library could not answer at all (storage)
            log.warning("sip2 %s: %s refused: %s", self._who(), request.command, refusal.key)
            return self._unsupported(request, refusal.key)

    def _who(self) -> str:
        return self.terminal.name if self.terminal else (self.peer or "?")

    def _say(self, key: str, language: str | None = None, **params: object) -> str:
        return translate(language or self.patron_language or self.language, key, **params)

    def _now(self) -> str:
        return sip_date(self.library.now().astimezone())

    # -- login and status ---------------------------------------------------------------

    def login(self, request: Request) -> Response:
        """``93`` -> ``94``: the terminal says who it is."""
        terminal = self.library.login(request.get("CN"), request.get("CO"))
        if terminal is None:
            self._failed_logins += 1
            log.warning("sip2 %s: login refused for %r", self.peer, request.get("CN")[:40])
            if self._failed_logins >= LOGIN_ATTEMPTS:
                self.closing = True
            return Response("94", "0")
        self.terminal, self.encoding = terminal, terminal.encoding
        self.language = terminal.language if terminal.language in LANGUAGES else self.default_language
        self.page, self.patron_language = None, None
        log.info("sip2 %s: terminal %s logged in (location %r)", self.peer, terminal.name,
                 request.get("CP"))
        return Response("94", "1")

    def status(self, request: Request) -> Response:
        """``99`` -> ``98``: the desk's state and what it supports."""
        name, returns_only = self.library.status()
        supported = "".join(yes(command in IMPLEMENTED) for command in sip.SUPPORTED)
        response = Response(
            "98",
            "Y" + "Y" + yes(not returns_only) + "Y" + "N" + "Y" + "050" + "003" + self._now()
            + "2.00",
        )
        response.add("AO", request.get("AO", self._institution())).add("AM", name)
        response.add("BX", supported)
        if self.terminal is not None:
            response.add("AN", self.terminal.location or self.terminal.name)
        if returns_only:
            response.add("AF", self._say("circ.returns_only"))
        return response

    def _institution(self) -> str:
        return self.terminal.location if self.terminal else ""

    # -- patrons ------------------------------------------------------------------------

    def _open(self, request: Request, *, fresh: bool) -> tuple[Page, PatronPage | None]:
        """The patron ``AA`` names: the open page, or their card read anew (``fresh``,
        another patron, or a page gone quiet). Raises :class:`Refusal` for a refused card."""
        identifier = request.get("AA")
        language = FROM_SIP.get(request.fixed[:3]) if request.command in ("23", "63") else None
        if language:
            self.patron_language = language
        page = self.page
        now = self.monotonic()
        if (
            not fresh and page is not None and page.identifier == identifier
            and now - page.seen < PAGE_SECONDS
        ):
            page.seen = now
            if language:
                page.language = language
            return page, None
        self.page = None
        assert self.terminal is not None
        speak = language or self.patron_language or self.language
        if not fresh:  # a loan, a renewal, a hold: who it is is enough
            number_, card = self.library.identify(self.terminal.name, identifier)
            self.page = Page(identifier, number_, card, speak, now)
            return self.page, None
        patron = self.library.open_patron(self.terminal.name, identifier)
        self.page = Page(identifier, patron.number, patron.card, speak, now)
        return self.page, patron

    def _patron_page(self, request: Request) -> tuple[Page | None, PatronPage | None, Refusal | None]:
        try:
            page, patron = self._open(request, fresh=True)
        except Refusal as refusal:
            if not refusal.card:
                raise
            return None, None, refusal
        return page, patron, None

    def patron_status(self, request: Request) -> Response:
        """``23`` -> ``24``: may this patron borrow, and why not."""
        page, patron, refusal = self._patron_page(request)
        response = Response("24", self._status_fixed(request, patron, refusal))
        return self._patron_fields(response, request, page, patron, refusal)

    def _status_fixed(
        self, request: Request, patron: PatronPage | None, refusal: Refusal | None
    ) -> str:
        language = self.page.language if self.page else (self.patron_language or self.language)
        return _patron_flags(patron, refusal) + TO_SIP.get(language, "000") + self._now()

    def _patron_fields(
        self, response: Response, request: Request, page: Page | None,
        patron: PatronPage | None, refusal: Refusal | None,
    ) -> Response:
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        if patron is None or page is None:
            assert refusal is not None
            language = FROM_SIP.get(request.fixed[:3])
            response.add("AE", str(refusal.params.get("name", "")))
            response.add("BL", yes(refusal.key not in _NO_SUCH_PATRON))
            return response.add("AF", self._say(refusal.key, language, **refusal.params))
        response.add("AE", patron.name).add("BL", "Y")
        return response.add("AF", self._greeting(patron, page.language))

    def _greeting(self, patron: PatronPage, language: str) -> str:
        words = [self._say("patron.hello", language, name=patron.name)]
        if patron.returns_only:
            words.append(self._say("circ.returns_only", language))
        elif patron.overdue:
            words.append(self._say("patron.overdue", language, count=len(patron.overdue)))
        elif patron.may_borrow:
            words.append(self._say("patron.may_borrow", language, count=patron.may_borrow))
        else:
            words.append(self._say("patron.may_borrow_none", language))
        return " ".join(words)

    def patron_information(self, request: Request) -> Response:
        """``63`` -> ``64``: the patron's counts, and the list the summary asks for."""
        page, patron, refusal = self._patron_page(request)
        holds = patron.holds if patron else ()
        loans = patron.loans if patron else ()
        overdue = patron.overdue if patron else ()
        waiting = [hold for hold in holds if not hold.ready]
        fixed = self._status_fixed(request, patron, refusal) + "".join(
            number(count) for count in (len(holds), len(overdue), len(loans), 0, 0, len(waiting))
        )
        if patron is None:
            return self._patron_fields(Response("64", fixed), request, page, None, refusal)
        response = Response("64", fixed)
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        response.add("AE", patron.name).add("BL", "Y")
        summary = request.fixed[21:31]
        lists = {
            0: ("AS", [hold.barcode if hold.ready else hold.title for hold in holds]),
            1: ("AT", [loan.barcode for loan in overdue]),
            2: ("AU", [loan.barcode for loan in loans]),
            5: ("CD", [hold.title for hold in waiting]),
        }
        chosen = summary.find("Y")
        if chosen in lists:
            name, values = lists[chosen]
            response.add_all(name, _page_of(values, request.get("BP"), request.get("BQ")))
        assert page is not None
        return response.add("AF", self._greeting(patron, page.language))

    def end_session(self, request: Request) -> Response:
        """``35`` -> ``36``: the patron is done; the page closes."""
        language = self.page.language if self.page else None
        response = Response("36", "Y" + self._now())
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        response.add("AF", self._say("sip2.goodbye", language))
        self.page, self.patron_language = None, None
        return response

    # -- lending --------------------------------------------------------------------------

    def checkout(self, request: Request) -> Response:
        """``11`` -> ``12``: lend a book (or take in a loan the terminal made offline)."""
        assert self.terminal is not None
        barcode = request.get("AB")
        if request.get("BI") == "Y":
            return self._cancel_checkout(request)
        if request.flag(1) == "Y":
            lent = self.library.offline_checkout(
                self.terminal.name, request.get("AA"), barcode, _local(request.date(2)),
                _day(request.date(20)), _request_text(request),
            )
            return self._lent("12", request, lent.title, lent.due_on, lent.item_kind,
                              self._say("sip2.offline_taken", title=lent.title), renewed=False)
        try:
            page, _ = self._open(request, fresh=False)
        except Refusal as refusal:
            return self._not_lent("12", request, refusal)
        try:
            lent = self.library.checkout(self.terminal.name, page.number, page.card, barcode)
        except AlreadyYours as mine:
            if request.flag(0) != "Y":
                already = Refusal("copy.already_yours", {"title": mine.title})
                return self._not_lent("12", request, already, page)
            try:
                lent = self.library.renew(self.terminal.name, page.number, page.card, barcode)
            except Refusal as refusal:
                return self._not_lent("12", request, refusal, page)
            words = self._say("renew.ok", page.language, title=lent.title,
                              due=format_date(lent.due_on, page.language))
            return self._lent("12", request, lent.title, lent.due_on, lent.item_kind, words,
                              renewed=True)
        except Refusal as refusal:
            return self._not_lent("12", request, refusal, page)
        words = self._say("checkout.ok", page.language, title=lent.title,
                          due=format_date(lent.due_on, page.language))
        return self._lent("12", request, lent.title, lent.due_on, lent.item_kind, words,
                          renewed=False)

    def _cancel_checkout(self, request: Request) -> Response:
        """A checkout the terminal could not finish (the book stayed): take it back."""
        assert self.terminal is not None
        try:
            returned = self.library.checkin(self.terminal.name, request.get("AB"))
        except Refusal as refusal:
            return self._not_lent("12", request, refusal)
        return self._lent("12", request, returned.title, None, returned.item_kind,
                          self._say("sip2.checkout_cancelled", title=returned.title),
                          renewed=False)

    def _lent(
        self, command: str, request: Request, title: str, due: object, kind: str, words: str,
        *, renewed: bool,
    ) -> Response:
        due_text = sip_day(due) if due is not None else ""  # type: ignore[arg-type]
        fixed = "1" + yes(renewed) + "U" + ("Y" if command == "12" else "U") + self._now()
        response = Response(command, fixed)
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        response.add("AB", request.get("AB")).add("AJ", title).add("AH", due_text)
        response.add("CK", MEDIA.get(kind, "001"))
        return response.add("AF", words)

    def _not_lent(
        self, command: str, request: Request, refusal: Refusal, page: Page | None = None
    ) -> Response:
        language = page.language if page else None
        response = Response(command, "0" + "N" + "U" + "N" + self._now())
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        response.add("AB", request.get("AB")).add("AJ", str(refusal.params.get("title", "")))
        response.add("AH", "")
        return response.add("AF", self._say(refusal.key, language, **refusal.params))

    def renew(self, request: Request) -> Response:
        """``29`` -> ``30``: more time with one book."""
        assert self.terminal is not None
        try:
            page, _ = self._open(request, fresh=False)
            if not request.get("AB"):
                raise Refusal("sip2.renew.which")
            lent = self.library.renew(self.terminal.name, page.number, page.card, request.get("AB"))
        except Refusal as refusal:
            return self._not_lent("30", request, refusal, self.page)
        words = self._say("renew.ok", page.language, title=lent.title,
                          due=format_date(lent.due_on, page.language))
        return self._lent("30", request, lent.title, lent.due_on, lent.item_kind, words,
                          renewed=True)

    def renew_all(self, request: Request) -> Response:
        """``65`` -> ``66``: more time with every book the patron has."""
        assert self.terminal is not None
        try:
            page, patron = self._open(request, fresh=True)
        except Refusal as refusal:
            response = Response("66", "0" + number(0) + number(0) + self._now())
            response.add("AO", request.get("AO"))
            return response.add("AF", self._say(refusal.key, **refusal.params))
        assert patron is not None
        renewed: list[str] = []
        refused: list[str] = []
        for loan in patron.loans:
            try:
                self.library.renew(self.terminal.name, page.number, page.card, loan.barcode)
                renewed.append(loan.barcode)
            except Refusal:
                refused.append(loan.barcode)
        response = Response(
            "66", "1" + number(len(renewed)) + number(len(refused)) + self._now()
        )
        response.add("AO", request.get("AO"))
        response.add_all("BM", renewed).add_all("BN", refused)
        return response.add("AF", self._say("sip2.renewed_all", page.language,
                                            renewed=len(renewed), refused=len(refused)))

    def checkin(self, request: Request) -> Response:
        """``09`` -> ``10``: a book comes back; say where it goes (sort bin, hold shelf)."""
        assert self.terminal is not None
        if request.get("BI") == "Y":
            return self._not_returned(request, Refusal("sip2.cancel_checkin"))
        try:
            if request.flag(0) == "Y":
                when = _local(request.date(19)) or _local(request.date(1))
                returned = self.library.offline_checkin(
                    self.terminal.name, request.get("AB"), when, _request_text(request)
                )
            else:
                returned = self.library.checkin(self.terminal.name, request.get("AB"))
        except Refusal as refusal:
            return self._not_returned(request, refusal)
        return self._returned(request, returned)

    def _returned(self, request: Request, returned: Returned) -> Response:
        destination = returned.destination
        alert = destination in ("hold_shelf", "desk")
        response = Response("10", "1" + "Y" + "U" + yes(alert) + self._now())
        response.add("AO", request.get("AO")).add("AB", returned.barcode)
        response.add("AQ", returned.shelf).add("AJ", returned.title)
        bin_ = {"hold_shelf": "HOLD", "desk": "DESK"}.get(destination, returned.shelf)
        response.add("CL", bin_)
        if returned.item_kind:
            response.add("CK", MEDIA.get(returned.item_kind, "001"))
        if destination == "hold_shelf":
            response.add("CT", self.terminal.location if self.terminal else "")
            response.add("CV", "01").add("CY", returned.hold_for).add("DA", returned.hold_name)
            words = self._say("sip2.return.hold_shelf", title=returned.title)
        elif destination == "desk":
            response.add("CV", "99")
            words = self._say("return.desk", title=returned.title)
        elif destination == "not_on_loan":
            words = self._say("return.not_on_loan", title=returned.title, shelf=returned.shelf)
        else:
            words = self._say("sip2.return.thanks", title=returned.title)
        return response.add("AF", words)

    def _not_returned(self, request: Request, refusal: Refusal) -> Response:
        response = Response("10", "0" + "N" + "U" + "Y" + self._now())
        response.add("AO", request.get("AO")).add("AB", request.get("AB")).add("AQ", "")
        response.add("CV", "99")
        return response.add("AF", self._say(refusal.key, **refusal.params))

    # -- items and holds --------------------------------------------------------------------

    def item_information(self, request: Request) -> Response:
        """``17`` -> ``18``: what a book is, where it is, when it is due."""
        try:
            item: Item | None = self.library.item(request.get("AB"))
        except Refusal as refusal:
            if refusal.key.startswith("storage."):
                raise
            response = Response("18", "01" + "00" + "01" + self._now())
            response.add("AB", request.get("AB")).add("AJ", "")
            return response.add("AF", self._say(refusal.key, **refusal.params))
        assert item is not None
        response = Response(
            "18", CIRCULATION_STATUS.get(item.status, "01") + "00" + "01" + self._now()
        )
        response.add("CF", number(item.holds_waiting, 4))
        if item.due_on is not None:
            response.add("AH", sip_day(item.due_on))
        response.add("AB", item.barcode).add("AJ", item.title)
        response.add("CK", MEDIA.get(item.item_kind, "001"))
        response.add("AQ", item.shelf).add("AP", item.shelf)
        return response.add("AF", item.title + (" / " + item.author if item.author else ""))

    def hold(self, request: Request) -> Response:
        """``15`` -> ``16``: reserve the title of a book (``+``) or cancel the patron's
        reservation of it (``-``); a hold is changed (``*``) at the desk."""
        assert self.terminal is not None
        try:
            page, _ = self._open(request, fresh=False)
            if request.flag(0) not in ("+", "-") or not request.get("AB"):
                raise Refusal("sip2.hold.not_here")
            if request.flag(0) == "-":
                title = self.library.cancel_hold(
                    self.terminal.name, page.number, request.get("AB")
                )
                response = Response("16", "1" + "N" + self._now())
                response.add("AO", request.get("AO")).add("AA", request.get("AA"))
                response.add("AB", request.get("AB")).add("AJ", title)
                return response.add("AF", self._say("holds.cancelled", page.language,
                                                    title=title))
            placed = self.library.place_hold(self.terminal.name, page.number, request.get("AB"))
        except Refusal as refusal:
            response = Response("16", "0" + "N" + self._now())
            response.add("AO", request.get("AO")).add("AA", request.get("AA"))
            response.add("AB", request.get("AB"))
            language = self.page.language if self.page else None
            return response.add("AF", self._say(refusal.key, language, **refusal.params))
        response = Response("16", "1" + yes(placed.available) + self._now())
        response.add("BR", str(placed.position))
        response.add("AO", request.get("AO")).add("AA", request.get("AA"))
        response.add("AB", request.get("AB")).add("AJ", placed.title)
        return response.add("AF", self._say("sip2.hold.placed", page.language,
                                            title=placed.title, position=placed.position))

    def _unsupported(self, request: Request, key: str = "sip2.not_supported") -> Response:
        """The answer to a request this desk does not act on (or could not, the database
        being away): the request's own answer, with every flag at "no", saying why."""
        command, fixed, after, required = _REFUSED.get(request.command, ("96", "", "", ()))
        if command in ("94", "96"):
            return Response(command, fixed)
        response = Response(command, fixed + self._now() + after)
        response.add("AO", request.get("AO"))
        for name in required:
            response.add(name, request.get(name))
        return response.add("AF", self._say(key))


_NO_SUCH_PATRON = frozenset({"card.unknown", "card.forged", "card.damaged", "patron.unknown"})

_REFUSED: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "93": ("94", "0", "", ()),
    "99": ("98", "NNNNNN050003", "2.00", ("AM", "BX")),
    "23": ("24", " " * 14 + "000", "", ("AA", "AE")),
    "01": ("24", " " * 14 + "000", "", ("AA", "AE")),
    "25": ("26", " " * 14 + "000", "", ("AA", "AE")),
    "63": ("64", " " * 14 + "000", "0000" * 6, ("AA", "AE")),
    "11": ("12", "0NUN", "", ("AA", "AB", "AJ", "AH")),
    "09": ("10", "0NUY", "", ("AB", "AQ")),
    "29": ("30", "0NUN", "", ("AA", "AB", "AJ", "AH")),
    "65": ("66", "000000000", "", ()),
    "17": ("18", "010001", "", ("AB", "AJ")),
    "19": ("20", "0", "", ("AB", "AJ")),
    "15": ("16", "0N", "", ("AA",)),
    "35": ("36", "N", "", ("AA",)),
    "37": ("38", "N", "", ("AA",)),
}
"""For each request: its answer's command, its fixed fields saying "no" before and after
the date, and the fields the answer must carry (from the request, empty if it had none)."""


def _patron_flags(patron: PatronPage | None, refusal: Refusal | None) -> str:
    """The 14 patron status flags: what the patron may not do, and why."""
    denied: list[int] = []
    if refusal is not None:
        denied = [0, 1, 2, 3]
        if refusal.key == "card.revoked":
            denied.append(4)
    elif patron is not None:
        if patron.overdue:
            denied += [0, 1, 6]
        elif patron.may_borrow == 0 or patron.returns_only:
            denied += [0]
            if not patron.returns_only:
                denied.append(5)
    return flags(sorted(set(denied)), 14)


def _page_of(values: list[str], start: str, end: str) -> list[str]:
    """Items ``start`` to ``end`` (1-based, as BP/BQ say) of ``values``."""
    first = int(start) if start.isdigit() and int(start) > 0 else 1
    last = int(end) if end.isdigit() and int(end) >= first else first + MAX_LIST - 1
    return values[first - 1 : min(last, first + MAX_LIST - 1)]


def _local(text: str) -> datetime | None:
    """A SIP2 date as an aware time (a local one is the desk's local time)."""
    moment = sip.read_date(text)
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _day(text: str) -> date | None:
    """A SIP2 date's day (a due date the terminal gave), or ``None``."""
    moment = sip.read_date(text)
    return moment.date() if moment else None


def _request_text(request: Request) -> str:
    """The request as one text without its sequence number (the same stored
    transaction sent twice gives the same text)."""
    fields = "".join(f"{name}{value}|" for name, values in sorted(request.fields.items())
                     for value in values)
    return request.command + request.fixed + fields


_HANDLERS: dict[str, Callable[[Session, Request], Response]] = {
    "93": Session.login,
    "99": Session.status,
    "23": Session.patron_status,
    "63": Session.patron_information,
    "35": Session.end_session,
    "11": Session.checkout,
    "09": Session.checkin,
    "29": Session.renew,
    "65": Session.renew_all,
    "17": Session.item_information,
    "15": Session.hold,
}
