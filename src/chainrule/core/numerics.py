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

from chainrule.core.compiled import FastTrainer, common_sum
from chainrule.core.derivation import Derivation
from chainrule.core.exact_pass import canonical, symbolic_pass
from chainrule.core.model import NodeKind
from chainrule.core.precise import (
    forward,
    forward_exact,
    forward_scaled,
    fraction,
    numeric_check,
    numeric_step,
    precise_sample,
)
from chainrule.core.spec import Reduction
from chainrule.numbers import PRECISION, EXACT_TEXT_LIMIT, exact, numeric_value, rational

__all__ = ["SampleValues", "Evaluation", "Training", "evaluate", "train", "forward_gradient", "forward_differs",
           "numeric_check"]
_fraction = fraction


@dataclass(frozen=True)
class SampleValues:
    """Everything the forward and backward pass compute for one sample (1-based `number`)."""

    number: int
    values: Mapping[str, sp.Expr]  # node and δ names -> exact value
    gradient: tuple[sp.Expr, ...]  # ∂L/∂w for this sample, in parameter order
    predictions: tuple[sp.Expr, ...]  # one per output unit
    # names (and ("gradient", parameter name)) whose exact text would pass EXACT_TEXT_LIMIT: the
    # value there is a 50-digit Float from a 60-digit pass, and no exact tree was built
    omitted: frozenset = frozenset()

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
    # "loss", ("gradient", name), ("theta", name) given as 50-digit Floats (see SampleValues.omitted)
    omitted: frozenset = frozenset()


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


def evaluate(derivation: Derivation, theta: Sequence[sp.Expr], *, loss_reduction: Reduction | None = None,
             gradient_reduction: Reduction | None = None) -> Evaluation:
    """Forward and backward pass on every sample of the spec's data, exactly.

    The reductions over the samples are MEAN or SUM: the spec's `reduction_samples` unless
    given (the other one is a common mistake, for diagnosis).
    Rational networks run as compiled Fraction arithmetic; others through SymPy, still exactly.
    """
    model = derivation.model
    spec = model.spec
    loss_reduction = loss_reduction or spec.reduction_samples
    gradient_reduction = gradient_reduction or spec.reduction_samples
    program = _program(derivation) if all(v.is_Rational for v in theta) else None
    decimal = bool(theta) and all(v.is_Float for v in theta)  # after a decimal step: a 60-digit pass
    names = [node.name for node in (*model.nodes, *model.deltas)]
    samples, fractions = [], []
    for number, (x, targets) in enumerate(zip(spec.x, spec.targets), start=1):
        if program is not None:
            known = program.run(theta, x, targets)
            fractions.append(known.pop("fractions"))
        elif decimal and spec.parameter_count > PRECISE_STEPS_ABOVE:
            known = precise_sample(derivation, theta, x, targets)
        else:
            known = symbolic_pass(derivation, theta, x, targets)
        omitted = known.pop("omitted", frozenset())
        gradient = tuple(known.pop(("gradient", p.name)) for p in model.parameters)
        values = {name: known[name] for name in names}
        predictions = tuple(values[p.name] for p in model.predictions)
        samples.append(SampleValues(number, MappingProxyType(values), gradient, predictions, omitted))
    if program is not None:  # the same exact means, in Fractions rather than SymPy Adds
        loss = canonical(sp.Add(*(s.loss for s in samples)) / loss_reduction.divisor(len(samples)))
        gradient = tuple(_rational(_fraction_sum(column, gradient_reduction.divisor(len(samples)))) for column in zip(*fractions))
        return Evaluation(tuple(theta), tuple(samples), loss, gradient)
    omitted = set()
    loss = _mean(samples, "L", [s.loss for s in samples], loss_reduction.divisor(len(samples)), omitted, "loss")
    gradient = tuple(_mean(samples, ("gradient", p.name), column, gradient_reduction.divisor(len(samples)), omitted,
                           ("gradient", p.name)) for p, column in zip(model.parameters, zip(*(s.gradient for s in samples))))
    return Evaluation(tuple(theta), tuple(samples), loss, gradient, frozenset(omitted))


def _fraction_sum(column, divide: int) -> Fraction:
    """Σ column / divide for Fractions, reduced once, not per term."""
    return common_sum([v.numerator for v in column], [v.denominator for v in column], divide)


def _mean(samples, name, column, divide: int, omitted: set, key) -> sp.Expr:
    """Σ column / divide: exact, or a 50-digit Float (key added to `omitted`) when a term was
    omitted or the exact sum would pass EXACT_TEXT_LIMIT."""
    if any(name in s.omitted for s in samples) or \
            not all(v.is_Rational or v.is_Float for v in column) and \
            sum(len(exact(v)) for v in column) > EXACT_TEXT_LIMIT:
        omitted.add(key)
        with mpmath.workdps(PRECISION):  # a Float's own binary value: no decimal round trip
            terms = (mpmath.mpf(v._mpf_) if v.is_Float else numeric_value(v) for v in column)
            return sp.Float(mpmath.fsum(terms) / divide, 50)
    return canonical(sp.Add(*column) / divide)


