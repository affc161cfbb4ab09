"""The decoding engines behind the decoder, each behind one small interface.

zxing-cpp, libzbar (through pyzbar's ctypes binding, configured here) and OpenCV's
detectors each ``read`` a grayscale picture and give back ``(text, symbology,
corners)``. The checks every engine's text goes through live here too: EAN-13 check
digits, and Code 39 symbols that could be Italian pharmacy codes (Code 32). The chain
that decides which engine runs on which prepared picture is :mod:`kiosk.devices.decoder`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from kiosk.devices.charsets import qr_text

log = logging.getLogger(__name__)

ENGINES = ("zxing", "zbar", "opencv")
"""Every engine, in the chain's order."""

Read = tuple[str, str, list[tuple[float, float]]]
"""What an engine finds: the text, the symbology, the corners in the picture read."""


# -- checks on decoded text ------------------------------------------------------------


def ean13_valid(text: str) -> bool:
    """Whether ``text`` is 13 digits with a correct EAN-13 check digit.

    Every engine's EAN-13 goes through this: a barcode misread in one bar usually
    fails the check digit, and a wrong ISBN would be a false read.
    """
    if len(text) != 13 or not text.isascii() or not text.isdigit():
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(text[:12]))
    return (10 - total % 10) % 10 == int(text[12])


_CODE32_ALPHABET = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"


def _code32_check_ok(digits: str) -> bool:
    """The Italian pharmacy code's check digit (the ninth) over the first eight."""
    total = 0
    for i, c in enumerate(digits[:8]):
        value = int(c) * (2 if i % 2 else 1)
        total += value // 10 + value % 10
    return total % 10 == int(digits[8])


def code39_text(raw: str) -> str:
    """The text a Code 39 symbol stands for, given the characters in its bars.

    A six-character symbol in the Code 32 alphabet whose check digit holds is an
    Italian pharmacy code (Code 32): its text is ``"A"`` and nine digits, as the
    reference corpus and zxing-cpp have it. Symbols of digits only are never taken
    as Code 32, though their check digit holds one time in ten: six-digit accession
    numbers are common on library labels, and reading one as a pharmacy code would
    be a wrong read; a genuine Code 32 is all digits only one time in a thousand.
    Every engine's Code 39 text goes through here, so they all agree.
    """
    if len(raw) != 6 or raw.isdigit() or any(c not in _CODE32_ALPHABET for c in raw):
        return raw
    value = 0
    for c in raw:
        value = value * 32 + _CODE32_ALPHABET.index(c)
    digits = f"{value:09d}"
    if len(digits) != 9 or not _code32_check_ok(digits):
        return raw
    return "A" + digits


def _code32_raw(text: str) -> str | None:
    """The six bar characters of a Code 32 text ``A123456788`` (None if not one)."""
    if len(text) != 10 or text[0] != "A" or not text[1:].isdigit():
        return None
    value = int(text[1:])
    chars = []
    for _ in range(6):
        value, rest = divmod(value, 32)
        chars.append(_CODE32_ALPHABET[rest])
    return "".join(reversed(chars)) if value == 0 else None


# -- engines ---------------------------------------------------------------------------


class Engine:
    """One decoding library: ``read`` a gray picture, give (text, symbology, corners)."""

    name = ""

    def read(self, gray: np.ndarray, quick: bool = False) -> list[Read]:
        """Codes in ``gray`` with corners in ``gray``'s pixels (may raise; the chain guards).

        ``quick`` asks for a cheaper search where the engine has one (fallback steps,
        whose picture has already been looked at by the first step).
        """
        raise NotImplementedError


class _Zxing(Engine):
    """zxing-cpp: the best and cheapest reader of every symbology here."""

    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp

        self._zx = zxingcpp
        fmt = zxingcpp.BarcodeFormat
        self._formats = [fmt.QRCode, fmt.EAN13, fmt.Code128, fmt.Code39]
        self._symbology = {
            fmt.QRCode: "QR",
            fmt.EAN13: "EAN13",
            fmt.Code128: "CODE128",
            fmt.Code39: "CODE39",
            fmt.Code39Std: "CODE39",
            fmt.Code39Ext: "CODE39",
            fmt.Code32: "CODE39",
            fmt.PZN: "CODE39",
        }
        self._code32 = fmt.Code32

    def read(self, gray: np.ndarray, quick: bool = False) -> list[Read]:
        found = []
        for barcode in self._zx.read_barcodes(
            gray,
            formats=self._formats,  # type: ignore[arg-type]  # a list is accepted
            text_mode=self._zx.TextMode.HexECI,  # the bytes, with the QR's ECI if it has one
            try_invert=not quick,  # light-on-dark codes were looked for in the first step
            try_downscale=not quick,
        ):
            symbology = self._symbology.get(barcode.format)
            if symbology is None or not barcode.valid:
                continue
            if symbology == "QR":
                content = bytes.fromhex(barcode.text)  # "]Q2" + ECI-escaped bytes, or "]Q1" + bytes
                text = qr_text(content[3:], eci_escaped=content[:3] == b"]Q2")
            else:  # Code 128's extended characters are ISO-8859-1; the rest is ASCII
                text = bytes(barcode.bytes).decode("latin-1")
            if barcode.format == self._code32:
                raw = _code32_raw(text)
                text = code39_text(raw) if raw is not None else text
            p = barcode.position
            corners = [
                (float(p.top_left.x), float(p.top_left.y)),
                (float(p.top_right.x), float(p.top_right.y)),
                (float(p.bottom_right.x), float(p.bottom_right.y)),
                (float(p.bottom_left.x), float(p.bottom_left.y)),
            ]
            found.append((text, symbology, corners))
        return found


