"""What question 7's pictures show, computed once for the PDF (pgfplots) and the terminal (text)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from chainrule.core.algebraic import exactly_less
from chainrule.core.learning_rate import Curve, LearningRateAnalysis
from chainrule.numbers import to_float
from chainrule.render.textplot import bars, lines

SAMPLES = 61


@dataclass(frozen=True)
class OneStepPlot:
    """The loss after one step, sampled exactly on a grid of η from 0 to `x_max`."""

    etas: tuple[sp.Rational, ...]
    losses: tuple[sp.Rational, ...]
    x_max: sp.Rational
    y_max: sp.Rational  # the view is clipped here so the interesting part stays visible
    shaded: tuple[tuple[sp.Expr, sp.Expr], ...]  # where one step lowers the loss, within the view
    spec: tuple[sp.Rational, sp.Expr]
    best: tuple[sp.Expr, sp.Expr] | None


def _nice(value) -> sp.Rational:
    """A round upper bound (1, 2 or 5 times a power of ten) at or above value."""
    number = to_float(value)
    power = 10 ** _decade(number)
    for factor in (1, 2, 5, 10):
        if factor * power >= number:
            return sp.Rational(factor) * sp.Rational(power)
    return sp.Rational(10 * power)


def _decade(number: float) -> int:
    """floor(log10(number)) for a positive float, decided exactly (not by SymPy's symbolic log)."""
    exact, decade = Fraction(number), math.floor(math.log10(number))
    while Fraction(10) ** decade > exact:
        decade -= 1
    while Fraction(10) ** (decade + 1) <= exact:
        decade += 1
    return decade


def one_step_plot(analysis: LearningRateAnalysis, spec_eta: sp.Rational, samples: int = SAMPLES) -> OneStepPlot:
    finite = [b for _, b in analysis.decrease if b is not sp.oo]
    reach = spec_eta  # the largest, compared exactly (SymPy would refine root objects again and again)
    for candidate in (*finite, *(() if analysis.best is None else (analysis.best.eta,))):
        reach = candidate if exactly_less(reach, candidate) else reach
    x_max = _nice(reach * sp.Rational(5, 4))
    etas = tuple(x_max * k / (samples - 1) for k in range(samples))
    losses = tuple(analysis.loss_at(eta) if eta > 0 else analysis.initial_loss for eta in etas)
    y_max = _nice(analysis.initial_loss * sp.Rational(3, 2))
    shaded = tuple((a, b if exactly_less(b, x_max) else x_max) for a, b in analysis.decrease if exactly_less(a, x_max))
    best = None if analysis.best is None else (analysis.best.eta, analysis.best.loss)
    return OneStepPlot(etas, losses, x_max, y_max, shaded, (spec_eta, analysis.loss_at(spec_eta)), best)


def _float(value) -> float:
    return to_float(value)


def text_pictures(plot: OneStepPlot, chosen: tuple[Curve, ...]) -> str:
    """Both of question 7's pictures as Unicode text."""
    xs = [_float(e) for e in plot.etas]
    ys = [min(_float(v), _float(plot.y_max)) for v in plot.losses]
    column = lambda eta: round(_float(eta) / _float(plot.x_max) * (len(xs) - 1))  # noqa: E731
    marks = {column(plot.spec[0]): "η"}
    if plot.best is not None:
        marks[column(plot.best[0])] = "*"
    shade = [any(_float(a) < x < _float(b) for a, b in plot.shaded) for x in xs]
    first = bars(xs, ys, marks=marks, shade=shade, x_label="η",
                 y_label=f"loss after one step (clipped at {_float(plot.y_max):g}); ░ lowers the loss, "
                         "η the spec's rate, * the best")
    cap = max(_float(c.losses[0]) for c in chosen) * 1e3 if chosen else 0.0
    series = [(f"η = {c.eta} ({c.label}): {c.outcome}", [min(_float(v), cap) for v in c.losses]) for c in chosen]
    second = (f"training curves (losses clipped at {cap:g})\n" + lines(series, log=True)) if series else ""
    return first + "\n\n" + second
