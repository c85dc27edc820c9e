"""Decide whether two expressions are equal for all real values of their variables.

Piecewise expressions (ReLU, max, abs) are split at their kinks. Each kink polynomial p gets a
region variable; on every region both sides reduce to polynomials, and a polynomial identity is
decided exactly by expansion over the rationals. The verdict is three-valued: PROVED, REFUTED
(with an exact counterexample point) or UNKNOWN (with the reason) — never a guess.
"""

from __future__ import annotations

import enum
import itertools
import random
import time
from dataclasses import dataclass

import sympy as sp

from chainrule.core import certify
from chainrule.core.forms import Forms
from chainrule.core.kinks import (
    SIGN_SETS,
    Indicator,
    Kink,
    Resolver,
    Side,
    Undecided,
    multilinear,
    region_value,
)
from chainrule.core.regions import is_empty
from chainrule.numbers import AGREEMENT_DIGITS, PRECISION

MAX_REGIONS = 256
WITNESS_TRIES = 400


class Verdict(enum.Enum):
    PROVED = "proved"
    REFUTED = "refuted"
    UNKNOWN = "unknown"


class Basis(enum.Enum):
    """What a verdict rests on: code and templates branch on this, never on the method's words."""

    SYMBOLIC = "an identity in x, y and θ, decided symbolically (region by region)"
    CHAIN_RULE = "the chain rule over the computation graph"
    EXACT_EVALUATION = "exact evaluation at points"
    DIGITS_45 = f"agreement to {AGREEMENT_DIGITS} significant digits in {PRECISION}-digit arithmetic"


@dataclass(frozen=True)
class Region:
    """One sign pattern of the kinks, and what both sides reduce to there."""

    signs: tuple[tuple[sp.Expr, str], ...]  # (kink polynomial, state) pairs
    verdict: Verdict
    value: sp.Expr | None  # the common polynomial when proved


@dataclass(frozen=True)
class Proof:
    verdict: Verdict
    method: str
    regions: tuple[Region, ...] = ()
    counterexample: tuple[tuple[sp.Symbol, sp.Expr], ...] | None = None
    reason: str | None = None
    basis: Basis = Basis.SYMBOLIC

    @property
    def proved(self) -> bool:
        return self.verdict is Verdict.PROVED


def _is_zero(expr: sp.Expr, resolver: Resolver) -> bool | None:
    """Exact zero test: True, False (a nonzero polynomial), or None when not decidable by algebra."""
    expanded = sp.expand(expr)
    if expanded == 0:
        return True
    if _is_polynomial(expanded):
        return _polynomial_is_zero(expanded, resolver)
    resolver.check_time()
    combined = sp.cancel(sp.together(expanded.rewrite(sp.exp)))
    if combined == 0:
        return True
    return None


def _polynomial_is_zero(expanded: sp.Expr, resolver: Resolver) -> bool | None:
    """Zero iff every coefficient is; a coefficient such as sin(1)**2 + cos(1)**2 - 1 is certified."""
    gens = sorted(expanded.free_symbols, key=sp.default_sort_key)
    coefficients = sp.Poly(expanded, *gens).coeffs() if gens else [expanded]
    if all(c.is_Rational for c in coefficients):
        return False  # expanded != 0, so some rational coefficient is nonzero
    undecided = False
    for coefficient in coefficients:
        resolver.check_time()
        sign = certify.sign(coefficient, resolver.seconds_left())
        if sign in (1, -1):
            return False
        undecided = undecided or sign is None
    return None if undecided else True


def _is_polynomial(expr: sp.Expr) -> bool:
    return expr.is_polynomial(*expr.free_symbols)


class Prover:
    """Decides many identities over the same expressions, sharing the work of splitting them."""

    def __init__(self, time_limit: float = 30.0, regions_detail: int = 8):
        self.time_limit, self.regions_detail = time_limit, regions_detail
        self.resolver = Resolver(time.monotonic() + time_limit)
        self.forms = Forms()  # each side as a ring element, shared by the proofs it appears in

    def prove(self, lhs: sp.Expr, rhs: sp.Expr, *, detail: bool = True) -> Proof:
        """Decide lhs == rhs for all real values of the free symbols, region by region.

        With `detail=False`, an identity that holds at once on every region (the multilinear form of
        the difference is 0) is proved without working out each region's polynomial: no `regions`.
        """
        self.resolver.deadline = time.monotonic() + self.time_limit
        try:
            return _prove(lhs, rhs, self.resolver, self.forms, self.regions_detail if detail else 0)
        except Undecided as why:
            return Proof(Verdict.UNKNOWN, "undecided", reason=str(why))
        except RecursionError:
            return Proof(Verdict.UNKNOWN, "undecided", reason="expression too deeply nested")
        except (ArithmeticError, ValueError) as error:  # SymPy's assumptions overflowed mpmath, ...
            return Proof(Verdict.UNKNOWN, "undecided", reason=f"could not evaluate ({str(error)[:80]})")


