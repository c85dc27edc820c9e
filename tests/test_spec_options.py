"""Issue 13's spec options: reductions, `network.bias`, `[parameters] names`, `frozen` and `tie`.

Each option is checked against an oracle written here in plain Python: the network's loss as a
function of its parameters, differentiated numerically by `mpmath.diff`, never chainrule's numbers.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from chainrule.classroom.variants import make_variant
from chainrule.cli.main import main
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.solution import solve
from chainrule.core.spec_dump import dump
from chainrule.core.spec_reader import load, parse
from chainrule.errors import SpecError

ACTIVATION = {
    "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
    "tanh": mpmath.tanh,
    "identity": lambda t: t,
}


def spec_text(sizes="[2, 2, 2]", activations='["sigmoid", "identity"]', network="", loss="", parameters="",
              init="[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, -1, 1.1, 1.2]",
              y="[[0.5, -1], [1, 0.25]]") -> str:
    return f"""name = "options"
[network]
sizes = {sizes}
activations = {activations}
{network}
[loss]
kind = "half_squared_error"
{loss}
[data]
x = [[1, 2], [-1, 0.5]]
y = {y}
[parameters]
init = {init}
{parameters}
[training]
learning_rate = 0.1
"""


def oracle_loss(sizes, activations, bias, slots, x, y, samples="mean", outputs="sum"):
    """The dataset loss in plain Python: `slots(values)` gives each slot's value from the parameters'."""
    def loss(*values):
        total = 0
        for inputs, targets in zip(x, y):
            slot = iter(slots(values))  # every sample runs through the same parameters
            a = [_mp(v) for v in inputs]
            for layer, (width, name) in enumerate(zip(sizes[1:], activations)):
                nxt = []
                for _ in range(width):
                    z = sum(next(slot) * v for v in a)
                    if bias[layer]:
                        z += next(slot)
                    nxt.append(ACTIVATION[name](z))
                a = nxt
            terms = [(p - _mp(t)) ** 2 / 2 for p, t in zip(a, targets)]
            total += sum(terms) / (len(terms) if outputs == "mean" else 1)
        return total / (len(x) if samples == "mean" else 1)
    return loss


def _mp(value):
    value = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    return mpmath.mpf(value.numerator) / value.denominator


def numeric_gradient(loss, theta):
    gradient = []
    for i in range(len(theta)):
        point = [_mp(v) for v in theta]
        gradient.append(mpmath.diff(lambda t, i=i: loss(*point[:i], t, *point[i + 1:]), point[i]))
    return gradient


def chainrule_gradient(spec):
    training = train(derive(build(spec)), steps=1)
    return training, [mpmath.mpf(str(sp.N(g, 40))) for g in training.initial.gradient]


def _flat(values):
    return values


X = [[1, 2], [-1, 0.5]]
Y = [[0.5, -1], [1, 0.25]]
TIED = lambda v: [*v[:2], v[2], *v[3:5], v[2], *v[5:7], v[7], *v[8:10], v[7]]  # noqa: E731 - b1, b2 used twice

CASES = [
    # (what, extra TOML, sizes/bias/slot mapping for the oracle, reductions)
    ("defaults", {}, ([2, 2, 2], [True, True], _flat), ("mean", "sum")),
    ("sum over samples", {"loss": 'reduction_samples = "sum"'}, ([2, 2, 2], [True, True], _flat), ("sum", "sum")),
    ("mean over outputs", {"loss": 'reduction_outputs = "mean"'}, ([2, 2, 2], [True, True], _flat), ("mean", "mean")),
    ("both reductions flipped", {"loss": 'reduction_samples = "sum"\nreduction_outputs = "mean"'},
     ([2, 2, 2], [True, True], _flat), ("sum", "mean")),
    ("no bias", {"network": "bias = false", "init": "[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8]"},
     ([2, 2, 2], [False, False], _flat), ("mean", "sum")),
    ("bias in the hidden layer only", {"network": "bias = [true, false]",
                                       "init": "[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, -1]"},
     ([2, 2, 2], [True, False], _flat), ("mean", "sum")),
    ("names", {"parameters": 'names = ["a", "b", "c", "q", "r", "f", "g1", "s_1", "k", "m", "n", "p"]'},
     ([2, 2, 2], [True, True], _flat), ("mean", "sum")),
    ("ties", {"init": "[0.1, -0.2, 0.3, 0.4, 0.5, 0.3, 0.7, 0.8, 0.9, -1, 1.1, 0.9]",
              "parameters": 'tie = [["w2", "w5"], ["w8", "w11"]]'}, ([2, 2, 2], [True, True], TIED), ("mean", "sum")),
]


@pytest.mark.parametrize("what, extra, network, reductions", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_a_numeric_derivative_of_a_plain_python_loss(what, extra, network, reductions):
    spec = parse(spec_text(**extra))
    sizes, bias, slots = network
    loss = oracle_loss(sizes, ["sigmoid", "identity"], bias, slots, X, Y, *reductions)
    with mpmath.workdps(40):  # not mpmath.mp.dps = 40: that outlived the test (mpmath.diff elsewhere then failed)
        training, gradient = chainrule_gradient(spec)
        theta = spec.init
        assert len(gradient) == len(theta) == spec.parameter_count
        expected_loss = loss(*[_mp(v) for v in theta])
        assert mpmath.almosteq(mpmath.mpf(str(sp.N(training.initial.loss, 40))), expected_loss, 1e-25)
        for mine, theirs in zip(gradient, numeric_gradient(loss, theta)):
            assert mpmath.almosteq(mine, theirs, 1e-10, 1e-12)


def test_ties_make_one_parameter_named_by_the_group_and_its_gradient_sums_the_slots():
    spec = parse(spec_text(init="[0.1, -0.2, 0.3, 0.4, 0.5, 0.3, 0.7, 0.8, 0.9, -1, 1.1, 0.9]",
                           parameters='tie = [["w2", "w5"], ["w8", "w11"]]'))
    assert spec.parameter_names == ("w0", "w1", "w2", "w3", "w4", "w6", "w7", "w8", "w9", "w10")
    assert spec.slot_parameters[5] == "w2" and spec.slot_parameters[11] == "w8"
    derivation = derive(build(spec))
    assert str(derivation.backprop["w2"]) == "delta_z1_1 + delta_z1_2"


def test_frozen_parameters_stay_at_init_and_are_not_asked(capsys):
    spec = parse(spec_text(parameters='frozen = ["w2", "w11"]'))
    training = train(derive(build(spec)), steps=3)
    index = {name: i for i, name in enumerate(spec.parameter_names)}
    for evaluation in training.evaluations:
        assert evaluation.theta[index["w2"]] == spec.init[index["w2"]]
        assert evaluation.theta[index["w11"]] == spec.init[index["w11"]]
    moved = training.after_first.theta[index["w0"]] - spec.init[index["w0"]]
    assert moved == -spec.learning_rate * training.initial.gradient[index["w0"]]
    assert spec.trained_names == tuple(n for n in spec.parameter_names if n not in ("w2", "w11"))


def test_frozen_parameters_stay_put_in_the_learning_rate_analysis():
    text = (Path(__file__).resolve().parents[1] / "derivations" / "inf264_hw4.toml").read_text()
    spec = parse(text.replace("[training]", 'frozen = ["w4"]\n[training]'))
    solution = solve(spec)
    assert solution.learning_rate.available
    # the slope at η = 0 is −Σ g² over the trained parameters only: w4 (gradient −2/5) is left out
    gradient = solution.training.initial.gradient
    assert gradient[4] != 0
    assert solution.learning_rate.slope_at_zero == -sum(g ** 2 for g in gradient[:4])


BAD = [
    ("network", "bias = 1", "network.bias", "true, false or a list of 2 booleans"),
    ("network", "bias = [true]", "network.bias", "a list of 2 booleans"),
    ("loss", 'reduction_samples = "median"', "loss.reduction_samples", "'mean', 'sum'"),
    ("loss", 'reduction_outputs = 2', "loss.reduction_outputs", "'sum', 'mean'"),
    ("parameters", 'names = ["a", "b"]', "parameters.names", "expected a list of 12 names"),
    ("parameters", 'names = ["a", "b", "c", "q", "r", "f", "g1", "s_1", "k", "m", "n", "a"]', "parameters.names[11]",
     "duplicate name 'a'"),
    ("parameters", 'names = ["a", "b", "c", "q", "r", "f", "g1", "h", "k", "m", "n", "p"]', "parameters.names[7]",
     "node or notation name"),
    ("parameters", 'names = ["a", "b", "c", "q", "r", "f", "g1", "y_hat", "k", "m", "n", "p"]',
     "parameters.names[7]", "node or notation name"),
    ("parameters", 'names = ["1a", "b", "c", "q", "r", "f", "g1", "h1x", "k", "m", "n", "p"]', "parameters.names[0]",
     "expected an identifier"),
    ("parameters", 'names = ["a", "b", "c", "q", "r", "f", "g1", "h_1", "k", "m", "n", "p"]', "parameters.names[7]",
     "node or notation name"),
    ("parameters", 'names = ["a-b", "b", "c", "q", "r", "f", "g1", "h1x", "k", "m", "n", "p"]',
     "parameters.names[0]", "expected an identifier"),
    ("parameters", 'tie = [["w2", "w99"]]', "parameters.tie[0]", "unknown slot 'w99'"),
    ("parameters", 'tie = [["w2", "w5"]]', "parameters.tie", "need equal init values, got 3/10, -3/5"),
    ("parameters", 'tie = [["w0", "w1"]]', "parameters.tie[0]", "each unit only once"),
    ("parameters", 'tie = [["w2"]]', "parameters.tie[0]", "at least two"),
    ("parameters", 'tie = "w2"', "parameters.tie", "list of groups"),
    ("parameters", 'frozen = ["w99"]', "parameters.frozen", "unknown parameter 'w99'"),
    ("parameters", 'frozen = ["w0", "w0"]', "parameters.frozen", "listed twice"),
    ("parameters", "frozen = [" + ", ".join(f'"w{i}"' for i in range(12)) + "]", "parameters.frozen",
     "every parameter is frozen"),
    ("parameters", 'freeze = ["w0"]', "parameters.freeze", "did you mean 'frozen'"),
]


@pytest.mark.parametrize("table, line, key, message", BAD, ids=[b[2] + ":" + b[1][:20] for b in BAD])
def test_bad_options_are_one_line_naming_the_key_and_line(table, line, key, message):
    text = spec_text(**{table: line})
    with pytest.raises(SpecError) as error:
        parse(text, "bad.toml")
    assert error.value.key == key
    assert message in error.value.expected
    assert error.value.line == next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(line[:8]))
    assert "\n" not in str(error.value)


def test_a_frozen_secondary_tie_name_is_explained():
    text = spec_text(init="[0.1, -0.2, 0.3, 0.4, 0.5, 0.3, 0.7, 0.8, 0.9, -1, 1.1, 1.2]",
                     parameters='tie = [["w2", "w5"]]\nfrozen = ["w5"]')
    with pytest.raises(SpecError, match="freeze its group's first name 'w2'"):
        parse(text)


def test_the_cli_reports_a_bad_option_in_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(spec_text(parameters='frozen = ["nope"]'))
    assert main(["solve", str(tmp_path / "bad.toml"), "--no-pdf", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "parameters.frozen" in err and "bad.toml:" in err


@pytest.mark.parametrize("extra", [
    {"network": "bias = [true, false]", "init": "[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, -1]"},
    {"loss": 'reduction_samples = "sum"\nreduction_outputs = "mean"'},
    {"init": "[0.1, -0.2, 0.3, 0.4, 0.5, 0.3, 0.7, 0.8, 0.9, -1, 1.1, 0.9]",
     "parameters": 'names = ["a", "b", "c", "q", "r", "c2", "g1", "s_1", "k", "m", "n", "k2"]\n'
                   'tie = [["c", "c2"], ["k", "k2"]]\nfrozen = ["k"]'},
])
def test_a_spec_with_options_is_written_back_and_reads_the_same(extra):
    spec = parse(spec_text(**extra), "options.toml")
    assert parse(dump(spec), "options.toml") == spec


def test_defaults_leave_a_spec_as_it_was():
    spec = load("inf264_hw4")
    assert (spec.reduction_samples, spec.reduction_outputs, spec.bias, spec.names, spec.ties, spec.frozen) == \
        ("mean", "sum", (), (), (), ())
    assert spec.parameter_names == ("w0", "w1", "w2", "w3", "w4")
    assert "bias" not in dump(spec) and "reduction" not in dump(spec)


NAMED = """name = "named"
[network]
sizes = [2, 1, 1]
activations = ["relu", "identity"]
[loss]
kind = "squared_error"
reduction_samples = "sum"
[data]
x = [[2, 1], [-3, 2]]
y = [1.3, 1.9]
[parameters]
init = [1, 1, 0, 1, 0]
names = ["u1", "u2", "c", "v", "c_out"]
frozen = ["c"]
[training]
learning_rate = 0.01
"""


def test_template_and_check_round_trip_with_names_and_a_frozen_parameter(tmp_path, capsys):
    (tmp_path / "named.toml").write_text(NAMED)
    assert main(["template", str(tmp_path / "named.toml")]) == 0
    blank = capsys.readouterr().out
    assert '"gradient.u1" = ""' in blank and '"updated.c_out" = ""' in blank
    assert "gradient.c" not in blank.replace("gradient.c_out", "") and "updated.c\"" not in blank
    assert "\nc = ''" not in blank and "\nu1 = ''" in blank
    # The homework's numbers, worked by hand: z = 2·1 + 1·1 + 0 = 3, ŷ = 3, L₁ = 1.7² = 2.89;
    # z = −1 → h = 0, ŷ = 0, L₂ = 1.9² = 3.61; summed (not averaged): 6.5. ∂L/∂u1 = 2·1.7·1·2 = 6.8.
    # The step leaves c = 0 (frozen); u1 = 1 − 0.01·6.8 = 0.932, and so on.
    answers = {"prediction.1": "3", "prediction.2": "0", "loss": "6.5",
               "gradient.u1": "6.8", "gradient.u2": "3.4", "gradient.v": "10.2", "gradient.c_out": "-0.4",
               "sample_gradient.1.u1": "6.8", "sample_gradient.1.u2": "3.4", "sample_gradient.1.v": "10.2",
               "sample_gradient.1.c_out": "3.4", "sample_gradient.2.u1": "0", "sample_gradient.2.u2": "0",
               "sample_gradient.2.v": "0", "sample_gradient.2.c_out": "-3.8",
               "updated.u1": "0.932", "updated.u2": "0.966", "updated.v": "0.898", "updated.c_out": "0.004",
               "new_loss": "5.1456877156"}
    proofs = {"u1": "dL/du1 = delta_h * x0", "u2": "dL/du2 = delta_h * x1", "v": "dL/dv = delta_y_hat * h",
              "c_out": "dL/dc_out = delta_y_hat"}
    body = "\n".join(f'"{k}" = "{v}"' for k, v in answers.items())
    proof_lines = "\n".join(f"{k} = '{v}'" for k, v in proofs.items())
    (tmp_path / "a.toml").write_text(f'spec = "named.toml"\n[answers]\n{body}\n[proofs]\n{proof_lines}\n')
    assert main(["check", str(tmp_path / "a.toml"), "--json"]) == 0, capsys.readouterr()
    report = json.loads(capsys.readouterr().out)
    text = json.dumps(report)
    assert "gradient.u1" in text and "proofs.c_out" in text and "gradient.c\"" not in text


def test_solve_json_uses_the_names_and_states_the_options(tmp_path, capsys):
    (tmp_path / "named.toml").write_text(NAMED)
    assert main(["solve", str(tmp_path / "named.toml"), "--json", "--no-pdf", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"] == ["u1", "u2", "c", "v", "c_out"]
    assert report["frozen"] == ["c"] and report["reduction"] == {"samples": "sum", "outputs": "sum"}
    assert report["loss"] == "13/2" and report["gradient"]["u1"] == "34/5"
    assert report["updated_parameters"]["c"] == "0"


def test_the_sheet_states_the_options(tmp_path, capsys):
    assert main(["solve", "shared_bias_demo", "--no-pdf", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "shared_bias_demo-solution.tex").read_text()
    assert r"\mathcal{L}(\mathcal{D}) = \sum_{n=1}^{N}" in tex  # summed, not 1/N
    assert r"One parameter $b_{1}$ is shared by" in tex
    assert r"b_{1} &= 0.35 \quad \text{(frozen: not updated)}" in tex
    assert r"\frac{\partial L}{\partial b_{1}} = \delta_{z^{(1)}_{1}} + \delta_{z^{(1)}_{2}}" in tex


def test_variants_keep_ties_equal_and_frozen_parameters_held():
    spec = load("shared_bias_demo")
    for number in (1, 2, 3):
        variant = make_variant(spec, "options", number)
        again = parse(dump(variant.spec), "variant.toml")
        assert again.ties == spec.ties and again.frozen == spec.frozen and again.names == spec.names
        slots = dict(zip(again.parameter_names, again.init))
        assert len(again.init) == again.parameter_count == 10  # 12 slots, two ties
        for name in ("gradient.b1", "gradient.b2", "updated.b1", "updated.b2"):
            assert name not in variant.answers
        training = train(derive(build(variant.spec)), steps=1)
        for name in ("b1", "b2"):
            i = again.parameter_names.index(name)
            assert training.after_first.theta[i] == slots[name]


def test_moodle_text_states_the_options():
    from chainrule.classroom.moodle_cloze import proofs_text, statement
    from chainrule.core.derivation import derive

    def text(name):
        derivation = derive(build(load(name)))
        return statement(derivation, 1, (100, 100)), proofs_text(derivation, 1)

    html, proofs = text("shared_bias_demo")
    assert "its sum over the 2 samples" in html and "on the summed loss" in html
    assert "is shared by" in html and "frozen: held at the initial value" in html
    spec = load("shared_bias_demo")
    assert proofs.count("<li>") == len(spec.trained_names) == len(spec.parameter_names) - 2  # no frozen proof asked
    html, proofs = text("inf264_hw4")
    assert "its mean over the 2 samples" in html and "frozen" not in html and "shared" not in html


def test_the_demo_spec_matches_a_plain_python_oracle():
    spec = load("shared_bias_demo")
    shared = lambda v: [v[0], v[1], v[2], v[3], v[4], v[2], v[5], v[6], v[7], v[8], v[9], v[7]]  # noqa: E731
    loss = oracle_loss([2, 2, 2], ["sigmoid", "sigmoid"], [True, True], shared, spec.x, spec.targets, "sum", "sum")
    _, gradient = chainrule_gradient(spec)
    for mine, theirs in zip(gradient, numeric_gradient(loss, spec.init)):
        assert mpmath.almosteq(mine, theirs, 1e-10, 1e-12)
    assert spec.init[2] == Fraction(7, 20) and spec.parameter_names[2] == "b1"  # b1 = b1_2 = 0.35


def test_the_stress_check_passes_a_summed_loss_with_a_frozen_parameter(tmp_path):
    from chainrule.classroom import stress
    spec = parse(NAMED.replace("[training]", "[variants]\nloss_decreases = false\n[training]"), "named.toml")
    report = stress.run(spec, 2, "options", pdf=False, jobs=1)
    assert report["failures"] == [], stress.text(report)


def test_a_network_without_biases_reads_student_names(tmp_path, capsys):
    text = spec_text(network="bias = false", init="[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8]")
    (tmp_path / "nobias.toml").write_text(text)
    assert main(["eval", r"\frac{\partial L}{\partial w^{(1)}_{12}}", "--spec", str(tmp_path / "nobias.toml"),
                 "--sample", "1", "--json"]) == 0
    value = json.loads(capsys.readouterr().out)
    spec = parse(text)
    sizes, bias, slots = [2, 2, 2], [False, False], _flat
    # one sample's loss, differentiated by mpmath in the second slot (w^{(1)}_{12} = w1)
    one = oracle_loss(sizes, ["sigmoid", "identity"], bias, slots, X[:1], Y[:1], "sum")
    expected = numeric_gradient(one, spec.init)[1]
    assert mpmath.almosteq(mpmath.mpf(value["decimal"]), expected, 1e-10, 1e-11)


RELU_TIED = """name = "relu_tied"
[network]
sizes = [2, 2, 1]
activations = ["relu", "identity"]
bias = [true, false]
[loss]
kind = "squared_error"
[data]
x = [[2, 1], [-3, 2]]
y = [1.3, 1.9]
[parameters]
init = [1, 1, 0.5, -1, 2, 0.5, 1, -1]
names = ["a1", "a2", "c", "q1", "q2", "c_2", "v1", "v2"]
tie = [["c", "c_2"]]
[training]
learning_rate = 0.01
"""


def test_a_tied_relu_network_is_proved_symbolically_both_ways():
    solution = solve(parse(RELU_TIED, "relu_tied.toml"))
    assert solution.proof_mode == "symbolic" and solution.all_proved
    tied = next(c for c in solution.identities if c.chain.subject == "c")
    assert str(solution.derivation.backprop["c"]) == "delta_h1 + delta_h2"
    assert tied.identity.verdict.value == "proved"
    # by hand: sample 1 has z1 = 2 + 1 + 0.5 = 3.5, z2 = -2 + 2 + 0.5 = 0.5, ŷ = 3.5 - 0.5 = 3,
    # δ_ŷ = 2(3 - 1.3) = 3.4, δ_h1 = 3.4, δ_h2 = -3.4: ∂L/∂c = 3.4 - 3.4 = 0 for sample 1
    assert solution.training.initial.samples[0].gradient[2] == 0


def test_a_tied_parameters_proof_is_checked_against_the_sum_over_its_slots(tmp_path):
    from chainrule.check.answer_key import answer_key
    from chainrule.check.proofs import judge_proof
    (tmp_path / "relu_tied.toml").write_text(RELU_TIED)
    key = answer_key(str(tmp_path / "relu_tied.toml"))
    right = judge_proof("c", "dL/dc = delta_h1 + delta_h2", key, 30)
    assert right.verdict == "correct", right.feedback
    half = judge_proof("c", "dL/dc = delta_h1", key, 30)
    assert half.verdict == "incorrect"


def test_the_learning_rate_analysis_follows_a_summed_loss():
    text = (Path(__file__).resolve().parents[1] / "derivations" / "inf264_hw4.toml").read_text()
    spec = parse(text.replace('kind = "squared_error"', 'kind = "squared_error"\nreduction_samples = "sum"'))
    solution = solve(spec)
    # by hand: the summed loss is 2.89 + 3.61 = 6.5 and its gradient (6.8, 3.4, 3.4, 10.2, -0.4)
    assert solution.training.initial.loss == sp.Rational(13, 2)
    assert list(solution.training.initial.gradient) == [sp.Rational(v) for v in ("6.8", "3.4", "3.4", "10.2", "-0.4")]
    assert solution.learning_rate.slope_at_zero == -sum(g ** 2 for g in solution.training.initial.gradient)
    assert solution.learning_rate.pieces[0].loss.eval(0) == sp.Rational(13, 2)


@pytest.mark.parametrize("extra", [
    {"network": "bias = false", "init": "[0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8]"},
    {"init": "[0.1, -0.2, 0.3, 0.4, 0.5, 0.3, 0.7, 0.8, 0.9, -1, 1.1, 1.2]", "parameters": 'tie = [["w2", "w5"]]'},
])
def test_the_matrix_sheet_is_refused_without_biases_or_with_ties(extra):
    text = spec_text(**extra) + '[sheet]\nlayout = "matrix"\n'
    with pytest.raises(SpecError, match="matrix sheet needs a bias in every layer and no tied") as error:
        parse(text)
    assert error.value.key == "sheet.layout" and error.value.line == len(text.splitlines())
    auto = parse(spec_text(**extra) + "[sheet]\nmatrix_above = 0\n")
    assert not auto.matrix_sheet  # `auto` falls back to the written sheet
