"""The decoder reads real rendered codes back, through every engine, and never trips.

Codes are made by real generators (``qrcode``; python-barcode, else zxing-cpp's own
writer, for the barcodes), put into camera-like scenes (tilted, warped, blurred,
noisy, scaled) and read back by the real engines: nothing is mocked except the
missing libzbar of one test. Under ``CI=true`` a missing libzbar fails the tests.
"""

from __future__ import annotations

import io
import os
import time

import cv2
import numpy as np
import pytest
import qrcode
import segno

from kiosk.data.core.text import clean_code
from kiosk.devices import charsets, engines
from kiosk.devices import decoder as dec
from kiosk.devices.decoder import Decoder, Detection, code39_text, ean13_valid, load_image

CARD = "LK.2021060107.1.DS76WBHBGURY5JQ4"
ISBN = "9787020008735"


# -- making pictures -------------------------------------------------------------------


def qr_picture(data: str | bytes, box: int = 6) -> np.ndarray:
    """A clean QR code (gray, white quiet zone) made by the ``qrcode`` package."""
    code = qrcode.QRCode(box_size=box, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    return np.array(code.make_image().convert("L"), dtype=np.uint8)


def barcode_picture(kind: str, text: str) -> np.ndarray:
    """A clean EAN-13 or Code 128/39 barcode from a real generator (gray)."""
    try:
        import barcode
        from barcode.writer import ImageWriter
    except ImportError:
        barcode = None
    if barcode is not None:
        cls = {"ean13": barcode.EAN13, "code128": barcode.Code128, "code39": barcode.Code39}[kind]
        kwargs = {"add_checksum": False} if kind == "code39" else {}
        symbol = cls(text, writer=ImageWriter(), **kwargs)
        image = symbol.render(writer_options={"module_width": 0.6, "dpi": 127, "quiet_zone": 5})
        return np.array(image.convert("L"), dtype=np.uint8)
    zxingcpp = pytest.importorskip("zxingcpp", reason="neither python-barcode nor zxing-cpp")
    fmt = {"ean13": "EAN13", "code128": "Code128", "code39": "Code39Std"}[kind]
    symbol = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    line = np.array(symbol.to_image(scale=2, add_quiet_zones=True), dtype=np.uint8)[:1]
    return np.repeat(line, 80, axis=0)


def scene(
    code: np.ndarray,
    *,
    size: tuple[int, int] = (640, 480),
    angle: float = 0.0,
    warp: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
    scale: float = 1.0,
    centre: tuple[float, float] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``code`` on a textured background as a BGR camera frame, and its corners there."""
    rng = np.random.default_rng(seed)
    width, height = size
    ch, cw = code.shape
    src = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    cx, cy = centre or (width / 2, height / 2)
    matrix = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, scale)
    matrix[0, 2] += cx - cw / 2
    matrix[1, 2] += cy - ch / 2
    dst = cv2.transform(src[None], matrix)[0]
    dst += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * warp * max(cw, ch) * scale
    persp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    small = rng.normal(128, 40, (height // 40 + 2, width // 40 + 2)).astype(np.float32)
    back = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    card = cv2.warpPerspective(code.astype(np.float32), persp, (width, height), borderValue=0)
    mask = cv2.warpPerspective(np.ones_like(code, np.float32), persp, (width, height))
    frame = back * (1 - mask) + (30 + card * 0.8) * mask
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise:
        frame += rng.normal(0, noise, frame.shape).astype(np.float32)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), dst


def texts(found: list[Detection]) -> list[str]:
    """The texts of ``found``, in order."""
    return [d.text for d in found]


def inside(polygon: tuple[tuple[int, int], ...], corners: np.ndarray, slack: float) -> bool:
    """Whether every point of ``polygon`` lies within ``slack`` px of the code's quad."""
    quad = corners.reshape(-1, 1, 2).astype(np.float32)
    return all(cv2.pointPolygonTest(quad, (float(x), float(y)), True) > -slack for x, y in polygon)


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain() -> Decoder:
    """The kiosk's default chain (every installed engine)."""
    return Decoder()


def _engine(name: str) -> Decoder:
    """A decoder of engine ``name`` alone; libzbar missing fails under CI, else skips."""
    decoder = Decoder([name])
    if name in decoder.missing:
        if name == "zbar" and os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"libzbar is required in CI: {decoder.missing[name]}")
        pytest.skip(decoder.missing[name])
    return decoder


@pytest.fixture(scope="module", params=["zxing", "zbar", "opencv"])
def alone(request: pytest.FixtureRequest) -> Decoder:
    """Each engine on its own."""
    return _engine(request.param)


def test_libzbar_is_there_under_ci() -> None:
    """CI must have libzbar: the chain's second engine may not silently vanish."""
    decoder = Decoder()
    if os.environ.get("CI", "").lower() == "true":
        assert "zbar" in decoder.engines, decoder.missing
    elif "zbar" in decoder.missing:
        pytest.skip(decoder.missing["zbar"])
    assert decoder.engines[0] == "zxing"


# -- cards -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "warp", "blur", "noise", "scale"),
    [
        (0, 0, 0, 0, 1.0),
        (30, 0.05, 1.0, 6, 0.8),
        (45, 0.10, 1.5, 8, 0.7),
        (-80, 0.08, 0.8, 10, 0.6),
        (170, 0.12, 1.2, 6, 1.1),
        (12, 0.0, 2.0, 4, 1.4),
    ],
)
def test_a_card_is_read_tilted_warped_blurred_and_noisy(
    chain: Decoder, angle: float, warp: float, blur: float, noise: float, scale: float
) -> None:
    frame, corners = scene(
        qr_picture(CARD, box=5), angle=angle, warp=warp, blur=blur, noise=noise, scale=scale
    )
    found = chain.decode(frame)
    assert texts(found) == [CARD]
    assert found[0].symbology == "QR"
    assert found[0].engine in dec.ENGINES
    assert inside(found[0].polygon, corners, slack=12)


