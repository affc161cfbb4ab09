"""The command line: first start, init, demo, settings, and messages to the terminal."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import ConfigError, load_config
from kiosk.data.demo import DEMO_PIN


def run_kiosk(*args: str, env_config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m kiosk ARGS`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_first_start_without_database_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    config = tmp_path / "kiosk.toml"
    db = tmp_path / "nowhere" / "kiosk.sqlite"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    monkeypatch.setenv("LANG", "en_GB.UTF-8")  # no language in the settings: the system's
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert f"there is no library database at {db}" in err
    assert "kiosk demo" in err and "kiosk init" in err
    assert str(config) in err
    assert not db.exists(), "a first start must not create an empty library"


def test_kiosk_config_environment_variable_is_used(tmp_path, monkeypatch, capsys):
    config = tmp_path / "elsewhere.toml"
    config.write_text('[database]\nurl = "sqlite:////no/such/dir/x.sqlite"\n', encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    assert main(["run"]) == 2
    assert "/no/such/dir/x.sqlite" in capsys.readouterr().err


def test_broken_config_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text("[kiosk]\nidle_timeout = 'soon'\n", encoding="utf-8")
    assert main(["--config", str(config), "run"]) == 2
    assert "kiosk.idle_timeout must be a float" in capsys.readouterr().err
    config.write_text("[kiosk\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(config)
    config.write_text("[kiosk]\ncolour = 'red'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting kiosk.colour"):
        load_config(config)


def test_config_values_are_read(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[database]\nurl = "postgresql://u@h/db"\n'
        '[kiosk]\nid = "k7"\nlanguage = "en"\nidle_timeout = 30\nallow_plain_cards = true\n'
        "[scanner]\nmax_gap_ms = 40\n",
        encoding="utf-8",
    )
    loaded = load_config(config)
    assert loaded.database_url == "postgresql://u@h/db"
    assert (loaded.kiosk_id, loaded.language, loaded.idle_timeout) == ("k7", "en", 30.0)
    assert loaded.allow_plain_cards and loaded.scanner_max_gap_ms == 40.0


def test_init_creates_library_with_librarian_and_config(tmp_path, capsys):
    config = tmp_path / "conf" / "kiosk.toml"
    db = tmp_path / "lib.sqlite"
    code = main(["--config", str(config), "init", "--db", str(db), "--pin", "1357",
                 "--library-name", "阳光小学图书馆"])
    assert code == 0
    out = capsys.readouterr().out
    assert "编码是：LK.L0001.1." in out  # (the configured language: Chinese by default)
    assert "kiosk --config" in out and "cards --patron L0001" in out
    assert db.exists() and config.exists()
    assert load_config(config).database_url == f"sqlite:///{db.resolve()}"
    assert load_config(config).language == "zh_CN"  # the screens speak as init spoke
    # a second init never overwrites a library
    assert main(["--config", str(config), "init", "--db", str(db), "--pin", "1357"]) == 1
    assert "已经是图书馆数据库（阳光小学图书馆）" in capsys.readouterr().err  # (its language)


def test_init_refuses_a_weak_pin(tmp_path, capsys):
    assert main(["init", "--db", str(tmp_path / "x.sqlite"), "--pin", "12"]) == 2
    assert "密码必须是 4 到 12 位数字" in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists()


def test_demo_help_tells_the_librarian_pin():
    result = run_kiosk("demo", "--help")
    assert result.returncode == 0
    assert f"PIN is {DEMO_PIN}" in result.stdout


def test_demo_export_codes(tmp_path):
    out = tmp_path / "codes.csv"
    result = run_kiosk("demo", "--db", str(tmp_path / "demo.sqlite"), "--export-codes", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and set(rows[0]) == {"role", "name", "code"}
    assert {row["role"] for row in rows} == {"student", "teacher", "helper", "librarian", "copy"}
    assert rows[0]["role"] == "librarian"


def test_version():
    result = run_kiosk("--version")
    assert result.returncode == 0 and result.stdout.startswith("kiosk ")


# -- the desk and the sync ---------------------------------------------------------------


def kiosk_config(tmp_path: Path, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / (name + ".sqlite")}"\n'
        f'[kiosk]\nid = "{name}"\nlog_file = "{tmp_path / (name + ".log")}"\n'
        'language = "en"\n',
        encoding="utf-8",
    )
    return config


def test_desk_init_join_and_sync_from_the_command_line(make_pg_url, tmp_path, capsys):
    url = make_pg_url().replace("postgres@", "postgres:pa55word@")  # trust auth ignores it
    hall = kiosk_config(tmp_path, "hall")
    assert main(["--config", str(hall), "desk", "init", url, "--pin", "2468",
                 "--library-name", "Sunshine"]) == 0
    out = capsys.readouterr().out
    assert "Desk database ready at postgresql://postgres:***@" in out
    assert "The librarian's card code is: LK.L0001.1." in out
    assert main(["--config", str(hall), "join", url]) == 0
    assert "This kiosk is hall at the desk" in capsys.readouterr().out
    assert main(["--config", str(hall), "join", url]) == 1
    assert "has joined a desk already" in capsys.readouterr().err
    room = kiosk_config(tmp_path, "room")
    room.write_text(room.read_text().replace('id = "room"', 'id = "hall"'), encoding="utf-8")
    assert main(["--config", str(room), "join", url]) == 1
    assert "another kiosk has that name" in capsys.readouterr().err
    assert main(["--config", str(hall), "sync"]) == 0
    out = capsys.readouterr().out
    assert "0 sent, 0 received, 0 waiting" in out and "pa55word" not in out
    assert "pa55word" not in (tmp_path / "hall.log").read_text(encoding="utf-8")


def test_sync_without_a_desk_says_what_to_do(tmp_path, capsys):
    lone = kiosk_config(tmp_path, "lone")
    assert main(["--config", str(lone), "init", "--pin", "2468"]) == 0
    capsys.readouterr()
    assert main(["--config", str(lone), "sync"]) == 2
    assert "has not joined a desk" in capsys.readouterr().err


def test_sync_with_the_desk_gone_loses_nothing(tmp_path, capsys):
    desk = tmp_path / "desk.sqlite"
    hall = kiosk_config(tmp_path, "hall")
    assert main(["--config", str(hall), "desk", "init", f"sqlite:///{desk}", "--pin", "2468"]) == 0
    assert main(["--config", str(hall), "join", f"sqlite:///{desk}"]) == 0
    desk.rename(tmp_path / "moved.sqlite")
    capsys.readouterr()
    assert main(["--config", str(hall), "sync"]) == 1
    err = capsys.readouterr().err
    assert "the desk cannot be reached" in err and "Nothing is lost" in err


# -- one language for every command ------------------------------------------------------


def _said(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize(("lang", "expected"), [
    ("en_US.UTF-8", ["there is no library database", "there is no desk database",
                     "the PIN must be 4 to 12 digits", "cannot join the desk",
                     "Desk database ready at", "there is no library database"]),
    ("zh_CN.UTF-8", ["没有图书馆数据库", "没有馆员台数据库", "密码必须是 4 到 12 位数字",
                     "无法连接馆员台", "馆员台数据库已就绪", "没有图书馆数据库"]),
])
def test_every_command_speaks_the_system_language_when_none_is_set(
    tmp_path, monkeypatch, capsys, lang, expected,
):
    """No [kiosk] language: run, desk, init, join, desk init and sync all speak LANG's."""
    monkeypatch.setenv("LANG", lang)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "k.sqlite"}"\n'
                      f'[kiosk]\nlog_file = "{tmp_path / "k.log"}"\n', encoding="utf-8")
    base = ["--config", str(config)]
    said = []
    assert main([*base, "run"]) == 2
    said.append(_said(capsys))
    assert main([*base, "desk", "--db", f"sqlite:///{tmp_path / 'no-desk.sqlite'}"]) == 2
    said.append(_said(capsys))
    assert main([*base, "init", "--pin", "12"]) == 2
    said.append(_said(capsys))
    assert main([*base, "join", "postgresql://nobody@127.0.0.1:1/none"]) == 1
    said.append(_said(capsys))
    desk = tmp_path / "desk.sqlite"
    assert main([*base, "desk", "init", f"sqlite:///{desk}", "--pin", "2468"]) == 0
    said.append(_said(capsys))
    other = tmp_path / "other.toml"
    other.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "none.sqlite"}"\n',
                     encoding="utf-8")
    assert main(["--config", str(other), "sync"]) == 2
    said.append(_said(capsys))
    for text, words in zip(said, expected, strict=True):
        assert words in text, text


def test_the_configured_language_wins_over_the_system_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nlanguage = "en"\n', encoding="utf-8")
    assert main(["--config", str(config), "init", "--db", str(tmp_path / "x.sqlite"),
                 "--pin", "12"]) == 2
    assert "the PIN must be 4 to 12 digits" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["init", "--db", str(tmp_path / "x.sqlite"), "--pin", "1357"]) == 0
    assert "(L0001) has a card; its code is: LK.L0001.1." in capsys.readouterr().out
