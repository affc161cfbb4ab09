"""QR codes and Code 128 barcodes drawn as vector shapes on a reportlab canvas."""

from __future__ import annotations

import logging

from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger(__name__)


def qr_matrix(payload: str, *, level: str = "M") -> list[list[bool]]:
    """The modules of ``payload``'s QR code (True is dark), without the quiet zone.

    zxing-cpp (already the decoder's engine) encodes a card in a fraction of a
    millisecond; the pure-Python ``qrcode`` package, used when it is missing, takes
    about 10 ms, which is most of the time of 2,000 cards.
    """
    try:
        import zxingcpp

        symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=level)
        image = symbol.to_image(scale=1, add_quiet_zones=False)
        import numpy as np

        return (np.asarray(image) < 128).tolist()  # type: ignore[no-any-return]
    except (ImportError, AttributeError, TypeError) as error:
        log.debug("zxing-cpp cannot encode QR codes here (%s); using qrcode", error)
    import qrcode
    from qrcode import constants

    levels = {
        "L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M,
        "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(error_correction=levels[level], border=0)
    code.add_data(payload)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, side: float, *,
            level: str = "M") -> None:
    """Draw ``payload`` as a QR code filling the square ``side`` at (x, y) (bottom left).

    The caller leaves the quiet zone (four modules) around it. Runs of dark modules
    are drawn as one rectangle each, which keeps a sheet of 2,000 cards small and fast.
    """
    matrix = qr_matrix(payload, level=level)
    count = len(matrix)
    module = side / count
    rects: list[str] = []
    for row_index, row in enumerate(matrix):
        top = y + side - (row_index + 1) * module
        start = None
        for col, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                rects.append(
                    f"{x + start * module:.3f} {top:.3f} {(col - start) * module:.3f} "
                    f"{module:.3f} re"
                )
                start = None
    path = canvas.beginPath()
    code = getattr(path, "_code", None)
    if isinstance(code, list):
        # reportlab formats every number in Python (slow without its C accelerator):
        # the rectangles go into the path's operators as formatted here.
        code.extend(rects)
    else:  # pragma: no cover - a reportlab without the list of operators
        for rect in rects:
            rx, ry, rw, rh, _ = rect.split()
            path.rect(float(rx), float(ry), float(rw), float(rh))
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)


def draw_code128(canvas: Canvas, text: str, x: float, y: float, width: float,
                 height: float) -> None:
    """Draw ``text`` as a Code 128 barcode in the box (x, y, width, height), centred,
    with quiet zones of ten modules."""
    from reportlab.graphics.barcode.code128 import Code128

    probe = Code128(text, barWidth=1, quiet=0)
    modules = probe.width  # width at one point per module
    bar = width / (modules + 20)
    symbol = Code128(text, barWidth=bar, barHeight=height, quiet=0)
    symbol.drawOn(canvas, x + (width - symbol.width) / 2, y)
