"""Files that hold secrets are readable by their owner only (issue 12, point 1).

The database holds the card secret (with it every card can be forged) and, at a kiosk,
the sync token; the settings file may hold a URL with a password; the log may quote
one. Every such file the kiosk makes is 0600 and every folder it makes for one 0700;
an existing database others can read is reported; the desk's password is kept out of
the kiosk's database, in a libpq password file (also for a kiosk that joined before).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pgserver import LIBRARIAN_PASSWORD

from kiosk.cli import main
from kiosk.data import sync
from kiosk.data.core import library
from kiosk.data.core.db import database
from kiosk.data.core.models import LocalState


@pytest.fixture(autouse=True)
def ordinary_umask() -> Iterator[None]:
    """The umask most systems have (0022): without care, new files are 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sqlite_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def assert_private_while_open(path: Path) -> None:
    """The database and the -wal and -shm files SQLite keeps while it is open: 0600."""
    db = library.open_library(f"sqlite:///{path}")
    try:
        with database.session(db), db.atomic():
            LocalState.insert(key="probe", value="1").on_conflict_replace().execute()
        db.connect(reuse_if_open=True)
        files = sqlite_files(path)
        assert len(files) == 3, files
        for file in files:
            assert mode(file) == 0o600, file
    finally:
        db.close()


def settings_file(tmp_path: Path, database: Path, log: Path) -> Path:
    config = tmp_path / "settings.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{database}"\n'
        f'[kiosk]\nid = "hall"\nlanguage = "en"\nlog_file = "{log}"\n',
        encoding="utf-8",
    )
    return config


def test_kiosk_init_makes_database_settings_and_log_private(tmp_path, capsys):
    database_file = tmp_path / "data" / "library" / "kiosk.sqlite"
    config = tmp_path / "conf" / "kiosk" / "kiosk.toml"
    assert main(["--config", str(config), "init", "--db", str(database_file),
                 "--pin", "2468"]) == 0
    assert_private_while_open(database_file)
    assert mode(config) == 0o600
    for folder in (database_file.parent, database_file.parent.parent, config.parent,
                   config.parent.parent):
        assert mode(folder) == 0o700, folder
    log = Path(os.environ["XDG_STATE_HOME"]) / "library-kiosk" / "log" / "kiosk.log"
    assert log.exists() and mode(log) == 0o600 and mode(log.parent) == 0o700
    assert "other users" not in capsys.readouterr().err


def test_desk_init_join_and_demo_make_private_databases(tmp_path, capsys):
    desk = tmp_path / "desk" / "desk.sqlite"
    kiosk = tmp_path / "kiosk" / "hall.sqlite"
    config = settings_file(tmp_path, kiosk, tmp_path / "kiosk.log")
    assert main(["--config", str(config), "desk", "init", f"sqlite:///{desk}",
                 "--pin", "2468"]) == 0
    assert main(["--config", str(config), "join", f"sqlite:///{desk}"]) == 0
    demo = tmp_path / "demo" / "demo.sqlite"
    assert main(["demo", "--db", str(demo), "--export-codes", str(tmp_path / "codes.csv")]) == 0
    for path in (desk, kiosk, demo):
        assert_private_while_open(path)
        assert mode(path.parent) == 0o700, path.parent
    assert mode(tmp_path / "kiosk.log") == 0o600


def test_a_log_the_kiosk_made_readable_before_is_made_private(tmp_path):
    log = tmp_path / "kiosk.log"
    log.write_text("an older run\n", encoding="utf-8")
    log.chmod(0o644)
    main(["--config", str(settings_file(tmp_path, tmp_path / "none.sqlite", log)), "sync"])
    assert mode(log) == 0o600 and log.read_text().startswith("an older run")


def test_a_database_others_can_read_is_reported_at_start(tmp_path, capsys):
    database_file = tmp_path / "kiosk.sqlite"
    log = tmp_path / "kiosk.log"
    config = settings_file(tmp_path, database_file, log)
    assert main(["--config", str(config), "init", "--pin", "2468"]) == 0
    database_file.chmod(0o644)
    capsys.readouterr()
    assert main(["--config", str(config), "sync"]) == 2  # (has not joined a desk)
    err = capsys.readouterr().err
    assert f"other users of this computer can read the library database {database_file}" in err
    assert f"chmod 600 {database_file}" in err
    assert mode(database_file) == 0o644  # reported, not changed behind the librarian's back
    assert "can be read by other users" in log.read_text(encoding="utf-8")
    database_file.chmod(0o600)
    for side in sqlite_files(database_file):
        side.chmod(0o600)
    main(["--config", str(config), "sync"])
    assert "other users" not in capsys.readouterr().err


def kiosk_files_hold(path: Path, secret: str) -> bool:
    """Whether any of the kiosk database's files holds ``secret``, as it is or as a URL
    quotes it (free pages too)."""
    needles = {secret.encode(), quote(secret, safe="").encode()}
    return any(needle in file.read_bytes() for file in sqlite_files(path) for needle in needles)


@pytest.mark.slow
def test_the_desk_password_stays_out_of_the_kiosk_database(tmp_path, capsys, password_pg):
    url = password_pg.url("librarian", LIBRARIAN_PASSWORD, password_pg.fresh_database())
    kiosk = tmp_path / "hall.sqlite"
    config = settings_file(tmp_path, kiosk, tmp_path / "kiosk.log")
    assert main(["--config", str(config), "desk", "init", url, "--pin", "2468"]) == 0
    assert main(["--config", str(config), "join", url]) == 0
    assert not kiosk_files_hold(kiosk, LIBRARIAN_PASSWORD)
    passfile = Path(f"{kiosk}.pgpass")
    assert mode(passfile) == 0o600
    assert passfile.read_text().endswith(":librarian:right-1\\:x\n")  # libpq's escapes
    capsys.readouterr()
    assert main(["--config", str(config), "sync"]) == 0  # libpq reads the password file
    assert "Synced with" in capsys.readouterr().out
    assert LIBRARIAN_PASSWORD not in (tmp_path / "kiosk.log").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_kiosk_that_joined_with_its_password_in_the_database_keeps_working(
    tmp_path, capsys, password_pg
):
    url = password_pg.url("librarian", LIBRARIAN_PASSWORD, password_pg.fresh_database())
    kiosk = tmp_path / "hall.sqlite"
    config = settings_file(tmp_path, kiosk, tmp_path / "kiosk.log")
    assert main(["--config", str(config), "desk", "init", url, "--pin", "2468"]) == 0
    assert main(["--config", str(config), "join", url]) == 0
    # as an older kiosk joined: the whole URL in its database, no password file
    Path(f"{kiosk}.pgpass").unlink()
    db = library.open_library(f"sqlite:///{kiosk}")
    with database.session(db):
        LocalState.update(value=url).where(LocalState.key == "desk_url").execute()
    db.close()
    assert kiosk_files_hold(kiosk, LIBRARIAN_PASSWORD)

    # the kiosk starts: its database stays open (as in kiosk run) while the password
    # moves out, and no copy of it is left in the file or its write-ahead log
    db = library.open_library(f"sqlite:///{kiosk}")
    db.connect()
    try:
        ident = sync.identity(db)
        assert not kiosk_files_hold(kiosk, LIBRARIAN_PASSWORD)
    finally:
        db.close()
    assert ident is not None and "passfile=" in ident.desk_url
    assert mode(Path(f"{kiosk}.pgpass")) == 0o600
    capsys.readouterr()
    assert main(["--config", str(config), "sync"]) == 0  # from the password file
    assert "Synced with" in capsys.readouterr().out
