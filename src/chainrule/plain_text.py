"""Exact values as SymPy's plain text, printed once per distinct subtree.

Backpropagated values in exp and tanh are trees that share most of their subtrees (the same
tanh(...) appears in every δ beneath it); SymPy's printer walks every occurrence again. The
text of a compound expression does not depend on where it stands (the caller adds any
parentheses), so it is remembered; atoms such as Floats, whose digits depend on the nesting
level, are printed as SymPy prints them.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

_MEMO: dict = {}  # compound subtree -> its text; shared by every call (values share subtrees too)
_MEMO_LIMIT = 200_000


class _SharedStrPrinter(StrPrinter):
    """StrPrinter that prints each distinct compound subtree once."""

    def __init__(self, settings, memo: dict):
        super().__init__(settings)
        self._memo = memo

    def _print(self, expr, **kwargs) -> str:
        if kwargs or not isinstance(expr, sp.Basic) or not expr.args:
            return super()._print(expr, **kwargs)
        known = self._memo.get(expr)
        if known is None:
            known = self._memo[expr] = super()._print(expr)
        return known


def plain_text(value: sp.Expr) -> str:
    """`sp.sstr(value, order="none")`, character for character, without re-printing shared subtrees."""
    if len(_MEMO) > _MEMO_LIMIT:
        _MEMO.clear()
    return _SharedStrPrinter({"order": "none"}, _MEMO).doprint(value)


def full_stop(text: str) -> str:
    """`text` ended as a sentence: a full stop added unless it already ends in '.', '?' or '!'."""
    return text if text.rstrip().endswith((".", "?", "!")) else f"{text}."
