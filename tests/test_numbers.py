"""numbers.close: the one 'close enough' test, checked against hand-worked values and mpmath."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from chainrule.numbers import close, exact, float_text, numeric_value, significant

TINY = sp.Rational(1, 10**70)


@pytest.mark.parametrize("a, b, bounds, expected", [
    # rationals are compared exactly, whatever the bound: 1/3 and 1/3 + 10^-70 differ
    (sp.Rational(1, 3), sp.Rational(1, 3) + TINY, {"absolute": "1e-40"}, False),
    (sp.Rational(17, 5), sp.Rational(34, 10), {"absolute": "0"}, True),
    # exp(1/2)² is e, computed another way: the 60 digits agree
    (sp.exp(sp.Rational(1, 2)) ** 2, sp.E, {"absolute": "1e-40"}, True),
    (sp.exp(1), sp.E + TINY, {"absolute": "1e-40"}, True),
    (sp.exp(1), sp.E + sp.Rational(1, 10**30), {"absolute": "1e-40"}, False),
    (sp.tanh(1) - sp.tanh(1) * (1 + TINY), sp.Integer(0), {"absolute": "1e-50"}, True),
    (sp.log(2) / 10**45, sp.Integer(0), {"absolute": "1e-50"}, False),  # 6.9e-46 is not zero at 1e-50
    # relative: two 30-digit printouts of the same value agree to 1e-25 of their size
    (Decimal("1.23456789012345678901234567890"), Decimal("1.23456789012345678901234567891"),
     {"relative": "1e-25"}, True),
    (Decimal("1.23456789012345678901234567890e20"), Decimal("1.23456789012345678901234568e20"),
     {"relative": "1e-25"}, True),
    (Decimal("1.2345678901234567890123"), Decimal("1.2345678901234567890124"), {"relative": "1e-25"}, False),
    (Fraction(1, 3), Decimal("0.333333333333333333333333333333"), {"relative": "1e-25"}, True),
    (1, Decimal("1.0000000001"), {"absolute": "1e-9"}, True),
    (1, Decimal("1.000000001"), {"absolute": "1e-10"}, False),
])
def test_close_within_the_bound_and_no_further(a, b, bounds, expected):
    assert close(a, b, **bounds) is expected
    assert close(b, a, **bounds) is expected


def test_close_agrees_with_mpmath_at_the_edge():
    # pi and its truncation after 44 decimals differ by 9.375e-45 (mpmath, 80 digits)
    with mpmath.workdps(80):
        gap = mpmath.pi - mpmath.mpf("3.14159265358979323846264338327950288419716939")
    assert mpmath.mpf("9e-45") < gap < mpmath.mpf("1e-44")
    truncated = Decimal("3.14159265358979323846264338327950288419716939")
    assert close(sp.pi, truncated, absolute="1e-44")
    assert not close(sp.pi, truncated, absolute="9e-45")


RATIONALS = [sp.Integer(0), sp.Integer(1), sp.Integer(-1), sp.Rational(1, 2), sp.Rational(-17, 5), sp.Integer(10**40),
             sp.Rational(-(3**200), 7**90), sp.Rational(1, 3 * 10**12), sp.Rational(10**35 + 1, 3)]


@pytest.mark.parametrize("value", RATIONALS, ids=str)
def test_a_rational_prints_as_sympy_prints_it_and_its_decimal_rounds_as_mpmath_does(value):
    # exact() and significant() take a short path for rationals; the oracles are SymPy's printer
    # and mpmath's own division at 60 digits, rounded by nstr
    assert exact(value) == sp.sstr(value, order="none")
    with mpmath.workdps(60):
        expected = mpmath.mpf(int(value.p)) / int(value.q)
    assert numeric_value(value) == expected and numeric_value(value)._mpf_ == expected._mpf_
    assert significant(value) == mpmath.nstr(expected, 30, strip_zeros=False, min_fixed=-8, max_fixed=30)
    assert significant(value, 12) == mpmath.nstr(expected, 12, strip_zeros=False, min_fixed=-8, max_fixed=30)


FLOATS = [sp.Float(0), sp.Float("0.5", 50), sp.Float("-1.25e-40", 50), sp.Float("3.14159", 5), sp.Float("1e30", 50),
          sp.Float("-123456789.123456789", 50), sp.Float("1e-7", 15), sp.Float(2.5), sp.Float("7", 2),
          sp.Float("0.000123", 3), sp.Float("-0.5", 50) * sp.Float("1e-60", 50)]


@pytest.mark.parametrize("value", FLOATS, ids=str)
def test_a_float_prints_as_sympy_prints_it(value):
    # the short path for Floats (the decimals after a step) against SymPy's own printer
    assert float_text(value) == str(value) == sp.sstr(value, order="none") == exact(value)


def test_random_50_digit_floats_print_as_sympy_prints_them():
    import random

    rng = random.Random(11)
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 60)))
        value = sp.Float(f"{rng.choice('+-')}{digits}e{rng.randrange(-80, 80)}", rng.choice([15, 30, 50, 60]))
        assert float_text(value) == str(value)
