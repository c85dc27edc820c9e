"""The symbolic network: nodes, their definitions, units and the flat parameter order."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.model import build
from chainrule.core.spec_reader import load, parse

NETWORK_3_2_1 = """
[network]
sizes = [3, 2, 1]
activations = ["relu", "identity"]
[loss]
kind = "squared_error"
[data]
x = [[1, 2, 3]]
y = [1]
[parameters]
init = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
[training]
learning_rate = 0.1
"""


@pytest.fixture(scope="module")
def homework():
    return build(load("inf264_hw4"))


def symbols(model, names: str):
    return [model.by_name[name].symbol for name in names.split()]


def test_homework_nodes_in_topological_order(homework):
    assert [n.name for n in homework.nodes] == ["x0", "x1", "y", "w0", "w1", "w2", "w3", "w4", "z", "h", "y_hat", "L"]
    assert [n.kind for n in homework.nodes[-4:]] == ["preactivation", "hidden", "prediction", "loss"]
    assert all(n.symbol.is_real for n in homework.nodes)


def test_homework_definitions_are_the_homeworks(homework):
    x0, x1, y, w0, w1, w2, w3, w4, z, h, y_hat = symbols(homework, "x0 x1 y w0 w1 w2 w3 w4 z h y_hat")
    definition = {n.name: n.definition for n in homework.nodes}

    assert definition["z"] == w0 * x0 + w1 * x1 + w2
    assert definition["h"] == sp.Piecewise((0, z <= 0), (z, True))
    assert definition["y_hat"] == w3 * h + w4
    assert definition["L"] == (y_hat - y) ** 2
    assert all(definition[name] is None for name in ("x0", "x1", "y", "w0", "w1", "w2", "w3", "w4"))


def homework_text() -> str:
    with open(load("inf264_hw4").path, encoding="utf-8") as file:
        return file.read()


def test_half_squared_error_halves_the_loss():
    model = build(parse(homework_text().replace('kind = "squared_error"', 'kind = "half_squared_error"')))
    y, y_hat = symbols(model, "y y_hat")
    assert model.loss.definition == (y_hat - y) ** 2 / 2


def test_relu_is_exactly_the_homework_piecewise():
    t = sp.Symbol("t", real=True)
    assert ACTIVATIONS["relu"].function()(t) == sp.Piecewise((0, t <= 0), (t, True))


@pytest.mark.parametrize(
    "name, at, expected",
    [
        ("relu", 0, 0),  # the homework's left derivative: g'(0) = 0
        ("relu", 1, 1),
        ("relu", sp.Rational(1, 1000), 1),
        ("relu", -1, 0),
        ("relu", sp.Rational(-1, 1000), 0),
        ("identity", 0, 1),
        ("identity", 5, 1),
        ("sigmoid", 0, sp.Rational(1, 4)),
        ("tanh", 0, 1),
        ("softplus", 0, sp.Rational(1, 2)),
        ("leaky_relu", 0, sp.Rational(1, 100)),  # the left derivative: the negative side's slope
        ("leaky_relu", 1, 1),
    ],
)
def test_activation_derivative_values(name, at, expected):
    assert ACTIVATIONS[name].derivative()(sp.sympify(at)) == expected


@pytest.mark.parametrize("at_zero", [Fraction(0), Fraction(1), Fraction(1, 2)])
def test_relu_kink_convention_follows_from_differentiating_the_model(at_zero):
    options = {"derivative_at_zero": at_zero}
    g, g_prime = ACTIVATIONS["relu"].function(options), ACTIVATIONS["relu"].derivative(options)
    assert g_prime(sp.Integer(0)) == sp.Rational(at_zero.numerator, at_zero.denominator)
    assert [g(sp.Integer(v)) for v in (-2, 0, 3)] == [0, 0, 3]  # the function itself is unchanged
    assert [g_prime(sp.Integer(v)) for v in (-2, 3)] == [0, 1]


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_smooth_activation_derivative_matches_sympy(name):
    t = sp.Symbol("t", real=True)
    g = ACTIVATIONS[name].function()
    assert sp.simplify(ACTIVATIONS[name].derivative()(t) - sp.diff(g(t), t)) == 0


def test_homework_units(homework):
    hidden, output = homework.units
    assert (hidden.layer, hidden.index, hidden.activation) == (1, 0, "relu")
    assert [w.name for w in hidden.weights] == ["w0", "w1"] and hidden.bias.name == "w2"
    assert [s.name for s in hidden.sources] == ["x0", "x1"]
    assert (hidden.pre.name, hidden.out.name, hidden.delta.name) == ("z", "h", "delta_h")
    assert not hidden.is_output

    assert (output.layer, output.activation) == (2, "identity")
    assert [w.name for w in output.weights] == ["w3"] and output.bias.name == "w4"
    assert [s.name for s in output.sources] == ["h"]
    assert output.pre is output.out and output.out.name == "y_hat"
    assert output.delta.name == "delta_y_hat"
    assert output.is_output
    assert homework.prediction.name == "y_hat" and homework.loss.name == "L" and homework.target.name == "y"


@pytest.mark.parametrize(
    "node, parents, children",
    [
        ("x0", [], ["z"]),
        ("w1", [], ["z"]),
        ("w3", [], ["y_hat"]),
        ("y", [], ["L"]),
        ("z", ["x0", "x1", "w0", "w1", "w2"], ["h"]),
        ("h", ["z"], ["y_hat"]),
        ("y_hat", ["w3", "w4", "h"], ["L"]),
        ("L", ["y", "y_hat"], []),
    ],
)
def test_parents_and_children(homework, node, parents, children):
    n = homework.by_name[node]
    assert sorted(p.name for p in homework.parents(n)) == sorted(parents)
    assert sorted(c.name for c in homework.children(n)) == sorted(children)


@pytest.mark.parametrize(
    "node, ancestor, expected",
    [("L", "w0", True), ("L", "y", True), ("h", "x1", True), ("z", "w3", False), ("y_hat", "y", False), ("z", "z", True)],
)
def test_depends_on(homework, node, ancestor, expected):
    assert homework.depends_on(homework.by_name[node], homework.by_name[ancestor]) is expected


@pytest.mark.parametrize(
    "parameter, unit_pre, source",
    [("w0", "z", "x0"), ("w1", "z", "x1"), ("w2", "z", None), ("w3", "y_hat", "h"), ("w4", "y_hat", None)],
)
def test_unit_of(homework, parameter, unit_pre, source):
    unit, multiplies = homework.unit_of(homework.by_name[parameter])
    assert unit.pre.name == unit_pre
    assert (None if multiplies is None else multiplies.name) == source


def test_unit_of_a_non_parameter_raises(homework):
    with pytest.raises(KeyError):
        homework.unit_of(homework.by_name["z"])


def test_3_2_1_flat_parameter_order():
    model = build(parse(NETWORK_3_2_1))
    assert len(model.parameters) == 11
    assert [p.name for p in model.parameters] == [f"w{i}" for i in range(11)]
    h1, h2, out = model.units
    # layer by layer, unit by unit, the unit's weights then its bias
    assert ([w.name for w in h1.weights], h1.bias.name) == (["w0", "w1", "w2"], "w3")
    assert ([w.name for w in h2.weights], h2.bias.name) == (["w4", "w5", "w6"], "w7")
    assert ([w.name for w in out.weights], out.bias.name) == (["w8", "w9"], "w10")
    assert [s.name for s in out.sources] == ["h1", "h2"]

    x0, x1, x2, w4, w5, w6, w7, h1s, h2s, w8, w9, w10 = symbols(model, "x0 x1 x2 w4 w5 w6 w7 h1 h2 w8 w9 w10")
    assert model.by_name["z2"].definition == w4 * x0 + w5 * x1 + w6 * x2 + w7
    assert model.prediction.definition == w8 * h1s + w9 * h2s + w10
    assert [p.name for p in model.parents(model.by_name["y_hat"])] == ["w8", "w9", "w10", "h1", "h2"]
    assert model.unit_of(model.by_name["w9"])[1].name == "h2"


def test_two_hidden_layers_name_units_by_layer():
    text = NETWORK_3_2_1.replace("sizes = [3, 2, 1]", "sizes = [1, 2, 1, 1]").replace(
        'activations = ["relu", "identity"]', 'activations = ["relu", "tanh", "identity"]'
    ).replace("x = [[1, 2, 3]]", "x = [[1]]").replace("init = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "init = [1, 2, 3, 4, 5, 6, 7, 8, 9]")
    model = build(parse(text))
    assert [u.pre.name for u in model.units] == ["z1_1", "z1_2", "z2_1", "y_hat"]
    assert len(model.parameters) == 9
    z21 = model.by_name["z2_1"].symbol
    assert model.style == "layered"  # two hidden layers: layer superscripts by default
    assert model.by_name["a2_1"].definition == sp.tanh(z21)
    assert model.by_name["a2_1"].latex == "a^{(2)}_{1}" and model.by_name["z1_2"].latex == "z^{(1)}_{2}"
    assert [p.latex for p in model.parameters[:3]] == ["w^{(1)}_{11}", "b^{(1)}_{1}", "w^{(1)}_{21}"]


def test_flat_style_can_be_asked_for():
    text = NETWORK_3_2_1.replace("sizes = [3, 2, 1]", "sizes = [1, 2, 1, 1]").replace(
        'activations = ["relu", "identity"]', 'activations = ["relu", "tanh", "identity"]'
    ).replace("x = [[1, 2, 3]]", "x = [[1]]").replace("init = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "init = [1, 2, 3, 4, 5, 6, 7, 8, 9]")
    model = build(parse(text + '\n[notation]\nstyle = "flat"\n'))
    assert model.style == "flat" and model.by_name["h2_1"].latex == "h^{(2)}_{1}"
    assert [p.latex for p in model.parameters[:3]] == ["w_{0}", "w_{1}", "w_{2}"]


def test_notation_changes_latex_not_names():
    spec = parse(homework_text() + '\n[notation]\nprediction = "\\\\hat{y}"\nparameter = "\\\\theta"\n')
    model = build(spec)
    assert model.prediction.name == "y_hat" and model.prediction.latex == r"\hat{y}"
    assert model.by_name["w3"].latex == r"\theta_{3}"
    assert model.by_name["w3"].symbol == sp.Symbol("w3", real=True)


def test_leaves_and_deltas(homework):
    assert [n.name for n in homework.leaves] == ["x0", "x1", "y", "w0", "w1", "w2", "w3", "w4"]
    assert [n.name for n in homework.deltas] == ["delta_h", "delta_y_hat"]


@pytest.mark.parametrize("name", ["inf264_hw4", "two_hidden_units", "two_hidden_relu", "sigmoid_bce",
                                  "softmax_classifier", "tanh_five_steps", "deep_relu"])
def test_local_derivatives_read_from_the_structure_equal_sympys_diff(name):
    # The oracle is SymPy's own diff of each node's definition, edge by edge.
    model = build(load(name))
    for node in model.nodes:
        for parent in model.parents(node):
            assert model.local_derivative(node, parent) == sp.diff(node.definition, parent.symbol), \
                (node.name, parent.name)


@pytest.mark.parametrize(("name", "options"), [
    ("relu", {}), ("relu", {"derivative_at_zero": Fraction(1)}), ("relu", {"derivative_at_zero": Fraction(1, 2)}),
    ("leaky_relu", {"alpha": Fraction(1, 10)}), ("identity", {}), ("sigmoid", {}), ("tanh", {}), ("softplus", {}),
    ("elu", {"alpha": Fraction(1, 2)}),
])
def test_activation_derivative_is_differentiated_once_and_still_sympys(name, options):
    z = sp.Symbol("z", real=True)
    record = ACTIVATIONS[name]
    assert record.derivative(options)(z) == sp.diff(record.function(options)(z), z)


def test_a_unit_whose_z_is_not_the_plain_weighted_sum_is_differentiated_by_sympy(homework):
    # The structural reading applies only where z is exactly Σ w·a + b; anything else goes to diff.
    z = homework.by_name["z"]
    changed = dataclasses.replace(z, definition=2 * z.definition)
    units = tuple(dataclasses.replace(u, pre=changed) if u.pre == z else u for u in homework.units)
    nodes = tuple(changed if n == z else n for n in homework.nodes)
    model = dataclasses.replace(homework, units=units, nodes=nodes)
    w0, x0 = homework.by_name["w0"], homework.by_name["x0"]
    assert model.local_derivative(changed, w0) == 2 * x0.symbol
