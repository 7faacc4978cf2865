"""Small bar charts as inline SVG, drawn here rather than by a script or a library.

An inline chart needs no script (the pages work without JavaScript and the CSP allows only our
own) and prints with the page. The colours come from classes in static/css/reports.css, never a
``style`` attribute (the CSP's ``style-src 'self'``). Each chart is an image with a title and a
description that reads out every bar; the page puts the same numbers in a table beside it.

Pure: markup from plain values.
"""

from __future__ import annotations

from markupsafe import Markup

from clinic.reports.figures import Chart

SLOT = 96  # horizontal room per bar, label included
BAR = 48
PLOT_HEIGHT = 140  # the tallest bar
TOP = 24  # room for the value above the tallest bar
LABEL_LINE = 15
LABEL_CHARS = 13  # a label wraps at about this many characters per line
SIDE = 12


def wrap(label: str, width: int = LABEL_CHARS) -> list[str]:
    """The label's words in lines of about ``width`` characters (a long word keeps its line)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def bar_heights(values: list[float], tallest: float = PLOT_HEIGHT) -> list[float]:
    """Heights in proportion to the values; the largest gets ``tallest``, zero gets none."""
    top = max((value for value in values if value > 0), default=0)
    return [round(tallest * value / top, 2) if top and value > 0 else 0.0 for value in values]


def description(chart: Chart) -> str:
    parts = [f"{bar.label}: {bar.shown}" for bar in chart.bars]
    return f"{chart.title} ({chart.unit}). " + ("; ".join(parts) if parts else "No data.") + "."


_SVG = Markup(
    '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
    'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
    'aria-labelledby="{title_id} {desc_id}">'
    '<title id="{title_id}">{title}</title><desc id="{desc_id}">{desc}</desc>'
)
_BAR = Markup(
    '<rect class="chart__bar" x="{x}" y="{y}" width="{width}" height="{height}"/>'
    '<text class="chart__value" x="{centre}" y="{value_y}" text-anchor="middle">{shown}</text>'
    '<text class="chart__label" text-anchor="middle">{lines}</text>'
)
_LINE = Markup('<tspan x="{x}" y="{y}">{text}</tspan>')
_AXIS = Markup('<line class="chart__axis" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"/></svg>')


def _number(value: float) -> str:
    return f"{value:g}"


def bar_chart(chart: Chart, chart_id: str) -> Markup:
    """A column chart of ``chart``'s bars; ``chart_id`` must be unique on the page.

    Every value reaches the markup through ``Markup.format``, which escapes it.
    """
    label_lines = max((len(wrap(bar.label)) for bar in chart.bars), default=1)
    width = SIDE * 2 + SLOT * max(len(chart.bars), 1)
    baseline = TOP + PLOT_HEIGHT
    height = baseline + 8 + LABEL_LINE * label_lines + 4
    parts = [
        _SVG.format(
            width=width,
            height=height,
            title_id=f"{chart_id}-title",
            desc_id=f"{chart_id}-desc",
            title=chart.title,
            desc=description(chart),
        )
    ]
    heights = bar_heights([bar.value for bar in chart.bars])
    for index, (bar, bar_height) in enumerate(zip(chart.bars, heights, strict=True)):
        centre = SIDE + SLOT * index + SLOT / 2
        lines = Markup("").join(
            _LINE.format(
                x=_number(centre), y=_number(baseline + 8 + LABEL_LINE * (n + 1) - 3), text=line
            )
            for n, line in enumerate(wrap(bar.label))
        )
        parts.append(
            _BAR.format(
                x=_number(centre - BAR / 2),
                y=_number(baseline - bar_height),
                width=BAR,
                height=_number(bar_height),
                centre=_number(centre),
                value_y=_number(baseline - bar_height - 6),
                shown=bar.shown,
                lines=lines,
            )
        )
    parts.append(_AXIS.format(x1=SIDE, x2=width - SIDE, y=baseline))
    return Markup("").join(parts)
