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
from chainrule.core.spec import Reduction
from chainrule.numbers import rational


@dataclass(frozen=True)
class Mistake:
    id: str
    description: str  # one line: what the mistake is
    explanation: str  # one paragraph a student can act on: what went wrong, how to see it, how to fix it


# Common mistakes first: Moodle keeps the first few that give distinct wrong values.
CATALOGUE = (
    Mistake("missing-factor-2", "δŷ taken as ŷ − y, without the factor 2 of the squared error",
            "The derivative of (ŷ − y)² with respect to ŷ is 2(ŷ − y): the exponent comes down as a factor. "
            "Without it every gradient is exactly half the right one, which is how to spot it. "
            "Write the loss out, differentiate it with the power rule, and carry the 2 into δŷ."),
    Mistake("residual-sign", "δŷ taken as 2(y − ŷ): the residual's sign is flipped",
            "δŷ = ∂L/∂ŷ = 2(ŷ − y): the prediction comes first, because the inner derivative of (ŷ − y) "
            "with respect to ŷ is +1. With y − ŷ every gradient has the opposite sign, and the update "
            "would climb the loss. Check the sign: when ŷ is too large, δŷ must be positive."),
    Mistake("relu-derivative", "the ReLU derivative g′ is wrong for some sample (1 where z ≤ 0, or 0 where z > 0)",
            "The ReLU passes the gradient where the unit is active and blocks it where it is not: g′(z) = 1 for "
            "z > 0 and 0 for z < 0. A wrong g′ shows in one sample's hidden-weight gradients: nonzero although "
            "its z is negative, or zero although its z is positive. Look up the sign of each sample's z from "
            "your forward pass and redo that sample's δh with the right g′(z)."),
    Mistake("forgot-activation", "the forward pass skipped the activation: the hidden units output z instead of g(z)",
            "The hidden unit outputs h = g(z), not z itself. For a ReLU a negative z must become 0 before it "
            "reaches the next layer; a negative prediction from a network whose hidden units should all be "
            "non-negative is the sign of it. Apply g to every hidden z and redo the forward pass."),
    Mistake("missing-downstream-weight", "the hidden δ is missing the downstream weight",
            "The hidden δ collects the error from the units the hidden unit feeds, each through the weight "
            "of that connection: δh = δŷ · w · g′(z). Without the weight, the hidden weights' gradients are "
            "off by exactly that weight's factor. Follow the path from L back to z and write one factor per edge."),
    Mistake("loss-sum-not-mean", "the loss is summed over the samples instead of averaged",
            "The loss of the dataset is the mean of the per-sample losses: divide their sum by the number of "
            "samples. Your value is that many times too large. Check the definition of L in the problem."),
    Mistake("gradient-sum-not-mean", "the gradient is summed over the samples instead of averaged",
            "The loss is a mean over the samples, so its gradient is the mean of the per-sample gradients. "
            "Your gradient is as many times too large as there are samples, and so is the step. "
            "Divide the sum of the per-sample gradients by the number of samples."),
    Mistake("update-sign", "the update adds the gradient: θ + η∇ instead of θ − η∇",
            "Gradient descent steps against the gradient, θ ← θ − η∇L, because the gradient points uphill. "
            "With + the loss grows after the step. Check the sign in the update rule."),
    Mistake("wrong-learning-rate", "the update used a wrong learning rate: 10η, η/10, or 1 (η left out)",
            "The step is θ − η∇L with the η the problem gives. Your update moved θ ten times too far or too "
            "little (a decimal place slipped), or by the whole gradient (η left out). Compare the change "
            "θ_new − θ with η times your gradient, and redo the update with the stated η."),
    Mistake("used-target-as-prediction", "the target y was used where the prediction ŷ belongs (in δ or the loss)",
            "The loss and δ compare the network's prediction ŷ with the target y, so both must appear: for the "
            "squared error L = (ŷ − y)² and δŷ = 2(ŷ − y). Putting y where ŷ belongs makes them vanish "
            "(a loss or gradient of 0 although the predictions are off). Compute ŷ from the forward pass first "
            "and use it, not the target."),
    Mistake("relu-derivative-at-kink", "g′(0) taken as 1, but the spec's convention at the kink is different",
            "Some sample has z = 0 exactly, where the ReLU has a kink and no derivative: the value used there "
            "is a convention, and this homework states it (look for the derivative at zero in the problem). "
            "You used g′(0) = 1. Redo that sample's backward pass with the stated convention."),
    Mistake("rounding", "the right value, given with too few digits",
            "The value is right but rounded too coarsely for the tolerance. It agrees with the expected value "
            "in the digits you gave. Keep exact fractions or enough digits through the computation and round "
            "only the final answer, to the digits asked for."),
    Mistake("carried-error", "wrong, but it follows correctly from an earlier wrong answer",
            "This value is computed correctly from your own earlier answers, but those are wrong, so it is wrong "
            "too. The method here is right: the mistake is upstream, in an earlier answer marked wrong. Fix the "
            "earliest wrong answer first (see its feedback) and recompute what follows from it."),
)
DESCRIPTIONS: Mapping[str, str] = MappingProxyType({m.id: m.description for m in CATALOGUE})
EXPLANATIONS: Mapping[str, str] = MappingProxyType({m.id: m.explanation for m in CATALOGUE})


