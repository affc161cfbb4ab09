"""Peewee models: the library's master data, its circulation state and the journal.

Master data (patrons, classes, cards, titles, copies, rules, calendar, settings) is
owned by the desk. Circulation state (loans, holds, copy status) is a projection of
the journal: every fact is a ``Journal`` row written in the same transaction as the
state it changes (see :mod:`kiosk.data.core.journal`).

Facts refer to patrons and copies by their natural keys (patron number, copy
barcode), which are the same in every database a fact travels to.
"""

from __future__ import annotations

import peewee as pw

try:
    from uuid import uuid7  # type: ignore[attr-defined,unused-ignore]  # Python 3.14
except ImportError:  # pragma: no cover - before 3.14
    from uuid6 import uuid7

from kiosk.data.core.db import database
from kiosk.data.core.findkeys import title_keys, title_words

PATRON_KINDS = ("student", "teacher", "helper", "librarian")
"""Who a patron is. Helpers are students with a helper card."""

ITEM_KINDS = ("book", "picture_book", "periodical", "reference")
"""What a title is; loan rules are chosen by patron kind and item kind."""

COPY_STATUSES = ("available", "on_loan", "hold_shelf", "repair", "lost", "withdrawn")
"""Where a copy is. Only ``available`` and ``hold_shelf`` copies can be lent."""

HOLD_STATUSES = ("waiting", "ready", "fulfilled", "cancelled", "expired")
OPEN_HOLDS = ("waiting", "ready")
"""The statuses of a hold that has not ended (a reservation still open)."""
"""Where a hold is: ``waiting`` for a copy, ``ready`` (a copy waits on the hold shelf),
or ended: ``fulfilled`` (lent to the patron), ``cancelled``, ``expired``."""


class BaseModel(pw.Model):
    """Every model is bound to the one database proxy."""

    class Meta:
        database = database
        legacy_table_names = False


class SchoolClass(BaseModel):
    """A class of the school, such as 三年级2班 (grade 3, class 2)."""

    name = pw.CharField(unique=True)
    grade = pw.IntegerField(null=True)
    active = pw.BooleanField(default=True)


class Patron(BaseModel):
    """Someone who may borrow: a student, teacher, helper or librarian."""

    number = pw.CharField(unique=True)
    name = pw.CharField()
    kind = pw.CharField(default="student", choices=[(k, k) for k in PATRON_KINDS])
    school_class = pw.ForeignKeyField(SchoolClass, null=True, backref="patrons")
    active = pw.BooleanField(default=True)
    blocked_reason = pw.CharField(null=True)
    pin_hash = pw.CharField(null=True)


class ClassTeacher(BaseModel):
    """A teacher's own class (a teacher may have several, a class several teachers)."""

    teacher = pw.ForeignKeyField(Patron, backref="teaching", on_delete="CASCADE")
    school_class = pw.ForeignKeyField(SchoolClass, backref="teachers", on_delete="CASCADE")

    class Meta:
        indexes = ((("teacher", "school_class"), True),)


class Card(BaseModel):
    """One printed card. A patron's newest unrevoked serial is the only valid one."""

    patron = pw.ForeignKeyField(Patron, backref="cards", on_delete="CASCADE")
    serial = pw.IntegerField()
    issued_at = pw.DateTimeField()
    revoked_at = pw.DateTimeField(null=True)
    expires_on = pw.DateField(null=True)

    class Meta:
        indexes = ((("patron", "serial"), True),)


def new_id() -> str:
    """A new UUID for a fact (and the loan a checkout opens).

    Version 7 (RFC 9562): its first 48 bits are the time in milliseconds (``uuid6``
    moves it on by one for each id made within the same millisecond, so a burst of
    ids runs ahead of the clock: nothing reads that time back), then random bits. Ids
    made one after another sort one after another, and a journal or loan table's unique
    index takes each new one near the last instead of at a random page. (With version 4
    a kiosk's catch-up on 19,000 facts took half again as long in its journal inserts.)
    """
    return str(uuid7())