class _Zbar(Engine):
    """libzbar through pyzbar's ctypes binding, configured here rather than by pyzbar.

    Configured directly so that QR payloads come back as raw bytes, read by the same
    charset guess as zxing-cpp's (:func:`kiosk.devices.charsets.qr_text`: libzbar's
    own conversion reads GB18030 as Big5, measured), and so that a chain with
    zxing-cpp asks libzbar for the linear symbologies only (its QR reader found
    nothing zxing-cpp had missed, at a third of its cost).
    """

    name = "zbar"

    def __init__(self, *, qr: bool = True) -> None:
        from pyzbar import wrapper  # type: ignore[import-untyped]  # ImportError: no libzbar

        wrapper.load_libzbar()
        self._w = wrapper
        sym = wrapper.ZBarSymbol
        self._symbols = [sym.EAN13, sym.CODE128, sym.CODE39] + ([sym.QRCODE] if qr else [])
        self._names = {
            sym.QRCODE: "QR",
            sym.EAN13: "EAN13",
            sym.ISBN13: "EAN13",
            sym.CODE128: "CODE128",
            sym.CODE39: "CODE39",
        }
        self._binary = 4  # ZBAR_CFG_BINARY (libzbar >= 0.23): QR data as raw bytes

    def read(self, gray: np.ndarray, quick: bool = False) -> list[Read]:
        import ctypes

        w = self._w
        height, width = gray.shape
        data = gray.tobytes()
        scanner = w.zbar_image_scanner_create()
        try:
            w.zbar_image_scanner_set_config(scanner, 0, w.ZBarConfig.CFG_ENABLE, 0)
            for symbol in self._symbols:
                w.zbar_image_scanner_set_config(scanner, symbol, w.ZBarConfig.CFG_ENABLE, 1)
            w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.QRCODE, self._binary, 1)
            image = w.zbar_image_create()
            try:
                w.zbar_image_set_format(image, 0x30303859)  # fourcc "Y800": 8-bit gray
                w.zbar_image_set_size(image, width, height)
                pixels = ctypes.c_char_p(data)  # kept alive by ``data`` until destroyed
                w.zbar_image_set_data(image, ctypes.cast(pixels, ctypes.c_void_p), len(data), None)
                if w.zbar_scan_image(scanner, image) <= 0:
                    return []
                return self._symbols_of(image)
            finally:
                w.zbar_image_destroy(image)
        finally:
            w.zbar_image_scanner_destroy(scanner)

    def _symbols_of(self, image: Any) -> list[Read]:
        import ctypes

        w = self._w
        found = []
        symbol = w.zbar_image_first_symbol(image)
        while symbol:
            kind = self._names.get(symbol.contents.type)
            raw = ctypes.string_at(
                w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol)
            )
            if kind == "QR":  # libzbar gives the bytes but not the ECI: guessed
                text = qr_text(raw)
            else:
                text = raw.decode("latin-1")
            if kind == "CODE39":
                text = code39_text(text)
            corners = [
                (
                    float(w.zbar_symbol_get_loc_x(symbol, i)),
                    float(w.zbar_symbol_get_loc_y(symbol, i)),
                )
                for i in range(w.zbar_symbol_get_loc_size(symbol))
            ]
            if kind is not None:
                found.append((text, kind, corners))
            symbol = w.zbar_symbol_next(symbol)
        return found


class _OpenCV(Engine):
    """OpenCV's QR detector (ArUco-based) and its EAN barcode detector."""

    name = "opencv"

    def __init__(self) -> None:
        self._qr = cv2.QRCodeDetectorAruco()
        self._bars = cv2.barcode.BarcodeDetector()

    def read(self, gray: np.ndarray, quick: bool = False) -> list[Read]:
        found: list[Read] = []
        try:
            ok, texts, points, _ = self._qr.detectAndDecodeMulti(gray)
            if ok and points is not None:
                for text, corners in zip(texts, points):
                    if text:
                        found.append((text, "QR", [(float(c[0]), float(c[1])) for c in corners]))
        except (cv2.error, UnicodeDecodeError, ValueError) as error:
            log.debug("opencv QR detector failed: %s", error)
        try:
            ok, texts, kinds, points = self._bars.detectAndDecodeWithType(gray)
            if ok and points is not None:
                for text, kind, corners in zip(texts, kinds, points):
                    if text and kind == "EAN_13":
                        found.append((text, "EAN13", [(float(c[0]), float(c[1])) for c in corners]))
        except (cv2.error, UnicodeDecodeError, ValueError) as error:
            log.debug("opencv barcode detector failed: %s", error)
        return found


def load_engine(name: str, names: Sequence[str]) -> tuple[Engine | None, str | None]:
    """The engine ``name`` ready to use, or None and a hint how to install it."""
    try:
        if name == "zxing":
            return _Zxing(), None
        if name == "zbar":
            return _Zbar(qr="zxing" not in names), None
        if name == "opencv":
            return _OpenCV(), None
    except ImportError as error:
        log.debug("engine %s unavailable: %s", name, error)
        if name == "zbar":
            if importlib.util.find_spec("pyzbar") is None:
                return None, "pyzbar is not installed: pip install pyzbar"
            return None, "libzbar is not installed: sudo apt-get install libzbar0"
        if name == "zxing":
            return None, "zxing-cpp is not installed: pip install zxing-cpp"
        return None, f"{name} is not available: {error}"
    except (AttributeError, cv2.error, OSError) as error:
        log.debug("engine %s unavailable: %s", name, error)
        if name == "opencv":
            return None, "OpenCV's detectors are missing: pip install opencv-python-headless"
        return None, f"{name} is not available: {error}"
    raise ValueError(f"unknown decoder engine {name!r}; known: {', '.join(ENGINES)}")
