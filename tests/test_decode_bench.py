"""``kiosk decode-bench``: the figures on the real-photo corpus and the exact line format.

The corpus lives beside the repository (``../shared/corpus/real-dev``, or where
``KIOSK_CORPUS`` says); the test is skipped, saying so, where it is absent: it is
test data that travels beside the repository, not a dependency CI installs.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from kiosk.devices.decode_bench import run
from kiosk.devices.decoder import Decoder

CORPUS = Path(
    os.environ.get("KIOSK_CORPUS")
    or Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-dev"
)
LINE = re.compile(r"^read (\d+)/(\d+) false (\d+) mean (\d+\.\d) ms p95 (\d+\.\d) ms$")
CARD = "LK.2021060107.1.DS76WBHBGURY5JQ4"


def _card(path: Path, text: str = CARD) -> None:
    """A QR card photo-ish picture written to ``path``."""
    code = qrcode.QRCode(box_size=5, border=4)
    code.add_data(text)
    code.make(fit=True)
    picture = np.array(code.make_image().convert("L"), dtype=np.uint8)
    frame = np.full((360, 480), 120, np.uint8)
    h, w = picture.shape
    frame[40 : 40 + h, 60 : 60 + w] = picture
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), frame)


def _no_code(path: Path) -> None:
    """A picture without any code (soft noise) written to ``path``."""
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (12, 16)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.resize(small, (640, 480)).astype(np.uint8))


def test_the_corpus_goals_read_and_false(capsys: pytest.CaptureFixture[str]) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no real-photo corpus at {CORPUS} (set KIOSK_CORPUS)")
    out = io.StringIO()
    result = run(CORPUS, out=out)
    lines = out.getvalue().splitlines()
    match = LINE.match(lines[-1])
    assert match, lines[-1]
    assert (int(match[1]), int(match[2]), int(match[3])) == (
        result.read,
        result.present,
        result.false,
    )
    assert result.present >= 50
    assert result.read >= 0.9 * result.present, out.getvalue()
    assert result.false == 0, out.getvalue()
    folders = {row.split()[0] for row in lines[:-1] if not row.startswith((" ", "note"))}
    assert {"qrcode-1", "ean13-3", "code128-1", "code39-1", "falsepositives-1"} <= folders
    assert result.exit_code == 0


def test_the_final_line_and_the_rows_on_a_tiny_folder(tmp_path: Path) -> None:
    _card(tmp_path / "cards" / "good.png")
    (tmp_path / "cards" / "good.txt").write_text(CARD)
    (tmp_path / "cards" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n nothing follows")
    (tmp_path / "cards" / "broken.txt").write_text("LK.1.1.AAAA")
    _no_code(tmp_path / "falsepositives-1" / "wall.png")
    (tmp_path / "falsepositives-1" / "notes.txt").write_text("not a picture")
    out = io.StringIO()
    result = run(tmp_path, out=out)
    lines = out.getvalue().splitlines()
    assert LINE.match(lines[-1]), lines[-1]
    assert lines[-1].startswith("read 1/2 false 0 mean ")
    assert [line.split()[0] for line in lines[:-1]] == ["cards", "falsepositives-1"]
    assert "read 1/2 false 0" in lines[0]
    assert "read 0/0 false 0" in lines[1]
    assert (result.read, result.present, result.false) == (1, 2, 0)
    assert result.folders[0].misses == ["broken.png"]
    assert len(result.folders[0].times_ms) == 1  # the broken file is not timed
    assert result.exit_code == 0
    assert result.line == lines[-1]


def test_wrong_texts_and_codes_in_code_free_folders_are_false_reads(tmp_path: Path) -> None:
    _card(tmp_path / "cards" / "a.png")
    (tmp_path / "cards" / "a.txt").write_text("LK.something.else")
    _card(tmp_path / "falsepositives-2" / "b.png")
    result = run(tmp_path, out=io.StringIO(), verbose=True)
    assert (result.read, result.present, result.false) == (0, 1, 2)
    assert [name for name, _ in result.folders[0].wrong] == ["a.png"]


def test_an_image_nobody_recorded_counts_only_when_missed(tmp_path: Path) -> None:
    _card(tmp_path / "qr" / "read.png")
    _no_code(tmp_path / "qr" / "unread.png")
    out = io.StringIO()
    result = run(tmp_path, out=out, verbose=True)
    assert (result.read, result.present, result.false) == (0, 1, 0)
    assert "    miss  unread.png" in out.getvalue().splitlines()


def test_expected_text_is_taken_exactly(tmp_path: Path) -> None:
    """Spaces and line ends in the .txt are part of the code (the corpus has both)."""
    _card(tmp_path / "qr" / "a.png", text=" A B\r\n")
    (tmp_path / "qr" / "a.txt").write_bytes(b" A B\r\n")
    assert run(tmp_path, out=io.StringIO()).read == 1


def test_one_thread_while_measuring_and_the_setting_restored(tmp_path: Path) -> None:
    seen: list[int] = []

    class Spy(Decoder):
        def decode(self, image, **kwargs):  # type: ignore[no-untyped-def, override]
            seen.append(cv2.getNumThreads())
            return super().decode(image, **kwargs)

    before = cv2.getNumThreads()
    _card(tmp_path / "qr" / "a.png")
    (tmp_path / "qr" / "a.txt").write_text(CARD)
    run(tmp_path, out=io.StringIO(), decoder=Spy())
    assert seen and set(seen) == {1}
    assert cv2.getNumThreads() == before


def test_a_missing_folder_is_said_and_returns_2(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run(tmp_path / "nowhere", out=out)
    assert result.exit_code == 2
    assert "no such folder" in out.getvalue()


def test_generated_photos_are_made_again_from_their_seeds_and_the_splits_differ() -> None:
    from kiosk.devices.simulated.photos import KINDS, photos

    tune = list(photos("tune", 12))
    again = list(photos("tune", 3))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(tune, again))
    held_out = list(photos("held-out", 3))
    assert not any(np.array_equal(a.image, b.image) for a, b in zip(tune, held_out))
    assert {p.kind for p in tune} <= set(KINDS)
    assert all((p.text is None) == (p.kind == "nocode") for p in tune)
    assert all(p.image.dtype == np.uint8 and p.image.ndim == 3 for p in tune)


def test_decode_bench_on_generated_photos_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kiosk.cli import main

    assert main(["decode-bench", "--generated", "tune", "--count", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    match = LINE.match(lines[-1])
    assert match, lines
    assert int(match[3]) == 0  # no false reads
    from kiosk.devices.simulated.photos import KINDS

    assert lines[:-1] and all(line.split()[0] in KINDS for line in lines[:-1])
