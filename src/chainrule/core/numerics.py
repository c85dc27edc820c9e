"""Exact numbers: forward pass, loss, δ's and gradients per sample, and gradient-descent steps.

Every number is computed from the node definitions and the δ recursion of the derivation,
evaluated in topological order with SymPy's exact arithmetic (Rationals; exact expressions
such as exp(-3) for smooth activations).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Mapping, Sequence

import mpmath
import sympy as sp

from chainrule.core.compiled import FastTrainer
from chainrule.core.derivation import Derivation
from chainrule.numbers import PRECISION, mpf, numeric_value, rational


@dataclass(frozen=True)
class SampleValues:
    """Everything the forward and backward pass compute for one sample (1-based `number`)."""

    number: int
    values: Mapping[str, sp.Expr]  # node and δ names -> exact value
    gradient: tuple[sp.Expr, ...]  # ∂L/∂w for this sample, in parameter order
    predictions: tuple[sp.Expr, ...]  # one per output unit

    @property
    def prediction(self) -> sp.Expr:
        return self.predictions[0]

    @property
    def loss(self) -> sp.Expr:
        return self.values["L"]


@dataclass(frozen=True)
class Evaluation:
    """One pass over the dataset at parameters θ."""

    theta: tuple[sp.Expr, ...]
    samples: tuple[SampleValues, ...]
    loss: sp.Expr  # mean (or, as the spec says, sum) of the per-sample losses
    gradient: tuple[sp.Expr, ...]  # mean (or sum) of the per-sample gradients


@dataclass(frozen=True)
class Training:
    """θ and the loss before and after each gradient-descent step."""

    learning_rate: sp.Rational
    evaluations: tuple[Evaluation, ...]  # evaluations[0] at the initial θ, then one per step
    exact_steps: int = 10**9  # evaluations[:exact_steps + 1] are exact; later ones are 50-digit decimals

    @property
    def initial(self) -> Evaluation:
        return self.evaluations[0]

    @property
    def after_first(self) -> Evaluation:
        return self.evaluations[1]

    @property
    def final(self) -> Evaluation:
        return self.evaluations[-1]


def evaluate(derivation: Derivation, theta: Sequence[sp.Expr], *, loss_reduction: str | None = None,
             gradient_reduction: str | None = None) -> Evaluation:
    """Forward and backward pass on every sample of the spec's data, exactly.

    The reductions over the samples are "mean" or "sum": the spec's `reduction_samples` unless
    given (the other one is a common mistake, for diagnosis).
    Rational networks run as compiled Fraction arithmetic; others through SymPy, still exactly.
    """
    model = derivation.model
    spec = model.spec
    loss_reduction = loss_reduction or spec.reduction_samples
    gradient_reduction = gradient_reduction or spec.reduction_samples
    program = _program(derivation) if all(v.is_Rational for v in theta) else None
    names = [node.name for node in (*model.nodes, *model.deltas)]
    samples, fractions = [], []
    for number, (x, targets) in enumerate(zip(spec.x, spec.targets), start=1):
        if program is not None:
            known = program.run(theta, x, targets)
            fractions.append(known.pop("fractions"))
        else:
            known = _symbolic_pass(derivation, theta, x, targets)
        gradient = tuple(known.pop(("gradient", p.name)) for p in model.parameters)
        values = {name: known[name] for name in names}
        predictions = tuple(values[p.name] for p in model.predictions)
        samples.append(SampleValues(number, MappingProxyType(values), gradient, predictions))
    divide = {"mean": len(samples), "sum": 1}
    loss = _exact(sp.Add(*(s.loss for s in samples)) / divide[loss_reduction])
    if program is not None:  # the same exact means, in Fractions rather than SymPy Adds
        gradient = tuple(_rational(Fraction(sum(column[1:], column[0])) / divide[gradient_reduction])
                         for column in zip(*fractions))
    else:
        gradient = tuple(_exact(sp.Add(*column) / divide[gradient_reduction])
                         for column in zip(*(s.gradient for s in samples)))
    return Evaluation(tuple(theta), tuple(samples), loss, gradient)


def _symbolic_pass(derivation: Derivation, theta, x, targets) -> dict:
    model = derivation.model
    known: dict[sp.Symbol, sp.Expr] = {p.symbol: value for p, value in zip(model.parameters, theta)}
    known.update({node.symbol: rational(value) for node, value in zip(model.inputs, x)})
    known.update({node.symbol: rational(value) for node, value in zip(model.targets, targets)})
    for node in model.nodes:
        if node.definition is not None:
            known[node.symbol] = _exact(_substitute(node.definition, known))
    for unit in reversed(model.units):
        known[unit.delta.symbol] = _exact(_substitute(derivation.delta_formula[unit.delta.name], known))
    result = {node.name: known[node.symbol] for node in (*model.nodes, *model.deltas)}
    for p in model.parameters:
        result[("gradient", p.name)] = _exact(_substitute(derivation.backprop[p.name], known))
    return result


_TRANSCENDENTAL = (sp.exp, sp.log, sp.tanh)


def _substitute(expr: sp.Expr, known: dict) -> sp.Expr:
    """expr.xreplace(known), but exp, log and tanh of an argument that is not a number stay unevaluated.

    Evaluating exp(-(w·σ(z) + b)) makes SymPy ask whether the nested argument is positive, zero
    or real, which it settles by numeric evaluation at growing precision: seconds per node after
    one training step. The value stays exact; it is only left in the form it was built in.
    A product with a zero factor (a cross-entropy term whose target is 0 or 1) is 0 at once.
    """
    if expr in known:
        return known[expr]
    if not expr.args:
        return expr
    args = [_substitute(arg, known) for arg in expr.args]
    if isinstance(expr, sp.Mul) and any(arg is sp.S.Zero for arg in args):
        return sp.S.Zero  # every value here is finite; SymPy would first ask whether log(...) is
    if isinstance(expr, _TRANSCENDENTAL) and not args[0].is_Number:
        return expr.func(*args, evaluate=False)
    return expr.func(*args)


class _Program:
    """The forward pass, δ recursion and gradient compiled to exact Fraction arithmetic."""

    def __init__(self, derivation: Derivation):
        self.trainer = FastTrainer(derivation, Fraction)
        self._local: dict | None = None
        self._environments: dict = {}

    @property
    def local(self) -> dict:
        """The compiled local derivatives, for forward mode (compiled when first asked for)."""
        if self._local is None:
            self._local = self.trainer.local_derivatives()
        return self._local

    def environment(self, theta, x, targets) -> list:
        """Every node's and δ's value for one sample; the last few are remembered, since the
        forward-mode check asks again for the samples `evaluate` has just computed."""
        key = (tuple(theta), tuple(x), tuple(targets))
        env = self._environments.get(key)
        if env is None:
            if len(self._environments) >= 64:
                self._environments.clear()
            env = self._environments[key] = self.trainer.environment(
                [_fraction(v) for v in theta], [Fraction(v) for v in x], [Fraction(v) for v in targets])
        return env

    def run(self, theta, x, targets) -> dict:
        trainer = self.trainer
        env = self.environment(theta, x, targets)
        model = trainer.model
        result = {node.name: _rational(env[trainer.index[node.symbol]]) for node in (*model.nodes, *model.deltas)}
        exact = [f(env) for f in trainer.gradient]
        result["fractions"] = exact
        for p, value in zip(model.parameters, exact):
            result[("gradient", p.name)] = _rational(value)
        return result


_PROGRAMS: dict[int, tuple[Mapping, _Program | None]] = {}


def _program(derivation: Derivation) -> _Program | None:
    """The compiled program for a derivation's formulas, or None when its values are not all rational.

    Keyed by the δ formulas, which a rebound derivation (a variant) shares with its original:
    the program reads no data, so every variant runs the same compiled code.
    """
    key = id(derivation.delta_formula)
    if key not in _PROGRAMS:
        try:
            program = _Program(derivation)
        except NotImplementedError:
            program = None
        _PROGRAMS[key] = (derivation.delta_formula, program)  # keeps the formulas alive, so ids stay unique
    return _PROGRAMS[key][1]


def numeric_check(derivation: Derivation, theta: Sequence[sp.Expr]) -> list[tuple[int, int, object, object]]:
    """Backpropagation against forward accumulation in 60-digit arithmetic, for every sample.

    Returns (sample, parameter index, backprop, forward) where they differ beyond 45 digits.
    """
    model = derivation.model
    with mpmath.workdps(PRECISION):
        trainer = _mp_trainer(derivation)
        values = _mp_values(theta)
        differences = []
        for number, (x, targets) in enumerate(trainer.data, start=1):
            env = trainer.environment(values, x, targets)
            backward = [f(env) for f in trainer.gradient]
            forward = _forward(model, lambda node, parent: trainer.local[(node.symbol, parent.symbol)](env))
            for i, (a, b) in enumerate(zip(backward, forward)):
                if abs(a - b) > mpmath.mpf(10) ** -45 * (1 + abs(a)):
                    differences.append((number, i, a, b))
        return differences


def _mp_values(theta) -> list:
    """θ as 60-digit numbers (call inside mpmath.workdps(PRECISION))."""
    return [mpf(_fraction(v)) if v.is_Rational else numeric_value(v) for v in theta]


_MP_TRAINERS: dict[int, tuple] = {}


def _mp_trainer(derivation: Derivation) -> "FastTrainer":
    if id(derivation) not in _MP_TRAINERS:
        trainer = FastTrainer(derivation, mpf)
        trainer.local = trainer.local_derivatives()
        _MP_TRAINERS[id(derivation)] = (derivation, trainer)
    return _MP_TRAINERS[id(derivation)][1]


def _forward(model, local) -> list:
    """Forward accumulation of ∂L/∂θ through the graph, from each node's local derivatives."""
    tangent: dict[sp.Symbol, dict[int, object]] = {p.symbol: {i: 1} for i, p in enumerate(model.parameters)}
    for node in model.nodes:
        if node.definition is None:
            continue
        total: dict[int, object] = {}
        for parent in model.parents(node):
            incoming = tangent.get(parent.symbol)
            if not incoming:
                continue
            factor = local(node, parent)
            if factor == 0:  # an inactive ReLU passes nothing on: adding zeros changes no sum
                continue
            for i, d in incoming.items():
                total[i] = total.get(i, 0) + factor * d
        tangent[node.symbol] = total
    result = tangent[model.loss.symbol]
    return [result.get(i, 0) for i in range(len(model.parameters))]


