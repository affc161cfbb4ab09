"""Building the demo library: classes, people, cards, titles, copies, and five weeks
of loans, returns, renewals and holds recorded as journal facts."""

from __future__ import annotations

import csv
import functools
import io
import itertools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from importlib import resources
from typing import Any

import peewee as pw

from kiosk.data.core import journal, library, settings
from kiosk.data.core.facts import Fact, HybridClock, new_fact
from kiosk.data.core.findkeys import title_keys
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    ITEM_KINDS,
    ClassTeacher,
    ClosedDay,
    Copy,
    LoanRule,
    Patron,
    SchoolClass,
    Title,
    index_titles,
    new_id,
)
from kiosk.data.demo.school import (
    ADULT_NAMES,
    BLOCKED_REASON,
    BOY_NAMES,
    BUILT_SETTING,
    CLASSES_PER_GRADE,
    DEMO_KIOSK,
    DEMO_LIBRARIAN,
    DEMO_PIN,
    DESK,
    FIRST_BARCODE,
    GIRL_NAMES,
    GRADE_NAMES,
    LIBRARY_NAME,
    RETURNED_LOANS,
    SURNAMES,
)

log = logging.getLogger(__name__)


@dataclass
class _Student:
    """A student as the builder plans them (``kind`` becomes ``helper`` for eight)."""

    number: str
    name: str
    class_name: str
    grade: int
    kind: str = "student"


@dataclass
class _Copy:
    """A copy as the builder plans its loans; ``title_key`` is (title, issue date)."""

    barcode: str
    title: str
    kind: str
    title_key: tuple[str, date | None]


@dataclass
class _Loan:
    """A planned loan: when it went out, when it is due, whether and when it came back."""

    patron: str
    copy: str
    out: datetime
    due: date
    node: str = DEMO_KIOSK
    returned: datetime | None = None
    uuid: str = ""


