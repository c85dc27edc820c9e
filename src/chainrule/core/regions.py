"""Is a region of sign conditions empty? Exact Fourier–Motzkin elimination for linear conditions.

A region where no real point exists makes any identity hold there vacuously; the prover asks this
before it gives up on a region for lack of a counterexample.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from chainrule.core.kinks import Side

MAX_CONSTRAINTS = 4000

# A constraint is (coefficients, constant, strict): Σ a·v + c < 0 when strict, else ≤ 0.
Constraint = tuple[dict, Fraction, bool]


def _linear(p: sp.Expr) -> tuple[dict, Fraction] | None:
    try:
        poly = sp.Poly(p, *sorted(p.free_symbols, key=sp.default_sort_key))
    except sp.PolynomialError:
        return None
    if poly.total_degree() > 1 or not poly.domain.is_QQ and not poly.domain.is_ZZ:
        return None
    coefficients, constant = {}, Fraction(0)
    for monom, coefficient in poly.terms():
        value = Fraction(int(coefficient.p), int(coefficient.q))
        if sum(monom) == 0:
            constant = value
        else:
            coefficients[poly.gens[monom.index(1)]] = value
    return coefficients, constant


def _constraints(p: sp.Expr, state: Side) -> list[Constraint] | None:
    linear = _linear(sp.expand(p))
    if linear is None:
        return None
    a, c = linear
    negated = ({v: -x for v, x in a.items()}, -c)
    return {
        Side.LE: [(a, c, False)], Side.LT: [(a, c, True)],
        Side.GE: [(*negated, False)], Side.GT: [(*negated, True)],
        Side.EQ: [(a, c, False), (*negated, False)],
    }[state]


def is_empty(conditions: list[tuple[sp.Expr, Side]]) -> bool | None:
    """True if no real point satisfies every `p state 0`; False if one does; None if not linear."""
    constraints: list[Constraint] = []
    for p, state in conditions:
        found = _constraints(p, state)
        if found is None:
            return None
        constraints += found
    variables = sorted({v for a, _, _ in constraints for v in a}, key=sp.default_sort_key)
    for variable in variables:
        positive = [k for k in constraints if k[0].get(variable, 0) > 0]
        negative = [k for k in constraints if k[0].get(variable, 0) < 0]
        rest = [k for k in constraints if k[0].get(variable, 0) == 0]
        for a_p, c_p, s_p in positive:
            for a_n, c_n, s_n in negative:
                x, y = -a_n[variable], a_p[variable]  # both positive multipliers
                merged = {v: x * a_p.get(v, 0) + y * a_n.get(v, 0) for v in set(a_p) | set(a_n)}
                merged = {v: value for v, value in merged.items() if value != 0 and v != variable}
                rest.append((merged, x * c_p + y * c_n, s_p or s_n))
        if len(rest) > MAX_CONSTRAINTS:
            return None
        constraints = rest
    for _, constant, strict in constraints:
        if constant > 0 or (strict and constant == 0):
            return True
    return False
