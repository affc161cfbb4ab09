"""The school the fault harness plays: its roster and catalogue, and what happens in a day.

Everything here is drawn from one ``random.Random``, and nothing depends on what the
services answered, so a seed gives the same operations in the same order on every
run (their outcomes may differ: they depend on when syncs and faults land). An
operation is a plain tuple a child process carries out (``bench/faults_child.py``):

kiosks
    ``("borrow", number, older_card, [barcodes])``: scan the card, lend the books;
    ``("return", pick, damaged, barcode)``: return the open loan at ``pick`` (0-1) of
    the kiosk's list, or ``barcode`` if it knows none; ``("renew", pick)``: the
    borrower of that loan renews it; ``("visit_start", teacher, class)``,
    ``("roll_call", teacher, [numbers])``, ``("visit_end", teacher, note, count)``;
    ``("shift_start", helper)``, ``("helper_returns", helper, [picks])``,
    ``("shift_end", helper)``; ``("bad_scan", code)``.
the desk
    ``("roster", csv, [new numbers])`` (the new students get their cards),
    ``("catalogue", csv)``, ``("reissue", number)``,
    ``("revoke", number)``, ``("hold", number, barcode)``, ``("copy_status", barcode,
    status)``, ``("desk_return", pick)``, ``("desk_renew", pick)``.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import Any

Op = tuple[Any, ...]

GRADES = 6
CLASSES_PER_GRADE = 2
STUDENTS_PER_CLASS = 20
HELPERS_PER_CLASS = 1
TITLES = 200
HOT_COPIES = 30
"""The popular books: half of all loans are of these, so kiosks offline at the same
time lend the same copy (``lent_twice``) and return each other's loans."""


@dataclass
class Person:
    """A student, a helper or a teacher on the school's roster."""

    number: str
    name: str
    school_class: str
    kind: str = "student"
    classes: tuple[str, ...] = ()


@dataclass
class Book:
    """A title and its copies, as a catalogue file lists them."""

    title: str
    author: str
    classification: str
    barcodes: list[str]
    shelf: str


@dataclass
class School:
    """The school's roster and catalogue as the office and the librarian keep them."""

    classes: list[str] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    gone: dict[str, Person] = field(default_factory=dict)
    books: list[Book] = field(default_factory=list)
    numbers: int = 0

    @classmethod
    def founded(cls) -> School:
        """The school on the first day."""
        school = cls()
        for grade in range(1, GRADES + 1):
            for letter in "ABCDEFGH"[:CLASSES_PER_GRADE]:
                name = f"{grade}{letter}"
                school.classes.append(name)
                for i in range(STUDENTS_PER_CLASS):
                    school.add_student(name, "helper" if i < HELPERS_PER_CLASS else "student")
        for i, name in enumerate(school.classes):
            number = f"T{i + 1:03d}"
            school.people[number] = Person(number, f"Teacher {number}", name, "teacher", (name,))
        for i in range(TITLES):
            school.add_book(i)
        return school

    def add_student(self, school_class: str, kind: str = "student") -> Person:
        """A new student in ``school_class``."""
        self.numbers += 1
        number = f"S{self.numbers:04d}"
        person = Person(number, f"Student {number}", school_class, kind)
        self.people[number] = person
        return person

    def add_book(self, i: int) -> Book:
        """A new title with one to three copies."""
        copies = 1 + i % 3
        first = sum(len(b.barcodes) for b in self.books)
        book = Book(
            f"Book {i:04d}", f"Author {i % 37}", "ABCIKN"[i % 6] + str(100 + i % 50),
            [f"B{first + j + 1:06d}" for j in range(copies)], "ABCIKN"[i % 6],
        )
        self.books.append(book)
        return book

    @property
    def barcodes(self) -> list[str]:
        """Every copy in the catalogue, in the order it was bought."""
        return [code for book in self.books for code in book.barcodes]

    def of_kind(self, *kinds: str) -> list[Person]:
        """Everyone on the roster of these kinds, in roster order."""
        return [p for p in self.people.values() if p.kind in kinds]

    def roster_csv(self, classes: set[str] | None = None) -> str:
        """The office's roster file (of ``classes`` only, if given): students missing
        from a class in the file have left; teachers come with their classes."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["number", "name", "class", "role", "classes"])
        for p in self.people.values():
            if p.kind == "teacher":
                writer.writerow([p.number, p.name, "", "teacher", "、".join(p.classes)])
            elif classes is None or p.school_class in classes:
                writer.writerow([p.number, p.name, p.school_class, p.kind, ""])
        return out.getvalue()

    def catalogue_csv(self, books: list[Book]) -> str:
        """A catalogue file of ``books`` (the others are left as they are)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["title", "author", "classification", "barcode", "shelf"])
        for book in books:
            writer.writerow([book.title, book.author, book.classification,
                             ";".join(book.barcodes), book.shelf])
        return out.getvalue()


@dataclass
class _Session:
    """A visit or a helper's shift a kiosk is in the middle of."""

    kind: str
    who: str
    left: int


