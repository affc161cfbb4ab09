"""The package's layers, checked: every module of ``kiosk/`` has a rule (docs/architecture.md).

* ``kiosk/data`` is layered: ``core`` at the bottom (models, migrations, journal, facts,
  the fact kinds, the store), then the services on it — ``lending``; ``roles`` and
  ``desk`` (which may use lending); ``sync``; ``librarian`` (which may use those); the
  ``demo``. A data module imports only what its layer allows, and never Textual or Rich
  (not even indirectly: importing all of it leaves Textual unloaded).
* ``kiosk/devices`` is the hardware: neither Textual nor the database.
* ``kiosk/screens``, ``kiosk/widgets``, ``kiosk/bridges`` and the app talk to services
  (which return plain values), never to Peewee or the data core's internals; nothing
  under them imports the app or the command line (screens use :mod:`kiosk.screens.host`).
* ``kiosk/sip2``: only its adapter reaches the data; its protocol is the standard
  library alone.
* No module reaches another module's ``_private`` names.

Every import statement counts, including those inside functions and under
``TYPE_CHECKING``, and ``importlib.import_module("...")`` / ``__import__("...")`` calls.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import kiosk

PACKAGE = Path(kiosk.__file__).parent

UI = ("textual", "rich")

DB_INTERNALS = (
    "peewee",
    "playhouse",
    "kiosk.data.core.models",
    "kiosk.data.core.db",
    "kiosk.data.core.projection",
    "kiosk.data.core.projection_roles",
    "kiosk.data.core.projection_holds",
    "kiosk.data.core.projection_stock",
    "kiosk.data.core.journal",
    "kiosk.data.core.migrations",
    "kiosk.data.core.prepared",
)
"""What only the data layer touches: the screens see services and their plain values."""

ENTRY = ("kiosk.app", "kiosk.cli", "kiosk.__main__", "kiosk.commands")
"""The program's entry points: nothing below them imports them."""

CORE, LOCALE = "kiosk.data.core", "kiosk.locale"

EMPTY_PACKAGES = frozenset({"kiosk", "kiosk.data"})
"""Packages that hold nothing but their docstring (``from kiosk.data import sync``
names ``kiosk.data`` on the way to ``kiosk.data.sync``)."""


@dataclass(frozen=True)
class Rule:
    """What the modules under one prefix may import.

    ``allowed``: the only ``kiosk`` modules they may import (``None``: any but the
    banned); ``banned``: modules they must not import (a name bans its submodules).
    """

    allowed: tuple[str, ...] | None
    banned: tuple[str, ...] = ()


RULES: dict[str, Rule] = {
    "kiosk.data": Rule(allowed=(), banned=UI),  # the package itself holds nothing
    "kiosk.data.core": Rule(allowed=(CORE, LOCALE), banned=UI),
    "kiosk.data.lending": Rule(allowed=(CORE, LOCALE, "kiosk.data.lending"), banned=UI),
    "kiosk.data.roles": Rule(
        allowed=(CORE, LOCALE, "kiosk.data.lending", "kiosk.data.roles"), banned=UI),
    "kiosk.data.sync": Rule(allowed=(CORE, LOCALE, "kiosk.data.sync"), banned=UI),
    "kiosk.data.desk": Rule(
        allowed=(CORE, LOCALE, "kiosk.data.lending", "kiosk.data.roles", "kiosk.data.desk"),
        banned=UI),
    "kiosk.data.librarian": Rule(
        allowed=(CORE, LOCALE, "kiosk.data.lending", "kiosk.data.roles", "kiosk.data.sync",
                 "kiosk.data.desk", "kiosk.data.librarian"),
        banned=UI),
    "kiosk.data.demo": Rule(allowed=(CORE, LOCALE, "kiosk.data.demo"), banned=UI),
    "kiosk.devices": Rule(
        allowed=("kiosk.devices", "kiosk.data.core.text", LOCALE), banned=(*UI, "peewee")),
    "kiosk.locale": Rule(allowed=(LOCALE,), banned=(*UI, "peewee")),
    "kiosk.config": Rule(allowed=("kiosk.config", CORE, LOCALE), banned=UI),
    "kiosk.system": Rule(allowed=("kiosk.system", CORE, LOCALE), banned=UI),
    "kiosk.sip2": Rule(
        allowed=("kiosk.sip2", "kiosk.data", LOCALE, "kiosk.config"), banned=UI),
    "kiosk.widgets": Rule(
        allowed=None,
        banned=(*DB_INTERNALS, *ENTRY, "kiosk.data.core.store", "kiosk.screens", "kiosk.bridges")),
    "kiosk.screens": Rule(
        allowed=None, banned=(*DB_INTERNALS, *ENTRY, "kiosk.data.core.store")),
    "kiosk.bridges": Rule(allowed=None, banned=(*DB_INTERNALS, *ENTRY, "kiosk.screens")),
    "kiosk.app": Rule(allowed=None, banned=(*DB_INTERNALS, "kiosk.cli", "kiosk.commands")),
    "kiosk.commands": Rule(allowed=None, banned=("kiosk.cli", "kiosk.__main__")),
    "kiosk.cli": Rule(allowed=None, banned=("kiosk.__main__",)),
    "kiosk.__main__": Rule(allowed=None),
    "kiosk": Rule(allowed=(), banned=UI),  # kiosk/__init__.py: the version only
}
"""Module prefix -> its rule; a module takes the rule of its longest matching prefix."""


