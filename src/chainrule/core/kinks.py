"""Kinks of piecewise expressions (ReLU, max, abs) as sign conditions, resolved into region indicators."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import sympy as sp
from sympy.logic.boolalg import ITE, And, BooleanFalse, BooleanTrue, Not, Or

from chainrule.core import certify


class Side(StrEnum):
    """A sign condition on a kink polynomial p: `p le 0`, `p gt 0`, … (printed as its value)."""

    LE = "le"
    LT = "lt"
    GE = "ge"
    GT = "gt"
    EQ = "eq"
    NE = "ne"

    @property
    def signs(self) -> frozenset[int]:
        """The signs of p (-1, 0, 1) this condition allows."""
        return SIGN_SETS[self]

    @property
    def flipped(self) -> Side:
        """The condition on -p."""
        return FLIP[self]

    @property
    def high(self) -> bool:
        """Is this a two-state kink's high state (p > 0 or p >= 0), where its indicator s is 1?"""
        return self in (Side.GT, Side.GE)


@dataclass(frozen=True)
class Kink:
    """A polynomial whose sign decides a branch; `indicator` is 1 where p > 0 (or p >= 0)."""

    polynomial: sp.Expr
    indicator: sp.Symbol
    ops: frozenset[Side]  # the condition forms seen

    @property
    def states(self) -> tuple[Side, ...]:
        if self.ops <= {Side.LE, Side.GT}:
            return (Side.LE, Side.GT)
        if self.ops <= {Side.LT, Side.GE}:
            return (Side.LT, Side.GE)
        return (Side.LT, Side.EQ, Side.GT)


class Undecided(Exception):
    """Raised inside the prover when a case falls outside what it can decide; becomes UNKNOWN."""


SIGN_SETS = {Side.LE: frozenset({-1, 0}), Side.LT: frozenset({-1}), Side.GE: frozenset({0, 1}),
             Side.GT: frozenset({1}), Side.EQ: frozenset({0}), Side.NE: frozenset({-1, 1})}


FLIP = {Side.LE: Side.GE, Side.LT: Side.GT, Side.GE: Side.LE, Side.GT: Side.LT, Side.EQ: Side.EQ, Side.NE: Side.NE}


_OPS = {sp.LessThan: Side.LE, sp.StrictLessThan: Side.LT, sp.GreaterThan: Side.GE, sp.StrictGreaterThan: Side.GT,
        sp.Equality: Side.EQ, sp.Unequality: Side.NE}


class Resolver:
    """Turns Piecewise expressions into polynomials in region indicators, registering kinks as found."""

    def __init__(self, deadline: float):
        self.kinks: list[Kink] = []
        # both sides as given: a counterexample assigns all their variables and lies inside their domain
        self.sides: tuple[sp.Expr, ...] = ()
        self.deadline = deadline
        self._cache: dict[sp.Expr, sp.Expr] = {}
        self.details: dict = {}  # (side, kinks, states) -> its region's detail, shared by the proofs it appears in
        self._ratios: dict[sp.Expr, int] = {}  # condition polynomial -> index of its kink

    def seconds_left(self) -> float:
        return max(0.05, min(certify.DEFAULT_SECONDS, self.deadline - time.monotonic()))

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Undecided("time limit")

    def resolve(self, expr: sp.Expr) -> sp.Expr:
        if not expr.has(sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign):
            return expr
        if expr in self._cache:
            return self._cache[expr]
        self.check_time()
        if isinstance(expr, (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign)):
            result = self.resolve(expr.rewrite(sp.Piecewise))
            if result.has(sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign):
                raise Undecided(f"cannot split {type(expr).__name__} into regions")
        elif isinstance(expr, sp.Piecewise):
            result = sp.Integer(0)
            remaining = sp.Integer(1)  # indicator that no earlier branch was taken
            for value, condition in expr.args:
                chosen = self.condition(condition)
                result += remaining * chosen * self.resolve(value)
                remaining = remaining * (1 - chosen)
            # an unmatched region of a Piecewise is undefined; our Piecewise always end in True
            if expr.args[-1][1] is not sp.true:
                raise Undecided("a Piecewise without a final 'otherwise' branch")
        else:
            result = expr.func(*(self.resolve(arg) for arg in expr.args))
        self._cache[expr] = result
        return result

    def condition(self, condition) -> sp.Expr:
        """Indicator expression (in region variables) of a boolean condition."""
        if isinstance(condition, BooleanTrue) or condition is True:
            return sp.Integer(1)
        if isinstance(condition, BooleanFalse) or condition is False:
            return sp.Integer(0)
        if isinstance(condition, And):
            return sp.Mul(*(self.condition(c) for c in condition.args))
        if isinstance(condition, Or):
            return 1 - sp.Mul(*(1 - self.condition(c) for c in condition.args))
        if isinstance(condition, Not):
            return 1 - self.condition(condition.args[0])
        if isinstance(condition, ITE):
            test, then, otherwise = (self.condition(c) for c in condition.args)
            return test * then + (1 - test) * otherwise
        op = _OPS.get(type(condition))
        if op is None:
            raise Undecided(f"cannot decide the condition {condition}")
        difference = sp.expand(self.resolve(condition.lhs - condition.rhs))
        if difference.is_number:
            sign = certify.sign(difference, self.seconds_left())
            if sign is None:
                raise Undecided(f"cannot decide the sign of the constant {str(difference)[:60]}")
            return sp.Integer(1 if sign in SIGN_SETS[op] else 0)
        kink, ratio = self.kink_for(difference, op)
        if ratio < 0:
            op = FLIP[op]
        return Indicator(kink, op)

    def kink_for(self, difference: sp.Expr, op: Side) -> tuple[Kink, sp.Rational]:
        known = self._ratios.get(difference)
        candidates = [known] if known is not None else range(len(self.kinks))
        for position in candidates:
            kink = self.kinks[position]
            ratio = constant_ratio(difference, kink.polynomial)
            if ratio is not None:
                self._ratios[difference] = position
                flipped = op if ratio > 0 else FLIP[op]
                if flipped not in kink.ops:
                    self.kinks[position] = kink = Kink(kink.polynomial, kink.indicator, kink.ops | {flipped})
                return kink, ratio
        primitive = _primitive(difference)
        ratio = constant_ratio(difference, primitive)
        if ratio is None:  # irrational coefficients (pi*w0): the kink is the difference itself
            primitive, ratio = difference, sp.Integer(1)
        kink = Kink(primitive, sp.Dummy(f"s{len(self.kinks)}"), frozenset({op if ratio > 0 else FLIP[op]}))
        self.kinks.append(kink)
        return kink, ratio


