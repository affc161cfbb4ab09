"""``kiosk import catalogue``: real MARC files, MARC 21 and CNMARC records made here
byte by byte, MARCXML, CSV/XLSX tables, hostile files, re-imports, a joined kiosk
and a PostgreSQL desk.

The real files are pymarc's test data beside the repository (``../shared/marc``, or
where ``KIOSK_MARC`` says); like the photo corpus, their tests are skipped, saying
so, where the folder is absent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import peewee as pw
import pymarc
import pytest
import xlsxkit
from clikit import command, journal_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean as stdean
from stdnum import isbn as stdisbn
from stdnum.exceptions import ValidationError

from kiosk.data import sync
from kiosk.data.core import library
from kiosk.data.core.db import database
from kiosk.data.core.models import Copy, Title
from kiosk.data.desk import catalogue, importing
from kiosk.data.desk.catalogue import apply_catalogue, parse_catalogue, plan_catalogue
from kiosk.data.desk.catalogue import iso2709 as iso2709_reader
from kiosk.data.desk.importing import ImportRefused

MARC_DIR = Path(
    os.environ.get("KIOSK_MARC") or Path(__file__).resolve().parents[2] / "shared" / "marc"
)
REAL_FILES = sorted(p.name for p in MARC_DIR.glob("*") if p.suffix in (".dat", ".mrc"))


def needs_real_files() -> None:
    if not REAL_FILES:
        pytest.skip(f"no MARC sample files at {MARC_DIR} (set KIOSK_MARC)")


def titles(db: pw.Database) -> dict[str, Title]:
    with database.session(db):
        return {t.title: t for t in Title.select()}


def isbn13_of(isbn10: str) -> str:
    """ISBN-13 of an ISBN-10, computed here independently of python-stdnum."""
    core = "978" + isbn10[:9]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core))
    return core + str((10 - total % 10) % 10)


# -- ISO 2709 made by hand (any encoding, any damage) ---------------------------------

Field = tuple[str, "str | bytes | tuple[str, list[tuple[str, str | bytes]]]"]


def iso2709(fields: list[Field], *, leader: str = "00000nam  2200000   4500",
            encoding: str = "utf-8") -> bytes:
    """One ISO 2709 record: control fields are text, data fields (indicators, subfields)."""
    directory, parts, offset = b"", [], 0
    for tag, value in fields:
        if isinstance(value, tuple):
            ind, subs = value
            body = ind.encode() + b"".join(
                b"\x1f" + code.encode() + (v if isinstance(v, bytes) else v.encode(encoding))
                for code, v in subs
            ) + b"\x1e"
        else:
            body = (value if isinstance(value, bytes) else value.encode(encoding)) + b"\x1e"
        directory += f"{tag}{len(body):04d}{offset:05d}".encode()
        parts.append(body)
        offset += len(body)
    base = 24 + len(directory) + 1
    rest = directory + b"\x1e" + b"".join(parts) + b"\x1d"
    return f"{24 + len(rest):05d}{leader[5:12]}{base:05d}{leader[17:]}".encode() + rest


def marc21(title: str, *, control: str, isbn: str = "", barcodes: tuple[str, ...] = (),
           clc: str = "", leader: str = "00000nam a2200000 a 4500") -> bytes:
    fields: list[Field] = [("001", control), ("008", "250101s2019    cc a          000 0 chi d")]
    if isbn:
        fields.append(("020", ("  ", [("a", isbn)])))
    if clc:
        fields.append(("084", ("  ", [("a", clc), ("2", "clc")])))
    fields.append(("100", ("1 ", [("a", "Writer, Ann,")])))
    fields.append(("245", ("10", [("a", title + " /"), ("c", "Ann Writer.")])))
    fields.append(("260", ("  ", [("a", "Beijing :"), ("b", "Some Press,"), ("c", "2019.")])))
    fields += [("952", ("  ", [("p", code), ("c", "STACKS")])) for code in barcodes]
    return iso2709(fields, leader=leader)


# -- the real files -------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_FILES or ["(none)"])
def test_every_real_marc_file_imports_and_a_second_import_changes_nothing(name, library):
    needs_real_files()
    path = MARC_DIR / name
    data = path.read_bytes()
    parsed = parse_catalogue(path)
    # pymarc's own reader, record by record, agrees on which records are good.
    reader = pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True,
                               utf8_handling="replace", permissive=True)
    readable = sum(1 for record in reader
                   if record is not None and record.get_fields("245", "200"))
    assert len(parsed.records) == readable > 0
    # Every damaged record is reported at the byte where it starts.
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x1D]
    for problem in parsed.problems:
        assert problem.level == "error" and problem.place == "record"
        assert problem.offset == starts[problem.number - 1]
    plan = apply_catalogue(library, parsed)
    assert plan.facts == len(plan.titles_added) > 0
    keys = {catalogue.title_key(r) for r in parsed.records}
    in_db = titles(library)
    assert len(in_db) == len(keys)
    for record in parsed.records:
        assert in_db[record.title].isbn == record.isbn
    before = journal_rows(library)
    again = apply_catalogue(library, parse_catalogue(path))
    assert again.facts == 0 and again.changes == 0
    assert journal_rows(library) == before


def test_the_real_records_are_read_as_a_librarian_expects(library):
    needs_real_files()
    one = parse_catalogue(MARC_DIR / "one.dat").records[0]
    assert one.title == "ActivePerl with ASP and ADO"
    assert one.author == "Martinsson, Tobias"
    assert one.publisher == "John Wiley & Sons" and one.year == 2000
    assert one.isbn == isbn13_of("0471383147")
    multi = parse_catalogue(MARC_DIR / "multi_isbn.dat").records[0]
    assert multi.isbn == isbn13_of("0914378287")  # the first of three
    unimarc = parse_catalogue(MARC_DIR / "testunimarc.dat")
    assert unimarc.format == "UNIMARC"
    record = unimarc.records[0]
    # 200$a holds NSB/NSE markers around "L'": dropped, not shown as ℗ or escapes.
    assert record.title == "L'altra faccia della spirale"
    assert (record.author, record.publisher, record.year) == ("Isaac Asimov", "A. Mondadori", 1996)
    assert record.isbn == isbn13_of("8804406828")
    diacritic = parse_catalogue(MARC_DIR / "diacritic.dat").records[0]
    assert diacritic.title.startswith("Amateur media")


def test_bad_records_are_reported_and_the_good_ones_import(library):
    needs_real_files()
    parsed = parse_catalogue(MARC_DIR / "bad_records.mrc")
    bad = {p.number for p in parsed.problems}
    good = {r.number for r in parsed.records}
    assert bad and good and not bad & good
    assert all(p.key.startswith("import.damaged.") for p in parsed.problems)
    apply_catalogue(library, parsed)
    assert set(titles(library)) == {r.title for r in parsed.records}


# -- records made here ----------------------------------------------------------------


def test_holdings_clc_and_isbn_become_titles_and_copies(library, tmp_path):
    path = tmp_path / "books.mrc"
    path.write_bytes(
        marc21("Charlotte's web", control="A1", isbn="0-06-440055-7", clc="I712.84",
               barcodes=("B0001", "B0002"))
        + marc21("Magazine", control="A2", barcodes=("M0001",),
                 leader="00000nas a2200000 a 4500")
    )
    plan = apply_catalogue(library, parse_catalogue(path))
    assert (len(plan.titles_added), plan.copies_added) == (2, 3)
    web = titles(library)["Charlotte's web"]
    assert web.isbn == isbn13_of("0064400557")
    assert web.classification == "I712.84" and web.author == "Writer, Ann"
    assert web.publisher == "Some Press" and web.year == 2019 and web.kind == "book"
    assert titles(library)["Magazine"].kind == "periodical"
    with database.session(library):
        assert {c.barcode: (c.title.title, c.shelf) for c in Copy.select()} == {
            "B0001": ("Charlotte's web", "STACKS"), "B0002": ("Charlotte's web", "STACKS"),
            "M0001": ("Magazine", "STACKS"),
        }


def test_a_cnmarc_record_in_gbk_with_905_holdings(library, tmp_path):
    record = iso2709(
        [
            ("001", "CN0001"),
            ("010", ("  ", [("a", "978-7-02-008220-9"), ("d", "CNY25.00")])),
            ("100", ("  ", [("a", "20190101d2019    em y0chiy0110    ea")])),
            ("200", ("1 ", [("a", "小王子"), ("f", "(法)圣埃克苏佩里著")])),
            ("210", ("  ", [("a", "北京"), ("c", "人民文学出版社"), ("d", "2019")])),
            ("690", ("  ", [("a", "I565.88"), ("v", "5")])),
            ("905", ("  ", [("a", "XX"), ("b", "C000123"), ("d", "I565.88")])),
            ("905", ("  ", [("a", "XX"), ("b", "C000124"), ("d", "I565.88")])),
        ],
        leader="00000nam0 2200000   450 ", encoding="gbk",
    )
    path = tmp_path / "cnmarc.iso"
    path.write_bytes(record + b"\r\n")
    parsed = parse_catalogue(path)
    assert parsed.format == "UNIMARC" and parsed.encoding == "GB18030"
    assert not parsed.problems
    apply_catalogue(library, parsed)
    book = titles(library)["小王子"]
    assert (book.author, book.publisher, book.year) == ("(法)圣埃克苏佩里著", "人民文学出版社", 2019)
    assert book.classification == "I565.88" and book.isbn == "9787020082209"
    with database.session(library):
        assert sorted(c.barcode for c in Copy.select().where(Copy.title == book.id)) == [
            "C000123", "C000124"]


def test_an_encoding_given_for_a_marc_file(library, tmp_path):
    record = iso2709([("001", "L1"), ("200", ("1 ", [("a", "Éléments"), ("h", "Tome 2"),
                                                      ("i", "Géométrie")]))],
                     leader="00000nam0 2200000   450 ", encoding="latin-1")
    path = tmp_path / "latin.mrc"
    path.write_bytes(record)
    assert parse_catalogue(path).records[0].title != "Éléments. Tome 2. Géométrie"
    parsed = parse_catalogue(path, encoding="latin-1")
    assert parsed.records[0].title == "Éléments. Tome 2. Géométrie"
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(path, encoding="no-such-codec")
    assert error.value.key == "import.bad_encoding"


def test_a_directory_counted_in_characters_is_repaired(library, tmp_path):
    fields = [("001", "C1"), ("200", "1 \x1fa城南旧事\x1ff林海音著"),
              ("210", "  \x1fa北京\x1fc人民文学出版社\x1fd2010"), ("905", "  \x1fbCN0001")]
    directory, offset = "", 0
    for tag, text in fields:  # lengths in characters, as some old systems write them
        directory += f"{tag}{len(text) + 1:04d}{offset:05d}"
        offset += len(text) + 1
    body = (directory.encode() + b"\x1e" + b"".join(t.encode("gbk") + b"\x1e" for _, t in fields)
            + b"\x1d")
    base = 24 + len(directory) + 1
    record = f"{24 + offset + len(directory) + 2:05d}nam0 22{base:05d}   450 ".encode() + body
    path = tmp_path / "chars.iso"
    path.write_bytes(record + marc21("Next", control="N1"))
    parsed = parse_catalogue(path)
    assert [(p.number, p.key, p.level) for p in parsed.problems] == [
        (1, "import.directory_repaired", "warning")]
    first = parsed.records[0]
    assert (first.title, first.author, first.publisher, first.year) == (
        "城南旧事", "林海音著", "人民文学出版社", 2010)
    assert [c.barcode for c in first.copies] == ["CN0001"]
    assert parsed.records[1].title == "Next"


def test_a_marc21_record_in_gbk(library, tmp_path):
    record = iso2709([("001", "G1"), ("245", ("10", [("a", "城南旧事 /"), ("c", "林海音著.")])),
                      ("952", ("  ", [("p", "G0001")]))],
                     leader="00000nam  2200000   4500", encoding="gbk")
    path = tmp_path / "gbk21.mrc"
    path.write_bytes(record)
    parsed = parse_catalogue(path)
    assert (parsed.format, parsed.encoding) == ("MARC 21", "GB18030")
    assert (parsed.records[0].title, parsed.records[0].author) == ("城南旧事", "林海音著")


def test_a_record_that_says_utf8_and_is_not(library, tmp_path):
    latin = iso2709([("001", "U1"), ("245", ("10", [("a", b"Caf\xe9 society")]))],
                    leader="00000nam a2200000 a 4500")
    gbk = iso2709([("001", "U2"), ("245", ("10", [("a", "骆驼祥子")]))],
                  leader="00000nam a2200000 a 4500", encoding="gbk")
    path = tmp_path / "mislabelled.mrc"
    path.write_bytes(latin + gbk)
    parsed = parse_catalogue(path)
    # The GBK record is read as Chinese; the Latin-1 byte is shown as U+FFFD and reported.
    assert [r.title for r in parsed.records] == ["Caf\ufffd society", "骆驼祥子"]
    assert [(p.number, p.key, p.level) for p in parsed.problems] == [
        (1, "import.bad_bytes", "warning")]


def test_a_bom_before_the_first_record_is_ignored(library, tmp_path):
    path = tmp_path / "bom.mrc"
    path.write_bytes(b"\xef\xbb\xbf" + marc21("After a BOM", control="B1")
                     + b"\r\n" + marc21("Second", control="B2"))
    parsed = parse_catalogue(path)
    assert [r.title for r in parsed.records] == ["After a BOM", "Second"]
    assert not parsed.problems


def test_a_marc8_record_is_decoded(library, tmp_path):
    # MARC-8: the combining acute (0xE2) comes before the letter it goes on.
    record = iso2709([("001", "M8"), ("245", ("10", [("a", b"Caf\xe2e society /")]))],
                     leader="00000nam  2200000   4500", encoding="latin-1")
    path = tmp_path / "marc8.mrc"
    path.write_bytes(record)
    parsed = parse_catalogue(path)
    assert parsed.encoding == "MARC-8"
    assert parsed.records[0].title == "Café society"  # composed (NFC)


def test_a_file_cut_in_the_middle_imports_the_whole_records(library, tmp_path):
    records = [marc21(f"Book {i}", control=f"C{i}", barcodes=(f"X{i}",)) for i in range(5)]
    whole = b"".join(records)
    cut_at = sum(map(len, records[:3])) + len(records[3]) // 2
    path = tmp_path / "cut.mrc"
    path.write_bytes(whole[:cut_at])
    parsed = parse_catalogue(path)
    assert [r.title for r in parsed.records] == ["Book 0", "Book 1", "Book 2"]
    [problem] = parsed.problems
    assert (problem.key, problem.number, problem.offset) == (
        "import.marc_cut", 4, sum(map(len, records[:3])))
    apply_catalogue(library, parsed)
    assert set(titles(library)) == {"Book 0", "Book 1", "Book 2"}
    with database.session(library):
        assert Copy.select().count() == 3
    # The complete file later adds only what was missing.
    path.write_bytes(whole)
    plan = apply_catalogue(library, parse_catalogue(path))
    assert (len(plan.titles_added), plan.titles_unchanged, plan.copies_added) == (2, 3, 2)


def _lie(record: bytes, entry: int, length: int = 0, offset: int = 0) -> bytes:
    """``record`` with its directory's ``entry`` (from 0) longer by ``length`` and moved
    by ``offset``: the leader and every byte of the fields stay as they were."""
    at = 24 + 12 * entry
    old_length, old_offset = int(record[at + 3 : at + 7]), int(record[at + 7 : at + 12])
    lie = f"{old_length + length:04d}{old_offset + offset:05d}".encode()
    return record[: at + 3] + lie + record[at + 12 :]


def test_a_directory_whose_lengths_lie_damages_its_record_only(library, tmp_path):
    # Fields 001, 245, 952: a 245 length that runs into the 952 field read as the title
    # "Good two MARC0002"; a length cut short, or a field moved, lost text silently.
    def record(title: str, control: str) -> bytes:
        return iso2709([("001", control), ("245", ("10", [("a", title)])),
                        ("952", ("  ", [("p", f"MARC{control}")]))])

    swallows = _lie(record("Good two", "0002"), 1, length=len(b"  \x1fpMARC0002\x1e"))
    cut = _lie(record("Good four", "0004"), 1, length=-3)
    moved = _lie(record("Good five", "0005"), 1, length=-2, offset=2)
    records = [record("Good one", "0001"), swallows, record("Good three", "0003"), cut, moved,
               record("Good six", "0006")]
    path = tmp_path / "lying.mrc"
    path.write_bytes(b"".join(records))
    parsed = parse_catalogue(path)
    assert [(r.number, r.title) for r in parsed.records] == [
        (1, "Good one"), (3, "Good three"), (6, "Good six")]
    starts = [sum(map(len, records[:i])) for i in range(len(records))]
    assert [(p.number, p.key, p.offset, p.level) for p in parsed.problems] == [
        (n, "import.damaged.directory", starts[n - 1], "error") for n in (2, 4, 5)]
    apply_catalogue(library, parsed)
    assert set(titles(library)) == {"Good one", "Good three", "Good six"}


def test_a_big_file_is_read_in_several_processes_as_in_one(library, tmp_path, monkeypatch):
    records = [marc21(f"Book {i}", control=f"P{i}", barcodes=(f"P{i:04d}",)) for i in range(60)]
    damaged = bytearray(records[17])
    damaged[12:17] = b"0000x"
    records[17] = bytes(damaged)
    data = b"\r\n".join(records)[:-30]  # blank lines between records, the last one cut
    path = tmp_path / "big.mrc"
    path.write_bytes(data)
    serial = iso2709_reader._merge([iso2709_reader._read_slice((data, 0, 0, None))])
    assert len(serial.records) == 58 and [p.number for p in serial.problems] == [18, 60]
    for workers in (3, 7):  # (7 slices of a small file: fewer cuts)
        parallel = iso2709_reader._merge(iso2709_reader._read_in_parallel(data, 0, None, workers))
        assert parallel == serial
    monkeypatch.setattr(iso2709_reader, "PARALLEL_FROM", 10)  # the import itself takes that way
    assert parse_catalogue(path) == serial


def test_escape_sequences_in_titles_are_never_stored(library, tmp_path):
    evil = "Evil\x1b[31mRed\x1b]0;owned\x07 \x9b2JBook\x00\u202e"
    path = tmp_path / "evil.mrc"
    path.write_bytes(marc21(evil, control="E1", barcodes=("E0001",)))
    csv_path = tmp_path / "evil.csv"
    csv_path.write_text(  # (a NUL in a CSV makes it a binary file, refused as a whole)
        f"title,author,barcode\n\"Tab\tle{evil.replace(chr(0), '')}\",\"\x1b[2JAuthor\",E0002\n",
        encoding="utf-8",
    )
    apply_catalogue(library, parse_catalogue(path))
    apply_catalogue(library, parse_catalogue(csv_path))
    with database.session(library):
        stored = [(t.title, t.author) for t in Title.select()]
    assert ("EvilRed Book", "Writer, Ann") in stored
    assert ("Tab leEvilRed Book", "Author") in stored
    for text in (s for row in stored for s in row):
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in text)


def test_an_invalid_isbn_is_reported_and_the_title_kept(library, tmp_path):
    path = tmp_path / "isbn.mrc"
    path.write_bytes(marc21("Bad number", control="I1", isbn="0-06-440055-8"))
    parsed = parse_catalogue(path)
    [problem] = parsed.problems
    assert (problem.key, problem.level, problem.number) == ("import.bad_isbn", "warning", 1)
    apply_catalogue(library, parsed)
    assert titles(library)["Bad number"].isbn is None


def test_marcxml_and_a_cut_marcxml(library, tmp_path):
    records = [pymarc.Record(leader="00000nam a2200000 a 4500") for _ in range(3)]
    for i, record in enumerate(records):
        record.add_field(pymarc.Field(tag="001", data=f"X{i}"))
        record.add_field(pymarc.Field(
            tag="245", indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", f"绘本 {i} /")]))
        record.add_field(pymarc.Field(
            tag="952", indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("p", f"XML{i}")]))
    out = io.BytesIO()
    writer = pymarc.XMLWriter(out)
    for record in records:
        writer.write(record)
    writer.close(close_fh=False)
    xml = out.getvalue()
    path = tmp_path / "records.xml"
    path.write_bytes(xml)
    parsed = parse_catalogue(path)
    assert [r.title for r in parsed.records] == ["绘本 0", "绘本 1", "绘本 2"]
    cut = tmp_path / "cut.xml"
    cut.write_bytes(xml[: xml.index(b"XML2") ])
    parsed = parse_catalogue(cut)
    assert [r.title for r in parsed.records] == ["绘本 0", "绘本 1"]
    assert [p.key for p in parsed.problems] == ["import.xml_broken"]
    apply_catalogue(library, parsed)
    assert set(titles(library)) == {"绘本 0", "绘本 1"}
    # A leader of the wrong length (as in pymarc's bad_tag.xml) is padded; a field
    # without its tag damages that record only.
    odd = tmp_path / "odd.xml"
    odd.write_text(
        '<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">'
        '<record><leader>      Z   22 4500</leader><datafield tag="245" ind1="0" ind2="0">'
        '<subfield code="a">The Untamed</subfield></datafield></record>'
        '<record><leader>00000nam a2200000 a 4500</leader><datafield ind1="0" ind2="0">'
        '<subfield code="a">No tag</subfield></datafield></record>'
        '<record><leader>00000nas a2200000 a 4500</leader><datafield tag="245" ind1="0" '
        'ind2="0"><subfield code="a">Third</subfield></datafield></record></collection>',
        encoding="utf-8",
    )
    parsed = parse_catalogue(odd)
    assert [(r.number, r.title, r.kind) for r in parsed.records] == [
        (1, "The Untamed", None), (3, "Third", "periodical")]
    assert [(p.number, p.key) for p in parsed.problems] == [(2, "import.damaged.other")]
    entities = tmp_path / "entities.xml"
    entities.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                         b"<collection>&a;</collection>")
    with pytest.raises(ImportRefused) as refused:
        parse_catalogue(entities)
    assert refused.value.key == "import.xml_entities"


def test_a_dtd_anywhere_in_marcxml_is_refused(library, tmp_path):
    # A guard that read the first 64 KiB missed a DOCTYPE after a 70 kB comment, and
    # the entity it declared was imported as a title.
    record = ('<collection xmlns="http://www.loc.gov/MARC21/slim"><record>'
              "<leader>00000nam a2200000 a 4500</leader>"
              '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">&x;</subfield>'
              "</datafield></record></collection>")
    padded = tmp_path / "padded.xml"
    padded.write_text('<?xml version="1.0"?><!--' + "x" * 70_000 + "-->"
                      '<!DOCTYPE collection [<!ENTITY x "Expanded entity">]>' + record,
                      encoding="utf-8")
    refused(library, padded, "import.xml_entities")
    # A DTD that declares nothing, and an external one, are refused as well.
    plain = tmp_path / "plain.xml"
    plain.write_text("<!--" + "y" * 70_000 + "--><!DOCTYPE collection>"
                     + record.replace("&x;", "Plain"), encoding="utf-8")
    refused(library, plain, "import.xml_entities")
    external = tmp_path / "external.xml"
    external.write_text('<!DOCTYPE collection SYSTEM "file:///etc/passwd">'
                        + record.replace("&x;", "External"), encoding="utf-8")
    refused(library, external, "import.xml_entities")
    assert titles(library) == {}


def test_a_dtd_or_entity_in_any_part_of_a_workbook_is_refused(library, tmp_path):
    # openpyxl's own parser expanded an entity a sheet declared into a cell.
    sheet = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x "Expanded entity">]>'
             f'<worksheet xmlns="{xlsxkit.MAIN}"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>title</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>&x;</t></is></c></row>'
             "</sheetData></worksheet>").encode()
    refused(library, xlsxkit.workbook(tmp_path / "entity.xlsx", [(sheet, 1)]),
            "import.xlsx_entities")
    # A bare DOCTYPE after a long comment, in a part openpyxl reads whole.
    path = xlsxkit.normal_workbook(tmp_path / "doctype.xlsx", [["title"], ["A book"]])
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["[Content_Types].xml"] = (b"<!--" + b"z" * 70_000 + b"--><!DOCTYPE Types>"
                                    + parts["[Content_Types].xml"].split(b"?>", 1)[1])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    refused(library, path, "import.xlsx_entities")
    assert titles(library) == {}


def test_a_control_number_from_another_catalogue_never_overwrites_a_book(library, tmp_path):
    # Control numbers repeat across catalogues (pymarc's own sample has 001 "2").
    first = tmp_path / "a.mrc"
    first.write_bytes(marc21("First book", control="2", isbn="0064400557", barcodes=("A1",)))
    second = tmp_path / "b.mrc"
    second.write_bytes(marc21("Other book", control="2", isbn="0261102214", barcodes=("B1",)))
    apply_catalogue(library, parse_catalogue(first))
    plan = apply_catalogue(library, parse_catalogue(second))
    assert (len(plan.titles_added), len(plan.titles_updated)) == (1, 0)
    both = tmp_path / "both.mrc"
    both.write_bytes(first.read_bytes() + second.read_bytes()
                     + marc21("Third book", control="2", barcodes=("C1",)))
    plan = apply_catalogue(library, parse_catalogue(both))
    assert (len(plan.titles_added), plan.titles_unchanged, plan.problems) == (1, 2, [])
    with database.session(library):
        assert {c.barcode: c.title.title for c in Copy.select()} == {
            "A1": "First book", "B1": "Other book", "C1": "Third book"}


def _isbn_texts() -> st.SearchStrategy[str]:
    """ISBN-13s and ISBN-10s, valid, damaged by one digit, and noise."""
    valid13 = st.text("0123456789", min_size=9, max_size=9).map(
        lambda d: "978" + d + stdean.calc_check_digit("978" + d))
    valid10 = valid13.map(stdisbn.to_isbn10)
    def damage(text: str, where: int) -> str:
        i = where % len(text)
        return text[:i] + str((int(text[i]) + 1) % 10 if text[i].isdigit() else 0) + text[i + 1:]
    valid = st.one_of(valid13, valid10)
    return st.one_of(
        valid,
        st.builds(damage, valid, st.integers(0, 12)),
        valid.map(lambda t: t[:3] + "-" + t[3:]),
        st.text("0123456789X- ", min_size=8, max_size=17),
    )


@settings(max_examples=400, deadline=None)
@given(_isbn_texts())
def test_isbns_are_checked_as_python_stdnum_checks_them(text):
    try:
        expected = stdisbn.to_isbn13(stdisbn.validate(text))
    except ValidationError:
        expected = None
    assert catalogue.isbn13(text) == expected


def test_marc_in_json(library, tmp_path):
    record = pymarc.Record(leader="00000nam a2200000 a 4500")
    record.add_field(
        pymarc.Field(tag="001", data="J1"),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                     subfields=[pymarc.Subfield("a", "JSON book /")]),
        pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "),
                     subfields=[pymarc.Subfield("p", "J0001")]))
    first = json.loads(record.as_json())
    second = json.loads(record.as_json())
    second["fields"][0]["001"] = "J2"  # another record claiming the same copy
    path = tmp_path / "records.json"
    path.write_text(json.dumps([first, {"leader": "x", "fields": [{"245": "oops"}, 5]}, second]),
                    encoding="utf-8")
    parsed = parse_catalogue(path)
    assert parsed.format == "MARC-in-JSON MARC 21"
    assert [r.number for r in parsed.records] == [1, 3]
    plan = apply_catalogue(library, parsed)
    assert [(p.number, p.key) for p in plan.problems] == [
        (2, "import.damaged.other"), (3, "import.barcode_twice")]
    assert (len(plan.titles_added), plan.copies_added) == (2, 1)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"leader": ' * 50, encoding="utf-8")
    with pytest.raises(ImportRefused) as error:
        parse_catalogue(broken)
    assert error.value.key == "import.bad_json"


# -- tables ---------------------------------------------------------------------------


def test_a_csv_catalogue_with_a_bom_and_one_row_per_copy(library, tmp_path):
    path = tmp_path / "books.csv"
    path.write_text(
        "\ufeff题名,责任者,出版社,出版年,ISBN,分类号,类型,条码,馆藏地点\n"
        "小王子,圣埃克苏佩里,人民文学出版社,2019,9787020082209,I565.88,图书,C1,A区\n"
        "小王子,圣埃克苏佩里,人民文学出版社,2019,9787020082209,I565.88,图书,C2,A区\n"
        "猜猜我有多爱你,山姆·麦克布雷尼,明天出版社,2013,,I561.85,绘本,\"P1, P2\",绘本区\n",
        encoding="utf-8",
    )
    parsed = parse_catalogue(path)
    assert parsed.format == "CSV" and not parsed.problems
    plan = apply_catalogue(library, parsed)
    assert (len(plan.titles_added), plan.copies_added) == (2, 4)
    stored = titles(library)
    assert stored["小王子"].isbn == "9787020082209" and stored["猜猜我有多爱你"].kind == "picture_book"
    before = journal_rows(library)
    assert apply_catalogue(library, parse_catalogue(path)).facts == 0
    assert journal_rows(library) == before
    # One changed value makes one fact, on the same title (found by its barcodes).
    path.write_text(path.read_text(encoding="utf-8").replace("明天出版社", "明天出版社有限公司"),
                    encoding="utf-8")
    plan = apply_catalogue(library, parse_catalogue(path))
    assert (len(plan.titles_updated), plan.facts) == (1, 1)
    assert plan.titles_updated[0].changes == ("publisher",)
    assert len(titles(library)) == 2


def test_periodical_issues_are_titles_of_their_own(library, tmp_path):
    path = tmp_path / "magazines.csv"
    path.write_text("刊名,期号日期,条码\n我们爱科学,2025年2月,M2\n我们爱科学,2025-03-15,M3\n"
                    "我们爱科学,next month,M4\n", encoding="utf-8")
    parsed = parse_catalogue(path)
    assert [(p.number, p.key) for p in parsed.problems] == [(4, "import.bad_issue_date")]
    plan = apply_catalogue(library, parsed)
    assert (len(plan.titles_added), plan.copies_added) == (3, 3)
    with database.session(library):
        issues = {c.barcode: (c.title.kind, c.title.issue_date) for c in Copy.select()}
    assert issues == {"M2": ("periodical", date(2025, 2, 1)),
                      "M3": ("periodical", date(2025, 3, 15)), "M4": ("book", None)}
    assert apply_catalogue(library, parse_catalogue(path)).facts == 0


def test_a_title_is_found_again_by_its_barcode_whatever_the_file(library, tmp_path):
    table = tmp_path / "first.csv"
    table.write_text("title,barcode\nThe hobbit,H0001\n", encoding="utf-8")
    apply_catalogue(library, parse_catalogue(table))
    record = tmp_path / "hobbit.mrc"
    record.write_bytes(marc21("The hobbit, or, There and back again", control="H",
                              isbn="0261102214", barcodes=("H0001", "H0002")))
    plan = apply_catalogue(library, parse_catalogue(record))
    assert (len(plan.titles_added), len(plan.titles_updated), plan.copies_added) == (0, 1, 1)
    [title] = titles(library).values()
    assert title.title.startswith("The hobbit, or") and title.isbn == isbn13_of("0261102214")


def test_formula_cells_in_csv_and_xlsx_are_refused_row_by_row(library, tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "books.csv"
    path.write_text("title,author,barcode\n=cmd|' /C calc'!A0,x,F1\nGood book,@SUM(A1),F2\n"
                    "Fine book,Someone,F3\n", encoding="utf-8")
    parsed = parse_catalogue(path)
    assert [(p.number, p.key) for p in parsed.problems] == [(2, "import.formula"),
                                                             (3, "import.formula")]
    book = Workbook()
    sheet = book.active
    sheet.append(["title", "barcode"])
    sheet.append(["=HYPERLINK(\"http://x\",\"click\")", "F4"])
    sheet.append(["XLSX book", 12345])
    book.save(tmp_path / "books.xlsx")
    parsed_xlsx = parse_catalogue(tmp_path / "books.xlsx")
    assert [(p.number, p.key) for p in parsed_xlsx.problems] == [(2, "import.formula")]
    apply_catalogue(library, parsed)
    apply_catalogue(library, parsed_xlsx)
    assert set(titles(library)) == {"Fine book", "XLSX book"}
    with database.session(library):
        assert sorted(c.barcode for c in Copy.select()) == ["12345", "F3"]


# -- hostile files: refused, nothing written ------------------------------------------


def refused(library: pw.Database, path: Path, key: str, **options: object) -> None:
    before = journal_rows(library)
    with pytest.raises(ImportRefused) as error:
        apply_catalogue(library, parse_catalogue(path, **options))  # type: ignore[arg-type]
    assert error.value.key == key
    assert journal_rows(library) == before


def test_hostile_files_are_refused_and_change_nothing(library, tmp_path):
    huge = tmp_path / "huge.mrc"
    with huge.open("wb") as out:
        out.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing them
    refused(library, huge, "import.too_big")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("title,author\nJosé y María,Pérez\n".encode("latin-1"))
    refused(library, latin, "import.unknown_encoding")
    refused(library, latin, "import.bad_encoding", encoding="utf-8")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    refused(library, old, "import.old_excel")
    empty = tmp_path / "empty.mrc"
    empty.write_bytes(b"")
    refused(library, empty, "import.empty")
    headless = tmp_path / "nothing.csv"
    headless.write_text("a,b\n1,2\n", encoding="utf-8")
    refused(library, headless, "import.catalogue_headings")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    refused(library, broken, "import.bad_xlsx")
    assert titles(library) == {}


def test_a_smaller_limit_refuses_before_reading(library, tmp_path):
    path = tmp_path / "books.mrc"
    path.write_bytes(marc21("Small", control="S"))
    refused(library, path, "import.too_big", max_bytes=100)


# -- where imports are allowed --------------------------------------------------------


def test_a_kiosk_that_joined_a_desk_is_refused(tmp_path):
    desk = sync.init_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    desk.close()
    kiosk = library.open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    sync.join(kiosk, f"sqlite:///{tmp_path / 'desk.sqlite'}", "hall")
    path = tmp_path / "books.mrc"
    path.write_bytes(marc21("Desk only", control="D", barcodes=("D1",)))
    parsed = parse_catalogue(path)
    for step in (plan_catalogue, apply_catalogue):
        with pytest.raises(ImportRefused) as error:
            step(kiosk, parsed)
        assert error.value.key == "import.joined_kiosk"
    assert titles(kiosk) == {}
    kiosk.close()


def test_a_postgresql_desk_imports_and_its_kiosks_receive_the_catalogue(pg_url, tmp_path):
    desk = sync.init_desk(pg_url)
    path = tmp_path / "books.mrc"
    path.write_bytes(b"".join(
        marc21(f"Desk book {i}", control=f"P{i}", isbn="0064400557" if i == 0 else "",
               barcodes=(f"PG{i}A", f"PG{i}B"), clc="I712")
        for i in range(30)
    ) + marc21("x" * 400, control="LONG"))
    parsed = parse_catalogue(path)
    plan = apply_catalogue(desk, parsed)
    assert (len(plan.titles_added), plan.copies_added) == (31, 60)
    before = journal_rows(desk)
    assert apply_catalogue(desk, parse_catalogue(path)).facts == 0
    assert journal_rows(desk) == before
    assert max(len(t) for t in titles(desk)) == importing.MAX_TEXT
    kiosk = library.open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    ident = sync.join(kiosk, pg_url, "hall")
    sync.sync_once(kiosk, desk, ident)
    with database.session(kiosk):
        assert Copy.select().join(Title).where(Title.title == "Desk book 7").count() == 2
        assert Title.select().count() == 31
    kiosk.close()
    desk.close()


# -- the command ----------------------------------------------------------------------


def test_the_command_previews_asks_and_writes(library, library_url, tmp_path, capsys,
                                              monkeypatch):
    db = library_url.removeprefix("sqlite:///")
    path = tmp_path / "books.mrc"
    path.write_bytes(marc21("Command book", control="K", barcodes=("K1",))
                     + marc21("Second", control="K2")[:50])
    assert command(library, "import", "catalogue", str(path), "--db", db, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Command book" in out  # the preview, in the default language (Chinese):
    assert "第 2 条记录（第 " in out and "文件在这条记录中间断了" in out
    assert titles(library) == {}
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert command(library, "import", "catalogue", str(path), "--db", db) == 1
    assert titles(library) == {}
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert command(library, "import", "catalogue", str(path), "--db", db) == 0
    assert set(titles(library)) == {"Command book"}
    report = tmp_path / "problems.csv"
    assert command(library, "import", "catalogue", str(path), "--db", db, "--yes",
                 "--problems", str(report)) == 0
    with report.open(encoding="utf-8-sig", newline="") as rows:
        [heading, problem] = list(csv.reader(rows))
    assert heading[4] == "问题"
    assert problem[1:3] == ["2", str(len(marc21("Command book", control="K", barcodes=("K1",))))]
    with huge_file(tmp_path) as huge:
        assert command(library, "import", "catalogue", str(huge), "--db", db, "--yes") == 2
    assert "100.0 MB" in capsys.readouterr().err
    only_bad = tmp_path / "bad.mrc"
    only_bad.write_bytes(marc21("Cut", control="C")[:60])
    assert command(library, "import", "catalogue", str(only_bad), "--db", db, "--yes") == 1


@contextmanager
def huge_file(folder: Path) -> Iterator[Path]:
    """A sparse 100 MB file (no 100 MB written), removed afterwards."""
    path = folder / "huge.csv"
    with path.open("wb") as out:
        out.truncate(100 * 1024 * 1024)
    try:
        yield path
    finally:
        path.unlink()


def test_the_command_line_offers_every_catalogue_format():
    from kiosk.commands.imports import CATALOGUE_FORMATS

    assert CATALOGUE_FORMATS == catalogue.FORMATS
