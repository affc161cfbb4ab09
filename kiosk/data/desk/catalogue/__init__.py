"""Importing the library's catalogue: MARC 21 and UNIMARC/CNMARC records (ISO 2709,
MARCXML or MARC-in-JSON, read with pymarc) and CSV/XLSX tables.

Each record becomes a plain :class:`CatalogueRecord`: title, author, publisher,
year, ISBN (checked and normalised to ISBN-13 with python-stdnum), classification
(the CLC number where the record has one), item kind and its copies with their
accession barcodes from the holdings fields (952 $p, 852 $p, 949 $i, CNMARC 905 $b,
995 $f) or the table. Records without holdings import as titles without copies:
no barcode is invented, the copies are added when their labels exist.

Decisions worth knowing:

- An invalid ISBN is a warning: the title imports without it.
- A directory whose lengths do not match the fields (counted in characters by some
  older Chinese systems) is rebuilt from the field terminators, with a warning; in a
  record of ASCII only such lengths lie, and the record is damaged.
- MARCXML is read with defusedxml's parser: a DTD or an entity anywhere is refused.
- A damaged record (bad leader or directory, an encoding that cannot be read, a
  file cut in the middle of it, no title) is an error for that record only; the
  good records import. A record marked deleted (leader/05 ``d``) is skipped.
- Text is cleaned (:func:`kiosk.data.desk.importing.clean`): no escape sequence or
  control character is stored; MARC's non-sorting markers are dropped.
- A re-import finds the title a record already made, by one of its copy barcodes,
  then by ISBN-13 and title, then by the title key derived from the record's control
  number (trusted only if the ISBN or title agrees: control numbers repeat across
  catalogues) or, without one, from its ISBN, title, author and year. Values the file
  leaves empty keep what the library has; only changed titles and copies become
  facts, so importing the same file again writes nothing.

A file of more than :data:`PARALLEL_FROM` records is read by several processes,
each a slice cut after a record terminator; numbering and offsets are the file's.

Encodings, per record: UTF-8 where the bytes are valid UTF-8; otherwise GB18030
(GBK, GB2312) where the text reads as Chinese; otherwise, if leader/09 says UTF-8,
UTF-8 with the bad bytes shown as U+FFFD and a warning; otherwise MARC-8.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import itertools
import json
import logging
import multiprocessing
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax import SAXException, SAXParseException
from xml.sax.handler import feature_namespaces

import peewee as pw
import pymarc
from defusedxml import DefusedXmlException
from defusedxml import expatreader as defused_sax
from stdnum import ean as stdean

from kiosk.data.core import masterdata
from kiosk.data.core.db import is_postgres
from kiosk.data.core.facts import HybridClock
from kiosk.data.core.journal import last_hlc
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import ITEM_KINDS, SHELF_LENGTH, Copy, Title
from kiosk.data.core.text import clean_code
from kiosk.data.desk import importing
from kiosk.data.desk.importing import ImportRefused, Problem, clean, headings, looks_like_formula

log = logging.getLogger(__name__)

MAX_BARCODE = 40
"""The longest accession barcode accepted (labels print Code 128)."""

HOLDINGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("952", ("p",), ("c", "a")),  # Koha: $p barcode, $c shelving location
    ("852", ("p",), ("c", "b")),  # MARC 21 holdings: $p piece designation
    ("949", ("i", "p"), ("c", "l")),  # local item fields of several systems
    ("905", ("b",), ("c",)),  # CNMARC local holdings: $b 登录号/条码
    ("995", ("f",), ("e",)),  # French UNIMARC holdings (Koha): $f barcode
)
"""Holdings fields: tag, the subfields that may hold the barcode, and the shelf's."""

CSV_COLUMNS = {
    "title": headings("题名", "书名", "正题名", "刊名", "title"),
    "author": headings("责任者", "作者", "著者", "第一责任者", "author", "authors"),
    "publisher": headings("出版社", "出版者", "出版发行者", "publisher"),
    "year": headings("出版年", "出版日期", "出版时间", "年份", "year", "date"),
    "isbn": headings("isbn", "isbn号", "国际标准书号", "标准编号"),
    "classification": headings("分类号", "中图分类号", "中图法分类号", "索书号", "clc",
                               "classification", "call number"),
    "kind": headings("类型", "资料类型", "文献类型", "kind", "type", "item kind", "item type"),
    "barcode": headings("条码", "条形码", "条码号", "登录号", "财产号", "barcode", "barcodes",
                        "accession number", "accession"),
    "shelf": headings("馆藏地点", "馆藏地", "书架", "架位", "shelf", "location"),
    "issue_date": headings("期号日期", "当期日期", "刊期日期", "出刊日期", "issue date", "issue"),
}
"""The headings a catalogue table's columns are known by."""

KINDS = {
    **dict.fromkeys(("book", "books", "图书", "书", "普通图书"), "book"),
    **dict.fromkeys(("picture_book", "picturebook", "picture book", "绘本", "图画书"),
                    "picture_book"),
    **dict.fromkeys(("periodical", "magazine", "serial", "期刊", "杂志", "报纸", "连续出版物"),
                    "periodical"),
    **dict.fromkeys(("reference", "工具书", "参考书"), "reference"),
}
"""What a kind column may say, and the item kind it means."""

