"""Carried errors: what an answer would be if computed correctly from the student's own earlier answers.

A teacher does not mark an answer wrong twice: a loss computed rightly from a wrong prediction is
"right from your earlier answer". Each answer follows from the one before it in the homework:
predictions → loss and per-sample gradients (the backward pass rerun with the student's
predictions) → mean (or summed) gradient → update → new loss.
"""

from __future__ import annotations

import sympy as sp

from chainrule.check.answer_key import AnswerKey
from chainrule.check.answers import prediction_keys
from chainrule.core.numerics import evaluate
from chainrule.numbers import rational


def carried_value(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr | None:
    """The value this key would have if computed correctly from the student's own earlier answers.

    Each answer follows from the one before it in the homework: predictions → loss and per-sample
    gradients (the backward pass rerun with the student's predictions) → mean gradient → update →
    new loss. An earlier answer the student did not give is taken as what follows from theirs
    (except for the new loss, which needs the student's own updated parameters).
    """
    try:
        value = _follow(key, answer_key, given)
    except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError):
        return None
    return None if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) else value  # log(0) of a student's ŷ = 0


def _earlier(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr:
    """The student's answer for an earlier key, or what follows from their answers before it."""
    if key in given:
        return given[key]
    if key.startswith("prediction."):
        return answer_key.values[key]
    return _follow(key, answer_key, given)


def _follow(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr:
    spec, model = answer_key.spec, answer_key.derivation.model
    names = spec.parameter_names
    samples = range(1, len(spec.x) + 1)
    if key == "loss":
        total = []
        for n, targets in zip(samples, spec.targets):
            values = {p.symbol: _earlier(k, answer_key, given) for p, k in zip(model.predictions, prediction_keys(spec, n))}
            values.update({y.symbol: rational(t) for y, t in zip(model.targets, targets)})
            total.append(model.loss.definition.xreplace(values))
        return sp.Add(*total) / _count(spec)
    if key.startswith("sample_gradient."):
        _, number, name = key.split(".", 2)
        return _backward(answer_key, int(number), given)[name]
    if key.startswith("gradient."):
        name = key.split(".", 1)[1]
        return sp.Add(*(_earlier(f"sample_gradient.{n}.{name}", answer_key, given) for n in samples)) / _count(spec)
    if key.startswith("updated."):
        name = key.split(".", 1)[1]
        index = names.index(name)
        return rational(spec.init[index]) - rational(spec.learning_rate) * _earlier(f"gradient.{name}", answer_key, given)
    if key == "new_loss":
        # Only from the student's own θ: one followed from earlier answers of a smooth network is an
        # exact tower of exp whose comparison with the answer can take minutes.
        theta = [given[f"updated.{name}"] if name not in spec.frozen else rational(value)
                 for name, value in zip(names, spec.init)]
        return evaluate(answer_key.derivation, theta).loss
    raise KeyError(key)


def _count(spec) -> int:
    """What the sum over the samples is divided by: their number for a mean, 1 for a sum."""
    return spec.reduction_samples.divisor(len(spec.x))


def _backward(answer_key: AnswerKey, number: int, given: dict) -> dict[str, sp.Expr]:
    """One sample's ∂L/∂w with the student's predictions put in for ŷ, the rest of the forward pass right."""
    spec, derivation = answer_key.spec, answer_key.derivation
    model = derivation.model
    sample = _initial(answer_key).samples[number - 1]
    known = {node.symbol: sample.values[node.name] for node in model.nodes}
    for p, k in zip(model.predictions, prediction_keys(spec, number)):
        known[p.symbol] = _earlier(k, answer_key, given)
    for unit in reversed(model.units):
        known[unit.delta.symbol] = derivation.delta_formula[unit.delta.name].xreplace(known)
    gradient = {p.name: derivation.backprop[p.name].xreplace(known) for p in model.parameters}
    if any(not value.is_number or value.has(sp.Piecewise) for value in gradient.values()):
        raise ValueError("a branch could not be decided")
    return gradient


_INITIAL: dict[int, tuple] = {}


def _initial(answer_key: AnswerKey):
    """The forward and backward pass at the initial θ (computed once per answer key)."""
    if id(answer_key) not in _INITIAL:
        if len(_INITIAL) >= 64:
            _INITIAL.clear()
        theta = [rational(v) for v in answer_key.spec.init]
        _INITIAL[id(answer_key)] = (answer_key, evaluate(answer_key.derivation, theta))  # keeps the key alive
    return _INITIAL[id(answer_key)][1]