def new_key() -> str:
    """A new natural key for a row that has none of its own (a title)."""
    return uuid7().hex


class Title(BaseModel):
    """A bibliographic record: what is on the title page, and what kind of item it is.

    ``key`` names the title in facts (titles have no natural key: an ISBN may be
    missing or shared by two editions). ``search_key`` is what finding a book at the
    kiosk matches (:mod:`kiosk.data.core.findkeys`): made whenever the title is saved,
    by :meth:`save` here and by every path that writes titles in bulk.
    """

    key = pw.CharField(unique=True, null=True, default=new_key)
    isbn = pw.CharField(null=True, index=True)
    title = pw.CharField()
    author = pw.CharField(default="")
    publisher = pw.CharField(default="")
    year = pw.IntegerField(null=True)
    classification = pw.CharField(default="")
    kind = pw.CharField(default="book", choices=[(k, k) for k in ITEM_KINDS])
    issue_date = pw.DateField(null=True)
    series = pw.CharField(default="")
    search_key = pw.TextField(default="")

    def save(self, *args: object, **kwargs: object) -> int | bool:
        """Save the title with its search key and words made from what it says now."""
        self.search_key = title_keys(self.title, self.author, self.series, self.isbn)
        saved = super().save(*args, **kwargs)  # type: ignore[arg-type]
        index_titles([(self.id, self.title, self.author, self.series, self.isbn)])
        return saved


class TitleWord(BaseModel):
    """A word a title is found by (:func:`kiosk.data.core.findkeys.title_words`).

    Finding a book looks a typed word up here by its beginning, in an index, rather
    than reading every title's key: a keystroke costs the same on 300 titles and on
    100,000. ``rank`` says where the word comes from (title, series, author, ISBN).
    """

    word = pw.CharField(max_length=24)
    title = pw.ForeignKeyField(Title, backref="words", on_delete="CASCADE")
    rank = pw.SmallIntegerField(default=0)

    class Meta:
        primary_key = False
        indexes = ((("word", "rank", "title"), False),)


def index_titles(rows: list[tuple[int, str, str, str, str | None]]) -> None:
    """Write the words of titles saved (id, title, author, series, ISBN), in place of the
    words they had. Every path that saves titles in bulk calls it (masterdata, the demo);
    :meth:`Title.save` does for one."""
    if not rows:
        return
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 400):
        TitleWord.delete().where(TitleWord.title.in_(ids[start : start + 400])).execute()
    words = [
        (word, title_id, rank)
        for title_id, title, author, series, isbn in rows
        for word, rank in title_words(title, author, series, isbn).items()
    ]
    db = database.obj
    if isinstance(db, pw.SqliteDatabase):  # one statement, run per row by sqlite3
        with pw.__exception_wrapper__:
            db.cursor().executemany(
                'INSERT INTO "title_word" ("word", "title_id", "rank") VALUES (?, ?, ?)', words
            )
        return
    fields = [TitleWord.word, TitleWord.title, TitleWord.rank]
    for start in range(0, len(words), 1000):
        TitleWord.insert_many(words[start : start + 1000], fields=fields).execute()


SHELF_LENGTH = 60
"""The longest shelf name kept (an import cuts longer ones): a shelf check's area must
equal its copies' shelf exactly, so both cut at this one length."""


def shelf_area(shelf: str, classification: str) -> str:
    """Where a copy belongs: its own shelf, else its classification's class letter.

    The returns say it (``Circulation._route``) and the shelf checks expect it, so a
    helper shelves a book where a shelf check looks for it.
    """
    return shelf or classification[:1]


class Copy(BaseModel):
    """One physical item with its accession barcode."""

    barcode = pw.CharField(unique=True)
    title = pw.ForeignKeyField(Title, backref="copies")
    shelf = pw.CharField(default="")
    status = pw.CharField(default="available", choices=[(s, s) for s in COPY_STATUSES])
    reference_only = pw.BooleanField(default=False)