class Indicator(sp.Dummy):
    """Placeholder for 'condition op holds on this kink'; replaced once the kink's states are known.

    A Dummy, not a Symbol: SymPy caches Symbols by name, which would share stale attributes.
    It is 0 or 1, and says so: SymPy asks whether `1 - I` is finite, zero, ... as it builds the
    products, and a symbol without assumptions makes it search every rule for an answer.
    """

    def __new__(cls, kink: Kink, op: Side):
        obj = sp.Dummy.__new__(cls, f"I[{kink.indicator.name},{op}]", integer=True, nonnegative=True)
        obj.kink_indicator, obj.op = kink.indicator, op
        return obj


def constant_ratio(a: sp.Expr, b: sp.Expr) -> sp.Rational | None:
    """c such that a == c*b with c a nonzero rational constant, else None."""
    if a.free_symbols != b.free_symbols:
        return None
    gens = sorted(a.free_symbols, key=sp.default_sort_key)
    try:
        pa, pb = sp.Poly(a, *gens), sp.Poly(b, *gens)
    except sp.PolynomialError:
        return None
    if pa.monoms() != pb.monoms():
        return None
    ratio = pa.LC() / pb.LC()
    if not ratio.is_Rational or pa != pb * ratio:
        return None
    return ratio


def _primitive(p: sp.Expr) -> sp.Expr:
    """p scaled to integer coefficients with gcd 1 and a positive leading coefficient."""
    gens = sorted(p.free_symbols, key=sp.default_sort_key)
    try:
        poly = sp.Poly(p, *gens)
    except sp.PolynomialError:
        return p
    _, primitive = poly.clear_denoms()[1].primitive()
    if primitive.LC() < 0:
        primitive = -primitive
    return primitive.as_expr()


def region_value(expr: sp.Expr, kinks: list[Kink], states: dict[sp.Symbol, Side]) -> sp.Expr:
    """Replace every indicator by 0 or 1 for the given states."""
    mapping = {}
    for indicator in expr.atoms(Indicator):
        sign_set = SIGN_SETS[states[indicator.kink_indicator]]
        wanted = SIGN_SETS[indicator.op]
        if sign_set <= wanted:
            mapping[indicator] = sp.Integer(1)
        elif not sign_set & wanted:
            mapping[indicator] = sp.Integer(0)
        else:
            raise Undecided("a condition does not follow from the region")
    return expr.xreplace(mapping)


def holds_on_high(indicator: Indicator, kinks: list[Kink]) -> bool | None:
    """How a two-state kink's indicator is written in its s: True for s (it holds on the high
    state), False for 1 - s (on the low one), None for a kink with three states or a condition
    its states do not decide."""
    kink = next(k for k in kinks if k.indicator == indicator.kink_indicator)
    if len(kink.states) != 2:
        return None
    low, high = (SIGN_SETS[state] for state in kink.states)
    wanted = SIGN_SETS[indicator.op]
    if high <= wanted and not low & wanted:
        return True
    if low <= wanted and not high & wanted:
        return False
    return None


def multilinear(expr: sp.Expr, kinks: list[Kink]) -> sp.Expr | None:
    """With every kink two-state, write indicators as s or 1 - s and reduce s**k to s."""
    mapping = {}
    for indicator in expr.atoms(Indicator):
        on_high = holds_on_high(indicator, kinks)
        if on_high is None:
            return None
        s = indicator.kink_indicator
        mapping[indicator] = s if on_high else 1 - s
    reduced = sp.expand(expr.xreplace(mapping))
    indicators = {k.indicator for k in kinks}
    return sp.expand(reduced.replace(lambda e: e.is_Pow and e.base in indicators, lambda e: e.base))
