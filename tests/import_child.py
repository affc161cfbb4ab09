"""Read one file as the desk's importer does, in a process whose memory is capped, and
say what came of it: for the tests of the import's limits (zip bombs and the like).

Usage::

    python tests/import_child.py patrons|catalogue PATH MEMORY_MB

Sets ``RLIMIT_AS`` (the address space) to ``MEMORY_MB``, reads ``PATH`` with
``parse_roster`` or ``parse_catalogue`` and prints one line of JSON: ``key`` (the
refusal's translation key, ``imported``, or the name of another exception such as
``MemoryError``), the refusal's ``params``, the ``seconds`` the reading took and the
process's peak resident memory in MB (``peak_mb``: the kernel's ``VmHWM`` of this
program's own memory; ``getrusage``'s figure would carry the parent's over from
before ``exec``).
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    """Cap the memory, read the file, print the outcome."""
    kind, path, megabytes = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    from kiosk.data.desk.catalogue import parse_catalogue
    from kiosk.data.desk.importing import ImportRefused
    from kiosk.data.desk.roster import parse_roster

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    params: dict[str, object] = {}
    try:
        (parse_roster if kind == "patrons" else parse_catalogue)(path)
        key = "imported"
    except ImportRefused as refused:
        key, params = refused.key, refused.params
    except BaseException as error:  # noqa: BLE001 (what the test must see, MemoryError above all)
        key = type(error).__name__
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]
    print(json.dumps({"key": key, "params": params, "seconds": round(seconds, 2),
                      "peak_mb": round(peak)}, default=str))


if __name__ == "__main__":
    main()
