"""The librarian's view of the library: the day's facts, cases to review, overdue loans.

The librarian's screens (at a kiosk and at the desk) read everything through
:class:`DayBook`, which takes and returns plain values (the dataclasses below) and
writes the librarian's actions by hand as journal facts, like every other change:
renewals and returns go through :class:`~kiosk.data.lending.circulation.Circulation`, a
revoked card is a ``card_revoked`` fact and a reviewed case a ``case_reviewed`` fact
(so a review made at one kiosk is seen at the desk and at every other kiosk).

Only the day asked for is read from the journal (its ``wall_time`` index); the
filter that answers each keystroke works in memory over that day's rows.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import peewee as pw

from kiosk.data import sync
from kiosk.data.core import fact_words, kinds
from kiosk.data.core.errors import NotFound
from kiosk.data.core.facts import day_bounds
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    IS_CASE_REVIEWED,
    Card,
    ClassVisit,
    Copy,
    HelperShift,
    Journal,
    KioskRegistration,
    Loan,
    LocalState,
    Patron,
    SchoolClass,
    SyncCase,
    Title,
)
from kiosk.data.core.text import printable
from kiosk.data.core.titles import issue_title
from kiosk.data.desk import spreadsheet
from kiosk.data.lending.circulation import Circulation, LoanView, ReturnResult
from kiosk.data.lending.corner_loans import corner_classes
from kiosk.data.librarian.views import (
    Activity,
    CardInfo,
    Case,
    CopyDetail,
    DayFigures,
    Exported,
    KioskState,
    LogEntry,
    OverdueLoan,
    PatronDetail,
    SyncOverview,
    local_time,
)
from kiosk.locale import t

log = logging.getLogger(__name__)

REVIEW_DAYS = 7
"""Refusals worth a look stay in the cases to review this many days (unless reviewed)."""

REVIEW_REASONS = frozenset({
    "card.forged", "card.revoked", "card.unknown", "card.blocked", "card.inactive",
    "card.expired", "card.damaged", "pin.wrong", "pin.locked", "copy.on_loan_other",
    "copy.unknown",
})
"""Refusal reasons the librarian should look at: strange cards, PIN guesses, books
that should not be in a child's hands."""



class _Words:
    """Puts journal rows in words, remembering what repeats (names, titles, labels,
    the local time's offset), so a day of 5,000 facts is read in a few milliseconds
    of Python per thousand rows."""

    def __init__(self) -> None:
        self._clean: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._offsets: dict[tuple[int, int, int, int], timedelta] = {}

    def clean(self, text: str | None, limit: int) -> str:
        """``text`` made printable (cached: names and titles repeat all day)."""
        if not text:
            return ""
        done = self._clean.get(text)
        if done is None:
            done = self._clean[text] = printable(text, limit)
        return done

    def label(self, kind: str) -> str:
        """The kind's short name (cached)."""
        done = self._labels.get(kind)
        if done is None:
            done = self._labels[kind] = kinds.label(kind)
        return done

    def local(self, moment: datetime | str) -> datetime:
        """A journal time (naive UTC, or its text from SQLite) as local wall-clock time."""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        hour = (moment.year, moment.month, moment.day, moment.hour)
        offset = self._offsets.get(hour)
        if offset is None:  # the offset can change within a day (summer time), not an hour
            start = moment.replace(minute=0, second=0, microsecond=0)
            offset = self._offsets[hour] = local_time(start) - start
        return moment + offset

    def entry(
        self, seq: int, uuid: str, kind: str, kiosk: str, wall: datetime | str,
        patron: str | None, copy: str | None, raw: str, name: str | None,
        class_name: str | None, title: str | None,
    ) -> LogEntry:
        """One journal row (with its patron's name and class and its copy's title)."""
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        name, title = self.clean(name, 80), self.clean(title, 120)
        if kind in (Kind.CORNER_LENT, Kind.CORNER_RETURNED) and isinstance(data.get("class"), str):
            class_name = self.clean(data["class"], 40)  # the corner's class, not the teacher's
        label = self.label(kind)
        what = kinds.describe(kind, data, title, name)
        hay = "\x1f".join((
            kind, label, patron or "", name, class_name or "", copy or "", title, what, kiosk,
        )).casefold()
        return LogEntry(
            seq=seq, uuid=uuid, at=self.local(wall), kind=kind, kind_label=label,
            patron=patron or "", patron_name=name, class_name=class_name or "",
            copy=copy or "", title=title, what=what, kiosk=kiosk,
            reason=str(data.get("reason", "")) if kind == Kind.REFUSAL else "", haystack=hay,
        )


