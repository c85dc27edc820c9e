"""The sheet's working: substitution into printed formulas, line breaking, plurals, per-layer wording."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import load, solve
from chainrule.core.model import build
from chainrule.render.sheet_working import (
    activation_sentences,
    plural,
    split_sum,
    substitute,
    visible_length,
    wrap_row,
)

HAT_Y, DELTA = r"\widehat{y}", r"\delta_{\widehat{y}}"


@pytest.mark.parametrize("latex, values, expected", [
    (r"2 \left(\widehat{y} - y\right)", {HAT_Y: "3", "y": "1.3"}, r"2 \left(3 - 1.3\right)"),
    # the longer name wins: δ_ŷ is not read as δ_ followed by ŷ
    (r"\delta_{\widehat{y}} \cdot w_{3} \cdot g'(z)", {DELTA: "3.4", HAT_Y: "3", "w_{3}": "1", "g'(z)": "1", "z": "9"},
     r"3.4 \cdot 1 \cdot 1"),
    # a one-letter name is never replaced inside a command (\right has an h) or a longer name
    (r"\left(h + h_{1}\right)", {"h": "7"}, r"\left(7 + h_{1}\right)"),
    (r"w_{1} + w_{10}", {"w_{1}": "2", "w_{10}": "5"}, "2 + 5"),
])
def test_substitute(latex, values, expected):
    assert substitute(latex, values) == expected


@pytest.mark.parametrize("latex, budget, pieces", [
    ("a + b", 40, ["a + b"]),
    ("a + b - c", 2, ["a", "+ b", "- c"]),
    (r"\left(a + b\right) \cdot c + d", 8, [r"\left(a + b\right) \cdot c", "+ d"]),
    # a long bracket is opened up: \bigl( … \bigr) need not close on the same line
    (r"\left(aaaa + bbbb\right) \cdot c", 6, [r"\bigl(aaaa", r"+ bbbb\bigr) \cdot c"]),
    # never inside an environment
    (r"\begin{cases} a - b & x \end{cases} + c", 4, [r"\begin{cases} a - b & x \end{cases}", "+ c"]),
])
def test_split_sum(latex, budget, pieces):
    assert split_sum(latex, budget) == pieces


def test_wrap_row_breaks_a_long_row_and_keeps_a_short_one():
    short = r"z &= 1 \cdot 2 + 1 = 3"
    assert wrap_row(short) == short
    long = "z &= " + " + ".join(f"{k} \\cdot {k}" for k in range(40)) + " = 1"
    lines = wrap_row(long, budget=40).split(" \\\\\n")
    assert len(lines) > 2 and lines[0].startswith("z &= 0 \\cdot 0")
    assert all(visible_length(line) <= 48 for line in lines)


@pytest.mark.parametrize("count, word, many, expected", [
    (1, "sample", None, "1 sample"), (3, "sample", None, "3 samples"),
    (1, "local identity", "local identities", "1 local identity"),
    (2, "local identity", "local identities", "2 local identities"),
])
def test_plural(count, word, many, expected):
    assert plural(count, word, many) == expected


@pytest.mark.parametrize("name, expected", [
    ("inf264_hw4", ["The hidden layer applies the ReLU activation $g(t) = \\max(0, t)$.",
                    "The output layer is linear (no activation)."]),
    ("softmax_classifier", ["The hidden layer applies the ReLU activation $g(t) = \\max(0, t)$.",
                            "The output layer applies the softmax to its 3 pre-activations: "
                            "$\\operatorname{softmax}(t)_k = \\frac{e^{t_k}}{\\sum_{j=1}^{3} e^{t_j}}$."]),
    ("sigmoid_bce", ["The hidden layer applies the sigmoid activation $g(t) = \\frac{1}{1 + e^{-t}}$.",
                     "The output layer applies the sigmoid $\\sigma(t) = \\frac{1}{1 + e^{-t}}$."]),
])
def test_each_layer_is_named_as_the_model_uses_it(name, expected):
    assert activation_sentences(build(load(name))) == expected


def test_identity_wording_for_a_structural_sheet_says_45_digits():
    from chainrule.render.sheet_working import established

    solution = solve("softmax_classifier")
    text = established(solution.identities[0], solution)
    assert "45-digit evaluation" in text and "1 local identity proved" in text and "each of the 3 samples" in text


def test_training_curves_read_apart_and_a_diverging_one_says_where():
    from chainrule.render.printer import Printer
    from chainrule.render.sheet_figures import figures_context

    solution = solve("inf264_hw4")
    figures = figures_context(solution, Printer(solution.model))
    styles = [c["style"] for c in figures["curves"]]
    assert len(set(styles)) == len(styles) == 5
    assert len({s.split(",")[0] for s in styles}) == 5 and len({s.split(",")[1] for s in styles}) == 5
    ends = [c["end"] for c in figures["curves"] if c["end"]]
    assert [e["label"] for e in ends] == ["diverges at step 3"]  # η = 0.64, past the edge
    drawn = [v for c in figures["curves"] for v in c["values"]]
    assert float(figures["curve_y_min"]) <= min(drawn) and max(drawn) <= float(figures["curve_y_max"]) < 10 * max(drawn)


def test_a_tied_parameter_is_justified_in_plain_words():
    # b1 of mazur_2_2_2 feeds both hidden units: "appears in the definition of", one space
    from chainrule.core.derivation import derive

    chains = derive(build(load("mazur_2_2_2"))).chains
    tied = [c.justification for c in chains if "used in 2 places" in c.justification]
    assert tied and all("appears in the definition" in j and "  " not in j for j in tied)
    single = [c.justification for c in chains if "used in" not in c.justification]
    assert single and all("appears only in the definition" in j for j in single)


def test_a_chain_rule_only_identity_and_a_single_sample_are_worded_as_such():
    # han_kamber_3_2_1: one sample, structural proofs; its output δ rests on the chain rule alone
    from chainrule.render.report import solution_text
    from chainrule.render.sheet_working import established

    solution = solve("han_kamber_3_2_1")
    lines = [established(c, solution) for c in (*solution.delta_proofs, *solution.identities)]
    methods = [c.identity.method for c in (*solution.delta_proofs, *solution.identities)]
    assert "Established in two parts: the chain rule alone (no local identity to prove); the whole identity " \
           "verified by 45-digit evaluation (in 60-digit arithmetic) against forward-mode differentiation at the " \
           "sample." in lines
    assert any(m.startswith("structural: the chain rule alone (no local identity); agrees with forward-mode "
                            "differentiation at the sample,") for m in methods)
    text = solution_text(solution)
    for wording in ("0 local identities", "all 1 samples", "1 samples"):
        assert wording not in text and not any(wording in line for line in lines), wording


RELU_AT_KINK = ('[network]\nsizes = [1, 1, 1]\nactivations = [{{name = "relu", derivative_at_zero = "{}"}}, "identity"]\n'
                '[loss]\nkind = "squared_error"\n[data]\nx = [[2]]\ny = [1]\n[parameters]\ninit = [1, -2, 1, 0]\n'
                '[training]\nlearning_rate = "1/10"\n')


@pytest.mark.parametrize("at_zero, shown", [("0", "0"), ("1", "1"), ("1/2", "0.5")])
def test_the_relu_step_line_at_the_kink_follows_the_convention(at_zero, shown):
    # z = 1·2 − 2 = 0 exactly: the line g'(z) = g'(0) = … must give the value the δ below it uses
    from chainrule.core.spec_reader import parse
    from chainrule.render.documents import render

    tex = render(solve(parse(RELU_AT_KINK.format(at_zero))))
    assert rf"g'(z) &= g'(0) = {shown} \\" in tex
    assert rf"g'(z) = (-2) \cdot 1 \cdot {shown} = " in tex
TOKENS = [r"\left(", r"\right)", r"\cdot", r"\widehat{y}", "w_{3}", "x", "^{2}", "{", "}", "\\", r"\\", "7", r"\hat",
          "left", r"\mathrm{ReLU}", "-", "+", "  "]


@given(st.lists(st.sampled_from(TOKENS), max_size=8).map("".join), st.lists(st.sampled_from(TOKENS), max_size=8).map("".join))
def test_visible_lengths_add_up_over_a_space(a, b):
    # split_sum measures each term once and adds: that is only right if joining by a space adds lengths
    assert visible_length(f"{a} {b}") == visible_length(a) + visible_length(b)


def _outside_by_visiting(text: str) -> list[int]:
    """Every position outside the brackets, by walking the text (the scan split_sum used to make)."""
    import re

    depth, start, found = 0, 0, []
    for bracket in re.finditer(r"\\left|\\begin|\{|\\right|\\end|\}", text):
        if depth == 0:
            found += range(start, bracket.start())
        depth += 1 if bracket.group() in (r"\left", r"\begin", "{") else -1
        start = bracket.start() + 1
    return found + (list(range(start, len(text))) if depth == 0 else [])


@given(st.lists(st.sampled_from([*TOKENS, " + ", " - ", " = ", r"\begin{cases}", r"\end{cases}"]), max_size=14).map("".join))
def test_breaks_are_found_outside_brackets_as_a_walk_finds_them(text):
    import re

    from chainrule.render.sheet_working import _outside

    outside = _outside_by_visiting(text)
    assert _outside(text, re.compile(r"(?<= )[+-]")) == [i for i in outside if text[i] in "+-" and i > 0 and text[i - 1] == " "]
    assert _outside(text, re.compile("(?= = )")) == [i for i in outside if text.startswith(" = ", i)]