def forward_gradient(derivation: Derivation, theta: Sequence[sp.Expr], sample: int) -> tuple[sp.Expr, ...]:
    """∂L/∂θ for one sample (1-based) by forward accumulation, without the δ recursion.

    Every node carries its derivatives with respect to the parameters, built from the local
    derivatives of its own definition: an independent check of backpropagation's numbers.
    """
    model = derivation.model
    x, targets = model.spec.x[sample - 1], model.spec.targets[sample - 1]
    program = _program(derivation) if all(v.is_Rational for v in theta) else None
    try:
        compiled = None if program is None else program.local
    except NotImplementedError:  # a local derivative with no exact compiled form: SymPy below
        program = None
    if program is not None:
        env = program.environment(theta, x, targets)
        local = lambda node, parent: compiled[(node.symbol, parent.symbol)](env)  # noqa: E731
        convert = _rational
    else:
        known_by_name = _symbolic_pass(derivation, theta, x, targets)
        known = {n.symbol: known_by_name[n.name] for n in model.nodes}
        local = lambda node, parent: model.local_derivative(node, parent).xreplace(known)  # noqa: E731
        convert = _exact
    return tuple(convert(d) if d != 0 else sp.Integer(0) for d in _forward(model, local))


def _fraction(value: sp.Rational) -> Fraction:
    return Fraction(int(value.p), int(value.q))


