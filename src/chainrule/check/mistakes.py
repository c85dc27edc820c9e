"""The catalogue of classic backpropagation mistakes, built by mutating the model's derivation.

Each mistake recomputes the whole homework (predictions, loss, gradients, update, new loss) the
wrong way, for any spec, so a wrong number can be matched to the mistake that produces it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import sympy as sp

from chainrule.check.answers import prediction_keys
from chainrule.core.activations import ACTIVATIONS
from chainrule.core.derivation import Derivation
from chainrule.core.losses import LOSSES
from chainrule.core.model import Model, Unit
from chainrule.core.numerics import Training, train


@dataclass(frozen=True)
class Mistake:
    id: str
    description: str


CATALOGUE = (
    Mistake("missing-factor-2", "δŷ taken as ŷ − y, without the factor 2 of the squared error"),
    Mistake("residual-sign", "δŷ taken as 2(y − ŷ): the residual's sign is flipped"),
    Mistake("relu-derivative", "the ReLU derivative g′ is wrong for some sample (1 where z ≤ 0, or 0 where z > 0)"),
    Mistake("missing-downstream-weight", "the hidden δ is missing the downstream weight"),
    Mistake("loss-sum-not-mean", "the loss is summed over the samples instead of averaged"),
    Mistake("gradient-sum-not-mean", "the gradient is summed over the samples instead of averaged"),
    Mistake("update-sign", "the update adds the gradient: θ + η∇ instead of θ − η∇"),
    Mistake("rounding", "the right value, given with too few digits"),
    Mistake("carried-error", "wrong, but it follows correctly from an earlier wrong answer"),
)
DESCRIPTIONS: Mapping[str, str] = MappingProxyType({m.id: m.description for m in CATALOGUE})


def answer_values(model: Model, training: Training) -> dict[str, sp.Expr]:
    """Every numeric answer key of an answers file, computed from one training run."""
    initial, after = training.initial, training.after_first
    names = [p.name for p in model.parameters]
    values: dict[str, sp.Expr] = {}
    for sample in initial.samples:
        for key, prediction in zip(prediction_keys(model.spec, sample.number), sample.predictions):
            values[key] = prediction
    values["loss"] = initial.loss
    for name, g in zip(names, initial.gradient):
        values[f"gradient.{name}"] = g
    for sample in initial.samples:
        for name, g in zip(names, sample.gradient):
            values[f"sample_gradient.{sample.number}.{name}"] = g
    for name, w in zip(names, after.theta):
        values[f"updated.{name}"] = w
    values["new_loss"] = after.loss
    return values


def _run(derivation: Derivation, **options) -> Training:
    return train(derivation, steps=1, **options)


def _with_deltas(derivation: Derivation, change: Callable[[Unit, sp.Expr], sp.Expr]) -> Derivation:
    formulas = {u.delta.name: change(u, derivation.delta_formula[u.delta.name]) for u in derivation.model.units}
    return dataclasses.replace(derivation, delta_formula=MappingProxyType(formulas))


def _output_delta(derivation: Derivation, make: Callable[[sp.Expr, sp.Expr], sp.Expr]) -> Derivation:
    """Replace every (identity) output unit's δ by a wrong residual."""
    model = derivation.model
    wrong = {u.delta.name: make(u.out.symbol, t.symbol) for u, t in zip(model.output_units, model.targets)}
    return _with_deltas(derivation, lambda u, f: wrong.get(u.delta.name, f))


def _relu_derivative(derivation: Derivation, wrong: sp.Expr | Callable) -> Derivation:
    def change(unit: Unit, formula: sp.Expr) -> sp.Expr:
        if unit.is_output or unit.activation != "relu":
            return formula
        right = ACTIVATIONS["relu"].derivative(dict(unit.options))(unit.pre.symbol)
        return formula.xreplace({right: wrong(unit.pre.symbol) if callable(wrong) else wrong})
    return _with_deltas(derivation, change)


def _without_downstream_weights(derivation: Derivation) -> Derivation:
    model = derivation.model
    downstream = {w.symbol: 1 for u in model.units if u.layer > 1 for w in u.weights}
    return _with_deltas(derivation, lambda u, f: f if u.is_output else f.xreplace(downstream))


def variants(derivation: Derivation) -> tuple[tuple[str, Training], ...]:
    """(mistake id, the homework recomputed with that mistake); several variants may share an id."""
    model = derivation.model
    factor = LOSSES[model.spec.loss].residual_factor
    residual = factor is not None and all(u.pre == u.out for u in model.output_units)
    runs = [
        ("missing-factor-2", _run(_output_delta(derivation, lambda yh, y: yh - y))) if residual and factor == 2 else None,
        ("residual-sign", _run(_output_delta(derivation, lambda yh, y: factor * (y - yh)))) if residual else None,
        ("relu-derivative", _run(_relu_derivative(derivation, sp.Integer(1)))),
        ("relu-derivative", _run(_relu_derivative(derivation, sp.Integer(0)))),
        ("relu-derivative", _run(_relu_derivative(derivation, lambda z: sp.Piecewise((0, z < 0), (1, True))))),
        ("missing-downstream-weight", _run(_without_downstream_weights(derivation))),
        ("loss-sum-not-mean", _run(derivation, loss_reduction="sum")),
        ("gradient-sum-not-mean", _run(derivation, gradient_reduction="sum")),
        ("update-sign", _run(derivation, update_sign=1)),
    ]
    return tuple(run for run in runs if run is not None)