class Loan(BaseModel):
    """A copy lent to a patron; its id is the UUID of the checkout fact."""

    id = pw.CharField(primary_key=True, max_length=36)
    copy = pw.ForeignKeyField(Copy, backref="loans")
    patron = pw.ForeignKeyField(Patron, backref="loans")
    out_at = pw.DateTimeField()
    due_on = pw.DateField()
    returned_at = pw.DateTimeField(null=True)
    renewals = pw.IntegerField(default=0)
    kiosk = pw.CharField(default="")
    corner = pw.CharField(null=True, max_length=36, index=True)
    """The class book corner the copy is lent to (``None``: an ordinary loan). A corner's
    loans are the teacher's, but count against no one's quota (migration 0008)."""

    class Meta:
        indexes = ((("patron", "returned_at"), False),)


# At most one open loan per copy, enforced by the database itself.
Loan.add_index(
    Loan.index(Loan.copy, unique=True, name="loan_one_open_per_copy").where(
        Loan.returned_at.is_null()
    )
)


class Hold(BaseModel):
    """A reservation of a title; ``copy`` is set when a copy waits on the hold shelf.

    Its id is the UUID of the ``hold`` fact that placed it (a class set's holds: ids
    derived from the ``class_set`` fact's, see :mod:`kiosk.data.core.projection_holds`).
    ``needed_on`` is the day a teacher needs a class set (or a hold) for; ``class_set``
    the class set it belongs to; ``placed_by`` the librarian who placed it for the
    patron; ``ended_at`` when it was fulfilled, cancelled or expired (migration 0007).
    """

    id = pw.CharField(primary_key=True, max_length=36)
    title = pw.ForeignKeyField(Title, backref="holds")
    patron = pw.ForeignKeyField(Patron, backref="holds")
    copy = pw.ForeignKeyField(Copy, null=True, backref="holds")
    placed_at = pw.DateTimeField()
    status = pw.CharField(default="waiting", choices=[(s, s) for s in HOLD_STATUSES])
    ready_at = pw.DateTimeField(null=True)
    needed_on = pw.DateField(null=True)
    class_set = pw.CharField(null=True, max_length=36, index=True)
    placed_by = pw.CharField(null=True)
    ended_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("title", "status"), False),)


class LoanRule(BaseModel):
    """How long and how many: by patron kind and item kind (``*`` for every kind).

    The ``*`` rule of a patron kind caps all of a patron's loans together; a rule for
    one item kind caps the loans of that kind and sets their loan period.
    """

    patron_kind = pw.CharField()
    item_kind = pw.CharField(default="*")
    loan_days = pw.IntegerField()
    max_items = pw.IntegerField()
    max_renewals = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("patron_kind", "item_kind"), True),)


class ClosedDay(BaseModel):
    """A day the library is closed (holiday, exam day); weekends are a setting."""

    day = pw.DateField(unique=True)
    reason = pw.CharField(default="")


class Setting(BaseModel):
    """A library-wide setting (school name, card secret, returns-only switch...)."""

    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class Journal(BaseModel):
    """One fact, append-only: what happened, where, when, to whom.

    ``seq`` orders the rows of this database; ``hlc`` (a hybrid logical clock) orders
    facts from several kiosks; ``uuid`` makes a fact the same fact everywhere.
    ``pushed_at`` is set once the desk has accepted the row; ``desk_seq`` is the row's
    place in the desk's order, known once it comes back in a pull (see docs/sync.md).
    """

    seq = pw.AutoField()
    uuid = pw.CharField(unique=True, max_length=36)
    kind = pw.CharField()
    kiosk = pw.CharField()
    wall_time = pw.DateTimeField(index=True)
    hlc = pw.CharField(index=True)
    patron = pw.CharField(null=True, index=True)
    copy = pw.CharField(null=True, index=True)
    data = pw.TextField(default="{}")
    pushed_at = pw.DateTimeField(null=True)
    desk_seq = pw.BigIntegerField(null=True)


