"""The kiosk's sounds (issue 14, "Sound"): three distinct sounds, made by a committed
recipe, played by the system's real player into a real audio file sink, at the
configured volume, never blocking the screen; on/off and volume in the settings.

The sink is ALSA's ``file`` plugin: ``aplay -D file:FILE=sink.wav,FORMAT=wav`` is the
system's player playing into a WAV file instead of a sound card (alsa-utils; .ci/run
installs it). Elsewhere a player command that copies the file it is given
(``cp {file} ...``) is the sink.
"""

from __future__ import annotations

import os
import shutil
import wave
from array import array
from pathlib import Path

import pytest
from uikit import make_app, scan_and_wait, scan_to

from kiosk.config import ConfigError, load_config
from kiosk.devices import tones
from kiosk.devices.sound import SOUNDS, SoundPlayer, player_command, sound_file
from kiosk.locale import translate
from kiosk.widgets.verdict import SEE_LIBRARIAN

APLAY = shutil.which("aplay")


def needs_aplay() -> None:
    if APLAY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("aplay (alsa-utils) is missing: .ci/run installs it")
        pytest.skip("aplay (alsa-utils) is not installed")


def frames(data: bytes | Path) -> tuple[wave._wave_params, array[int]]:
    """A WAV's parameters and its 16-bit samples."""
    import io

    source = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
    with source, wave.open(source) as read:
        params = read.getparams()
        samples = array("h", read.readframes(read.getnframes()))
    return params, samples


def peak(samples: array[int]) -> int:
    return max(abs(s) for s in samples)


# -- the sounds themselves ---------------------------------------------------------------


def test_the_committed_sounds_are_what_the_recipe_makes(tmp_path):
    made = tones.write_all(tmp_path)
    assert [p.stem for p in made] == list(SOUNDS) == ["done", "refused", "librarian"]
    for path in made:
        assert sound_file(path.stem).read_bytes() == path.read_bytes(), (
            f"assets/sounds/{path.name} is stale: python -m kiosk.devices.tones assets/sounds"
        )
        params, samples = frames(path)
        assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16_000)
        assert 0.3 < params.nframes / 16_000 < 2.0 and path.stat().st_size < 64_000
        assert peak(samples) == round(tones.PEAK * 32767)  # loud enough, never clipped


def test_the_three_sounds_differ_in_pitch_and_length():
    def pitch_and_length(name):
        notes = tones.RECIPES[name]
        return [f for f, _, _ in notes], sum(step for *_, step in notes)

    done, refused, librarian = (pitch_and_length(n) for n in SOUNDS)
    assert done[0] == sorted(done[0]) and refused[0] == sorted(refused[0], reverse=True)
    assert min(done[0]) > max(refused[0])  # done is bright and rising, refused low, falling
    assert len(librarian[0]) == 4 > len(done[0]) and librarian[1] > refused[1] > done[1]


def test_the_librarian_chime_is_for_the_messages_that_send_a_child_to_the_librarian():
    refusals = {key: text for key, text in _english().items()
                if key.split(".")[0] in ("card", "copy", "patron") and "{" not in key}
    says_librarian = {key for key, text in refusals.items() if "librarian" in text.lower()}
    says_librarian -= {"card.not_staff"}  # the librarian's own screen, not a child's errand
    assert says_librarian <= SEE_LIBRARIAN
    for key in SEE_LIBRARIAN:
        assert "librarian" in translate("en", key).lower(), key


def _english() -> dict[str, str]:
    from kiosk.locale import catalogue

    return catalogue("en")


# -- the player ----------------------------------------------------------------------------


def test_the_system_player_plays_into_a_file_sink_at_the_configured_volume(tmp_path):
    needs_aplay()
    sink = tmp_path / "sink.wav"
    full = SoundPlayer(volume=100, player=f"aplay -q -D file:FILE={sink},FORMAT=wav")
    full.play("done")
    assert full.wait(10) and full.failures == 0
    params, played = frames(sink)
    _, original = frames(sound_file("done"))
    assert (params.framerate, params.nchannels) == (16_000, 1)
    assert played[: len(original)] == original  # the sound itself, sample for sample
    full.close()

    half = SoundPlayer(volume=50, player=f"aplay -q -D file:FILE={sink},FORMAT=wav")
    half.play("refused")
    assert half.wait(10)
    _, played = frames(sink)
    _, original = frames(sound_file("refused"))
    assert abs(peak(played) / peak(original) - 0.25) < 0.01  # 50 % sounds as a quarter
    half.close()


