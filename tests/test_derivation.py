"""The two derivations of ∂L/∂w: directly, and by backpropagation (homework equalities (1)-(5))."""

from __future__ import annotations

import pytest
import sympy as sp

from chainrule.core.derivation import derive, partial
from chainrule.core.model import build
from chainrule.core.proof import Verdict, prove_equal
from chainrule.core.spec_reader import load

R = sp.Rational
HOMEWORK_THETA = (1, 1, 0, 1, 0)
# (x, y, per-sample gradient) as the homework's hand computation gives them
HOMEWORK_SAMPLES = [
    ((2, 1), R(13, 10), (R(34, 5), R(17, 5), R(17, 5), R(51, 5), R(17, 5))),
    ((-3, 2), R(19, 10), (0, 0, 0, 0, R(-19, 5))),
]


@pytest.fixture(scope="module")
def model():
    return build(load("inf264_hw4"))


@pytest.fixture(scope="module")
def derivation(model):
    return derive(model)


def sym(model, name):
    return model.by_name[name].symbol


def step(t):
    """g'(t) as the homework defines it: 1 if t > 0, 0 if t <= 0."""
    return sp.Piecewise((0, t <= 0), (1, True))


def relu(t):
    return sp.Piecewise((0, t <= 0), (t, True))


def same(a, b) -> bool:
    """a == b as expressions, after folding Piecewise factors into one Piecewise (SymPy, not our prover)."""
    return sp.simplify(sp.piecewise_fold(sp.expand(a - b))) == 0


def leaf_values(model, x, y, theta):
    values = {sym(model, f"x{i}"): sp.sympify(v) for i, v in enumerate(x)}
    values[sym(model, "y")] = sp.sympify(y)
    values.update({p.symbol: sp.sympify(v) for p, v in zip(model.parameters, theta)})
    return values


def test_partial_of_loss_by_z(model):
    z, y, w3, w4 = (sym(model, n) for n in ("z", "y", "w3", "w4"))
    expected = 2 * w3 * (w3 * relu(z) + w4 - y) * step(z)
    assert partial(model, model.loss, model.by_name["z"]) == expected


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [
        ("y_hat", "h", lambda s: s("w3")),
        ("y_hat", "w3", lambda s: s("h")),
        ("y_hat", "w4", lambda s: 1),
        ("z", "w0", lambda s: s("x0")),
        ("z", "w1", lambda s: s("x1")),
        ("z", "w2", lambda s: 1),
        ("h", "z", lambda s: step(s("z"))),
        ("L", "y_hat", lambda s: 2 * (s("y_hat") - s("y"))),
        ("L", "w3", lambda s: 2 * s("h") * (s("w3") * s("h") + s("w4") - s("y"))),
        ("z", "w3", lambda s: 0),
        ("L", "x0", lambda s: 2 * s("w3") * s("w0") * (s("w3") * relu(s("w0") * s("x0") + s("w1") * s("x1") + s("w2"))
                                                       + s("w4") - s("y")) * step(s("w0") * s("x0") + s("w1") * s("x1") + s("w2"))),
    ],
)
def test_partials_in_the_graph(model, numerator, denominator, expected):
    got = partial(model, model.by_name[numerator], model.by_name[denominator])
    assert same(got, expected(lambda n: sym(model, n)))


def test_backprop_equalities_1_to_5(derivation, model):
    delta_h, delta_y_hat = (u.delta.symbol for u in model.units)
    x0, x1, h = sym(model, "x0"), sym(model, "x1"), sym(model, "h")
    assert dict(derivation.backprop) == {
        "w0": delta_h * x0,  # (1)
        "w1": delta_h * x1,  # (2)
        "w2": delta_h,  # (3)
        "w3": delta_y_hat * h,  # (4)
        "w4": delta_y_hat,  # (5)
    }


def test_delta_recursion(derivation, model):
    delta_h, delta_y_hat = (u.delta.symbol for u in model.units)
    y_hat, y, w3, z = (sym(model, n) for n in ("y_hat", "y", "w3", "z"))
    assert sp.expand(derivation.delta_formula["delta_y_hat"] - 2 * (y_hat - y)) == 0
    # δ_h = δ_ŷ · w3 · g'(z)
    assert derivation.delta_formula["delta_h"] == delta_y_hat * w3 * step(z)