_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_ISBN_TOKEN = re.compile(r"[0-9][0-9Xx\- ]{8,20}[0-9Xx]")
_SPLIT = re.compile(r"[,;，；、\s]+")
_TRAILING = re.compile(r"[\s/:;=,.]+$")
_INITIAL = re.compile(r"(?:^|[\s,])[A-Z]\.$")


@dataclass(frozen=True)
class CopyRow:
    """A copy a record holds: its accession barcode and shelf (may be empty)."""

    barcode: str
    shelf: str = ""


@dataclass
class CatalogueRecord:
    """One title as the file describes it, with where it is in the file."""

    place: str
    number: int
    title: str
    author: str = ""
    publisher: str = ""
    year: int | None = None
    isbn: str | None = None
    classification: str = ""
    kind: str | None = None
    """The item kind if the record says it; ``None`` keeps the library's (or ``book``)."""
    control: str = ""
    """The record's control number (003 + 001), used to find it again."""
    copies: list[CopyRow] = field(default_factory=list)
    offset: int | None = None
    issue_date: date | None = None
    """A periodical issue's date (tables only): each issue is a title of its own."""


@dataclass
class ParsedCatalogue:
    """What a catalogue file holds: its records, its problems, how it was read."""

    records: list[CatalogueRecord]
    problems: list[Problem]
    format: str
    """``MARC 21``, ``UNIMARC``, both (``MARC 21 + UNIMARC``), ``MARCXML ...`` or ``CSV``."""
    encoding: str = ""


@dataclass(frozen=True)
class TitleChange:
    """A title added or updated (what the preview lists)."""

    place: str
    number: int
    key: str
    title: str
    isbn: str | None
    copies: int
    changes: tuple[str, ...] = ()


@dataclass
class CataloguePlan:
    """What a catalogue import does (or did)."""

    titles_added: list[TitleChange] = field(default_factory=list)
    titles_updated: list[TitleChange] = field(default_factory=list)
    titles_unchanged: int = 0
    copies_added: int = 0
    copies_updated: int = 0
    copies_unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    facts: int = 0
    """How many facts were written (0 for a preview or a dry run)."""

    @property
    def changes(self) -> int:
        """How many titles and copies the import changes."""
        return (len(self.titles_added) + len(self.titles_updated) + self.copies_added
                + self.copies_updated)


# -- reading --------------------------------------------------------------------------


