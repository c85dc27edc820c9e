"""The activation and loss registries: one record each, read by every stage.

ELU was added as one record in core/activations.py; these tests show it reaches the spec reader,
the model, the derivation (both ways, proved equal), the numbers, the notation parser and the
variants without any other file knowing its name.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from chainrule.check.notation import FreeVocabulary, parse
from chainrule.core.activations import ACTIVATIONS, T
from chainrule.core.losses import LOSSES
from chainrule.core.model import build
from chainrule.core.solution import solve
from chainrule.core.spec_reader import parse as parse_spec
from chainrule.errors import SpecError

ELU_SPEC = """
name = "elu_net"
[network]
sizes = [2, 1, 1]
activations = [{name = "elu", alpha = 0.5}, "identity"]
[loss]
kind = "squared_error"
[data]
x = [[2, 1], [-3, 2]]
y = [1.3, 1.9]
[parameters]
init = [1, 1, 0, 1, 0]
[training]
learning_rate = 0.01
"""


@pytest.mark.parametrize("name", sorted(n for n, a in ACTIVATIONS.items() if a.define is not None))
def test_every_derivative_is_the_derivative_of_the_definition(name):
    """g′ away from kinks equals mpmath's numeric derivative of g (an oracle we did not write)."""
    record = ACTIVATIONS[name]
    g, g_prime = record.function(), record.derivative()
    for at in (sp.Rational(-3, 2), sp.Rational(1, 3), sp.Rational(5, 2)):
        numeric = mpmath.diff(lambda v: mpmath.mpf(str(sp.N(g(sp.Float(v, 30)), 30))), mpmath.mpf(at.p) / at.q)
        assert abs(float(sp.N(g_prime(at), 30)) - float(numeric)) < 1e-9


@pytest.mark.parametrize("name, expected", [("relu", 0), ("leaky_relu", sp.Rational(1, 100)), ("elu", 1)])
def test_kink_convention_is_the_left_derivative(name, expected):
    assert ACTIVATIONS[name].derivative()(sp.Integer(0)) == expected


def test_every_record_is_complete():
    for name, record in ACTIVATIONS.items():
        assert record.name == name and record.latex and record.latex_name and record.plain_name
        if record.define is not None:
            assert record.function()(T).free_symbols <= {T}
    for name, loss in LOSSES.items():
        assert loss.name == name and loss.plain_name
        assert loss.output_activation is None or loss.output_activation in ACTIVATIONS


def test_an_added_activation_reaches_every_stage():
    spec = parse_spec(ELU_SPEC)
    assert spec.activations == ("elu", "identity") and dict(spec.activation_options[0]) == {"alpha": Fraction(1, 2)}
    model = build(spec)
    z = model.by_name["z"].symbol
    assert model.by_name["h"].definition == sp.Piecewise((sp.Rational(1, 2) * (sp.exp(z) - 1), z <= 0), (z, True))
    solution = solve(spec)
    assert solution.all_proved, [c.identity for c in solution.identities]
    # sample 2 has z = -3 + 2 = -1 < 0: h = (e^-1 - 1)/2, exact
    h2 = solution.training.initial.samples[1].values["h"]
    assert sp.simplify(h2 - (sp.exp(-1) - 1) / 2) == 0
    assert parse("elu(0)", FreeVocabulary()) == 0


