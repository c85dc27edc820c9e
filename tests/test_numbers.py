"""numbers.close: the one 'close enough' test, checked against hand-worked values and mpmath."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from chainrule.numbers import AGREEMENT_DIGITS, agree, close, exact, float_text, numeric_value, significant

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


@pytest.mark.parametrize("a, b, expected", [
    (sp.Rational(1, 3), sp.Rational(1, 3) + TINY, False),  # rationals: exactly
    (sp.exp(sp.Rational(1, 2)) ** 2, sp.E, True),  # e two ways, in 60 digits
    (sp.E, sp.E + sp.Rational(1, 10**46), True),  # within 10^-45 near 1
    (sp.E, sp.E + sp.Rational(1, 10**44), False),
    (sp.exp(7), sp.exp(7) * (1 + sp.Rational(1, 10**46)), True),  # relatively above 1: e^7 ≈ 1097
    (sp.exp(7), sp.exp(7) + sp.Rational(1, 10**44), True),  # 10^-44 is below 10^-45 · 1097
    (sp.exp(7), sp.exp(7) + sp.Rational(1, 10**41), False),
    (sp.exp(-200), sp.Integer(0), True),  # absolutely near 0: 1.4e-87 is no difference
    (sp.log(2) / 10**44, sp.Integer(0), False),  # 6.9e-45 is one
])
def test_our_own_values_agree_to_45_digits(a, b, expected):
    assert AGREEMENT_DIGITS == 45  # the proofs say "agreement to 45 significant digits"
    assert agree(a, b) is expected and agree(b, a) is expected


def test_close_agrees_with_mpmath_at_the_edge():
    # pi and its truncation after 44 decimals differ by 9.375e-45 (mpmath, 80 digits)
    with mpmath.workdps(80):
        gap = mpmath.pi - mpmath.mpf("3.14159265358979323846264338327950288419716939")
    assert mpmath.mpf("9e-45") < gap < mpmath.mpf("1e-44")
    truncated = Decimal("3.14159265358979323846264338327950288419716939")
    assert close(sp.pi, truncated, absolute="1e-44")
    assert not close(sp.pi, truncated, absolute="9e-45")


@pytest.mark.parametrize("value, expected", [
    (Decimal("0.00500"), "0.005"), (Decimal("1E+2"), "100"), (Decimal("-2.50"), "-2.5"), (Decimal("0E-7"), "0"),
    (Decimal("1.23456789012345678901234567890"), "1.2345678901234567890123456789"),
])
def test_plain_decimal(value, expected):
    from chainrule.numbers import plain_decimal

    assert plain_decimal(value) == expected


@pytest.mark.parametrize("value, figures, expected", [
    (sp.Rational(1, 300), 2, sp.Rational(33, 10000)), (sp.Rational(2, 3), 1, sp.Rational(7, 10)),
    (sp.sqrt(2) * 100, 2, sp.Integer(140)), (sp.Integer(0), 2, sp.Rational(1, 1000)),
    (sp.Integer(-5), 2, sp.Rational(1, 1000)),
])
def test_rounded_rational(value, figures, expected):
    from chainrule.numbers import rounded_rational

    assert rounded_rational(value, figures) == expected


@pytest.mark.parametrize("function, value, expected", [
    ("plot_number", 0.012345678, "0.0123457"), ("plot_number", 1e6, "1e+06"), ("plot_number", 2.0, "2"),
    ("position", 2.25, "2.2"), ("position", -1.0, "-1.0"),
    ("axis_label", 0.0, "0"), ("axis_label", 123456.0, "1.23e+05"), ("axis_label", 0.0004, "4.00e-04"),
    ("axis_label", 3.14159, "3.142"),
    ("float_figures", sp.Float("0.1234567890123456789", 30), "0.123456789012346"),
    ("percent", (2, 3), "66.67"), ("percent", (1, 8), "12.50"), ("percent", (0, 0), ""),
])
def test_drawing_and_score_text(function, value, expected):
    import chainrule.numbers as numbers

    arguments = value if isinstance(value, tuple) else (value,)
    assert getattr(numbers, function)(*arguments) == expected


@pytest.mark.parametrize("written, agrees", [
    ("0.333333333333333333333333333333", True),
    ("0.333333333333333333333333333334", True),  # the last digit of a 30-digit printout
    ("0.3333333333333333333333", False),  # 3e-23 away: another value, a stale batch
])
def test_moodle_refuses_a_batch_whose_decimals_disagree_with_the_spec(written, agrees):
    from chainrule.classroom.moodle import KeyRow, _agree
    from chainrule.errors import ChainruleError

    row = KeyRow({"loss": "1/3"}, {"loss": Decimal(written)})
    if agrees:
        _agree(row, "loss", sp.Rational(1, 3), 1, "key.json", None)
    else:
        with pytest.raises(ChainruleError, match="disagrees with"):
            _agree(row, "loss", sp.Rational(1, 3), 1, "key.json", type("S", (), {"path": "spec.toml"})())


X = sp.Symbol("x")


@pytest.mark.parametrize("polynomial", [
    6765201 * X**4 - 5410080 * X**3 + 2590580 * X**2 - 608400 * X + 36000,  # the homework's edge of decrease
    13530402 * X**3 - 9870795 * X**2 + 2042495 * X - 108475,  # its best one-step η
    X**5 - X - 1,
    X**6 - X**5 - 2 * X**4 + 2 * X**3 - 2 * X**2 + 2 * X - 1,  # a negative root
    10**12 * X**3 - 3 * X + 1,  # roots far below 1
    X**3 - 10**9 * X - 7,  # a root far above 1
])
@pytest.mark.parametrize("digits", [12, 25, 60])
def test_root_near_is_within_its_bound_of_the_root(polynomial, digits):
    """root_near promises what SymPy's eval_rational does: a relative 10^-(digits+2); mpmath's polyroots,
    at twice the digits, is the independent value."""
    from chainrule.numbers import _newton_root, root_near

    roots = [r for r in sp.real_roots(sp.Poly(polynomial, X)) if isinstance(r, sp.CRootOf)]
    assert roots
    coefficients = [int(c) for c in sp.Poly(polynomial, X).all_coeffs()]
    with mpmath.workdps(2 * digits + 20):
        reference = sorted(mpmath.re(r) for r in mpmath.polyroots(coefficients, maxsteps=500, extraprec=400)
                           if abs(mpmath.im(r)) < mpmath.mpf(10) ** -(digits + 10))
        for root in roots:
            fast = _newton_root(root, digits)  # Newton's method, checked; None would mean SymPy's fallback
            assert fast is not None
            # the root object's index among the real roots (which come in order) picks the reference root
            exact = reference[sp.real_roots(sp.Poly(polynomial, X)).index(root)]
            for near in (root_near(root, digits), fast):
                assert near.is_Rational
                assert abs(mpmath.mpf(int(near.p)) / int(near.q) - exact) <= abs(exact) * mpmath.mpf(10) ** -(digits + 2)
                assert abs(near - root.eval_rational(n=digits)) <= abs(near) * sp.Rational(2, 10 ** (digits + 2))
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
