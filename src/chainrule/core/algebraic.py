"""Exact work with the real algebraic numbers question 7 meets: roots of polynomials in η with
rational coefficients (SymPy's root objects, or radicals), compared, bracketed and located exactly.

Comparisons and brackets come from checked rational approximations (`numbers.root_near`: Newton's
method, checked by a sign change); SymPy's own evaluation, which refines root objects by bisection
again and again at growing precision, is only asked when two values are within 1e-9 of each other.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp

from chainrule.numbers import PRECISION, numeric_value, root_near

ETA = sp.Symbol("eta", positive=True)


@lru_cache(maxsize=4096)
def sort_key(value):
    """Sort key for algebraic numbers: a rational within 1e-25 (cheap for root objects), then text."""
    return (approximation(value), str(value))


@lru_cache(maxsize=4096)
def approximation(value) -> sp.Rational:
    """value itself when rational, else a rational within a relative 1e-25 (without printing it:
    SymPy's printer orders the terms of an expression in root objects by evaluating them)."""
    return value if value.is_Rational else rational_near(value, 25)


def exactly_less(a, b) -> bool:
    """a < b, exactly, for rationals, algebraic numbers and oo.

    Decided from 12-digit approximations when they are relatively farther apart than 1e-9;
    otherwise by SymPy, which evaluates root objects again and again at growing precision.
    """
    if a is sp.oo:
        return False
    if b is sp.oo:
        return True
    if a.is_Rational and b.is_Rational:
        return bool(a < b)
    near_a, near_b = _near(a), _near(b)
    if abs(near_a - near_b) > (abs(near_a) + abs(near_b)) * _SEPARATED:
        return bool(near_a < near_b)
    return bool(a < b)


_SEPARATED = sp.Rational(1, 10**9)


@lru_cache(maxsize=4096)
def _near(value) -> sp.Rational:
    """A rational within a relative 1e-12 of value (a root object's isolating interval, refined)."""
    return rational_near(value, 12) if isinstance(value, sp.CRootOf) else rational_near(value, 15)


def rational_between(start, end) -> sp.Rational:
    """A rational strictly inside (start, end), checked exactly."""
    if end is sp.oo:
        return floor_of(start) + 1
    for digits in (20, 40, 80, 160):
        middle = (rational_near(start, digits) + rational_near(end, digits)) / 2
        if exactly_less(start, middle) and exactly_less(middle, end):
            return middle
    raise ArithmeticError("could not separate two algebraic numbers")


def floor_of(value) -> sp.Integer:
    """floor(value), exactly: from a 15-digit rational, checked by exact comparisons (SymPy's floor
    of a root object refines it by bisection); SymPy's own floor when the check cannot decide."""
    if value.is_Rational:
        return sp.floor(value)
    candidate = sp.floor(rational_near(value, 15))
    if not exactly_less(value, candidate) and exactly_less(value, candidate + 1):
        return candidate
    return sp.floor(value)


def rational_near(value, digits: int) -> sp.Rational:
    """A rational within a relative 10^-digits of value (a rational, a root object or an expression in them).

    Root objects are refined by `numbers.root_near` (Newton's method, checked exactly), not by
    SymPy's bisection, which costs milliseconds a root; expressions in them are evaluated at 60
    digits through it.
    """
    if value.is_Rational:
        return value
    if isinstance(value, sp.CRootOf):
        return root_near(value, digits)
    if digits <= PRECISION - 10:
        return sp.Rational(mpmath.nstr(numeric_value(value), digits))
    return sp.Rational(str(sp.N(value, digits)))


def roots_between(poly: sp.Poly, start, end) -> list:
    """The real roots of poly strictly between start and end, in increasing order.

    Between rational ends, Sturm's count (exact, a fraction of real_roots' isolation and factoring)
    first says whether there are any; a linear polynomial's root is read off its coefficients.
    """
    if poly.is_zero or poly.degree() <= 0:
        return []
    if start.is_Rational and (end is sp.oo or end.is_Rational) and \
            poly.count_roots(start, None if end is sp.oo else end) == 0:
        return []
    if poly.degree() == 1:
        slope, constant = poly.all_coeffs()
        roots = [-constant / slope]
    else:
        roots = real_roots(poly)
    return [r for r in roots if exactly_less(start, r) and exactly_less(r, end)]


def real_roots(poly: sp.Poly) -> list:
    """SymPy's real roots, in increasing order, each once."""
    if poly.is_zero or poly.degree() <= 0:
        return []
    return list(dict.fromkeys(sp.real_roots(poly)))


@lru_cache(maxsize=4096)
def minimal_polynomial(value) -> sp.Poly:
    """The minimal polynomial in η of an algebraic number (a root object or radicals)."""
    if isinstance(value, sp.CRootOf):  # the root object's own polynomial, renamed to η
        return sp.Poly(value.poly.all_coeffs(), ETA, domain="QQ")
    return sp.Poly(sp.minimal_polynomial(value, ETA), ETA, domain="QQ")


def is_root(poly: sp.Poly, value) -> bool:
    """Exact: does the polynomial vanish at this algebraic number?"""
    if value.is_Rational:
        return poly.eval(value) == 0
    return poly.rem(minimal_polynomial(value)).is_zero
