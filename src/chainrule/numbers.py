"""Numbers for people and for comparisons: exact strings, decimals, significant figures, 60-digit values.

The one home for number formatting. Exact values are SymPy Rationals (or exact expressions in
exp, log and tanh); a decimal is only ever made here, for a person to read.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

import mpmath
import sympy as sp
from mpmath.libmp import dps_to_prec, from_int, mpf_div, prec_to_dps, round_nearest, to_str

from chainrule.plain_text import plain_text


# ---------------------------------------------------------------- exact values
def rational(value: Fraction) -> sp.Rational:
    """A Fraction as a SymPy Rational."""
    return sp.Rational(value.numerator, value.denominator)


PRECISION = 60  # decimal digits for the high-precision passes over exp, tanh and log
MP_FUNCTIONS = {sp.exp: mpmath.exp, sp.tanh: mpmath.tanh, sp.log: mpmath.log}
_MP_BINARY = {sp.Add: lambda args: mpmath.fsum(args), sp.Mul: lambda args: mpmath.fprod(args)}
_NUMERIC_MEMO: dict = {}


def mpf(value) -> "mpmath.mpf":
    """A 60-digit number (the `number` type for high-precision passes)."""
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpf(value)


def numeric_value(value: sp.Expr):
    """A closed exact expression evaluated at 60 digits, sharing work across repeated subtrees.

    SymPy's evalf re-evaluates every shared subtree; backpropagated values in exp and tanh share
    most of theirs, so a memo turns minutes into milliseconds.
    """
    known = _NUMERIC_MEMO.get(value)
    if known is not None:
        return known
    if value.is_Rational:
        return _remember(value, _rational_mpf(int(value.p), int(value.q)))
    with mpmath.workdps(PRECISION):
        return _numeric(value)


_BITS = dps_to_prec(PRECISION)


def _rational_mpf(p: int, q: int):
    """p / q at 60 digits, rounded as mpmath's own division, without entering a precision context."""
    return mpmath.mp.make_mpf(mpf_div(from_int(p, _BITS, round_nearest), from_int(q), _BITS, round_nearest))


def _remember(expr, value):
    if len(_NUMERIC_MEMO) > 200_000:
        _NUMERIC_MEMO.clear()
    _NUMERIC_MEMO[expr] = value
    return value


def _numeric(expr):
    known = _NUMERIC_MEMO.get(expr)
    if known is not None:
        return known
    if expr.is_Rational:
        result = _rational_mpf(int(expr.p), int(expr.q))
    elif expr.is_Float:
        result = mpmath.mpf(float_text(expr))
    elif expr.func in _MP_BINARY:
        result = _MP_BINARY[expr.func]([_numeric(a) for a in expr.args])
    elif isinstance(expr, sp.Pow):
        result = _numeric(expr.base) ** _numeric(expr.exp)
    elif expr.func in MP_FUNCTIONS:
        result = MP_FUNCTIONS[expr.func](_numeric(expr.args[0]))
    elif isinstance(expr, sp.CRootOf) and expr.is_real:
        near = root_near(expr, PRECISION)
        result = _rational_mpf(int(near.p), int(near.q))
    else:
        result = mpmath.mpf(str(sp.N(expr, PRECISION)))  # anything else: SymPy's own evalf
    return _remember(expr, result)


@lru_cache(maxsize=4096)
def root_near(root: sp.CRootOf, digits: int) -> sp.Rational:
    """A rational within a relative 10^-(digits + 2) of a real root object: what SymPy's
    `root.eval_rational(n=digits)` promises, without its bisection (about 10 ms a root at 60 digits).

    Newton's method in mpmath from the root's isolating interval; the answer is checked exactly:
    the integer polynomial changes sign across a rational interval of that width around it, inside
    the isolating interval, which holds no other root. If the check fails, SymPy's own refinement.
    """
    try:
        found = _newton_root(root, digits)
    except (AttributeError, ArithmeticError, TypeError, ValueError):  # not a plain real root of an integer polynomial
        found = None
    return found if found is not None else root.eval_rational(n=digits)


