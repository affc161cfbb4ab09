"""Settings: one typed object read from a TOML file and the environment.

The file is looked for, in order, at the path given with ``--config``, at
``$KIOSK_CONFIG``, and at ``kiosk.toml`` in the platform's config directory.
A missing file is not an error: every setting has a default, and the database
defaults to ``kiosk.sqlite`` in the platform's data directory.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kiosk.data.core.network import DeskTimeouts

APP_NAME = "library-kiosk"


class ConfigError(Exception):
    """The configuration file cannot be read or holds a wrong value.

    ``key`` and ``params`` are the message's translation (``config.*.toml``); the
    exception's text is the English one. :meth:`in_every_language` is what the
    command line says, since a broken file does not tell which language to speak.
    """

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.said_in("en"))

    def said_in(self, language: str) -> str:
        """The message in ``language``."""
        from kiosk.locale import translate

        params = dict(self.params)
        if "unit" in params:
            params["unit"] = translate(language, f"config.unit.{params['unit']}")
        return translate(language, self.key, **params)

    def in_every_language(self) -> list[str]:
        """The message in each language the kiosk speaks, the default first."""
        from kiosk.locale import LANGUAGES

        return [self.said_in(language) for language in LANGUAGES]


def config_dir() -> Path:
    """The platform's directory for this program's configuration."""
    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The platform's directory for this program's databases."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def demo_path() -> Path:
    """Where the demo database lives: ``demo.sqlite`` in the platform's data folder."""
    return data_dir() / "demo.sqlite"


def log_dir() -> Path:
    """The platform's directory for this program's log files."""
    return Path(platformdirs.user_log_dir(APP_NAME))


@dataclass(frozen=True)
class Config:
    """Every setting of the kiosk, with the defaults a new kiosk starts with."""

    database: str = ""
    """Database URL (``sqlite:///path``) or file path; empty means the default file."""
    kiosk_id: str = "kiosk-1"
    """This kiosk's identity in the journal and at the desk."""
    language: str = "zh_CN"
    """The language the attract screen starts in: ``zh_CN`` or ``en``."""
    idle_timeout: float = 45.0
    """Seconds without a touch, key or scan before the kiosk forgets the student."""
    countdown: float = 10.0
    """The last seconds of the idle timeout that are shown as a countdown."""
    kiosk_mode: bool = True
    """Lock the kiosk: no key a student can press quits or suspends it."""
    allow_plain_cards: bool = False
    """Accept plain numeric patron numbers as cards (an older library's barcodes)."""
    given_names_only: bool = False
    """The kiosk's pages show only a child's given name (晨曦, not 张晨曦), for privacy."""
    scanner_max_gap_ms: float = 60.0
    """Keys closer than this (median) followed by Enter come from a barcode scanner."""
    bell: bool = True
    """Ring the terminal bell when the camera reads a code."""
    camera: str = "0"
    """The webcam: a device index ("0"), a device path ("/dev/video2"), a stream URL (a
    phone's MJPEG stream, "http://192.168.1.23:8080/video"), "sim" for the simulated
    camera, or "off" for none (a keyboard-wedge scanner only)."""
    sync_interval: float = 5.0
    """Seconds between syncs with the desk (a kiosk that has joined one)."""
    sync_connect_timeout: float = 5.0
    """Seconds to reach a PostgreSQL desk and sign in."""
    sync_reply_timeout: float = 20.0
    """Seconds the desk may stay silent while the kiosk waits for its answer (also the
    desk's time limit for one statement)."""
    sync_deadline: float = 120.0
    """Seconds one whole sync may take; a longer catch-up goes on at the next sync."""
    visit_minutes: float = 40.0
    """A class visit ends by itself this many minutes after it started (one lesson)."""
    helper_idle_timeout: float = 120.0
    """Seconds without a scan or touch before helper mode ends (and the shift with it)."""
    export_dir: str = ""
    """Where the librarian's exports go; empty means "Library Kiosk" in the user's documents."""
    desk_idle_minutes: float = 10.0
    """``kiosk desk`` signs the librarian out after this many quiet minutes (0: never)."""
    log_file: str = ""
    """Where the log goes; empty means ``kiosk.log`` in the platform's log directory."""
    sound: bool = True
    """Answer a scan with a sound: done, refused, see the librarian."""
    sound_volume: float = 70.0
    """How loud the sounds are, in percent."""
    sound_player: str = ""
    """The command that plays a WAV file (``{file}`` stands for it, else it goes last);
    empty: the first of aplay, paplay, pw-play and ffplay found on PATH."""
    receipt_printer: str = ""
    """An ESC/POS receipt printer: empty (none), ``usb:VENDOR:PRODUCT`` (hex ids),
    ``network:HOST[:PORT]`` or ``file:/dev/usb/lp0`` (any file or device)."""
    source: Path | None = field(default=None, compare=False)
    """The file these settings were read from, if any."""
    language_given: bool = field(default=False, compare=False)
    """Whether the settings name the language (``[kiosk] language``); when they do not,
    the command line speaks the system's (:func:`command_language`)."""

    @property
    def database_url(self) -> str:
        """The database as a URL, with the default file filled in."""
        value = self.database or str(data_dir() / "kiosk.sqlite")
        if "://" in value:
            return value
        return "sqlite:///" + str(Path(value).expanduser().resolve())

    @property
    def log_path(self) -> Path:
        """The log file's path, with the default filled in."""
        return Path(self.log_file).expanduser() if self.log_file else log_dir() / "kiosk.log"

    @property
    def printer(self) -> PrinterAddress | None:
        """The receipt printer (checked when the settings were read), or ``None``."""
        try:
            return parse_printer(self.receipt_printer)
        except ValueError:
            return None

    @property
    def desk_timeouts(self) -> DeskTimeouts:
        """The bounds on every conversation with the desk (``[sync]``)."""
        from kiosk.data.core.network import DeskTimeouts

        return DeskTimeouts(
            connect=self.sync_connect_timeout, reply=self.sync_reply_timeout,
            deadline=self.sync_deadline,
        )

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with some settings changed (for the command line and the demo)."""
        return replace(self, **changes)


_SECTIONS = {
    "database": {"url": "database"},
    "kiosk": {
        "id": "kiosk_id",
        "language": "language",
        "idle_timeout": "idle_timeout",
        "countdown": "countdown",
        "kiosk_mode": "kiosk_mode",
        "allow_plain_cards": "allow_plain_cards",
        "given_names_only": "given_names_only",
        "log_file": "log_file",
    },
    "scanner": {"max_gap_ms": "scanner_max_gap_ms"},
    "camera": {"device": "camera", "bell": "bell"},
    "sync": {
        "interval": "sync_interval",
        "connect_timeout": "sync_connect_timeout",
        "reply_timeout": "sync_reply_timeout",
        "deadline": "sync_deadline",
    },
    "export": {"folder": "export_dir"},
    "desk": {"idle_minutes": "desk_idle_minutes"},
    "roles": {"visit_minutes": "visit_minutes", "helper_idle_timeout": "helper_idle_timeout"},
    "sound": {"enabled": "sound", "volume": "sound_volume", "player": "sound_player"},
    "receipt": {"printer": "receipt_printer"},
}


RANGES: dict[str, tuple[float, float, str]] = {
    "idle_timeout": (5, 3600, "seconds"),
    "countdown": (0, 600, "seconds"),
    "scanner_max_gap_ms": (1, 1000, "milliseconds"),
    "sync_interval": (1, 3600, "seconds"),
    "sync_connect_timeout": (1, 120, "seconds"),
    "sync_reply_timeout": (1, 600, "seconds"),
    "sync_deadline": (5, 3600, "seconds"),
    "visit_minutes": (1, 600, "minutes"),
    "helper_idle_timeout": (10, 3600, "seconds"),
    "desk_idle_minutes": (0, 1440, "minutes"),
    "sound_volume": (0, 100, "percent"),
}
"""The smallest and largest value of every number (inclusive) and its unit.

