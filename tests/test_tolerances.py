"""One tolerance rule: what Moodle's quiz accepts, `check` accepts; just outside check's band, neither does."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.check.grading import match, read_number
from chainrule.check.tolerances import accepted_bound, leading_exponent
from chainrule.classroom.moodle_numbers import moodle_interval, moodle_number
from chainrule.core.spec import Tolerance
from chainrule.numbers import decimal_text

R = sp.Rational


def correct_in_check(value: Fraction, exact: sp.Expr, rule: Tolerance, rounding: str = ROUND_FLOOR) -> bool:
    """check's verdict on the value written as a decimal (exactly, or to 50 digits rounded as asked)."""
    text = decimal_text(value)
    if text is None:
        with localcontext(prec=50, rounding=rounding):
            text = str(Decimal(value.numerator) / Decimal(value.denominator))
    return match(text, read_number(text), exact, rule) in ("exact", "rounded")


def accepted_by_moodle(value: Fraction, number) -> bool:
    low, high = moodle_interval(number.answer, number.tolerance)
    return low <= value <= high


@pytest.mark.parametrize("exact, rule, bound", [
    (R(3616002, 10**6), Tolerance(), R(1, 200)),  # the issue's loss: ± 0.005
    (R(-171, 10**4), Tolerance(), R(5, 10**7) * 100),
    (R(1000), Tolerance(), R(5)),  # exactly a power of ten: 1.00e3 ± 5
    (R(999999, 1000), Tolerance(), R(5, 10)),  # just under 1000
    (sp.sqrt(2), Tolerance(sigfigs=4), R(5, 10**4)),
    (R(0), Tolerance(), R(0)),  # a correct zero has a band of zero
    (R(-4), Tolerance(relative=Decimal("0.001")), R(4, 1000)),
    (R(25, 10), Tolerance(absolute=Decimal("0.01")), R(1, 100)),
])
def test_the_band(exact, rule, bound):
    assert accepted_bound(exact, rule) == bound


@pytest.mark.parametrize("value, exponent", [
    (R(1), 0), (R(999, 100), 0), (R(10), 1), (R(-1, 1000), -3), (R(10**30 - 1, 10**30), -1), (sp.pi * 10**5, 5),
])
def test_leading_exponent_is_exact_even_next_to_a_power_of_ten(value, exponent):
    assert leading_exponent(value) == exponent


def test_the_issues_example_is_judged_alike():
    """loss = 3.612 for exact 3.616002: right in Moodle's quiz (± 0.005) and now in check too."""
    exact = R(3616002, 10**6)
    number = moodle_number(exact, Tolerance())
    for typed, right in (("3.612", True), ("3.62", True), ("3.6111", True), ("3.6109", False), ("3.622", False)):
        assert accepted_by_moodle(Fraction(typed), number) is right
        assert correct_in_check(Fraction(typed), exact, Tolerance()) is right


RULES = st.one_of(
    st.integers(1, 8).map(lambda s: Tolerance(sigfigs=s)),
    st.sampled_from(["0.1", "0.01", "0.001"]).map(lambda r: Tolerance(relative=Decimal(r))),
    st.sampled_from(["0.5", "0.01", "0.0001"]).map(lambda a: Tolerance(absolute=Decimal(a))),
)
EXACT = st.builds(lambda p, q, e: R(p, q) * R(10) ** e, st.integers(-10**7, 10**7).filter(bool),
                  st.integers(1, 10**4), st.integers(-6, 6))


@settings(max_examples=150, deadline=None)
@given(exact=EXACT, rule=RULES, inside=st.fractions(0, 1))
def test_what_moodle_accepts_check_accepts_and_just_outside_neither_does(exact, rule, inside):
    number = moodle_number(exact, rule)
    low, high = moodle_interval(number.answer, number.tolerance)
    a, band = Fraction(int(exact.p), int(exact.q)), Fraction(str(accepted_bound(exact, rule)))
    if not number.inside:  # README: a band narrower than Moodle's own 1e-14·max(1, |answer|) cannot be kept
        assert band < Fraction(1, 10**12) * max(1, abs(a))
        return
    # both ends of Moodle's interval, and points inside it, are right in check
    for point in (low, high, low + (high - low) * inside, Fraction(number.answer)):
        assert correct_in_check(point, exact, rule), (point, number)
    # just outside check's band: wrong in check and in Moodle
    for point, outwards in ((a - band * (1 + Fraction(1, 10**9)), ROUND_FLOOR),
                            (a + band * (1 + Fraction(1, 10**9)), ROUND_CEILING)):
        assert not correct_in_check(point, exact, rule, outwards)
        assert not accepted_by_moodle(point, number)


@settings(max_examples=40, deadline=None)
@given(exact=EXACT.map(lambda v: sp.sqrt(abs(v))), rule=RULES)
def test_irrational_values_stay_inside_checks_band_too(exact, rule):
    number = moodle_number(exact, rule)
    low, high = moodle_interval(number.answer, number.tolerance)
    for point in (low, high):
        assert correct_in_check(point, exact, rule), (point, number)