def answer_values(model: Model, training: Training) -> dict[str, sp.Expr]:
    """Every numeric answer key of an answers file, computed from one training run."""
    initial, after = training.initial, training.after_first
    names = [p.name for p in model.parameters]
    frozen = set(model.spec.frozen)  # held at init: no gradient or update is asked for them
    values: dict[str, sp.Expr] = {}
    for sample in initial.samples:
        for key, prediction in zip(prediction_keys(model.spec, sample.number), sample.predictions):
            values[key] = prediction
    values["loss"] = initial.loss
    for name, g in zip(names, initial.gradient):
        if name not in frozen:
            values[f"gradient.{name}"] = g
    for sample in initial.samples:
        for name, g in zip(names, sample.gradient):
            if name not in frozen:
                values[f"sample_gradient.{sample.number}.{name}"] = g
    for name, w in zip(names, after.theta):
        if name not in frozen:
            values[f"updated.{name}"] = w
    values["new_loss"] = after.loss
    return values


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


def _kink_convention_not_one(model: Model) -> bool:
    """Some hidden ReLU takes g′(0) other than 1: taking 1 there is then a mistake."""
    return any(u.activation == "relu" and not u.is_output and dict(u.options).get("derivative_at_zero", 0) != 1
               for u in model.units)


def _without_downstream_weights(derivation: Derivation) -> Derivation:
    model = derivation.model
    downstream = {w.symbol: 1 for u in model.units if u.layer > 1 for w in u.weights}
    return _with_deltas(derivation, lambda u, f: f if u.is_output else f.xreplace(downstream))


def _with_definitions(derivation: Derivation, definitions: Mapping[sp.Symbol, sp.Expr]) -> Derivation:
    """The derivation of a model whose nodes (by symbol) have other definitions; the δ formulas are kept.

    The δ mapping is copied all the same: compiled programs are cached by its identity.
    """
    model = derivation.model
    changed = {n.symbol: dataclasses.replace(n, definition=definitions[n.symbol])
               for n in model.nodes if n.symbol in definitions}
    nodes = tuple(changed.get(n.symbol, n) for n in model.nodes)
    units = tuple(dataclasses.replace(u, out=changed.get(u.out.symbol, u.out)) for u in model.units)
    wrong = dataclasses.replace(model, nodes=nodes, units=units, loss=changed.get(model.loss.symbol, model.loss),
                                by_name=MappingProxyType({n.name: n for n in nodes}),
                                by_symbol=MappingProxyType({n.symbol: n for n in nodes}))
    return dataclasses.replace(derivation, model=wrong, delta_formula=MappingProxyType(dict(derivation.delta_formula)))


def _forgot_activation(derivation: Derivation, *, linear_backward: bool) -> Derivation | None:
    """Hidden units output z instead of g(z); with `linear_backward` g′ is taken as 1 as well."""
    model = derivation.model
    hidden = [u for u in model.units if not u.is_output]
    if not hidden:
        return None
    forward = _with_definitions(derivation, {u.out.symbol: u.pre.symbol for u in hidden})
    if not linear_backward:
        return forward

    def change(unit: Unit, formula: sp.Expr) -> sp.Expr:
        if unit.is_output:
            return formula
        right = ACTIVATIONS[unit.activation].derivative(dict(unit.options))(unit.pre.symbol)
        return formula.xreplace({right: sp.Integer(1)})
    return _with_deltas(forward, change)