# -- the filter -----------------------------------------------------------------------


def matches(entry: LogEntry, words: Sequence[str]) -> bool:
    """Whether every word typed appears in the entry (kind, class, patron, copy...)."""
    return all(word in entry.haystack for word in words)


class LogFilter:
    """Filters the day's entries as the librarian types.

    Each word must appear somewhere in the entry. Typing on (a longer text that
    starts with the last one) filters the last result instead of the whole day.
    """

    def __init__(self, entries: Sequence[LogEntry]) -> None:
        self.entries = list(entries)
        self._text = ""
        self._result = self.entries

    def apply(self, text: str) -> list[LogEntry]:
        """The entries that match ``text`` (all of them for an empty text)."""
        text = text.casefold().strip()
        words = text.split()
        if not words:
            result = self.entries
        elif self._text and text.startswith(self._text):
            # every word typed before is a word, or part of a word, typed now
            result = [e for e in self._result if matches(e, words)]
        else:
            result = [e for e in self.entries if matches(e, words)]
        self._text, self._result = text, result
        return result


# -- the service ----------------------------------------------------------------------


class DayBook:
    """What the librarian's screens read and do, on the circulation service's database.

    Args:
        circulation: the service whose database, clock and kiosk identity are used;
            its renewals and returns are the librarian's by hand.
    """

    def __init__(self, circulation: Circulation) -> None:
        self.circulation = circulation
        self.store = circulation.store
        self.db = circulation.store.db

    def _connected(self) -> AbstractContextManager[None]:
        """The store's connection to the library (its own, or one for the while)."""
        return self.store.connected()

    def today(self) -> date:
        """Today where the library is."""
        return self.store.today()

    # -- the day's log ----------------------------------------------------------------

    def _entries(self, where: Any, limit: int | None = None) -> list[LogEntry]:
        query = (
            Journal.select(
                Journal.seq, Journal.uuid, Journal.kind, Journal.kiosk, Journal.wall_time,
                Journal.patron, Journal.copy, Journal.data, Patron.name, SchoolClass.name,
                Title.title,
            )
            .join(Patron, pw.JOIN.LEFT_OUTER, on=(Patron.number == Journal.patron))
            .join(SchoolClass, pw.JOIN.LEFT_OUTER)  # the patron's class
            .switch(Journal)
            .join(Copy, pw.JOIN.LEFT_OUTER, on=(Copy.barcode == Journal.copy))
            .join(Title, pw.JOIN.LEFT_OUTER)  # the copy's title
            .where(where & Journal.kind.not_in(sorted(kinds.MASTER)))
            .order_by(Journal.wall_time.desc(), Journal.seq.desc())
            .tuples()
        )
        if limit is not None:
            query = query.limit(limit)
        # Plain rows from the driver: peewee's conversions cost more than the query.
        sql, params = query.sql()
        words = _Words()
        return [words.entry(*row) for row in self.db.execute_sql(sql, params)]

    def day_log(self, day: date | None = None, limit: int | None = None) -> list[LogEntry]:
        """Every fact of ``day`` (today), newest first; master-data changes left out.

        ``limit``: only the newest so many (the first screenful, shown at once).
        """
        start, end = day_bounds(day or self.today())
        with self._connected():
            return self._entries(
                (Journal.wall_time >= start) & (Journal.wall_time < end), limit=limit
            )

    def day_log_since(self, day: date, after: int) -> list[LogEntry]:
        """The facts of ``day`` recorded after journal row ``after``, newest first: what
        the live log adds to what it has (``kiosk.data.librarian.changes``).

        Read by ``seq`` (the journal's primary key), so keeping a busy day fresh costs
        no more than the facts that are new.
        """
        start, end = day_bounds(day)
        with self.store.reading():
            return self._entries(
                (Journal.seq > after) & (Journal.wall_time >= start) & (Journal.wall_time < end)
            )

    # -- cases to review --------------------------------------------------------------

    def cases(self) -> list[Case]:
        """Refusals worth a look (the last :data:`REVIEW_DAYS` days) and sync conflicts,
        not yet reviewed, newest first."""
        since, _ = day_bounds(self.today() - timedelta(days=REVIEW_DAYS - 1))
        with self._connected():
            reviewed = {
                json.loads(raw).get("case")
                for (raw,) in Journal.select(Journal.data)
                .where(IS_CASE_REVIEWED)
                .tuples()
                .iterator()
            }
            found: list[Case] = []
            refusals = self._entries(
                (Journal.kind == Kind.REFUSAL) & (Journal.wall_time >= since)
            )
            for entry in refusals:
                ref = f"refusal:{entry.uuid}"
                if entry.reason in REVIEW_REASONS and ref not in reviewed:
                    found.append(Case(
                        ref=ref, source="refusal", at=entry.at, kind=entry.reason,
                        what=entry.what, patron=entry.patron, patron_name=entry.patron_name,
                        copy=entry.copy, title=entry.title, kiosk=entry.kiosk,
                    ))
            rows = (
                SyncCase.select(SyncCase, Patron.name, Title.title)
                .join(Patron, pw.JOIN.LEFT_OUTER, on=(Patron.number == SyncCase.patron))
                .switch(SyncCase)
                .join(Copy, pw.JOIN.LEFT_OUTER, on=(Copy.barcode == SyncCase.copy))
                .join(Title, pw.JOIN.LEFT_OUTER)
                .where(SyncCase.resolved_at.is_null())
                .order_by(SyncCase.created_at.desc())
                .objects()
            )
            for row in rows:
                ref = f"sync:{row.fact}:{row.kind}"
                if ref in reviewed:
                    continue
                found.append(Case(
                    ref=ref, source="sync", at=local_time(row.created_at), kind=row.kind,
                    what=fact_words.sync_case_text(row.kind), patron=row.patron or "",
                    patron_name=printable(getattr(row, "name", None) or "", 80),
                    copy=row.copy or "", title=printable(getattr(row, "title", None) or "", 120),
                    kiosk=row.kiosk,
                ))
        found.sort(key=lambda case: case.at, reverse=True)
        return found

    def mark_reviewed(self, ref: str, by: str) -> None:
        """The librarian ``by`` has looked at case ``ref``: it leaves the list everywhere.

        Raises:
            StorageError: the database is locked (a sync is writing) or gone; nothing
                was recorded.
        """
        store = self.store
        with store.writing():  # the write gate, and errors in words
            store.record(Kind.CASE_REVIEWED, case=ref, by=by)
            if ref.startswith("sync:"):
                _, uuid, kind = ref.split(":", 2)
                SyncCase.update(
                    resolved_by=by, resolved_at=store.now_stored()
                ).where((SyncCase.fact == uuid) & (SyncCase.kind == kind)).execute()

    # -- overdue ----------------------------------------------------------------------

    def overdue(self) -> list[OverdueLoan]:
        """Every open loan past its due date, by class, the longest overdue first (a
        class corner's books under the corner's class, its teacher named)."""
        today = self.today()
        with self._connected():
            rows: Any = (
                Loan.select(
                    SchoolClass.name, Patron.number, Patron.name, Copy.barcode, Title.title,
                    Loan.due_on, Loan.id,
                )
                .join(Patron)
                .join(SchoolClass, pw.JOIN.LEFT_OUTER)
                .switch(Loan)
                .join(Copy)
                .join(Title)
                .where(Loan.returned_at.is_null() & (Loan.due_on < today))
                .tuples()
            )
            corners = corner_classes(Loan.returned_at.is_null() & (Loan.due_on < today))
            found = [
                OverdueLoan(
                    class_name=corners.get(loan_id, class_name or ""), patron=number,
                    patron_name=name + (" · " + t("lib.log.kind.corner") if loan_id in corners
                                        else ""),
                    copy=barcode, title=title, due_on=due, days_overdue=(today - due).days,
                    loan_id=loan_id,
                )
                for class_name, number, name, barcode, title, due, loan_id in rows
            ]
        found.sort(key=lambda loan: (loan.class_name, -loan.days_overdue, loan.patron_name))
        return found

    # -- visits and shifts ------------------------------------------------------------

    def activities(self, day: date | None = None) -> list[Activity]:
        """The class visits and helper shifts that started on ``day`` (today)."""
        start, end = day_bounds(day or self.today())
        found: list[Activity] = []
        with self._connected():
            visits: Any = (
                ClassVisit.select(
                    ClassVisit, SchoolClass.name.alias("class_name"),
                    Patron.name.alias("teacher_name"),
                )
                .join(SchoolClass)
                .switch(ClassVisit)
                .join(Patron)
                .where((ClassVisit.started_at >= start) & (ClassVisit.started_at < end))
                .objects()
            )
            for visit in visits:
                found.append(Activity(
                    kind="visit", ref=visit.id, who=visit.class_name, by=visit.teacher_name,
                    started=local_time(visit.started_at),
                    ended=local_time(visit.ended_at) if visit.ended_at else None,
                    count=visit.headcount, kiosk=visit.kiosk,
                ))
            shifts: Any = (
                HelperShift.select(HelperShift, Patron.name)
                .join(Patron)
                .where((HelperShift.started_at >= start) & (HelperShift.started_at < end))
                .objects()
            )
            for shift in shifts:
                found.append(Activity(
                    kind="shift", ref=shift.id, who=shift.name, by="",
                    started=local_time(shift.started_at),
                    ended=local_time(shift.ended_at) if shift.ended_at else None,
                    count=shift.books, kiosk=shift.kiosk,
                ))
        found.sort(key=lambda a: a.started or datetime.min)
        return found

    # -- the day in figures -----------------------------------------------------------

    @staticmethod
    def figures(entries: Sequence[LogEntry]) -> DayFigures:
        """The day's numbers and charts, from its log (no further query)."""
        counts = Counter(entry.kind for entry in entries)
        loans = [entry for entry in entries if entry.kind == Kind.CHECKOUT]
        hours = Counter(entry.at.hour for entry in loans)
        per_hour: tuple[tuple[int, int], ...] = ()
        if hours:
            per_hour = tuple((h, hours.get(h, 0)) for h in range(min(hours), max(hours) + 1))
        classes = Counter(entry.class_name or t("lib.log.no_class") for entry in loans)
        visitors = {
            entry.patron for entry in entries
            if entry.patron
            and entry.kind in (Kind.CHECKOUT, Kind.CHECKIN, Kind.RENEW, Kind.REFUSAL)
        }
        return DayFigures(
            loans=counts[Kind.CHECKOUT], returns=counts[Kind.CHECKIN], renewals=counts[Kind.RENEW],
            refusals=counts[Kind.REFUSAL], visitors=len(visitors), per_hour=per_hour,
            per_class=tuple(sorted(classes.items(), key=lambda item: (-item[1], item[0]))),
        )

    # -- sync -------------------------------------------------------------------------

    def sync_overview(self) -> SyncOverview:
        """This database's role, its facts waiting to be sent, and (at a desk) its kiosks."""
        with self._connected():
            role_row = LocalState.get_or_none(LocalState.key == "role")
            role = role_row.value if role_row else "alone"
            kiosks: tuple[KioskState, ...] = ()
            if role == "desk":
                kiosks = tuple(
                    KioskState(
                        kiosk=row.kiosk, name=row.name,
                        last_seen=local_time(row.last_seen_at) if row.last_seen_at else None,
                        facts_pushed=row.facts_pushed,
                    )
                    for row in KioskRegistration.select().order_by(KioskRegistration.kiosk)
                )
            waiting = sync.pending_count() if role == "kiosk" else 0
        return SyncOverview(role=role, waiting=waiting, kiosks=kiosks)

    # -- a patron, a copy -------------------------------------------------------------

    def patron(self, number: str) -> PatronDetail:
        """Patron ``number`` with cards, loans and their last facts.

        Raises:
            NotFound: ``patron.unknown``.
        """
        view = self.circulation.patron(number)
        with self._connected():
            patron = Patron.get(Patron.number == number)
            cards = tuple(
                CardInfo(card.serial, local_time(card.issued_at),
                         local_time(card.revoked_at) if card.revoked_at else None)
                for card in Card.select().where(Card.patron == patron).order_by(Card.serial)
            )
            recent = self._entries(Journal.patron == number, limit=30)
        return PatronDetail(
            number=view.number, name=view.name, kind=view.kind, class_name=view.class_name,
            active=patron.active, blocked_reason=patron.blocked_reason or "", cards=cards,
            loans=view.loans, recent=tuple(recent),
        )

    def copy(self, barcode: str) -> CopyDetail:
        """Copy ``barcode``: its status, its borrower, its last facts.

        Raises:
            NotFound: ``copy.unknown``.
        """
        with self._connected():
            copy = (
                Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).first()
            )
            if copy is None:
                raise NotFound("copy.unknown", code=printable(barcode, 40))
            loan = (
                Loan.select(Loan, Patron).join(Patron)
                .where((Loan.copy == copy.id) & Loan.returned_at.is_null()).first()
            )
            recent = self._entries(Journal.copy == barcode, limit=30)
        return CopyDetail(
            barcode=copy.barcode, title=issue_title(copy.title.title, copy.title.issue_date),
            author=copy.title.author,
            shelf=copy.shelf, status=copy.status,
            borrower=loan.patron.number if loan else "",
            borrower_name=loan.patron.name if loan else "",
            loan_id=loan.id if loan else "", due_on=loan.due_on if loan else None,
            recent=tuple(recent),
        )

    # -- actions by hand --------------------------------------------------------------

    def renew(self, loan_id: str, by: str) -> LoanView:
        """Renew loan ``loan_id`` for its borrower, as the kiosk would (same rules);
        the fact names the librarian ``by``.

        Raises:
            NotFound: ``loan.unknown``; Refused: the rules' reasons (recorded).
        """
        with self._connected():
            row = (
                Loan.select(Patron.number).join(Patron)
                .where((Loan.id == loan_id) & Loan.returned_at.is_null()).tuples().first()
            )
        if row is None:
            raise NotFound("loan.unknown")
        return self.circulation.renew(row[0], loan_id, by=by)

    def checkin(self, barcode: str, by: str) -> ReturnResult:
        """Take copy ``barcode`` back by hand (the book is at the desk); the fact names
        the librarian ``by``.

        Raises:
            NotFound: ``copy.unknown``.
        """
        return self.circulation.checkin(barcode, by=by)

    def revoke_card(self, number: str, by: str) -> int:
        """Revoke patron ``number``'s current card (lost, stolen); returns its serial.

        Recorded as a ``card_revoked`` fact naming the librarian ``by``.

        Raises:
            NotFound: ``lib.no_card`` when the patron has no card that works.
            StorageError: the database is locked or gone; nothing was recorded.
        """
        store = self.store
        with store.writing():
            serial = (
                Card.select(pw.fn.MAX(Card.serial)).join(Patron)
                .where((Patron.number == number) & Card.revoked_at.is_null())
                .scalar()
            )
            if serial is None:
                raise NotFound("lib.no_card")
            store.record(Kind.CARD_REVOKED, patron=number, serial=serial, by=by)
        return int(serial)

    # -- export -----------------------------------------------------------------------

    @staticmethod
    def export_paths(day: date, folder: Path) -> tuple[Path, Path]:
        """The CSV and XLSX files the export of ``day`` writes in ``folder``."""
        stem = f"day-log-{day.isoformat()}"
        return folder / f"{stem}.csv", folder / f"{stem}.xlsx"

    @staticmethod
    def exported_before(day: date, folder: Path) -> bool:
        """Whether an export of ``day`` is already in ``folder`` (a new one replaces it)."""
        return any(path.exists() for path in DayBook.export_paths(day, folder))

    @staticmethod
    def export(entries: Sequence[LogEntry], day: date, folder: Path) -> Exported:
        """Write the day's log to ``folder`` as CSV and XLSX; say where."""
        headings = [
            t("lib.log.col.time"), t("lib.log.col.kind"), t("lib.log.col.patron"), t("lib.log.col.name"),
            t("lib.log.col.class"), t("lib.log.col.copy"), t("lib.log.col.title"), t("lib.log.col.what"),
            t("lib.log.col.kiosk"),
        ]
        rows = [
            [e.at.replace(microsecond=0), e.kind_label, e.patron, e.patron_name, e.class_name,
             e.copy, e.title, e.what, e.kiosk]
            for e in sorted(entries, key=lambda e: (e.at, e.seq))
        ]
        sheet = spreadsheet.Sheet(
            title=t("lib.log.sheet", day=day.isoformat()), headings=headings, rows=rows,
            widths=(20, 10, 10, 14, 12, 12, 30, 50, 12),
        )
        csv_path, xlsx_path = DayBook.export_paths(day, folder)
        spreadsheet.write_csv(csv_path, sheet)
        spreadsheet.write_xlsx(xlsx_path, [sheet])
        log.info("day log of %s exported to %s", day, folder)
        return Exported(csv=csv_path, xlsx=xlsx_path, rows=len(rows))


def export_folder(configured: str = "") -> Path:
    """Where exports go: the configured folder, or "Library Kiosk" in the user's documents."""
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "Library Kiosk"
