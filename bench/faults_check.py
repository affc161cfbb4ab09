"""The fault harness's checker: what must hold after every fault, read from the databases.

It reads the kiosks' SQLite files and the PostgreSQL desk with plain SQL (``sqlite3``
and ``psycopg2``, not the kiosk's models), so it does not trust the code it checks;
the kiosk's code serves only to replay journals (``faults_kiosk.rebuild`` and
``replay_desk``), whose results it then reads the same way.

* :func:`dead_kiosk`, after a kiosk was killed (before it starts again): its file is
  sound, it holds every fact it acknowledged, the desk holds a prefix of its facts and
  everything it marked sent, and it holds exactly the desk's facts up to its cursor;
  :func:`replayed`, on a :func:`snapshot` of its file taken then (in a process of its
  own, while the round goes on): its state is a replay of its journal.
* :func:`live_kiosk`, after a cut or stall: the push prefix, read in an order that
  makes it hold while the kiosk runs.
* :func:`desk`, after the desk's program was killed or its connections terminated:
  the desk holds every fact its program acknowledged, one open loan per copy, no fact
  without its projection and no projection without its fact.
* :func:`final`, after the last sync: all of that, every acknowledged fact exactly
  once at the desk, every kiosk's facts and state the desk's, every state a replay,
  and every conflict with its case and no case without its conflict
  (:func:`expected_cases`, a model of the conflict rules of docs/sync.md).

Each check returns :class:`Finding` objects: ``lost``, ``doubled``, ``mismatch``,
``phantom`` or ``broken``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import faults_kiosk as fk
import psycopg2  # type: ignore[import-untyped]

KINDS = ("lost", "doubled", "mismatch", "phantom", "broken")


@dataclass(frozen=True)
class Finding:
    """Something that must not be: ``kind`` (one of :data:`KINDS`) and what."""

    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


MASTER = (
    "class_saved", "patron_saved", "teacher_classes", "title_saved", "copy_saved",
    "rule_saved", "rule_deleted", "closed_day_saved", "closed_day_deleted", "setting_saved",
)
"""The kinds of master fact (``kinds.MASTER``), which kiosks apply but do not keep."""
_MASTER_SQL = "(" + ", ".join(f"'{k}'" for k in MASTER) + ")"


# -- reading ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as text or number, the same from SQLite and PostgreSQL."""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def rows(conn: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` with plain values (``?`` placeholders become ``%s`` on
    PostgreSQL)."""
    if not isinstance(conn, sqlite3.Connection):
        sql = sql.replace("?", "%s")
    cursor = conn.cursor()
    cursor.execute(sql, args)
    return [tuple(_plain(v) for v in row) for row in cursor.fetchall()]


def open_kiosk(path: Path) -> sqlite3.Connection:
    """A read-only connection to a kiosk's file (its WAL included)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def open_desk(url: str) -> Any:
    """A read-only connection to the desk that reads one snapshot per transaction."""
    conn = psycopg2.connect(url, connect_timeout=10, application_name="faults-checker")
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    return conn


STATE = {
    "loans": 'SELECT l."id", c."barcode", p."number", l."out_at", l."due_on", l."returned_at",'
             ' l."renewals", l."kiosk" FROM "loan" l JOIN "copy" c ON c."id" = l."copy_id"'
             ' JOIN "patron" p ON p."id" = l."patron_id"',
    "statuses": 'SELECT "barcode", "status" FROM "copy"',
    "holds": 'SELECT h."id", t."key", p."number", h."status", c."barcode", h."placed_at",'
             ' h."ready_at" FROM "hold" h JOIN "title" t ON t."id" = h."title_id"'
             ' JOIN "patron" p ON p."id" = h."patron_id"'
             ' LEFT JOIN "copy" c ON c."id" = h."copy_id"',
    "cards": 'SELECT p."number", k."serial", k."issued_at", k."expires_on", k."revoked_at"'
             ' FROM "card" k JOIN "patron" p ON p."id" = k."patron_id"',
    "visits": 'SELECT v."id", s."name", p."number", v."started_at", v."ended_at",'
              ' v."headcount", v."note", v."ended_by", v."kiosk" FROM "class_visit" v'
              ' JOIN "school_class" s ON s."id" = v."school_class_id"'
              ' JOIN "patron" p ON p."id" = v."teacher_id"',
    "attendees": 'SELECT a."visit_id", p."number", a."scanned_at", a."other_class"'
                 ' FROM "visit_attendee" a JOIN "patron" p ON p."id" = a."patron_id"',
    "shifts": 'SELECT s."id", p."number", s."started_at", s."ended_at", s."books", s."kiosk"'
              ' FROM "helper_shift" s JOIN "patron" p ON p."id" = s."helper_id"',
    "helper_returns": 'SELECT r."fact", r."shift_id", c."barcode", r."returned_at"'
                      ' FROM "helper_return" r JOIN "copy" c ON c."id" = r."copy_id"',
}
"""The state a journal's facts make, by natural keys (no row ids)."""

MASTER_STATE = {
    "copies": 'SELECT c."barcode", t."key", c."shelf", c."reference_only" FROM "copy" c'
              ' JOIN "title" t ON t."id" = c."title_id"',
    "patrons": 'SELECT p."number", p."name", p."kind", s."name", p."active" FROM "patron" p'
               ' LEFT JOIN "school_class" s ON s."id" = p."school_class_id"',
}


def state(conn: Any, parts: dict[str, str] = STATE) -> dict[str, list[tuple[Any, ...]]]:
    """The state of a database, each table's rows sorted."""
    return {name: sorted(rows(conn, sql), key=repr) for name, sql in parts.items()}


def differences(a: dict[str, list[Any]], b: dict[str, list[Any]], limit: int = 3) -> list[str]:
    """What differs between two states, table by table (a few rows each)."""
    said = []
    for name in a:
        left, right = Counter(a[name]), Counter(b[name])
        if left != right:
            only_a = list((left - right).elements())[:limit]
            only_b = list((right - left).elements())[:limit]
            said.append(f"{name}: only in the first {only_a}, only in the second {only_b}")
    return said


# -- a kiosk ------------------------------------------------------------------------------


def _own_facts(kiosk: Any, name: str) -> list[tuple[str, bool, Any]]:
    """The kiosk's own facts in the order it made them: (UUID, marked sent, desk_seq)."""
    return [
        (uuid, pushed is not None, desk_seq)
        for uuid, pushed, desk_seq in rows(
            kiosk, 'SELECT "uuid", "pushed_at", "desk_seq" FROM "journal" WHERE "kiosk" = ?'
            ' ORDER BY "seq"', name)
    ]


def push_prefix(kiosk: Any, desk: Any, name: str) -> list[Finding]:
    """The desk holds the first of the kiosk's facts, each once, and all it marked sent.

    Read so that it holds while both run: what the kiosk marked sent before the desk
    is read (a batch reaches the desk before the kiosk marks it), and the kiosk's own
    list after it (the list only grows, so a prefix stays a prefix).
    """
    found = []
    marked = {uuid for uuid, sent, _ in _own_facts(kiosk, name) if sent}
    at_desk = [u for (u,) in rows(desk, 'SELECT "uuid" FROM "journal" WHERE "kiosk" = ?'
                                  ' ORDER BY "seq"', name)]
    counted = rows(desk, 'SELECT "facts_pushed" FROM "kiosk_registration" WHERE "kiosk" = ?', name)
    desk.rollback()
    order = [uuid for uuid, _, _ in _own_facts(kiosk, name)]
    if len(at_desk) != len(set(at_desk)):
        found.append(Finding("doubled", f"{name}: a fact twice at the desk"))
    if set(at_desk) != set(order[: len(at_desk)]):
        missing = set(at_desk) - set(order)
        what = f"{len(missing)} facts the kiosk does not have" if missing else "a gap"
        found.append(Finding("lost", f"{name}: the desk holds {what} in the kiosk's facts"))
    if not marked <= set(at_desk):
        found.append(Finding("lost", f"{name}: {len(marked - set(at_desk))} facts marked sent"
                                     " are not at the desk"))
    if counted and counted[0][0] != len(at_desk):
        kind = "doubled" if counted[0][0] > len(at_desk) else "mismatch"
        found.append(Finding(kind, f"{name}: the desk counted {counted[0][0]} facts pushed,"
                                   f" holds {len(at_desk)}"))
    return found


def pull_prefix(kiosk: Any, desk: Any, name: str) -> list[Finding]:
    """The kiosk holds exactly the desk's circulation facts up to its cursor, and its
    own facts carry the desk's numbers (read with the kiosk still: after a kill)."""
    cursor = int(rows(kiosk, 'SELECT "value" FROM "local_state" WHERE "key" = ?', "cursor")[0][0])
    foreign = {u for (u,) in rows(kiosk, 'SELECT "uuid" FROM "journal" WHERE "kiosk" <> ?', name)}
    placed = dict(rows(kiosk, 'SELECT "uuid", "desk_seq" FROM "journal" WHERE "kiosk" = ?', name))
    upto = rows(desk, 'SELECT "uuid", "kiosk", "seq" FROM "journal" WHERE "seq" <= ?'
                f' AND "kind" NOT IN {_MASTER_SQL}', cursor)
    desk_seq = dict(rows(desk, 'SELECT "uuid", "seq" FROM "journal" WHERE "kiosk" = ?', name))
    desk.rollback()
    expected = {uuid for uuid, who, _ in upto if who != name}
    found = []
    if foreign != expected:
        found.append(Finding("lost" if expected - foreign else "mismatch",
                             f"{name}: facts from elsewhere are not the desk's up to its cursor"
                             f" {cursor} ({len(expected - foreign)} missing,"
                             f" {len(foreign - expected)} extra)"))
    for uuid, seq in placed.items():
        if seq is not None and seq != desk_seq.get(uuid):
            found.append(Finding("mismatch", f"{name}: own fact {uuid} placed at {seq},"
                                             f" the desk says {desk_seq.get(uuid)}"))
            break
    return found


def snapshot(path: Path, copy: Path) -> Path:
    """A consistent copy of the SQLite file at ``path`` (``VACUUM INTO``)."""
    remove(copy)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        source.execute("VACUUM INTO ?", (str(copy),))
    finally:
        source.close()
    copy.chmod(0o600)  # as the kiosk keeps its file: opening it must not warn
    return copy


def remove(path: Path) -> None:
    """Delete an SQLite file and its companions."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


def replayed(copy: Path, label: str) -> list[Finding]:
    """The state in ``copy`` (a snapshot of a kiosk) equals a replay of its journal.

    Replays into the copy itself and deletes it afterwards; ``label`` names the kiosk
    (and the fault) in the findings. Run in a process of its own by the harness, so
    the kiosks go on meanwhile.
    """
    try:
        conn = open_kiosk(copy)
        try:
            before = state(conn)
        finally:
            conn.close()
        fk.rebuild(copy)
        conn = open_kiosk(copy)
        try:
            after = state(conn)
        finally:
            conn.close()
    finally:
        remove(copy)
    return [Finding("mismatch", f"{label}: state is not a replay of its journal: {d}")
            for d in differences(before, after)]


def dead_kiosk(path: Path, name: str, acks: set[str], desk: Any) -> list[Finding]:
    """What must hold for a kiosk killed a moment ago (and not yet restarted), but the
    replay of its journal (:func:`replayed`, on a :func:`snapshot` taken meanwhile)."""
    found = []
    kiosk = open_kiosk(path)
    try:
        check = rows(kiosk, "PRAGMA quick_check")[0][0]
        if check != "ok":
            return [Finding("broken", f"{name}: the kiosk's file is damaged: {check}")]
        mine = {uuid for uuid, _, _ in _own_facts(kiosk, name)}
        if not acks <= mine:
            found.append(Finding("lost", f"{name}: {len(acks - mine)} acknowledged facts are"
                                         f" gone from the kiosk, e.g. {sorted(acks - mine)[:3]}"))
        found += push_prefix(kiosk, desk, name)
        found += pull_prefix(kiosk, desk, name)
    finally:
        kiosk.close()
    return found


def live_kiosk(path: Path, name: str, desk: Any) -> list[Finding]:
    """What can be checked while the kiosk runs: the push prefix."""
    kiosk = open_kiosk(path)
    try:
        return push_prefix(kiosk, desk, name)
    finally:
        kiosk.close()


# -- facts and their projections ----------------------------------------------------------


def _sample(values: Iterable[Any], n: int = 3) -> list[Any]:
    return sorted(values, key=repr)[:n]


def projections(conn: Any, where: str) -> list[Finding]:
    """No fact without its projection and no projection without its fact, one open loan
    per copy (``where`` names the database in the findings)."""
    found = []

    def bad(kind: str, what: str, sql: str) -> None:
        hits = rows(conn, sql)
        if hits:
            found.append(Finding(kind, f"{where}: {what} ({len(hits)}, e.g. {_sample(hits)})"))

    bad("doubled", "copies with more than one open loan",
        'SELECT "copy_id", COUNT(*) FROM "loan" WHERE "returned_at" IS NULL'
        ' GROUP BY "copy_id" HAVING COUNT(*) > 1')
    bad("mismatch", "loans without their checkout",
        'SELECT l."id" FROM "loan" l LEFT JOIN "journal" j ON j."uuid" = l."id"'
        ' AND j."kind" = \'checkout\' WHERE j."uuid" IS NULL')
    bad("mismatch", "loans that differ from their checkout",
        'SELECT l."id" FROM "loan" l JOIN "journal" j ON j."uuid" = l."id"'
        ' JOIN "copy" c ON c."id" = l."copy_id" JOIN "patron" p ON p."id" = l."patron_id"'
        ' WHERE j."copy" <> c."barcode" OR j."patron" <> p."number" OR j."wall_time" <> l."out_at"')
    bad("lost", "checkouts without their loan",
        'SELECT j."uuid" FROM "journal" j JOIN "copy" c ON c."barcode" = j."copy"'
        ' JOIN "patron" p ON p."number" = j."patron" LEFT JOIN "loan" l ON l."id" = j."uuid"'
        ' WHERE j."kind" = \'checkout\' AND l."id" IS NULL')
    bad("mismatch", "holds without their fact",
        'SELECT h."id" FROM "hold" h LEFT JOIN "journal" j ON j."uuid" = h."id"'
        ' AND j."kind" = \'hold\' WHERE j."uuid" IS NULL')
    bad("lost", "holds placed without their hold",
        'SELECT j."uuid" FROM "journal" j JOIN "copy" c ON c."barcode" = j."copy"'
        ' JOIN "patron" p ON p."number" = j."patron" LEFT JOIN "hold" h ON h."id" = j."uuid"'
        ' WHERE j."kind" = \'hold\' AND h."id" IS NULL')
    bad("mismatch", "helper returns without their return",
        'SELECT r."fact" FROM "helper_return" r LEFT JOIN "journal" j ON j."uuid" = r."fact"'
        ' AND j."kind" = \'checkin\' WHERE j."uuid" IS NULL')
    patrons = {n for (n,) in rows(conn, 'SELECT "number" FROM "patron"')}
    classes = {n for (n,) in rows(conn, 'SELECT "name" FROM "school_class"')}
    issued, started, shifts = set(), set(), set()
    for uuid, kind, patron, data in rows(
        conn, 'SELECT "uuid", "kind", "patron", "data" FROM "journal" WHERE "kind" IN'
        " ('card_issued', 'visit_started', 'shift_started')"
    ):
        values = json.loads(data)
        if patron not in patrons:
            continue  # (a patron this database never knew: the fact changes nothing)
        if kind == "card_issued":
            issued.add((patron, values["serial"]))
        elif kind == "visit_started" and values.get("class") in classes:
            started.add(values.get("visit") or uuid)
        elif kind == "shift_started":
            shifts.add(values.get("shift") or uuid)
    for what, facts, sql in (
        ("cards", issued, 'SELECT p."number", k."serial" FROM "card" k'
                          ' JOIN "patron" p ON p."id" = k."patron_id"'),
        ("class visits", started, 'SELECT "id" FROM "class_visit"'),
        ("helper shifts", shifts, 'SELECT "id" FROM "helper_shift"'),
    ):
        made = {row if len(row) > 1 else row[0] for row in rows(conn, sql)}
        if made - facts:
            found.append(Finding("mismatch", f"{where}: {what} without their fact:"
                                             f" {_sample(made - facts)}"))
        if facts - made:
            found.append(Finding("lost", f"{where}: {what} facts without their row:"
                                         f" {_sample(facts - made)}"))
    return found


def desk(conn: Any, acks: set[str]) -> list[Finding]:
    """After the desk's program was killed or its connections cut: it holds what its
    program acknowledged, and its state is sound (one snapshot)."""
    have = {u for (u,) in rows(conn, 'SELECT "uuid" FROM "journal" WHERE "kiosk" = ?', fk.DESK)}
    found = []
    if not acks <= have:
        found.append(Finding("lost", f"desk: {len(acks - have)} facts its program acknowledged"
                                     f" are not there, e.g. {_sample(acks - have)}"))
    found += projections(conn, "desk")
    conn.rollback()
    return found


# -- the conflict rules, modelled ---------------------------------------------------------

_AWAY = ("lost", "withdrawn", "repair")


def expected_cases(journal: Sequence[tuple[Any, ...]],
                   possible: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """The cases (kind, fact) the desk must have recorded for its journal.

    ``lent_held`` (a copy set aside on the hold shelf for one patron, lent to another at
    a kiosk that did not know: docs/holds.md) is not modelled: the queue of holds, what
    a loan of another copy fulfils and where each copy goes are the holds' own rules,
    and a second model of them is still to write. The checkouts that *could* meet it (a
    kiosk's checkout of a copy returned before, of a title someone else had reserved
    before, in the desk's order) go into ``possible``, when given: a ``lent_held`` case
    elsewhere is a finding, a missing one is not seen.

    ``journal`` is the desk's facts in its order: (uuid, kind, kiosk, wall_time,
    patron, copy, data). The desk applies facts in that order, so replaying them in a
    model of the state the rules look at (which copies and patrons it knows, each copy's
    open loan and status, the patrons' cards and whether they are active) says, for each
    kiosk's fact, which rule of docs/sync.md it meets. Written from the table there, not
    from the code, so that the two can disagree.
    """
    titles: set[str] = set()
    status: dict[str, str] = {}
    active: dict[str, bool] = {}
    revoked: dict[tuple[str, int], Any] = {}
    open_loan: dict[str, tuple[str, Any]] = {}
    cases: set[tuple[str, str]] = set()
    title_of: dict[str, str] = {}
    reserved: dict[str, set[str]] = {}
    came_back: set[str] = set()
    for uuid, kind, kiosk, wall, patron, copy, text in journal:
        data = json.loads(text)
        from_kiosk = kiosk != fk.DESK
        known = copy in status
        loan = open_loan.get(copy) if known else None

        def case(name: str, from_kiosk: bool = from_kiosk, uuid: str = uuid) -> None:
            if from_kiosk:
                cases.add((name, uuid))

        def card_revoked(data: dict[str, Any] = data, patron: str = patron,
                         wall: Any = wall) -> bool:
            serial = data.get("card")
            when = revoked.get((patron, serial)) if serial is not None else None
            return patron in active and when is not None and when <= wall

        if kind == "title_saved":
            titles.add(data["key"])
        elif kind == "copy_saved":
            if data["title"] in titles:
                status.setdefault(copy, "available")
                title_of[copy] = data["title"]
        elif kind in ("hold", "class_set") and known:
            reserved.setdefault(data.get("title") or title_of[copy], set()).add(patron)
        elif kind == "patron_saved":
            active[patron] = data.get("active", True)
        elif kind == "card_issued" and patron in active:
            serial = data["serial"]
            revoked.setdefault((patron, serial), None)
            for key, when in revoked.items():
                if key[0] == patron and key[1] < serial and when is None:
                    revoked[key] = wall
        elif kind == "card_revoked" and patron in active:
            if revoked.get((patron, data["serial"]), 0) is None:
                revoked[(patron, data["serial"])] = wall
        elif kind == "copy_status" and known:
            if data["status"] == "withdrawn" and loan is not None:
                case("lent_written_off")  # written off at a kiosk: a reader has it
            if data["status"] == "lost" and loan is not None and loan[1] <= wall:
                open_loan.pop(copy, None)  # the loss ends its loan
            status[copy] = data["status"]
        elif kind in ("checkout", "corner_lent") and known:
            if (possible is not None and from_kiosk and copy in came_back
                    and reserved.get(title_of[copy], set()) - {patron}):
                possible.add(("lent_held", uuid))
            if loan is not None:
                case("lent_twice")
            if status[copy] == "withdrawn":
                case("lent_written_off")
            elif status[copy] in _AWAY:
                case("lent_unavailable")
            if active.get(patron) is False:
                case("inactive_patron")
            if card_revoked():
                case("revoked_card")
            if patron in active:
                if loan is None or loan[1] <= wall:
                    open_loan[copy] = (uuid, wall)
                if status[copy] != "withdrawn":  # a write-off stays (docs/sync.md)
                    status[copy] = "on_loan"
        elif kind == "checkin" and known:
            believed = data.get("loan")
            if loan is not None and loan[1] > wall:
                case("stale_return")
            elif loan is None and believed and status[copy] != "lost":
                case("returned_twice")
            elif loan is not None and believed and believed != loan[0]:
                case("returned_other_loan")
            if status[copy] in ("lost", "withdrawn"):
                case("lost_copy_returned")
            if loan is not None and loan[1] > wall:
                continue
            came_back.add(copy)
            open_loan.pop(copy, None)
            if data.get("damaged"):
                status[copy] = "repair"
            elif status[copy] not in _AWAY:
                status[copy] = "available"
        elif kind == "renew":
            if loan is None or loan[0] != data.get("loan"):
                case("renew_ended")
            if card_revoked():
                case("revoked_card")
    return cases


def cases(conn: Any) -> list[Finding]:
    """Every conflict at the desk has its case, and every case its conflict."""
    journal = rows(conn, 'SELECT "uuid", "kind", "kiosk", "wall_time", "patron", "copy", "data"'
                         ' FROM "journal" ORDER BY "seq"')
    recorded = set(rows(conn, 'SELECT "kind", "fact" FROM "sync_case"'))
    possible: set[tuple[str, str]] = set()
    expected = expected_cases(journal, possible)
    held = {case for case in recorded if case[0] == "lent_held"}
    recorded -= held
    found = []
    if held - possible:
        found.append(Finding("mismatch", "desk: lent_held cases where no copy set aside for"
                                         f" another could be lent: {_sample(held - possible)}"))
    if expected - recorded:
        found.append(Finding("mismatch", f"desk: conflicts without their case:"
                                         f" {_sample(expected - recorded, 5)}"))
    if recorded - expected:
        found.append(Finding("mismatch", f"desk: cases without their conflict:"
                                         f" {_sample(recorded - expected, 5)}"))
    return found


# -- after the last sync ------------------------------------------------------------------

_FACTS = ('SELECT "uuid", "kind", "kiosk", "wall_time", "hlc", "patron", "copy", "data"'
          f' FROM "journal" WHERE "kind" NOT IN {_MASTER_SQL}')


def final(desk_url: str, kiosks: dict[str, Path], acks: dict[str, set[str]],
          scratch: Path) -> tuple[list[Finding], dict[str, Any]]:
    """Everything that must hold once every kiosk has synced after the faults; and the
    figures (facts at the desk, cases by kind)."""
    found: list[Finding] = []
    conn = open_desk(desk_url)
    try:
        everything = rows(conn, 'SELECT "uuid", "kiosk" FROM "journal"')
        uuids = Counter(uuid for uuid, _ in everything)
        twice = [uuid for uuid, n in uuids.items() if n > 1]
        if twice:
            found.append(Finding("doubled", f"desk: {len(twice)} facts twice: {twice[:3]}"))
        for actor, theirs in sorted(acks.items()):
            missing = theirs - uuids.keys()
            if missing:
                found.append(Finding("lost", f"{actor}: {len(missing)} acknowledged facts are"
                                             f" not at the desk, e.g. {_sample(missing)}"))
        found += projections(conn, "desk")
        found += cases(conn)
        desk_state, desk_master = state(conn), state(conn, MASTER_STATE)
        desk_facts = {row[0]: row for row in rows(conn, _FACTS)}
        last = rows(conn, 'SELECT MAX("seq") FROM "journal"')[0][0]
        figures: dict[str, Any] = {
            "facts": len(everything),
            "circulation facts": len(desk_facts),
            "cases": dict(Counter(k for (k,) in rows(conn, 'SELECT "kind" FROM "sync_case"'))),
        }
        conn.rollback()
        fk.replay_desk(desk_url, scratch / "desk-replay.sqlite")
        replay = open_kiosk(scratch / "desk-replay.sqlite")
        try:
            found += [Finding("mismatch", f"desk: state is not a replay of its journal: {d}")
                      for d in differences(desk_state, state(replay))]
        finally:
            replay.close()
            remove(scratch / "desk-replay.sqlite")
        for name, path in sorted(kiosks.items()):
            kiosk = open_kiosk(path)
            try:
                found += push_prefix(kiosk, conn, name)
                unsent = rows(kiosk, 'SELECT COUNT(*) FROM "journal" WHERE "pushed_at" IS NULL'
                                     ' OR "desk_seq" IS NULL')[0][0]
                if unsent:
                    found.append(Finding("lost", f"{name}: {unsent} facts not placed at the desk"
                                                 " after the last sync"))
                cursor = rows(kiosk, 'SELECT "value" FROM "local_state" WHERE "key" = ?',
                              "cursor")[0][0]
                if int(cursor) != last:
                    found.append(Finding("mismatch", f"{name}: cursor {cursor}, the desk's last"
                                                     f" fact {last}"))
                facts = {row[0]: row for row in rows(kiosk, _FACTS)}
                if facts != desk_facts:
                    lost = desk_facts.keys() - facts.keys()
                    extra = facts.keys() - desk_facts.keys()
                    changed = [u for u in facts.keys() & desk_facts.keys()
                               if facts[u] != desk_facts[u]]
                    found.append(Finding("mismatch", f"{name}: facts differ from the desk's:"
                                                     f" {len(lost)} missing, {len(extra)} extra,"
                                                     f" {len(changed)} changed {changed[:2]}"))
                found += [Finding("mismatch", f"{name}: state differs from the desk's: {d}")
                          for d in differences(state(kiosk), desk_state)]
                found += [Finding("mismatch", f"{name}: master data differs from the desk's: {d}")
                          for d in differences(state(kiosk, MASTER_STATE), desk_master)]
                found += projections(kiosk, name)
            finally:
                kiosk.close()
            found += replayed(snapshot(path, scratch / f"{name}-replay.sqlite"), name)
    finally:
        conn.close()
    return found, figures
