"""Exact numbers: forward pass, loss, δ's and gradients per sample, and gradient-descent steps.

Every number is computed from the node definitions and the δ recursion of the derivation,
evaluated in topological order with SymPy's exact arithmetic (Rationals; exact expressions
such as exp(-3) for smooth activations).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

import sympy as sp

from .derivation import Derivation
from .model import rational


@dataclass(frozen=True)
class SampleValues:
    """Everything the forward and backward pass compute for one sample (1-based `number`)."""

    number: int
    values: Mapping[str, sp.Expr]  # node and δ names -> exact value
    gradient: tuple[sp.Expr, ...]  # ∂L/∂w for this sample, in parameter order

    @property
    def prediction(self) -> sp.Expr:
        return self.values["y_hat"]

    @property
    def loss(self) -> sp.Expr:
        return self.values["L"]


@dataclass(frozen=True)
class Evaluation:
    """One pass over the dataset at parameters θ."""

    theta: tuple[sp.Expr, ...]
    samples: tuple[SampleValues, ...]
    loss: sp.Expr  # mean of the per-sample losses
    gradient: tuple[sp.Expr, ...]  # mean of the per-sample gradients


@dataclass(frozen=True)
class Training:
    """θ and the loss before and after each gradient-descent step."""

    learning_rate: sp.Rational
    evaluations: tuple[Evaluation, ...]  # evaluations[0] at the initial θ, then one per step

    @property
    def initial(self) -> Evaluation:
        return self.evaluations[0]

    @property
    def after_first(self) -> Evaluation:
        return self.evaluations[1]

    @property
    def final(self) -> Evaluation:
        return self.evaluations[-1]


def evaluate(derivation: Derivation, theta: Sequence[sp.Expr], *, loss_reduction: str = "mean",
             gradient_reduction: str = "mean") -> Evaluation:
    """Forward and backward pass on every sample of the spec's data, exactly.

    The reductions are "mean" (the homework's definition) or "sum" (a common mistake, for diagnosis).
    """
    model = derivation.model
    spec = model.spec
    samples = []
    for number, (x, y) in enumerate(zip(spec.x, spec.y), start=1):
        known: dict[sp.Symbol, sp.Expr] = {p.symbol: value for p, value in zip(model.parameters, theta)}
        known.update({node.symbol: rational(value) for node, value in zip(model.inputs, x)})
        known[model.target.symbol] = rational(y)
        for node in model.nodes:
            if node.definition is not None:
                known[node.symbol] = _exact(node.definition.xreplace(known))
        for unit in reversed(model.units):
            known[unit.delta.symbol] = _exact(derivation.delta_formula[unit.delta.name].xreplace(known))
        gradient = tuple(_exact(derivation.backprop[p.name].xreplace(known)) for p in model.parameters)
        names = {node.symbol: node.name for node in (*model.nodes, *model.deltas)}
        values = {names[symbol]: value for symbol, value in known.items()}
        samples.append(SampleValues(number, MappingProxyType(values), gradient))
    divide = {"mean": len(samples), "sum": 1}
    loss = _exact(sp.Add(*(s.loss for s in samples)) / divide[loss_reduction])
    gradient = tuple(_exact(sp.Add(*column) / divide[gradient_reduction])
                     for column in zip(*(s.gradient for s in samples)))
    return Evaluation(tuple(theta), tuple(samples), loss, gradient)


def train(derivation: Derivation, steps: int | None = None, learning_rate: sp.Rational | None = None, *,
          update_sign: int = -1, loss_reduction: str = "mean", gradient_reduction: str = "mean") -> Training:
    """Gradient descent θ ← θ − η∇L from the spec's initial parameters.

    `update_sign=+1` and the "sum" reductions reproduce common mistakes, for diagnosis.
    """
    spec = derivation.model.spec
    eta = rational(spec.learning_rate) if learning_rate is None else learning_rate
    theta = tuple(rational(v) for v in spec.init)
    reductions = {"loss_reduction": loss_reduction, "gradient_reduction": gradient_reduction}
    evaluations = [evaluate(derivation, theta, **reductions)]
    for _ in range(spec.steps if steps is None else steps):
        current = evaluations[-1]
        theta = tuple(_exact(w + update_sign * eta * g) for w, g in zip(current.theta, current.gradient))
        evaluations.append(evaluate(derivation, theta, **reductions))
    return Training(eta, tuple(evaluations))


def _exact(value: sp.Expr) -> sp.Expr:
    """Keep rationals as they are; bring exact irrational values into one canonical form."""
    if value.is_Rational:
        return value
    if value.has(sp.Piecewise):
        raise ValueError(f"a branch could not be decided at this point: {value}")
    return sp.nsimplify(value) if value.is_Float else sp.cancel(value) if value.has(sp.exp) else value


def decimal(value: sp.Expr, digits: int = 6) -> str:
    """A decimal for people: `2.855647`; exact integers and short decimals print without padding."""
    if value.is_Rational and value.q in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000):
        text = format(sp.Float(value, 30), f".{digits}f").rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    number = sp.N(value, 30)
    text = format(float(number), f".{digits}g") if abs(number) < 1e-4 else f"{float(number):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text