def prove_equal(lhs: sp.Expr, rhs: sp.Expr, *, time_limit: float = 30.0,
                regions_detail: int = 8) -> Proof:
    """Decide lhs == rhs for all real values of the free symbols, region by region."""
    return Prover(time_limit, regions_detail).prove(lhs, rhs)


def _expression(value) -> sp.Expr:
    """SymPy objects pass through; plain integers become Integers; text is refused, never parsed."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, int):
        return sp.Integer(value)
    raise TypeError(f"expected a SymPy expression, got {type(value).__name__}")


def _relevant(expr: sp.Expr, kinks: list[Kink]) -> list[Kink]:
    """The kinks an expression's branches depend on, directly or through other kinks."""
    by_indicator = None  # built at the first branch: a lemma without one (∂z/∂w = a) needs no look at the kinks
    wanted, frontier = set(), [expr]
    while frontier:
        for atom in frontier.pop().atoms(Indicator):
            if atom.kink_indicator not in wanted:
                wanted.add(atom.kink_indicator)
                by_indicator = by_indicator or {k.indicator: k for k in kinks}
                frontier.append(by_indicator[atom.kink_indicator].polynomial)
    return [k for k in kinks if k.indicator in wanted] if wanted else []


def _prove(lhs: sp.Expr, rhs: sp.Expr, resolver: Resolver, forms: Forms, regions_detail: int) -> Proof:
    lhs, rhs = _expression(lhs), _expression(rhs)
    resolver.sides = (lhs, rhs)
    left, right = resolver.resolve(lhs), resolver.resolve(rhs)
    kinks = _relevant(sp.Tuple(left, right), resolver.kinks) if resolver.kinks else []
    if not kinks:
        zero = _is_zero(left - right, resolver)
        if zero:
            return Proof(Verdict.PROVED, "identity by exact expansion")
        return _refute_or_unknown(left - right, [], {}, zero, "identity by exact expansion", resolver)
    regions_count = 1
    for kink in kinks:
        regions_count *= len(kink.states)
    method = f"polynomial identity on each of {regions_count} regions"
    zero = forms.difference_is_zero(left, right, kinks, resolver.check_time)
    if zero is None:  # not a polynomial over the rationals (or a three-state kink): as an expression
        zero = multilinear(left - right, kinks) == 0
    if zero:
        detail = ()
        if regions_count <= regions_detail:  # both sides are the same polynomial there: the right one,
            # backpropagation's product form, expands faster than the composed derivative on the left
            detail = tuple(_region_detail(right, kinks, states, resolver.details, forms)
                           for states in _all_states(kinks))
        return Proof(Verdict.PROVED, method, detail)
    if regions_count > MAX_REGIONS:
        raise Undecided(f"{regions_count} regions exceed the limit of {MAX_REGIONS}")
    regions, counterexample, unknown_reason = [], None, None
    for states in _all_states(kinks):
        resolver.check_time()
        d = region_value(left - right, kinks, states)
        d, eliminated = _restrict_to_equalities(d, kinks, states)
        zero = _is_zero(d, resolver)
        signs = tuple((k.polynomial, states[k.indicator]) for k in kinks)
        if zero:
            regions.append(Region(signs, Verdict.PROVED, None))
            continue
        found = _refute_or_unknown(d, kinks, states, zero, method, resolver, eliminated)
        if found.verdict is Verdict.UNKNOWN and _empty(kinks, states):
            regions.append(Region(signs, Verdict.PROVED, None))  # no real point: holds vacuously
            continue
        regions.append(Region(signs, found.verdict, None))
        if found.verdict is Verdict.REFUTED and counterexample is None:
            counterexample = found.counterexample
        unknown_reason = unknown_reason or found.reason
    detail = tuple(regions) if regions_count <= regions_detail else ()
    if counterexample is not None:
        return Proof(Verdict.REFUTED, method, detail, counterexample=counterexample)
    if unknown_reason is not None:
        return Proof(Verdict.UNKNOWN, method, detail, reason=unknown_reason)
    return Proof(Verdict.PROVED, method, detail)


def _empty(kinks: list[Kink], states: dict) -> bool:
    conditions = [(sp.expand(region_value(k.polynomial, kinks, states)), states[k.indicator]) for k in kinks]
    return is_empty(conditions) is True


def _all_states(kinks: list[Kink]):
    for combination in itertools.product(*(k.states for k in kinks)):
        yield {k.indicator: state for k, state in zip(kinks, combination)}