A zero or NaN interval made the sync loop spin and 1e309 (infinity in TOML) stopped
the sync thread: each number is refused outside its range, naming the setting.
"""

CHOICES: dict[str, tuple[str, ...]] = {"language": ("zh_CN", "en")}
"""The settings that take one of a few words."""


PRINTER_PORT = 9100
"""The port of a network receipt printer when none is given (raw printing, "JetDirect")."""


@dataclass(frozen=True)
class PrinterAddress:
    """Where the receipt printer is: ``usb`` (``vendor``, ``product``), ``network``
    (``host``, ``port``) or ``file`` (``path``: a file or a device such as /dev/usb/lp0)."""

    kind: str
    vendor: int = 0
    product: int = 0
    host: str = ""
    port: int = PRINTER_PORT
    path: str = ""


def parse_printer(value: str) -> PrinterAddress | None:
    """The printer ``[receipt] printer`` names (``None``: no printer).

    Raises:
        ValueError: not one of ``usb:VENDOR:PRODUCT`` (hex), ``network:HOST[:PORT]``,
            ``file:PATH``.
    """
    value = value.strip()
    if not value:
        return None
    kind, _, rest = value.partition(":")
    kind = kind.lower()
    if kind == "usb":
        vendor, _, product = rest.partition(":")
        return PrinterAddress("usb", vendor=int(vendor, 16), product=int(product, 16))
    if kind == "network":
        if rest.startswith("["):  # [IPv6]:port
            host, _, port = rest[1:].partition("]")
            port = port.removeprefix(":")
        else:
            host, _, port = rest.partition(":")
        number = int(port) if port else PRINTER_PORT
        if not host or not 0 < number < 65536:
            raise ValueError(value)
        return PrinterAddress("network", host=host, port=number)
    if kind == "file" and rest:
        return PrinterAddress("file", path=str(Path(rest).expanduser()))
    raise ValueError(value)


def _check_printer(file: Path, setting: str, value: str) -> None:
    """A receipt printer's address is one the printing can use."""
    try:
        parse_printer(value)
    except ValueError as error:
        raise ConfigError("config.bad_printer", file=file, setting=setting,
                          value=repr(value)) from error


