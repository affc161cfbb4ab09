"""The catalogue import's values: records, copies, the parsed file and the plan,
and what the columns and kinds of a file may be called."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

from kiosk.data.desk.importing import Problem, headings

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
    "series": headings("丛书", "丛书名", "丛编", "丛编题名", "系列", "series"),
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

YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
ISBN_TOKEN = re.compile(r"[0-9][0-9Xx\- ]{8,20}[0-9Xx]")
SPLIT = re.compile(r"[,;，；、\s]+")
TRAILING = re.compile(r"[\s/:;=,.]+$")
INITIAL = re.compile(r"(?:^|[\s,])[A-Z]\.$")


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
    series: str = ""
    """The series the title belongs to (丛书; MARC 21 490/830, UNIMARC 225), which a
    child may look for at the kiosk."""


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
