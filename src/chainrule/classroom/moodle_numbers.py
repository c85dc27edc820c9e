"""A Moodle NUMERICAL answer and tolerance from the tolerance rule `check` grades with.

Moodle accepts a response x when, in double precision,
`answer − t' ≤ x ≤ answer + t'` with `t' = tolerance + 1e-14·max(1, |answer|)` (qtype_numerical's
"nominal" tolerance, PHP's `precision` of 14). `check` accepts x when |x − a| ≤ B, the band of
check/tolerances.py around the exact value a. We give Moodle the answer rounded to
ANSWER_DIGITS figures and the largest short tolerance whose whole Moodle interval, widened by
the rounding of a typed response to a double, lies inside check's band: whatever Moodle marks
right, `check` marks right. The tolerance is a hair under B (0.00499999999996 for ± 0.005), the
price of Moodle's extra 1e-14·|answer| and of double rounding.

The one place Moodle stays wider: a band narrower than Moodle's own 1e-14·max(1, |answer|)
(a correct value of exactly 0, or 14 or more significant figures asked). There the tolerance is
0 and Moodle still accepts what lies within that 1e-14 of the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

import sympy as sp

from chainrule.check.tolerances import accepted_bound
from chainrule.core.spec import Tolerance
from chainrule.numbers import plain_decimal, significant

APPROX_DIGITS = 30  # significant digits of the approximations of irrational values
ANSWER_DIGITS = 15  # significant digits of the answer given to Moodle (a double holds 15 faithfully)
MOODLE_EPSILON = 1e-14  # 10^-precision, PHP's default precision 14
TOLERANCE_DIGITS = 12  # significant digits of the tolerance given to Moodle, rounded down


@dataclass(frozen=True)
class MoodleNumber:
    """A NUMERICAL answer: its text, its tolerance's text, and check's exact band it stays inside."""

    answer: str
    tolerance: str
    centre: Fraction  # the exact value (30 digits for irrational values)
    band: Fraction  # check's bound B, rounded down
    inside: bool  # Moodle's whole interval lies inside check's band (False only for bands under 1e-14)


def moodle_number(value: sp.Expr, rule: Tolerance) -> MoodleNumber:
    """The answer and tolerance Moodle needs so that it accepts only what `check` accepts."""
    centre, error = _approx(value)
    band = _band(centre, error, rule)
    answer = _rounded(centre, ANSWER_DIGITS)
    shift = abs(Fraction(answer) - centre) + error
    room = band - shift - 2 * Fraction(MOODLE_EPSILON) * max(1, abs(Fraction(answer)))
    tolerance = _round_down(room, TOLERANCE_DIGITS) if room > 0 else Decimal(0)
    while tolerance > 0 and not _contained(answer, tolerance, centre, band, error):
        tolerance = _round_down(Fraction(tolerance) * (1 - Fraction(1, 10**9)), TOLERANCE_DIGITS)
    text = plain_decimal(tolerance)
    return MoodleNumber(plain_decimal(answer), text, centre, band, _contained(answer, tolerance, centre, band, error))


def moodle_interval(answer: str, tolerance: str) -> tuple[Fraction, Fraction]:
    """What Moodle accepts for this answer and tolerance, exactly, widened by half a double's ulp
    at each end (a typed response is rounded to a double before it is compared)."""
    centre, width = float(answer), float(tolerance)
    slack = width + MOODLE_EPSILON * max(1.0, abs(centre))  # qtype_numerical_answer::get_tolerance_interval
    low, high = centre - slack, centre + slack
    return Fraction(low) - Fraction(math.ulp(low)) / 2, Fraction(high) + Fraction(math.ulp(high)) / 2


def overlaps(a: MoodleNumber, b: MoodleNumber) -> bool:
    """Could one response match both answers (in Moodle, or in check's bands)?"""
    low_a, high_a = moodle_interval(a.answer, a.tolerance)
    low_b, high_b = moodle_interval(b.answer, b.tolerance)
    bands = abs(a.centre - b.centre) <= a.band + b.band
    return bands or (low_a <= high_b and low_b <= high_a)


def _contained(answer: Decimal, tolerance: Decimal, centre: Fraction, band: Fraction, error: Fraction) -> bool:
    low, high = moodle_interval(plain_decimal(answer), plain_decimal(tolerance))
    return centre - band + error <= low and high <= centre + band - error


def _approx(value: sp.Expr) -> tuple[Fraction, Fraction]:
    """The value as a Fraction, and a bound on that Fraction's error (0 for rationals)."""
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q)), Fraction(0)
    approx = Fraction(Decimal(significant(value, APPROX_DIGITS)))
    return approx, abs(approx) / 10 ** (APPROX_DIGITS - 1)


def _band(centre: Fraction, error: Fraction, rule: Tolerance) -> Fraction:
    """check's band around a value known to lie within `error` of `centre`, rounded down.

    The rule is applied to rationals (fast and exact); for an approximation, the narrower band of
    its two ends, less the error, so the band never exceeds the exact value's.
    """
    ends = (centre,) if not error else (centre - error, centre + error)
    bands = [accepted_bound(sp.Rational(end.numerator, end.denominator), rule) for end in ends]
    if any(b is None for b in bands):
        return Fraction(0)
    band = min(Fraction(int(b.p), int(b.q)) for b in bands) - 2 * error
    return max(Fraction(0), band)


def _rounded(value: Fraction, digits: int) -> Decimal:
    if value == 0:
        return Decimal(0)
    with localcontext(prec=digits):
        return Decimal(value.numerator) / Decimal(value.denominator)


def _round_down(value: Fraction, digits: int) -> Decimal:
    """A positive value rounded towards zero to `digits` significant digits."""
    with localcontext(prec=digits, rounding=ROUND_FLOOR):
        return Decimal(value.numerator) / Decimal(value.denominator)
