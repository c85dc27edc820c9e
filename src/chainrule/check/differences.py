"""Say what is wrong with a refuted proof step: a constant factor, a flipped sign, a missing or extra
factor or term — found by comparing the two sides symbolically, within a time budget.

The sides are compared with the nodes (z, h, ŷ, …) as free variables and each δ written out, and
every activation derivative such as g′(z) as a symbol of its own. A relation found there
(right = c·left, right = left·F, right = left + T) is an identity in those free symbols, so it
holds for the network too; whatever is not found in time, or is too long to read, is left unsaid.
"""

from __future__ import annotations

from typing import Mapping

import sympy as sp

from chainrule.deadline import Deadline, OutOfTime

DESCRIBE_SECONDS = 0.5  # per refuted step; the counterexample is given either way
MAX_OPS = 14  # a factor or term longer than this is not worth reading in feedback
_SPOKEN = {sp.Rational(-1): "minus", sp.Rational(1, 2): "half", sp.Integer(2): "twice", sp.Rational(1, 3): "a third of",
           sp.Integer(3): "three times", sp.Rational(1, 4): "a quarter of", sp.Integer(4): "four times"}


def describe(left: sp.Expr, right: sp.Expr, names: Mapping[sp.Expr, str] | None = None,
             seconds: float = DESCRIBE_SECONDS) -> str | None:
    """One clause on how `right` differs from `left`, e.g. 'the factor w3·g′(z) is missing', or None.

    `names` names the non-polynomial pieces (a ReLU derivative's Piecewise -> "g′(z)").
    """
    try:
        with Deadline(seconds):
            return _describe(left, right, names or {})
    except OutOfTime:
        return None
    except (sp.PolynomialError, TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _describe(left: sp.Expr, right: sp.Expr, names: Mapping[sp.Expr, str]) -> str | None:
    left, right, placeholders = _polynomial(left, right, names)
    text = lambda value: _text(value, placeholders)  # noqa: E731
    if left == 0 or right == 0:
        return "the right side is 0, the left side is not" if right == 0 else "the left side is 0, the right side is not"
    ratio = sp.factor(sp.cancel(right / left))
    if ratio.is_number:
        if ratio == -1:
            return "the sign is flipped: the right side is minus the left"
        spoken = _SPOKEN.get(ratio)
        return f"the right side is {spoken} the left" if spoken else f"the right side is {text(ratio)} times the left"
    numerator, denominator = sp.fraction(ratio)
    if numerator.is_Symbol and denominator.is_Symbol and sp.expand(left.xreplace({denominator: numerator}) - right) == 0:
        return f"{text(denominator)} is replaced by {text(numerator)}"
    if sp.count_ops(ratio) <= MAX_OPS:
        if numerator.is_number:
            return f"the factor {text(sp.factor(denominator / numerator))} is missing"
        if denominator.is_number:
            return f"the right side has an extra factor {text(ratio)}"
        if sp.count_ops(ratio) <= 4 and not ratio.has(sp.Add):
            return f"the right side is the left times {text(ratio)}"
    difference = sp.factor(sp.expand(right - left))
    if sp.count_ops(difference) <= MAX_OPS:
        if len(sp.Add.make_args(sp.expand(right))) > len(sp.Add.make_args(sp.expand(left))):
            return f"the right side has an extra term {text(difference)}"
        return f"the term {text(sp.factor(-difference))} is missing on the right side"
    return None


def _polynomial(left: sp.Expr, right: sp.Expr, names: Mapping[sp.Expr, str]):
    """Both sides with every non-polynomial piece (Piecewise, functions) as a named symbol, and those symbols."""
    pieces = left.atoms(sp.Piecewise, sp.Function) | right.atoms(sp.Piecewise, sp.Function)
    replace = {}
    for piece in sorted(pieces, key=lambda p: (-sp.count_ops(p), sp.srepr(p))):
        if not any(piece != outer and outer.has(piece) for outer in replace):
            replace[piece] = sp.Symbol(names.get(piece) or _text(piece, frozenset()), real=True)
    return left.xreplace(replace), right.xreplace(replace), frozenset(replace.values())


def _text(value: sp.Expr, placeholders: frozenset) -> str:
    """Plain text a student reads: 2·w3·g′(z), 2·(ŷ − y): weights and nodes first, functions last."""
    if value.is_Symbol:
        return "ŷ" if value.name == "y_hat" else value.name
    if value.is_Add:
        terms = sorted(value.args, key=lambda t: (t.could_extract_minus_sign(), sp.default_sort_key(t)))
        out = _text(terms[0], placeholders)
        for term in terms[1:]:
            negative = term.could_extract_minus_sign()
            out += (" − " if negative else " + ") + _text(-term if negative else term, placeholders)
        return out
    if value.is_Mul:
        numerator, denominator = sp.fraction(value)
        if denominator != 1:
            below = _text(denominator, placeholders)
            return f"{_text(numerator, placeholders)}/{below if denominator.is_Symbol else f'({below})'}"
        coefficient, factors = value.as_coeff_mul()
        factors = list(factors)
        if coefficient < 0:
            flip = next((i for i, f in enumerate(factors) if f.is_Add), None)
            if flip is not None:
                coefficient, factors[flip] = -coefficient, sp.expand(-factors[flip])
        factors.sort(key=lambda f: (f in placeholders, f.is_Add, sp.default_sort_key(f)))
        parts = [f"({_text(f, placeholders)})" if f.is_Add else _text(f, placeholders) for f in factors]
        if coefficient == -1:
            return "−" + "·".join(parts)
        return "·".join(([] if coefficient == 1 else [_text(coefficient, placeholders)]) + parts)
    if value.is_Pow:
        base = _text(value.base, placeholders)
        base = f"({base})" if not (value.base.is_Symbol or value.base.is_Integer) else base
        if value.exp == -1:
            return f"1/{base}"
        return f"{base}^{_text(value.exp, placeholders)}"
    if value.is_Rational and not value.is_Integer:
        return f"{value.p}/{value.q}"
    text = sp.sstr(value)
    return text.replace("**", "^").replace("*", "·").replace("y_hat", "ŷ")