def detect_format(data: bytes) -> str:
    """``iso2709``, ``marcxml``, ``json`` (MARC-in-JSON), ``xlsx`` or ``csv``, from the
    file's first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf\r\n\t \x00")
    if importing.is_xlsx(data) or importing.is_old_excel(data):
        return "xlsx"
    if head.startswith(b"<"):
        return "marcxml"
    if head.startswith((b"[", b"{")):
        return "json"
    if re.match(rb"\d{5}[ -~]{7}\d{5}[ -~]{7}", head[:24]):
        return "iso2709"
    return "csv"


def parse_catalogue(
    path: Path,
    *,
    format: str | None = None,
    encoding: str | None = None,
    max_bytes: int = importing.MAX_BYTES,
) -> ParsedCatalogue:
    """Read a catalogue file into records and problems (nothing is written).

    ``format`` is ``iso2709``, ``marcxml``, ``csv`` or ``xlsx`` (found from the
    file's first bytes when not given); ``encoding`` applies to CSV files.

    Raises:
        ImportRefused: the file is too big, empty, of an unknown format or encoding,
            or a table without a title column.
    """
    importing.check_file(path, max_bytes)
    data = path.read_bytes()
    format = format or detect_format(data)
    if format not in ("iso2709", "marcxml", "json", "csv", "xlsx"):
        raise ImportRefused("import.unknown_format", format=clean(format, 20))
    if encoding and encoding.replace("-", "").lower() != "marc8":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportRefused("import.bad_encoding", encoding=clean(encoding, 20)) from None
    # pymarc warns about odd subfield codes and writes MARC-8 troubles to stderr: both
    # go to the log, never to a terminal the kiosk's screen may own.
    said = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(said):
        warnings.simplefilter("ignore")
        try:
            if format == "iso2709":
                return _read_iso2709(data, encoding)
            if format == "marcxml":
                return _read_marcxml(data)
            if format == "json":
                return _read_json(data)
            return _read_table(path, data, encoding)
        finally:
            if said.getvalue():
                log.warning("pymarc said while reading %s: %s", path.name, said.getvalue()[:2000])


# -- ISO 2709 -------------------------------------------------------------------------

_BLANK = b"\r\n\t \x00\x1a"


PARALLEL_FROM = 20_000
"""A file with more records than this is read by several processes (one per core, at
most :data:`MAX_WORKERS`): reading is most of an import's time, and the desk's
computer has cores to spare."""

MAX_WORKERS = 4


def _read_iso2709(data: bytes, encoding: str | None = None) -> ParsedCatalogue:
    # (a BOM some Windows tools put before the first record is not part of it)
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if workers > 1 and data.count(b"\x1d", start) > PARALLEL_FROM:
        try:
            return _merge(_read_in_parallel(data, start, encoding, workers))
        except (OSError, BrokenProcessPool, RuntimeError, AssertionError) as error:
            # (no processes here: a daemon, an unguarded __main__, a sandbox...)
            log.warning("reading the MARC file in one process: %r", error)
    return _merge([_read_slice((data, 0, start, encoding))])


def _read_in_parallel(
    data: bytes, start: int, encoding: str | None, workers: int
) -> list[tuple[Any, ...]]:
    """Cut the file after record terminators into ``workers`` slices and read them in
    as many processes (spawned: safe beside threads and open databases)."""
    cuts = [start]
    for i in range(1, workers):
        cut = data.find(b"\x1d", max(cuts[-1], len(data) * i // workers)) + 1
        if cut <= 0 or cut >= len(data):
            break
        cuts.append(cut)
    cuts.append(len(data))
    jobs = [(data[a:b], a, 0, encoding) for a, b in itertools.pairwise(cuts)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context) as pool:
        return list(pool.map(_read_slice, jobs))


def _merge(slices: list[tuple[Any, ...]]) -> ParsedCatalogue:
    """One file's reading from its slices' (records are numbered across the file)."""
    parsed = ParsedCatalogue([], [], "", "")
    formats: dict[str, None] = {}
    encodings: dict[str, None] = {}
    shift = 0
    for records, problems, found_formats, found_encodings, count, said in slices:
        if said:
            log.warning("pymarc said: %s", said[:2000])
        for record in records:
            record.number += shift
        parsed.records.extend(records)
        parsed.problems.extend(replace(p, number=p.number + shift) for p in problems)
        formats.update(dict.fromkeys(found_formats))
        encodings.update(dict.fromkeys(found_encodings))
        shift += count
    parsed.format = " + ".join(formats) or "MARC"
    parsed.encoding = ", ".join(encodings)
    return parsed


def _read_slice(job: tuple[bytes, int, int, str | None]) -> tuple[Any, ...]:
    """Read the records of one slice of an ISO 2709 file (in this process or another).

    ``job`` is the slice, its byte offset in the file, where to start in it and the
    encoding given. Returns its records and problems (numbered from 1 in the slice,
    offsets in the file), the formats and encodings seen, how many records it has and
    what pymarc wrote to stderr meanwhile.
    """
    data, base, position, encoding = job
    parsed = ParsedCatalogue([], [], "", "")
    formats: dict[str, None] = {}
    encodings: dict[str, None] = {}
    number, size = 0, len(data)
    said = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(said):
        warnings.simplefilter("ignore")  # pymarc warns about odd subfield codes
        while position < size:
            end = data.find(b"\x1d", position)
            chunk = data[position : size if end < 0 else end]
            stripped = chunk.lstrip(_BLANK)
            start = base + position + len(chunk) - len(stripped)
            position = size if end < 0 else end + 1
            if not stripped.strip(_BLANK):
                continue  # the blank line many exports end with
            number += 1
            if end < 0:
                parsed.problems.append(Problem("record", number, "import.marc_cut", offset=start))
                break
            try:
                record, used = _decode(stripped + b"\x1d", encoding)
            except Exception as error:  # noqa: BLE001 (pymarc raises a dozen kinds for a damaged record)
                found = _decode_repaired(stripped, encoding)
                if found is None:
                    parsed.problems.append(Problem("record", number, _reason(error),
                                                   offset=start))
                    continue
                record, used = found
                parsed.problems.append(Problem("record", number, "import.directory_repaired",
                                               offset=start, level="warning"))
            else:
                # A directory whose lengths do not match the fields reads without an
                # error, but a field then swallows the next one or is cut short. In a
                # record of ASCII only, the lengths lie; otherwise they may be counted in
                # characters, and the fields are read again by their terminators.
                if not _directory_matches(stripped):
                    found = None if stripped.isascii() else _decode_repaired(stripped, encoding)
                    if found is None:
                        parsed.problems.append(Problem("record", number,
                                                       "import.damaged.directory", offset=start))
                        continue
                    record, used = found
                    parsed.problems.append(Problem(
                        "record", number, "import.directory_repaired", offset=start,
                        level="warning"))
            encodings[used.removesuffix("?")] = None
            if used.endswith("?"):
                parsed.problems.append(Problem("record", number, "import.bad_bytes",
                                               offset=start, level="warning"))
            _add(parsed, record, number, start, formats)
    # (what pymarc said goes back with the records: a spawned process has no log file)
    return parsed.records, parsed.problems, list(formats), list(encodings), number, said.getvalue()


def _directory_matches(chunk: bytes) -> bool:
    """Whether every field the directory places starts after a field terminator and
    runs to the next one: no field swallows the next, none is cut short."""
    try:
        base = int(chunk[12:17])
        directory = chunk[24 : base - 1]
        find = chunk.find
        for i in range(3, len(directory) - 8, 12):  # (each entry's length and offset)
            length, offset = divmod(int(directory[i : i + 9]), 100_000)
            start = base + offset
            end = start + length - 1
            if chunk[start - 1] != 0x1E or find(b"\x1e", start, end + 1) != end:
                return False
    except (ValueError, IndexError):
        return False
    return True


def _decode_repaired(chunk: bytes, encoding: str | None) -> tuple[pymarc.Record, str] | None:
    """The record read by its field terminators (see :func:`_repaired`), if it can be."""
    repaired = _repaired(chunk)
    if repaired is None:
        return None
    try:
        return _decode(repaired, encoding)
    except Exception:  # noqa: BLE001 (still damaged: the caller reports the first reason)
        return None


def _repaired(chunk: bytes) -> bytes | None:
    """The record with its leader's length and its directory's lengths and offsets
    made again from the field terminators, or ``None`` if they cannot be.

    Some older Chinese library systems count the lengths in characters, not bytes:
    every field after the first Chinese character is then out of place, although
    the fields themselves are whole.
    """
    try:
        base = int(chunk[12:17])
        directory = chunk[24 : base - 1].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if base < 25 or len(directory) % 12 or chunk[base - 1 : base] != b"\x1e":
        return None
    fields = chunk[base:].rstrip(b"\x1d").split(b"\x1e")
    if fields[-1].strip(_BLANK):
        return None
    fields = fields[:-1]
    tags = [directory[i : i + 3] for i in range(0, len(directory), 12)]
    if len(fields) != len(tags) or not fields:
        return None
    entries, offset = [], 0
    for tag, data in zip(tags, fields, strict=True):
        length = len(data) + 1
        if length > 9999 or offset > 99999:
            return None
        entries.append(f"{tag}{length:04d}{offset:05d}")
        offset += length
    body = "".join(entries).encode("ascii") + b"\x1e" + b"\x1e".join(fields) + b"\x1e\x1d"
    total = 24 + len(body)
    if total > 99999:
        return None
    return f"{total:05d}".encode() + chunk[5:24] + body


def _reason(error: Exception) -> str:
    """The translation key of a damaged record's reason (from pymarc's exception)."""
    name = type(error).__name__
    words = {
        "UnicodeDecodeError": "encoding", "RecordLeaderInvalid": "leader",
        "BaseAddressInvalid": "base_address", "BaseAddressNotFound": "base_address",
        "RecordDirectoryInvalid": "directory", "NoFieldsFound": "no_fields",
        "TruncatedRecord": "cut_short", "ValueError": "numbers", "RecordLengthInvalid": "leader",
    }
    return "import.damaged." + words.get(name, "other")


def _decode(chunk: bytes, encoding: str | None = None) -> tuple[pymarc.Record, str]:
    """The record in ``chunk`` and its encoding: the one given (``--encoding``:
    ``marc-8`` or any Python codec), or else UTF-8 if it is valid UTF-8; else
    GB18030 (GBK, GB2312: Chinese libraries' CNMARC and MARC 21) if its text reads as
    Chinese; else, for a record that says it is UTF-8, UTF-8 with the bad bytes
    replaced (``UTF-8?``: reported); else MARC-8 (which also reads ISO 5426's common
    diacritics)."""
    plain = chunk[:9] + b" " + chunk[10:]  # (pymarc reads UTF-8 whenever leader/09 is "a")
    if encoding and encoding.replace("-", "").lower() == "marc8":
        return pymarc.Record(plain, hide_utf8_warnings=True), "MARC-8"
    if encoding:
        return pymarc.Record(plain, file_encoding=encoding), encoding
    try:
        return pymarc.Record(chunk, force_utf8=True, utf8_handling="strict"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = chunk[24:].decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and importing.plausible_chinese(text.translate(_SEPARATORS)):
        return pymarc.Record(plain, file_encoding="gb18030"), "GB18030"
    if chunk[9:10] == b"a":
        return pymarc.Record(chunk, force_utf8=True, utf8_handling="replace"), "UTF-8?"
    return pymarc.Record(chunk, hide_utf8_warnings=True), "MARC-8"


_SEPARATORS = dict.fromkeys(map(ord, "\x1d\x1e\x1f"), " ")


# -- MARCXML --------------------------------------------------------------------------


class _Collector(pymarc.XmlHandler):  # type: ignore[misc]
    """Keeps each record as it is parsed, numbered as it comes in the file, so a file
    cut in the middle keeps the good records before the cut and a damaged record is
    reported without losing the others. A leader of the wrong length is padded (the
    importer reads only its kind and status)."""

    def __init__(self) -> None:
        super().__init__(strict=False, normalize_form="NFC")
        self.found: list[tuple[int, pymarc.Record]] = []
        self.damaged: list[int] = []
        self.started = 0

    def startElementNS(self, name: tuple[str | None, str], qname: Any, attrs: Any) -> None:
        """Count records as they start; a damaged element damages its record only."""
        if name[1] == "record":
            self.started += 1
        try:
            super().startElementNS(name, qname, attrs)
        except Exception:  # noqa: BLE001 (a missing attribute, a bad tag...)
            self._damaged()

    def endElementNS(self, name: tuple[str | None, str], qname: Any) -> None:
        """Pad a short leader; a damaged element damages its record only."""
        if name[1] == "leader" and self._record is not None:
            self._record.leader = pymarc.Leader(("".join(self._text) + " " * 24)[:24])
            return
        try:
            super().endElementNS(name, qname)
        except Exception:  # noqa: BLE001
            self._damaged()

    def _damaged(self) -> None:
        if not self.damaged or self.damaged[-1] != self.started:
            self.damaged.append(self.started)
        self._record = self._field = None

    def process_record(self, record: pymarc.Record) -> None:
        """Keep a finished record with its number in the file."""
        self.found.append((self.started, record))

    @property
    def in_record(self) -> bool:
        """Whether the parser is inside a record (where a break cuts that record)."""
        return self._record is not None


def _read_marcxml(data: bytes) -> ParsedCatalogue:
    parsed = ParsedCatalogue([], [], "", "XML")
    collector = _Collector()
    failure: SAXException | None = None
    # pymarc.parse_xml's own SAX parser expands entities; defusedxml's refuses any DTD,
    # entity or external reference, wherever it is in the file (MARCXML needs none).
    parser = defused_sax.create_parser(forbid_dtd=True)
    parser.setContentHandler(collector)
    parser.setFeature(feature_namespaces, True)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException:
        raise ImportRefused("import.xml_entities") from None
    except SAXException as error:
        failure = error
    formats: dict[str, None] = {}
    for number, record in collector.found:
        _add(parsed, record, number, None, formats)
    parsed.problems.extend(
        Problem("record", number, "import.damaged.other") for number in collector.damaged
    )
    if failure is not None:
        line = failure.getLineNumber() if isinstance(failure, SAXParseException) else 0
        parsed.problems.append(Problem(
            "record", collector.started + (0 if collector.in_record else 1), "import.xml_broken",
            {"line": line, "reason": clean(str(failure.getMessage()), 80)},
        ))
    parsed.problems.sort(key=lambda p: p.number)
    parsed.format = "MARCXML " + (" + ".join(formats) or "")
    return parsed


# -- MARC-in-JSON ---------------------------------------------------------------------


def _json_record(item: Any) -> pymarc.Record:
    """One MARC-in-JSON object as a pymarc record (as pymarc's JSONReader builds it)."""
    record = pymarc.Record()
    record.leader = pymarc.Leader((str(item["leader"]) + " " * 24)[:24])
    for entry in item["fields"]:
        [(tag, value)] = entry.items()
        if isinstance(value, dict):
            subfields = [pymarc.Subfield(code=str(code), value=str(text))
                         for sub in value["subfields"] for code, text in sub.items()]
            record.add_field(pymarc.Field(
                tag=str(tag), indicators=pymarc.Indicators(str(value.get("ind1", " ")),
                                                           str(value.get("ind2", " "))),
                subfields=subfields))
        else:
            record.add_field(pymarc.Field(tag=str(tag), data=str(value)))
    return record


def _read_json(data: bytes) -> ParsedCatalogue:
    text, encoding = importing.decode(data)
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ImportRefused("import.bad_json", reason=clean(str(error), 80)) from None
    parsed = ParsedCatalogue([], [], "", encoding.upper())
    formats: dict[str, None] = {}
    for number, item in enumerate(loaded if isinstance(loaded, list) else [loaded], 1):
        try:
            record = _json_record(item)
        except Exception:  # noqa: BLE001 (any shape a hostile file can take)
            parsed.problems.append(Problem("record", number, "import.damaged.other"))
            continue
        _add(parsed, record, number, None, formats)
    parsed.format = "MARC-in-JSON " + " + ".join(formats)
    return parsed


# -- mapping MARC fields --------------------------------------------------------------


class _Indexed:
    """A record's fields by tag: pymarc's ``get_fields`` scans every field on each call,
    and a record is asked for some twenty tags."""

    def __init__(self, record: pymarc.Record) -> None:
        self.by_tag: dict[str, list[Any]] = {}
        for found in record.fields:
            self.by_tag.setdefault(found.tag, []).append(found)

    def get_fields(self, *tags: str) -> list[Any]:
        """The fields with these tags, in the record's order per tag."""
        if len(tags) == 1:
            return self.by_tag.get(tags[0], [])
        return [found for tag in tags for found in self.by_tag.get(tag, ())]


def _values(record: _Indexed, tag: str, *codes: str) -> list[str]:
    return [v for f in record.get_fields(tag) for v in f.get_subfields(*codes) if v and v.strip()]


def _first(record: _Indexed, tag: str, *codes: str) -> str:
    found = _values(record, tag, *codes)
    return found[0] if found else ""


def _control(record: _Indexed, tag: str) -> str:
    fields = record.get_fields(tag)
    return (fields[0].data or "").strip() if fields and fields[0].is_control_field() else ""


def _trim(text: str) -> str:
    """ISBD punctuation at the end of a field removed (``Hunt, Andrew,`` -> ``Hunt, Andrew``),
    keeping the full stop of an initial (``Smith, J.``)."""
    text = clean(text)
    if _INITIAL.search(text):
        return text
    return _TRAILING.sub("", text)


def _year(*texts: str) -> int | None:
    for text in texts:
        match = _YEAR.search(text or "")
        if match:
            return int(match[1])
    return None


def isbn13(text: str) -> str | None:
    """``text`` as the 13 digits of a valid ISBN (an ISBN-10 converted), or ``None``.

    The same answer as python-stdnum's ``isbn.to_isbn13(isbn.validate(text))`` (a
    test checks), with its EAN check digit, in a tenth of the time: that counts over
    a hundred thousand records.
    """
    digits = text.replace("-", "").replace(" ", "").upper()
    if len(digits) == 9 and digits[:8].isdigit():
        digits = "0" + digits  # an old SBN is an ISBN-10 without its leading 0
    if len(digits) == 10 and digits[:9].isdigit():
        check = sum((i + 1) * int(n) for i, n in enumerate(digits[:9])) % 11
        if ("X" if check == 10 else str(check)) != digits[9]:
            return None
        digits = "978" + digits[:9]
        return digits + stdean.calc_check_digit(digits)
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        return digits if stdean.calc_check_digit(digits[:12]) == digits[12] else None
    return None


def normalise_isbn(candidates: Iterable[str]) -> tuple[str | None, str | None]:
    """The first valid ISBN among ``candidates`` as 13 digits, and the first invalid
    one seen (to report) if none is valid."""
    bad = None
    for text in candidates:
        match = _ISBN_TOKEN.search(text)
        token = match[0] if match else text.strip()
        if not token:
            continue
        found = isbn13(token)
        if found:
            return found, None
        bad = bad or clean(token, 30)
    return None, bad


def _add(
    parsed: ParsedCatalogue, record: pymarc.Record, number: int, offset: int | None,
    formats: dict[str, None],
) -> None:
    """Map one pymarc record and add it (or its problem) to ``parsed``."""
    where: dict[str, Any] = {"place": "record", "number": number, "offset": offset}
    leader = str(record.leader or "")
    if leader[5:6] == "d":
        parsed.problems.append(Problem(**where, key="import.marc_deleted", level="warning"))
        return
    fields = _Indexed(record)
    unimarc = bool(fields.get_fields("200")) and not fields.get_fields("245")
    formats["UNIMARC" if unimarc else "MARC 21"] = None
    entry = _unimarc(fields) if unimarc else _marc21(fields)
    entry.place, entry.number, entry.offset = "record", number, offset
    entry.kind = "periodical" if leader[7:8] == "s" else entry.kind
    entry.copies = _copies(fields, parsed.problems, where)
    isbns = _values(fields, "010" if unimarc else "020", "a")
    entry.isbn, bad = normalise_isbn(isbns)
    if bad and not entry.isbn:
        parsed.problems.append(Problem(**where, key="import.bad_isbn", params={"isbn": bad},
                                       level="warning"))
    if not entry.title:
        parsed.problems.append(Problem(**where, key="import.no_title"))
        return
    parsed.records.append(entry)


def _marc21(record: _Indexed) -> CatalogueRecord:
    title = _trim(" ".join(_values(record, "245", "a", "b", "n", "p")[:6]))
    author = (_first(record, "100", "a") or _first(record, "110", "a")
              or _first(record, "111", "a") or _first(record, "245", "c")
              or _first(record, "700", "a"))
    published = [f for f in record.get_fields("264") if f.indicator2 == "1"]
    publisher = _first(record, "260", "b") or next(
        (v for f in published for v in f.get_subfields("b")), ""
    ) or _first(record, "264", "b")
    fixed = _control(record, "008")
    year = _year(_first(record, "260", "c"), _first(record, "264", "c"),
                 fixed[7:11] if fixed[7:11].isdigit() else "")
    clc = next(
        (v for f in record.get_fields("084")
         if (f.get_subfields("2") or [""])[0].strip().lower() == "clc"
         for v in f.get_subfields("a")), ""
    )
    classification = clc or " ".join(_values(record, "050", "a", "b")[:2]) or " ".join(
        _values(record, "090", "a", "b")[:2]
    ) or _first(record, "082", "a") or _first(record, "084", "a")
    kind = "reference" if len(fixed) > 27 and set(fixed[24:28]) & {"d", "e", "r"} else None
    control = _control(record, "001")
    if control:
        control = f"{_control(record, '003')}|{control}"
    return CatalogueRecord(
        "record", 0, title, _trim(author), _trim(publisher), year, None,
        clean(classification), kind, clean(control),
    )


def _unimarc(record: _Indexed) -> CatalogueRecord:
    main = [_trim(v) for v in _values(record, "200", "a")[:3]]
    extra = [_trim(v) for v in _values(record, "200", "e")[:2]]
    parts = [_trim(v) for v in _values(record, "200", "h", "i")[:4]]  # 分辑号, 分辑名
    title = clean(" ; ".join(main) + "".join(" : " + e for e in extra)
                  + "".join(". " + p for p in parts))
    person = _values(record, "701", "a", "b")[:2] or _values(record, "700", "a", "b")[:2]
    author = _first(record, "200", "f") or "".join(person)
    publisher = _first(record, "210", "c") or _first(record, "214", "c")
    coded = _first(record, "100", "a")
    year = _year(_first(record, "210", "d"), _first(record, "214", "d"),
                 coded[9:13] if coded[9:13].isdigit() else "")
    classification = (_first(record, "690", "a") or _first(record, "686", "a")
                      or _first(record, "905", "d"))
    control = _control(record, "001")
    return CatalogueRecord(
        "record", 0, title, _trim(author), _trim(publisher), year, None,
        clean(classification), None, clean(f"|{control}" if control else ""),
    )


def clean_barcode(text: str) -> str | None:
    """An accession barcode as kept, or ``None`` if it cannot be one (blanks, control
    characters, non-ASCII, too long, or a formula)."""
    code = clean_code(unicodedata.normalize("NFKC", text or ""))
    if code is None or len(code) > MAX_BARCODE or looks_like_formula(code):
        return None
    return code


def _copies(record: _Indexed, problems: list[Problem], where: dict[str, Any]) -> list[CopyRow]:
    copies: dict[str, CopyRow] = {}
    for tag, codes, shelf_codes in HOLDINGS:
        for holding in record.get_fields(tag):
            raw = next((v for c in codes for v in holding.get_subfields(c) if v.strip()), "")
            if not raw:
                continue
            shelf = next((v for c in shelf_codes for v in holding.get_subfields(c) if v.strip()), "")
            _add_copy(copies, raw, clean(shelf, SHELF_LENGTH), problems, where)
    return list(copies.values())


def _add_copy(
    copies: dict[str, CopyRow], raw: str, shelf: str, problems: list[Problem],
    where: dict[str, Any],
) -> None:
    """Add the copy with barcode ``raw`` (the first of a barcode wins), or report it."""
    barcode = clean_barcode(raw)
    if barcode is None:
        problems.append(Problem(**where, key="import.bad_barcode",
                                params={"barcode": clean(raw, 40)}, level="warning"))
        return
    copies.setdefault(barcode, CopyRow(barcode, shelf))


# -- tables ---------------------------------------------------------------------------


def _read_table(path: Path, data: bytes, encoding: str | None) -> ParsedCatalogue:
    tables, used = importing.read_tables(path, data, encoding)
    parsed = ParsedCatalogue([], [], "XLSX" if importing.is_xlsx(data) else "CSV", used)
    read_any = False
    for table in tables:
        found = importing.find_headings(table.rows, CSV_COLUMNS, {"title"})
        if found is None:
            if len(tables) > 1 and table.rows:
                parsed.problems.append(Problem("row", table.rows[0][0], "import.sheet_skipped",
                                               level="warning", sheet=table.sheet))
            continue
        read_any = True
        start, columns, _ = found
        for number, cells in table.rows[start + 1 :]:
            before = len(parsed.problems)
            entry = _table_row(number, cells, columns, parsed.problems)
            if len(tables) > 1:
                parsed.problems[before:] = [
                    replace(p, sheet=table.sheet) for p in parsed.problems[before:]]
            if entry is not None:
                parsed.records.append(entry)
    if not read_any:
        raise ImportRefused("import.catalogue_headings")
    return parsed


def _table_row(
    number: int, cells: list[str], columns: dict[str, int], problems: list[Problem]
) -> CatalogueRecord | None:
    def cell(name: str) -> str:
        column = columns.get(name)
        return cells[column].strip() if column is not None and column < len(cells) else ""

    where: dict[str, Any] = {"place": "row", "number": number}
    for name in columns:
        if looks_like_formula(cell(name)):
            problems.append(Problem(**where, key="import.formula",
                                    params={"value": clean(cell(name), 40)}))
            return None
    title = clean(cell("title"))
    if not title:
        problems.append(Problem(**where, key="import.no_title"))
        return None
    kind = None
    if cell("kind"):
        kind = KINDS.get(unicodedata.normalize("NFKC", cell("kind")).strip().casefold())
        if kind is None:
            problems.append(Problem(**where, key="import.bad_kind",
                                    params={"value": clean(cell("kind"), 20)}, level="warning"))
    isbn, bad = normalise_isbn([cell("isbn")]) if cell("isbn") else (None, None)
    if bad:
        problems.append(Problem(**where, key="import.bad_isbn", params={"isbn": bad},
                                level="warning"))
    copies: dict[str, CopyRow] = {}
    shelf = clean(cell("shelf"), SHELF_LENGTH)
    for raw in _SPLIT.split(cell("barcode")):
        if raw:
            _add_copy(copies, raw, shelf, problems, where)
    issue = _issue_date(cell("issue_date")) if cell("issue_date") else None
    if cell("issue_date") and issue is None:
        problems.append(Problem(**where, key="import.bad_issue_date", level="warning",
                                params={"value": clean(cell("issue_date"), 20)}))
    return CatalogueRecord(
        "row", number, title, clean(cell("author")), clean(cell("publisher")),
        _year(cell("year")), isbn, clean(cell("classification")),
        kind or ("periodical" if issue else None), "", list(copies.values()), None, issue,
    )


_ISSUE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2}))?")