class SchoolDay:
    """Draws each kiosk's next operation and the desk's, from one random generator."""

    def __init__(self, school: School, rng: random.Random, kiosks: list[str]) -> None:
        self.school = school
        self.rng = rng
        self.sessions: dict[str, _Session | None] = dict.fromkeys(kiosks)
        self.busy: set[str] = set()
        """Teachers and helpers in a session at some kiosk."""

    # -- kiosks --------------------------------------------------------------------

    def _copy(self) -> str:
        codes = self.school.barcodes
        if self.rng.random() < 0.5:
            return self.rng.choice(codes[:HOT_COPIES])
        return self.rng.choice(codes)

    def _student(self) -> str:
        return self.rng.choice(self.school.of_kind("student", "helper")).number

    def kiosk_op(self, kiosk: str) -> Op:
        """The next thing that happens at ``kiosk``."""
        rng = self.rng
        session = self.sessions[kiosk]
        if session is not None:
            return self._session_op(kiosk, session)
        roll = rng.random()
        if roll < 0.40:
            count = 1 if rng.random() < 0.7 else 2
            return ("borrow", self._student(), rng.random() < 0.05,
                    [self._copy() for _ in range(count)])
        if roll < 0.72:
            return ("return", rng.random(), rng.random() < 0.03, self._copy())
        if roll < 0.80:
            return ("renew", rng.random())
        if roll < 0.86:
            free = [t for t in self.school.of_kind("teacher") if t.number not in self.busy]
            if free:
                teacher = rng.choice(free)
                self.busy.add(teacher.number)
                self.sessions[kiosk] = _Session("visit", teacher.number, rng.randint(1, 3))
                return ("visit_start", teacher.number, rng.choice(teacher.classes))
        if roll < 0.94:
            free = [h for h in self.school.of_kind("helper") if h.number not in self.busy]
            if free:
                helper = rng.choice(free)
                self.busy.add(helper.number)
                self.sessions[kiosk] = _Session("shift", helper.number, rng.randint(1, 3))
                return ("shift_start", helper.number)
        return ("bad_scan", rng.choice(["LK:not-a-card", "", "B999999", "\x00\x1b[2J"]))

    def _session_op(self, kiosk: str, session: _Session) -> Op:
        rng = self.rng
        if session.left <= 0:
            self.sessions[kiosk] = None
            self.busy.discard(session.who)
            if session.kind == "visit":
                return ("visit_end", session.who, rng.choice(["", "Read fables", "读了童话"]),
                        rng.randint(0, 25))
            return ("shift_end", session.who)
        session.left -= 1
        if session.kind == "visit":
            return ("roll_call", session.who, [self._student() for _ in range(rng.randint(1, 3))])
        return ("helper_returns", session.who, [rng.random() for _ in range(rng.randint(1, 3))])

    # -- the desk ------------------------------------------------------------------

    def desk_op(self) -> Op:
        """The next thing the librarian does at the desk."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.20:
            return ("reissue", self._student())
        if roll < 0.30:
            return ("revoke", self._student())
        if roll < 0.45:
            return ("desk_return", rng.random())
        if roll < 0.52:
            return ("desk_renew", rng.random())
        if roll < 0.67:
            return ("hold", self._student(), self._copy())
        if roll < 0.80:
            status = rng.choice(["lost", "repair", "withdrawn", "available", "available"])
            return ("copy_status", self._copy(), status)
        if roll < 0.90:
            before = set(self.school.people)
            text = self._roster_change()
            return ("roster", text, sorted(set(self.school.people) - before))
        return ("catalogue", self._catalogue_change())

    def _roster_change(self) -> str:
        """Students move class, join or leave (and some come back); the office sends the
        lists of the classes concerned."""
        school, rng = self.school, self.rng
        touched: set[str] = set()
        for _ in range(rng.randint(1, 3)):
            what = rng.random()
            students = school.of_kind("student")
            if what < 0.4 and students:
                person = rng.choice(students)
                touched.add(person.school_class)
                person.school_class = rng.choice(school.classes)
                touched.add(person.school_class)
            elif what < 0.7:
                touched.add(school.add_student(rng.choice(school.classes)).school_class)
            elif what < 0.9 and students:
                person = rng.choice(students)
                del school.people[person.number]
                school.gone[person.number] = person
                touched.add(person.school_class)
            elif school.gone:
                number = rng.choice(sorted(school.gone))
                person = school.gone.pop(number)
                school.people[number] = person
                touched.add(person.school_class)
        return school.roster_csv(touched)

    def _catalogue_change(self) -> str:
        """New titles arrive and some copies move shelves."""
        school, rng = self.school, self.rng
        books = [school.add_book(len(school.books)) for _ in range(rng.randint(1, 8))]
        for book in rng.sample(school.books[:-len(books)], rng.randint(0, 4)):
            book.shelf = rng.choice(["A", "B", "C", "I", "K", "N", "new"])
            books.append(book)
        return school.catalogue_csv(books)
