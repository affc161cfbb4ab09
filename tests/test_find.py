"""Finding a book (找书): search keys made when titles are saved, and the search itself.

Titles are saved the way the desk saves them (``masterdata.save``: imports, edits and a
kiosk's pull all go through it), copies with the factory, loans through the real
circulation service, all on a real SQLite file (and PostgreSQL where it says so).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import peewee as pw
import pytest

from kiosk.data.core import masterdata, migrations
from kiosk.data.core.db import database, open_database
from kiosk.data.core.findkeys import TITLE_END, fold, query_terms, title_keys
from kiosk.data.core.kinds import Kind
from kiosk.data.core.library import open_library
from kiosk.data.core.models import Title, new_key
from kiosk.data.core.store import Store
from kiosk.data.lending.finding import Finder

STUDENT_DUE = date(2025, 3, 26)  # the clock's today (12 March 2025) + 14 days


def save_title(db: pw.Database, title: str, **fields: Any) -> Title:
    """Save a title as the desk does (a ``title_saved`` fact, applied)."""
    key = fields.pop("key", None) or new_key()
    with db.connection_context(), db.atomic():
        masterdata.save(Kind.TITLE_SAVED, key=key, title=title, **fields)
        return Title.get(Title.key == key)


@pytest.fixture
def finder(library: pw.Database, clock: Any) -> Finder:
    return Finder(Store(library, "kiosk-test", clock=clock))


def titles(finder: Finder, query: str) -> list[str]:
    return [found.title for found in finder.find(query).titles]


# -- keys ------------------------------------------------------------------------------


def test_a_key_holds_words_pinyin_initials_series_author_and_isbn():
    key = title_keys("草房子", "曹文轩", "曹文轩纯美小说", "978-7-5346-2222-1")
    own, other = key.split(TITLE_END)
    assert own.split() == ["草房子", "caofangzi", "cfz"]
    assert {"caowenxuan", "cwx", "曹文轩纯美小说", "cwxcmxs", "9787534622221"} <= set(
        other.split()
    )


def test_folding_evens_out_case_width_apostrophes_and_punctuation():
    assert fold("Ｈａｒｒｙ Potter’s  STONE!") == "harry potters stone"
    assert fold("哈利·波特") == "哈利 波特"
    assert query_terms("978-7-5346 CFZ cfz") == ["97875346", "cfz"]
    assert query_terms("  ·,. ") == []


def test_pinyin_keeps_digits_and_letters_in_place_and_writes_u_umlaut_as_v():
    own = title_keys("米小圈上学记1").split(TITLE_END)[0].split()
    assert "mxqsxj1" in own and "mixiaoquanshangxueji1" in own
    assert "lyxz" in title_keys("绿野仙踪") and "lvyexianzong" in title_keys("绿野仙踪")
    assert "zhangda" in title_keys("长大以后")  # read as a word, not character by character


# -- searching --------------------------------------------------------------------------


def test_pinyin_initials_whole_pinyin_and_characters_find_a_chinese_title(library, finder):
    save_title(library, "草房子", author="曹文轩")
    save_title(library, "青铜葵花", author="曹文轩")
    save_title(library, "窗边的小豆豆", author="黑柳彻子")
    assert titles(finder, "cfz") == ["草房子"]
    assert titles(finder, "CaoFang") == ["草房子"]
    assert titles(finder, "草房") == ["草房子"]
    assert titles(finder, "kuihua") == ["青铜葵花"]
    assert sorted(titles(finder, "cwx")) == ["草房子", "青铜葵花"]
    assert titles(finder, "cwx qtkh") == ["青铜葵花"]  # every term must match
    assert titles(finder, "xyzq") == []


def test_series_author_isbn_and_english_words_find_titles(library, finder):
    save_title(library, "米小圈上学记1：我是小学生", author="北猫", series="米小圈上学记")
    save_title(library, "Harry Potter and the Philosopher's Stone", author="J. K. Rowling",
               series="Harry Potter", isbn="978-0-7475-3269-9")
    save_title(library, "Charlotte's Web", author="E. B. White", isbn="9780064400558")
    assert titles(finder, "mxqsxj") == ["米小圈上学记1：我是小学生"]
    assert titles(finder, "rowling") == ["Harry Potter and the Philosopher's Stone"]
    assert titles(finder, "978-0-7475") == ["Harry Potter and the Philosopher's Stone"]
    assert titles(finder, "9780064400558") == ["Charlotte's Web"]
    assert titles(finder, "CHARLOTTES") == ["Charlotte's Web"]
    assert titles(finder, "philosopher's stone") == ["Harry Potter and the Philosopher's Stone"]


def test_any_part_of_a_chinese_word_its_initials_and_inside_english_words(library, finder):
    save_title(library, "青铜葵花", author="曹文轩")
    save_title(library, "Harry Potter and the Chamber of Secrets")
    save_title(library, "Otters in the River")
    assert titles(finder, "葵花") == ["青铜葵花"]  # the words' index: any part of a word
    assert titles(finder, "kh") == ["青铜葵花"]  # initials from any character on
    assert titles(finder, "wenxuan") == ["青铜葵花"]  # not a word's beginning: in its key
    assert titles(finder, "otter") == ["Otters in the River"]  # a word's beginning only
    assert titles(finder, "hamber") == ["Harry Potter and the Chamber of Secrets"]
    assert titles(finder, "secrets harry") == ["Harry Potter and the Chamber of Secrets"]


def test_a_longer_text_of_one_found_nowhere_is_not_looked_for_again(library, finder):
    save_title(library, "草房子")
    from playhouse.test_utils import count_queries

    assert titles(finder, "zq") == []
    with library.connection_context(), count_queries() as counter:
        assert titles(finder, "zqx") == []
    assert counter.count == 2  # the barcode and the words; no search of every key
    save_title(library, "Zqx Zone")
    assert titles(finder, "zq") == ["Zqx Zone"]  # typed again: looked for afresh


def test_a_match_in_the_title_comes_before_a_match_in_the_author(library, finder):
    save_title(library, "A Day with Mr. Lee", author="Anna Brown")
    save_title(library, "Brown Bear, Brown Bear", author="Bill Martin")
    save_title(library, "Bear Hunt", author="Brown")
    assert titles(finder, "brown") == [
        "Brown Bear, Brown Bear", "Bear Hunt", "A Day with Mr. Lee"
    ]


def test_a_title_changed_at_the_desk_is_found_by_its_new_name_only(library, finder):
    title = save_title(library, "小猪唏哩呼噜", author="孙幼军")
    save_title(library, "小狗唏哩呼噜", key=title.key, author="孙幼军")
    assert titles(finder, "xzxlhl") == []
    assert titles(finder, "xgxlhl") == ["小狗唏哩呼噜"]


def test_a_title_saved_as_a_model_gets_its_key(library, finder, make):
    make.title("夏洛的网", author="E. B. 怀特")
    assert titles(finder, "xldw") == ["夏洛的网"]


def test_shelf_copies_in_and_the_next_due_date(library, finder, make, circulation):
    title = save_title(library, "草房子", author="曹文轩", classification="I287.45")
    make.copy(title, barcode="B1", shelf="文学A")
    make.copy(title, barcode="B2", shelf="文学A")
    make.copy(title, barcode="B3", shelf="")  # its shelf comes from the classification
    make.copy(title, barcode="B4", status="lost")
    reader = make.patron()
    circulation.checkout(reader.number, "B1")
    (found,) = finder.find("cfz").titles
    assert (found.copies, found.copies_in, found.next_due) == (3, 2, STUDENT_DUE)
    assert found.call_number == "I287.45"
    assert found.shelves == ("I", "文学A") and found.shelf == "I"
    circulation.checkout(reader.number, "B2")
    circulation.checkout(make.patron().number, "B3")
    (found,) = finder.find("cfz").titles
    assert (found.copies_in, found.next_due, found.shelf) == (0, STUDENT_DUE, "I")
    assert not found.reference


def test_a_title_without_copies_and_a_reference_title(library, finder, make):
    save_title(library, "新华字典", kind="reference", classification="H163")
    save_title(library, "没有书的书名")
    make.copy(Title.get(Title.title == "新华字典"), barcode="R1", reference_only=True)
    (dictionary,) = finder.find("xhzd").titles
    assert dictionary.reference and dictionary.copies_in == 1 and dictionary.shelf == "H"
    (none,) = finder.find("mysdsm").titles
    assert (none.copies, none.copies_in, none.next_due, none.shelves) == (0, 0, None, ())


def test_a_scanned_copy_barcode_finds_its_title_first(library, finder, make):
    wanted = save_title(library, "Title One")
    save_title(library, "12345 Ways to Count")
    make.copy(wanted, barcode="12345")
    assert titles(finder, "12345") == ["Title One", "12345 Ways to Count"]


def test_a_search_stops_at_the_limit_and_says_there_is_more(library, clock):
    with library.connection_context(), library.atomic():
        masterdata.save_many(
            Kind.TITLE_SAVED, [{"key": new_key(), "title": f"动物故事{n}"} for n in range(12)]
        )
    finder = Finder(Store(library, "kiosk-test", clock=clock), limit=10)
    result = finder.find("dwgs")
    assert len(result.titles) == 10 and result.more
    assert [t.title for t in result.titles[:3]] == ["动物故事0", "动物故事1", "动物故事2"]
    assert not finder.find("dwgs11").more
    assert finder.find("").titles == () and finder.find("  ").terms == ()


def test_a_search_counts_its_queries(library, finder, make):
    """Five queries however many titles are found: a search costs the same for 1 or 30."""
    for n in range(20):
        make.copy(save_title(library, f"书{n}"), barcode=f"C{n}")
    counted = []
    with library.connection_context():
        from playhouse.test_utils import count_queries

        with count_queries() as counter:
            result = finder.find("shu")
        counted.append(counter.count)
    assert len(result.titles) == 20
    assert counted == [5]  # the barcode, the match, the titles, the copies, the loans


def test_a_title_pulled_by_a_kiosk_is_found_there(library, facts, tmp_path, clock):
    """A kiosk applies the desk's title facts through the same path (masterdata)."""
    with library.connection_context(), library.atomic():
        masterdata.save(Kind.TITLE_SAVED, key="k1", title="木偶奇遇记", author="科洛迪",
                        series="世界经典童话")
    pulled = facts(Kind.TITLE_SAVED)
    kiosk = open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    try:
        with database.using(kiosk), kiosk.connection_context(), kiosk.atomic():
            masterdata.apply_many(pulled)
        finder = Finder(Store(kiosk, "kiosk-1", clock=clock))
        assert titles(finder, "moqyj") == ["木偶奇遇记"]  # pypinyin reads 偶 as "ou"
        assert titles(finder, "sjjdth kld") == ["木偶奇遇记"]
    finally:
        kiosk.close()


