"""core/algebraic.py: exact work with real algebraic numbers, against SymPy's own real_roots and 30-digit values."""

from __future__ import annotations

import pytest
import sympy as sp

from chainrule.core.algebraic import ETA, exactly_less, floor_of, rational_between, real_roots, roots_between

R = sp.Rational


@pytest.mark.parametrize("expression, start, end, expected", [
    (3 - R(51, 5) * ETA, R(0), sp.oo, [R(5, 17)]),  # linear: read off the coefficients
    (3 - R(51, 5) * ETA, R(5, 17), sp.oo, []),  # the root at the open interval's end is not inside
    ((ETA - 1) * (ETA - 2) * (ETA - 3), R(1), R(3), [R(2)]),
    ((ETA - 1) * (ETA - 2) * (ETA - 3), R(3, 2), R(5, 2), [R(2)]),
    ((ETA - 1) * (ETA - 2) * (ETA - 3), R(5, 2), R(11, 4), []),  # Sturm's count says none: no isolation
    (ETA**2 - 2, R(0), sp.oo, [sp.sqrt(2)]),
    (ETA**2 - 2, R(3, 2), sp.oo, []),
    (ETA**3 - 2 * ETA - 5, R(0), R(3), None),  # one irrational root, as a root object
])
def test_roots_between_are_the_real_roots_strictly_inside(expression, start, end, expected):
    poly = sp.Poly(expression, ETA, domain="QQ")
    found = roots_between(poly, start, end)
    plain = [r for r in real_roots(poly) if exactly_less(start, r) and exactly_less(r, end)]
    assert found == plain  # the same objects, in the same order, as filtering SymPy's real_roots
    if expected is not None:
        assert found == expected
    for root in found:  # each is a root, strictly inside
        assert abs(sp.N(expression.subs(ETA, root), 30)) < 1e-25
        assert sp.N(root - start, 30) > 0 and (end is sp.oo or sp.N(end - root, 30) > 0)



@pytest.mark.parametrize("value", [
    sp.CRootOf(sp.Poly(ETA**3 - 2 * ETA - 5, ETA), 0),  # 2.0945...
    sp.CRootOf(sp.Poly(6765201 * ETA**4 - 5410080 * ETA**3 + 2590580 * ETA**2 - 608400 * ETA + 36000, ETA), 1),
    sp.sqrt(2) * 7, -sp.sqrt(3), R(7, 2), R(-7, 2), sp.Integer(3),
])
def test_floor_and_a_rational_above_an_algebraic_number(value):
    assert floor_of(value) == sp.floor(value)  # SymPy's own floor is the oracle
    above = rational_between(value, sp.oo)
    assert above.is_Integer and exactly_less(value, above) and above == sp.floor(value) + 1