def test_each_engine_alone_reads_a_card(alone: Decoder) -> None:
    frame, corners = scene(qr_picture(CARD, box=5), angle=20, warp=0.04, blur=0.8, noise=4)
    found = alone.decode(frame)
    assert texts(found) == [CARD]
    assert found[0].engine == alone.engines[0]
    assert inside(found[0].polygon, corners, slack=12)


def test_a_small_card_in_a_big_photo_keeps_its_place(chain: Decoder) -> None:
    """Big photos are shrunk first; the corners still come back in the photo's pixels."""
    frame, corners = scene(
        qr_picture(CARD, box=12), size=(3000, 2000), angle=15, scale=1.0, centre=(2200, 600)
    )
    found = chain.decode(frame)
    assert texts(found) == [CARD]
    assert inside(found[0].polygon, corners, slack=20)
    assert min(x for x, _ in found[0].polygon) > 1500


def test_the_hint_reads_the_last_place_first_and_a_wrong_hint_costs_nothing(
    chain: Decoder,
) -> None:
    frame, corners = scene(qr_picture(CARD, box=4), centre=(480, 340), angle=10)
    right = chain.decode(frame, hint=[tuple(p) for p in corners])
    wrong = chain.decode(frame, hint=[(5, 5), (40, 5), (40, 40), (5, 40)])
    assert texts(right) == texts(wrong) == [CARD]
    assert inside(right[0].polygon, corners, slack=12)
    assert chain.decode(frame, hint=[(float("nan"), 0.0)]) == wrong


def test_the_first_step_runs_whatever_the_budget(chain: Decoder) -> None:
    frame, _ = scene(qr_picture(CARD, box=5))
    assert texts(Decoder(budget_ms=0).decode(frame)) == [CARD]


# -- book and label barcodes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "symbology"),
    [("ean13", ISBN, "EAN13"), ("code128", "T000123", "CODE128"), ("code39", "T000123", "CODE39")],
)
def test_book_and_label_barcodes_are_read(
    chain: Decoder, kind: str, text: str, symbology: str
) -> None:
    frame, corners = scene(barcode_picture(kind, text), angle=8, warp=0.03, blur=0.7, noise=4)
    found = chain.decode(frame)
    assert [(d.text, d.symbology) for d in found] == [(text, symbology)]
    assert inside(found[0].polygon, corners, slack=15)


def scratched_isbn() -> np.ndarray:
    """A small ISBN with two bars scratched off: the sharpened copy misreads it.

    It reads 9782613016654 (not 9784613056654), and that wrong ISBN's check digit
    holds. Found by searching generated scenes; kept as it is.
    """
    picture = barcode_picture("ean13", "9784613056654").copy()
    picture[:, 204:206] = 255
    picture[:, 82:83] = 255
    frame, _ = scene(picture, size=(480, 360), angle=3.187599054000895, blur=0.5238704487720547,
                     noise=10.801035733499276, scale=0.3885074587216632, seed=191)  # fmt: skip
    return frame


