"""Printed library cards: issued as facts, drawn 10 to a page, and read back from the
rendered PDF by the kiosk's own decoder; a reissued card kills the old one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.data.core import cards, settings
from kiosk.data.core.errors import CardRefused
from kiosk.data.core.library import open_library
from kiosk.data.core.models import Card
from kiosk.data.core.store import Store
from kiosk.data.desk.cardprint import CardPrintError, CardRow, print_cards, read_numbers
from kiosk.data.desk.pdf import CardFace, CardSheet, Fonts, find_cjk_font, load_fonts, render_cards
from kiosk.data.lending.circulation import Circulation
from tests.conftest import Factory
from tests.printkit import read_slots, text


def render_to(path: Path):
    """A render step for :func:`print_cards` that writes the cards to ``path``."""

    def render(rows: list[CardRow]) -> None:
        render_cards([CardFace(**vars(row)) for row in rows], path)

    return render


def test_a_class_prints_on_two_pages_and_every_card_reads_back(
    library, make, circulation, facts, tmp_path
):
    make.setting("library_name", "阳光小学图书馆")
    klass = make.school_class("三年级2班", grade=3)
    students = [make.patron(name=f"王小{i}", school_class=klass) for i in range(12)]
    had_card = make.card(students[3])
    make.patron(name="已离校", school_class=klass, active=False)
    make.patron(name="别的班", school_class="四年级1班")
    pdf = tmp_path / "cards.pdf"

    with library.connection_context():
        batch = print_cards(school_class="三年级2班", render=render_to(pdf))
        prefix, secret = settings.get("card_prefix"), settings.get("card_secret")

    assert [c.number for c in batch.cards] == sorted(s.number for s in students)
    assert len(batch.issued) == 11 and students[3].number not in batch.issued
    assert len(facts("card_issued")) == 12  # 1 earlier + 11 first cards
    read = read_slots(pdf, CardSheet(), len(batch.cards))
    assert all(len(codes) == 1 for codes in read), read
    payloads = [codes[0] for codes in read]
    assert payloads == [c.payload for c in batch.cards]
    assert had_card in payloads  # the student who had a card gets the same card again
    for card, payload in zip(batch.cards, payloads, strict=True):
        assert cards.verify(payload, prefix, secret).number == card.number
        assert circulation.open_card(payload).number == card.number
    words = text(pdf)
    assert "阳光小学图书馆" in words and "王小0" in words and "三年级2班" in words
    assert "已离校" not in words and "别的班" not in words


def test_reissue_prints_a_new_serial_and_the_old_card_is_refused(
    library, make, circulation, clock, tmp_path
):
    student = make.patron(name="Lost Card", school_class="1A")
    old = make.card(student)
    pdf = tmp_path / "new.pdf"
    end_of_year = clock.today + timedelta(days=100)
    with library.connection_context():
        batch = print_cards(reissue=[student.number], render=render_to(pdf),
                            expires_on=end_of_year)
    assert batch.reissued == [student.number] and batch.cards[0].serial == 2
    [[new]] = read_slots(pdf, CardSheet(), 1)
    assert new != old and new == batch.cards[0].payload
    assert end_of_year.isoformat() in text(pdf)
    assert circulation.open_card(new).number == student.number
    with pytest.raises(CardRefused) as refused:
        circulation.open_card(old)
    assert refused.value.key == "card.revoked"
    clock.advance(days=101)
    with pytest.raises(CardRefused) as expired:
        circulation.open_card(new)
    assert expired.value.key == "card.expired"


def test_a_failed_print_issues_no_card(library, make, facts):
    student = make.patron()
    make.card(student)

    def broken(rows: list[CardRow]) -> None:
        raise OSError("disk full")

    with library.connection_context():
        with pytest.raises(OSError):
            print_cards(numbers=["1001"], reissue=[student.number], render=broken)
        assert Card.select().count() == 1
    assert len(facts("card_issued")) == 1


def test_numbers_from_a_file_unknown_and_inactive_readers(library, make):
    kept = make.patron("S-1")
    make.patron("S-2", active=False)
    make.patron("S 3")  # a number no card code can hold
    assert read_numbers("\ufeff学号\nS-1\n\n# a comment\nS-2, NOPE\tS-1\n") == [
        "S-1", "S-2", "NOPE", "S-1"
    ]
    with library.connection_context():
        batch = print_cards(numbers=["S-1", "S-2", "NOPE", "S-1", "S 3"])
        assert [c.number for c in batch.cards] == [kept.number]
        assert batch.unknown == ["NOPE"] and batch.inactive == ["S-2"]
        assert batch.unprintable == ["S 3"] and batch.issued == ["S-1"]
        with pytest.raises(CardPrintError) as nobody:
            print_cards(numbers=["NOPE"])
        assert nobody.value.key == "print.error.nothing"
        with pytest.raises(CardPrintError) as no_class:
            print_cards(school_class="Nowhere")
        assert no_class.value.key == "print.error.no_class"


def test_kiosk_cards_command(library, library_url, make, tmp_path, capsys):
    make.school_class("2B")
    for name in ("张三", "李四"):
        make.patron(name=name, school_class="2B")
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("1001\n", encoding="utf-8")
    pdf = tmp_path / "out" / "cards.pdf"
    pdf.parent.mkdir()
    library.close()
    assert main(["cards", "--db", library_url, "--class", "2B", "-o", str(pdf)]) == 0
    assert "2" in capsys.readouterr().out
    assert "张三" in text(pdf) and "李四" in text(pdf)
    assert main(["cards", "--db", library_url, "--file", str(numbers), "--reissue", "1002",
                 "-o", str(pdf)]) == 0
    out = capsys.readouterr().out
    assert "1002" in out  # said to be reissued
    read = read_slots(pdf, CardSheet(), 2)
    assert [len(r) for r in read] == [1, 1] and ".1002.2." in read[1][0]
    # refusals: nothing chosen, not a PDF, a folder that does not exist
    assert main(["cards", "--db", library_url, "-o", str(pdf)]) == 2
    assert main(["cards", "--db", library_url, "--class", "2B", "-o", "x.png"]) == 2
    assert main(["cards", "--db", library_url, "--class", "2B",
                 "-o", str(tmp_path / "no" / "x.pdf")]) == 2
    assert main(["cards", "--db", library_url, "--class", "Nowhere", "-o", str(pdf)]) == 2
    assert main(["cards", "--db", library_url, "--class", "2B", "--expires", "2025-02-30",
                 "-o", str(pdf)]) == 2
    errors = capsys.readouterr().err
    assert "Nowhere" in errors and ".pdf" in errors and "2025-02-30" in errors


def test_numbers_from_a_file_reach_the_terminal_harmless(library, library_url, make, tmp_path,
                                                          capsys):
    make.patron("1001", name="Ann")
    hostile = "X\x1b[2J\x1b]0;pwned\x07\u202e"  # clear the screen, retitle, reverse text
    numbers = tmp_path / "numbers.txt"
    numbers.write_text(f"1001\n{hostile}\n", encoding="utf-8")
    pdf = tmp_path / "cards.pdf"
    library.close()
    assert main(["cards", "--db", library_url, "--file", str(numbers), "-o", str(pdf)]) == 0
    out = capsys.readouterr().out
    assert "X\\x1b[2J\\x1b]0;pwned\\x07\\u202e" in out  # said, not obeyed
    assert not any(c in out for c in "\x1b\x07\u202e")
    only = tmp_path / "only.txt"  # nobody to print: the refusal names the numbers
    only.write_text(f"{hostile}\n", encoding="utf-8")
    assert main(["cards", "--db", library_url, "--file", str(only), "-o", str(pdf)]) == 2
    err = capsys.readouterr().err
    assert "X\\x1b[2J" in err and not any(c in err for c in "\x1b\x07\u202e")


def test_cards_on_a_postgresql_library(pg_url, clock, tmp_path):
    db = open_library(pg_url, create=True)
    try:
        make = Factory(db, clock)
        klass = make.school_class("5C")
        for _ in range(3):
            make.patron(school_class=klass)
        pdf = tmp_path / "pg.pdf"
        with db.connection_context():
            batch = print_cards(school_class="5C", render=render_to(pdf))
        assert len(batch.issued) == 3
        payloads = [codes[0] for codes in read_slots(pdf, CardSheet(), 3)]
        circulation = Circulation(Store(db, "kiosk-test", clock=clock))
        assert [circulation.open_card(p).number for p in payloads] == ["1001", "1002", "1003"]
    finally:
        db.close()


def test_chinese_and_latin_text_is_set_in_fonts_that_have_its_glyphs():
    fonts = load_fonts()
    assert fonts.embedded, "a CJK font should be installed (fonts-droid-fallback)"
    assert find_cjk_font("/no/such/font.ttf") == fonts.path  # a missing font is skipped
    runs = fonts.runs("王小明 3班")
    assert [font for font, _ in runs] == [fonts.cjk, "Helvetica", fonts.cjk]
    assert "".join(part for _, part in runs) == "王小明 3班"
    cid = Fonts("STSong-Light", None, False)
    assert cid.runs("a中") == [("Helvetica", "a"), ("STSong-Light", "中")]
    long_name, size = fonts.fit("欧阳" * 40, 15, 100)
    assert long_name.endswith("…") and size < 15 and fonts.width(long_name, size) <= 100


def test_without_a_chinese_font_cards_name_the_built_in_one_and_still_read(
    tmp_path, monkeypatch, caplog
):
    """No CJK TrueType font on the machine: the PDF names reportlab's STSong-Light (not
    embedded, drawn by the reader's own fonts), says so in the log, keeps the Chinese
    text in its text layer, and the card's code reads back as before."""
    from kiosk.data.desk.pdf import fonts

    monkeypatch.setattr(fonts, "find_cjk_font", lambda preferred=None: None)
    load_fonts.cache_clear()
    try:
        payload = "LK.20240117.3.ABCDEFGHIJKLMNOP"
        pdf = tmp_path / "fallback.pdf"
        with caplog.at_level("WARNING", logger="kiosk.data.desk.pdf"):
            render_cards(
                [CardFace(payload, "欧阳小雨", "20240117", 3, "六年级3班", "阳光小学")], pdf
            )
            fonts = load_fonts()
    finally:
        load_fonts.cache_clear()  # the next test finds the machine's font again
    assert (fonts.cjk, fonts.embedded) == ("STSong-Light", False)
    assert "no font with Chinese glyphs found" in caplog.text
    raw = pdf.read_bytes()
    assert b"STSong-Light" in raw and b"/FontFile2" not in raw  # named, not embedded
    assert "欧阳小雨" in text(pdf) and "六年级3班" in text(pdf)
    assert read_slots(pdf, CardSheet(), 1) == [[payload]]


