"""Question 7, computed: the loss after one step as an exact function of the learning rate η.

For ReLU and identity networks every node is a polynomial in η between the values of η at which
some sample's hidden unit changes ReLU region, so the loss after one step is piecewise polynomial.
From it we get, exactly: where the step lowers the loss, the best one-step η, and the region changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Sequence

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.algebraic import (
    ETA,
    approximation,
    exactly_less,
    is_root,
    minimal_polynomial,
    rational_between,
    roots_between,
    sort_key,
)
from chainrule.core.derivation import Derivation
from chainrule.core.losses import LOSSES
from chainrule.core.numerics import Evaluation
from chainrule.core.spec import Reduction
from chainrule.numbers import rational, rounded_rational

ANALYSIS_MAX_PARAMETERS = 60
_INFINITY = sp.oo


@dataclass(frozen=True)
class Piece:
    """The loss after one step on the open interval (start, end) of η."""

    start: sp.Expr
    end: sp.Expr  # sp.oo for the last piece
    loss: sp.Poly


@dataclass(frozen=True)
class RegionChange:
    sample: int  # 1-based
    unit: str  # the hidden unit's name, e.g. "h"
    eta: sp.Expr
    becomes: str  # "active" (z > 0) or "inactive" (z <= 0)


@dataclass(frozen=True)
class Best:
    eta: sp.Expr
    loss: sp.Expr


@dataclass(frozen=True)
class LearningRateAnalysis:
    available: bool
    reason: str
    pieces: tuple[Piece, ...] = ()
    region_changes: tuple[RegionChange, ...] = ()
    decrease: tuple[tuple[sp.Expr, sp.Expr], ...] = ()  # open intervals of η > 0 where the loss goes down
    best: Best | None = None
    initial_loss: sp.Expr = sp.Integer(0)
    slope_at_zero: sp.Expr = sp.Integer(0)  # d/dη of the loss at η = 0, which is −‖∇L‖²

    def loss_at(self, eta: sp.Expr) -> sp.Expr:
        """The exact loss after one step with learning rate eta (> 0)."""
        for piece in self.pieces:
            if not exactly_less(eta, piece.start) and not exactly_less(piece.end, eta):
                if eta.is_Rational:
                    return piece.loss.eval(eta)
                return sp.expand(piece.loss.as_expr().xreplace({ETA: eta}))
        raise ValueError("eta must be positive")


class _Function:
    """A piecewise polynomial in η on (0, ∞): sorted breakpoints and one polynomial per gap."""

    def __init__(self, breaks: tuple, polys: tuple):
        self.breaks, self.polys = breaks, polys

    @classmethod
    def constant(cls, value, slope=0) -> "_Function":
        """value + slope·η on all of (0, ∞)."""
        return cls((), (_line(value, slope),))

    def combine(self, other: "_Function", op) -> "_Function":
        breaks = tuple(sorted(set(self.breaks) | set(other.breaks), key=sort_key))
        return _Function(breaks, tuple(op(self.at(i, breaks), other.at(i, breaks)) for i in range(len(breaks) + 1)))

    def at(self, gap: int, breaks: tuple) -> sp.Poly:
        """The polynomial on gap `gap` of a finer breakpoint list."""
        midpoint = rational_between(*_gap(breaks, gap))
        index = sum(1 for b in self.breaks if exactly_less(b, midpoint))
        return self.polys[index]

    def relu(self, changes: list, sample: int, unit: str) -> "_Function":
        breaks, polys = [], []
        for index, poly in enumerate(self.polys):
            start, end = _gap(self.breaks, index)
            inner = roots_between(poly, start, end)
            edges = [start, *inner, end]
            for j in range(len(edges) - 1):
                positive = poly.eval(rational_between(edges[j], edges[j + 1])) > 0
                if j > 0 or index > 0:
                    breaks.append(edges[j])
                polys.append(poly if positive else _line(0))
        for k, b in enumerate(breaks):  # report only real changes of region
            before, after = polys[k].is_zero, polys[k + 1].is_zero
            if before != after:
                changes.append(RegionChange(sample, unit, b, "inactive" if after else "active"))
        return _Function(tuple(breaks), tuple(polys))


def _line(value, slope=0) -> sp.Poly:
    """value + slope·η as a polynomial over QQ, from its coefficients (reading an expression into a
    Poly costs ten times more)."""
    return sp.Poly([slope, value], ETA, domain="QQ")


def _gap(breaks: tuple, index: int) -> tuple:
    start = sp.Integer(0) if index == 0 else breaks[index - 1]
    end = breaks[index] if index < len(breaks) else _INFINITY
    return start, end


def analyse(derivation: Derivation, initial: Evaluation) -> LearningRateAnalysis:
    """Loss after one step as a function of η, with the decrease interval and the best η."""
    model = derivation.model
    unsupported = sorted({u.activation for u in model.units if not ACTIVATIONS[u.activation].learning_rate_analysis})
    if unsupported:
        covered = " and ".join(name for name, a in ACTIVATIONS.items() if a.learning_rate_analysis)
        return LearningRateAnalysis(False, f"exact η analysis covers {covered} layers, not {', '.join(unsupported)}")
    if model.spec.outputs != 1 or not LOSSES[model.spec.loss].learning_rate_analysis:
        return LearningRateAnalysis(False, "exact η analysis covers one output with a squared-error loss")
    if len(model.spec.sizes) > 3 or model.spec.parameter_count > ANALYSIS_MAX_PARAMETERS:
        return LearningRateAnalysis(False, "exact η analysis is limited to one hidden layer and "
                                    f"{ANALYSIS_MAX_PARAMETERS} parameters (the pieces multiply with depth)")
    theta = {p.symbol: _Function.constant(w, -g * m)  # w - η·g; a frozen parameter (m = 0) stays at its value
             for p, w, g, m in zip(model.parameters, initial.theta, initial.gradient, model.spec.step_mask)}
    changes: list[RegionChange] = []
    total = _Function.constant(0)
    for number, (x, y) in enumerate(zip(model.spec.x, model.spec.y), start=1):  # one output: y is a number
        values = dict(theta)
        values.update({n.symbol: _Function.constant(rational(v)) for n, v in zip(model.inputs, x)})
        values[model.target.symbol] = _Function.constant(rational(y))
        for unit in model.units:
            pre = values[unit.bias.symbol] if unit.bias is not None else _Function.constant(0)
            for weight, source in zip(unit.weights, unit.sources):
                pre = pre.combine(values[weight.symbol].combine(values[source.symbol], _mul), _add)
            values[unit.pre.symbol] = pre
            values[unit.out.symbol] = pre.relu(changes, number, unit.out.name) if unit.activation == "relu" else pre
        residual = values[model.prediction.symbol].combine(values[model.target.symbol], _sub)
        loss = residual.combine(residual, _mul)
        if model.spec.loss == "half_squared_error":
            loss = loss.combine(_Function.constant(sp.Rational(1, 2)), _mul)
        total = total.combine(loss, _add)
    if model.spec.reduction_samples is Reduction.MEAN:
        total = total.combine(_Function.constant(sp.Rational(1, len(model.spec.x))), _mul)
    pieces = tuple(Piece(*_gap(total.breaks, i), poly) for i, poly in enumerate(total.polys))
    initial_loss = pieces[0].loss.eval(0)
    slope = pieces[0].loss.diff(ETA).eval(0)
    return LearningRateAnalysis(
        True, "", pieces, tuple(sorted(changes, key=lambda c: sort_key(c.eta))),
        _decrease(pieces, initial_loss), _best(pieces, initial_loss), initial_loss, slope,
    )


def _add(a, b):
    return a + b


def _sub(a, b):
    return a - b


def _mul(a, b):
    return a * b


def _decrease(pieces: Sequence[Piece], initial_loss) -> tuple:
    """Maximal open intervals of η > 0 where the loss after one step is below the initial loss."""
    below: list[list] = []
    for piece in pieces:
        change = piece.loss - _line(initial_loss)
        edges = [piece.start]
        edges += roots_between(change, piece.start, piece.end)
        edges.append(piece.end)
        for a, b in zip(edges, edges[1:]):
            if change.eval(rational_between(a, b)) < 0:
                if below and below[-1][1] == a and a != 0 and not is_root(change, a):
                    below[-1][1] = b
                else:
                    below.append([a, b])
    return tuple((a, b) for a, b in below)


def _best(pieces: Sequence[Piece], initial_loss) -> Best | None:
    """The η > 0 with the lowest loss after one step (exact line search)."""
    candidates = []
    for piece in pieces:
        for root in roots_between(piece.loss.diff(ETA), piece.start, piece.end):
            candidates.append((root, piece.loss))
        if piece.end is not _INFINITY:
            candidates.append((piece.end, piece.loss))
    best = None
    for eta, poly in candidates:
        value = _value_at(poly, eta)
        if best is None or approximation(value) < approximation(best.loss):
            best = Best(eta, value)
    if best is None or not approximation(best.loss) < initial_loss:
        return None
    return best


def _value_at(poly: sp.Poly, eta) -> sp.Expr:
    """p(η) exactly; for an algebraic η, reduced modulo its minimal polynomial first."""
    if eta.is_Rational:
        return poly.eval(eta)
    return sp.expand(poly.rem(minimal_polynomial(eta)).as_expr().xreplace({ETA: eta}))


# ---------------------------------------------------------------- training curves

CURVE_STEPS = 50
EXACT_DIGITS = 400  # past this many digits in θ, a curve continues in floats
BLOW_UP_NUMBER = 1e40


class Trend(StrEnum):  # how a training curve ends, printed as its value
    DECREASES = "decreases"
    OSCILLATES = "oscillates"
    INCREASES = "increases"
    DIVERGES = "diverges"


@dataclass(frozen=True)
class Curve:
    """The loss over N gradient-descent steps with one learning rate."""

    label: str  # why this η was chosen
    eta: sp.Rational
    losses: tuple[sp.Expr, ...]  # losses[k] after k steps; exact while `exact_steps` allows
    exact_steps: int  # losses[:exact_steps + 1] are exact
    outcome: Trend


def _size(theta) -> int:
    """Digits in the largest numerator plus denominator (bit length is a cheap proxy)."""
    return max(max(abs(v.numerator).bit_length(), v.denominator.bit_length()) for v in theta) * 30103 // 100000


def training_curve(derivation: Derivation, eta: sp.Rational, label: str, steps: int = CURVE_STEPS,
                   trainers=None) -> Curve:
    """Train with rate η: exact fractions while θ stays small, then floats, from the same formulas."""
    from chainrule.core.compiled import FastTrainer

    exact, approximate = trainers or (FastTrainer(derivation, Fraction), FastTrainer(derivation, float))
    theta = [Fraction(v) for v in derivation.model.spec.init]
    mask = derivation.model.spec.step_mask  # frozen parameters stay at their initial value
    rate = Fraction(int(eta.p), int(eta.q))
    losses, exact_steps, diverged = [], -1, False
    try:
        while len(losses) <= steps and _size(theta) <= EXACT_DIGITS:
            loss, gradient = exact.loss_and_gradient(theta)
            losses.append(sp.Rational(loss.numerator, loss.denominator))
            exact_steps += 1
            if abs(loss) > BLOW_UP_NUMBER:
                return Curve(label, eta, tuple(losses), exact_steps, Trend.DIVERGES)
            theta = [w - rate * g if m else w for w, g, m in zip(theta, gradient, mask)]  # m is 1 or 0
        values, rate_float = [float(v) for v in theta], float(rate)
        while len(losses) <= steps:
            loss, gradient = approximate.loss_and_gradient(values)
            losses.append(sp.Float(loss, 15))
            if not loss < BLOW_UP_NUMBER:
                diverged = True
                break
            values = [w - rate_float * g * m for w, g, m in zip(values, gradient, mask)]
    except (OverflowError, ValueError, ZeroDivisionError):
        diverged = True
    return Curve(label, eta, tuple(losses), max(exact_steps, 0), _outcome(losses, diverged))


def _outcome(losses: list, diverged: bool) -> Trend:
    if diverged or losses[-1] > 100 * losses[0]:
        return Trend.DIVERGES
    tail = [sp.N(v, 30) for v in losses[-11:]]
    turns = sum(1 for a, b, c in zip(tail, tail[1:], tail[2:]) if (b - a) * (c - b) < 0)
    if turns >= len(tail) // 2:
        return Trend.OSCILLATES
    return Trend.DECREASES if losses[-1] < losses[0] else Trend.INCREASES


def chosen_rates(analysis: LearningRateAnalysis, spec_eta: sp.Rational) -> tuple[tuple[str, sp.Rational], ...]:
    """A handful of η that show the picture: too small, the spec's, the best, near the edge, past it."""
    rates = [("far too small", rounded_rational(spec_eta / 10, 1)), ("the spec's", spec_eta)]
    if analysis.best is not None:
        rates.append(("best one-step", rounded_rational(analysis.best.eta, 2)))
    if analysis.decrease and analysis.decrease[0][1] is not sp.oo:
        edge = analysis.decrease[0][1]
        rates.append(("near the edge", rounded_rational(edge * sp.Rational(9, 10), 2)))
    seen, unique = set(), []
    for label, eta in rates:
        if eta not in seen:
            seen.add(eta)
            unique.append((label, eta))
    return tuple(sorted(unique, key=lambda pair: pair[1]))


PAST_EDGE = (sp.Rational(3, 2), sp.Integer(2), sp.Integer(3), sp.Integer(5), sp.Integer(10))


def curves(derivation: Derivation, analysis: LearningRateAnalysis, spec_eta: sp.Rational,
           steps: int = CURVE_STEPS) -> tuple[Curve, ...]:
    """Curves for the chosen η, plus the smallest multiple of the edge that diverges or oscillates."""
    from chainrule.core.compiled import FastTrainer

    trainers = (FastTrainer(derivation, Fraction), FastTrainer(derivation, float))
    result = [training_curve(derivation, eta, label, steps, trainers) for label, eta in chosen_rates(analysis, spec_eta)]
    if analysis.decrease and analysis.decrease[0][1] is not sp.oo:
        edge, past = analysis.decrease[0][1], None
        for factor in PAST_EDGE:
            past = training_curve(derivation, rounded_rational(edge * factor, 2), "past the edge", steps, trainers)
            if past.outcome in (Trend.DIVERGES, Trend.OSCILLATES):
                break
        if all(c.eta != past.eta for c in result):
            result.append(past)
    return tuple(sorted(result, key=lambda c: c.eta))