def test_a_barcode_read_once_by_one_preparation_is_not_a_read() -> None:
    """No false reads from a single picture: a barcode needs a second opinion."""
    frame = scratched_isbn()
    unchecked = Decoder(confirm=False, budget_ms=None).decode(frame)
    assert texts(unchecked) == ["9782613016654"]  # the misread this guards against
    assert Decoder(budget_ms=None).decode(frame) == []
    assert Decoder().decode(frame) == []
    kept = Decoder(keep_unconfirmed=True, budget_ms=None).decode(frame)
    assert [(d.text, d.confirmed) for d in kept] == [("9782613016654", False)]


def test_a_misread_beside_the_real_code_is_never_given_not_even_to_the_camera() -> None:
    """A book moving into view: zxing-cpp also reads 6786244931112 on its ISBN's label, frame
    after frame (so the next frame would agree); libzbar reads the real ISBN there."""
    from kiosk.devices.simulated.motion import make_sequence

    video = make_sequence("book", seed=509)
    frame = video.frames[13]
    old_chain = ("zxing", "zxing-sharp", "zxing-480", "zxing-median", "zxing-up2", "zbar")
    unchecked = Decoder(confirm=False, steps=old_chain, budget_ms=None).decode(frame)
    assert sorted(texts(unchecked)) == sorted([video.text, "6786244931112"])
    assert texts(Decoder(keep_unconfirmed=True, budget_ms=None).decode(frame)) == [video.text]


def test_barcodes_are_confirmed_and_qr_codes_need_no_second_opinion(chain: Decoder) -> None:
    frame, _ = scene(barcode_picture("ean13", ISBN), angle=25, noise=3)  # turned: upright step
    assert [(d.text, d.confirmed) for d in chain.decode(frame)] == [(ISBN, True)]
    card, _ = scene(qr_picture(CARD, box=4))
    assert [(d.text, d.confirmed) for d in chain.decode(card)] == [(CARD, True)]


