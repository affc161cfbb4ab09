"""``kiosk join`` says in one line why it failed, in the configured language (issue 12,
point 10): the desk's computer not found, the connection refused, a wrong or missing
password, no such database or user, not a desk, no answer.

Every case is produced for real: a name in the reserved ``.invalid`` domain, a closed
port, the shared PostgreSQL server, and for passwords a private server that checks
them (the fixture ``password_pg``, ``tests/pgserver.py``; the shared one trusts 127.0.0.1).
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from pgserver import LIBRARIAN_PASSWORD
from tcpproxy import proxied

from kiosk.cli import main


def kiosk_config(tmp_path: Path, language: str) -> Path:
    name = f"k{uuid.uuid4().hex[:8]}"
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / (name + ".sqlite")}"\n'
        f'[kiosk]\nid = "{name}"\nlanguage = "{language}"\n'
        f'log_file = "{tmp_path / "kiosk.log"}"\n'
        "[sync]\nconnect_timeout = 2\nreply_timeout = 1\ndeadline = 10\n",
        encoding="utf-8",
    )
    return config


def join(tmp_path: Path, url: str, capsys, language: str = "en") -> str:
    """``kiosk join URL``: it fails, and says why on one line (returned)."""
    capsys.readouterr()
    assert main(["--config", str(kiosk_config(tmp_path, language)), "join", url]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err, err
    assert "kiosk.log" not in err  # the cause, not "details are in the log"
    return err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "the desk's computer no-such-desk.invalid cannot be found"),
     ("zh_CN", "找不到馆员台的电脑 no-such-desk.invalid")],
)
def test_host_not_found(tmp_path, capsys, language, expected):
    err = join(tmp_path, "postgresql://postgres@no-such-desk.invalid/library", capsys, language)
    assert expected in err


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "127.0.0.1 refuses connections on port {port}"),
     ("zh_CN", "127.0.0.1 拒绝了端口 {port} 上的连接")],
)
def test_connection_refused(tmp_path, capsys, language, expected):
    port = closed_port()
    err = join(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/library", capsys, language)
    assert expected.format(port=port) in err


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "the desk's server has no database {name}"),
     ("zh_CN", "馆员台的服务器上没有数据库 {name}")],
)
def test_database_missing(tmp_path, capsys, pg_server, language, expected):
    name = f"kiosk_missing_{uuid.uuid4().hex[:8]}"
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    assert expected.format(name=name) in join(tmp_path, url, capsys, language)


def test_user_missing(tmp_path, capsys, pg_url):
    url = pg_url.replace("postgres@", "nobody_here@")
    assert "the desk's server has no user nobody_here" in join(tmp_path, url, capsys)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "cannot join the desk: that database is not a library desk"),
     ("zh_CN", "无法连接馆员台：这个数据库不是图书馆的馆员台")],
)
def test_not_a_desk(tmp_path, capsys, pg_url, language, expected):
    assert expected in join(tmp_path, pg_url, capsys, language)


def test_no_desk_file(tmp_path, capsys):
    err = join(tmp_path, f"sqlite:///{tmp_path / 'no-desk.sqlite'}", capsys)
    assert f"there is no desk database file at {tmp_path / 'no-desk.sqlite'}" in err


def test_not_a_desk_address(tmp_path, capsys):
    err = join(tmp_path, "mysql://desk/library", capsys)
    assert "mysql://desk/library is not a desk's address" in err


@pytest.mark.slow
def test_no_answer(tmp_path, capsys, pg_url):
    with proxied(pg_url) as (proxy, through):
        proxy.stall()
        start = time.monotonic()
        err = join(tmp_path, through, capsys)
    assert "the desk did not answer within 2 s" in err
    assert time.monotonic() - start < 6


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "the desk refused the password of user librarian"),
     ("zh_CN", "馆员台不接受用户 librarian 的密码")],
)
def test_wrong_password(tmp_path, capsys, password_pg, language, expected):
    url = password_pg.url("librarian", "wrong-2", password_pg.fresh_database())
    err = join(tmp_path, url, capsys, language)
    assert expected in err and "wrong-2" not in err


@pytest.mark.slow
def test_no_password(tmp_path, capsys, password_pg):
    err = join(tmp_path, password_pg.url("librarian", None, password_pg.fresh_database()), capsys)
    assert "the desk asks for a password for user librarian" in err


@pytest.mark.slow
def test_the_right_password_joins(tmp_path, capsys, password_pg):
    url = password_pg.url("librarian", LIBRARIAN_PASSWORD, password_pg.fresh_database())
    config = kiosk_config(tmp_path, "en")
    assert main(["--config", str(config), "desk", "init", url, "--pin", "2468"]) == 0
    assert main(["--config", str(config), "join", url]) == 0
    assert "This kiosk is" in capsys.readouterr().out
