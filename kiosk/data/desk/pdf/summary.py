"""The term summary: one page of figures and bar charts for the school's leaders."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kiosk.data.core.text import printable
from kiosk.data.desk.pdf.fonts import LATIN, Fonts, load_fonts
from kiosk.locale import t

log = logging.getLogger(__name__)

MAX_BARS = 72
"""The most bars a summary chart shows (a school of 12 grades x 6 classes)."""



@dataclass(frozen=True)
class Bar:
    """One bar of a summary chart: its label and value."""

    label: str
    value: float


@dataclass(frozen=True)
class Summary:
    """What the one-page term summary shows (already translated, plain values).

    ``figures`` are the headline (label, value) pairs; ``per_class``/``per_grade`` the
    loans per student bars, drawn against ``target``; ``at_target`` the share (0..1)
    of students who reached it; ``lists`` short ranked lists (heading, lines).
    """

    title: str
    period: str
    target: float
    target_label: str
    figures: Sequence[tuple[str, str]]
    per_class_title: str
    per_class: Sequence[Bar]
    per_grade_title: str
    per_grade: Sequence[Bar]
    at_target_title: str
    at_target: float
    at_target_labels: tuple[str, str]
    lists: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)


def _bar_chart(canvas: Canvas, fonts: Fonts, title: str, bars: Sequence[Bar], target: float,
               target_label: str, x: float, y: float, width: float, height: float) -> None:
    """A reportlab bar chart of ``bars`` with a dashed target line; labels drawn in runs."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, Line, String
    from reportlab.lib import colors

    fonts.draw(canvas, x, y + height - 4 * mm, title, 10, bold=True, width=width)
    if not bars:
        fonts.draw(canvas, x, y + height / 2, t("print.report.none"), 9, width=width)
        return
    shown = list(bars)[:MAX_BARS]
    if len(bars) > MAX_BARS:
        fonts.draw(canvas, x + width, y + height - 4 * mm, f"{MAX_BARS}/{len(bars)}", 8,
                   align="right")
    step = (width - 14 * mm) / len(shown)
    upright = step >= 10 * mm  # room to write each label under its bar; else turned
    plot_x, plot_y = 12 * mm, (14 if upright else 20) * mm
    plot_w, plot_h = width - plot_x - 2 * mm, height - plot_y - 9 * mm
    drawing = Drawing(width, height - 6 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = plot_x, plot_y, plot_w, plot_h
    chart.data = [[bar.value for bar in shown]]
    chart.categoryAxis.categoryNames = ["" for _ in shown]
    chart.categoryAxis.labels.fontSize = 1
    top = max([bar.value for bar in shown] + [target, 1.0]) * 1.1
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, top
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#4a7bb7")
    chart.bars[0].strokeColor = None
    if step >= 8 * mm:
        chart.barLabelFormat = "%.1f"
        chart.barLabels.fontName = LATIN
        chart.barLabels.fontSize = 6
        chart.barLabels.nudge = 5
    drawing.add(chart)
    if target > 0:
        line_y = plot_y + plot_h * target / top
        drawing.add(Line(plot_x, line_y, plot_x + plot_w, line_y, strokeColor=colors.red,
                         strokeDashArray=[3, 2], strokeWidth=0.8))
        drawing.add(String(plot_x + plot_w, line_y + 2, f"{target:g}", fontName=LATIN,
                           fontSize=7, fillColor=colors.red, textAnchor="end"))
    drawing.drawOn(canvas, x, y)
    step = plot_w / len(shown)
    for index, bar in enumerate(shown):
        centre = x + plot_x + step * (index + 0.5)
        if upright:
            fonts.draw(canvas, centre, y + plot_y - 4 * mm, bar.label, 7, width=step - 1,
                       align="centre")
        else:
            canvas.saveState()
            canvas.translate(centre + min(step, 7) / 3, y + plot_y - 1.5 * mm)
            canvas.rotate(90)
            fonts.draw(canvas, 0, 0, bar.label, min(6.5, step * 0.75), width=plot_y - 7 * mm,
                       align="right")
            canvas.restoreState()
    fonts.draw(canvas, x + plot_x, y + 2 * mm, target_label, 7, width=plot_w)


def _share_chart(canvas: Canvas, fonts: Fonts, title: str, share: float,
                 labels: tuple[str, str], x: float, y: float, width: float,
                 height: float) -> None:
    """A pie of the students who reached the target against those who did not."""
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    fonts.draw(canvas, x, y + height - 4 * mm, title, 10, bold=True, width=width)
    side = min(width * 0.45, height - 12 * mm)
    drawing = Drawing(side, side)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 0, 0, side, side
    share = min(max(share, 0.0), 1.0)
    pie.data = [share, 1 - share] if 0 < share < 1 else [1.0]
    colours = [colors.HexColor("#3c9d5d"), colors.HexColor("#d9d9d9")]
    if share == 0:
        colours = colours[1:]
    for index, colour in enumerate(colours[: len(pie.data)]):
        pie.slices[index].fillColor = colour
        pie.slices[index].strokeColor = colors.white
    pie.labels = None
    drawing.add(pie)
    drawing.drawOn(canvas, x, y + 2 * mm)
    legend_x = x + side + 5 * mm
    for index, (label, value, colour) in enumerate(
        ((labels[0], share, "#3c9d5d"), (labels[1], 1 - share, "#d9d9d9"))
    ):
        line_y = y + side - 8 * mm - index * 7 * mm
        canvas.setFillColor(colors.HexColor(colour))
        canvas.rect(legend_x, line_y - 0.5 * mm, 3 * mm, 3 * mm, stroke=0, fill=1)
        canvas.setFillGray(0)
        fonts.draw(canvas, legend_x + 5 * mm, line_y, f"{label} {value:.0%}", 9,
                   width=width - side - 10 * mm)


def render_summary(summary: Summary, out: Path | Any, *, font: str | None = None) -> None:
    """Draw the one-page term summary with its charts into the PDF ``out``."""
    fonts = load_fonts(font)
    page_w, page_h = A4
    canvas = Canvas(str(out) if isinstance(out, Path) else out, pagesize=A4, pageCompression=1)
    canvas.setTitle(printable(summary.title, 120))
    margin = 15 * mm
    inner = page_w - 2 * margin
    y = page_h - margin - 6 * mm
    fonts.draw(canvas, margin, y, summary.title, 17, bold=True, width=inner)
    y -= 7 * mm
    fonts.draw(canvas, margin, y, summary.period, 10, width=inner)
    # headline figures in a row of boxes
    y -= 18 * mm
    count = max(len(summary.figures), 1)
    box_w = inner / count
    for index, (label, value) in enumerate(summary.figures):
        bx = margin + index * box_w
        canvas.setStrokeGray(0.7)
        canvas.setLineWidth(0.5)
        canvas.rect(bx + 1 * mm, y - 2 * mm, box_w - 2 * mm, 15 * mm, stroke=1, fill=0)
        fonts.draw(canvas, bx + box_w / 2, y + 5.5 * mm, value, 14, bold=True,
                   width=box_w - 4 * mm, align="centre")
        fonts.draw(canvas, bx + box_w / 2, y, label, 7.5, width=box_w - 4 * mm, align="centre")
    # charts
    chart_h = 62 * mm
    y -= 6 * mm + chart_h
    _bar_chart(canvas, fonts, summary.per_class_title, summary.per_class, summary.target,
               summary.target_label, margin, y, inner, chart_h)
    y -= chart_h + 3 * mm
    half = inner / 2
    _bar_chart(canvas, fonts, summary.per_grade_title, summary.per_grade, summary.target,
               summary.target_label, margin, y, half - 3 * mm, chart_h)
    _share_chart(canvas, fonts, summary.at_target_title, summary.at_target,
                 summary.at_target_labels, margin + half + 3 * mm, y, half - 3 * mm, chart_h)
    # short lists side by side at the bottom
    lists = list(summary.lists)[:3]
    if lists:
        col_w = inner / len(lists)
        top = y - 8 * mm
        for index, (heading, lines) in enumerate(lists):
            lx = margin + index * col_w
            fonts.draw(canvas, lx, top, heading, 9.5, bold=True, width=col_w - 3 * mm)
            for n, line in enumerate(list(lines)[:10] or [t("print.report.none")]):
                line_y = top - (n + 1) * 4.6 * mm
                if line_y < margin:
                    break
                fonts.draw(canvas, lx, line_y, line, 7.5, width=col_w - 3 * mm)
    canvas.showPage()
    canvas.save()
