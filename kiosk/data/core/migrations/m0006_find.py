"""Finding a book at the kiosk: a title's series and its search key.

``title.series`` is the series a title belongs to (丛书, MARC 490), which children
look for ("米小圈上学记"); ``title.search_key`` holds the forms of its title, series,
author and ISBN that a search matches, pinyin included
(:mod:`kiosk.data.core.findkeys`), made once here for the titles saved before it so
that a search never converts the catalogue. Both columns are added with their
defaults, as the models declare them; then every title's key is filled in (about
9 s for 100,000 titles, once).
"""

from __future__ import annotations

import peewee as pw

from kiosk.data.core.findkeys import title_keys

BATCH = 2000
"""Titles read and updated at a time (a large catalogue is never held whole)."""


def up(db: pw.Database) -> None:
    """Add ``title.series`` and ``title.search_key``; fill the keys of existing titles."""
    db.execute_sql("ALTER TABLE title ADD COLUMN series VARCHAR(255) NOT NULL DEFAULT ''")
    db.execute_sql("ALTER TABLE title ADD COLUMN search_key TEXT NOT NULL DEFAULT ''")
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
        updates = [
            (title_keys(title or "", author or "", "", isbn), row_id)
            for row_id, title, author, isbn in rows
        ]
        db.cursor().executemany(
            f"UPDATE title SET search_key = {mark} WHERE id = {mark}", updates
        )
        last = rows[-1][0]