def _issue_date(text: str) -> date | None:
    """An issue's date: ``2025-03-01``, ``2025/3``, ``2025年3月``, ``2025.03.15``
    (without a day, the first of the month)."""
    match = _ISSUE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3] or 1))
    except ValueError:
        return None


# -- planning -------------------------------------------------------------------------

_TITLE_FIELDS = ("isbn", "title", "author", "publisher", "year", "classification", "kind",
                 "issue_date")


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def title_key(entry: CatalogueRecord, *, by_content: bool = False) -> str:
    """The key a new title gets: from the record's control number, or (without one, or
    with ``by_content``) from its ISBN, title, author and year, so that importing the
    same file again finds it."""
    if entry.control and not by_content:
        basis = "control|" + entry.control
    else:
        basis = "|".join(["content", entry.isbn or "", _norm(entry.title), _norm(entry.author),
                          str(entry.year or "")]
                         + ([entry.issue_date.isoformat()] if entry.issue_date else []))
    return "t" + hashlib.sha1(basis.encode()).hexdigest()[:24]


def _same_book(row: dict[str, Any], entry: CatalogueRecord) -> bool:
    """Whether a title found by control number is this record's book: control numbers
    repeat across catalogues (``001 2``), and a record must never overwrite another
    book, so the ISBN or the title must agree too."""
    if row.get("isbn") and entry.isbn:
        return bool(row["isbn"] == entry.isbn)
    return _norm(row.get("title") or "") == _norm(entry.title)


