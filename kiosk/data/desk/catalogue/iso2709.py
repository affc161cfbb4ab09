"""Reading ISO 2709 files (MARC 21, UNIMARC/CNMARC) record by record, in several
processes for a big file; damaged records are reported one by one."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import pymarc

from kiosk.data.desk import importing
from kiosk.data.desk.catalogue.fields import add_record
from kiosk.data.desk.catalogue.records import ParsedCatalogue
from kiosk.data.desk.importing import Problem

log = logging.getLogger(__name__)


_BLANK = b"\r\n\t \x00\x1a"


PARALLEL_FROM = 20_000
"""A file with more records than this is read by several processes (one per core, at
most :data:`MAX_WORKERS`): reading is most of an import's time, and the desk's
computer has cores to spare."""

MAX_WORKERS = 4


def read_iso2709(data: bytes, encoding: str | None = None) -> ParsedCatalogue:
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
            add_record(parsed, record, number, start, formats)
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
