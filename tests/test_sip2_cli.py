"""``kiosk sip2 terminal add|list|remove`` and ``kiosk sip2 serve`` as the librarian runs
them (the server in its own process, stopped as systemd stops it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import synckit
from sip2kit import Terminal

from kiosk.cli import main
from kiosk.data.core.db import database
from kiosk.data.core.facts import utcnow
from kiosk.locale import language, set_language
from kiosk.sip2.adapter import Library, terminals


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The commands speak the configured language: English here (the language the
    rest of the tests expect comes back afterwards)."""
    Path(os.environ["KIOSK_CONFIG"]).write_text('[kiosk]\nlanguage = "en"\n', encoding="utf-8")
    before = language()
    yield
    set_language(before)


@pytest.fixture
def desk(tmp_path: Path):
    site = synckit.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, utcnow)
    site.desk.close()
    yield site
    database.initialize(site.desk)


def kiosk(site: synckit.Site, *args: str) -> int:
    try:
        return main(["sip2", *args, "--db", site.desk_url])
    finally:
        database.initialize(site.desk)


def test_adding_listing_and_removing_terminals(desk, capsys) -> None:
    assert kiosk(desk, "terminal", "add", "gate1", "--password", "pw1", "--location", "HALL") == 0
    assert "Terminal gate1 added." in capsys.readouterr().out
    assert kiosk(desk, "terminal", "add", "old-unit", "--encoding", "gb18030") == 0
    made = capsys.readouterr().out
    password = made.rsplit(": ", 1)[1].strip()
    assert "login old-unit and this password" in made and len(password) >= 12
    assert Library(desk.desk).login("old-unit", password) is not None
    assert kiosk(desk, "terminal", "add", "gate1", "--password", "x") == 1
    assert "already called “gate1”" in capsys.readouterr().err
    assert kiosk(desk, "terminal", "add", "bad|name", "--password", "x") == 1
    assert "cannot be a terminal's name" in capsys.readouterr().err
    assert kiosk(desk, "terminal", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].startswith("gate1 · HALL · utf-8 · - · ")
    assert listing[2].startswith("old-unit · - · gb18030 · - · 20")  # signed in just now
    assert kiosk(desk, "terminal", "remove", "gate1") == 0
    assert kiosk(desk, "terminal", "remove", "gate1") == 1
    assert [t.name for t in terminals(desk.desk)] == ["old-unit"]


def test_a_kiosk_cannot_take_a_terminals_name(desk, tmp_path) -> None:
    from kiosk.data import sync
    from kiosk.data.core import library

    assert kiosk(desk, "terminal", "add", "hall", "--password", "pw") == 0
    db = library.open_library(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", create=True)
    with pytest.raises(sync.SyncError, match="sync.name_taken"):
        sync.join(db, desk.desk_url, "hall")
    db.close()
    database.initialize(desk.desk)


def test_a_kiosk_database_is_not_served(tmp_path, capsys) -> None:
    site = synckit.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, utcnow)
    site.add_kiosk("hall")
    status = main(["sip2", "terminal", "list", "--db", f"sqlite:///{tmp_path / 'hall.sqlite'}"])
    database.initialize(site.desk)
    assert status == 2 and "This database is a kiosk's" in capsys.readouterr().err
    assert main(["sip2", "terminal", "list", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    database.initialize(site.desk)
    assert "There is no library database" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_until_stopped_and_logs(desk, tmp_path) -> None:
    assert kiosk(desk, "terminal", "add", "gate1", "--password", "pw1") == 0
    port = free_port()
    log = tmp_path / "kiosk.log"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\nlanguage = "en"\nlog_file = "{log}"\n', encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(config), "sip2", "serve", "--db",
         desk.desk_url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"on 127.0.0.1:{port}" in first and "ctrl+c" in first
        terminal = Terminal(port)
        assert terminal.login("gate1", "pw1").ok == "1"
        assert terminal.checkout(synckit.card_code(desk, "S0001"), "B00001").ok == "1"
        terminal.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
    finally:
        if server.poll() is None:
            server.kill()
    text = log.read_text(encoding="utf-8")
    assert "sip2 server listening on 127.0.0.1" in text
    assert "terminal gate1 logged in" in text and "sip2 server stopped" in text
    assert "pw1" not in text


def test_serve_refuses_half_a_tls_setting(desk, capsys) -> None:
    assert kiosk(desk, "serve", "--tls-cert", "x.pem") == 2
    assert "both --tls-cert and --tls-key" in capsys.readouterr().err


def test_serve_says_when_the_port_is_taken(desk, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert kiosk(desk, "serve", "--host", "127.0.0.1", "--port", str(port)) == 2
    assert "Cannot listen on 127.0.0.1" in capsys.readouterr().err