@dataclass
class _Writes:
    titles: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)


def _plan(parsed: ParsedCatalogue) -> tuple[CataloguePlan, _Writes]:
    plan = CataloguePlan(problems=list(parsed.problems))
    writes = _Writes()
    titles: dict[str, dict[str, Any]] = {}
    by_isbn: dict[tuple[str, str, date | None], str] = {}
    query = Title.select(Title.key, *(getattr(Title, f) for f in _TITLE_FIELDS)).tuples()
    for key, *values in query.iterator():
        row = dict(zip(_TITLE_FIELDS, values, strict=True))
        titles[key] = row
        if row["isbn"]:
            by_isbn.setdefault((row["isbn"], _norm(row["title"]), row["issue_date"]), key)
    copies = {
        barcode: (key, shelf, reference_only)
        for barcode, key, shelf, reference_only in Copy.select(
            Copy.barcode, Title.key, Copy.shelf, Copy.reference_only
        ).join(Title).tuples().iterator()
    }
    claimed: dict[str, tuple[int, str]] = {}
    planned: dict[str, tuple[int, dict[str, Any]]] = {}
    for entry in parsed.records:
        where: dict[str, Any] = {"place": entry.place, "number": entry.number,
                                 "offset": entry.offset}
        owners = {copies[c.barcode][0] for c in entry.copies if c.barcode in copies}
        if len(owners) > 1:
            plan.problems.append(Problem(**where, key="import.barcodes_split"))
            continue
        key = owners.pop() if owners else None
        if key is None and entry.isbn:
            key = by_isbn.get((entry.isbn, _norm(entry.title), entry.issue_date))
        if key is None:
            key = title_key(entry)
            known = planned[key][1] if key in planned else titles.get(key)
            if entry.control and known is not None and not _same_book(known, entry):
                key = title_key(entry, by_content=True)
        mine = []
        for copy in entry.copies:
            first, owner = claimed.setdefault(copy.barcode, (entry.number, key))
            if owner != key:
                plan.problems.append(Problem(**where, key="import.barcode_twice", level="warning",
                                             params={"barcode": copy.barcode, "first": first}))
            elif first == entry.number:
                mine.append(copy)  # (a row repeating a copy of the same title adds nothing)
        row = _title_row(entry, titles.get(key))
        if key in planned:
            if row != planned[key][1]:
                plan.problems.append(Problem(**where, key="import.same_title", level="warning",
                                             params={"first": planned[key][0]}))
        else:
            planned[key] = (entry.number, row)
            _plan_title(plan, writes, entry, key, titles.get(key), row, len(mine))
        if entry.isbn:
            by_isbn.setdefault((entry.isbn, _norm(entry.title), entry.issue_date), key)
        kind = planned[key][1]["kind"]
        for copy in mine:
            old = copies.get(copy.barcode)
            if old is None:
                plan.copies_added += 1
                writes.copies[copy.barcode] = {"copy": copy.barcode, "title": key,
                                               "shelf": copy.shelf,
                                               "reference_only": kind == "reference"}
            elif copy.shelf and copy.shelf != old[1]:
                plan.copies_updated += 1
                writes.copies[copy.barcode] = {"copy": copy.barcode, "title": key,
                                               "shelf": copy.shelf, "reference_only": old[2]}
            else:
                plan.copies_unchanged += 1
    return plan, writes