def _target_for_prediction(derivation: Derivation, in_loss: bool) -> Derivation:
    """ŷ replaced by y in the loss (`in_loss`) or else in the output δ's."""
    model = derivation.model
    swap = {p.symbol: t.symbol for p, t in zip(model.predictions, model.targets)}
    if in_loss:
        return _with_definitions(derivation, {model.loss.symbol: model.loss.definition.xreplace(swap)})
    return _with_deltas(derivation, lambda u, f: f.xreplace(swap) if u.is_output else f)


def _learning_rates(eta: sp.Rational) -> tuple[sp.Rational, ...]:
    """The wrong rates students use most: a decimal place slipped either way, and η left out (1)."""
    return tuple(dict.fromkeys(r for r in (10 * eta, eta / 10, sp.Integer(1)) if r != eta))


def variants(derivation: Derivation) -> tuple[tuple[str, Training], ...]:
    """(mistake id, the homework recomputed with that mistake); several variants may share an id."""
    model = derivation.model
    factor = LOSSES[model.spec.loss].residual_factor
    averaged_outputs = model.spec.reduction_outputs is Reduction.MEAN and model.spec.outputs > 1  # δ = factor/K·(ŷ − y)
    residual = factor is not None and all(u.pre == u.out for u in model.output_units) and not averaged_outputs
    means = model.spec.reduction_samples is Reduction.MEAN  # summing over the samples is then a mistake
    eta = rational(model.spec.learning_rate)
    kink = _kink_convention_not_one(model)
    at_kink = lambda z: sp.Piecewise((0, z < 0), (1, True))  # noqa: E731 - g′(0) = 1, right elsewhere
    # (mistake id, the mutated derivation or None where it does not apply, training options)
    runs = [
        ("missing-factor-2", _output_delta(derivation, lambda yh, y: yh - y) if residual and factor == 2 else None, {}),
        ("residual-sign", _output_delta(derivation, lambda yh, y: factor * (y - yh)) if residual else None, {}),
        ("relu-derivative", _relu_derivative(derivation, sp.Integer(1)), {}),
        ("relu-derivative", _relu_derivative(derivation, sp.Integer(0)), {}),
        ("relu-derivative-at-kink", _relu_derivative(derivation, at_kink) if kink else None, {}),
        ("missing-downstream-weight", _without_downstream_weights(derivation), {}),
        ("forgot-activation", _forgot_activation(derivation, linear_backward=True), {}),
        ("forgot-activation", _forgot_activation(derivation, linear_backward=False), {}),
        ("used-target-as-prediction", _target_for_prediction(derivation, in_loss=False), {}),
        ("used-target-as-prediction", _target_for_prediction(derivation, in_loss=True), {}),
        ("loss-sum-not-mean", derivation if means else None, {"loss_reduction": Reduction.SUM}),
        ("gradient-sum-not-mean", derivation if means else None, {"gradient_reduction": Reduction.SUM}),
        ("update-sign", derivation, {"update_sign": 1}),
        *(("wrong-learning-rate", derivation, {"learning_rate": rate}) for rate in _learning_rates(eta)),
    ]
    done = []
    for mistake, wrong, options in runs:
        training = None if wrong is None else _safely(lambda: train(wrong, steps=1, **options))
        if training is not None:
            done.append((mistake, training))
    return tuple(done)


def _safely(compute: Callable[[], Training]) -> Training | None:
    """The homework under one mistake, or None when its numbers cannot be computed (the mistake is left out).

    Putting y into a cross-entropy's log, say, can divide by zero: no student answer matches that.
    """
    try:
        training = compute()
    except (ArithmeticError, ValueError, NotImplementedError):
        return None
    values = [*training.initial.gradient, training.initial.loss, *training.after_first.theta, training.after_first.loss]
    if any(v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) for v in values):
        return None
    return training