def test_a_code128_with_accents_is_confirmed_though_libzbar_ignores_fnc4() -> None:
    """libzbar reads the bars of "Bibliothèque" as "Bibliothhque" (no FNC4): the same
    bars, so the same code (real-dev's code128-1/6.png is one)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    symbol = zxingcpp.create_barcode("Bibliothèque", zxingcpp.BarcodeFormat.Code128)
    line = np.array(symbol.to_image(scale=3, add_quiet_zones=True), dtype=np.uint8)[:1]
    frame, _ = scene(np.repeat(line, 90, axis=0), angle=4, noise=3)
    assert [(d.text, d.confirmed) for d in _engine("zbar").decode(frame)] != [
        ("Bibliothèque", True)
    ]
    assert [(d.text, d.confirmed) for d in Decoder(budget_ms=None).decode(frame)] == [
        ("Bibliothèque", True)
    ]


def test_each_engine_alone_reads_an_isbn(alone: Decoder) -> None:
    frame, _ = scene(barcode_picture("ean13", ISBN), angle=5, noise=3, scale=0.9)
    found = alone.decode(frame)
    assert [(d.text, d.symbology, d.engine) for d in found] == [(ISBN, "EAN13", alone.engines[0])]


@pytest.mark.parametrize("name", ["zxing", "zbar"])
def test_each_barcode_engine_alone_reads_a_label(name: str) -> None:
    decoder = _engine(name)
    frame, _ = scene(barcode_picture("code128", "T000123"), angle=-6, noise=3)
    assert [(d.text, d.symbology) for d in decoder.decode(frame)] == [("T000123", "CODE128")]


def test_a_six_digit_code39_label_is_never_taken_for_a_pharmacy_code(chain: Decoder) -> None:
    """566809 passes the Code 32 check digit: zxing-cpp alone would say A174268425."""
    frame, _ = scene(barcode_picture("code39", "566809"), noise=2)
    assert texts(chain.decode(frame)) == ["566809"]


def test_code39_text_reads_code32_only_where_it_cannot_be_a_label() -> None:
    assert code39_text("3PRM8N") == "A123456788"  # a real Code 32 (the corpus has one)
    assert code39_text("566809") == "566809"  # digits only: an accession number
    assert code39_text("3PRM8P") == "3PRM8P"  # check digit fails
    assert code39_text("T000123") == "T000123"  # not six characters
    assert code39_text("3PRM8A") == "3PRM8A"  # A is not in the Code 32 alphabet
    assert engines._code32_raw("A123456788") == "3PRM8N"


def test_ean13_check_digits() -> None:
    assert ean13_valid(ISBN)
    assert ean13_valid("9780201310054")
    assert not ean13_valid("9787020008736")
    assert not ean13_valid("978702000873")
    assert not ean13_valid("978702000873X")
    assert not ean13_valid("９７８７０２０００８７３５")  # full-width digits are digits to Python


# -- hostile payloads --------------------------------------------------------------------

HOSTILE = [
    pytest.param(b"LK.1\x00\x01\x02\x07\x08\x7f.X", id="control-bytes"),
    pytest.param(b"\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mRED\x1bc", id="escape-sequences"),
    pytest.param(("A quiet library. " * 121)[:2048].encode(), id="2kB-text"),
    pytest.param("借书卡 ✓".encode(), id="utf8"),
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_payloads_come_back_as_text(chain: Decoder, payload: bytes) -> None:
    box = 2 if len(payload) > 500 else 5
    frame, _ = scene(qr_picture(payload, box=box), size=(800, 800) if box == 2 else (640, 480))
    found = chain.decode(frame)
    assert texts(found) == [payload.decode("utf-8")]
    assert clean_code(found[0].text) is None  # the kiosk refuses it


@pytest.mark.parametrize("name", ["zxing", "zbar"])
def test_bytes_of_no_charset_come_back_as_text_the_kiosk_refuses(name: str) -> None:
    """Invalid in every charset: read as ISO-8859-1 (every byte kept), refused at the check."""
    payload = b"LK.\xff\xfe\xc3\x28.\x1b[2J\x80\x81"
    frame, _ = scene(qr_picture(payload, box=5))
    found = texts(_engine(name).decode(frame))
    assert found == [payload.decode("latin-1")]
    assert clean_code(found[0]) is None


# -- text in its maker's charset ---------------------------------------------------------

CHARSET_TEXTS = [
    ("utf-8", "借书卡 王小明 3年2班"),
    ("gb18030", "借书卡 王小明 三年二班"),
    ("gb18030", "鲁迅"),  # C2 B3 D1 B8: valid UTF-8 too ("³Ѹ")
    ("shift_jis", "図書カード 山田太郎"),
    ("big5", "借書證 王小明 三年二班"),
    ("iso-8859-1", "Bibliothèque Zoë Müller"),
]


def segno_picture(text: str, charset: str, eci: bool, mode: str | None = "byte") -> np.ndarray:
    """A QR code of ``text`` written in ``charset`` (with its ECI designator if ``eci``)."""
    code = segno.make_qr(text, encoding=charset, eci=eci, mode=mode, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=5, border=4)
    return cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)


@pytest.mark.parametrize("eci", [False, True], ids=["no-eci", "eci"])
@pytest.mark.parametrize(("charset", "text"), CHARSET_TEXTS)
@pytest.mark.parametrize("name", ["zxing", "zbar", "chain"])
def test_a_qr_code_comes_back_in_its_makers_charset(
    name: str, charset: str, text: str, eci: bool
) -> None:
    decoder = Decoder() if name == "chain" else _engine(name)
    frame, _ = scene(segno_picture(text, charset, eci), angle=12, blur=0.6, noise=3)
    assert texts(decoder.decode(frame)) == [text]


@pytest.mark.parametrize("name", ["zxing", "zbar"])
def test_kanji_mode_is_shift_jis(name: str) -> None:
    frame, _ = scene(segno_picture("図書カード 山田太郎", "shift_jis", False, mode=None))
    assert texts(_engine(name).decode(frame)) == ["図書カード 山田太郎"]


def test_a_card_in_gb18030_is_refused_at_the_kiosks_code_check(chain: Decoder) -> None:
    """Read right, and still not a code the kiosk takes: it holds no card's ASCII text."""
    frame, _ = scene(segno_picture("借书卡 王小明", "gb18030", False))
    assert texts(chain.decode(frame)) == ["借书卡 王小明"]
    assert clean_code("借书卡 王小明") is None


@pytest.mark.parametrize(("charset", "text"), [
    *CHARSET_TEXTS,
    ("gb18030", "草房子"), ("gb18030", "LK.张伟.3"), ("gb18030", "学号：20210601"),
    ("shift_jis", "こんにちは"), ("shift_jis", "東京都"), ("big5", "臺北市"), ("big5", "學生"),
    ("iso-8859-1", "Straße"), ("iso-8859-1", "ÉCOLE"), ("utf-8", "Привет"), ("utf-8", "Müller"),
])  # fmt: skip
def test_the_charset_guess(charset: str, text: str) -> None:
    assert charsets.guess(text.encode(charset))[0] == text


