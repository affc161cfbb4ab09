"""C libraries' stderr goes to the log file, never to the terminal Textual draws on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_descriptor_two_goes_to_the_log_and_textual_keeps_the_terminal(tmp_path):
    log = tmp_path / "kiosk.log"
    child = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from kiosk.system.terminal import c_stderr_to
        with c_stderr_to(Path({str(log)!r})) as terminal:
            os.write(2, b"zbar: WARNING from C\\n")      # what libzbar does
            sys.__stderr__.write("drawn by textual\\n")   # where Textual draws
            sys.__stderr__.flush()
        os.write(2, b"after\\n")
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert b"zbar: WARNING from C" not in result.stderr
    assert b"drawn by textual" in result.stderr
    assert b"after" in result.stderr  # descriptor 2 is back afterwards
    assert "zbar: WARNING from C" in log.read_text()
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