def test_a_printed_card_reads_as_a_webcam_sees_it(tmp_path):
    """A card held up to a 640x480 webcam: turned a little, smaller, blurred, dimmer."""
    import cv2
    import numpy as np

    from kiosk.devices.decoder import Decoder
    from tests.printkit import cut, pages

    payload = "LK.20240117.3.ABCDEFGHIJKLMNOP"
    pdf = tmp_path / "one.pdf"
    render_cards([CardFace(payload, "欧阳小雨", "20240117", 3, "六年级3班", "阳光小学")], pdf)
    sheet = CardSheet()
    card = cut(pages(pdf)[0], *sheet.slot(0), sheet.width, sheet.height)
    frame = np.full((480, 640), 90, np.uint8)  # a dim room around the card
    small = cv2.resize(card, (300, int(300 * card.shape[0] / card.shape[1])),
                       interpolation=cv2.INTER_AREA)
    frame[140:140 + small.shape[0], 170:470] = small
    turn = cv2.getRotationMatrix2D((320, 240), 12, 1.0)
    frame = cv2.warpAffine(frame, turn, (640, 480), borderValue=90)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    frame = (frame * 0.8 + 20).astype(np.uint8)
    assert [d.text for d in Decoder().decode(frame)] == [payload]


def test_a_teachers_card_names_the_role_not_a_student_number_or_class(library, make, tmp_path):
    klass = make.school_class("三年级2班", grade=3)
    teacher = make.patron("T007", name="李老师", kind="teacher", school_class=klass)
    helper = make.patron("20230009", name="小帮手", kind="helper", school_class=klass)
    student = make.patron("20230001", name="王小明", school_class=klass)
    pdf = tmp_path / "cards.pdf"
    for number in (teacher.number, helper.number, student.number):
        with library.connection_context():
            print_cards(numbers=[number], render=render_to(pdf))
        words = text(pdf)
        if number == teacher.number:
            assert "教师" in words and "编号 T007" in words
            assert "学号" not in words and "三年级2班" not in words
        elif number == helper.number:
            assert "三年级2班 · 小馆员" in words and "学号 20230009" in words
        else:
            assert "三年级2班" in words and "学号 20230001" in words
            assert "教师" not in words and "小馆员" not in words