def test_eci_segments_are_read_each_in_its_charset() -> None:
    data = b"\\000029" + "借书".encode("gb18030") + b"\\000026" + "卡 a\\\\b".encode()
    assert charsets.qr_text(data, eci_escaped=True) == "借书卡 a\\b"
    assert charsets.split_eci(b"plain \\\\ text") is None
    assert charsets.qr_text(b"a\\b") == "a\\b"  # no ECI: a backslash is a backslash
    lying = b"\\000026" + "借书".encode("gb18030")  # says UTF-8, is not: guessed
    assert charsets.qr_text(lying, eci_escaped=True) == "借书"


# -- bad pictures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(None, id="none"),
        pytest.param("not a picture", id="string"),
        pytest.param(np.zeros((0, 0), np.uint8), id="empty"),
        pytest.param(np.zeros((1, 1), np.uint8), id="1x1"),
        pytest.param(np.zeros((1, 100, 3), np.uint8), id="1x100"),
        pytest.param(np.zeros((64, 64), np.float32), id="float"),
        pytest.param(np.zeros((4, 64, 64, 3), np.uint8), id="4d"),
        pytest.param(np.zeros((64, 64, 2), np.uint8), id="two-channels"),
        pytest.param(np.full((64, 64, 4), 255, np.uint8), id="bgra"),
        pytest.param(
            np.random.default_rng(1).integers(0, 256, (480, 640, 3), np.uint8), id="noise"
        ),
        pytest.param(np.zeros((480, 640, 3), np.uint8)[:, ::2], id="strided"),
    ],
)
def test_garbage_gives_nothing(chain: Decoder, image: object) -> None:
    assert chain.decode(image) == []  # type: ignore[arg-type]


def test_a_huge_blank_picture_gives_nothing_quickly(chain: Decoder) -> None:
    huge = np.full((6000, 8000, 3), 200, np.uint8)
    started = time.perf_counter()
    assert chain.decode(huge) == []
    assert time.perf_counter() - started < 2.0


def test_an_engine_that_raises_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = Decoder(budget_ms=None)  # on a busy machine the budget could skip libzbar

    def explode(
        gray: np.ndarray, quick: bool = False
    ) -> list[tuple[str, str, list[tuple[float, float]]]]:
        raise cv2.error("OpenCV(5.0.0) error: (-215:Assertion failed)")

    monkeypatch.setattr(decoder._engines["zxing"], "read", explode)
    frame, _ = scene(barcode_picture("code128", "T000123"))
    if "zbar" in decoder.engines:
        assert texts(decoder.decode(frame)) == ["T000123"]
    else:
        assert decoder.decode(frame) == []


def test_load_image_reads_files_and_refuses_garbage(tmp_path: pytest.TempPathFactory) -> None:
    good = tmp_path / "card.png"  # type: ignore[operator]
    cv2.imwrite(str(good), qr_picture(CARD))
    bad = tmp_path / "bad.jpg"  # type: ignore[operator]
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    image = load_image(good)
    assert image is not None and image.ndim == 3
    assert load_image(bad) is None
    assert load_image(tmp_path / "missing.png") is None  # type: ignore[operator]


# -- engines and their absence ----------------------------------------------------------


def test_engines_are_named_and_unknown_ones_refused() -> None:
    assert Decoder(["zxing"]).engines == ("zxing",)
    with pytest.raises(ValueError, match="unknown decoder engine"):
        Decoder(["tesseract"])
    with pytest.raises(ValueError, match="unknown decoder steps"):
        Decoder(steps=["zxing", "magic"])


def test_without_libzbar_the_others_read_and_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapper = pytest.importorskip("pyzbar.wrapper", reason="pyzbar is not installed")
    from pyzbar import zbar_library

    def no_library() -> None:
        raise ImportError("Unable to find zbar shared library")

    monkeypatch.setattr(wrapper, "LIBZBAR", None)
    monkeypatch.setattr(zbar_library, "load", no_library)
    decoder = Decoder()
    assert decoder.missing == {"zbar": "libzbar is not installed: sudo apt-get install libzbar0"}
    assert "zbar" not in decoder.engines and "zxing" in decoder.engines
    frame, _ = scene(qr_picture(CARD, box=5), angle=25)
    assert texts(decoder.decode(frame)) == [CARD]
