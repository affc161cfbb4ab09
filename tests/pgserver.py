"""A private PostgreSQL server that asks for passwords, for the tests that need one.

The shared test server trusts every connection from 127.0.0.1 (pg_hba.conf: ``trust``),
so a wrong password cannot be produced there. This starts a real server of the same
installation (``initdb`` + ``pg_ctl``) in a temporary folder, with ``scram-sha-256``
for every connection, on a free port; about a second, once per test process (the
fixture ``password_pg``, made available to every test by ``conftest.py``).

The server runs as the ``postgres`` user when the tests run as root (``initdb``
refuses root). Without ``initdb`` on the machine the tests that need it are skipped,
saying why (the shared server cannot stand in for it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER_PASSWORD = "super-secret-1"


LIBRARIAN = "librarian"
LIBRARIAN_PASSWORD = "right-1:x"
"""The password of the role ``librarian`` (a ``:`` in it, as the password file escapes)."""


@dataclass(frozen=True)
class PasswordServer:
    """A running server: its port, its superuser's URL, and a role ``librarian``."""

    port: int

    def url(self, user: str = "postgres", password: str | None = SUPERUSER_PASSWORD,
            database: str = "postgres") -> str:
        auth = f"{user}:{quote(password, safe='')}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database owned by ``librarian``; its name."""
        import psycopg2

        name = f"library_{uuid.uuid4().hex[:12]}"
        admin = psycopg2.connect(self.url())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" OWNER {LIBRARIAN}')
        admin.close()
        return name


def _bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    config = shutil.which("pg_config")
    if config:
        folder = Path(subprocess.run([config, "--bindir"], capture_output=True, text=True,
                                     check=False).stdout.strip())
        if (folder / "initdb").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def password_server() -> Iterator[PasswordServer]:
    """Start a PostgreSQL server of its own that checks passwords (scram-sha-256), yield
    it, and stop it (the ``password_pg`` fixture in ``conftest.py``)."""
    bindir = _bindir()
    if bindir is None:
        reason = "initdb is not installed: no server that checks passwords can be started"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL's server programs are required in CI: {reason}")
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="kiosk-pgpw-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    password_file = folder / "password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n", encoding="utf-8")
    if as_postgres:
        os.chown(password_file, entry.pw_uid, entry.pw_gid)
    data = folder / "data"
    port = _free_port()
    try:
        subprocess.run(
            [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "-A", "scram-sha-256", f"--pwfile={password_file}", "-N", "--no-instructions"],
            check=True, capture_output=True,
        )
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
             str(folder / "server.log"), "-o",
             f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
            check=True, capture_output=True,
        )
        server = PasswordServer(port)
        import psycopg2

        admin = psycopg2.connect(server.url())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {LIBRARIAN} LOGIN PASSWORD %s", (LIBRARIAN_PASSWORD,))
        admin.close()
        yield server
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
