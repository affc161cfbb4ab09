"""What the desk's importers (class rosters, catalogues) share: refusing a file before
reading it, telling its encoding, reading its table, cleaning its text, reporting
problems by position, and writing the plan in one transaction.

An import never trusts its file. A file too big, in an encoding that cannot be told
for sure, or in a format the importer does not know is refused as a whole
(:class:`ImportRefused`) before anything is written. A bad row or record is a
:class:`Problem` that names its place in the file; the good ones still import.
The data layer never formats a message itself: problems and refusals carry a
translation key and its values (``kiosk/locale/import.*.toml``).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw

from kiosk.data.core.db import database
from kiosk.data.core.models import LocalState
from kiosk.data.desk import import_limits as limits
from kiosk.data.desk.import_limits import ImportRefused

MAX_BYTES = 50 * 1024 * 1024
"""Files larger than this are refused before reading (``--max-size`` changes it)."""

MAX_TEXT = 255
"""Longest text kept in one field (the columns are ``VARCHAR(255)`` on PostgreSQL)."""

FORMULA_START = ("=", "@")
"""Cells starting with these are formulas to a spreadsheet, never a name or a title."""


@dataclass(frozen=True)
class Problem:
    """A row or record that could not be imported (``error``) or was imported with a
    change the librarian should know of (``warning``).

    ``place`` is ``row`` (a table's row number, as the spreadsheet shows it) or
    ``record`` (the record's number in a MARC file, counting from 1), ``offset``
    the byte where a MARC record starts, ``sheet`` the workbook's sheet of a row.
    """

    place: str
    number: int
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    level: str = "error"
    offset: int | None = None
    sheet: str | None = None
    """The workbook's sheet the row is on (``None`` for CSV and MARC)."""


def check_may_import() -> None:
    """Refuse an import into a kiosk that has joined a desk: its master data is the
    desk's, and a change made here would never reach the desk (it would be undone by
    nothing and diverge for ever). Standalone libraries and desks may import.

    Raises:
        ImportRefused: ``import.joined_kiosk``.
    """
    role = LocalState.get_or_none(LocalState.key == "role")
    if role is not None and role.value == "kiosk":
        raise ImportRefused("import.joined_kiosk")


def check_file(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """The file's size, after checking it exists and is not too big to read.

    Raises:
        ImportRefused: ``import.no_file``, ``import.too_big``, ``import.empty``.
    """
    if not path.is_file():
        raise ImportRefused("import.no_file", path=str(path))
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportRefused(
            "import.too_big", path=str(path), mb=round(size / 1048576, 1),
            limit=round(max_bytes / 1048576, 1),
        )
    if size == 0:
        raise ImportRefused("import.empty", path=str(path))
    return size


# -- text -----------------------------------------------------------------------------

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)
_NON_SORTING = dict.fromkeys(map(ord, "\x88\x89\x98\x9c"))
"""MARC's non-sorting markers (NSB/NSE, SOS/ST): dropped, they only guide sorting."""
_SPACES = re.compile(r"\s+")


def clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """``text`` safe to keep and show: escape sequences and control, format and
    private characters removed, Unicode composed (NFC), blanks collapsed, length capped.
    """
    if not text:
        return ""
    if text.isprintable():  # no control, format, private or unassigned character: quick
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            text = _SPACES.sub(" ", text).strip()
        return text[:limit].rstrip()
    text = _ESCAPES.sub("", text).translate(_NON_SORTING)
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or (
            category == "Cf" and char not in "\u200c\u200d"
        ):
            kept.append(" " if char in "\t\n\r\x0b\x0c\u2028\u2029" else "")
        else:
            kept.append(char)
    result = _SPACES.sub(" ", "".join(kept)).strip()
    return result[:limit].rstrip()


def looks_like_formula(text: str) -> bool:
    """Whether a cell would run as a spreadsheet formula (``=cmd|' /C calc'!A0``,
    ``@SUM(...)``, ``+cmd|...``): no real name, class or title looks like this."""
    text = text.lstrip()
    if text.startswith(FORMULA_START):
        return True
    return text[:1] in "+-" and any(c in text for c in "(|!")


# -- encodings ------------------------------------------------------------------------

_COMMON = re.compile(
    r"[\u0020-\u007e\u00a0-\u024f\u0300-\u036f\u0391-\u03c9\u0401-\u0451"
    r"\u2000-\u206f\u2100-\u22ff\u2460-\u24ff\u2500-\u27bf\u2e80-\u2fdf"
    r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\t\r\n]"
)
"""Characters a Chinese roster or catalogue holds (GBK's letters, signs and ideographs)."""


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def plausible_chinese(text: str) -> bool:
    """Whether GB18030-decoded text reads as Chinese, not as the noise a Latin-1 or
    Big5 file turns into: nothing outside the characters GBK files hold, and most of
    its distinct ideographs among the 6,763 common ones of GB2312 (a Big5 file read
    as GBK scatters over all 21,000)."""
    sample = text[:200_000]
    if _COMMON.sub("", sample):
        return False
    wide = {c for c in sample if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"}
    return bool(wide) and sum(map(_in_gb2312, wide)) >= 0.8 * len(wide)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a file and the encoding it was read in.

    With ``encoding`` given, it is used (strictly). Otherwise: a BOM decides
    (UTF-8, UTF-16); then strict UTF-8; then strict GB18030 (which covers GBK and
    GB2312) if the result reads as Chinese. Anything else is refused rather than
    guessed: a wrong guess would mangle every name.

    Raises:
        ImportRefused: ``import.bad_encoding`` (the given one does not fit),
            ``import.unknown_encoding``, ``import.binary``.
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ImportRefused("import.bad_encoding", encoding=encoding) from None
        return text.removeprefix("\ufeff"), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ImportRefused("import.bad_encoding", encoding="UTF-8") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
        except UnicodeDecodeError:
            raise ImportRefused("import.bad_encoding", encoding="UTF-16") from None
    if b"\x00" in data[:4096]:
        raise ImportRefused("import.binary")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportRefused("import.unknown_encoding") from None
    if not plausible_chinese(text):
        raise ImportRefused("import.unknown_encoding")
    return text, "gb18030"


# -- tables ---------------------------------------------------------------------------


def is_xlsx(data: bytes) -> bool:
    """Whether the bytes are a ZIP file (an XLSX workbook is one)."""
    return data[:4] == b"PK\x03\x04"


def is_old_excel(data: bytes) -> bool:
    """Whether the bytes are an old binary ``.xls`` (or another OLE document)."""
    return data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 2021060107.0 is a number typed into Excel
    return str(value)


@dataclass
class Table:
    """One sheet of a table file: its name (``None`` for a CSV file) and its non-blank
    rows, numbered as the spreadsheet shows them (from 1)."""

    sheet: str | None
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def read_tables(
    path: Path, data: bytes, encoding: str | None = None
) -> tuple[list[Table], str]:
    """The sheets of an XLSX workbook (a school office often keeps one per class), or
    the one table of a CSV file (any delimiter among ``, ; tab``), and the encoding the
    CSV was read in ("" for a workbook). XLSX formulas come back as their formula text
    (``=...``), so they are refused like a formula typed into a CSV.

    A workbook is checked part by part against the limits (:mod:`kiosk.data.desk.import_limits`)
    before openpyxl reads it; a CSV file row by row as it is read.

    Raises:
        ImportRefused: ``import.old_excel``, ``import.bad_xlsx``, ``import.bad_csv``,
            ``import.too_many_rows``, ``import.too_many_columns``,
            ``import.cell_too_long``, ``import.too_many_cells``,
            ``import.too_much_text``, the refusals of
            :func:`~kiosk.data.desk.import_limits.check_workbook` and the encoding refusals of
            :func:`decode`.
    """
    if is_old_excel(data):
        raise ImportRefused("import.old_excel")
    if is_xlsx(data):
        return _xlsx_tables(data), ""
    text, used = decode(data, encoding)
    start = "\n".join(text[:16384].split("\n")[:10])  # (a title line may come first)
    delimiter = max([",", ";", "\t"], key=start.count)
    table = Table(None)
    counts = [0, 0]  # the cells and the characters kept so far
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for number, row in enumerate(reader, 1):
            if len(row) > limits.MAX_COLUMNS or max(map(len, row), default=0) > limits.MAX_CELL:
                _check_row(row)
            _keep(table, number, row, number, counts)
    except csv.Error as error:
        if "field larger than field limit" in str(error):  # (csv's own limit, 131,072)
            raise ImportRefused("import.cell_too_long", limit=limits.MAX_CELL) from None
        raise ImportRefused("import.bad_csv", reason=clean(str(error))) from None
    return [table], used


def _check_row(row: list[str]) -> None:
    """Refuse a CSV row with a field too long, or a value beyond the last column."""
    if max(map(len, row), default=0) > limits.MAX_CELL:
        raise ImportRefused("import.cell_too_long", limit=limits.MAX_CELL)
    last = max((i for i, cell in enumerate(row, 1) if cell.strip()), default=0)
    if last > limits.MAX_COLUMNS:
        raise ImportRefused("import.too_many_columns", column=last, limit=limits.MAX_COLUMNS)
    del row[limits.MAX_COLUMNS:]  # (blank fields only)


def _keep(table: Table, number: int, row: list[str], total: int, counts: list[int]) -> None:
    """Keep a non-blank row; refuse the table past its limits (rows, cells, text)."""
    if total > limits.MAX_ROWS:
        raise ImportRefused("import.too_many_rows", limit=limits.MAX_ROWS)
    if any(cell.strip() for cell in row):
        table.rows.append((number, row))
        counts[0] += len(row)
        counts[1] += sum(map(len, row))
        if counts[0] > limits.MAX_CELLS:
            raise ImportRefused("import.too_many_cells", limit=limits.MAX_CELLS)
        if counts[1] > limits.MAX_TABLE_TEXT:
            raise ImportRefused("import.too_much_text", limit=limits.MAX_TABLE_TEXT)


def _xlsx_tables(data: bytes) -> list[Table]:
    from openpyxl import load_workbook

    extents = limits.check_workbook(data)
    # (if openpyxl ever stops telling a sheet's part: the largest of them all)
    widest = (max((r for r, _ in extents.values()), default=0),
              max((c for _, c in extents.values()), default=0))
    tables: list[Table] = []
    total = 0
    counts = [0, 0]
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # noqa: BLE001 (openpyxl raises many kinds for a damaged file)
        raise ImportRefused("import.bad_xlsx", reason=clean(type(error).__name__)) from None
    try:
        for sheet in book.worksheets:
            table = Table(clean(str(sheet.title), 40))
            tables.append(table)
            # The rows and columns that hold values, as the check found them: never the
            # sheet's own <dimension>, which may claim all of A1:XFD1048576.
            rows, columns = extents.get(getattr(sheet, "_worksheet_path", ""), widest)
            if not rows or not columns:
                continue
            for number, row in enumerate(
                sheet.iter_rows(max_row=rows, max_col=columns, values_only=True), 1
            ):
                total += 1
                _keep(table, number, [_cell(value) for value in row], total, counts)
    except ImportRefused:
        raise
    except Exception as error:  # noqa: BLE001 (a damaged sheet inside a readable file)
        raise ImportRefused("import.bad_xlsx", reason=clean(type(error).__name__)) from None
    finally:
        book.close()
    return tables


# -- headings -------------------------------------------------------------------------

_HEADING_NOISE = re.compile(r"[\s_\-./()（）:：*]+")


def heading_key(text: str) -> str:
    """A heading as compared: case, width, blanks and punctuation ignored."""
    return _HEADING_NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def find_headings(
    rows: list[tuple[int, list[str]]], names: dict[str, set[str]], required: set[str]
) -> tuple[int, dict[str, int], list[str]] | None:
    """The heading row among the first rows (a title line may come first): its
    position in ``rows``, the column of each known field and the headings ignored.
    ``names`` maps each field to its possible headings (as :func:`heading_key` gives)."""
    for index, (_, row) in enumerate(rows[:10]):
        columns: dict[str, int] = {}
        ignored = []
        for column, heading in enumerate(row):
            key = heading_key(heading)
            for name, options in names.items():
                if key in options and name not in columns:
                    columns[name] = column
                    break
            else:
                if heading.strip():
                    ignored.append(clean(heading, 40))
        if required <= columns.keys():
            return index, columns, ignored
    return None


def headings(*options: str) -> set[str]:
    """The heading keys of a field's possible headings."""
    return {heading_key(option) for option in options}


# -- writing --------------------------------------------------------------------------


def in_one_transaction(db: pw.Database) -> Any:
    """The import's one transaction. The library's SQLite transactions begin
    ``IMMEDIATE`` (kiosk.data.core.db) and the desk's writers of facts take the journal
    lock first, so the plan read inside it cannot be overtaken before it is written."""
    return db.atomic()


def tuples(query: Any) -> Iterator[tuple[Any, ...]]:
    """A query's rows as plain tuples, streamed (peewee's stubs type them as models)."""
    rows: Iterator[tuple[Any, ...]] = query.tuples().iterator()
    return rows


def session(db: pw.Database) -> Any:
    """Point the models at ``db`` with a connection open (see ``database.session``)."""
    return database.session(db)