@pytest.mark.parametrize("entry, message", [
    ('{name = "elu", alpha = 0}', "expected a scale above 0"),
    ('{name = "elu", slope = 1}', "unknown option for elu"),
    ('"elo"', "did you mean 'elu'"),
])
def test_activation_options_come_from_the_record(entry, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(ELU_SPEC.replace('{name = "elu", alpha = 0.5}', entry))


def test_the_sheet_writes_an_option_s_value_into_the_definition():
    # ELU's α was never stated (the sheet printed "\alpha (e^{t} - 1)"); leaky ReLU's default slope
    # was a second copy of the record's
    from chainrule.render.sheet_working import activation_sentences

    elu = activation_sentences(build(parse_spec(ELU_SPEC)))[0]
    assert r"g(t) = \begin{cases} \frac{1}{2} \cdot  (e^{t} - 1) & t \le 0" in elu and r"\alpha" not in elu
    leaky = parse_spec(ELU_SPEC.replace('{name = "elu", alpha = 0.5}', '"leaky_relu"'))
    assert r"$g(t) = \max(\frac{1}{100} \cdot  t, t)$" in activation_sentences(build(leaky))[0]


@pytest.mark.parametrize("name, options, expected", [
    ("relu", {}, r"\max(0, t)"),
    ("leaky_relu", {"alpha": Fraction(1, 10)}, r"\max(\frac{1}{10} \cdot  t, t)"),
    ("elu", {}, r"\begin{cases} 1 \cdot  (e^{t} - 1) & t \le 0 \\ t & t > 0 \end{cases}"),
    ("sigmoid", {}, r"\frac{1}{1 + e^{-t}}"),
])
def test_definition_latex(name, options, expected):
    assert ACTIVATIONS[name].definition_latex(options) == expected


def test_the_matrix_form_states_the_options_too():
    from chainrule.render.printer import Printer
    from chainrule.render.sheet_matrix import matrix_problem_context

    leaky = parse_spec(ELU_SPEC.replace('{name = "elu", alpha = 0.5}', '{name = "leaky_relu", alpha = 0.2}'))
    model = build(leaky)
    hidden = matrix_problem_context(model, Printer(model))["activations"][0]
    assert hidden["definition"] == r"\max(\frac{1}{5} \cdot  t, t)"


# Where code outside the registries still names a kind, and why. A new `== "relu"` (or any other
# kind's name) elsewhere fails this test: put what it knows into the record instead.
NAMED_ELSEWHERE = {
    # `solve --json`'s relu_derivative_at_zero and the mistake catalogue's ReLU-derivative mistakes
    # are about ReLU itself (the sheets read the record's step_derivative)
    ("core/solution.py", "relu"), ("check/mistakes.py", "relu"),
    # the spec format's network-wide relu_derivative_at_zero key
    ("core/spec_reader.py", "relu"),
    # the exact η analysis is written for these two activations and losses (see the test below)
    ("core/learning_rate.py", "relu"), ("core/learning_rate.py", "half_squared_error"),
}


def test_no_code_outside_the_registries_branches_on_a_kind_s_name():
    import re
    from pathlib import Path

    import chainrule

    names = "|".join(sorted({*ACTIVATIONS, *LOSSES}, key=len, reverse=True))
    comparison = re.compile(rf"""(?:==|!=|\bin)\s*\(?\s*["']({names})["']""")
    root = Path(chainrule.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        where = path.relative_to(root).as_posix()
        if where in ("core/activations.py", "core/losses.py"):
            continue
        found |= {(where, name) for name in comparison.findall(path.read_text(encoding="utf-8"))}
    assert found == NAMED_ELSEWHERE


def test_the_exact_learning_rate_analysis_claims_only_what_it_implements():
    # learning_rate.analyse writes out max(0, z) and (ŷ − y)², halved for the half loss: a record
    # claiming the analysis without an implementation there would be analysed as if it were linear
    assert {n for n, a in ACTIVATIONS.items() if a.learning_rate_analysis} == {"relu", "identity"}
    assert {n for n, loss in LOSSES.items() if loss.learning_rate_analysis} == {"squared_error", "half_squared_error"}


@pytest.mark.parametrize("name, filled, expected", [
    ("squared_error", [("3", 1, "1")], r"\left(3 - 1\right)^2"),
    ("half_squared_error", [("3", 1, "1")], r"\tfrac{1}{2}\left(3 - 1\right)^2"),
    ("half_squared_error", [("3", 1, "1"), ("2", 0, "0")],
     r"\tfrac{1}{2}\bigl[\left(3 - 1\right)^2 + \left(2 - 0\right)^2\bigr]"),
    ("absolute_error", [("(-0.5)", 1, "1")], r"\left|(-0.5) - 1\right|"),
    ("binary_cross_entropy", [("0.7", 1, "1")], r"-\ln 0.7"),
    ("binary_cross_entropy", [("0.7", 0, "0")], r"-\ln\left(1 - 0.7\right)"),
    ("binary_cross_entropy", [("0.7", sp.Rational(1, 4), "0.25")],
     r"-\left[0.25 \ln 0.7 + (1 - 0.25) \ln\left(1 - 0.7\right)\right]"),
    ("softmax_cross_entropy", [("0.2", 0, "0"), ("0.8", 1, "1")], r"-\ln 0.8"),
    ("softmax_cross_entropy", [("0.2", sp.Rational(1, 2), "0.5"), ("0.8", sp.Rational(1, 2), "0.5")],
     r"- 0.5 \ln 0.2 - 0.5 \ln 0.8"),
])
def test_each_loss_writes_its_own_working(name, filled, expected):
    assert LOSSES[name].working(filled) == expected


@pytest.mark.parametrize("text", ["leaky_relu(relu(tan(z)))", "elu(relu(tan(z)))"])
def test_every_kinked_activation_word_is_held_to_the_piecewise_nesting_limit(text):
    # only relu(...) was: leaky_relu and elu build a Piecewise too, which SymPy folds without bound
    from chainrule.check.tokens import NotationError

    with pytest.raises(NotationError, match="may use only small numbers"):
        parse(text, FreeVocabulary())


def test_the_sheet_states_a_step_derivative_from_the_record():
    # the templates held ReLU's "g'(t) = 1 for t > 0 and 0 for t < 0" and "\\max(0, t)" themselves
    from chainrule.core.spec_reader import load
    from chainrule.render.sheet import activation_text

    text = activation_text(build(load("inf264_hw4")))
    assert text["derivative_sides"] == ["$g'(t) = 1$ for $t > 0$", "$0$ for $t < 0$"]
    assert (text["relu_at_zero"], text["left_derivative"]) == ("0", True)
    assert (text["kinked_name"], text["kinked_definition"]) == ("ReLU", r"\max(0, t)")
    assert activation_text(build(load("sigmoid_bce")))["relu_at_zero"] is None