class Builder:
    """Fills an empty, migrated library with the demo's master data and facts."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.clocks = {DESK: HybridClock(DESK), DEMO_KIOSK: HybridClock(DEMO_KIOSK)}
        self.last_node = ""
        self.closed: set[date] = set()
        self.closed_weekdays: set[int] = set()
        self.rules: dict[tuple[str, str], tuple[int, int]] = {}
        self.events: list[tuple[datetime, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self.now = datetime.now().astimezone()

    # -- the whole build ------------------------------------------------------------

    def build(self) -> None:
        """Write everything, in one transaction opened by the caller."""
        settings.put("library_name", LIBRARY_NAME)
        settings.put("holds_students", "1")  # so a tester may reserve from a student's page
        self._calendar()
        self.rules = {
            (rule.patron_kind, rule.item_kind): (rule.loan_days, rule.max_items)
            for rule in LoanRule.select()
        }
        students, teachers, librarian = self._people()
        copies = self._catalogue()
        self._circulation(students, teachers, librarian, copies)
        self._roles(students, teachers)
        self._replay()
        settings.put(BUILT_SETTING, self.today.isoformat())

    # -- calendar ---------------------------------------------------------------------

    def _calendar(self) -> None:
        """National holidays around today (the library is closed, no book falls due)."""
        rows = []
        for year in (self.today.year - 1, self.today.year, self.today.year + 1):
            rows.append((date(year, 1, 1), "元旦 New Year's Day"))
            rows += [(date(year, 5, day), "劳动节 Labour Day") for day in range(1, 6)]
            rows += [(date(year, 10, day), "国庆节 National Day") for day in range(1, 8)]
        ClosedDay.insert_many(rows, fields=[ClosedDay.day, ClosedDay.reason]).execute()
        self.closed = {day for day, _ in rows}
        self.closed_weekdays = {
            int(day) for day in settings.get("closed_weekdays").split(",") if day.strip()
        }

    def _is_open(self, day: date) -> bool:
        return day.weekday() not in self.closed_weekdays and day not in self.closed

    def _open_days(self, oldest: int, newest: int) -> list[date]:
        """The open days from ``oldest`` to ``newest`` days ago, oldest first."""
        days = (self.today - timedelta(days=ago) for ago in range(oldest, newest - 1, -1))
        return [day for day in days if self._is_open(day)]

    def _due(self, start: date, days: int) -> date:
        """The due date of a loan of ``days`` from ``start``, as the kiosk computes it."""
        due = start + timedelta(days=days)
        while not self._is_open(due):
            due += timedelta(days=1)
        return due

    def _at(self, day: date, earliest: tuple[int, int] = (7, 40)) -> datetime:
        """A moment of the school day ``day``, local time, as an aware datetime."""
        start = earliest[0] * 60 + earliest[1]
        minute = self.rng.randint(start, 16 * 60 + 40)
        moment = clock_time(minute // 60, minute % 60, self.rng.randint(0, 59))
        return datetime.combine(day, moment).astimezone()

    # -- people -----------------------------------------------------------------------

    def _name(self, given: Sequence[str]) -> str:
        surname = SURNAMES[min(int(self.rng.expovariate(1 / 14)), len(SURNAMES) - 1)]
        return surname + self.rng.choice(given)

    def _people(self) -> tuple[list[_Student], list[str], str]:
        """Classes, students (some of them helpers), teachers and the librarian."""
        school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        class_rows: list[tuple[str, int]] = []
        students: list[_Student] = []
        for grade, count in enumerate(CLASSES_PER_GRADE, start=1):
            entered = school_year - (grade - 1)
            for number in range(1, count + 1):
                class_name = f"{GRADE_NAMES[grade - 1]}年级{number}班"
                class_rows.append((class_name, grade))
                names: set[str] = set()
                for seat in range(1, self.rng.randint(26, 32) + 1):
                    name = self._name(self.rng.choice((BOY_NAMES, GIRL_NAMES)))
                    while name in names:
                        name = self._name(self.rng.choice((BOY_NAMES, GIRL_NAMES)))
                    names.add(name)
                    students.append(
                        _Student(
                            f"{entered}{grade:02d}{number:02d}{seat:02d}", name, class_name, grade
                        )
                    )
        SchoolClass.insert_many(class_rows, fields=[SchoolClass.name, SchoolClass.grade]).execute()
        class_ids = {row.name: row.id for row in SchoolClass.select(SchoolClass.id, SchoolClass.name)}
        for helper in self.rng.sample([s for s in students if s.grade >= 4], 8):
            helper.kind = "helper"

        teachers = [f"T{n:04d}" for n in range(1, 21)]
        rows: list[dict[str, Any]] = [
            {"number": DEMO_LIBRARIAN, "name": "林静", "kind": "librarian", "school_class": None}
        ]
        rows += [
            {"number": number, "name": self._name(ADULT_NAMES), "kind": "teacher",
             "school_class": None}
            for number in teachers
        ]
        rows += [
            {"number": s.number, "name": s.name, "kind": s.kind,
             "school_class": class_ids[s.class_name]}
            for s in students
        ]
        for chunk in pw.chunked(rows, 200):
            Patron.insert_many(chunk).execute()
        patron_ids = {row.number: row.id for row in Patron.select(Patron.id, Patron.number)}

        # Every class has a head teacher; some teachers teach a second class too.
        classes = [name for name, _ in class_rows]
        links = {(teachers[i], classes[i]) for i in range(len(classes))}
        for teacher in teachers[len(classes):]:
            links.add((teacher, self.rng.choice(classes)))
        for teacher in self.rng.sample(teachers, 6):
            links.add((teacher, self.rng.choice(classes)))
        ClassTeacher.insert_many(
            [(patron_ids[t], class_ids[c]) for t, c in sorted(links)],
            fields=[ClassTeacher.teacher, ClassTeacher.school_class],
        ).execute()
        library.set_pin(DEMO_LIBRARIAN, DEMO_PIN)
        return students, teachers, DEMO_LIBRARIAN

    # -- catalogue --------------------------------------------------------------------

    def _catalogue(self) -> list[_Copy]:
        """Titles from the demo catalogue, magazine issues, and their copies."""
        titles: list[dict[str, Any]] = []
        counts: list[int] = []
        for row in read_titles():
            if row["kind"] == "periodical":
                for months_ago, issue_copies in ((2, 1), (1, 2), (0, 2)):
                    issue = month_start(self.today, months_ago)
                    titles.append(
                        {**row, "title": f"{row['title']} {issue.year}年第{issue.month}期",
                         "year": issue.year, "issue_date": issue}
                    )
                    counts.append(issue_copies)
                continue
            titles.append({**row, "issue_date": None})
            counts.append(self._copies_of(row))
        for title in titles:  # (a bulk insert: Title.save would make the key itself)
            title["search_key"] = title_keys(
                title["title"], title["author"], title["series"], None
            )
        for chunk in pw.chunked(titles, 100):
            Title.insert_many(chunk).execute()
        title_ids = {
            (title, issue): title_id
            for title_id, title, issue in Title.select(
                Title.id, Title.title, Title.issue_date
            ).tuples()
        }
        index_titles([
            (title_ids[(row["title"], row["issue_date"])], row["title"], row["author"],
             row["series"], None)
            for row in titles
        ])
        copies: list[_Copy] = []
        copy_rows: list[tuple[str, int, str, bool]] = []
        barcodes = itertools.count(FIRST_BARCODE)
        for title, count in zip(titles, counts):
            key = (title["title"], title["issue_date"])
            for _ in range(count):
                barcode = str(next(barcodes))
                copies.append(_Copy(barcode, title["title"], title["kind"], key))
                copy_rows.append(
                    (barcode, title_ids[key], title["classification"][:1],
                     title["kind"] == "reference")
                )
        fields = [Copy.barcode, Copy.title, Copy.shelf, Copy.reference_only]
        for batch in pw.chunked(copy_rows, 200):
            Copy.insert_many(batch, fields=fields).execute()
        return copies

    def _copies_of(self, row: dict[str, Any]) -> int:
        """How many copies a school library would hold of a title (1 to 10)."""
        if row["title"].startswith("新华字典"):
            return 10
        if row["kind"] == "reference":
            return self.rng.randint(1, 3)
        if row["classification"].startswith("G"):
            return self.rng.randint(1, 4)
        if row["title"].isascii():
            return self.rng.randint(2, 6)
        return self.rng.randint(4, 10)

    # -- circulation ------------------------------------------------------------------

    def _circulation(
        self, students: list[_Student], teachers: list[str], librarian: str, copies: list[_Copy]
    ) -> None:
        """Plan the cards, loans, returns, renewals, the hold and a few refusals."""
        rng = self.rng
        term_start = datetime.combine(self._school_day(30), clock_time(8, 0)).astimezone()
        everyone = [librarian, *teachers, *(s.number for s in students)]
        for offset, number in enumerate(everyone):
            self._event(term_start + timedelta(seconds=20 * offset), self._issue_card, number)

        readers = [s for s in students if s.kind == "student" and 3 <= s.grade <= 5]
        with_room, at_quota, overdue, blocked, reissued, left, waiting = rng.sample(readers, 7)
        special = {s.number for s in (with_room, at_quota, overdue, blocked, reissued, left, waiting)}
        ordinary = [s for s in students if s.kind == "student" and s.number not in special]
        rng.shuffle(ordinary)
        helpers = [s for s in students if s.kind == "helper"]

        lendable = [c for c in copies if c.kind in ("book", "picture_book")]
        by_title: dict[tuple[str, date | None], list[_Copy]] = {}
        for copy in lendable:
            by_title.setdefault(copy.title_key, []).append(copy)
        held = by_title.get(("哈利·波特与魔法石", None)) or next(
            group for group in by_title.values() if len(group) >= 2
        )
        pool = [c for c in lendable if c.title_key != held[0].title_key]
        rng.shuffle(pool)
        take = pool.pop

        # Open loans: the special students, then ordinary ones, helpers and teachers.
        self._loan(with_room.number, "student", take())
        for _ in range(2):
            self._loan(at_quota.number, "student", take())
        self._loan(overdue.number, "student", take(), overdue=True)
        late = [ordinary.pop() for _ in range(16)]
        for student in late:
            self._loan(student.number, "student", take(), overdue=True)
        self._loan(late[0].number, "student", take(), overdue=True)
        for student in late[1:5]:
            self._loan(student.number, "student", take())
        for _ in range(40):
            self._loan(ordinary.pop().number, "student", take())
        for turn in range(31):
            number = ordinary.pop().number
            if turn < 5:
                self._renewed_loan(number, take())
            else:
                self._loan(number, "student", take())
            self._loan(number, "student", take())
        for helper in helpers[:3]:
            for _ in range(rng.randint(1, 3)):
                self._loan(helper.number, "helper", take())
        for teacher in teachers[:6]:
            for _ in range(rng.randint(2, 5)):
                self._loan(teacher, "teacher", take(), node=DESK)
        for teacher in teachers[6:8]:
            self._loan(teacher, "teacher", take(), overdue=True, node=DESK)

        # Two students took last month's magazines home (a copy of each stays).
        last_month = month_start(self.today, 1)
        taken: set[tuple[str, date | None]] = set()
        for copy in copies:
            wanted = copy.kind == "periodical" and copy.title_key[1] == last_month
            if wanted and copy.title_key not in taken and len(taken) < 2:
                taken.add(copy.title_key)
                self._loan(ordinary.pop().number, "student", copy, oldest=6)

        # The hold: every copy of one title is out, a student reserves it, one comes back.
        back_day = self._school_day(1)
        hold_day = self._school_day(2)
        held_loans = [
            self._loan(ordinary.pop().number, "student", copy,
                       newest=(self.today - hold_day).days + 1)
            for copy in held
        ]
        first = next((loan for loan in held_loans if loan is not None), None)
        if first is not None:
            self._event(self._at(hold_day), self._fact, DEMO_KIOSK, Kind.HOLD, waiting.number,
                        first.copy)
            first.returned = self._at(back_day)
            self._event(first.returned, self._checkin, first)

        # A teacher's class set (教师预约登记): yesterday the librarian reserved three copies
        # of a title for the teacher's lesson next week; they wait to be fetched.
        sets = [copies for key, copies in by_title.items() if len(copies) >= 4 and copies[0]
                not in held]
        if sets:
            lesson = self.today + timedelta(days=7)
            while not self._is_open(lesson):
                lesson += timedelta(days=1)
            self._event(
                datetime.combine(self._school_day(1), clock_time(12, 5)).astimezone(),
                functools.partial(self._fact, count=3, needed_on=lesson.isoformat(), by=librarian),
                DESK, Kind.CLASS_SET, teachers[0], sets[0][0].barcode,
            )

        # A history of returned loans, including the student who has since left.
        self._returned(left.number, "student", take())
        history = [*ordinary, with_room, waiting, blocked, reissued]
        for _ in range(RETURNED_LOANS):
            self._returned(rng.choice(history).number, "student", take())

        # The reissued card, the blocked student and the student who left.
        self._event(self._at(self._school_day(7)), self._issue_card, reissued.number)
        Patron.update(blocked_reason=BLOCKED_REASON).where(
            Patron.number == blocked.number
        ).execute()
        Patron.update(active=False).where(Patron.number == left.number).execute()

        # A few refusals for the librarian's review.
        self._refusal(3, reissued, "card.revoked")
        self._refusal(2, blocked, "card.blocked", reason=BLOCKED_REASON)
        self._refusal(1, overdue, "patron.overdue", count=1)

        # Repair, loss and write-off; a class corner: of copies no one else's plan touches
        # (pool's end was lent above; the class set's title is reserved)
        spare = [c for c in pool[:60] if not sets or c.title_key != sets[0][0].title_key]
        self._stock(spare[:5], ordinary[0].number, librarian)
        self._corner(spare[5:17], students, teachers, librarian)

    def _stock(self, copies: list[_Copy], loser: str, librarian: str) -> None:
        """Repair, loss and write-off (kiosk/data/librarian/stock.py): one book sent to
        the repair box, one returned damaged, one repaired and back on its shelf, one
        lost by a student (paid for), one withdrawn as worn out; none can be lent."""
        sent, damaged, mended, lost, worn = (copy.barcode for copy in copies)
        by = {"by": librarian}
        self._event(self._at(self._school_day(4)), self._copy_status, sent, "repair",
                    {"action": "repair", **by})
        self._event(self._at(self._school_day(3)), functools.partial(
            self._fact, DEMO_KIOSK, Kind.CHECKIN, None, damaged, damaged=True))
        self._event(self._at(self._school_day(6)), self._copy_status, mended, "repair",
                    {"action": "repair", **by})
        self._event(self._at(self._school_day(2)), self._copy_status, mended, "available",
                    {"action": "repaired", **by})
        self._event(self._at(self._school_day(2)), self._copy_status, lost, "lost",
                    {"action": "lost", "settlement": "paid", **by}, loser)
        self._event(self._at(self._school_day(1)), self._copy_status, worn, "withdrawn",
                    {"action": "withdrawn", "reason": "worn_out", **by})

    def _corner(self, copies: list[_Copy], students: list[_Student], teachers: list[str],
                librarian: str) -> None:
        """A class corner out (kiosk/data/roles/corners.py): a dozen books lent to the
        second class's reading corner under its teacher (the first has the class set),
        due in six weeks."""
        classes = list(dict.fromkeys(s.class_name for s in students))  # teachers[i] heads i
        if len(classes) < 2 or len(teachers) < 2:
            return
        class_name, teacher = classes[1], teachers[1]
        corner = new_id()
        due = self._due(self.today, 42)
        moment = self._at(self._school_day(5))
        for n, copy in enumerate(copies):
            self._event(moment + timedelta(seconds=4 * n), functools.partial(
                self._fact, DESK, Kind.CORNER_LENT, teacher, copy.barcode, corner=corner,
                due_on=due.isoformat(), by=librarian, **{"class": class_name}))

    def _school_day(self, back: int) -> date:
        """The ``back``-th day the library was open before today (1 is the last one)."""
        return self._open_days(back * 3 + 30, 1)[-back]

    def _loan_days(self, patron_kind: str, item_kind: str) -> int:
        rule = self.rules.get((patron_kind, item_kind)) or self.rules[(patron_kind, "*")]
        return rule[0]

    def _loan(
        self,
        patron: str,
        patron_kind: str,
        copy: _Copy,
        *,
        overdue: bool = False,
        oldest: int | None = None,
        newest: int = 1,
        node: str = DEMO_KIOSK,
    ) -> _Loan | None:
        """Plan an open loan that is overdue today, or not; ``None`` if no day fits."""
        days = self._loan_days(patron_kind, copy.kind)
        if overdue:
            candidates = self._open_days(35, days + 1)
        else:
            candidates = self._open_days(min(oldest or days, days), newest)
        self.rng.shuffle(candidates)
        for day in candidates:
            due = self._due(day, days)
            if (due < self.today) == overdue:
                loan = _Loan(patron, copy.barcode, self._at(day), due, node=node)
                self._event(loan.out, self._checkout, loan)
                return loan
        return None

    def _renewed_loan(self, patron: str, copy: _Copy) -> None:
        """Plan a student's open loan of three weeks ago, renewed before it fell due."""
        days = self._loan_days("student", copy.kind)
        candidates = self._open_days(24, days + 1)
        self.rng.shuffle(candidates)
        for day in candidates:
            due = self._due(day, days)
            renew_days = [
                d for d in self._open_days(35, 1) if day + timedelta(days=8) <= d <= due
            ]
            if not renew_days:
                continue
            renewed_on = self.rng.choice(renew_days)
            new_due = self._due(max(renewed_on, due), days)
            if new_due < self.today:
                continue
            loan = _Loan(patron, copy.barcode, self._at(day), due)
            self._event(loan.out, self._checkout, loan)
            self._event(self._at(renewed_on), self._renew, loan, new_due)
            return
        self._loan(patron, "student", copy)

    def _returned(self, patron: str, patron_kind: str, copy: _Copy) -> None:
        """Plan a loan that went out in the last five weeks and came back before today."""
        days = self._loan_days(patron_kind, copy.kind)
        open_days = self._open_days(35, 1)
        for _ in range(20):
            out = self.rng.choice(open_days[:-1])
            back = [d for d in open_days if out < d <= out + timedelta(days=18)]
            if back:
                loan = _Loan(patron, copy.barcode, self._at(out), self._due(out, days))
                loan.returned = self._at(self.rng.choice(back))
                self._event(loan.out, self._checkout, loan)
                self._event(loan.returned, self._checkin, loan)
                return

    def _refusal(self, back: int, student: _Student, key: str, **params: Any) -> None:
        """Plan a refusal at the kiosk, recorded as the circulation service records one."""
        record = functools.partial(
            self._fact, DEMO_KIOSK, Kind.REFUSAL, student.number, None, reason=key,
            params={"number": student.number, "name": student.name, **params},
        )
        self._event(self._at(self._school_day(back)), record)

    # -- recording --------------------------------------------------------------------

    def _event(self, moment: datetime, action: Callable[..., Any], *args: Any) -> None:
        """Plan ``action(*args)`` at ``moment``; :meth:`_replay` runs them in time order."""
        self.events.append((moment, next(self._order), action, args))

    def _replay(self) -> None:
        """Record the planned facts in the order they happened, so the clock agrees."""
        for moment, _, action, args in sorted(self.events, key=lambda event: event[:2]):
            self.now = moment
            action(*args)

    def _clock(self, node: str) -> HybridClock:
        """The node's clock, moved past the journal whenever the other node wrote last."""
        clock = self.clocks[node]
        if node != self.last_node:
            last = journal.last_hlc()
            if last:
                clock.observe(last)
            self.last_node = node
        return clock

    def _fact(
        self, node: str, kind: str, patron: str | None, copy: str | None, **data: Any
    ) -> Fact:
        fact = new_fact(
            self._clock(node), node, kind, self.now, patron=patron, copy=copy, **data
        )
        journal.record(fact)
        return fact

    def _issue_card(self, number: str) -> None:
        library.issue_card(number, kiosk=DESK, when=self.now, clock=self._clock(DESK))

    def _copy_status(self, barcode: str, status: str, data: dict[str, Any] | None = None,
                     patron: str | None = None) -> None:
        extra = data or {"reason": ""}
        self._fact(DESK, Kind.COPY_STATUS, patron, barcode, status=status, **extra)

    def _checkout(self, loan: _Loan) -> None:
        fact = self._fact(loan.node, Kind.CHECKOUT, loan.patron, loan.copy,
                          due_on=loan.due.isoformat())
        loan.uuid = fact.uuid

    def _checkin(self, loan: _Loan) -> None:
        self._fact(DEMO_KIOSK, Kind.CHECKIN, loan.patron, loan.copy, loan=loan.uuid)

    def _renew(self, loan: _Loan, due: date) -> None:
        self._fact(DEMO_KIOSK, Kind.RENEW, loan.patron, loan.copy, loan=loan.uuid,
                   due_on=due.isoformat())
        loan.due = due

    # -- class visits and helper shifts (kiosk/data/roles.py) ---------------------------

    def _roles(self, students: list[_Student], teachers: list[str]) -> None:
        """Plan two weeks of reading-class visits (most with a roll call) and a helper's
        shift at each lunch break, which takes over that day's planned returns."""
        rng = random.Random(f"roles {self.today}")  # leaves the other plans' draws alone
        classes = list(dict.fromkeys(s.class_name for s in students))  # teachers[i] heads i
        days = self._open_days(14, 1)
        notes = ["《草房子》第一章", "绘本《猜猜我有多爱你》", "科普：恐龙", "", "《小王子》"]
        for n, day in enumerate(days):
            index = (n * 3) % len(classes)
            start = datetime.combine(day, clock_time(10, 0)).astimezone()
            visit: dict[str, str] = {}
            self._event(start, functools.partial(
                self._started, "visit_started", "visit", teachers[index], visit,
                **{"class": classes[index]}))
            pupils = [s for s in students if s.class_name == classes[index]]
            end: dict[str, Any] = {"note": notes[n % len(notes)], "ended_by": "card"}
            if n % 3 == 2:  # no roll call: the teacher's count, and the bell ended it
                end.update(ended_by="period", headcount=len(pupils) - rng.randint(0, 3))
            else:
                for seat, pupil in enumerate(p for p in pupils if rng.random() < 0.9):
                    self._event(start + timedelta(seconds=20 + 9 * seat), functools.partial(
                        self._role_fact, "visit_attendee", pupil.number, "visit", visit,
                        other_class=False))
            self._event(start + timedelta(minutes=40), functools.partial(
                self._role_fact, "visit_ended", teachers[index], "visit", visit, **end))
        helpers = [s.number for s in students if s.kind == "helper"]
        returns = [event for event in self.events if event[2] == self._checkin]
        for n, day in enumerate(days[-8:]):
            start = datetime.combine(day, clock_time(12, 10)).astimezone()
            shift: dict[str, str] = {}
            helper = helpers[n % len(helpers)]
            self._event(start, self._started, "shift_started", "shift", helper, shift)
            books = [e for e in returns if e[0].date() == day and e[3][0].out < start]
            for k, (_, order, _, (loan,)) in enumerate(books):
                loan.returned = start + timedelta(seconds=30 + 40 * k)
                self.events.remove(next(e for e in self.events if e[1] == order))
                self._event(loan.returned, self._helper_checkin, loan, shift)
            self._event(start + timedelta(minutes=20), functools.partial(
                self._role_fact, "shift_ended", helper, "shift", shift, ended_by="card"))

    def _started(self, kind: str, key: str, patron: str, holder: dict[str, str],
                 **data: Any) -> None:
        """A ``*_started`` fact whose UUID names the visit or shift (kept in ``holder``)."""
        fact = new_fact(
            self._clock(DEMO_KIOSK), DEMO_KIOSK, kind, self.now, patron=patron, **data
        )
        fact = replace(fact, data={**fact.data, key: fact.uuid})
        journal.record(fact)
        holder["id"] = fact.uuid

    def _role_fact(self, kind: str, patron: str, key: str, holder: dict[str, str],
                   **data: Any) -> None:
        self._fact(DEMO_KIOSK, kind, patron, None, **{key: holder["id"]}, **data)

    def _helper_checkin(self, loan: _Loan, shift: dict[str, str]) -> None:
        self._fact(DEMO_KIOSK, Kind.CHECKIN, loan.patron, loan.copy, loan=loan.uuid,
                   shift=shift["id"])


def month_start(today: date, months_ago: int) -> date:
    """The first day of the month ``months_ago`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - months_ago
    return date(index // 12, index % 12 + 1, 1)


def read_titles() -> list[dict[str, Any]]:
    """The demo catalogue (``assets/demo/titles.csv``) as rows ready for :class:`Title`.

    Raises:
        ValueError: a row names a kind of item the kiosk does not know.
    """
    source = resources.files("kiosk.assets.demo").joinpath("titles.csv")
    rows = []
    for row in csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"), newline="")):
        if row["kind"] not in ITEM_KINDS:
            raise ValueError(f"titles.csv: unknown kind {row['kind']!r} for {row['title']}")
        rows.append(
            {
                "title": row["title"],
                "author": row["author"],
                "publisher": row["publisher"],
                "year": int(row["year"]) if row["year"] else None,
                "classification": row["classification"],
                "kind": row["kind"],
                "series": row.get("series") or "",
            }
        )
    return rows
