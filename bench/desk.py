"""The desk's tools: catalogue import, cards, labels and term reports.

Each part lives in its own script (``desk_import.py``, ``desk_print.py``, each with its
own ``--help`` for smaller sizes) and can be run alone; this one runs them in turn::

    python bench/desk.py                 # every part, full size
    python bench/desk.py --part import   # one part; further arguments go to it

Goals (issue 6): 100,000 MARC records imported in <= 60 s; 2,000 cards rendered in
<= 30 s; a term report over 1,000,000 loans in <= 5 s.
"""

from __future__ import annotations

import sys

from _parts import run_parts  # the scripts beside this one are importable when it runs

PARTS = {"import": "desk_import", "print": "desk_print"}

if __name__ == "__main__":
    raise SystemExit(run_parts(__doc__ or "", PARTS, sys.argv[1:]))
