"""The one tolerance rule: how far a decimal answer may be from the exact value and still be right.

`check` grades with it and `chainrule moodle` derives each sub-question's tolerance from it, so
a value one accepts the other accepts too. The rule is a band around the exact value `a`:

* `absolute = t`: |x − a| ≤ t;
* `relative = r`: |x − a| ≤ r·|a|;
* `sigfigs = s` (the default, 3): |x − a| ≤ half a unit in the s-th significant figure of `a`
  (3.616002 to 3 figures: ± 0.005, so 3.62, 3.612 and 3.6160 are right and 3.61 is not).

The band depends on the exact value only, never on how many digits the answer states: a Moodle
NUMERICAL answer sees a number, not its digits. A correct value zero has a band of zero.

    accepted_bound(sp.Rational(3616002, 10**6), Tolerance())  # 1/200
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import sympy as sp

from chainrule.core import certify
from chainrule.core.spec import Tolerance
from chainrule.numbers import less, significant


def accepted_bound(target: sp.Expr, rule: Tolerance) -> sp.Expr | None:
    """The largest |answer − target| the rule accepts, exactly; None when the sign of `target` is undecided."""
    if rule.absolute is not None:
        return _rational(rule.absolute)
    if rule.relative is not None:
        size = certify.sign(target)
        if size is None:
            return None
        return _rational(rule.relative) * size * target
    exponent = leading_exponent(target)  # first: SymPy's is_zero of an exact exp value costs seconds
    if exponent is None:  # zero to 60 digits: zero only where SymPy can tell
        return sp.Integer(0) if target.is_zero else None
    return sp.Rational(5) * sp.Rational(10) ** (exponent - rule.sigfigs)  # half a unit in figure `sigfigs`


def leading_exponent(target: sp.Expr) -> int | None:
    """e with 10^e ≤ |target| < 10^(e+1) (None for zero, or a value 0 to 60 digits).

    Exact for rationals; other values are placed by their 60-digit evaluation (`numbers.less`),
    which only a value within 10⁻⁶⁰ of a power of ten could fool.
    """
    approx = Decimal(significant(target, 30))
    if approx == 0:
        return None
    magnitude = target if approx > 0 else -target
    exponent = approx.adjusted()
    # a 30-digit rounding of 9.99…9 reads 10.0: step back where the comparison says so
    if less(magnitude, sp.Rational(10) ** exponent):
        exponent -= 1
    elif not less(magnitude, sp.Rational(10) ** (exponent + 1)):
        exponent += 1
    return exponent


def _rational(value: Decimal) -> sp.Rational:
    fraction = Fraction(value)  # a tolerance was size-checked when it was read
    return sp.Rational(fraction.numerator, fraction.denominator)
