"""The import's limits, and the check of an XLSX workbook against them before it is read.

An XLSX workbook is a zip of XML parts, and a zip is a bomb waiting to happen: a
file of a megabyte may unpack to gigabytes (one shared text of 2 GB, thirty million
empty ones, a cell of 3 GB), and a sheet's ``<dimension>`` may claim A1:XFD1048576 so
that every row is read 16,384 cells wide. openpyxl trusts all of this: even in its
read-only mode it reads every shared text into memory and pads rows to the claimed
dimension. So :func:`check_workbook` goes through every part first, streaming, in
bounded memory and with a parser that refuses DTDs and entities (defusedxml), and
refuses the file at the first limit it passes:

- the sizes the zip declares, added up, and then the bytes really unpacked;
- the shared texts (count) and the length of any text (a cell's, Excel's limit);
- the rows, the columns holding a value, the cells per row, and the grid they make;
- the elements of the parts openpyxl reads whole (styles, relationships, ...).

It returns where each sheet's values end, so openpyxl is asked for those rows and
columns only, never what the sheet says of itself. The text of the cells read is
bounded too (:data:`MAX_TABLE_TEXT`, in :mod:`kiosk.data.desk.importing`), and a CSV file
has the same limits on its columns and fields.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from kiosk.data.core.errors import KioskError

MAX_ROWS = 500_000
"""More rows than this is not a school's roster or catalogue table (an XLSX file is
compressed: a small file may unpack to millions of rows)."""

MAX_COLUMNS = 256
"""The rightmost column a value may be in (Excel 2003's last column, IV): no roster or
catalogue is wider, and each row of a table is read as wide as its widest row."""

MAX_CELL = 32_767
"""The most characters one cell (or CSV field, or any text in a workbook) may hold:
Excel's own limit for a cell."""

MAX_CELLS = 10_000_000
"""The most cells a table may be read as (its rows times its columns, each sheet of a
workbook counted)."""

MAX_TABLE_TEXT = 100_000_000
"""The most characters all the cells read may hold together: a workbook can repeat one
long shared text in every cell, and every character read is a character cleaned."""

MAX_UNPACKED = 256 * 1024 * 1024
"""The most bytes a workbook may unpack to, all parts together (a 100,000-title
catalogue unpacks to about 50 MB)."""

MAX_SHARED_STRINGS = 2_000_000
"""The most different texts a workbook may share among its cells."""

MAX_PARTS = 10_000
"""The most parts (files in the zip) a workbook may have: a real one has a few dozen."""

MAX_PART = 16 * 1024 * 1024
"""The most bytes of a part other than a sheet or the shared texts (styles,
relationships, properties: openpyxl reads these whole, as trees)."""

MAX_PART_ELEMENTS = 1_000_000
"""The most XML elements of a part openpyxl keeps whole: a part other than a sheet or
the shared texts, or a sheet's elements outside its rows."""

EXCEL_COLUMNS = 16_384
"""Excel's last column (XFD): no row has more cells, empty or not."""

_ROW_ELEMENTS = 4 * EXCEL_COLUMNS
"""The most elements in one row or one shared text (openpyxl holds a row whole)."""

_MAX_PENDING = 4 * 1024 * 1024
"""The most bytes the XML parser may hold unparsed: one tag or attribute this long is
not a workbook's."""

_CHUNK = 64 * 1024


class ImportRefused(KioskError):
    """The whole file is refused; nothing was written."""

    title_key = "import.refused_title"


def _column(reference: str) -> int:
    """The column number of a cell reference (``A1`` 1, ``XFD7`` 16384); 0 if it has none."""
    number = 0
    for letter in reference:
        if "A" <= letter <= "Z":
            number = number * 26 + ord(letter) - 64
        elif "a" <= letter <= "z":
            number = number * 26 + ord(letter) - 96
        else:
            break
        if number > EXCEL_COLUMNS:
            break
    return number


class _Part:
    """What the parser tells of one part, counted as it streams by. Its handlers are
    pyexpat's own (set on the defused parser after its guards): once the root element
    tells the part's kind, only that kind's counting runs on each element."""

    def __init__(self, name: str, grid: int, expat: Any) -> None:
        self.name = name
        self.expat = expat
        self.kind = ""
        """The root element's local name: ``worksheet``, ``sst`` (shared texts), ..."""
        self.names: dict[str, str] = {}
        self.columns: dict[str, int] = {}
        self.run = 0
        """Characters of the text being read: since the last start tag, so a cell's
        (or a shared text's) runs of rich text add up."""
        self.outside = 0
        """Elements openpyxl keeps (see :data:`MAX_PART_ELEMENTS`)."""
        self.strings = 0
        self.inner = -1
        """Elements in the current row or shared text (-1: in none)."""
        self.inner_tag = ""
        self.row = self.column = self.cells = self.rows = 0
        self.in_cell = self.filled = False
        self.last_row = self.last_column = 0
        self.grid = grid
        """The cells of the sheets before this one."""
        expat.StartElementHandler = self._root
        expat.CharacterDataHandler = self._data
        # (none of ElementTree's tree building: its guards are the parser's own)
        expat.EndElementHandler = expat.CommentHandler = None
        expat.ProcessingInstructionHandler = None

    def _name(self, tag: str) -> str:
        """An element's local name (``{namespace}c`` is ``c``), remembered."""
        name = self.names.get(tag)
        if name is None:
            name = self.names[tag] = tag[tag.rfind("}") + 1 :]
        return name

    def _root(self, tag: str, attributes: list[str]) -> None:
        self.kind = self._name(tag)
        if self.kind == "worksheet":
            self.expat.StartElementHandler = self._sheet_start
            self.expat.EndElementHandler = self._sheet_end
        elif self.kind == "sst":
            self.expat.StartElementHandler = self._strings_start
            self.expat.EndElementHandler = self._strings_end
        else:
            self.expat.StartElementHandler = self._start

    def _start(self, tag: str, attributes: list[str]) -> None:
        self.run = 0
        self.outside += 1
        if self.outside > MAX_PART_ELEMENTS:
            self._part_too_big()

    def _strings_start(self, tag: str, attributes: list[str]) -> None:
        if self.inner >= 0:
            self.inner += 1
            if self.inner > _ROW_ELEMENTS:
                self._part_too_big()
        elif self._name(tag) == "si":
            self.strings += 1
            if self.strings > MAX_SHARED_STRINGS:
                raise ImportRefused("import.too_many_strings", limit=MAX_SHARED_STRINGS)
            self.inner, self.inner_tag, self.run = 0, tag, 0
        else:
            self._start(tag, attributes)

    def _strings_end(self, tag: str) -> None:
        if tag == self.inner_tag:
            self.inner = -1

    def _sheet_start(self, tag: str, attributes: list[str]) -> None:
        name = self.names.get(tag) or self._name(tag)
        if self.inner < 0:
            if name == "row":
                self._row(tag, attributes)
            else:
                self._start(tag, attributes)
            return
        self.inner += 1
        if self.inner > _ROW_ELEMENTS:
            self._part_too_big()
        if name == "c":
            if self.filled:
                self._value_at(self.row, self.column)
            # (openpyxl and Excel write the reference first)
            reference = (attributes[1] if attributes and attributes[0] == "r"
                         else _attribute(attributes, "r"))
            if reference:
                letters = reference.rstrip("0123456789")
                self.column = self.columns.get(letters) or _column(letters)
                self.columns[letters] = self.column
            else:
                self.column += 1
            self.cells += 1
            if self.column > EXCEL_COLUMNS or self.cells > EXCEL_COLUMNS:
                raise ImportRefused("import.too_many_columns",
                                    column=max(self.column, self.cells), limit=EXCEL_COLUMNS)
            self.in_cell, self.filled, self.run = True, False, 0
        elif name == "f":
            self.filled = True  # (an empty formula is "=" to openpyxl)

    def _row(self, tag: str, attributes: list[str]) -> None:
        self.rows += 1
        if self.rows > MAX_ROWS:
            raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
        number = _attribute(attributes, "r")
        self.row = int(float(number)) if number else self.row + 1  # (as openpyxl reads it)
        self.column = self.cells = self.inner = self.run = 0
        self.inner_tag = tag

    def _sheet_end(self, tag: str) -> None:
        if tag == self.inner_tag:  # the row ends
            if self.filled:
                self._value_at(self.row, self.column)
            self.inner, self.in_cell, self.filled = -1, False, False

    def _value_at(self, row: int, column: int) -> None:
        """A cell at ``row``, ``column`` holds a value."""
        self.filled = False
        if row <= self.last_row and column <= self.last_column:
            return
        if column > MAX_COLUMNS:
            raise ImportRefused("import.too_many_columns", column=column, limit=MAX_COLUMNS)
        if row > MAX_ROWS:
            raise ImportRefused("import.too_many_rows", limit=MAX_ROWS)
        self.last_row = max(self.last_row, row)
        self.last_column = max(self.last_column, column)
        if self.grid + self.last_row * self.last_column > MAX_CELLS:
            raise ImportRefused("import.too_many_cells", limit=MAX_CELLS)

    def _data(self, text: str) -> None:
        self.run += len(text)
        if self.run > MAX_CELL:  # (no text in a workbook is longer than a cell's)
            raise ImportRefused("import.cell_too_long", limit=MAX_CELL)
        if self.in_cell and not self.filled and not text.isspace():
            self.filled = True  # (blanks between tags are no value)

    def _part_too_big(self) -> None:
        raise ImportRefused("import.xlsx_part_too_big", part=self.name[-60:],
                            mb=MAX_PART // 1048576, elements=MAX_PART_ELEMENTS)


def _attribute(attributes: list[str], wanted: str) -> str | None:
    """An attribute's value from pyexpat's ordered list (name, value, name, value...)."""
    for i in range(0, len(attributes), 2):
        if attributes[i] == wanted:
            return attributes[i + 1]
    return None


def _is_xml(name: str, start: bytes) -> bool:
    """Whether a part is XML (by its name, or by its first bytes: a byte-order mark,
    ``<``, or ``<`` in UTF-16 without one, which expat recognises too)."""
    if name.lower().endswith((".xml", ".rels", ".vml")):
        return True
    start = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith((b"<", b"\xff\xfe", b"\xfe\xff", b"\x00<"))


def check_workbook(data: bytes) -> dict[str, tuple[int, int]]:
    """Check every part of an XLSX workbook against the limits, streaming, before
    anything reads it whole; return each sheet part's end: the last row and the last
    column that hold a value (``(0, 0)`` for an empty sheet).

    Raises:
        ImportRefused: ``import.xlsx_unpacked``, ``import.xlsx_parts``,
            ``import.xlsx_part_too_big``,
            ``import.too_many_strings``, ``import.cell_too_long``,
            ``import.too_many_rows``, ``import.too_many_columns``,
            ``import.too_many_cells``, ``import.xlsx_entities`` (a DTD or an entity,
            which no workbook needs), ``import.bad_xlsx`` (a damaged zip or XML).
    """
    try:
        return _check(data)
    except (DefusedXmlException, ExpatError, zipfile.BadZipFile, zlib.error, EOFError,
            RuntimeError, NotImplementedError, ValueError, OverflowError, OSError) as error:
        if isinstance(error, DefusedXmlException):
            raise ImportRefused("import.xlsx_entities") from None
        raise ImportRefused("import.bad_xlsx", reason=type(error).__name__) from None


def _check(data: bytes) -> dict[str, tuple[int, int]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = archive.infolist()
    if len(members) > MAX_PARTS:
        raise ImportRefused("import.xlsx_parts", limit=MAX_PARTS)
    if sum(member.file_size for member in members) > MAX_UNPACKED:
        raise ImportRefused("import.xlsx_unpacked", limit=MAX_UNPACKED // 1048576)
    extents: dict[str, tuple[int, int]] = {}
    unpacked, grid = 0, 0
    for member in members:
        with archive.open(member) as stream:
            chunk = stream.read(_CHUNK)
            parser: Any = None
            if _is_xml(member.filename, chunk):
                # defusedxml sets its guards (no DTD, no entity) on its expat parser;
                # the part's counting replaces the handlers that would build a tree.
                parser = DefusedXMLParser(forbid_dtd=True).parser
                part = _Part(member.filename, grid, parser)
            size = 0
            while chunk:
                size += len(chunk)
                unpacked += len(chunk)
                if unpacked > MAX_UNPACKED:  # (the zip's sizes may lie)
                    raise ImportRefused("import.xlsx_unpacked", limit=MAX_UNPACKED // 1048576)
                if parser is not None:
                    parser.Parse(chunk, False)
                    if size - parser.CurrentByteIndex > _MAX_PENDING:
                        raise ImportRefused("import.bad_xlsx", reason="XML token > 4 MB")
                    if size > MAX_PART and part.kind not in ("worksheet", "sst"):
                        part._part_too_big()
                chunk = stream.read(_CHUNK)
            if parser is None:
                continue
            parser.Parse(b"", True)
        if part.kind == "worksheet":
            extents[member.filename] = (part.last_row, part.last_column)
            grid += part.last_row * part.last_column
    return extents
