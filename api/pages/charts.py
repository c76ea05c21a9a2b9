"""Small charts drawn on the server as SVG, so the pages need no chart library.

Every mark carries ``data-label`` and ``data-value`` attributes: the figure
it shows can be read back by a test or a screen reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 760
PALETTE = (
    "#2f6f9f",
    "#e08a2c",
    "#4f9a5b",
    "#b8474b",
    "#7d62a8",
    "#8c6d4f",
    "#cf6fa6",
    "#7a7a7a",
    "#a6a637",
    "#3aa6b3",
)


def _svg(height: int, body: list[str], label: str) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", cls: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">'
        f"{escape(text)}</text>"
    )


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / 4
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = max(1, round(raw / magnitude)) * magnitude
    return [i * step for i in range(int(top // step) + 2)]


def _axes(top: float, height: int, left: int, bottom: int) -> tuple[list[str], float]:
    ticks = _ticks(top)
    scale_top = ticks[-1] or 1.0
    out = []
    for tick in ticks:
        y = bottom - (bottom - 20) * tick / scale_top
        out.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" ')
        out.append('class="grid"/>')
        out.append(_text(left - 6, y + 4, f"{tick:g}", anchor="end", cls="tick"))
    return out, scale_top


def line_chart(labels: Sequence[str], values: Sequence[float], *, label: str) -> Markup:
    """Return a line chart of one series over ``labels``."""
    height, left, bottom = 260, 48, 220
    body, top = _axes(max(values, default=0), height, left, bottom)
    step = (WIDTH - left - 45) / max(1, len(values) - 1)
    points = []
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step
        y = bottom - (bottom - 20) * value / top
        points.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="point" '
            f'data-label="{escape(name)}" data-value="{value:g}">'
            f"<title>{escape(name)}: {value:g}</title></circle>"
        )
        if i % max(1, len(labels) // 7) == 0:
            body.append(_text(x, bottom + 18, name, anchor="middle", cls="tick"))
    body.insert(0, f'<polyline class="line" points="{" ".join(points)}"/>')
    return _svg(height, body, label)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, label: str) -> Markup:
    """Return vertical bars, one per label, with the value above each."""
    height, left, bottom = 260, 48, 220
    body, top = _axes(max(values, default=0), height, left, bottom)
    slot = (WIDTH - left - 20) / max(1, len(values))
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        h = (bottom - 20) * value / top
        x = left + i * slot + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" class="bar" data-label="{escape(name)}" '
            f'data-value="{value:g}"><title>{escape(name)}: {value:g}</title></rect>'
        )
        body.append(
            _text(x + slot * 0.35, bottom - h - 4, f"{value:g}", anchor="middle")
        )
        body.append(
            _text(x + slot * 0.35, bottom + 18, name, anchor="middle", cls="tick")
        )
    return _svg(height, body, label)


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    label: str,
) -> Markup:
    """Return stacked vertical bars: one bar per label, one colour per series."""
    height, left, bottom = 300, 48, 220
    totals = [sum(s[1][i] for s in series) for i in range(len(labels))]
    body, top = _axes(max(totals, default=0), height, left, bottom)
    slot = (WIDTH - left - 20) / max(1, len(labels))
    for i, name in enumerate(labels):
        x, base = left + i * slot + slot * 0.2, float(bottom)
        for k, (part, values) in enumerate(series):
            h = (bottom - 20) * values[i] / top
            base -= h
            body.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.6:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}" '
                f'data-label="{escape(name)} {escape(part)}" '
                f'data-value="{values[i]:g}">'
                f"<title>{escape(part)}, week of {escape(name)}: {values[i]:g}</title>"
                "</rect>"
            )
        body.append(
            _text(x + slot * 0.3, bottom + 18, name, anchor="middle", cls="tick")
        )
    for k, (part, _) in enumerate(series):
        x, y = left + (k % 5) * 140, bottom + 40 + (k // 5) * 18
        body.append(
            f'<rect x="{x}" y="{y - 10}" width="10" height="10" '
            f'fill="{PALETTE[k % len(PALETTE)]}"/>'
        )
        body.append(_text(x + 14, y, part, cls="tick"))
    return _svg(height, body, label)


def share_bars(
    labels: Sequence[str], shares: Sequence[float | None], *, label: str
) -> Markup:
    """Return horizontal bars of shares between 0 and 1, labelled in percent."""
    row, left = 30, 170
    height = 20 + row * len(labels)
    body = []
    for i, (name, share) in enumerate(zip(labels, shares, strict=True)):
        y = 10 + i * row
        width = (WIDTH - left - 70) * (share or 0.0)
        text = "–" if share is None else f"{share:.1%}"
        body.append(_text(left - 8, y + 16, name, anchor="end"))
        body.append(
            f'<rect x="{left}" y="{y}" width="{WIDTH - left - 70}" height="20" '
            'class="track"/>'
        )
        body.append(
            f'<rect x="{left}" y="{y}" width="{width:.1f}" height="20" class="bar" '
            f'data-label="{escape(name)}" '
            f'data-value="{"" if share is None else share}"/>'
        )
        body.append(_text(left + width + 6, y + 15, text))
    return _svg(height, body, label)


def heatmap(
    groups: Sequence[str], counts: Sequence[Sequence[int]], *, label: str
) -> Markup:
    """Return a from-row to-column matrix; darker cells hold more hand-offs."""
    cell, left, top = 46, 130, 110
    size = len(groups)
    height = top + cell * size + 10
    peak = max((max(r) for r in counts if r), default=0) or 1
    body = []
    for j, name in enumerate(groups):
        x = left + j * cell + cell / 2
        body.append(
            f'<text transform="translate({x:.1f},{top - 6}) rotate(-45)" '
            f'class="tick">{escape(name)}</text>'
        )
    for i, source in enumerate(groups):
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, source, anchor="end", cls="tick"))
        for j, target in enumerate(groups):
            n = counts[i][j]
            alpha = 0.08 + 0.92 * n / peak if n else 0.0
            body.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="rgba(184,71,75,{alpha:.2f})" class="cell" '
                f'data-label="{escape(source)} → {escape(target)}" data-value="{n}">'
                f"<title>{escape(source)} → {escape(target)}: {n}</title></rect>"
            )
            if n:
                x = left + j * cell + cell / 2 - 1
                body.append(_text(x, y + cell / 2 + 3, str(n), anchor="middle"))
    return _svg(height, body, label)


def group_path(steps: Sequence[tuple[str, str, bool]], *, label: str) -> Markup:
    """Return a ticket's path through its groups; returns show as zig-zags.

    ``steps`` holds ``(when, group, after the replay moment)`` in time order;
    each group is a lane, in order of first visit.
    """
    lanes = list(dict.fromkeys(group for _, group, _ in steps))
    lane, left = 36, 150
    height = 50 + lane * max(1, len(lanes))
    step = (WIDTH - left - 30) / max(1, len(steps) - 1)
    body = []
    for k, name in enumerate(lanes):
        y = 30 + k * lane
        body.append(
            f'<line x1="{left}" x2="{WIDTH - 20}" y1="{y}" y2="{y}" class="grid"/>'
        )
        body.append(_text(left - 8, y + 4, name, anchor="end"))
    previous: tuple[float, float] | None = None
    for i, (when, group, later) in enumerate(steps):
        x, y = left + i * step, 30 + lanes.index(group) * lane
        cls = "hop later" if later else "hop"
        if previous is not None:
            body.append(
                f'<line x1="{previous[0]:.1f}" y1="{previous[1]}" x2="{x:.1f}" '
                f'y2="{y}" class="{cls}"/>'
            )
        body.append(
            f'<circle cx="{x:.1f}" cy="{y}" r="6" class="{cls}" '
            f'data-label="{escape(when)}" data-value="{escape(group)}">'
            f"<title>{escape(when)}: {escape(group)}</title></circle>"
        )
        previous = (x, y)
    return _svg(height, body, label)