def _region_detail(side: sp.Expr, kinks: list[Kink], states: dict, memo: dict, forms: Forms) -> Region:
    """A side's polynomial on one region, with the region's sign conditions (the same side on
    the same region recurs across a chain's steps and its identity: worked out once)."""
    key = (side, tuple(kinks), tuple(states.items()))
    if key not in memo:
        memo[key] = _work_out_region(side, kinks, states, forms)
    return memo[key]


def _work_out_region(side: sp.Expr, kinks: list[Kink], states: dict, forms: Forms) -> Region:
    value = forms.on_region(side, kinks, states)  # from the ring the zero test read it into
    if value is None:
        value = sp.expand(region_value(side, kinks, states).xreplace(
            {k.indicator: sp.Integer(1 if states[k.indicator].high else 0) for k in kinks}))
    polynomials = tuple(
        (sp.expand(region_value(k.polynomial, kinks, states)), states[k.indicator]) for k in kinks)
    return Region(polynomials, Verdict.PROVED, value)


def _restrict_to_equalities(d: sp.Expr, kinks: list[Kink], states: dict) -> tuple[sp.Expr, dict]:
    """On a region where a kink polynomial is 0, eliminate one variable that it determines linearly."""
    eliminated: dict[sp.Symbol, sp.Expr] = {}
    for kink in kinks:
        if states[kink.indicator] is not Side.EQ:
            continue
        p = sp.expand(region_value(kink.polynomial, kinks, states).xreplace(eliminated))
        for variable in sorted(p.free_symbols, key=sp.default_sort_key):
            coefficient = p.coeff(variable, 1)
            if coefficient.is_number and coefficient != 0 and sp.degree(p, variable) == 1:
                solution = sp.expand(-(p - coefficient * variable) / coefficient)
                eliminated = {v: sp.expand(e.xreplace({variable: solution})) for v, e in eliminated.items()}
                eliminated[variable] = solution
                d = sp.expand(d.xreplace({variable: solution}))
                break
        else:
            raise Undecided("cannot restrict to a kink surface that is not linear in a variable")
    return d, eliminated


def _refute_or_unknown(d, kinks, states, zero, method, resolver, eliminated=None) -> Proof:
    """Look for an exact point of the region where d != 0; without one, the verdict is UNKNOWN."""
    point = _witness(d, kinks, states, resolver, eliminated or {})
    if point is not None:
        return Proof(Verdict.REFUTED, method, counterexample=point)
    if zero is False:
        reason = "the two sides differ as polynomials, but no point of the region was found to show it"
    else:
        reason = "could not reduce the difference to a polynomial"
    return Proof(Verdict.UNKNOWN, method, reason=reason)


def _witness(d, kinks, states, resolver, eliminated) -> tuple[tuple[sp.Symbol, sp.Expr], ...] | None:
    indicators = {k.indicator for k in kinks}
    sides = set().union(*(side.free_symbols for side in resolver.sides))  # only a refutation needs them
    variables = sorted((d.free_symbols | sides | {s for k in kinks for s in k.polynomial.free_symbols})
                       - indicators,
                       key=sp.default_sort_key)
    variables = [v for v in variables if not isinstance(v, Indicator) and v not in eliminated]
    rng = random.Random(20211)
    candidates = [sp.Rational(n, m) for n in range(-4, 5) for m in (1, 2, 3)]
    kink_values = [(sp.expand(region_value(k.polynomial, kinks, states)), states[k.indicator]) for k in kinks]
    for attempt in range(WITNESS_TRIES):
        resolver.check_time()
        scale = 1 + attempt // 50
        point = {v: rng.choice(candidates) * scale for v in variables}
        point.update({v: e.xreplace(point) for v, e in eliminated.items()})
        if not all(_certainly(state, p.xreplace(point), resolver) for p, state in kink_values):
            continue
        if _nonzero(d.xreplace(point), resolver) and all(_defined(side.xreplace(point), resolver)
                                                          for side in resolver.sides):
            return tuple(sorted(point.items(), key=lambda item: sp.default_sort_key(item[0])))
    return None


def _certainly(state: Side, value: sp.Expr, resolver: Resolver) -> bool:
    """Is the point certainly on this side of the kink? (Undecided counts as no.)"""
    sign = certify.sign(value, resolver.seconds_left())
    return sign is not None and sign in SIGN_SETS[state]


def _defined(value: sp.Expr, resolver: Resolver) -> bool:
    """Is a side a real number at the point? log(0), 1/0, log(-1) are not: such a point is skipped."""
    if value.is_Rational:
        return True
    if value.free_symbols:
        return False
    return certify.sign(value, resolver.seconds_left()) is not None


def _nonzero(value: sp.Expr, resolver: Resolver) -> bool:
    """Certainly nonzero; a point where the value is undefined (a pole, NaN) is skipped, not compared."""
    value = sp.nsimplify(value) if value.is_Float else value
    if value.is_Rational:
        return value != 0
    return certify.sign(value, resolver.seconds_left()) in (1, -1)