def test_a_sound_is_queued_at_once_and_the_newest_stops_a_slow_one(tmp_path):
    sink = tmp_path / "sink"
    sink.mkdir()
    # a player that takes its time, then copies what it was given into the sink
    player = f"sh -c 'sleep \"$0\"; cp \"$1\" \"$2\"' 30 {{file}} {sink}/slow.wav"
    slow = SoundPlayer(volume=100, player=player)
    slow.play("librarian")
    slow.play("done")  # stops the librarian chime still "playing"
    slow.close()  # stops the last one too, however long it would take
    assert not list(sink.iterdir())
    fast = SoundPlayer(volume=100, player=f"cp {{file}} {sink}/fast.wav")
    fast.play("librarian")
    assert fast.wait(10)
    assert (sink / "fast.wav").read_bytes() == sound_file("librarian").read_bytes()
    fast.close()


def test_off_or_without_a_player_nothing_is_played(tmp_path):
    off = SoundPlayer(enabled=False, player=f"cp {{file}} {tmp_path}/x.wav")
    off.play("done")
    assert not off.available and not off.played
    silent = SoundPlayer(volume=0, player=f"cp {{file}} {tmp_path}/x.wav")
    assert not silent.available
    none = SoundPlayer(which=lambda name: None)
    none.play("refused")
    assert not none.available and none.command is None and not none.played
    assert player_command("", lambda n: f"/usr/bin/{n}" if n == "paplay" else None) == [
        "/usr/bin/paplay"]
    with pytest.raises(ValueError):
        SoundPlayer().play("fanfare")


def test_a_broken_player_is_logged_and_never_raises(tmp_path, caplog):
    broken = SoundPlayer(player=str(tmp_path / "no-such-player"))
    broken.play("done")
    broken.play("refused")
    assert broken.wait(10) and broken.failures == 2 and not broken.played
    broken.close()
    assert caplog.text.count("cannot play sounds") == 1  # said once
    failing = SoundPlayer(player="sh -c 'echo no sound card >&2; exit 3'")
    failing.play("done")
    assert failing.wait(10) and failing.failures == 1
    failing.close()
    assert "no sound card" in caplog.text


# -- the settings ----------------------------------------------------------------------


def test_sound_settings_are_read_and_checked(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[sound]\nenabled = false\nvolume = 35\nplayer = "paplay --volume 40000"\n')
    config = load_config(path)
    assert (config.sound, config.sound_volume, config.sound_player) == (
        False, 35.0, "paplay --volume 40000")
    for text, words in (
        ("[sound]\nvolume = 120\n", ("sound.volume must be a number from 0 to 100 percent",
                                     "sound.volume 必须是 0 到 100 %")),
        ("[sound]\nvolume = nan\n", ("from 0 to 100 percent, not nan", "不能是 nan")),
        ("[sound]\nenabled = \"yes\"\n", ("sound.enabled must be a bool", "sound.enabled")),
        ("[sound]\nplayer = \"aplay 'x\"\n", ("is not a command", "不是一条命令")),
        ("[sound]\nloud = true\n", ("unknown setting sound.loud", "sound.loud")),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        english, chinese = raised.value.said_in("en"), raised.value.said_in("zh_CN")
        assert words[0] in english and words[1] in chinese, (english, chinese)


# -- at the kiosk ---------------------------------------------------------------------------


@pytest.fixture
def student(make):
    patron = make.patron("20230001", name="王小明", school_class="三年级2班")
    make.copy(make.title("小王子"), barcode="10000002", shelf="I")
    make.copy(make.title("新华字典", kind="reference"), barcode="10000009")
    return make.card(patron)


async def test_the_kiosk_sounds_done_refused_and_see_the_librarian(circulation, student, tmp_path):
    sink = tmp_path / "sink"
    sink.mkdir()
    # the player copies each sound it is given into the sink, numbered in order
    player = f"sh -c 'cp \"$0\" \"$1/$(ls \"$1\" | wc -l).wav\"' {{file}} {sink}"
    app = make_app(circulation, sound=True, sound_volume=100, sound_player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, student, "PatronScreen")
        assert "Borrowed" in await scan_and_wait(pilot, "10000002")
        assert app.sounds.wait(10)
        assert "reference book" in await scan_and_wait(pilot, "10000009")
        assert app.sounds.wait(10)
        assert "give it to the librarian" in await scan_and_wait(pilot, "NO-SUCH-BOOK")
        assert app.sounds.wait(10)
    heard = [p.read_bytes() for p in sorted(sink.iterdir(), key=lambda p: int(p.stem))]
    assert heard == [sound_file(n).read_bytes() for n in ("done", "refused", "librarian")]


async def test_with_sound_off_the_kiosk_plays_nothing(circulation, student, tmp_path):
    app = make_app(circulation, sound=False, sound_player=f"cp {{file}} {tmp_path}/x.wav")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, student, "PatronScreen")
        assert "Borrowed" in await scan_and_wait(pilot, "10000002")
    assert not (tmp_path / "x.wav").exists() and not app.sounds.played
