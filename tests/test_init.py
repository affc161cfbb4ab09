"""``kiosk init`` at a real terminal (a pseudo-terminal): it asks the library's and the
librarian's names in the configured language, the PIN twice and again after a bad one,
and ends by saying how to print the librarian's card (issue 14, point 10)."""

from __future__ import annotations

from pathlib import Path

import pypdfium2  # noqa: F401  (the card sheet is a real PDF)
from ptykit import converse

from kiosk.__main__ import main
from kiosk.data.core import settings
from kiosk.data.core.library import open_library
from kiosk.data.core.models import Patron
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation


def settings_file(tmp_path: Path, language: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "lib.sqlite"}"\n'
                    f'[kiosk]\nlanguage = "{language}"\n', encoding="utf-8")
    return path


def test_init_asks_in_chinese_and_again_after_a_bad_pin(tmp_path, monkeypatch):
    config = settings_file(tmp_path, "zh_CN")
    status, out = converse(
        ["--config", str(config), "init"],
        [("图书馆的名称", "阳光小学图书馆"),
         ("图书管理员的姓名", "林静"),
         ("请设置图书管理员的密码", "12"),  # too short
         ("密码必须是 4 到 12 位数字", None),
         ("请设置图书管理员的密码", "1357"),
         ("请再输入一次密码", "1358"),  # not the same
         ("两次输入的密码不一样", None),
         ("请设置图书管理员的密码", "2468"),
         ("请再输入一次密码", "2468")],
    )
    assert status == 0, out
    assert "2468" not in out and "1357" not in out  # the PIN is never echoed
    assert "Librarian" not in out
    assert "图书管理员林静（L0001）的借书证已生成" in out
    command = out.split("打印图书管理员的借书证")[1].splitlines()[1].strip()
    assert command.startswith("kiosk --config ") and "cards --patron L0001" in command
    db = open_library(f"sqlite:///{tmp_path / 'lib.sqlite'}")
    with db.connection_context():
        assert Patron.get(Patron.number == "L0001").name == "林静"
        assert settings.get("library_name") == "阳光小学图书馆"
    assert Circulation(Store(db, "t")).check_librarian("L0001", "2468")
    db.close()
    # the command it gives prints the librarian's card
    monkeypatch.chdir(tmp_path)
    assert main(command.split()[1:]) == 0
    assert (tmp_path / "librarian-card.pdf").stat().st_size > 0


def test_init_in_english_takes_the_defaults_of_its_language(tmp_path):
    config = settings_file(tmp_path, "en")
    status, out = converse(
        ["--config", str(config), "init"],
        [("The library's name", ""), ("The librarian's name", "Ms Li"),
         ("Choose the librarian's PIN", "abcd"), ("must be 4 to 12 digits", None),
         ("Choose the librarian's PIN", "2468"), ("Type the PIN again", "2468")],
    )
    assert status == 0, out
    assert "The librarian Ms Li (L0001) has a card" in out
    assert "kiosk --config" in out and "cards --patron L0001 -o librarian-card.pdf" in out
    db = open_library(f"sqlite:///{tmp_path / 'lib.sqlite'}")
    with db.connection_context():
        assert settings.get("library_name") == "School Library"
    db.close()


def test_init_without_a_terminal_names_the_librarian_in_the_kiosks_language(tmp_path, capsys):
    config = settings_file(tmp_path, "zh_CN")
    assert main(["--config", str(config), "init", "--pin", "2468"]) == 0
    db = open_library(f"sqlite:///{tmp_path / 'lib.sqlite'}")
    with db.connection_context():
        assert Patron.get(Patron.number == "L0001").name == "图书管理员"
        assert settings.get("library_name") == "学校图书馆"
    db.close()
    assert "kiosk --config" in capsys.readouterr().out


def test_readme_tells_an_english_reader_and_how_to_run_two_kiosks(tmp_path):
    """The README says how to get English (F3, --language en) and how to run two kiosks
    on one computer; its example settings are settings the kiosk accepts."""
    from kiosk.config import load_config

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "**F3**" in readme and "kiosk demo --language en" in readme
    section = readme.split("### Two kiosks on one computer")[1]
    example = section.split("```toml")[1].split("```")[0]
    for name in ("hall", "room"):
        text = example.replace("hall", name).replace("/var/lib", str(tmp_path))
        text = text.replace("/var/log", str(tmp_path))
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        assert config.kiosk_id == name and name in config.database_url
    assert "--config hall.toml join" in section and "--config room.toml run" in section
