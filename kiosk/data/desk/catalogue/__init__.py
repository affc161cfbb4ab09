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
import io
import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path

from kiosk.data.desk import importing
from kiosk.data.desk.catalogue.fields import clean_barcode, isbn13, normalise_isbn
from kiosk.data.desk.catalogue.iso2709 import read_iso2709
from kiosk.data.desk.catalogue.marcjson import read_json
from kiosk.data.desk.catalogue.marcxml import read_marcxml
from kiosk.data.desk.catalogue.plan import apply_catalogue, plan_catalogue, title_key
from kiosk.data.desk.catalogue.records import (
    CataloguePlan,
    CatalogueRecord,
    CopyRow,
    ParsedCatalogue,
    TitleChange,
)
from kiosk.data.desk.catalogue.tables import read_table
from kiosk.data.desk.importing import ImportRefused, clean

log = logging.getLogger(__name__)

__all__ = [
    "FORMATS", "CatalogueRecord", "CataloguePlan", "CopyRow", "ParsedCatalogue", "TitleChange",
    "apply_catalogue", "clean_barcode", "detect_format", "isbn13", "normalise_isbn",
    "parse_catalogue", "plan_catalogue", "title_key",
]

READERS: dict[str, Callable[[Path, bytes, str | None], ParsedCatalogue]] = {
    "iso2709": lambda _path, data, encoding: read_iso2709(data, encoding),
    "marcxml": lambda _path, data, _encoding: read_marcxml(data),
    "json": lambda _path, data, _encoding: read_json(data),
    "csv": read_table,
    "xlsx": read_table,
}
"""Each format a catalogue file may have, and its reader (path, bytes, CSV encoding)."""

FORMATS = tuple(READERS)
"""The formats by name, as ``--format`` takes them."""


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

    ``format`` is one of :data:`FORMATS` (found from the
    file's first bytes when not given); ``encoding`` applies to CSV files.

    Raises:
        ImportRefused: the file is too big, empty, of an unknown format or encoding,
            or a table without a title column.
    """
    importing.check_file(path, max_bytes)
    data = path.read_bytes()
    format = format or detect_format(data)
    if format not in READERS:
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
            return READERS[format](path, data, encoding)
        finally:
            if said.getvalue():
                log.warning("pymarc said while reading %s: %s", path.name, said.getvalue()[:2000])