# The facts waiting to be pushed, found without reading the whole journal.
Journal.add_index(
    Journal.index(Journal.seq, name="journal_unpushed").where(Journal.pushed_at.is_null())
)
CASE_REVIEWED = "case_reviewed"
"""The kind of fact that marks a case reviewed (the only kind the journal indexes)."""
IS_CASE_REVIEWED = Journal.kind == pw.SQL(f"'{CASE_REVIEWED}'")
"""The condition of the reviewed cases' partial index, and of the query that reads
them through it (one definition, so the two cannot drift apart)."""
# The reviewed cases, the one kind of fact read without a time range (migration 0004:
# an index of every row's kind cost each pulled fact about 3%).
Journal.add_index(Journal.index(Journal.seq, name="journal_case_reviewed").where(IS_CASE_REVIEWED))


class LocalState(BaseModel):
    """What belongs to this database alone and never travels: its role (kiosk or desk),
    a kiosk's identity, its desk and its sync cursor."""

    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class KioskRegistration(BaseModel):
    """At the desk: a kiosk allowed to sync, and how its last sync went."""

    kiosk = pw.CharField(primary_key=True)
    name = pw.CharField(default="")
    token_hash = pw.CharField()
    registered_at = pw.DateTimeField()
    last_seen_at = pw.DateTimeField(null=True)
    cursor = pw.BigIntegerField(default=0)
    facts_pushed = pw.BigIntegerField(default=0)


class Sip2Terminal(BaseModel):
    """At the desk: a self-service machine allowed to speak SIP2 to it (``kiosk sip2``).

    ``name`` is its login (SIP2 field CN) and the kiosk id its facts carry; only the
    password's scrypt hash is kept. ``encoding`` is how the machine's text travels
    (``utf-8``, or ``gb18030`` for older units); ``language`` the screen messages' language
    when the machine does not say one (empty: the library's default).
    """

    name = pw.CharField(primary_key=True)
    password_hash = pw.CharField()
    location = pw.CharField(default="")
    encoding = pw.CharField(default="utf-8")
    language = pw.CharField(default="")
    created_at = pw.DateTimeField()
    last_login_at = pw.DateTimeField(null=True)


class SyncCase(BaseModel):
    """At the desk: a conflict the sync resolved by its rule, for the librarian to review."""

    kind = pw.CharField(index=True)
    fact = pw.CharField(max_length=36)
    other = pw.CharField(null=True, max_length=36)
    kiosk = pw.CharField()
    patron = pw.CharField(null=True)
    copy = pw.CharField(null=True)
    created_at = pw.DateTimeField()
    data = pw.TextField(default="{}")
    resolved_by = pw.CharField(null=True)
    resolved_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("fact", "kind"), True),)


class ClassVisit(BaseModel):
    """A class's reading lesson in the library; its id is the UUID of the visit_started fact.

    ``headcount`` is the number of students who scanned their cards (or the teacher's
    count when there was no roll call); ``ended_by`` says how it ended (``card``,
    ``period``, ``new_visit``...).
    """

    id = pw.CharField(primary_key=True, max_length=36)
    school_class = pw.ForeignKeyField(SchoolClass, backref="visits")
    teacher = pw.ForeignKeyField(Patron, backref="class_visits")
    started_at = pw.DateTimeField(index=True)
    ended_at = pw.DateTimeField(null=True)
    headcount = pw.IntegerField(default=0)
    note = pw.TextField(default="")
    ended_by = pw.CharField(default="")
    kiosk = pw.CharField(default="")


class VisitAttendee(BaseModel):
    """A student counted in a class visit's roll call (once, however often scanned)."""

    visit = pw.ForeignKeyField(ClassVisit, backref="attendees", on_delete="CASCADE")
    patron = pw.ForeignKeyField(Patron, backref="visits_attended")
    scanned_at = pw.DateTimeField()
    other_class = pw.BooleanField(default=False)

    class Meta:
        indexes = ((("visit", "patron"), True),)


