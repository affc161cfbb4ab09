"""Finding a book at the kiosk (找书): titles by what a child types, with where they
stand and whether one is in.

A search matches every term typed against each title's stored search key (title,
series, author and ISBN, with pinyin and pinyin initials: :mod:`kiosk.data.core.findkeys`),
so ``cfz`` finds 草房子 and no Chinese is converted while searching. The titles
found come best first (the first term at the start of a word before inside one, in
the title before in its series or author, earlier before later, shorter titles before
longer), at most
:data:`LIMIT` of them, each with its call number, the shelf areas its copies belong
on, how many copies are in and when the next one is due back.

A scanned copy barcode finds its own title first; a scanned ISBN finds its editions.

The results are plain values keyed by the title's id (:class:`FoundTitle`), so what a
screen does with one found title (show it, reserve it) needs nothing more of this
module.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

import peewee as pw

from kiosk.data.core.findkeys import WORD_LENGTH, query_terms
from kiosk.data.core.models import Copy, Loan, Title, TitleWord, shelf_area
from kiosk.data.core.store import Store

LIMIT = 30
"""The most titles a search returns (a screen shows fewer; nobody reads further)."""

CANDIDATES = 3000
"""The most indexed words a search reads for its longest term (the first in the
index's order: the word itself, then the shortest words it begins). A term that begins
more words than this is too short to choose from them: the screen asks for more."""

GONE = ("lost", "withdrawn")
"""Copy statuses that the library no longer has."""


@dataclass(frozen=True)
class FoundTitle:
    """One title found, as the find screen shows it (and a reservation names it).

    ``title_id`` is the :class:`~kiosk.data.core.models.Title` row's id at this kiosk,
    ``key`` the title's key in facts.
    """

    title_id: int
    key: str
    title: str
    author: str
    series: str
    isbn: str
    kind: str
    call_number: str
    """The classification on the spine label (中图法, e.g. ``I287.45``)."""
    shelves: tuple[str, ...]
    """The shelf areas its copies belong on, those with a copy in first."""
    copies: int
    """The copies the library has (not lost or withdrawn)."""
    copies_in: int
    """Copies on the shelf now (not lent, not waiting for someone, not in repair)."""
    next_due: date | None
    """When the first copy lent out is due back (``None``: none is lent)."""
    reference: bool = False
    """Read in the library only (a reference title, or only reference copies)."""

    @property
    def shelf(self) -> str:
        """Where to look first: the shelf area of a copy that is in, or of any copy."""
        return self.shelves[0] if self.shelves else ""


@dataclass(frozen=True)
class FindResult:
    """What a search found: the titles, best first, and whether there were more."""

    query: str
    titles: tuple[FoundTitle, ...] = ()
    more: bool = False
    """More titles match than were returned (the child should type more)."""
    terms: tuple[str, ...] = field(default=())
    """The terms searched for, as folded (empty: nothing to search for)."""


class Finder:
    """Searches the catalogue of the store's database.

    Args:
        store: the library database (the kiosk's own, or a desk's).
    """

    def __init__(self, store: Store, *, limit: int = LIMIT) -> None:
        self.store = store
        self.limit = limit
        self._nothing: set[str] | None = None
        """Terms found inside no title's key in the search before (cleared when the
        text typed stops growing: the catalogue may have changed since)."""
        self._last = ""

    def find(self, query: str) -> FindResult:
        """The titles whose search key holds every term of ``query``, best first.

        Raises:
            kiosk.data.core.errors.StorageError: the database cannot be read.
        """
        terms = query_terms(query)
        if not query.startswith(self._last) or not terms:
            self._nothing = None  # not typing on: what matched nothing may match now
        self._last = query
        if not terms:
            return FindResult(query)
        with self.store.reading():
            ids = self._scanned(query.strip())
            ids += [i for i in self._matching(terms) if i not in ids]
            more = len(ids) > self.limit
            titles = self._describe(ids[: self.limit])
        return FindResult(query, tuple(titles), more, tuple(terms))

    def title(self, title_id: int) -> FoundTitle | None:
        """One title by its id, described as a search would (``None``: no such title)."""
        with self.store.reading():
            found = self._describe([title_id])
        return found[0] if found else None

    # -- matching ---------------------------------------------------------------------

    def _scanned(self, code: str) -> list[int]:
        """The title of the copy whose barcode is ``code`` (a scanned label), if any."""
        if not code or " " in code or len(code) > 64:
            return []
        row = Copy.select(Copy.title).where(Copy.barcode == code).tuples().first()
        return [row[0]] if row else []

    def _matching(self, terms: list[str]) -> list[int]:
        """Ids of the titles matching every term, best first, one more than the limit.

        On SQLite (every kiosk) the longest term is looked up in the title words'
        index by its beginning (:class:`~kiosk.data.core.models.TitleWord`), the first
        :data:`CANDIDATES` words in the index's order, then the other terms are found
        in those titles' keys: a keystroke reads about as much on 100,000 titles as on
        300. A term that begins no word (``otter`` in "potter") is then looked for
        inside every key, as on PostgreSQL (a desk), where every term is.
        """
        key = Title.search_key
        if isinstance(self.store.db, pw.SqliteDatabase):
            found = self._by_words(terms)
            if found:
                return found
            if self._nothing and any(bad in term for bad in self._nothing for term in terms):
                return []  # a term holding one found in no key is found in no key
        position = pw.fn.STRPOS if isinstance(self.store.db, pw.PostgresqlDatabase) else pw.fn.INSTR
        # ILIKE is SQLite's LIKE (case does not matter: keys and terms are folded) and
        # PostgreSQL's ILIKE; the terms hold letters and digits only, nothing to escape.
        condition = reduce(operator.and_, [key ** f"%{term}%" for term in terms])
        # Best first: the term at the start of a word, the earlier the better (the
        # title's own forms come first in a key), then shorter titles. One comparison
        # a matching title ("not at a word's start", 0, goes last).
        word_start = pw.fn.COALESCE(
            pw.fn.NULLIF(position(key, pw.Value(" " + terms[0])), 0), 100_000
        )
        query = (
            Title.select(Title.id)
            .where(condition)
            .order_by(word_start, pw.fn.LENGTH(Title.title), Title.id)
            .limit(self.limit + 1)
            .tuples()
        )
        found = [row[0] for row in query]
        if not found:
            self._nothing = {*(self._nothing or ()), *terms}
        return found

    def _by_words(self, terms: list[str]) -> list[int]:
        """The titles with a word beginning with the longest term (SQLite)."""
        lead = max(terms, key=len)[:WORD_LENGTH]
        others = [term for term in terms if term != lead]
        words = (
            TitleWord.select(TitleWord.title, TitleWord.rank, TitleWord.word)
            .where((TitleWord.word >= lead) & (TitleWord.word < lead + "\U0010ffff"))
            .order_by(TitleWord.word)
            .limit(CANDIDATES)
            .alias("words")
        )
        best = pw.fn.MIN(words.c.rank * 2 + (words.c.word != lead))
        candidates = (
            pw.Select([words], [words.c.title_id, best.alias("best")])
            .group_by(words.c.title_id)
            .alias("candidates")
        )
        query = (
            Title.select(Title.id)
            .join(candidates, on=(Title.id == candidates.c.title_id))
            .order_by(candidates.c.best, pw.fn.LENGTH(Title.title), Title.id)
            .limit(self.limit + 1)
            .tuples()
        )
        for term in others:
            query = query.where(Title.search_key ** f"%{term}%")
        return [row[0] for row in query]

    # -- describing -------------------------------------------------------------------

    def _describe(self, ids: list[int]) -> list[FoundTitle]:
        """The found titles, in the order of ``ids``, with their copies' whereabouts."""
        if not ids:
            return []
        titles = {
            row.id: row
            for row in Title.select(
                Title.id, Title.key, Title.title, Title.author, Title.series, Title.isbn,
                Title.kind, Title.classification,
            ).where(Title.id.in_(ids))
        }
        counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        areas_in: dict[int, list[str]] = defaultdict(list)
        areas: dict[int, list[str]] = defaultdict(list)
        lendable: dict[int, bool] = defaultdict(bool)
        rows = (
            Copy.select(Copy.title, Copy.shelf, Copy.status, Copy.reference_only,
                        pw.fn.COUNT(Copy.id))
            .where(Copy.title.in_(ids))
            .group_by(Copy.title, Copy.shelf, Copy.status, Copy.reference_only)
            .tuples()
        )
        for title_id, shelf, status, reference_only, count in rows:
            counts[title_id][status] += count
            if status in GONE:
                continue
            area = shelf_area(shelf, titles[title_id].classification)
            lendable[title_id] |= not reference_only
            if area and area not in areas[title_id]:
                areas[title_id].append(area)
            if status == "available" and area and area not in areas_in[title_id]:
                areas_in[title_id].append(area)
        due: dict[int, date] = dict(
            Loan.select(Copy.title, pw.fn.MIN(Loan.due_on).python_value(_as_date))
            .join(Copy)
            .where(Copy.title.in_(ids) & Loan.returned_at.is_null())
            .group_by(Copy.title)
            .tuples()
        )
        found = []
        for title_id in ids:
            title = titles.get(title_id)
            if title is None:
                continue
            status = counts[title_id]
            shelves = sorted(areas_in[title_id]) + sorted(
                a for a in areas[title_id] if a not in areas_in[title_id]
            )
            found.append(
                FoundTitle(
                    title_id=title.id,
                    key=title.key or "",
                    title=title.title,
                    author=title.author,
                    series=title.series,
                    isbn=title.isbn or "",
                    kind=title.kind,
                    call_number=title.classification,
                    shelves=tuple(shelves),
                    copies=sum(n for s, n in status.items() if s not in GONE),
                    copies_in=status.get("available", 0),
                    next_due=due.get(title_id),
                    reference=title.kind == "reference"
                    or (bool(areas[title_id]) and not lendable[title_id]),
                )
            )
        return found


def _as_date(value: object) -> date | None:
    """A date as the database gives back a MIN() of dates (SQLite: text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