# -- migration 0006 ---------------------------------------------------------------------


def _library_before_0006(url: str, monkeypatch: pytest.MonkeyPatch) -> pw.Database:
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: [m for m in shipped if m[0] < 6])
    db = open_database(url, create=True, bind=False)
    with db.connection_context():
        migrations.migrate(db)
        db.execute_sql(
            "INSERT INTO title (key, isbn, title, author, publisher, classification, kind) "
            "VALUES ('a', '978-7-5346-2222-1', '草房子', '曹文轩', '', 'I', 'book'), "
            "('b', NULL, 'The Gruffalo', 'Julia Donaldson', '', 'I', 'picture_book')"
        )
    monkeypatch.setattr(migrations, "available", lambda: shipped)
    return db


def _migrated_keys(db: pw.Database) -> dict[str, tuple[str, str]]:
    with db.connection_context():
        assert "m0006_find" in migrations.migrate(db)
        words = {
            word for (word,) in db.execute_sql(
                "SELECT word FROM title_word JOIN title ON title.id = title_word.title_id "
                "WHERE title.title = '草房子'"
            ).fetchall()
        }
        assert {"草房子", "房子", "cfz", "fz", "caofangzi", "曹文轩", "cwx"} <= words
        return {
            title: (series, key)
            for title, series, key in db.execute_sql(
                "SELECT title, series, search_key FROM title"
            ).fetchall()
        }


