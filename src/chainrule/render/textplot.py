"""Compact terminal plots with Unicode block characters, so a student without TeX sees the shape.

`bars` draws one function as columns of eighth-blocks; `lines` draws several series on one grid,
one marker each, with an optional log scale. Both return plain strings (no colour, no terminal codes).
"""

from __future__ import annotations

import math
from typing import Sequence

from chainrule.numbers import axis_label

BLOCKS = " ▁▂▃▄▅▆▇█"
MARKERS = "●○◆◇▲△■□"




def bars(xs: Sequence[float], ys: Sequence[float], *, height: int = 8, marks: dict[int, str] | None = None,
         shade: Sequence[bool] | None = None, x_label: str = "", y_label: str = "") -> str:
    """One function as columns of eighth-blocks; `marks` puts a letter under chosen columns,
    `shade` draws '░' under the columns where it is true (e.g. where a step lowers the loss)."""
    smallest, high = min(ys), max(ys)
    low = smallest - (high - smallest) * 0.1 if high > smallest else smallest - 1.0  # room under the minimum
    span = (high - low) or 1.0
    levels = [round((y - low) / span * height * 8) for y in ys]
    rows = []
    for row in range(height, 0, -1):
        line = []
        for level in levels:
            filled = level - (row - 1) * 8
            line.append(BLOCKS[max(0, min(8, filled))])
        label = axis_label(high) if row == height else (axis_label(smallest) if row == 1 else "")
        rows.append(f"{label:>9} │{''.join(line)}")
    axis = " " * 9 + " └" + "─" * len(xs)
    rows.append(axis)
    if shade is not None:
        rows.append(" " * 11 + "".join("░" if s else " " for s in shade))
    if marks:
        rows.append(" " * 11 + "".join(marks.get(i, " ") for i in range(len(xs))))
    rows.append(" " * 11 + f"{axis_label(xs[0])}{x_label:^{max(1, len(xs) - len(axis_label(xs[0])) - len(axis_label(xs[-1])))}}{axis_label(xs[-1])}")
    if y_label:
        rows.insert(0, f"{'':>9}  {y_label}")
    return "\n".join(rows)


def lines(series: Sequence[tuple[str, Sequence[float]]], *, width: int = 51, height: int = 12,
          log: bool = True, x_label: str = "step") -> str:
    """Several series (label, values at x = 0, 1, 2, ...) on one grid, one marker each."""
    transform = (lambda v: math.log10(v)) if log else (lambda v: v)
    points = [[transform(max(v, 1e-300)) if log else v for v in values] for _, values in series]
    flat = [p for values in points for p in values]
    low, high = min(flat), max(flat)
    span = (high - low) or 1.0
    longest = max(len(values) for values in points)
    grid = [[" "] * width for _ in range(height)]
    for marker, values in zip(MARKERS, points):
        for x, value in enumerate(values):
            column = round(x / max(1, longest - 1) * (width - 1))
            row = height - 1 - round((value - low) / span * (height - 1))
            grid[row][column] = marker
    rows = []
    for r, row in enumerate(grid):
        value = high - r / (height - 1) * span
        label = axis_label(10 ** value if log else value) if r in (0, height // 2, height - 1) else ""
        rows.append(f"{label:>9} │{''.join(row)}")
    rows.append(" " * 9 + " └" + "─" * width)
    rows.append(" " * 11 + f"0{x_label:^{width - 1 - len(str(longest - 1))}}{longest - 1}")
    for marker, (label, _) in zip(MARKERS, series):
        rows.append(f"{'':>11}{marker} {label}")
    if log:
        rows.insert(0, f"{'':>9}  (log scale)")
    return "\n".join(rows)
