"""Finding a book at the kiosk: a title's series, its search key and its words.

``title.series`` is the series a title belongs to (丛书, MARC 490), which children
look for ("米小圈上学记"); ``title.search_key`` holds the forms of its title, series,
author and ISBN that a search matches, pinyin included, and ``title_word`` the words
a search looks up by their beginnings, in an index (:mod:`kiosk.data.core.findkeys`).
Both are made here for the titles saved before this migration, so that a search never
converts the catalogue: about 20 s for 100,000 titles, once.

A frozen copy of the table as it was when this migration was written (do not edit; a
later change to it needs a migration of its own). The keys and words are made by
today's :mod:`~kiosk.data.core.findkeys`; a later change to what they hold refills them
in a migration of its own.
"""

from __future__ import annotations

import peewee as pw

from kiosk.data.core.findkeys import title_keys, title_words

BATCH = 2000
"""Titles read and updated at a time (a large catalogue is never held whole)."""


def up(db: pw.Database) -> None:
    """Add ``title.series``, ``title.search_key`` and ``title_word``; fill them in."""
    db.execute_sql("ALTER TABLE title ADD COLUMN series VARCHAR(255) NOT NULL DEFAULT ''")
    db.execute_sql("ALTER TABLE title ADD COLUMN search_key TEXT NOT NULL DEFAULT ''")

    class Title(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class TitleWord(pw.Model):
        word = pw.CharField(max_length=24)
        title = pw.ForeignKeyField(Title, backref="words", on_delete="CASCADE")
        rank = pw.SmallIntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            primary_key = False
            indexes = ((("word", "rank", "title"), False),)

    db.create_tables([TitleWord])
    mark = db.param
    last = 0
    while True:
        rows = db.execute_sql(
            f"SELECT id, title, author, isbn FROM title WHERE id > {mark} ORDER BY id "
            f"LIMIT {BATCH}",
            (last,),
        ).fetchall()
        if not rows:
            return
        cursor = db.cursor()
        cursor.executemany(
            f"UPDATE title SET search_key = {mark} WHERE id = {mark}",
            [(title_keys(title or "", author or "", "", isbn), row_id)
             for row_id, title, author, isbn in rows],
        )
        cursor.executemany(
            f'INSERT INTO "title_word" ("word", "title_id", "rank") '
            f"VALUES ({mark}, {mark}, {mark})",
            [(word, row_id, rank)
             for row_id, title, author, isbn in rows
             for word, rank in title_words(title or "", author or "", "", isbn).items()],
        )
        last = rows[-1][0]
