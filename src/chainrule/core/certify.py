"""Certified signs of closed real expressions: exact, or undecided — never "close enough".

`sign(value)` is -1, 0 or 1 only when that is certain: the value is an exact rational, a
bounded simplification proves it zero, or interval arithmetic (mpmath.iv, outward rounding) at
rising precision gives an enclosure that excludes zero. Otherwise — an equal-looking value that
no bounded simplification reduces to 0, a pole, NaN, a complex value, or the time limit — it is
None. No numeric cutoff ever decides that a difference is zero.

    >>> sign(sympy.sin(1)**2 + sympy.cos(1)**2 - 1)   # proved zero by bounded simplification
    0
    >>> sign(sympy.Rational(13, 4) + sympy.exp(-200) - sympy.Rational(13, 4))
    1
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import mpmath
import sympy
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or

PRECISIONS = (64, 256, 1024, 4096)  # bits; each step is tried only while time remains
EXP_CAP = 10**6  # exp(t) for t past this is only bounded (e^1e6 ... inf): no digit of it is needed
SIMPLIFY_SECONDS = 1.0
DEFAULT_SECONDS = 2.0


# The arithmetic itself failed (too deep, too big, a SymPy or mpmath error): undecided, never a verdict.
_GAVE_UP = (RecursionError, MemoryError, ArithmeticError, TypeError, ValueError, AttributeError)


class _Undefined(Exception):
    """The value is undefined or not real at this precision (a pole, log of a negative, ...)."""


def _closed(value, deadline: float) -> sympy.Expr | None:
    """A closed real value with its ReLU/max branches decided, or None (variables, nan, oo, I, undecided)."""
    value = sympy.Integer(value) if isinstance(value, int) else value
    if not isinstance(value, sympy.Basic) or value.free_symbols:
        return None
    if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.I):
        return None
    return value if value.is_Rational else _branches(value, deadline)


def sign(value: sympy.Expr, seconds: float = DEFAULT_SECONDS) -> int | None:
    """-1, 0 or 1 when certain; None when undecided, undefined or out of time."""
    return _certified(value, seconds, lambda q: (q.p > 0) - (q.p < 0), _irrational_sign)


def _irrational_sign(value: sympy.Expr, deadline: float) -> int | None:
    found = _interval_sign(value, deadline)  # first: a nonzero value is settled without expanding it
    if found is not None:
        return found
    if sympy.expand(value) == 0:
        return 0
    return 0 if _simplifies_to_zero(value, deadline) else None


def equal(a: sympy.Expr, b: sympy.Expr, seconds: float = DEFAULT_SECONDS) -> bool | None:
    """True or False when certain, None when undecided."""
    if a.is_Rational and b.is_Rational:
        return a == b
    if _apart(a, b, seconds):
        return False
    found = sign(a - b, seconds)
    return None if found is None else found == 0


def _apart(a: sympy.Expr, b: sympy.Expr, seconds: float) -> bool:
    """True when a first enclosure of a − b, taken without building the difference, excludes zero.

    SymPy's a − b of two exact values of a sigmoid network rebuilds every term through numeric
    questions (seconds per pair); most pairs a grader compares differ, and one 64-bit enclosure of
    the unevaluated difference shows it. Anything else (equal values, a branch, a pole, the time
    limit) is left to `sign(a - b)`.
    """
    deadline = time.monotonic() + seconds
    try:
        a, b = _closed(a, deadline), _closed(b, deadline)
    except _GAVE_UP:
        return False
    if a is None or b is None:
        return False
    return nonzero(sympy.Add(a, sympy.Mul(sympy.S.NegativeOne, b, evaluate=False), evaluate=False), seconds)


def nonzero(value: sympy.Expr, seconds: float = DEFAULT_SECONDS) -> bool:
    """True when one 64-bit enclosure of a closed value (no branches) excludes zero; False when it
    does not, or the value is not a closed real number: False is "not shown", never "zero"."""
    deadline = time.monotonic() + seconds
    try:
        return _interval_sign(value, deadline, PRECISIONS[:1]) is not None
    except _GAVE_UP:
        return False


def rounded(value: sympy.Expr, digits: int, seconds: float = DEFAULT_SECONDS) -> Decimal | None:
    """`value` correctly rounded (half to even) to `digits` significant digits; None when undecided.

    Exact for rationals. Otherwise an interval enclosure is narrowed (rising precision) until both
    of its ends round to the same digits: rounding is monotone, so every point between them, the
    value included, rounds to those digits too. A value proved zero is 0; a value that may be zero
    but is not proved so, is undefined, not real, or runs out of time, is None.

        >>> rounded(sympy.pi, 5)
        Decimal('3.1416')
    """
    return _certified(value, seconds, lambda q: _round(Fraction(int(q.p), int(q.q)), digits),
                      lambda v, deadline: _irrational_digits(v, digits, deadline))


def _irrational_digits(value: sympy.Expr, digits: int, deadline: float) -> Decimal | None:
    bits = int(digits * 3.33) + 32  # log2(10) < 3.33: `digits` decimal digits and a guard
    for precision in (bits, 2 * bits, 4 * bits):
        found = _enclosed_digits(value, digits, precision, deadline)
        if found is not None:
            return found
    return Decimal(0) if _simplifies_to_zero(value, deadline) else None


def _certified(value, seconds: float, rational, irrational):
    """The shared frame of `sign` and `rounded`: close the value (ReLU branches decided), answer a
    rational exactly with `rational(q)`, anything else with `irrational(value, deadline)`; None when
    the value is not a closed real number, or on any failure of the arithmetic."""
    deadline = time.monotonic() + seconds
    try:
        value = _closed(value, deadline)
        if value is None:
            return None
        return rational(value) if value.is_Rational else irrational(value, deadline)
    except _GAVE_UP:
        return None


def _enclosed_digits(value: sympy.Expr, digits: int, bits: int, deadline: float) -> Decimal | None:
    """The rounded digits of `value` if a `bits`-bit enclosure decides them, else None."""
    if time.monotonic() > deadline:
        return None
    saved = mpmath.iv.prec
    mpmath.iv.prec = bits
    try:
        box = _interval(value, deadline)
        if any(end in (mpmath.libmp.finf, mpmath.libmp.fninf, mpmath.libmp.fnan) for end in box._mpi_):
            return None
        if box.a == box.b == 0:
            return Decimal(0)
        if box.a <= 0 <= box.b:
            return None  # the sign is undecided, so the leading digits are too
        # Scale by 10^shift (outward rounded, so still an enclosure) to about digits + 5 digits before
        # the point: the exact ends are then small fractions, and rounding commutes with the shift.
        shift = digits + 5 - int(mpmath.floor(mpmath.log10(abs(mpmath.mpf(box.a._mpi_[0])))))
        low, high = (_fraction(end) for end in (box * mpmath.iv.mpf(10) ** shift)._mpi_)
    except _Undefined:
        return None
    finally:
        mpmath.iv.prec = saved
    low, high = _round(low, digits, shift), _round(high, digits, shift)
    return low if low == high else None


def _fraction(end: tuple) -> Fraction:
    """An mpmath (sign, mantissa, exponent, bits) number as the exact Fraction it stands for."""
    sign, mantissa, exponent, _ = end
    magnitude = Fraction(int(mantissa)) * (Fraction(2) ** exponent)
    return -magnitude if sign else magnitude


def _round(value: Fraction, digits: int, shift: int = 0) -> Decimal:
    """value · 10^-shift correctly rounded (half to even) to `digits` significant digits."""
    if value == 0:
        return Decimal(0)
    with localcontext(prec=digits, rounding=ROUND_HALF_EVEN, Emax=10**9, Emin=-10**9):
        # exact ints, one correct rounding; the shift is exact at this precision
        return (Decimal(value.numerator) / Decimal(value.denominator)).scaleb(-shift)


def holds(condition, seconds: float = DEFAULT_SECONDS) -> bool | None:
    """A relational (or And/Or/Not of them) between closed expressions: True, False or None."""
    if isinstance(condition, BooleanTrue) or condition is True:
        return True
    if isinstance(condition, BooleanFalse) or condition is False:
        return False
    if isinstance(condition, (And, Or)):
        parts = [holds(c, seconds) for c in condition.args]
        want = isinstance(condition, Or)  # Or: one True decides; And: one False decides
        if want in parts:
            return want
        return None if None in parts else not want
    if isinstance(condition, Not):
        inner = holds(condition.args[0], seconds)
        return None if inner is None else not inner
    if isinstance(condition, sympy.core.relational.Relational):
        found = sign(condition.lhs - condition.rhs, seconds)
        if found is None:
            return None
        return {sympy.LessThan: found <= 0, sympy.StrictLessThan: found < 0, sympy.GreaterThan: found >= 0,
                sympy.StrictGreaterThan: found > 0, sympy.Equality: found == 0,
                sympy.Unequality: found != 0}.get(type(condition))
    return None


def _branches(value: sympy.Expr, deadline: float) -> sympy.Expr | None:
    """Replace every constant Piecewise (relu, max, abs, ...) by its branch, or None if undecided."""
    kinds = (sympy.Piecewise, sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign)
    if not value.has(*kinds):
        return value
    if isinstance(value, (sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign)):
        value = value.rewrite(sympy.Piecewise)
        if not isinstance(value, sympy.Piecewise):
            return _branches(value, deadline) if not isinstance(value, kinds) else None
    if isinstance(value, sympy.Piecewise):
        for branch, condition in value.args:
            seconds = max(0.05, deadline - time.monotonic())
            chosen = holds(_condition_branches(condition, deadline), seconds)
            if chosen is None:
                return None
            if chosen:
                return _branches(branch, deadline)
        return None  # no branch applies: undefined
    args = [_branches(a, deadline) for a in value.args]
    if any(a is None for a in args):
        return None
    return value.func(*args)


def _condition_branches(condition, deadline: float):
    if isinstance(condition, sympy.core.relational.Relational):
        lhs, rhs = _branches(condition.lhs, deadline), _branches(condition.rhs, deadline)
        if lhs is None or rhs is None:
            return None
        return condition.func(lhs, rhs, evaluate=False)
    if isinstance(condition, (And, Or, Not)):
        parts = [_condition_branches(c, deadline) for c in condition.args]
        return None if any(p is None for p in parts) else condition.func(*parts, evaluate=False)
    return condition


def _interval_sign(value: sympy.Expr, deadline: float, precisions=PRECISIONS) -> int | None:
    for bits in precisions:
        if time.monotonic() > deadline:
            return None
        saved = mpmath.iv.prec
        mpmath.iv.prec = bits
        try:
            box = _interval(value, deadline)
        except _Undefined:
            continue
        finally:
            mpmath.iv.prec = saved
        if box.a > 0:
            return 1
        if box.b < 0:
            return -1
    return None


def _interval(expr: sympy.Expr, deadline: float):
    """An enclosure of `expr` in the current mpmath.iv precision (outward rounded)."""
    iv = mpmath.iv
    if time.monotonic() > deadline:
        raise _Undefined("time limit")
    if expr.is_Integer:
        return iv.mpf(int(expr))
    if expr.is_Rational:
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if expr is sympy.pi:
        return iv.pi
    if expr is sympy.E:
        return iv.e
    if expr.is_Float:
        return iv.mpf(sympy.Rational(expr).p) / iv.mpf(sympy.Rational(expr).q)
    args = [_interval(a, deadline) for a in expr.args]
    if expr.is_Add:
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if expr.is_Mul:
        total = args[0]
        for a in args[1:]:
            total = total * a
        return total
    if expr.is_Pow:
        base, exponent = args
        if expr.exp.is_Integer:
            n = int(expr.exp)
            if n < 0:
                return _reciprocal(base ** (-n)) if n != -1 else _reciprocal(base)
            return base ** n
        if expr.exp == sympy.Rational(1, 2):
            return _sqrt(base)
        if base.a <= 0:
            raise _Undefined("a power of a base that may be negative")
        return _exp(exponent * iv.log(base))
    if isinstance(expr, sympy.exp):
        return _exp(args[0])
    if isinstance(expr, sympy.log):
        if args[0].a <= 0:
            raise _Undefined("log of a value that may not be positive")
        return iv.log(args[0])
    if isinstance(expr, sympy.sin):
        return _bounded_trig(iv.sin, args[0])
    if isinstance(expr, sympy.cos):
        return _bounded_trig(iv.cos, args[0])
    if isinstance(expr, sympy.tan):
        sine, cosine = _bounded_trig(iv.sin, args[0]), _bounded_trig(iv.cos, args[0])
        return sine * _reciprocal(cosine)
    if isinstance(expr, sympy.tanh):  # 1 - 2/(e^{2t} + 1): t appears once, so the enclosure stays tight
        return 1 - 2 * _reciprocal(_exp(2 * args[0]) + 1)
    raise _Undefined(f"no interval rule for {type(expr).__name__}")


def _exp(t):
    iv = mpmath.iv
    if t.a > EXP_CAP:
        return iv.mpf([iv.exp(EXP_CAP).a, mpmath.inf])
    if t.b < -EXP_CAP:
        return iv.mpf([0, iv.exp(-EXP_CAP).b])
    low = iv.exp(t.a).a if t.a >= -EXP_CAP else 0
    high = iv.exp(t.b).b if t.b <= EXP_CAP else mpmath.inf
    return iv.mpf([low, high])


def _reciprocal(t):
    if t.a <= 0 <= t.b:
        raise _Undefined("division by a value that may be zero")
    return 1 / t


def _sqrt(t):
    if t.b < 0:
        raise _Undefined("square root of a negative value")
    if t.a < 0:
        raise _Undefined("square root of a value that may be negative")
    return mpmath.iv.sqrt(t)


def _bounded_trig(function, t):
    if t.b == mpmath.inf or t.a == -mpmath.inf:
        return mpmath.iv.mpf([-1, 1])
    return function(t)


def _simplifies_to_zero(value: sympy.Expr, deadline: float) -> bool:
    """A bounded symbolic attempt at proving a closed value is exactly 0 (identities like sin²+cos²=1)."""
    from chainrule.deadline import Deadline, OutOfTime

    seconds = min(SIMPLIFY_SECONDS, deadline - time.monotonic())
    if seconds <= 0:
        return False
    try:
        with Deadline(seconds):
            for attempt in (sympy.trigsimp, sympy.simplify):
                if attempt(value) == 0:
                    return True
    except OutOfTime:
        return False
    return False
