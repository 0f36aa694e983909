"""The overview's chart, drawn on the server as inline SVG data (bars stacked by state, one per hour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The order bars are stacked in (bottom first) and the CSS class that colours each state.
STACK = ["COMPLETED", "RUNNING", "PENDING", "SCHEDULED", "CANCELLING", "CANCELLED", "FAILED", "CRASHED"]
WIDTH = 960
HEIGHT = 220
BOTTOM = 20  # room for the hour labels
LEFT = 36  # room for the scale


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    state: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x, text (every 3rd hour)
    scale: list[tuple[float, str]]  # y, text
    peak: int
    total: int


def runs_chart(hours: list[str], series: dict[str, list[int]]) -> Chart:
    """Stacked bars of `series` (state -> count per hour) over `hours` (ISO starts of each hour, UTC)."""
    slots = len(hours)
    totals = [sum(series.get(state, [0] * slots)[i] for state in STACK) for i in range(slots)]
    peak = max(totals, default=0)
    top = max(peak, 1)
    plot = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / max(slots, 1)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, hour in enumerate(hours):
        x = LEFT + i * step
        label = f"{datetime.fromisoformat(hour):%H}:00"
        if i % 3 == 0:
            labels.append((x + step / 2, label))
        y = float(plot)
        for state in STACK:
            count = series.get(state, [0] * slots)[i]
            if not count:
                continue
            height = count / top * (plot - 8)
            y -= height
            bars.append(Bar(x + 1, y, step - 2, height, state, f"{label} UTC: {count} {state}"))
    scale = [(float(plot), "0"), (8.0, str(peak))] if peak else [(float(plot), "0")]
    return Chart(WIDTH, HEIGHT, bars, labels, scale, peak, sum(totals))
