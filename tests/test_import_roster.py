"""``kiosk import patrons``: class rosters as Chinese school offices export them (GBK,
UTF-8 with BOM, UTF-16, XLSX), re-imports with transfers, leavers and returners,
hostile files, a joined kiosk and a PostgreSQL desk."""

from __future__ import annotations

from pathlib import Path

import peewee as pw
import pytest
from clikit import command, journal_rows

from kiosk.data import sync
from kiosk.data.core import library
from kiosk.data.core.db import database
from kiosk.data.core.models import ClassTeacher, Patron, SchoolClass
from kiosk.data.core.security import hash_pin
from kiosk.data.desk.importing import ImportRefused
from kiosk.data.desk.roster import (
    apply_roster,
    class_list,
    class_name,
    parse_grade,
    parse_roster,
    plan_roster,
)

GBK_ROSTER = (
    "2025学年第一学期 三年级学生名单\n"
    "序号,姓名,性别,学号,年级,班级,身份\n"
    "1,张三,男,2021001,三年级,三年级（１）班,学生\n"
    "2,李四,女,2021002,三年级,三年级(1)班,学生\n"
    "3,王五,男,2021003,三年级,三年级(2)班,学生\n"
    "4,欧阳·娜娜,女,2021004,三年级,三年级(2)班,学生\n"
    "5,赵老师,女,T001,,\"三年级(1)班、三年级(2)班\",教师\n"
)


def people(db: pw.Database) -> dict[str, tuple[str, str, str | None, bool]]:
    """Every patron: number -> (name, kind, class, active)."""
    with database.session(db):
        return {
            p.number: (p.name, p.kind, p.school_class.name if p.school_class else None, p.active)
            for p in Patron.select()
        }


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_gbk_roster_with_a_title_line_and_chinese_headings(library, tmp_path):
    path = write(tmp_path / "roster.csv", GBK_ROSTER, "gbk")
    parsed = parse_roster(path)
    assert parsed.encoding == "gb18030" and not parsed.problems
    assert parsed.ignored_headings == ["序号"]  # 性别 is known, and not kept
    plan = apply_roster(library, parsed)
    assert (len(plan.added), sorted(plan.new_classes)) == (5, ["三年级(1)班", "三年级(2)班"])
    found = people(library)
    assert found["2021001"] == ("张三", "student", "三年级(1)班", True)  # full-width (１) folded
    assert found["2021004"] == ("欧阳·娜娜", "student", "三年级(2)班", True)
    assert found["T001"][:2] == ("赵老师", "teacher")
    with database.session(library):
        assert {c.name: c.grade for c in SchoolClass.select()} == {"三年级(1)班": 3,
                                                                   "三年级(2)班": 3}
        teaching = {ct.school_class.name for ct in ClassTeacher.select()}
    assert teaching == {"三年级(1)班", "三年级(2)班"}
    before = journal_rows(library)
    again = apply_roster(library, parse_roster(path))
    assert (again.facts, again.changes, again.unchanged) == (0, 0, 5)
    assert journal_rows(library) == before


def test_a_reimport_follows_transfers_leavers_and_returners(library, tmp_path, make, circulation):
    apply_roster(library, parse_roster(write(tmp_path / "first.csv", GBK_ROSTER, "gbk")))
    make.patron("2020999", name="Other class", school_class="四年级(1)班")
    make.patron("2021009", name="Came back", school_class="三年级(1)班", active=False)
    copy = make.copy(make.title("The BFG"), barcode="BFG1")
    circulation.checkout("2021003", copy.barcode)  # 王五 leaves with a book
    before = journal_rows(library)
    second = write(tmp_path / "second.csv", (
        "\ufeffstudent number,name,class,grade\n"
        "2021001,张三丰,三年级(1)班,3\n"  # renamed
        "2021002,李四,三年级(2)班,3\n"  # moved to class 2
        "2021004,欧阳·娜娜,三年级(2)班,3\n"
        "2021009,Came back,三年级(1)班,3\n"
        "2021010,New pupil,三年级(3)班,\n"
    ))
    preview = plan_roster(library, parse_roster(second))
    assert [c.number for c in preview.transferred] == ["2021002"]
    assert preview.transferred[0].before_class == "三年级(1)班"
    assert [c.number for c in preview.returned] == ["2021009"]
    assert [c.number for c in preview.deactivated] == ["2021003"]
    assert [(loan.number, loan.barcode, loan.title) for loan in preview.open_loans] == [
        ("2021003", "BFG1", "The BFG")]
    assert [c.number for c in preview.added] == ["2021010"]
    assert preview.new_classes == ["三年级(3)班"]
    assert sorted(preview.considered_classes) == ["三年级(1)班", "三年级(2)班", "三年级(3)班"]
    assert journal_rows(library) == before, "a preview writes nothing"
    plan = apply_roster(library, parse_roster(second))
    assert plan.facts == 1 + 1 + 4  # a class, a new pupil, four changed students
    found = people(library)
    assert found["2021001"][0] == "张三丰" and found["2021002"][2] == "三年级(2)班"
    assert found["2021003"][3] is False and found["2021009"][3] is True
    assert found["2020999"][3] is True, "a class missing from the file is not touched"
    assert found["T001"][3] is True, "teachers are never deactivated by an import"
    with database.session(library):
        assert Patron.get(Patron.number == "2021003").loans.count() == 1  # the loan stays
    # A whole-school roster: every active student missing from it has left.
    whole = plan_roster(library, parse_roster(second), whole_school=True)
    assert [c.number for c in whole.deactivated] == ["2020999"]
    assert whole.considered_classes == ["*"]