class _Program:
    """The forward pass, δ recursion and gradient compiled to exact Fraction arithmetic."""

    def __init__(self, derivation: Derivation):
        self.trainer = FastTrainer(derivation, Fraction)
        self._local: dict | None = None
        self._environments: dict = {}
        self._theta: tuple = ((), [])  # the last θ and its Fractions: every sample of a pass shares them

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
            if self._theta[0] != key[0]:
                self._theta = (key[0], [_fraction(v) for v in theta])
            env = self._environments[key] = self.trainer.environment(
                self._theta[1], [Fraction(v) for v in x], [Fraction(v) for v in targets])
        return env

    def run(self, theta, x, targets) -> dict:
        trainer = self.trainer
        env = self.environment(theta, x, targets)
        model = trainer.model
        index = trainer.index
        result = {node.name: _rational(env[index[node.symbol]]) for node in (*model.nodes, *model.deltas)
                  if node.kind is not NodeKind.PARAMETER}
        result.update({p.name: value for p, value in zip(model.parameters, theta)})  # θ as given, not rebuilt
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
        factors = {edge: f(env) for edge, f in compiled.items()}
        return tuple(_rational(d) if d != 0 else sp.Integer(0) for d in forward_exact(model, factors))
    else:
        known_by_name = symbolic_pass(derivation, theta, x, targets)  # (forward mode of an exact network)
        known = {n.symbol: known_by_name[n.name] for n in model.nodes}
        local = lambda node, parent: model.local_derivative(node, parent).xreplace(known)  # noqa: E731
        convert = canonical
    return tuple(convert(d) if d != 0 else sp.Integer(0) for d in forward(model, local))


def forward_differs(derivation: Derivation, theta: Sequence[sp.Expr], sample: int,
                    gradient: Sequence[sp.Expr]) -> int | None:
    """The first parameter (index) whose forward-mode derivative differs from `gradient` at one sample, else None.

    For a compiled rational network the forward values n/D stay unreduced: n·q = p·D decides
    n/D = p/q exactly, without the gcd of every long numerator.
    """
    program = _program(derivation) if all(v.is_Rational for v in theta) else None
    try:
        compiled = None if program is None else program.local
    except NotImplementedError:
        program = None
    if program is None or not all(v.is_Rational for v in gradient):
        forward_values = forward_gradient(derivation, theta, sample)
        return next((i for i, (a, b) in enumerate(zip(gradient, forward_values)) if a != b), None)
    model = derivation.model
    x, targets = model.spec.x[sample - 1], model.spec.targets[sample - 1]
    env = program.environment(theta, x, targets)
    numerators, denominator = forward_scaled(model, {edge: f(env) for edge, f in compiled.items()})
    return next((i for i, (a, n) in enumerate(zip(gradient, numerators)) if n * a.q != a.p * denominator), None)


def _rational(value: Fraction) -> sp.Rational:
    """A Fraction (always in lowest terms, denominator positive) as a SymPy Rational, without SymPy's gcd."""
    return _FROM_COPRIME(value.numerator, value.denominator)


# SymPy >= 1.13 builds a Rational from a coprime pair directly; older ones normalise again
_FROM_COPRIME = getattr(sp.Rational, "from_coprime_ints", sp.Rational)


EXACT_IRRATIONAL_PARAMETERS = 12
# Exact rational steps roughly triple the digits of every parameter; past this size (about 900
# digits, well below the 4300 digits Python will print) later steps are 50-digit decimals too.
EXACT_RATIONAL_BITS = 3000
# Past this many parameters, values after a decimal step come from the compiled 60-digit pass, not
# SymPy's 50-digit Floats (whose last digits, printed in --json, differ; smaller networks keep them).
PRECISE_STEPS_ABOVE = 40



def train(derivation: Derivation, steps: int | None = None, learning_rate: sp.Rational | None = None, *,
          update_sign: int = -1, loss_reduction: Reduction | None = None,
          gradient_reduction: Reduction | None = None) -> Training:
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
        theta, omitted = _updated(derivation, current, eta, update_sign)
        irrational = not all(v is None or v.is_Rational or v.is_Float for v in theta)
        if (irrational and (step > 1 or spec.parameter_count > EXACT_IRRATIONAL_PARAMETERS)) or omitted \
                or _too_long(theta):
            # Exact expressions in exp and tanh nest deeper with every step and every layer; past
            # the first step (or in a bigger network) they are carried as 50-digit decimals instead,
            # and marked as such. The parameters after the first step stay exact (but for those
            # whose text would pass EXACT_TEXT_LIMIT: their decimals, named in `omitted`).
            numeric = numeric_step(derivation, current, eta, update_sign, reductions)
            evaluations.append(evaluate(derivation, numeric, **reductions))
            if step == 1:
                theta = tuple(n if v is None else v for v, n in zip(theta, numeric))
                evaluations[-1] = dataclasses.replace(evaluations[-1], theta=theta, omitted=frozenset(omitted))
            exact_steps = min(exact_steps, step - 1)
            continue
        evaluations.append(evaluate(derivation, theta, **reductions))
    return Training(eta, tuple(evaluations), exact_steps)


def _updated(derivation: Derivation, current: Evaluation, eta, sign: int) -> tuple[list, set]:
    """θ + sign·η·∇L exactly (frozen parameters unchanged); None (and ("theta", name) in the set) where the exact value is not
    built (its gradient was omitted) or its text would pass EXACT_TEXT_LIMIT."""
    theta, omitted = [], set()
    frozen = derivation.model.spec.frozen  # a frozen parameter keeps its value
    for p, w, g in zip(derivation.model.parameters, current.theta, current.gradient):
        if p.name in frozen:
            theta.append(w)
            continue
        value = None
        if ("gradient", p.name) not in current.omitted and ("theta", p.name) not in current.omitted:
            value = canonical(w + sign * eta * g)
            if not (value.is_Rational or value.is_Float) and len(exact(value)) > EXACT_TEXT_LIMIT:
                value = None
        if value is None:
            omitted.add(("theta", p.name))
        theta.append(value)
    return theta, omitted


def _too_long(theta) -> bool:
    return any(v is not None and v.is_Rational and max(abs(v.p).bit_length(), v.q.bit_length()) > EXACT_RATIONAL_BITS for v in theta)


# ---------------------------------------------------------------- fast passes (training curves)