def _rational(value: Fraction) -> sp.Rational:
    return sp.Rational(value.numerator, value.denominator)


EXACT_IRRATIONAL_PARAMETERS = 12
# Exact rational steps roughly triple the digits of every parameter; past this size (about 900
# digits, well below the 4300 digits Python will print) later steps are 50-digit decimals too.
EXACT_RATIONAL_BITS = 3000


def _numeric_step(derivation: Derivation, current: Evaluation, eta, sign: int, reductions: dict) -> tuple:
    """θ after one step as 50-digit decimals, from a 60-digit pass (no evaluation of big exact trees)."""
    mask = derivation.model.spec.step_mask  # a frozen parameter keeps its value
    if all(v.is_Float for v in current.theta):
        return tuple(sp.Float(w + sign * eta * g, 50) if m else w for w, g, m in zip(current.theta, current.gradient, mask))
    with mpmath.workdps(PRECISION):
        trainer = _mp_trainer(derivation)
        values = _mp_values(current.theta)
        total = [mpmath.mpf(0)] * len(values)
        for x, targets in trainer.data:
            env = trainer.environment(values, x, targets)
            total = [t + f(env) for t, f in zip(total, trainer.gradient)]
        reduction = reductions.get("gradient_reduction") or derivation.model.spec.reduction_samples
        count = len(trainer.data) if reduction == "mean" else 1
        rate = mpf(_fraction(sp.Rational(eta)))
        return tuple(sp.Float(str(w + sign * rate * t / count), 50) if m else exact
                     for w, t, m, exact in zip(values, total, mask, current.theta))