def _title_row(entry: CatalogueRecord, old: dict[str, Any] | None) -> dict[str, Any]:
    """The title as it will be: the file's values, and the library's where the file
    has none."""
    old = old or {}
    new = {
        "isbn": entry.isbn, "title": entry.title, "author": entry.author,
        "publisher": entry.publisher, "year": entry.year,
        "classification": entry.classification, "kind": entry.kind,
        "issue_date": entry.issue_date,
    }
    row = {name: (new.get(name) or old.get(name)) for name in _TITLE_FIELDS}
    row["kind"] = row["kind"] or "book"
    for name in ("author", "publisher", "classification"):
        row[name] = row[name] or ""
    return row


def _plan_title(
    plan: CataloguePlan, writes: _Writes, entry: CatalogueRecord, key: str,
    old: dict[str, Any] | None, row: dict[str, Any], copies: int,
) -> None:
    if old is not None and row == old:
        plan.titles_unchanged += 1
        return
    changes = tuple(n for n in _TITLE_FIELDS if old is not None and row[n] != old[n])
    change = TitleChange(entry.place, entry.number, key, row["title"], row["isbn"], copies, changes)
    (plan.titles_updated if old is not None else plan.titles_added).append(change)
    issue = row["issue_date"]
    writes.titles[key] = {
        **row, "key": key, "issue_date": issue.isoformat() if isinstance(issue, date) else issue,
    }