def _newton_root(root: sp.CRootOf, digits: int) -> sp.Rational | None:
    coefficients = [int(c) for c in root.poly.all_coeffs()]  # an integer polynomial (a ValueError if not)
    if len(coefficients) < 3:
        return None
    interval = root._get_interval()  # SymPy's isolating interval: exactly one root inside
    low, high = (Fraction(int(e.numerator), int(e.denominator)) for e in (interval.a, interval.b))
    sign_low = _sign_at(coefficients, low)
    if sign_low == 0 or sign_low == _sign_at(coefficients, high):
        return None
    derivative = [c * (len(coefficients) - 1 - i) for i, c in enumerate(coefficients[:-1])]
    with mpmath.workdps(digits + 20):
        tolerance = mpmath.mpf(10) ** -(digits + 8)
        lo, hi = mpf(low), mpf(high)
        x = (lo + hi) / 2
        for _ in range(1000):  # Newton's method, bisecting whenever a step would leave the bracket
            value = mpmath.polyval(coefficients, x)
            if value == 0:
                break
            if (value > 0) == (sign_low > 0):
                lo = x
            else:
                hi = x
            slope = mpmath.polyval(derivative, x)
            step = value / slope if slope else hi - lo
            if abs(step) <= abs(x) * tolerance:
                x -= step
                break
            x = x - step if lo < x - step < hi else (lo + hi) / 2
        else:
            return None
        negative, mantissa, exponent, _ = x._mpf_
    centre = Fraction(-mantissa if negative else mantissa)
    centre = centre * 2 ** exponent if exponent >= 0 else centre / 2 ** -exponent
    if centre == 0:
        return None
    radius = abs(centre) / 10 ** (digits + 3)  # |root - centre| < radius: a relative 10^-(digits+2), with room
    below, above = max(centre - radius, low), min(centre + radius, high)  # inside the isolating interval
    if not below < above or _sign_at(coefficients, below) * _sign_at(coefficients, above) >= 0:
        return None
    return sp.Rational(centre.numerator, centre.denominator)


def _sign_at(coefficients: list[int], value: Fraction) -> int:
    """The sign of an integer polynomial at a rational, exactly (Horner in integers, scaled by q^degree)."""
    p, q = value.numerator, value.denominator
    total, scale = 0, 1
    for c in coefficients:  # total = sum c_i p^(n-i) q^i, built from the leading coefficient down
        total = total * p + c * scale
        scale *= q
    return (total > 0) - (total < 0)


def less(a: sp.Expr, b: sp.Expr) -> bool:
    """a < b: exactly for rationals, in 60-digit arithmetic for exp/log/tanh values.

    SymPy's own comparison of two nested exact expressions evaluates them again and again at
    growing precision (seconds); two values that agree to 60 digits count as not less.
    """
    if a.is_Rational and b.is_Rational:
        return bool(a < b)
    return bool(numeric_value(a) < numeric_value(b))


# "Our own values agree": two PRECISION-digit computations of one value by different routes
# (backpropagation and forward mode, an update and its recomputation) stay within 10^-AGREEMENT_DIGITS
# of each other, absolutely near 0 and relatively above 1. Each keeps some 55 digits right, so this
# leaves ten digits of margin and still refutes any real difference. `agree` applies it; the proofs
# that rest on it say "agreement to 45 significant digits".
AGREEMENT_DIGITS = 45
AGREEMENT = Decimal(f"1e-{AGREEMENT_DIGITS}")


def agree(a, b) -> bool:
    """Two of our own computations of one value are the same: exactly for rationals, else to AGREEMENT."""
    return close(a, b, absolute=AGREEMENT, relative=AGREEMENT)


def close(a, b, *, absolute: str | Decimal = "0", relative: str | Decimal = "0") -> bool:
    """a = b up to the rounding noise of our own computations: exactly when both are SymPy Rationals,
    else |a − b| <= max(absolute, relative · max(|a|, |b|)) in 60-digit arithmetic.

    The one 'close enough' test, for values chainrule computed two ways (SymPy expressions, Decimals,
    Fractions, ints). A student's answer is never judged by it: check/grading.py compares answers
    by certified bounds (core/certify.py) and says 'undecided' rather than guess.

        >>> close(sp.Rational(1, 3), sp.Rational(1, 3) + sp.Rational(1, 10**70), absolute="1e-40")
        False
        >>> close(sp.exp(1) * sp.exp(-1), 1, absolute="1e-40")
        True
    """
    if getattr(a, "is_Rational", False) and getattr(b, "is_Rational", False):
        return a == b
    with mpmath.workdps(PRECISION):
        x, y = _mp(a), _mp(b)
        bound = max(mpmath.mpf(str(absolute)), mpmath.mpf(str(relative)) * max(abs(x), abs(y)))
        return bool(abs(x - y) <= bound)


