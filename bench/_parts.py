"""Running a family of benchmark scripts in turn: ``--part NAME`` picks one part, and
the other arguments go to that part's ``main(argv)`` (with no ``--part``, every part
runs at its full size)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from _common import machine


def run_parts(doc: str, parts: Mapping[str, str], argv: Sequence[str]) -> int:
    """Run ``parts`` (name -> module beside this file) and return the worst exit code."""
    args = list(argv)
    if "-h" in args or "--help" in args:
        print(doc.strip())
        return 0
    chosen = list(parts)
    if "--part" in args:
        at = args.index("--part")
        if at + 1 >= len(args) or args[at + 1] not in parts:
            print(f"--part takes one of: {', '.join(parts)}")
            return 2
        chosen = [args[at + 1]]
        del args[at : at + 2]
    elif args:
        print("arguments go to one part: give --part NAME first")
        return 2
    print(f"machine: {machine()}")
    worst = 0
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        module = importlib.import_module(parts[name])
        worst = max(worst, int(module.main(args) or 0))
    return worst