def test_migration_0006_fills_the_keys_of_existing_titles(tmp_path, monkeypatch):
    db = _library_before_0006(f"sqlite:///{tmp_path / 'old.sqlite'}", monkeypatch)
    keys = _migrated_keys(db)
    assert keys["草房子"] == ("", title_keys("草房子", "曹文轩", "", "978-7-5346-2222-1"))
    assert keys["The Gruffalo"] == ("", title_keys("The Gruffalo", "Julia Donaldson"))
    db.close()


def test_migration_0006_on_postgresql(make_pg_url, monkeypatch):
    db = _library_before_0006(make_pg_url(), monkeypatch)
    keys = _migrated_keys(db)
    assert "cfz" in keys["草房子"][1].split()
    db.close()


def test_the_search_on_postgresql(pg_url, clock):
    desk = open_library(pg_url, create=True)
    try:
        save_title(desk, "草房子", author="曹文轩", classification="I287.45")
        save_title(desk, "Brown Bear", author="Bill Martin")
        save_title(desk, "Bear Hunt", author="Brown")
        finder = Finder(Store(desk, "desk", clock=clock))
        assert titles(finder, "cfz") == ["草房子"]
        assert titles(finder, "BROWN") == ["Brown Bear", "Bear Hunt"]
    finally:
        desk.close()