def _mp(value):
    if isinstance(value, Decimal):
        return mpmath.mpf(str(value))
    if isinstance(value, (int, Fraction)):
        return mpf(value)
    return _numeric(value)


def to_float(value: sp.Expr) -> float:
    """The nearest double (for plots): exact for rationals, 60 digits first for other values."""
    if isinstance(value, (int, float, Fraction)):
        return float(value)
    if value.is_Rational:
        return float(Fraction(int(value.p), int(value.q)))
    if value.is_Float:
        return float(value)
    return float(numeric_value(value))


# ---------------------------------------------------------------- text for people
def exact(value: sp.Expr) -> str:
    """An exact string: `17/5` for rationals (what fractions.Fraction parses), else SymPy's plain text."""
    if value is sp.oo:
        return "oo"
    if getattr(value, "is_Rational", False):  # what SymPy's StrPrinter writes for an Integer or a Rational, without a printer
        return str(value.p) if value.q == 1 else f"{value.p}/{value.q}"
    if getattr(value, "is_Float", False):
        return float_text(value)
    return plain_text(value)


def float_text(value: sp.Float) -> str:
    """`str(value)` for a SymPy Float: its digits at its own precision, trailing zeros kept (as
    SymPy's StrPrinter writes a Float that stands alone), without building a printer per number."""
    text = to_str(value._mpf_, 0 if value._prec < 5 else prec_to_dps(value._prec), strip_zeros=False)
    if text.startswith("-.0"):
        text = "-0." + text[3:]
    elif text.startswith(".0"):
        text = "0." + text[2:]
    return text.removeprefix("+")


# An exact value whose plain text would pass this many characters is not built: `solve --json`
# gives null in its place (named under "omitted_exact") and its 30-digit decimal under "decimals",
# as the sheet shows a truncated decimal. Only exp, tanh and log networks reach it (their exact
# trees grow with the product of the layer widths); exact rationals are bounded by their bits.
EXACT_TEXT_LIMIT = 10_000


def estimated_size(expr: sp.Expr, sizes: dict) -> int:
    """About how many characters `exact` prints for expr once every symbol is replaced by its value,
    from the sizes of those values (`sizes`: symbol -> characters), without building it.

    An upper estimate: each operation adds its operator, parentheses and a function name.
    """
    if expr.is_Symbol:
        return sizes[expr]
    if not expr.args:
        return len(str(expr))
    return sum(estimated_size(a, sizes) for a in expr.args) + 3 * len(expr.args) + 8