def test_pin_block_and_kinds_survive_an_import(library, tmp_path, make):
    make.patron("L0001", name="Librarian", kind="librarian")
    make.patron("H0001", name="Helper", kind="helper", school_class="5A",
                blocked_reason="lost books")
    with database.session(library):
        Patron.update(pin_hash=hash_pin("2468")).where(Patron.number == "L0001").execute()
        pin_hash = Patron.get(Patron.number == "L0001").pin_hash
    path = write(tmp_path / "r.csv", "number,name,class,role\nL0001,Ms Librarian,,teacher\n"
                 "H0001,Helper Two,5A,student\n")
    apply_roster(library, parse_roster(path))
    with database.session(library):
        librarian = Patron.get(Patron.number == "L0001")
        helper = Patron.get(Patron.number == "H0001")
    assert (librarian.kind, librarian.name, librarian.pin_hash) == (
        "librarian", "Ms Librarian", pin_hash)
    assert (helper.kind, helper.name, helper.blocked_reason) == ("helper", "Helper Two",
                                                                 "lost books")


def test_utf16_and_semicolons_and_a_teachers_file(library, tmp_path):
    path = write(tmp_path / "r.csv", "学号;姓名;班级\n2021001;张三;1A\n", "utf-16")
    apply_roster(library, parse_roster(path))
    teachers = write(tmp_path / "t.csv", "工号,教师姓名,任教班级\nT9,周老师,1A 1B\n")
    plan = apply_roster(library, parse_roster(teachers))
    assert plan.new_classes == ["1B"] and not plan.deactivated
    assert people(library)["T9"] == ("周老师", "teacher", "1A", True)
    assert people(library)["2021001"][3] is True


def test_an_xlsx_roster_with_numbers_and_a_formula(library, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["学号", "姓名", "班级"])
    sheet.append([2021001, "张三", "三年级2班"])
    sheet.append([2021002.0, "李四", "三年级2班"])
    sheet.append([2021003, "=HYPERLINK(\"http://evil\",\"x\")", "三年级2班"])
    book.save(tmp_path / "roster.xlsx")
    parsed = parse_roster(tmp_path / "roster.xlsx")
    assert [(p.number, p.key) for p in parsed.problems] == [(4, "import.formula")]
    apply_roster(library, parsed)
    assert set(people(library)) == {"2021001", "2021002"}
    assert people(library)["2021002"][2] == "三年级2班"