class HelperShift(BaseModel):
    """A student helper's turn at the return station; its id is the shift_started fact's UUID."""

    id = pw.CharField(primary_key=True, max_length=36)
    helper = pw.ForeignKeyField(Patron, backref="shifts")
    started_at = pw.DateTimeField(index=True)
    ended_at = pw.DateTimeField(null=True)
    books = pw.IntegerField(default=0)
    kiosk = pw.CharField(default="")


class HelperReturn(BaseModel):
    """One book returned in a helper's shift (its ``checkin`` fact): what ``books`` counts.

    Keyed by the fact, so applying a fact twice (a replay, a rebase) counts it once.
    """

    fact = pw.CharField(primary_key=True, max_length=36)
    shift = pw.ForeignKeyField(HelperShift, backref="returns", on_delete="CASCADE")
    copy = pw.ForeignKeyField(Copy, backref="helper_returns")
    returned_at = pw.DateTimeField()


class ShelfCheck(BaseModel):
    """A check of one shelf area: every book on it scanned, to see what is missing."""

    id = pw.CharField(primary_key=True, max_length=36)
    shelf = pw.CharField(index=True)
    helper = pw.ForeignKeyField(Patron, null=True, backref="shelf_checks")
    started_at = pw.DateTimeField()
    ended_at = pw.DateTimeField(null=True)
    kiosk = pw.CharField(default="")


class ShelfCheckItem(BaseModel):
    """A copy found on the shelf during a shelf check."""

    check = pw.ForeignKeyField(ShelfCheck, backref="items", on_delete="CASCADE")
    copy = pw.ForeignKeyField(Copy, backref="shelf_checks")
    scanned_at = pw.DateTimeField()

    class Meta:
        indexes = ((("check", "copy"), True),)


class ClassCorner(BaseModel):
    """A set of books lent to a class for its reading corner (班级图书角), under a teacher.

    Its id is the corner's UUID, named by each ``corner_lent`` fact (the first makes the
    row); ``corner_returned`` closes it and says how many books were missing.
    """

    id = pw.CharField(primary_key=True, max_length=36)
    school_class = pw.ForeignKeyField(SchoolClass, backref="corners")
    teacher = pw.ForeignKeyField(Patron, backref="corners")
    opened_at = pw.DateTimeField(index=True)
    due_on = pw.DateField()
    closed_at = pw.DateTimeField(null=True)
    closed_by = pw.CharField(default="")
    missing = pw.IntegerField(default=0)
    kiosk = pw.CharField(default="")


class CopyEvent(BaseModel):
    """One step in a copy's life at the librarian's hands: to repair, repaired, lost,
    found, withdrawn (and a damaged return): the repair log and the write-off list.

    Keyed by the fact, so a replay writes each once; ``patron`` is who lost it.
    """

    fact = pw.CharField(primary_key=True, max_length=36)
    copy = pw.ForeignKeyField(Copy, backref="events")
    action = pw.CharField()
    status = pw.CharField()
    reason = pw.CharField(default="")
    settlement = pw.CharField(default="")
    patron = pw.ForeignKeyField(Patron, null=True, backref="copy_events")
    by = pw.CharField(default="")
    at = pw.DateTimeField(index=True)
    kiosk = pw.CharField(default="")


MODELS: tuple[type[BaseModel], ...] = (
    SchoolClass,
    Patron,
    ClassTeacher,
    Card,
    Title,
    TitleWord,
    Copy,
    Loan,
    Hold,
    LoanRule,
    ClosedDay,
    Setting,
    Journal,
    LocalState,
    KioskRegistration,
    Sip2Terminal,
    SyncCase,
    ClassVisit,
    VisitAttendee,
    HelperShift,
    HelperReturn,
    ShelfCheck,
    ShelfCheckItem,
    ClassCorner,
    CopyEvent,
)
"""Every model, in an order where a table comes after the tables it refers to."""