def test_composed_nodes_are_written_in_leaves(derivation, model):
    leaves = {n.symbol for n in model.leaves}
    for node in (*model.nodes, *model.deltas):
        assert derivation.compose(node.symbol).free_symbols <= leaves, node.name


@pytest.mark.parametrize("sample", [0, 1], ids=["sample 1", "sample 2"])
@pytest.mark.parametrize("which", ["direct", "backprop"])
def test_derivative_at_the_homework_point_is_the_homework_gradient(derivation, model, sample, which):
    x, y, gradient = HOMEWORK_SAMPLES[sample]
    point = leaf_values(model, x, y, HOMEWORK_THETA)
    formulas = derivation.direct if which == "direct" else derivation.backprop
    got = tuple(derivation.compose(formulas[p.name]).xreplace(point) for p in model.parameters)
    assert got == gradient


def test_direct_derivative_is_left_derivative_on_the_kink(derivation, model):
    # z = 1*1 + (-1)*1 + 0 = 0: ReLU sits on its kink, and g'(0) = 0 makes ∂L/∂w0 vanish
    point = leaf_values(model, (1, 1), 5, (1, -1, 0, 1, 0))
    assert derivation.compose(model.by_name["z"].symbol).xreplace(point) == 0
    for name in ("w0", "w1", "w2"):
        assert derivation.direct[name].xreplace(point) == 0
        assert derivation.compose(derivation.backprop[name]).xreplace(point) == 0


def test_chains_start_direct_and_end_in_backprop(derivation, model):
    assert [c.subject for c in derivation.chains] == [p.name for p in model.parameters]
    for chain in derivation.chains:
        assert derivation.step_value(chain, chain.steps[0]) == derivation.direct[chain.subject]
        assert chain.steps[-1].value == derivation.backprop[chain.subject]
        assert chain.justification


def test_delta_chains_output_first(derivation):
    assert [c.subject for c in derivation.delta_chains] == ["delta_y_hat", "delta_h"]
    for chain in derivation.delta_chains:
        assert chain.steps[-1].value == derivation.delta_formula[chain.subject]


@pytest.mark.parametrize("spec_name", ["inf264_hw4", "two_hidden_units"])
def test_every_chain_step_is_proved(spec_name):
    derivation = derive(build(load(spec_name)))
    for chain in (*derivation.delta_chains, *derivation.chains):
        values = [derivation.step_value(chain, s) for s in chain.steps]
        for a, b in zip(values, values[1:]):
            assert prove_equal(a, b).verdict is Verdict.PROVED, chain.subject


def test_two_hidden_units_backprop_sums_over_children():
    model = build(load("two_hidden_units"))
    derivation = derive(model)
    s = lambda n: sym(model, n)  # noqa: E731
    delta_y_hat = model.units[-1].delta.symbol
    assert derivation.delta_formula["delta_h1"] == delta_y_hat * s("w8") * step(s("z1"))
    assert derivation.delta_formula["delta_h2"] == delta_y_hat * s("w9") * step(s("z2"))
    assert derivation.backprop["w6"] == model.units[1].delta.symbol * s("x2")
    assert derivation.backprop["w9"] == delta_y_hat * s("h2")


@pytest.mark.parametrize("symbolic", [True, False])
def test_a_hidden_deltas_chain_rule_step_is_built_when_read_and_is_the_sum_over_the_next_layer(symbolic):
    # Structural proofs never read this step's value, so it is built on demand; read, it is
    # Σ over the next layer of ∂L/∂z'·∂z'/∂h·∂h/∂z, as the graph's partial derivatives give it.
    model = build(load("deep_relu"))
    derivation = derive(model, symbolic=symbolic)
    for chain, unit in zip(derivation.delta_chains, reversed(model.units)):
        if unit.is_output:
            continue
        step = chain.steps[1]
        assert "_built" not in step.__dict__
        # ∂L/∂z' is differentiated out, but for a big network's hidden z', where it is the symbol δ'
        loss_by = lambda child: partial(model, model.loss, child) if symbolic or model.unit_with_pre(child).is_output \
            else model.unit_with_pre(child).delta.symbol  # noqa: E731
        expected = sp.Add(*(loss_by(child) * partial(model, child, unit.out) * partial(model, unit.out, unit.pre)
                            for child in model.children(unit.out)))
        assert step.value == expected and step.value is step.value