def plan_catalogue(db: pw.Database, parsed: ParsedCatalogue) -> CataloguePlan:
    """What importing ``parsed`` would change in ``db`` (nothing is written).

    Raises:
        ImportRefused: ``import.joined_kiosk`` (a kiosk's master data is the desk's).
    """
    with importing.session(db):
        importing.check_may_import()
        return _plan(parsed)[0]


def apply_catalogue(db: pw.Database, parsed: ParsedCatalogue) -> CataloguePlan:
    """Import ``parsed`` into ``db`` in one transaction and return what it did.

    The plan is made again inside the transaction; only new or changed titles and
    copies become facts (``title_saved`` before ``copy_saved``).

    Raises:
        ImportRefused: ``import.joined_kiosk``.
    """
    with importing.session(db), importing.in_one_transaction(db):
        importing.check_may_import()
        plan, writes = _plan(parsed)
        clock = HybridClock("desk", last_hlc())
        if writes.titles:
            plan.facts += masterdata.save_many(Kind.TITLE_SAVED, writes.titles.values(), clock=clock)
            if is_postgres(db) and len(writes.titles) > 1000:
                # PostgreSQL plans the copies' title lookups from statistics that still
                # see the table before this transaction: refresh them (11 s of 65 for
                # 100,000 new titles went to scanning the table instead of its index).
                db.execute_sql('ANALYZE "title"')
        if writes.copies:
            plan.facts += masterdata.save_many(Kind.COPY_SAVED, writes.copies.values(), clock=clock)
    return plan


assert set(KINDS.values()) <= set(ITEM_KINDS)