def _check_player(file: Path, setting: str, value: str) -> None:
    """A player command splits into words as a shell would."""
    import shlex

    try:
        shlex.split(value)
    except ValueError as error:
        raise ConfigError("config.bad_player", file=file, setting=setting,
                          value=repr(value)) from error


CHECKS = {"receipt_printer": _check_printer, "sound_player": _check_player}
"""Settings whose words are checked further than their type."""


def default_config_path() -> Path:
    """Where the configuration is read from when nothing else is said."""
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env).expanduser() if env else config_dir() / "kiosk.toml"


def load_config(path: str | Path | None = None, *, missing_ok: bool = False) -> Config:
    """Read the settings from ``path`` (or the default place).

    A missing file at the default place means the defaults; a missing file that was
    named explicitly is an error unless ``missing_ok`` (``kiosk init`` writes it).

    Raises:
        ConfigError: the file exists but is not valid TOML, names a section or setting
            the kiosk does not know, or a value has the wrong type or is out of its
            range (:data:`RANGES`, :data:`CHOICES`).
    """
    file = Path(path).expanduser() if path else default_config_path()
    if not file.exists():
        if path and not missing_ok:
            raise ConfigError("config.not_found", file=file)
        return Config()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError("config.cannot_read", file=file, reason=error) from error
    for section in raw:
        if section not in _SECTIONS:
            raise ConfigError(
                "config.unknown_section", file=file, section=section,
                sections=", ".join(f"[{name}]" for name in _SECTIONS),
            )
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Config)}
    for section, keys in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError("config.not_table", file=file, section=section)
        for key, value in table.items():
            if key not in keys:
                raise ConfigError("config.unknown_setting", file=file, setting=f"{section}.{key}")
            name = keys[key]
            if name == "camera" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # device = 0 means the first webcam
            values[name] = _check_value(file, f"{section}.{key}", name, value, types[name])
    config = Config(source=file, language_given="language" in values, **values)
    if config.countdown > config.idle_timeout:
        raise ConfigError(
            "config.countdown_longer", file=file, countdown=_number(config.countdown),
            idle=_number(config.idle_timeout),
        )
    return config


def _check_value(file: Path, setting: str, name: str, value: Any, annotation: Any) -> Any:
    """``value`` as the setting ``name`` takes it, or a :class:`ConfigError` naming it."""
    expected = {"str": str, "bool": bool, "float": (int, float)}[str(annotation)]
    if (isinstance(value, bool) and annotation != "bool") or not isinstance(value, expected):
        raise ConfigError(
            "config.wrong_type", file=file, setting=setting, kind=annotation, value=repr(value)
        )
    if name in RANGES:
        low, high, unit = RANGES[name]
        if not (math.isfinite(value) and low <= value <= high):
            raise ConfigError(
                "config.out_of_range", file=file, setting=setting, low=_number(low),
                high=_number(high), unit=unit, value=_number(value),
            )
        return float(value)
    if name in CHECKS:
        CHECKS[name](file, setting, value)
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(
            "config.not_choice", file=file, setting=setting, value=repr(value),
            choices=", ".join(f'"{choice}"' for choice in CHOICES[name]),
        )
    return value


def _number(value: float) -> str:
    """A number as the settings file writes it (``45``, ``0.5``, ``nan``, ``inf``)."""
    return f"{value:g}"


def command_language(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The one language every ``kiosk`` command speaks on the terminal.

    The configured one (``[kiosk] language``); with none configured, the system's (the
    first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set: ``zh_TW.UTF-8`` speaks
    Chinese, ``en_GB.UTF-8`` English); with neither (``C``, another language), the
    kiosk's default.
    """
    if config.language_given and config.language in CHOICES["language"]:
        return config.language
    env = os.environ if environ is None else environ
    system = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    if system.lower().startswith("zh"):
        return "zh_CN"
    if system.lower().startswith("en"):
        return "en"
    return config.language if config.language in CHOICES["language"] else "zh_CN"


def write_config(path: Path, config: Config) -> None:
    """Write the settings a new kiosk needs to ``path`` (used by ``kiosk init``).

    The file is readable by its owner only (its new folders too): a database URL in it
    may hold a password.
    """
    from kiosk.data.core.files import open_private

    open_private(path)
    lines = [
        "# Library Kiosk settings",
        "[database]",
        f"url = {_toml_str(config.database_url)}",
        "",
        "[kiosk]",
        f"id = {_toml_str(config.kiosk_id)}",
        f"language = {_toml_str(config.language)}",
        f"idle_timeout = {config.idle_timeout}",
        f"kiosk_mode = {str(config.kiosk_mode).lower()}",
        f"allow_plain_cards = {str(config.allow_plain_cards).lower()}",
        f"given_names_only = {str(config.given_names_only).lower()}",
        "",
        "[camera]",
        "# a device index, a device path such as /dev/video2, a stream URL"
        " (a phone: http://...:8080/video), \"sim\" or \"off\"",
        f"device = {_toml_str(config.camera)}",
        f"bell = {str(config.bell).lower()}",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