def rule_for(module: str) -> tuple[str, Rule] | None:
    """The prefix and rule that govern ``module`` (``None``: no rule covers it)."""
    best = None
    for prefix in RULES:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best):
                best = prefix
    return None if best is None else (best, RULES[best])


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


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


def all_modules() -> list[tuple[Path, str]]:
    return [(path, module_name(path)) for path in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_of_the_package_has_a_rule():
    modules = all_modules()
    assert len(modules) >= 100, "kiosk/ went missing?"
    assert [name for _, name in modules if rule_for(name) is None] == []


@pytest.mark.parametrize("prefix", sorted(RULES))
def test_each_layer_imports_only_what_it_may(prefix):
    broken = {}
    for path, name in all_modules():
        found = rule_for(name)
        if found is None or found[0] != prefix:
            continue
        rule = found[1]
        source = path.read_text(encoding="utf-8")
        names = set(imported_names(source, name, is_package=path.name == "__init__.py"))
        bad = {n for n in names if under(n, rule.banned)}
        if rule.allowed is not None:
            bad |= {n for n in names if under(n, ("kiosk",)) and not under(n, rule.allowed)
                    and n not in EMPTY_PACKAGES}
        if bad:
            broken[str(path.relative_to(PACKAGE.parent))] = sorted(bad)
    assert broken == {}


def test_the_packages_installed_are_the_packages_on_disk():
    """pyproject.toml lists its packages by hand: a new folder must be added there."""
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"]) - {"kiosk.assets", "kiosk.assets.demo"}
    on_disk = {module_name(init) for init in PACKAGE.rglob("__init__.py")}
    assert listed == on_disk


PUBLIC_PRIVATES = frozenset({"_meta", "_replace", "_asdict", "_fields", "_make"})
"""Underscored names that are public by convention (Peewee's ``_meta``, namedtuples)."""


def private_reaches(source: str) -> list[str]:
    """Where ``source`` reaches into another module's private names.

    ``from kiosk.x import _y``, ``module._y`` on an imported kiosk module, and
    ``self.service._y`` (one service poking into another's insides).
    """
    tree = ast.parse(source)
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and ((node.module or "").startswith("kiosk")
                                                 or node.level):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("kiosk"):
                    modules.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.attr not in PUBLIC_PRIVATES):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in modules:
            found.append(f"{owner.id}.{node.attr}")
        elif (isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name)
              and owner.value.id == "self"):
            found.append(f"self.{owner.attr}.{node.attr}")
    return sorted(set(found))


def test_no_module_reaches_into_another_ones_private_names():
    broken = {}
    for path, _ in all_modules():
        found = private_reaches(path.read_text(encoding="utf-8"))
        if found:
            broken[str(path.relative_to(PACKAGE.parent))] = found
    assert broken == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("self.circulation._transaction()", ["self.circulation._transaction"]),
        ("from kiosk.data.sync import _part\n", ["import _part"]),
        ("from kiosk.data.sync import pulling\npulling._apply_pulled(x)\n",
         ["pulling._apply_pulled"]),
        ("self._desk.close()", []),
        ("parts._replace(path='x')", []),
        ("Copy._meta.primary_key", []),
    ],
)
def test_the_private_check_can_fail(source, expected):
    assert private_reaches(source) == expected


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
    assert len(modules) >= 40
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
        ("from kiosk.data.lending.circulation import Circulation", "kiosk.screens.s",
         DB_INTERNALS, []),
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
