"""The multilinear zero test of an identity, in SymPy's sparse polynomial rings over QQ.

`kinks.multilinear` writes each region indicator as s or 1 - s, expands the difference of the two
sides and reduces s**k to s; the identity holds on every region when that is 0. The same test, read
into a polynomial ring instead of expanded as a SymPy expression: each side is converted once, and
what the sides of a chain share (the forward pass, the δ's) once for all of them, so a chain's steps
and its identity pay for their differences only. Exact over the rationals; anything that is not a
polynomial with rational coefficients (exp, a Float, a negative power) is left to `multilinear`.
"""

from __future__ import annotations

import operator
from functools import reduce

import sympy as sp
from sympy.polys.rings import PolyRing

from chainrule.core.kinks import Indicator, Kink, holds_on_high


class NotPolynomial(Exception):
    """A side is not a polynomial with rational coefficients: the expression path decides."""


class Forms:
    """Sides converted to ring elements, remembered for every proof of one prover."""

    def __init__(self):
        self._rings: dict = {}
        self._symbols: dict = {}
        self._memo: dict = {}
        self._read: dict = {}  # the last identity's two sides as ring elements
        self._region_gens: dict = {}

    def difference_is_zero(self, left: sp.Expr, right: sp.Expr, kinks: list[Kink],
                           check_time=lambda: None) -> bool | None:
        """Is the multilinear form of left - right zero? None when this test cannot tell.

        Sides that are the same expression are not converted: SymPy's left - right cancels them at
        once, while expanding each (a deep network's δ over 19 kinks) can take minutes. `check_time`
        is called at every sum, product and power converted and may raise (the prover's deadline).
        """
        self._read = {}
        if left == right:
            return True
        symbols = self._free(left) | self._free(right)
        indicators = [s for s in symbols if isinstance(s, Indicator)]
        region = {k.indicator for k in kinks}
        gens = tuple(sorted((symbols - set(indicators)) | region, key=sp.default_sort_key))
        ring = self._rings.get(gens)
        if ring is None:
            ring = self._rings[gens] = PolyRing(gens, sp.QQ)
        mapping = dict(zip(gens, ring.gens))
        for indicator in indicators:
            on_high = holds_on_high(indicator, kinks)
            if on_high is None:
                return None
            s = mapping[indicator.kink_indicator]
            mapping[indicator] = s if on_high else 1 - s
        # an indicator is written by its kink's states: a side converted under other states is stale
        memo = self._memo.setdefault((gens, frozenset((k.indicator, k.states) for k in kinks)), {})
        try:
            sides = _convert(left, mapping, memo, ring, check_time), _convert(right, mapping, memo, ring, check_time)
        except NotPolynomial:
            return None
        self._read = {left: sides[0], right: sides[1]}
        self._region_gens = {k.indicator: mapping[k.indicator] for k in kinks}
        difference = sides[0] - sides[1]
        positions = [i for i, g in enumerate(gens) if g in region]
        reduced: dict = {}
        for monomial, coefficient in difference.items():  # s**k is s: an indicator is 0 or 1
            monomial = tuple(min(e, 1) if i in positions else e for i, e in enumerate(monomial))
            reduced[monomial] = reduced.get(monomial, 0) + coefficient
        return all(c == 0 for c in reduced.values())

    def on_region(self, side: sp.Expr, kinks: list[Kink], states: dict) -> sp.Expr | None:
        """A side of the identity last tested, on one region, expanded: each kink's s is 1 on its
        high state (> 0 or >= 0) and 0 on its low one. None for a side that test did not read."""
        element = self._read.get(side)
        if element is None:
            return None
        values = [(self._region_gens[k.indicator], 1 if states[k.indicator].high else 0) for k in kinks]
        return element.subs(values).as_expr()

    def _free(self, expr: sp.Expr) -> set:
        known = self._symbols.get(expr)
        if known is None:
            known = self._symbols[expr] = expr.free_symbols
        return known


def _convert(expr: sp.Expr, mapping: dict, memo: dict, ring: PolyRing, check_time):
    """expr as an element of the ring, built from its sums, products and powers."""
    known = mapping.get(expr)
    if known is None:
        known = memo.get(expr)
    if known is not None:
        return known
    check_time()
    if expr.is_Add:
        value = reduce(operator.add, (_convert(a, mapping, memo, ring, check_time) for a in expr.args))
    elif expr.is_Mul:
        value = reduce(operator.mul, (_convert(a, mapping, memo, ring, check_time) for a in expr.args))
    elif expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        value = _convert(expr.base, mapping, memo, ring, check_time) ** int(expr.exp)
    elif expr.is_Rational:
        value = ring(expr)
    else:
        raise NotPolynomial(type(expr).__name__)
    memo[expr] = value
    return value
