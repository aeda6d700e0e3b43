"""Small inline SVG charts for the load-test report: no plotting library, no scripts, so the
HTML file opens anywhere and can be mailed as it is.

    bar_chart    groups of bars (legacy vs plugin), each group with an optional limit drawn
                 as a dashed line across it (the budget)
    line_chart   series over time, a dashed series for a budget line
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 760
HEIGHT = 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 36, 84
LEGACY_COLOR = "#4e79a7"
PLUGIN_COLOR = "#f28e2b"
BUDGET_COLOR = "#e15759"
PROXY_COLOR = "#9c9c9c"
Y_STEPS = 5

Format = Callable[[float], str]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    color: str


@dataclass(frozen=True)
class BarGroup:
    label: str  # one line per line of text
    bars: Sequence[Bar]
    limit: float | None = None  # drawn across the group: the budget
    limit_label: str = ""


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]  # (x, y)
    color: str
    dashed: bool = False


def bar_chart(title: str, groups: Sequence[BarGroup], value_format: Format) -> str:
    top = _axis_top(max([b.value for g in groups for b in g.bars] + [g.limit or 0.0 for g in groups] + [0.0]))
    plot_w, plot_h = _plot_size()
    parts = [_open(title), *_y_axis(top, value_format)]
    slot = plot_w / max(len(groups), 1)
    for index, group in enumerate(groups):
        left = MARGIN_LEFT + index * slot
        bar_w = slot * 0.7 / max(len(group.bars), 1)
        for n, bar in enumerate(group.bars):
            x = left + slot * 0.15 + n * bar_w
            h = plot_h * bar.value / top
            y = MARGIN_TOP + plot_h - h
            tip = f"{group.label} {bar.label}: {value_format(bar.value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" height="{h:.1f}" '
                f'fill="{bar.color}"><title>{escape(tip)}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar_w * 0.45:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">'
                f"{escape(value_format(bar.value))}</text>"
            )
        if group.limit is not None:
            y = MARGIN_TOP + plot_h - plot_h * group.limit / top
            x1, x2 = left + slot * 0.08, left + slot * 0.92
            parts.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{BUDGET_COLOR}" stroke-width="2" stroke-dasharray="6 4">'
                f"<title>{escape(group.limit_label)}: {escape(value_format(group.limit))}</title></line>"
            )
        lines = "".join(
            f'<tspan x="{left + slot / 2:.1f}" dy="{0 if n == 0 else 13}">{escape(line)}</tspan>'
            for n, line in enumerate(group.label.splitlines())
        )
        parts.append(
            f'<text y="{HEIGHT - MARGIN_BOTTOM + 16}" font-size="10" text-anchor="middle">{lines}</text>'
        )
    legend = [(b.label, b.color, False) for b in (groups[0].bars if groups else [])]
    if any(g.limit is not None for g in groups):
        legend.append((next(g.limit_label for g in groups if g.limit is not None), BUDGET_COLOR, True))
    parts += _legend(legend)
    return "".join(parts) + "</svg>"


def line_chart(title: str, series: Sequence[Series], x_label: str, value_format: Format) -> str:
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    x_min, x_max = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_max = x_max if x_max > x_min else x_min + 1.0
    top = _axis_top(max([*ys, 0.0]))
    plot_w, plot_h = _plot_size()
    parts = [_open(title), *_y_axis(top, value_format)]
    for tick in _ticks(x_max - x_min):
        x = MARGIN_LEFT + plot_w * tick / (x_max - x_min)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 14}" font-size="10" text-anchor="middle">'
            f"{tick:g}</text>"
        )
    parts.append(
        f'<text x="{MARGIN_LEFT + plot_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 30}" font-size="11" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    for s in series:
        if not s.points:
            continue
        coordinates = " ".join(
            f"{MARGIN_LEFT + plot_w * (x - x_min) / (x_max - x_min):.1f},"
            f"{MARGIN_TOP + plot_h - plot_h * y / top:.1f}"
            for x, y in s.points
        )
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{s.color}" stroke-width="2"{dash}>'
            f"<title>{escape(s.label)}</title></polyline>"
        )
    parts += _legend([(s.label, s.color, s.dashed) for s in series])
    return "".join(parts) + "</svg>"


def _plot_size() -> tuple[float, float]:
    return WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM


def _open(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" role="img" aria-label="{escape(title)}">'
        f'<text x="{WIDTH / 2}" y="20" font-size="14" font-weight="bold" text-anchor="middle">'
        f"{escape(title)}</text>"
    )


def _y_axis(top: float, value_format: Format) -> list[str]:
    plot_w, plot_h = _plot_size()
    parts = []
    for step in range(Y_STEPS + 1):
        value = top * step / Y_STEPS
        y = MARGIN_TOP + plot_h - plot_h * step / Y_STEPS
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e0e0e0"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{escape(value_format(value))}</text>"
        )
    return parts


def _legend(entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    parts, x = [], float(MARGIN_LEFT)
    y = HEIGHT - 14
    for label, color, dashed in entries:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" '
            f'stroke-width="4"{dash}/><text x="{x + 27:.1f}" y="{y}" font-size="11">{escape(label)}</text>'
        )
        x += 40 + 6.5 * len(label)
    return parts


def _nice_step(value: float) -> float:
    """The round number (1, 2, 2.5, 3, 4 or 5 times a power of ten) at or above `value`."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 3, 4, 5, 10):
        if value <= step * magnitude * (1 + 1e-9):
            return step * magnitude
    return 10 * magnitude


def _axis_top(value: float) -> float:
    """The top of a y axis over values up to `value`: Y_STEPS round steps."""
    step = _nice_step(value / Y_STEPS)
    return step * Y_STEPS


def _ticks(span: float) -> list[float]:
    step = _nice_step(span / 6)
    return [step * n for n in range(int(span / step) + 1)]
