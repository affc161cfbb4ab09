"""The desk's import commands: ``kiosk import patrons FILE`` and ``kiosk import catalogue FILE``.

:func:`add_commands` adds them to the ``kiosk`` parser (:mod:`kiosk.cli`). Each reads
the file (:mod:`kiosk.data.desk.roster`, :mod:`kiosk.data.desk.catalogue`), prints a preview of
what would change, and writes it in one transaction after the librarian says yes
(``--yes`` to skip the question, ``--dry-run`` to write nothing). Every message goes
through :func:`kiosk.locale.t`, in the configured language.

Exit status: 0 when the import (or the dry run, or a file with nothing new) went
through; 1 when nothing could be imported or the librarian said no; 2 when the file
or the database was refused as a whole.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import Config, command_language
from kiosk.locale import set_language, t

log = logging.getLogger(__name__)

SHOW = 10
"""Lines shown of each list in the preview."""

PATRONS_HELP = """\
Import a class roster (CSV or XLSX, as the school office exports it).

The first rows must hold the column headings, in Chinese or English, in any order:
  学号 / number     姓名 / name     班级 / class     (required)
  年级 / grade      身份 / role (学生 or 教师, student or teacher)
  任教班级 / classes (a teacher's classes, separated by 、 , ; or spaces)
Other columns (性别, ...) are ignored. CSV may be UTF-8 (with or without BOM),
GBK/GB18030 or UTF-16; a file whose encoding cannot be told is refused (give
--encoding). Cells that look like formulas (=..., @...) are refused, row by row.

Teachers: in the same file with a role column (身份 = 教师), or in a file of their
own with the same headings (a row with 任教班级 and no role is a teacher's).

On a re-import: new people are added, changed ones updated, class changes shown
as transfers, and students who are missing from the file are deactivated (their
loans are kept and listed). Only students of the classes that appear in the file
count as missing, so a file of one class never touches the others; give
--whole-school for a full roster, where every active student missing from the file
leaves (for example the graduates). Teachers are never deactivated by an import.
"""

CATALOGUE_HELP = """\
Import catalogue records: MARC 21 or UNIMARC/CNMARC (ISO 2709 .mrc/.iso/.dat, or
MARCXML, or MARC-in-JSON), or a CSV/XLSX table.

MARC: title 245 / 200$a, author 100 / 200$f, publisher and year 260/264 / 210,
ISBN 020 / 010 (checked, stored as ISBN-13; an invalid ISBN is reported and the
title imported without it), classification: CLC (084 $2 clc, 690) where present,
otherwise LC/Dewey. Copies come from the holdings fields 952$p, 852$p, 949$i,
905$b (CNMARC), 995$f; records without holdings import as titles only (no barcode
is invented). Damaged records and a file cut in the middle are reported with their
position; the good records import.

Tables: a heading row with 题名/title (required), 作者/author, 出版社/publisher,
出版年/year, ISBN, 分类号/索书号/classification, 类型/kind (图书, 绘本, 期刊,
工具书), 条码/登录号/barcode (several separated by , ; or spaces, or one row per
copy), 馆藏地点/shelf, 丛书/series and 期号日期/issue date (a periodical's issue,
2025-03: each issue is a title of its own). A record's series comes from 490/830
(MARC 21) or 225 (UNIMARC).

Importing the same file again changes nothing; a title is found again by a copy
barcode, then by ISBN and title, then by the record's control number.
"""


def open_for_command(db: str | None, config: Config) -> Any:
    """Open the library a desk command names (``--db``, a file path or a URL, else the
    settings), in the configured language. The print commands open theirs this way too.

    Raises:
        DatabaseMissing: no such library file; peewee.PeeweeException: the database (a
            desk's server) cannot be reached. :func:`cannot_open` says either in words.
    """
    from kiosk.data.core.library import open_library

    set_language(command_language(config))
    if db:
        config = config.with_overrides(database=db)
    return open_library(config.database_url)


def cannot_open(error: Exception) -> str:
    """What :func:`open_for_command`'s error means, for the terminal (no password)."""
    from kiosk.data.core.db import DatabaseMissing, mask

    if isinstance(error, DatabaseMissing):
        return t("import.no_database", path=error.path)
    log.warning("cannot open the database: %s", error)
    return t("import.no_connection", reason=mask(str(error)).strip()[:200])


def _where(problem: Any) -> str:
    if problem.place == "row" and problem.sheet:
        return t("import.at.sheet_row", sheet=problem.sheet, number=problem.number)
    if problem.place == "row":
        return t("import.at.row", number=problem.number)
    if problem.offset is not None:
        return t("import.at.record_offset", number=problem.number, offset=problem.offset)
    return t("import.at.record", number=problem.number)


def _lines(out: TextIO, heading: str, items: Sequence[Any], line: Callable[[Any], str]) -> None:
    if not items:
        return
    print(heading, file=out)
    for item in items[:SHOW]:
        print("  " + line(item), file=out)
    if len(items) > SHOW:
        print("  " + t("import.list.more", count=len(items) - SHOW), file=out)


def _problems(out: TextIO, problems: Sequence[Any]) -> None:
    from kiosk.data.core.text import printable

    def line(p: Any) -> str:
        params = {k: printable(str(v), 60) for k, v in p.params.items()}
        return t("import.line.problem", where=_where(p), level=t(f"import.level.{p.level}"),
                 message=t(p.key, **params))

    _lines(out, t("import.list.problems", count=len(problems)), problems, line)


def _write_problems(path: Path, problems: Sequence[Any]) -> None:
    """Every problem, one row each, as CSV or XLSX (by the file's suffix), for a file
    with more problems than the terminal shows."""
    from kiosk.data.desk.spreadsheet import Sheet, write_table

    rows = [
        (p.sheet or "", p.number, p.offset if p.offset is not None else "",
         t(f"import.level.{p.level}"), t(p.key, **{k: str(v) for k, v in p.params.items()}))
        for p in problems
    ]
    sheet = Sheet(t("import.problems_sheet"), [t("import.col.sheet"), t("import.col.number"),
                                               t("import.col.offset"), t("import.col.level"),
                                               t("import.col.message")], rows)
    write_table(path, sheet)


def _person(change: Any) -> str:
    from kiosk.data.core.text import printable

    place = change.school_class or t(f"import.kind.{change.kind}")
    return t("import.line.person", number=change.number, name=printable(change.name, 40),
             school_class=printable(place, 40))


def _show_roster(out: TextIO, parsed: Any, plan: Any) -> None:
    from kiosk.data.core.text import printable

    print(t("import.read_rows", count=len(parsed.rows)), file=out)
    if parsed.ignored_headings:
        print(t("import.ignored_headings", names="、".join(parsed.ignored_headings)), file=out)
    print(t("import.roster_plan", added=len(plan.added), updated=len(plan.updated),
            transferred=len(plan.transferred), returned=len(plan.returned),
            deactivated=len(plan.deactivated), unchanged=plan.unchanged,
            classes=len(plan.new_classes), teaching=len(plan.teacher_classes)), file=out)
    if plan.considered_classes == ["*"]:
        print(t("import.roster_scope_all"), file=out)
    elif plan.considered_classes:
        print(t("import.roster_scope", classes="、".join(plan.considered_classes)), file=out)
    _lines(out, t("import.list.new_classes"), plan.new_classes, lambda c: printable(c, 40))
    _lines(out, t("import.list.added"), plan.added, _person)
    def transfer(c: Any) -> str:
        line = t("import.line.transfer", number=c.number, name=printable(c.name, 40),
                 before=printable(c.before_class or "", 40),
                 after=printable(c.school_class or "", 40))
        more = [name for name in c.changes if name != "class"]
        return t("import.line.changed", line=line, fields=_fields("person", more)) if more else line

    def returned(c: Any) -> str:
        more = [name for name in c.changes if name != "active"]
        return (t("import.line.changed", line=_person(c), fields=_fields("person", more))
                if more else _person(c))

    _lines(out, t("import.list.transferred"), plan.transferred, transfer)
    _lines(out, t("import.list.returned"), [c for c in plan.returned if c not in plan.transferred],
           returned)
    others = [c for c in plan.updated if c not in plan.transferred and c not in plan.returned]
    _lines(out, t("import.list.updated"), others, lambda c: t(
        "import.line.changed", line=_person(c), fields=_fields("person", c.changes)))
    _lines(out, t("import.list.deactivated"), plan.deactivated, _person)
    _lines(out, t("import.list.loans"), plan.open_loans, lambda loan: t(
        "import.line.loan", number=loan.number, name=printable(loan.name, 40),
        barcode=loan.barcode, title=printable(loan.title, 60), due=loan.due_on.isoformat()))
    _lines(out, t("import.list.teaching"), plan.teacher_classes, lambda c: t(
        "import.line.teaching", number=c.number, name=printable(c.name, 40),
        classes="、".join(c.changes) or t("import.none")))
    _problems(out, plan.problems)


def _show_catalogue(out: TextIO, parsed: Any, plan: Any) -> None:
    from kiosk.data.core.text import printable

    print(t("import.read_records", count=len(parsed.records)), file=out)
    print(t("import.catalogue_plan", added=len(plan.titles_added),
            updated=len(plan.titles_updated), unchanged=plan.titles_unchanged,
            copies_added=plan.copies_added, copies_updated=plan.copies_updated,
            copies_unchanged=plan.copies_unchanged), file=out)

    def line(change: Any) -> str:
        where = t(f"import.at.{change.place}", number=change.number)
        return t("import.line.title", where=where, title=printable(change.title, 60),
                 isbn=change.isbn or "-", copies=change.copies)

    _lines(out, t("import.list.titles_added"), plan.titles_added, line)
    _lines(out, t("import.list.titles_updated"), plan.titles_updated, lambda c: t(
        "import.line.changed", line=line(c), fields=_fields("book", c.changes)))
    _problems(out, plan.problems)


def _fields(what: str, names: Sequence[str]) -> str:
    """The names of the fields a change of a ``person`` or ``book`` touches."""
    return "、".join(t(f"import.field.{what}.{name}") for name in names)


def _confirm() -> bool:
    try:
        answer = input(t("import.confirm"))
    except EOFError:
        return False
    return answer.strip().casefold() in ("y", "yes", "是", "好", "确定")


def _import(
    args: argparse.Namespace,
    config: Config,
    parse: Callable[[Path], Any],
    plan: Callable[[Any, Any], Any],
    apply: Callable[[Any, Any], Any],
    show: Callable[[TextIO, Any, Any], None],
) -> int:
    """Read, preview, confirm and write one import; return the exit status."""
    import peewee

    from kiosk.data.core.db import DatabaseMissing, mask
    from kiosk.data.core.text import printable
    from kiosk.data.desk.importing import ImportRefused

    out = sys.stdout
    try:
        db = open_for_command(args.db, config)
    except (DatabaseMissing, peewee.PeeweeException) as error:
        print(f"kiosk: {cannot_open(error)}", file=sys.stderr)
        return 2
    try:
        path = Path(args.file)
        parsed = parse(path)
        encoding = getattr(parsed, "encoding", "")
        print(t("import.read" if encoding else "import.read_plain", path=printable(path.name),
                format=parsed.format or "-", encoding=encoding), file=out)
        preview = plan(db, parsed)
        show(out, parsed, preview)
        if args.problems:
            _write_problems(Path(args.problems), preview.problems)
            print(t("import.problems_written", count=len(preview.problems),
                    path=args.problems), file=out)
        if not preview.changes:
            print(t("import.nothing_to_do" if parsed_count(parsed) else "import.nothing_valid"),
                  file=out)
            return 0 if parsed_count(parsed) else 1
        if args.dry_run:
            print(t("import.dry_run"), file=out)
            return 0
        if not args.yes and not _confirm():
            print(t("import.declined"), file=out)
            return 1
        result = apply(db, parsed)
        print(t("import.done", facts=result.facts), file=out)
        return 0
    except ImportRefused as refused:
        print(f"kiosk: {t(refused.key, **refused.params)}", file=sys.stderr)
        return 2
    except Exception as error:
        log.exception("import of %s failed", args.file)
        print(f"kiosk: {t('import.failed', reason=mask(str(error)).strip()[:200])}",
              file=sys.stderr)
        return 1
    finally:
        db.close()


def parsed_count(parsed: Any) -> int:
    """How many rows or records a parsed file holds that could be imported."""
    return len(getattr(parsed, "rows", None) or getattr(parsed, "records", None) or [])


def cmd_import_patrons(args: argparse.Namespace, config: Config) -> int:
    """``kiosk import patrons FILE``: a class roster (students and teachers)."""
    from kiosk.data.desk import roster

    return _import(
        args, config,
        lambda path: roster.parse_roster(path, encoding=args.encoding,
                                         max_bytes=int(args.max_size * 1048576)),
        lambda db, parsed: roster.plan_roster(db, parsed, whole_school=args.whole_school),
        lambda db, parsed: roster.apply_roster(db, parsed, whole_school=args.whole_school),
        _show_roster,
    )


def cmd_import_catalogue(args: argparse.Namespace, config: Config) -> int:
    """``kiosk import catalogue FILE``: MARC 21, UNIMARC/CNMARC, MARCXML or a table."""
    from kiosk.data.desk import catalogue

    return _import(
        args, config,
        lambda path: catalogue.parse_catalogue(path, format=args.format, encoding=args.encoding,
                                               max_bytes=int(args.max_size * 1048576)),
        catalogue.plan_catalogue,
        catalogue.apply_catalogue,
        _show_catalogue,
    )


def _common(parser: argparse.ArgumentParser) -> None:
    from kiosk.data.desk.importing import MAX_BYTES

    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--db", help="the library's database file or URL, for example the "
                        "desk's postgresql://... (default: from the settings)")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would change and write nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before writing")
    parser.add_argument("--encoding", help="the file's encoding (utf-8, gb18030, marc-8 for "
                        "MARC, ...), when it cannot be told from the file")
    parser.add_argument("--max-size", type=float, default=MAX_BYTES / 1048576, metavar="MB",
                        help="refuse larger files before reading them (default: %(default)g)")
    parser.add_argument("--problems", metavar="FILE",
                        help="also write every problem found to FILE (.csv or .xlsx)")


CATALOGUE_FORMATS = ("iso2709", "marcxml", "json", "csv", "xlsx")
"""``--format``'s choices: :data:`kiosk.data.desk.catalogue.FORMATS`, written out so the
command line starts without loading pymarc (a test checks the two agree)."""


def add_commands(sub: Any) -> None:
    """Add ``import patrons`` and ``import catalogue`` to the ``kiosk`` command's subparsers."""
    command = sub.add_parser("import", help="import a class roster or the catalogue (desk)")
    kinds = command.add_subparsers(dest="import_command", metavar="WHAT", required=True)
    patrons = kinds.add_parser(
        "patrons", help="students and teachers from a CSV/XLSX roster",
        description=PATRONS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(patrons)
    patrons.add_argument("--whole-school", action="store_true",
                         help="the file is the whole school: every active student missing "
                         "from it has left")
    patrons.set_defaults(func=cmd_import_patrons)
    catalogue = kinds.add_parser(
        "catalogue", help="titles and copies from MARC (ISO 2709, MARCXML) or CSV/XLSX",
        description=CATALOGUE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(catalogue)
    catalogue.add_argument("--format", choices=CATALOGUE_FORMATS,
                           help="the file's format (default: told from its first bytes)")
    catalogue.set_defaults(func=cmd_import_catalogue)
