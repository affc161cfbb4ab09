"""Book labels: new copies or a barcode range, on an A4 label sheet, every code read back
from the rendered PDF by the kiosk's decoder (QR and Code 128)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.data.desk.labelprint import (
    LabelPrintError,
    LabelRow,
    new_labels,
    range_labels,
    watermark,
)
from kiosk.data.desk.pdf import LabelFace, LabelSheet, render_labels
from tests.printkit import read_slots, text


def render_to(path: Path, **options):
    def render(rows: list[LabelRow]) -> None:
        render_labels([LabelFace(**vars(row)) for row in rows], path, **options)

    return render


def test_new_copies_print_once_and_every_qr_reads_back(library, make, tmp_path):
    title = make.title("小王子 The Little Prince", classification="I565.88")
    barcodes = [make.copy(title).barcode for _ in range(26)]
    make.copy(title, status="withdrawn")  # not on the shelves: no label
    pdf = tmp_path / "labels.pdf"
    with library.connection_context():
        rows = new_labels(render_to(pdf))
    assert [r.barcode for r in rows] == barcodes
    assert rows[0].call_number == "I565.88"
    read = read_slots(pdf, LabelSheet(), len(rows))  # 24 on the first sheet, 2 on the next
    assert read == [[b] for b in barcodes]
    assert "I565.88" in text(pdf) and "小王子" in text(pdf)
    with library.connection_context(), pytest.raises(LabelPrintError) as none_left:
        new_labels()
    assert none_left.value.key == "print.error.no_new_labels"
    later = [make.copy(title).barcode for _ in range(2)]
    with library.connection_context():
        assert [r.barcode for r in new_labels()] == later


def test_a_failed_print_leaves_the_copies_new(library, make):
    make.copy()

    def broken(rows: list[LabelRow]) -> None:
        raise OSError("printer folder is read-only")

    with library.connection_context():
        with pytest.raises(OSError):
            new_labels(broken)
        assert watermark() == 0
        assert len(new_labels()) == 1


def test_a_barcode_range_in_code128_reads_back(library, make, tmp_path):
    title = make.title("Charlotte's Web", classification="I712.85")
    for _ in range(15):
        make.copy(title)
    pdf = tmp_path / "range.pdf"
    with library.connection_context():
        rows = range_labels("T000005", "T000012", render_to(pdf, symbology="code128", skip=3))
        assert watermark() == 0  # a range is a reprint: new copies stay new
    expected = [f"T{n:06d}" for n in range(5, 13)]
    assert [r.barcode for r in rows] == expected
    assert read_slots(pdf, LabelSheet(), len(rows), skip=3) == [[b] for b in expected]


def test_ranges_compare_numbers_and_refuse_nonsense(library, make):
    for n in (7, 8, 9, 10, 11, 12, 100):
        make.copy(barcode=f"B{n}")
    make.copy(barcode="C9")
    with library.connection_context():
        assert [r.barcode for r in range_labels("B8", "B12")] == [
            "B8", "B9", "B10", "B11", "B12"
        ]
        for first, last, key in (
            ("B12", "B8", "print.error.bad_range"),
            ("B200", "B300", "print.error.empty_range"),
        ):
            with pytest.raises(LabelPrintError) as refused:
                range_labels(first, last)
            assert refused.value.key == key


def test_a_range_of_one_width_reads_only_its_copies(library, make, caplog):
    """T000010..T000012 is read through the barcode's unique index (SQLite's plan
    searches it), not by scanning every copy of the library."""
    for n in range(1, 41):
        make.copy(barcode=f"T{n:06d}")
    make.copy(barcode="T0000100")  # another width: between the ends as text, not in range
    with library.connection_context():
        caplog.set_level(logging.DEBUG, logger="peewee")
        rows = range_labels("T000010", "T000012")
        queries = [r.msg for r in caplog.records if r.name == "peewee"
                   and isinstance(r.msg, tuple) and r.msg[0].startswith("SELECT")]
        plans = [
            " / ".join(str(step[-1]) for step in
                       library.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
            for sql, params in queries
        ]
    assert [r.barcode for r in rows] == ["T000010", "T000011", "T000012"]
    assert plans and all("SCAN" not in plan for plan in plans), plans
    assert any("INDEX" in plan for plan in plans), plans


def test_label_sheets_are_configurable():
    assert LabelSheet.parse("3x8:70x37") == LabelSheet(3, 8, 70, 37, 0, 0.5)
    avery = LabelSheet.parse("3x7:63.5x38.1:7.2,15.1,2.5,0")
    assert avery.per_page == 21 and avery.slot(1)[0] == pytest.approx((7.2 + 66) * 72 / 25.4)
    for bad in ("3x8", "axb:70x37", "4x8:70x37", "3x8:70x37:-1,0", "1x1:5x5"):
        with pytest.raises(ValueError):
            LabelSheet.parse(bad)


def test_kiosk_labels_command(library, library_url, make, tmp_path, capsys):
    for _ in range(3):
        make.copy()
    library.close()
    pdf = tmp_path / "l.pdf"
    assert main(["labels", "--db", library_url, "--new", "-o", str(pdf)]) == 0
    assert read_slots(pdf, LabelSheet(), 3) == [["T000001"], ["T000002"], ["T000003"]]
    assert main(["labels", "--db", library_url, "--new", "-o", str(pdf)]) == 2
    assert main(["labels", "--db", library_url, "--from", "T000002", "--to", "T000003",
                 "--code", "code128", "--sheet", "2x5:90x50", "-o", str(pdf)]) == 0
    assert read_slots(pdf, LabelSheet.parse("2x5:90x50"), 2) == [["T000002"], ["T000003"]]
    assert main(["labels", "--db", library_url, "--sheet", "huge", "--new", "-o",
                 str(pdf)]) == 2
    assert main(["labels", "--db", library_url, "-o", str(pdf)]) == 2
    assert "3x8:70x37" in capsys.readouterr().err


def test_a_barcode_code128_cannot_hold_gets_a_qr_code(tmp_path):
    pdf = tmp_path / "mixed.pdf"
    labels = [LabelFace("B-001", "I247", "ok"), LabelFace("馆藏-002", "I247", "中文条码")]
    render_labels(labels, pdf, symbology="code128")
    assert read_slots(pdf, LabelSheet(), 2) == [["B-001"], ["馆藏-002"]]
