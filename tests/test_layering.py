"""The package's layers, checked: dependencies flow screens -> services -> models only.

* ``kiosk/data`` and ``kiosk/devices`` never import Textual (``kiosk.data`` not even
  indirectly: importing all of it leaves Textual unloaded).
* ``kiosk/devices`` never touches the database (pure helpers such as
  ``kiosk.data.core.text`` are fine).
* ``kiosk/screens`` and ``kiosk/widgets`` talk to services (``kiosk.data.lending.circulation``
  and friends, which return plain values), never to Peewee or the models.

Every import statement counts, including those inside functions and under
``TYPE_CHECKING``, and ``importlib.import_module("...")`` / ``__import__("...")`` calls.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kiosk

PACKAGE = Path(kiosk.__file__).parent

DB_INTERNALS = (
    "peewee",
    "playhouse",
    "kiosk.data.core.models",
    "kiosk.data.core.db",
    "kiosk.data.core.projection",
    "kiosk.data.core.journal",
    "kiosk.data.core.migrations",
)

RULES: dict[str, tuple[str, ...]] = {
    "data": ("textual", "rich"),
    "devices": (
        "textual", "rich", *DB_INTERNALS,
        "kiosk.data.lending.circulation", "kiosk.data.core.library", "kiosk.data.core.settings", "kiosk.data.sync",
    ),
    "screens": DB_INTERNALS,
    "widgets": DB_INTERNALS,
}
"""Sub-package -> modules it must not import (a name forbids its submodules too)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    """Every module name ``source`` (the text of ``module``) imports, made absolute.

    ``from a import b`` yields both ``a`` and ``a.b``, since ``b`` may be a module.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield first.value


def violations(source: str, module: str, forbidden: tuple[str, ...], is_package: bool = False
               ) -> list[str]:
    """The names in ``source`` that fall under one of ``forbidden``."""
    found = set()
    for name in imported_names(source, module, is_package):
        for banned in forbidden:
            if name == banned or name.startswith(banned + "."):
                found.add(name)
    return sorted(found)


def files_of(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


@pytest.mark.parametrize("subpackage", sorted(RULES))
def test_subpackage_respects_its_import_rules(subpackage):
    files = files_of(subpackage)
    if subpackage == "data":
        assert len(files) >= 10, "kiosk/data went missing?"
    broken = {}
    for path in files:
        found = violations(
            path.read_text(encoding="utf-8"), module_name(path), RULES[subpackage],
            is_package=path.name == "__init__.py",
        )
        if found:
            broken[str(path.relative_to(PACKAGE.parent))] = found
    assert broken == {}


SIP2_DOOR = "adapter.py"
"""The one module of ``kiosk/sip2`` that reaches the library's data (issue 13 moves
``kiosk/data`` into subpackages: only this module follows it)."""


def test_only_the_sip2_adapter_touches_the_data():
    broken = {}
    for path in files_of("sip2"):
        forbidden = ("textual", "rich") if path.name == SIP2_DOOR else (
            "textual", "rich", "kiosk.data", "peewee",
        )
        if path.name == "protocol.py":  # pure: the standard library only
            forbidden = (*forbidden, "kiosk")
        found = violations(path.read_text(encoding="utf-8"), module_name(path), forbidden,
                           is_package=path.name == "__init__.py")
        if found:
            broken[path.name] = found
    assert len(files_of("sip2")) >= 5
    assert broken == {}


def test_importing_all_of_the_data_layer_leaves_textual_unloaded():
    modules = [module_name(path) for path in files_of("data")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# -- the checker itself can fail ------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "module", "forbidden", "expected"),
    [
        ("import textual", "kiosk.data.x", ("textual",), ["textual"]),
        ("import textual.app as t", "kiosk.data.x", ("textual",), ["textual.app"]),
        ("from textual import on", "kiosk.data.x", ("textual",), ["textual", "textual.on"]),
        (
            "def f():\n    from textual.widgets import Static\n", "kiosk.devices.cam",
            ("textual",), ["textual.widgets", "textual.widgets.Static"],
        ),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import peewee\n",
            "kiosk.screens.s", DB_INTERNALS, ["peewee"],
        ),
        ("from kiosk.data.core import models", "kiosk.screens.s", DB_INTERNALS,
         ["kiosk.data.core.models"]),
        ("from ..data.core.models import Patron", "kiosk.screens.s", DB_INTERNALS,
         ["kiosk.data.core.models", "kiosk.data.core.models.Patron"]),
        ("from ..data.core import db", "kiosk.widgets.w", DB_INTERNALS, ["kiosk.data.core.db"]),
        ("importlib.import_module('textual.app')", "kiosk.data.x", ("textual",),
         ["textual.app"]),
        ("__import__('peewee')", "kiosk.screens.s", DB_INTERNALS, ["peewee"]),
        ("from kiosk.data.lending.circulation import Circulation", "kiosk.screens.s", DB_INTERNALS, []),
        ("import textualize_helpers", "kiosk.data.x", ("textual",), []),
        ("from . import cards", "kiosk.data.x", ("textual",), []),
    ],
)
def test_checker_finds_forbidden_imports(source, module, forbidden, expected):
    assert violations(source, module, forbidden) == expected


def test_relative_import_from_a_package_init_is_resolved():
    found = violations("from .models import Patron", "kiosk.data.core", ("kiosk.data.core.models",),
                       is_package=True)
    assert found == ["kiosk.data.core.models", "kiosk.data.core.models.Patron"]