def train(derivation: Derivation, steps: int | None = None, learning_rate: sp.Rational | None = None, *,
          update_sign: int = -1, loss_reduction: str | None = None,
          gradient_reduction: str | None = None) -> Training:
    """Gradient descent θ ← θ − η∇L from the spec's initial parameters; frozen parameters stay put.

    `update_sign=+1` and the other reduction than the spec's reproduce common mistakes, for diagnosis.
    """
    spec = derivation.model.spec
    eta = rational(spec.learning_rate) if learning_rate is None else learning_rate
    theta = tuple(rational(v) for v in spec.init)
    reductions = {"loss_reduction": loss_reduction, "gradient_reduction": gradient_reduction}
    evaluations = [evaluate(derivation, theta, **reductions)]
    exact_steps = spec.steps if steps is None else steps
    for step in range(1, (spec.steps if steps is None else steps) + 1):
        current = evaluations[-1]
        theta = tuple(_exact(w + update_sign * eta * g) if m else w
                      for w, g, m in zip(current.theta, current.gradient, spec.step_mask))
        irrational = not all(v.is_Rational or v.is_Float for v in theta)
        if (irrational and (step > 1 or spec.parameter_count > EXACT_IRRATIONAL_PARAMETERS)) or _too_long(theta):
            # Exact expressions in exp and tanh nest deeper with every step and every layer; past
            # the first step (or in a bigger network) they are carried as 50-digit decimals instead,
            # and marked as such. The parameters after the first step stay exact.
            numeric = _numeric_step(derivation, current, eta, update_sign, reductions)
            evaluations.append(evaluate(derivation, numeric, **reductions))
            evaluations[-1] = dataclasses.replace(evaluations[-1], theta=theta) if step == 1 else evaluations[-1]
            exact_steps = min(exact_steps, step - 1)
            continue
        evaluations.append(evaluate(derivation, theta, **reductions))
    return Training(eta, tuple(evaluations), exact_steps)


def _too_long(theta: tuple[sp.Expr, ...]) -> bool:
    return any(v.is_Rational and max(abs(v.p).bit_length(), v.q.bit_length()) > EXACT_RATIONAL_BITS for v in theta)


def _exact(value: sp.Expr) -> sp.Expr:
    """Keep rationals as they are; bring exact irrational values into one canonical form."""
    if value.is_Rational:
        return value
    if _has_piecewise(value):
        raise ValueError(f"a branch could not be decided at this point: {value}")
    return value  # exact irrational values stay as built: simplifying them costs more than it gives


def _has_piecewise(value: sp.Expr) -> bool:
    """value.has(sp.Piecewise), visiting each distinct subtree once.

    Exact values in exp and tanh share their subtrees so heavily that SymPy's `has`, which walks
    every occurrence, takes minutes on a network that evaluates in a second.
    """
    seen, stack = set(), [value]
    while stack:
        expr = stack.pop()
        if isinstance(expr, sp.Piecewise):
            return True
        for arg in expr.args:
            if arg.args and arg not in seen:
                seen.add(arg)
                stack.append(arg)
            elif isinstance(arg, sp.Piecewise):
                return True
    return False
# ---------------------------------------------------------------- fast passes (training curves)


