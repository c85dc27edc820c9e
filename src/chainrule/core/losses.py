"""Every loss chainrule knows, one record each: the only place a loss is defined.

A record holds the per-sample loss in SymPy (summed over the outputs), how the sheet writes it,
what the output layer and the targets must be, and what the prover, the learning-rate analysis,
the mistake catalogue and the variants know about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import sympy as sp

from chainrule.core.activations import Option
from chainrule.numbers import rational

Pairs = Sequence[tuple[sp.Expr, sp.Expr]]  # (prediction, target) per output
# (prediction as printed, target's value, target as printed) per output: what the sheet substitutes
Filled = Sequence[tuple[str, sp.Expr, str]]


class Targets(StrEnum):
    """What a loss's targets must be."""

    REAL = "real"  # any number
    PROBABILITY = "probability"  # a number in [0, 1]
    DISTRIBUTION = "distribution"  # a one-hot vector (or a class index), or one summing to 1


@dataclass(frozen=True)
class LossKind:
    """One loss: its definition and printed form, its pairing rules and what the engine supports."""

    name: str  # the spec's word, e.g. "squared_error"
    define: Callable[[Pairs, Mapping[str, Fraction]], sp.Expr]
    latex: Callable[[Sequence[tuple[str, str]], str], str]  # (prediction, target) LaTeX pairs, L -> "L = ..."
    working: Callable[[Filled], str]  # one sample's loss with its numbers in, as the sheet writes it
    plain_name: str
    options: tuple[Option, ...] = ()
    output_activation: str | None = None  # the output layer it requires (sigmoid, softmax), if any
    min_outputs: int = 1
    max_outputs: int | None = None
    targets: Targets = Targets.REAL
    residual_factor: int | None = None  # δ of an identity output = factor · (ŷ − y): 2, 1, or None
    kinked: bool = False  # a kink where ŷ = y (variants keep away from it)
    piecewise_polynomial: bool = False  # polynomial in ŷ on each side of its kinks
    learning_rate_analysis: bool = False  # the exact one-step analysis in η covers it (one output)
    cancels_output: bool = False  # with its output activation, δ of the output's z is ŷ − y

    def defaults(self) -> dict[str, Fraction]:
        return {o.name: o.default for o in self.options}

    def definition(self, pairs: Pairs, options: Mapping[str, Fraction] | None = None) -> sp.Expr:
        return self.define(pairs, {**self.defaults(), **dict(options or {})})


def _squared(pairs, options):
    return sp.Add(*((p - t) ** 2 for p, t in pairs))


def _absolute(pairs, options):
    at_zero = rational(options["derivative_at_zero"])
    return sp.Add(*(sp.Piecewise((t - p, p - t < 0), (at_zero * (p - t), sp.Eq(p - t, 0)), (p - t, True))
                    for p, t in pairs))


def _binary_cross_entropy(pairs, options):
    (p, t), = pairs
    return -(t * sp.log(p) + (1 - t) * sp.log(1 - p))


def _squared_latex(half: bool):
    def latex(pairs, loss):
        body = " + ".join(rf"\left({p} - {t}\right)^2" for p, t in pairs)
        if not half:
            return f"{loss} = {body}"
        return rf"{loss} = \frac{{1}}{{2}}" + (f"({body})" if len(pairs) > 1 else body)
    return latex


def _squared_working(half: bool):
    def working(filled):
        body = " + ".join(rf"\left({q} - {t}\right)^2" for q, _, t in filled)
        return (r"\tfrac{1}{2}" + (rf"\bigl[{body}\bigr]" if len(filled) > 1 else body)) if half else body
    return working


def _bce_working(filled):
    (q, y, t), = filled
    if y == 1:
        return rf"-\ln {q}"
    if y == 0:
        return rf"-\ln\left(1 - {q}\right)"
    return rf"-\left[{t} \ln {q} + (1 - {t}) \ln\left(1 - {q}\right)\right]"


def _cross_entropy_working(filled):
    terms = [rf"-\ln {q}" if y == 1 else rf"- {t} \ln {q}" for q, y, t in filled if y != 0]
    return " ".join(terms) if terms else "0"


_SIGN_AT_ZERO = Option("derivative_at_zero", Fraction(0), lambda d: d in (-1, 0, 1),
                       "expected -1, 0 or 1 (the sign's value at zero)")

LOSSES: Mapping[str, LossKind] = MappingProxyType({loss.name: loss for loss in (
    LossKind("squared_error", _squared, _squared_latex(False), _squared_working(False), "squared error",
             residual_factor=2,
             piecewise_polynomial=True, learning_rate_analysis=True),
    LossKind("half_squared_error", lambda pairs, o: _squared(pairs, o) / 2, _squared_latex(True),
             _squared_working(True), "half squared error", residual_factor=1, piecewise_polynomial=True, learning_rate_analysis=True),
    LossKind("absolute_error", _absolute,
             lambda pairs, loss: f"{loss} = " + " + ".join(rf"\left|{p} - {t}\right|" for p, t in pairs),
             lambda filled: " + ".join(rf"\left|{q} - {t}\right|" for q, _, t in filled), "absolute error", (_SIGN_AT_ZERO,), kinked=True, piecewise_polynomial=True),
    LossKind("binary_cross_entropy", _binary_cross_entropy,
             lambda pairs, loss: rf"{loss} = -\left[{pairs[0][1]} \ln {pairs[0][0]} + "
                                 rf"(1 - {pairs[0][1]}) \ln (1 - {pairs[0][0]})\right]",
             _bce_working, "binary cross-entropy", output_activation="sigmoid", max_outputs=1, targets=Targets.PROBABILITY,
             cancels_output=True),
    LossKind("softmax_cross_entropy", lambda pairs, o: -sp.Add(*(t * sp.log(p) for p, t in pairs)),
             lambda pairs, loss: f"{loss} = -" + " - ".join(rf"{t} \ln {p}" for p, t in pairs),
             _cross_entropy_working, "cross-entropy", output_activation="softmax", min_outputs=2, targets=Targets.DISTRIBUTION,
             cancels_output=True),
)})


def kind(name: str) -> LossKind:
    """The record of a loss named in a spec."""
    return LOSSES[name]
