"""Settings are checked when read: every number has a range, unknown names are errors
(issue 12, point 8), and the message names the setting in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import RANGES, Config, ConfigError, load_config


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("kiosk", "idle_timeout", "-1", "from 5 to 3600 seconds, not -1"),
        ("kiosk", "idle_timeout", "0", "from 5 to 3600 seconds, not 0"),
        ("sync", "interval", "nan", "from 1 to 3600 seconds, not nan"),
        ("sync", "interval", "0", "from 1 to 3600 seconds, not 0"),
        ("sync", "interval", "-5", "from 1 to 3600 seconds, not -5"),
        ("sync", "interval", "1e309", "from 1 to 3600 seconds, not inf"),
        ("sync", "interval", "-inf", "not -inf"),
        ("sync", "connect_timeout", "0", "from 1 to 120 seconds"),
        ("sync", "reply_timeout", "inf", "from 1 to 600 seconds, not inf"),
        ("sync", "deadline", "1", "from 5 to 3600 seconds"),
        ("scanner", "max_gap_ms", "0", "from 1 to 1000 milliseconds"),
        ("roles", "visit_minutes", "0", "from 1 to 600 minutes"),
        ("roles", "helper_idle_timeout", "nan", "not nan"),
        ("desk", "idle_minutes", "-1", "from 0 to 1440 minutes"),
        ("kiosk", "countdown", "-3", "from 0 to 600 seconds"),
    ],
)
def test_a_number_out_of_its_range_is_refused_naming_the_setting(
    tmp_path, section, key, value, expected
):
    path = settings_file(tmp_path, f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert f"{section}.{key} must be a number from" in message and expected in message


def test_every_number_has_a_range_and_every_default_is_inside_it():
    numbers = {name for name, kind in Config.__annotations__.items() if kind == "float"}
    assert numbers == set(RANGES)
    defaults = Config()
    for name, (low, high, _unit) in RANGES.items():
        assert low <= getattr(defaults, name) <= high, name


def test_the_ends_of_a_range_are_accepted(tmp_path):
    path = settings_file(
        tmp_path,
        "[sync]\ninterval = 1\nconnect_timeout = 120\nreply_timeout = 1\ndeadline = 3600\n"
        "[desk]\nidle_minutes = 0\n",
    )
    config = load_config(path)
    assert (config.sync_interval, config.sync_connect_timeout) == (1.0, 120.0)
    assert config.desk_timeouts.reply == 1.0 and config.desk_timeouts.deadline == 3600.0
    assert config.desk_idle_minutes == 0.0


def test_an_unknown_section_is_an_error_naming_it(tmp_path):
    path = settings_file(tmp_path, "[synk]\ninterval = 5\n")
    with pytest.raises(ConfigError, match=r"unknown section \[synk\]"):
        load_config(path)
    path = settings_file(tmp_path, 'colour = "red"\n')  # a setting outside any section
    with pytest.raises(ConfigError, match=r"unknown section \[colour\]"):
        load_config(path)


def test_an_unknown_language_and_a_countdown_longer_than_the_timeout_are_refused(tmp_path):
    with pytest.raises(ConfigError, match='kiosk.language must be one of "zh_CN", "en"'):
        load_config(settings_file(tmp_path, '[kiosk]\nlanguage = "fr"\n'))
    with pytest.raises(ConfigError, match="countdown .20. cannot be longer"):
        load_config(settings_file(tmp_path, "[kiosk]\nidle_timeout = 10\ncountdown = 20\n"))


def test_the_command_line_says_it_in_both_languages(tmp_path, capsys):
    path = settings_file(tmp_path, "[sync]\ninterval = nan\n")
    assert main(["--config", str(path), "sync"]) == 2
    err = capsys.readouterr().err
    assert "sync.interval must be a number from 1 to 3600 seconds, not nan" in err
    assert "sync.interval 必须是 1 到 3600 秒之间的数，不能是 nan" in err
