"""The kiosk's roles at full stretch: a helper's return station and the librarian's day.

Each part lives in its own script (``roles_helper.py``, ``roles_librarian.py``, each with
its own ``--help``; ``roles_helper.py --quick`` runs one minute) and can be run alone;
this one runs them in turn::

    python bench/roles.py                    # both parts, full size (the helper part: 10 min)
    python bench/roles.py --part librarian   # one part; further arguments go to it

Goals (issue 5): helper scan to verdict on screen p95 <= 50 ms at 2 scans per second
for 10 minutes, memory flat; the day log (5,000 facts in a year of 500,000) open in
<= 300 ms; each filter keystroke <= 50 ms.
"""

from __future__ import annotations

import sys

from _parts import run_parts  # the scripts beside this one are importable when it runs

PARTS = {"helper": "roles_helper", "librarian": "roles_librarian"}

if __name__ == "__main__":
    raise SystemExit(run_parts(__doc__ or "", PARTS, sys.argv[1:]))
