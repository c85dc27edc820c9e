"""The 60-digit passes: exp, tanh and log networks evaluated from compiled closures, not SymPy trees.

One compiled trainer per derivation (`FastTrainer` over mpmath numbers) serves the forward-mode
check, the parameters after a decimal step and every value whose exact form is too long to build.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import mpmath
import sympy as sp
from mpmath.libmp import dps_to_prec, mpf_pos, round_nearest, to_fixed

from chainrule.core.compiled import FastTrainer
from chainrule.core.derivation import Derivation
from chainrule.numbers import AGREEMENT_DIGITS, PRECISION, mpf, numeric_value


def numeric_check(derivation: Derivation, theta: Sequence[sp.Expr]) -> list[tuple[int, int, object, object]]:
    """Backpropagation against forward accumulation in 60-digit arithmetic, for every sample.

    Returns (sample, parameter index, backprop, forward) where they differ beyond AGREEMENT_DIGITS
    digits: the bound of `numbers.agree`, applied here to mpf values without converting each one.
    """
    model = derivation.model
    with mpmath.workdps(PRECISION):
        trainer = mp_trainer(derivation)
        differences = []
        tolerance = mpmath.mpf(10) ** -AGREEMENT_DIGITS
        for number, (x, targets) in enumerate(zip(model.spec.x, model.spec.targets), start=1):
            env, backward = _pass(derivation, theta, x, targets)
            # The accumulation runs in fixed point with FIXED_BITS fraction bits (Python integers, far
            # cheaper than 60-digit floats): its absolute error stays near 10^-55 at these sizes.
            fixed = lambda node, parent: to_fixed(trainer.local[(node.symbol, parent.symbol)](env)._mpf_,  # noqa: E731
                                                  FIXED_BITS)
            forwards = forward(model, fixed, shift=FIXED_BITS)
            for i, (a, b) in enumerate(zip(backward, forwards)):
                b = mpmath.ldexp(mpmath.mpf(b), -FIXED_BITS)
                if abs(a - b) > tolerance * max(1, abs(a), abs(b)):
                    differences.append((number, i, a, b))
        return differences


FIXED_BITS = 220  # fraction bits of the fixed-point forward accumulation: 66 decimal digits


_PASSES: list = []  # the last few θ: (derivation, θ, θ's 60-digit values, {(x, targets): (env, gradient)})


def _pass(derivation: Derivation, theta, x, targets) -> tuple[list, list]:
    """One sample's 60-digit environment and gradient at θ (call inside mpmath.workdps(PRECISION)),
    remembered for the next few calls: the check, the decimal step and omitted values share them.

    θ is found by identity first (every sample of a pass hands over the same tuple; a list could change): hashing a
    tuple of thousands of 50-digit Floats, and converting them again, cost more than the pass.
    """
    entry = next((e for e in _PASSES if e[0] is derivation and e[1] is theta and isinstance(theta, tuple)), None) or \
        next((e for e in _PASSES if e[0] is derivation and tuple(e[1]) == tuple(theta)), None)
    if entry is None:
        if len(_PASSES) >= 4:
            del _PASSES[0]
        entry = (derivation, theta, mp_values(theta), {})
        _PASSES.append(entry)
    samples = entry[3]
    key = (tuple(x), tuple(targets))
    known = samples.get(key)
    if known is None:
        if len(samples) >= 64:
            samples.clear()
        trainer = mp_trainer(derivation)
        env = trainer.environment(entry[2], [mpf(v) for v in x], [mpf(v) for v in targets])
        known = samples[key] = (env, [f(env) for f in trainer.gradient])
    return known


def mp_values(theta) -> list:
    """θ as 60-digit numbers (call inside mpmath.workdps(PRECISION))."""
    return [mpf(fraction(v)) if v.is_Rational else numeric_value(v) for v in theta]


_MP_TRAINERS: dict[int, tuple] = {}


def mp_trainer(derivation: Derivation) -> "FastTrainer":
    if id(derivation) not in _MP_TRAINERS:
        trainer = FastTrainer(derivation, mpf)
        trainer.local = trainer.local_derivatives()
        _MP_TRAINERS[id(derivation)] = (derivation, trainer)
    return _MP_TRAINERS[id(derivation)][1]


def forward(model, local, shift: int = 0) -> list:
    """Forward accumulation of ∂L/∂θ through the graph, from each node's local derivatives.

    `shift`: the numbers are integers in fixed point with that many fraction bits.
    """
    one = 1 << shift
    tangent: dict[sp.Symbol, dict[int, object]] = {p.symbol: {i: one} for i, p in enumerate(model.parameters)}
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
            if shift:
                for i, d in incoming.items():
                    total[i] = total.get(i, 0) + (factor * d >> shift)
            else:
                for i, d in incoming.items():
                    total[i] = total.get(i, 0) + factor * d
        tangent[node.symbol] = total
    result = tangent[model.loss.symbol]
    return [result.get(i, 0) for i in range(len(model.parameters))]


def forward_exact(model, factors: dict) -> list[Fraction]:
    """`forward` for exact Fraction local derivatives ((node, parent) symbols -> Fraction), in integers.

    Every factor is written over one common denominator D; a node's tangents are integers over
    D^k (k: its longest path from a parameter), so the sums need no gcd until the end. Exact.
    """
    numerators, denominator = forward_scaled(model, factors)
    return [Fraction(n, denominator) for n in numerators]


def forward_scaled(model, factors: dict) -> tuple[list[int], int]:
    """`forward_exact` before its one gcd per parameter: ∂L/∂θ_i = numerators[i] / denominator."""
    denominator = math.lcm(*(f.denominator for f in factors.values())) if factors else 1
    scaled = {edge: f.numerator * (denominator // f.denominator) for edge, f in factors.items()}
    tangent: dict = {p.symbol: {i: 1} for i, p in enumerate(model.parameters)}
    power: dict = {p.symbol: 0 for p in model.parameters}
    for node in model.nodes:
        if node.definition is None:
            continue
        parents = [(parent, tangent[parent.symbol]) for parent in model.parents(node) if tangent.get(parent.symbol)]
        k = 1 + max((power[parent.symbol] for parent, _ in parents), default=0)
        total: dict[int, int] = {}
        for parent, incoming in parents:
            factor = scaled[(node.symbol, parent.symbol)]
            if factor == 0:  # an inactive ReLU passes nothing on
                continue
            factor *= denominator ** (k - 1 - power[parent.symbol])
            for i, d in incoming.items():
                total[i] = total.get(i, 0) + factor * d
        tangent[node.symbol], power[node.symbol] = total, k
    result, k = tangent[model.loss.symbol], power.get(model.loss.symbol, 0)
    return [result.get(i, 0) for i in range(len(model.parameters))], denominator ** k


def fraction(value: sp.Rational) -> Fraction:
    return Fraction(int(value.p), int(value.q))



def numeric_step(derivation: Derivation, current, eta, sign: int, reductions: dict) -> tuple:
    """θ after one step as 50-digit decimals, from a 60-digit pass (no evaluation of big exact trees)."""
    spec = derivation.model.spec
    mask = spec.step_mask  # a frozen parameter keeps its value
    if all(v.is_Float for v in current.theta):
        return tuple(sp.Float(w + sign * eta * g, 50) if m else w
                     for w, g, m in zip(current.theta, current.gradient, mask))
    with mpmath.workdps(PRECISION):
        trainer = mp_trainer(derivation)
        values = mp_values(current.theta)
        total = [mpmath.mpf(0)] * len(values)
        for x, targets in zip(spec.x, spec.targets):
            total = [t + g for t, g in zip(total, _pass(derivation, current.theta, x, targets)[1])]
        reduction = reductions.get("gradient_reduction") or spec.reduction_samples
        count = reduction.divisor(len(trainer.data))
        rate = mpf(fraction(sp.Rational(eta)))
        return tuple(sp.Float(str(w + sign * rate * t / count), 50) if m else kept
                     for w, t, m, kept in zip(values, total, mask, current.theta))


def precise_sample(derivation: Derivation, theta: Sequence[sp.Expr], x, targets) -> dict:
    """One sample's nodes, δ's and gradient (keys as `numerics` uses them) from a 60-digit pass, as
    50-digit Floats: the values whose exact trees are too long to build, and every value after a
    decimal step."""
    model = derivation.model
    with mpmath.workdps(PRECISION):
        trainer = mp_trainer(derivation)
        env, gradient = _pass(derivation, theta, x, targets)
        result = {node.name: _float(env[trainer.index[node.symbol]]) for node in (*model.nodes, *model.deltas)}
        for p, value in zip(model.parameters, gradient):
            result[("gradient", p.name)] = _float(value)
    return result


_BITS_50 = dps_to_prec(50)


def _float(value) -> sp.Float:
    """A 60-digit number rounded to a 50-digit Float (0 stays 0.0, as a decimal step's would)."""
    return sp.Float._new(mpf_pos(value._mpf_, _BITS_50, round_nearest), _BITS_50, zero=False)