# -- the desk's catalogue import ---------------------------------------------------------


def test_an_imported_series_is_found_and_a_reimport_changes_nothing(library, finder, tmp_path):
    import pymarc

    from kiosk.data.desk.catalogue import apply_catalogue, parse_catalogue, plan_catalogue

    table = tmp_path / "books.csv"
    table.write_text(
        "题名,作者,丛书,条码,馆藏地点\n"
        "我是小学生,北猫,米小圈上学记,M1,儿童文学\n"
        "脑筋急转弯,北猫,米小圈上学记,M2,儿童文学\n",
        encoding="utf-8",
    )
    apply_catalogue(library, parse_catalogue(table))
    record = pymarc.Record(force_utf8=True)
    record.add_field(
        pymarc.Field(tag="001", data="R1"),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                     subfields=[pymarc.Subfield("a", "Dinosaurs before dark /")]),
        pymarc.Field(tag="490", indicators=pymarc.Indicators("1", " "),
                     subfields=[pymarc.Subfield("a", "Magic tree house ;")]),
    )
    marc = tmp_path / "books.mrc"
    marc.write_bytes(record.as_marc())
    apply_catalogue(library, parse_catalogue(marc))
    assert sorted(titles(finder, "mxqsxj")) == ["我是小学生", "脑筋急转弯"]
    assert titles(finder, "magic tree") == ["Dinosaurs before dark"]
    (found,) = finder.find("njjzw").titles
    assert (found.series, found.shelf, found.copies_in) == ("米小圈上学记", "儿童文学", 1)
    with library.connection_context():
        again = plan_catalogue(library, parse_catalogue(table))
    assert again.titles_unchanged == 2 and not again.changes


# -- the sync of titles ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_titles_saved_and_renamed_at_the_desk_are_found_at_a_kiosk_after_a_sync(
    backend, tmp_path, clock, request
):
    from synckit import make_site, on

    desk_url = (request.getfixturevalue("pg_url") if backend == "postgresql"
                else f"sqlite:///{tmp_path / 'desk.sqlite'}")
    site = make_site(desk_url, tmp_path, clock)
    kiosk = site.add_kiosk("kiosk-1")
    finder = Finder(kiosk.circulation.store)
    try:
        with on(site.desk), site.desk.atomic():
            masterdata.save(Kind.TITLE_SAVED, key="cfz", title="草房子", author="曹文轩",
                            series="曹文轩纯美小说")
            masterdata.save(Kind.COPY_SAVED, copy="C-1", title="cfz", shelf="文学A")
        kiosk.sync(site.desk)
        (found,) = finder.find("cfz").titles
        assert (found.title, found.shelf, found.copies_in) == ("草房子", "文学A", 1)
        assert titles(finder, "cmxs") == ["草房子"]  # by its series
        with on(site.desk), site.desk.atomic():
            masterdata.save(Kind.TITLE_SAVED, key="cfz", title="青铜葵花", author="曹文轩")
        kiosk.sync(site.desk)
        assert titles(finder, "cfz") == [] and titles(finder, "qtkh") == ["青铜葵花"]
        assert titles(finder, "cmxs") == []  # the series was taken off
        assert titles(Finder(Store(site.desk, "desk", clock=clock)), "qtkh") == ["青铜葵花"]
    finally:
        kiosk.db.close()
        site.desk.close()
