"""Exact values as plain text: SymPy's own sstr, character for character, printed once per subtree."""

from __future__ import annotations

import pytest
import sympy as sp

from chainrule.plain_text import full_stop, plain_text

x, y = sp.symbols("x y", real=True)
SHARED = sp.tanh(sp.Rational(1, 2) - 3 * sp.tanh(sp.Rational(1, 3)))


@pytest.mark.parametrize("value", [
    sp.Rational(17, 5),
    sp.Integer(-3),
    sp.Float("0.1", 50),  # top level: all 50 digits
    sp.Float("0.1", 50) * x,  # nested: SymPy strips the digits
    sp.Rational(1, 2) - sp.tanh(sp.Rational(1, 2)) / 2 + (1 - sp.tanh(sp.Rational(1, 2)) ** 2) * (-1 + sp.tanh(sp.Rational(1, 2))) / 2,
    sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
    -(y * sp.log(x) + (1 - y) * sp.log(1 - x)),
    sp.Add(*(SHARED ** k * sp.Rational(k, 7) for k in range(1, 6)), evaluate=False),
    (1 - SHARED ** 2) * (SHARED - 1) * sp.exp(SHARED) / (sp.exp(SHARED) + sp.exp(-SHARED)),
])
def test_plain_text_is_sympys_sstr(value):
    assert plain_text(value) == sp.sstr(value, order="none")


def test_the_same_subtree_prints_the_same_at_any_depth():
    # The memo is shared across calls: a subtree printed inside one value, then alone.
    inner = sp.Float("0.25", 30) + x
    assert plain_text(sp.tanh(inner)) == sp.sstr(sp.tanh(inner), order="none")
    assert plain_text(inner) == sp.sstr(inner, order="none")
    assert plain_text(sp.Float("0.25", 30)) == sp.sstr(sp.Float("0.25", 30), order="none")


@pytest.mark.parametrize("text, sentence", [
    ("unknown name 'delta_o1'", "unknown name 'delta_o1'."),
    ("unknown name 'delta_o1'; did you mean 'delta_z12'?", "unknown name 'delta_o1'; did you mean 'delta_z12'?"),
    ("expression too complex.", "expression too complex."),
    ("stop!", "stop!"),
])
def test_full_stop_ends_a_sentence_once(text, sentence):
    assert full_stop(text) == sentence


def test_a_suggestion_in_feedback_is_not_followed_by_a_second_stop():
    from chainrule.check.answers import parse_answers
    from chainrule.check.grading import check

    report = check(parse_answers('spec = "inf264_hw4"\n[proofs]\nw0 = "dL/dw0 = delta_hh * x0"\n', "a.toml"))
    feedback = next(j.feedback for j in report.judgements if j.key == "proofs.w0")
    assert feedback.endswith("did you mean 'delta_h'?"), feedback