def test_a_workbook_with_a_sheet_per_class(library, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表由教务处导出"])
    for name, pupils in (("三年级1班", [("2021001", "张三"), ("2021002", "李四")]),
                         ("三年级2班", [("2021003", "王五"), ("bad number!", "赵六")])):
        sheet = book.create_sheet(name)
        sheet.append(["学号", "姓名"])
        for pupil in pupils:
            sheet.append(list(pupil))
    book.save(tmp_path / "classes.xlsx")
    parsed = parse_roster(tmp_path / "classes.xlsx")
    assert [(p.sheet, p.number, p.key, p.level) for p in parsed.problems] == [
        ("说明", 1, "import.sheet_skipped", "warning"),
        ("三年级2班", 3, "import.roster_bad_number", "error")]
    apply_roster(library, parsed)
    assert {n: c for n, (_, _, c, _) in people(library).items()} == {
        "2021001": "三年级1班", "2021002": "三年级1班", "2021003": "三年级2班"}


def test_bad_rows_are_reported_with_their_row_and_the_rest_imports(library, tmp_path):
    path = write(tmp_path / "r.csv", (
        "number,name,class\n"
        "2021001,Ann,3A\n"
        "2021001,Ann again,3A\n"
        "20 21,Space,3A\n"
        "-,Dash,3A\n"
        "2.02106E+09,Excel,3A\n"
        "2021005,,3A\n"
        "2021006,No class,\n"
        "@SUM(1),Formula,3A\n"
        "2021008,Bob,3A\n"
    ))
    parsed = parse_roster(path)
    assert [(p.number, p.key) for p in parsed.problems] == [
        (3, "import.roster_twice"), (4, "import.roster_bad_number"),
        (5, "import.roster_bad_number"), (6, "import.roster_scientific"),
        (7, "import.roster_no_name"), (8, "import.roster_no_class"), (9, "import.formula"),
    ]
    apply_roster(library, parsed)
    assert set(people(library)) == {"2021001", "2021008"}


def test_hostile_rosters_are_refused_and_change_nothing(library, tmp_path):
    def refused(path: Path, key: str, **options: object) -> None:
        before = journal_rows(library)
        with pytest.raises(ImportRefused) as error:
            apply_roster(library, parse_roster(path, **options))  # type: ignore[arg-type]
        assert error.value.key == key
        assert journal_rows(library) == before

    latin = write(tmp_path / "latin.csv", "number,name,class\n1,José Núñez,3A\n", "latin-1")
    refused(latin, "import.unknown_encoding")
    big5 = write(tmp_path / "big5.csv", "學號,姓名,班級\n1,張三豐,三年級\n", "big5")
    refused(big5, "import.unknown_encoding")
    refused(write(tmp_path / "bad.csv", "学号,姓名,班级\n1,张三,3A\n", "gbk"),
            "import.bad_encoding", encoding="utf-8")
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as out:
        out.truncate(100 * 1024 * 1024)
    refused(huge, "import.too_big")
    refused(write(tmp_path / "nohead.csv", "a,b,c\n1,2,3\n"), "import.roster_headings")
    assert people(library) == {}


def test_escape_sequences_in_names_are_never_stored(library, tmp_path):
    path = write(tmp_path / "r.csv", "number,name,class\n"
                 "2021001,\"\x1b[2J\x1b]0;owned\x07Ann\u202e Lee\",\"3A\x1b[31m\"\n")
    apply_roster(library, parse_roster(path))
    assert people(library)["2021001"][:3] == ("Ann Lee", "student", "3A")


def test_a_table_too_long_to_be_a_roster_is_refused(library, tmp_path, monkeypatch):
    from kiosk.data.desk import import_limits

    monkeypatch.setattr(import_limits, "MAX_ROWS", 10)
    lines = "".join(f"{n},Pupil {n},3A\n" for n in range(1, 12))
    with pytest.raises(ImportRefused) as error:
        parse_roster(write(tmp_path / "long.csv", "number,name,class\n" + lines))
    assert error.value.key == "import.too_many_rows"


def test_class_names_and_a_teachers_list_of_classes():
    assert class_name("三年级 （２） 班") == class_name("三年级(2)班") == "三年级(2)班"
    assert class_name(" Class  3A ") == "Class 3A"
    assert class_list("三年级(1)班、三年级(2)班") == ("三年级(1)班", "三年级(2)班")
    assert class_list("1A 1B") == ("1A", "1B")
    assert class_list("Class 3A; Class 3B") == ("Class 3A", "Class 3B")
    assert class_list("Class 3A") == ("Class 3A",)


def test_grades_are_read_from_words_and_class_names():
    assert [parse_grade(text) for text in ("3", "三年级", "3年级", "Grade 4", "初一", "高三",
                                           "三年级(2)班", "3(2)班", "十二年级", "甲班")] == [
        3, 3, 3, 4, 7, 12, 3, 3, 12, None]


def test_a_kiosk_that_joined_a_desk_is_refused(tmp_path):
    desk = sync.init_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    desk.close()
    kiosk = library.open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    sync.join(kiosk, f"sqlite:///{tmp_path / 'desk.sqlite'}", "hall")
    parsed = parse_roster(write(tmp_path / "r.csv", GBK_ROSTER, "gbk"))
    with pytest.raises(ImportRefused) as error:
        apply_roster(kiosk, parsed)
    assert error.value.key == "import.joined_kiosk"
    assert people(kiosk) == {}
    kiosk.close()


def test_a_postgresql_desk_imports_a_roster_once(pg_url, tmp_path):
    desk = sync.init_desk(pg_url)
    path = write(tmp_path / "roster.csv", GBK_ROSTER, "gbk")
    plan = apply_roster(desk, parse_roster(path))
    assert len(plan.added) == 5
    before = journal_rows(desk)
    assert apply_roster(desk, parse_roster(path)).facts == 0
    assert journal_rows(desk) == before
    kiosk = library.open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    ident = sync.join(kiosk, pg_url, "hall")
    sync.sync_once(kiosk, desk, ident)
    assert people(kiosk) == people(desk)
    kiosk.close()
    desk.close()


def test_the_command_dry_run_and_yes(library, library_url, tmp_path, capsys, make, circulation,
                                     monkeypatch):
    db = library_url.removeprefix("sqlite:///")
    path = write(tmp_path / "roster.csv", GBK_ROSTER, "gbk")
    assert command(library, "import", "patrons", str(path), "--db", db, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2021001" in out and "张三" in out
    assert people(library) == {}
    assert command(library, "import", "patrons", str(path), "--db", db, "--yes") == 0
    assert len(people(library)) == 5
    # 王五 leaves with a book: the preview names the book; a "no" writes nothing.
    circulation.checkout("2021003", make.copy(make.title("草房子"), barcode="CF01").barcode)
    left = write(tmp_path / "left.csv", GBK_ROSTER.replace("3,王五,男,2021003,三年级,三年级(2)班,学生\n", ""),
                 "gbk")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    before = journal_rows(library)
    assert command(library, "import", "patrons", str(left), "--db", db) == 1
    out = capsys.readouterr().out
    assert "离校（停用，借阅记录保留）" in out and "CF01《草房子》" in out
    assert journal_rows(library) == before and people(library)["2021003"][3] is True
    latin = write(tmp_path / "latin.csv", "number,name,class\n1,José,3A\n", "latin-1")
    assert command(library, "import", "patrons", str(latin), "--db", db, "--yes") == 2
    assert "--encoding" in capsys.readouterr().err
    assert command(library, "import", "patrons", str(latin), "--db", db, "--yes",
                 "--encoding", "latin-1") == 0
    assert people(library)["1"][0] == "José"
    unreachable = "postgresql://librarian:s3cret@127.0.0.1:1/desk"
    assert command(library, "import", "patrons", str(path), "--db", unreachable, "--yes") == 2
    err = capsys.readouterr().err
    assert "连不上数据库" in err and "s3cret" not in err
    missing = tmp_path / "none.sqlite"
    assert command(library, "import", "patrons", str(path), "--db", str(missing), "--yes") == 2
    assert not missing.exists()


def test_a_student_whose_row_is_rejected_has_not_left(library, tmp_path, make, library_url,
                                                      capsys):
    """A rejected row keeps its student active; a row whose number cannot be read
    holds its whole class (nobody there leaves), and the preview says so."""
    for number in ("A1", "A2", "A3", "A4", "A5", "A6"):
        make.patron(number, school_class="3A")
    for number in ("B1", "B2"):
        make.patron(number, school_class="3B")
    path = write(tmp_path / "r.csv", (
        "number,name,class,role\n"
        "A1,Ann,3A,student\n"
        "A2,,3A,student\n"  # no name
        "A3,=HYPERLINK(\"x\"),3A,student\n"  # a formula in the name
        "A4,Dan,3A,pupilish\n"  # a role nobody knows
        "A5,Eve,,student\n"  # no class
        "B1,Bob,3B,student\n"
        "2.0230101E+13,Excel,3B,student\n"  # whose number? nobody in 3B leaves
    ))
    parsed = parse_roster(path)
    plan = plan_roster(library, parsed)
    assert [c.number for c in plan.deactivated] == ["A6"], "only the one really missing"
    assert sorted(plan.kept) == ["A2", "A3", "A4", "A5"] and plan.held_classes == ["3B"]
    warnings = {(p.number, p.key) for p in plan.problems if p.level == "warning"}
    assert warnings == {(3, "import.roster_kept_rejected"), (4, "import.roster_kept_rejected"),
                        (5, "import.roster_kept_rejected"), (6, "import.roster_kept_rejected"),
                        (8, "import.roster_held_class")}
    db = library_url.removeprefix("sqlite:///")
    assert command(library, "import", "patrons", str(path), "--db", db, "--yes") == 0
    out = capsys.readouterr().out
    assert "3B 的学生都不算离校" in out
    found = people(library)
    assert [n for n, (_, _, _, active) in sorted(found.items()) if not active] == ["A6"]


def test_a_row_without_a_readable_number_or_class_holds_every_class(library, tmp_path, make):
    make.patron("A1", school_class="3A")
    make.patron("A2", school_class="3A")
    path = write(tmp_path / "r.csv", (
        "number,name,class\n"
        "A1,Ann,3A\n"
        "=1+1,Who,=A1\n"  # a formula in the number and in the class
    ))
    for whole_school in (False, True):
        plan = apply_roster(library, parse_roster(path), whole_school=whole_school)
        assert not plan.deactivated and plan.held_classes == ["*"]
        assert plan.problems[0].key == "import.roster_held_all"
    assert people(library)["A2"][3] is True
    # A teacher's rejected row holds nobody: teachers never leave by an import.
    teacher = write(tmp_path / "t.csv", "number,name,class,role\nA1,Ann,3A,学生\n"
                    "2.0E+13,Mr Wu,3A,教师\n")
    plan = plan_roster(library, parse_roster(teacher))
    assert [c.number for c in plan.deactivated] == ["A2"] and not plan.held_classes