def decimal_text(value: Fraction) -> str | None:
    """The exact decimal of a fraction whose expansion ends (`0.01`, `-3`, `2.5`), else None (1/3)."""
    value = Fraction(value)
    q, twos, fives = value.denominator, 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q != 1:
        return None
    places = max(twos, fives)
    digits = value.numerator * 2 ** (places - twos) * 5 ** (places - fives)  # value × 10^places, exactly
    text = format(Decimal(digits).scaleb(-places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@lru_cache(maxsize=8192)
def decimal(value: sp.Expr, digits: int = 6) -> str:
    """A decimal for people: `digits` places, trailing zeros dropped (`2.855647`, `3.25`, `-0.017`);
    scientific notation below 1e-4 or from 1e9 on."""
    if value.is_Rational:
        with localcontext(prec=40):  # correctly rounded to 40 significant digits, like sp.N
            number = Decimal(int(value.p)) / Decimal(int(value.q))
    else:
        number = Decimal(mpmath.nstr(numeric_value(value), 40, strip_zeros=False, min_fixed=-30, max_fixed=30))
    if number == 0:
        return "0"
    if abs(number) >= Decimal("1e9") or abs(number) < Decimal("1e-4"):
        return f"{number:.{digits}e}"
    text = format(number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def significant(value: sp.Expr, digits: int = 30) -> str:
    """A decimal string with `digits` significant digits (exact values evaluated at 60 digits)."""
    # nstr rounds the 60-digit value's own bits: it does not read the context's precision
    return mpmath.nstr(numeric_value(value), digits, strip_zeros=False, min_fixed=-8, max_fixed=30)


def significant_text(number: Decimal, digits: int) -> str:
    """A rounded Decimal shown with exactly `digits` significant digits (trailing zeros kept).

    Fixed point from 1e-6 up to where the digits run out, else scientific: `10.200`, `0.0000120`,
    `1.2346e+5`, `-1.0e-40`; zero is `0`.
    """
    if number == 0:
        return "0"
    exponent = number.adjusted()
    with localcontext(prec=digits + 10):
        if -6 <= exponent < digits:
            return format(number.quantize(Decimal(1).scaleb(exponent - digits + 1)), "f")
        mantissa = number.scaleb(-exponent).quantize(Decimal(1).scaleb(1 - digits))
    return f"{mantissa:f}e{exponent:+d}"


def truncated(value: sp.Expr, digits: int = 6) -> str:
    """`1.286699\\ldots`: the value's decimal expansion cut (not rounded) after `digits` places.

    Used where an exact value is too long to print; the dots say the digits shown are exact
    digits of the expansion, so it can follow an equals sign. `--json` has the exact form.
    """
    number = Decimal(mpmath.nstr(numeric_value(value), 50, strip_zeros=False, min_fixed=-60, max_fixed=60))
    if number == 0:
        return "0"
    if abs(number) >= Decimal("1e9") or abs(number) < Decimal("1e-4"):
        exponent = number.adjusted()
        mantissa = (number.scaleb(-exponent)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
        return rf"{mantissa}\ldots \times 10^{{{exponent}}}"
    text = format(number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN), "f")
    return rf"{text}\ldots"


def too_long(value: sp.Expr, limit: int = 40) -> bool:
    """More than `limit` nodes in the expression tree: not worth printing exactly in the sheet."""
    if value.is_Atom:
        return False
    for count, _ in enumerate(sp.preorder_traversal(value)):
        if count > limit:
            return True
    return False


def terminates(value: sp.Expr) -> bool:
    """A short terminating decimal (denominator of at most six digits): printed as a decimal.

    The denominator has no prime factor but 2 and 5 (what `decimal_text` tests, without the text).
    """
    if not value.is_Rational:
        return False
    q = int(value.q)
    if q >= 10**6:
        return False
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    return q == 1


def plain_decimal(value: Decimal) -> str:
    """A Decimal in positional notation without trailing zeros: `0.005`, `100`, `-2.5`, `0` (Moodle's syntax).

    Every digit is kept: `normalize` alone would round to the context's 28 digits.
    """
    if value == 0:
        return "0"
    with localcontext(prec=max(28, len(value.as_tuple().digits))):
        return format(value.normalize(), "f")


def rounded_rational(value: sp.Expr, figures: int = 2) -> sp.Rational:
    """A short positive rational near a positive value, `figures` significant figures (a readable η);
    1/1000 for a value that is not positive."""
    number = to_float(value)  # a root object through root_near, not SymPy's bisection
    return sp.Rational(f"{number:.{figures}g}") if number > 0 else sp.Rational(1, 1000)


def float_figures(value: sp.Float, digits: int = 15) -> str:
    """A floating-point value (a training curve past its exact steps) to `digits` significant digits."""
    return mpmath.nstr(mpmath.mpf(str(value)), digits)


def percent(earned: int, possible: int) -> str:
    """Earned over possible as a percentage with two decimals, rounded half to even; '' if nothing is possible."""
    if not possible:
        return ""
    value = Decimal(100 * earned) / Decimal(possible)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


# ---------------------------------------------------------------- drawings: floats, never answers
def plot_number(value: float) -> str:
    """A pgfplots coordinate: 6 significant digits (`0.0123457`, `1e+06`), the same on every machine."""
    return f"{value:.6g}"


def position(value: float) -> str:
    """A TikZ or SVG position: one decimal place (`2.5`, `-1.0`)."""
    return f"{value:.1f}"


def axis_label(value: float) -> str:
    """A terminal plot's axis label: 4 significant digits, scientific from 1e5 and below 1e-3."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"
