"""Only the commands that make a library make one, and never twice (issue 12, points 2
and 3).

A failed copy, a restore or a full disk leaves an empty file; SQLite takes it for a new
database, and the kiosk made a new library of it (a new card secret: every card
refused). An existing file that is not a library (empty, damaged, another program's)
is refused by every command, and left as it was; ``kiosk init`` and ``kiosk desk init``
refuse a database that is a library already (a second desk init revoked the
librarian's card, renamed the library and reset the PIN on every kiosk).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.data import sync
from kiosk.data.core import library
from kiosk.data.core.db import NotALibrary, database
from kiosk.data.core.library import AlreadyALibrary
from kiosk.data.core.models import Card, Journal, Patron, Setting
from kiosk.data.core.security import check_pin


def settings_file(tmp_path: Path, database_file: Path, language: str = "en") -> Path:
    config = tmp_path / "settings.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{database_file}"\n'
        f'[kiosk]\nid = "hall"\nlanguage = "{language}"\nlog_file = "{tmp_path / "k.log"}"\n',
        encoding="utf-8",
    )
    return config


def empty_file(path: Path) -> bytes:
    path.write_bytes(b"")
    return b""


def garbage_file(path: Path) -> bytes:
    content = b"\x00\x17PK this was half a zip file " * 100
    path.write_bytes(content)
    return content


def other_program(path: Path) -> bytes:
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE bookmarks (url TEXT)")
        other.execute("INSERT INTO bookmarks VALUES ('https://example.org')")
    other.close()
    return path.read_bytes()


KINDS = [
    (empty_file, "is empty (0 bytes), so it is not a library database; nothing was changed"),
    (garbage_file, "is not a library database (it is damaged, or another kind of file)"),
    (other_program, "is another program's database (it has no library tables)"),
]


@pytest.mark.parametrize(("make", "expected"), KINDS, ids=["empty", "garbage", "other"])
def test_no_command_makes_a_library_of_a_file_that_is_not_one(tmp_path, capsys, make,
                                                              expected):
    database_file = tmp_path / "kiosk.sqlite"
    content = make(database_file)
    config = settings_file(tmp_path, database_file)
    desk = tmp_path / "desk.sqlite"
    make(desk)
    for argv in (
        ["run"], ["sync"], ["import", "patrons", str(tmp_path / "roster.csv")],
        ["init", "--pin", "2468"], ["join", f"sqlite:///{tmp_path / 'some-desk.sqlite'}"],
    ):
        assert main(["--config", str(config), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert f"{database_file} {expected}" in err, (argv, err)
        assert database_file.read_bytes() == content, argv  # left as it was
    assert main(["--config", str(config), "desk", "init", f"sqlite:///{desk}",
                 "--pin", "2468"]) == 2
    assert f"{desk} {expected}" in capsys.readouterr().err
    assert desk.read_bytes() == content
    assert not Path(f"{database_file}-wal").exists()


def test_the_refusal_is_in_chinese_too(tmp_path, capsys):
    database_file = tmp_path / "kiosk.sqlite"
    empty_file(database_file)
    assert main(["--config", str(settings_file(tmp_path, database_file, "zh_CN")), "run"]) == 2
    assert f"{database_file} 是空文件（0 字节），不是图书馆数据库" in capsys.readouterr().err


@pytest.mark.parametrize("make", [empty_file, garbage_file, other_program],
                         ids=["empty", "garbage", "other"])
def test_open_library_refuses_it_even_when_asked_to_create(tmp_path, make):
    path = tmp_path / "kiosk.sqlite"
    content = make(path)
    for create in (False, True):
        with pytest.raises(NotALibrary):
            library.open_library(f"sqlite:///{path}", create=create)
        assert path.read_bytes() == content


def test_an_empty_server_database_is_no_library_until_a_desk_is_made_of_it(pg_url):
    with pytest.raises(NotALibrary) as refused:
        library.open_library(pg_url)
    assert refused.value.reason == "no_library"
    sync.init_desk(pg_url).close()  # desk init makes one
    library.open_library(pg_url).close()


# -- a second init -----------------------------------------------------------------------


def desk_state(url: str) -> tuple:
    desk = sync.open_desk(url)
    with database.session(desk):
        state = (
            Journal.select().count(),
            sorted(Patron.select(Patron.number, Patron.name, Patron.pin_hash).tuples()),
            sorted(Card.select(Card.serial, Card.revoked_at).tuples()),
            sorted(Setting.select(Setting.key, Setting.value).tuples()),
        )
    desk.close()
    return state


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


def test_a_second_desk_init_refuses_and_changes_nothing(desk_url, tmp_path, capsys,
                                                        monkeypatch):
    config = settings_file(tmp_path, tmp_path / "hall.sqlite")
    assert main(["--config", str(config), "desk", "init", desk_url, "--pin", "2468",
                 "--library-name", "Sunshine", "--librarian-name", "Ms Li"]) == 0
    code = capsys.readouterr().out.split("card code is: ")[1].split()[0]
    before = desk_state(desk_url)
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("asked for a PIN"))
    assert main(["--config", str(config), "desk", "init", desk_url,
                 "--library-name", "Other", "--librarian-name", "Mr X"]) == 1
    err = capsys.readouterr().err
    assert "is already the desk of Sunshine; nothing was changed" in err
    assert "kiosk cards --reissue L0001" in err
    assert desk_state(desk_url) == before
    desk = sync.open_desk(desk_url)
    with database.session(desk):
        assert check_pin("2468", Patron.get(Patron.number == "L0001").pin_hash)
        assert library.current_card("L0001") == code  # the librarian's card still works
    desk.close()


def test_kiosk_init_refuses_a_library_on_a_server_too(pg_url, tmp_path, capsys):
    config = settings_file(tmp_path, tmp_path / "hall.sqlite")
    assert main(["--config", str(config), "init", "--db", pg_url, "--pin", "2468",
                 "--library-name", "Sunshine"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "init", "--db", pg_url, "--pin", "1357"]) == 1
    assert "is already a library database (Sunshine); nothing was changed" in \
        capsys.readouterr().err


def test_desk_init_refuses_a_library_of_its_own_and_a_kiosk(tmp_path, capsys):
    own = tmp_path / "own.sqlite"
    config = settings_file(tmp_path, own)
    assert main(["--config", str(config), "init", "--pin", "2468"]) == 0
    with pytest.raises(AlreadyALibrary) as refused:
        sync.init_desk(f"sqlite:///{own}")  # it would get a second card secret
    assert refused.value.role is None
    desk = tmp_path / "desk.sqlite"
    assert main(["--config", str(config), "desk", "init", f"sqlite:///{desk}",
                 "--pin", "2468"]) == 0
    hall = tmp_path / "hall.sqlite"
    assert main(["--config", str(settings_file(tmp_path, hall)), "join",
                 f"sqlite:///{desk}"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "desk", "init", f"sqlite:///{hall}",
                 "--pin", "2468"]) == 1
    assert "is a kiosk's database (it has joined a desk); nothing was changed" in \
        capsys.readouterr().err
