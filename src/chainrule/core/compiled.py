"""Expressions compiled to closures over Fraction, float or 60-digit numbers (no eval), and the fast trainer.

A SymPy tree is walked once into nested closures; the trainer runs the forward pass, the δ recursion
and the gradient from them, for the training curves and the high-precision checks.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction

import mpmath
import sympy as sp

from chainrule.core.derivation import Derivation
from chainrule.numbers import MP_FUNCTIONS, PRECISION, mpf

_FLOAT_FUNCTIONS = {sp.exp: math.exp, sp.tanh: math.tanh, sp.log: math.log}


_COMPARE = {sp.LessThan: operator.le, sp.StrictLessThan: operator.lt, sp.GreaterThan: operator.ge,
            sp.StrictGreaterThan: operator.gt, sp.Equality: operator.eq, sp.Unequality: operator.ne}


def compile_numeric(expr: sp.Expr, symbols: dict[sp.Symbol, int], number=float):
    """A closure computing expr with `number` arithmetic (float or Fraction) from a list of values.

    No eval: the expression tree is walked once into nested closures. Fractions stay exact; a
    function such as exp has no exact Fraction value and raises NotImplementedError.
    """
    if expr.is_Number:
        if expr.is_Rational:
            value = number(Fraction(int(expr.p), int(expr.q)))
        else:
            value = number(mpmath.mpf(str(sp.N(expr, PRECISION)))) if number is mpf else number(float(expr))
        return lambda env: value
    if expr.is_Symbol:
        index = symbols[expr]
        return lambda env: env[index]
    if isinstance(expr, sp.Add):
        if number is Fraction:
            terms = _monomials(expr, symbols)
            if terms is not None:
                return _exact_polynomial(terms)
        parts = [compile_numeric(a, symbols, number) for a in expr.args]
        return _exact_sum(parts) if number is Fraction else lambda env: sum(p(env) for p in parts)
    if isinstance(expr, sp.Mul):
        parts = [compile_numeric(a, symbols, number) for a in expr.args]
        return _exact_product(parts) if number is Fraction else lambda env: math.prod(p(env) for p in parts)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        base, exponent = compile_numeric(expr.base, symbols, number), int(expr.exp)
        return lambda env: base(env) ** exponent
    if isinstance(expr, sp.Piecewise):
        branches = [(compile_numeric(value, symbols, number), _condition(condition, symbols, number))
                    for value, condition in expr.args]
        return lambda env: next(v(env) for v, c in branches if c(env))
    function = (MP_FUNCTIONS if number is mpf else _FLOAT_FUNCTIONS).get(expr.func)
    if function is not None and number in (float, mpf):
        inner = compile_numeric(expr.args[0], symbols, number)
        return lambda env: function(inner(env))
    raise NotImplementedError(f"no {number.__name__} evaluation for {expr.func}")


def _monomials(expr: sp.Add, symbols: dict) -> list[tuple[int, int, tuple[int, ...]]] | None:
    """A sum of products of symbols and rational constants (z = Σ w·a + b, Σ δ·w) as
    (numerator, denominator, positions of the factors) per term; None for anything else."""
    terms = []
    for term in expr.args:
        numerator, denominator, positions = 1, 1, []
        for factor in sp.Mul.make_args(term):
            if factor.is_Symbol:
                positions.append(symbols[factor])
            elif factor.is_Rational:
                numerator, denominator = numerator * int(factor.p), denominator * int(factor.q)
            else:
                return None
        terms.append((numerator, denominator, tuple(positions)))
    return terms


def _exact_polynomial(terms):
    """Σ c·Π env[i] for Fractions over one common denominator: one gcd for the sum, not two per term.

    Each term's numerator and denominator are the products of its factors'; the sum is taken over
    their least common multiple and reduced once. The same exact value as adding Fractions term by term.
    """
    def total(env):
        numerators, denominators = [], []
        for numerator, denominator, positions in terms:
            for i in positions:
                value = env[i]
                if not value:  # an inactive ReLU's term: exactly nothing to add
                    break
                numerator, denominator = numerator * value.numerator, denominator * value.denominator
            else:
                numerators.append(numerator)
                denominators.append(denominator)
        return common_sum(numerators, denominators) if numerators else Fraction(0)
    return total


def common_sum(numerators, denominators, divide: int = 1) -> Fraction:
    """Σ n/d (divided by `divide`) over the least common denominator, reduced once: the same exact
    value as adding Fractions term by term, without a gcd per term."""
    common = math.lcm(*denominators)
    return Fraction(sum(n * (common // d) for n, d in zip(numerators, denominators)), common * divide)


def _exact_sum(parts):
    """Σ parts for Fractions, skipping zero terms (an inactive ReLU's): the same exact value, less gcd work."""
    first, rest = parts[0], parts[1:]

    def total(env):
        value = first(env)
        for part in rest:
            term = part(env)
            if term:
                value = value + term if value else term
        return value
    return total


def _exact_product(parts):
    """Π parts for Fractions, stopping at a zero factor (exact values are finite, so the product is 0)."""
    first, rest = parts[0], parts[1:]

    def product(env):
        value = first(env)
        for part in rest:
            if not value:
                return value
            value = value * part(env)
        return value
    return product


def _condition(condition, symbols, number):
    if condition is sp.true:
        return lambda env: True
    compare = _COMPARE.get(type(condition))
    if compare is None:
        raise NotImplementedError(f"no evaluation for {condition}")
    left, right = compile_numeric(condition.lhs, symbols, number), compile_numeric(condition.rhs, symbols, number)
    return lambda env: compare(left(env), right(env))


class FastTrainer:
    """Loss and mean gradient with plain Python numbers, from the same node definitions and δ recursion."""

    def __init__(self, derivation: Derivation, number=float):
        model = derivation.model
        self.model, self.spec, self.number = model, model.spec, number
        order = [*model.leaves, *(n for n in model.nodes if n.definition is not None), *model.deltas]
        self.index = {node.symbol: i for i, node in enumerate(order)}
        self.size = len(order)
        self.steps = [(self.index[n.symbol], compile_numeric(n.definition, self.index, number))
                      for n in model.nodes if n.definition is not None]
        self.steps += [(self.index[u.delta.symbol],
                        compile_numeric(derivation.delta_formula[u.delta.name], self.index, number))
                       for u in reversed(model.units)]
        self.gradient = [compile_numeric(derivation.backprop[p.name], self.index, number) for p in model.parameters]
        self.loss_index = self.index[model.loss.symbol]
        self.data = [([number(v) for v in x], [number(v) for v in t]) for x, t in zip(self.spec.x, self.spec.targets)]
        self.slots = ([self.index[n.symbol] for n in model.inputs], [self.index[n.symbol] for n in model.targets],
                      [self.index[n.symbol] for n in model.parameters])

    def local_derivatives(self) -> dict:
        """(node, parent) -> ∂node/∂parent of the node's own definition, compiled: forward mode's parts."""
        model = self.model
        return {(n.symbol, parent.symbol): compile_numeric(model.local_derivative(n, parent), self.index, self.number)
                for n in model.nodes if n.definition is not None for parent in model.parents(n)}

    def environment(self, theta, x, targets) -> list:
        """Every node's and δ's value for one sample, by position."""
        env = [0] * self.size
        for slots, values in zip(self.slots, (x, targets, theta)):
            for position, value in zip(slots, values):
                env[position] = value
        for position, compute in self.steps:
            env[position] = compute(env)
        return env

    def loss_and_gradient(self, theta):
        """The dataset loss and its gradient (mean or sum over the samples, as the spec says)."""
        count = self.spec.reduction_samples.divisor(len(self.data))
        total, gradient = 0, [0] * len(theta)
        for x, targets in self.data:
            env = self.environment(theta, x, targets)
            total += env[self.loss_index]
            gradient = [g + f(env) for g, f in zip(gradient, self.gradient)]
        return total / count, [g / count for g in gradient]
