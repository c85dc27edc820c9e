"""The LaTeX printer: the model's expressions and exact numbers in the spec's notation, and escaping.

All mathematics on a sheet is printed here, in Python; templates only place the pieces.
"""

from __future__ import annotations

import functools

import sympy as sp

from chainrule.core.model import Model
from chainrule.numbers import decimal, terminates, too_long, truncated

LONG_RATIONAL = 28  # characters of p/q beyond which the sheet shows a fraction as its decimal
LONG_EXPRESSION = 24  # characters of LaTeX beyond which an irrational exact value is shown as its decimal

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}


def escape_tex(text: str) -> str:
    """Make arbitrary user text safe to typeset: no command, group or comment survives."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in str(text) if ch.isprintable())


class Printer:
    """LaTeX for the model's expressions and exact numbers, in the spec's notation."""

    def __init__(self, model: Model):
        self.names = model.latex_names()
        self._key = _NameKey(sorted((s.name, text) for s, text in self.names.items()))

    def expr(self, value: sp.Expr) -> str:
        return _latex(value, self._key)

    def number(self, value: sp.Expr) -> str:
        """An exact value, with a decimal when the exact form is not already one.

        An exact expression too long to read (nested exp and tanh) is shown as its decimal;
        the exact form is in `--json`.
        """
        if value.is_Float or too_long(value) or self._unreadable(value):
            return truncated(value)
        exact = self.expr(value)
        if value.is_Integer:
            return exact
        if terminates(value):
            return rf"{exact} = {decimal(value)}"
        return rf"{exact} \approx {decimal(value)}"

    def short(self, value: sp.Expr) -> str:
        """A short decimal when that is exact, else the exact value with a decimal."""
        return self.plain(value) if terminates(value) else self.number(value)

    def plain(self, value: sp.Expr) -> str:
        """A number as a short decimal when exact, else exact (for compact tables)."""
        if value.is_Float or too_long(value) or self._unreadable(value):
            return truncated(value)
        return decimal(value) if terminates(value) else self.expr(value)

    def _unreadable(self, value: sp.Expr) -> bool:
        """An exact form too long for a line of working: shown as its cut decimal (exact in --json)."""
        if value.is_Rational:  # the length of str(value), `p/q` or `p`, without SymPy's printer
            length = len(str(int(value.p))) + (0 if value.q == 1 else len(str(int(value.q))) + 1)
            return length > LONG_RATIONAL
        return len(self.expr(value)) > LONG_EXPRESSION


class _NameKey(tuple):
    """The printer's symbol names as part of a cache key, hashed once: a big network names thousands
    of symbols, and hashing them again at every printed value made printing quadratic."""

    def __hash__(self) -> int:
        known = self.__dict__.get("hash")
        if known is None:
            known = self.__dict__["hash"] = tuple.__hash__(self)
        return known

    def __reduce__(self):  # another process hashes strings differently: never carry the hash over
        return (_NameKey, (tuple(self),))


@functools.lru_cache(maxsize=16384)
def _latex(value: sp.Expr, names: tuple[tuple[str, str], ...]) -> str:
    """sp.latex, remembered: variants of one spec print the same proofs and formulas many times."""
    return sp.latex(value, symbol_names=_symbol_names(names))


@functools.lru_cache(maxsize=16)
def _symbol_names(names: tuple[tuple[str, str], ...]) -> dict[sp.Symbol, str]:
    return {sp.Symbol(name, real=True): text for name, text in names}


def polynomial_latex(poly: sp.Poly, variable: str = r"\eta") -> str:
    """A polynomial in one variable with rational coefficients, highest power first, exactly as
    `sp.latex` prints its expression (`\\frac{3 \\eta^{2}}{4} - \\eta + 5`).

    Read off the coefficients: SymPy's printer orders the terms and asks of each whether it is
    negative, about 2 ms a polynomial; question 7 prints five of them.
    """
    if poly.is_zero:
        return "0"
    terms = [(power, c) for power, c in zip(range(poly.degree(), -1, -1), poly.all_coeffs()) if c != 0]
    if len(terms) == 2 and terms[1][0] == 0 and terms[1][1] > 0 and terms[0][1] < 0:
        terms.reverse()  # SymPy's one exception to highest power first: 1 - η, not -η + 1
    pieces = []
    for power, coefficient in terms:
        numerator, denominator = abs(int(coefficient.p)), int(coefficient.q)
        negative = coefficient < 0
        if power == 0:
            body = str(numerator) if denominator == 1 else rf"\frac{{{numerator}}}{{{denominator}}}"
        else:
            term = variable if power == 1 else f"{variable}^{{{power}}}"
            term = term if numerator == 1 else f"{numerator} {term}"
            body = term if denominator == 1 else rf"\frac{{{term}}}{{{denominator}}}"
        if pieces:
            pieces.append((" - " if negative else " + ") + body)
        elif negative:  # a leading minus: SymPy writes -5 for an integer, "- " before anything else
            pieces.append(("-" if power == 0 and denominator == 1 else "- ") + body)
        else:
            pieces.append(body)
    return "".join(pieces)
