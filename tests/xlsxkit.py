"""Hostile XLSX workbooks for the import's limits, made here byte by byte.

A zip bomb is small on disk and huge unpacked: a part is given as pieces repeated
many times (``(b"<si><t/></si>", 30_000_000)``), and each repeated block is deflated
once, with a full flush, and the compressed block repeated, so a 2 GB part is made in
about a second and takes a few megabytes on disk. The zip is written by hand
(``zipfile`` cannot take data that is already deflated), which also lets a test make it
lie about a part's size. :func:`normal_workbook` makes an honest one with ``zipfile``.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

Part = Iterable[tuple[bytes, int]]
"""A part's content: pieces of bytes, each repeated so many times."""

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
).encode()
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
).encode()
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
    '<sheets><sheet name="Books" sheetId="1" r:id="rId1"/></sheets></workbook>'
).encode()
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
).encode()

SHEET_START = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
STRINGS_START = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()


def _packed(block: bytes) -> bytes:
    """``block`` deflated on its own (a full flush: it can follow any other block)."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15)
    return encoder.compress(block) + encoder.flush(zlib.Z_FULL_FLUSH)


def _deflate(part: Part) -> tuple[bytes, int, int]:
    """The raw deflate stream of ``part``, its CRC-32 and its unpacked size."""
    out: list[bytes] = []
    crc, size = 0, 0
    for piece, count in part:
        per_block = max(1, (1 << 20) // max(1, len(piece)))  # about 1 MB a block
        blocks, rest = divmod(count, per_block)
        for block, times in ((piece * per_block, blocks), (piece * rest, 1 if rest else 0)):
            if not times:
                continue
            out.append(_packed(block) * times)
            for _ in range(times):
                crc = zlib.crc32(block, crc)
            size += len(block) * times
    out.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))  # the last block
    return b"".join(out), crc, size


def write_zip(path: Path, parts: dict[str, Part], declared: dict[str, int] | None = None) -> Path:
    """Write a zip of deflated ``parts``; ``declared`` makes it lie about parts' sizes."""
    declared = declared or {}
    local, central = bytearray(), bytearray()
    for name, part in parts.items():
        data, crc, size = _deflate(part)
        size = declared.get(name, size)
        encoded = name.encode()
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data),
                             size, len(encoded), 0)
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, len(local))
        central += encoded
        local += header + encoded + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central),
                      len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def workbook(path: Path, sheet: Part, strings: Part | None = None,
             declared: dict[str, int] | None = None) -> Path:
    """An XLSX workbook of one sheet ``Books`` with these sheet and shared-strings parts."""
    parts: dict[str, Part] = {
        "[Content_Types].xml": [(CONTENT_TYPES, 1)],
        "_rels/.rels": [(ROOT_RELS, 1)],
        "xl/workbook.xml": [(WORKBOOK, 1)],
        "xl/_rels/workbook.xml.rels": [(WORKBOOK_RELS, 1)],
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": strings if strings is not None else [
            (STRINGS_START + b"</sst>", 1)],
    }
    return write_zip(path, parts, declared)


def heading_rows(columns: str = "<c r=\"A1\" t=\"inlineStr\"><is><t>title</t></is></c>") -> bytes:
    """A sheet's start and a heading row with a title column."""
    return SHEET_START + b"<sheetData><row r=\"1\">" + columns.encode() + b"</row>"


def normal_workbook(path: Path, rows: list[list[str]], title: str = "Books") -> Path:
    """An honest workbook written by ``zipfile``, its cells inline strings."""
    cells = []
    for number, row in enumerate(rows, 1):
        cells.append(f'<row r="{number}">' + "".join(
            f'<c t="inlineStr"><is><t>{value}</t></is></c>' for value in row) + "</row>")
    sheet = SHEET_START.decode() + "<sheetData>" + "".join(cells) + "</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", CONTENT_TYPES)
        out.writestr("_rels/.rels", ROOT_RELS)
        out.writestr("xl/workbook.xml", WORKBOOK.replace(b"Books", title.encode()))
        out.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        out.writestr("xl/worksheets/sheet1.xml", sheet)
        out.writestr("xl/sharedStrings.xml", STRINGS_START + b"</sst>")
    return path
