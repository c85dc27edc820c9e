"""Question 7, exactly: the loss after one step as a function of η, checked against plain Fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.core.derivation import derive
from chainrule.core.learning_rate import ETA, RegionChange, analyse, minimal_polynomial
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.spec_reader import load, parse

from .strategies import network_specs

R = sp.Rational
F = Fraction
INITIAL_LOSS = R(13, 4)
NEW_LOSS = R(1427823662201, 500000000000)
NUDGE = R(1, 10**6)

# --- the homework's one step in plain Fractions: x, y and θ0 from the homework text ------------------------
X = [(F(2), F(1)), (F(-3), F(2))]
Y = [F(13, 10), F(19, 10)]
THETA0 = [F(1), F(1), F(0), F(1), F(0)]


def homework_loss_and_gradient(theta):
    w0, w1, w2, w3, w4 = theta
    loss, gradient = F(0), [F(0)] * 5
    for (x0, x1), y in zip(X, Y):
        z = w0 * x0 + w1 * x1 + w2
        h = max(F(0), z)
        y_hat = w3 * h + w4
        delta_y_hat = 2 * (y_hat - y)
        delta_h = delta_y_hat * w3 * (1 if z > 0 else 0)
        loss += (y_hat - y) ** 2
        gradient = [g + d for g, d in zip(gradient, (delta_h * x0, delta_h * x1, delta_h, delta_y_hat * h, delta_y_hat))]
    return loss / 2, [g / 2 for g in gradient]


def loss_after_one_step(eta: Fraction) -> Fraction:
    _, gradient = homework_loss_and_gradient(THETA0)
    return homework_loss_and_gradient([w - eta * g for w, g in zip(THETA0, gradient)])[0]


def to_fraction(value) -> Fraction:
    value = sp.Rational(value)
    return F(int(value.p), int(value.q))


def rational_near(value, digits: int = 40) -> sp.Rational:
    return sp.Rational(str(sp.N(value, digits)))


@pytest.fixture(scope="module")
def analysis():
    derivation = derive(build(load("inf264_hw4")))
    return analyse(derivation, train(derivation, steps=0).initial)


def test_oracle_agrees_with_the_homework():
    loss, gradient = homework_loss_and_gradient(THETA0)
    assert loss == F(13, 4)
    assert gradient == [F(17, 5), F(17, 10), F(17, 10), F(51, 10), F(-1, 5)]
    assert loss_after_one_step(F(1, 100)) == F(1427823662201, 500000000000)


def test_analysis_is_available(analysis):
    assert analysis.available and analysis.reason == ""
    assert analysis.initial_loss == INITIAL_LOSS


def test_region_changes(analysis):
    assert analysis.region_changes == (
        RegionChange(sample=2, unit="h", eta=R(10, 51), becomes="active"),
        RegionChange(sample=1, unit="h", eta=R(5, 17), becomes="inactive"),
    )


def test_pieces_split_at_the_region_changes(analysis):
    assert [(p.start, p.end) for p in analysis.pieces] == [(0, R(10, 51)), (R(10, 51), R(5, 17)), (R(5, 17), sp.oo)]
    assert all(p.loss.gens == (ETA,) for p in analysis.pieces)


def test_loss_at_the_homework_learning_rate(analysis):
    assert analysis.loss_at(R(1, 100)) == NEW_LOSS


ETAS = [
    R(1, 1000), R(1, 100), R(1, 20), R(1, 10), R(3, 20),
    R(10, 51) - NUDGE, R(10, 51), R(10, 51) + NUDGE, R(1, 5), R(1, 4),
    R(5, 17) - NUDGE, R(5, 17), R(5, 17) + NUDGE, R(3, 10), R(1, 2), R(1), R(3), R(10),
]


@pytest.mark.parametrize("eta", ETAS, ids=str)
def test_loss_at_matches_one_fraction_step(analysis, eta):
    assert analysis.loss_at(eta) == loss_after_one_step(to_fraction(eta))


def test_loss_at_rejects_negative_eta(analysis):
    with pytest.raises(ValueError):
        analysis.loss_at(R(-1, 10))


def test_slope_at_zero_is_minus_squared_gradient_norm(analysis):
    _, gradient = homework_loss_and_gradient(THETA0)
    assert analysis.slope_at_zero == -sum(g * g for g in gradient)
    assert analysis.slope_at_zero == R(-4339, 100)


def test_best_learning_rate(analysis):
    best = analysis.best
    assert best is not None
    assert abs(sp.N(best.eta, 30) - sp.Float("0.0818586541")) < 1e-9
    assert abs(sp.N(best.loss, 30) - sp.Float("1.7742796462")) < 1e-9
    # η is exact: an algebraic number (a root of its minimal polynomial, which --json reports),
    # and the loss there is the piece's value
    polynomial = minimal_polynomial(best.eta)
    assert polynomial.degree() > 1
    assert polynomial.as_expr().xreplace({polynomial.gen: rational_near(best.eta, 60)}) == pytest.approx(0, abs=1e-40)
    near = rational_near(best.eta)
    assert abs(sp.N(loss_after_one_step(to_fraction(near)) - best.loss, 50)) < 1e-30


def test_best_beats_a_fine_grid(analysis):
    best_loss = sp.N(analysis.best.loss, 50)
    grid = [F(k, 2000) for k in range(1, 2001)]
    grid_best = min(loss_after_one_step(eta) for eta in grid)
    assert best_loss <= sp.Rational(grid_best.numerator, grid_best.denominator)
    assert best_loss < sp.N(INITIAL_LOSS)


def test_decrease_interval(analysis):
    assert len(analysis.decrease) == 1
    start, end = analysis.decrease[0]
    assert start == 0
    assert abs(sp.N(end, 30) - sp.Float("0.3190906829")) < 1e-9

    # the right end is a root of loss(η) - 13/4, exactly, on the piece that contains it
    piece = next(p for p in analysis.pieces if p.start < end and (p.end is sp.oo or end < p.end))
    change = piece.loss - sp.Poly(INITIAL_LOSS, ETA, domain="QQ")
    minimal = sp.Poly(sp.minimal_polynomial(end, ETA), ETA, domain="QQ")
    assert change.rem(minimal).is_zero

    # and the oracle agrees: just inside it the step lowers the loss, just outside it does not
    near = rational_near(end)
    assert loss_after_one_step(to_fraction(near - NUDGE)) < F(13, 4)
    assert loss_after_one_step(to_fraction(near + NUDGE)) > F(13, 4)
    assert loss_after_one_step(to_fraction(NUDGE)) < F(13, 4)


@pytest.mark.parametrize("eta", [R(1, 100), R(1, 10), R(3, 10)], ids=str)
def test_homework_learning_rates_are_inside_the_decrease_interval(analysis, eta):
    start, end = analysis.decrease[0]
    assert start < eta < end
    assert analysis.loss_at(eta) < INITIAL_LOSS


def test_non_piecewise_linear_activations_are_not_analysed():
    text = open(load("inf264_hw4").path, encoding="utf-8").read().replace('"relu"', '"sigmoid"')
    derivation = derive(build(parse(text)))
    result = analyse(derivation, train(derivation, steps=0).initial)
    assert not result.available
    assert "sigmoid" in result.reason


# One ReLU unit, one sample: x = 1, y = 0, θ = (1, 0, 1, 0). The gradient is (2, 2, 2, 2); while z = 1 - 4η > 0,
# ŷ(η) = 8η² - 8η + 1, so the loss after one step is (8η² - 8η + 1)², zero at η = 1/2 - √2/4 ≈ 0.146 < 1/4.
# For η ≥ 1/4 the unit is off and the loss is (2η)². So the best η is a quadratic surd, not a CRootOf.
QUADRATIC_SURD = """
[network]
sizes = [1, 1, 1]
activations = ["relu", "identity"]
[loss]
kind = "squared_error"
[data]
x = [[1]]
y = [0]
[parameters]
init = [1, 0, 1, 0]
[training]
learning_rate = "1/10"
"""


def test_best_eta_can_be_a_square_root():
    derivation = derive(build(parse(QUADRATIC_SURD)))
    initial = train(derivation, steps=0).initial
    assert initial.gradient == (2, 2, 2, 2)

    result = analyse(derivation, initial)

    assert result.region_changes == (RegionChange(1, "h", R(1, 4), "inactive"),)
    assert result.best is not None
    assert sp.simplify(result.best.eta - (R(1, 2) - sp.sqrt(2) / 4)) == 0
    assert sp.simplify(result.best.loss) == 0
    assert result.decrease == ((0, R(1, 2)),)
    assert result.loss_at(R(1, 10)) == (8 * R(1, 100) - 8 * R(1, 10) + 1) ** 2


# --- random ReLU networks: loss_at, the decrease intervals and the best η against Fraction steps ----------


def fraction_network_loss(sizes, activations, loss, theta, xs, ys):
    """Mean loss and mean gradient of a plain Fraction network (flat θ: layer, unit, weights then bias)."""
    total, gradient = F(0), [F(0)] * len(theta)
    for x, y in zip(xs, ys):
        layers, i = [], 0
        for fan_in, width in zip(sizes, sizes[1:]):
            layers.append([(theta[i + u * (fan_in + 1): i + u * (fan_in + 1) + fan_in], theta[i + u * (fan_in + 1) + fan_in])
                           for u in range(width)])
            i += width * (fan_in + 1)
        outs, pres = [list(x)], []
        for units, act in zip(layers, activations):
            z = [sum((w * s for w, s in zip(ws, outs[-1])), F(0)) + b for ws, b in units]
            pres.append(z)
            outs.append([max(F(0), t) if act == "relu" else t for t in z])
        residual = outs[-1][0] - y
        half = loss == "half_squared_error"
        total += residual**2 / (2 if half else 1)
        delta = [residual * (1 if half else 2)]
        grads = []
        for layer in range(len(layers) - 1, -1, -1):
            grads = [g for d in delta for g in (*(d * s for s in outs[layer]), d)] + grads  # weights, then bias
            if layer:
                delta = [sum(layers[layer][k][0][j] * delta[k] for k in range(len(delta)))
                         * (1 if activations[layer - 1] != "relu" or pres[layer - 1][j] > 0 else 0)
                         for j in range(len(layers[layer - 1]))]
        gradient = [a + b for a, b in zip(gradient, grads)]
    n = len(xs)
    return total / n, [g / n for g in gradient]


def one_step_loss(spec, eta: Fraction) -> Fraction:
    args = (spec.sizes, spec.activations, spec.loss)
    _, gradient = fraction_network_loss(*args, list(spec.init), spec.x, spec.y)
    return fraction_network_loss(*args, [w - eta * g for w, g in zip(spec.init, gradient)], spec.x, spec.y)[0]


def relu_specs():
    # the exact analysis covers one hidden layer
    return network_specs(hidden_layers=(1, 1), widths=(1, 2), inputs=(1, 2),
                         activations=("relu", "relu", "identity"), learning_rates=("1/10",))


def test_fraction_network_is_the_homework_oracle():
    spec = load("inf264_hw4")
    assert fraction_network_loss(spec.sizes, spec.activations, spec.loss, list(spec.init), spec.x, spec.y) == \
        homework_loss_and_gradient(THETA0)
    assert one_step_loss(spec, F(1, 100)) == loss_after_one_step(F(1, 100))


def probe_etas(result, extra):
    """Rational η: the rational region changes, a point inside every piece, and a few given ones."""
    etas = {change.eta for change in result.region_changes if change.eta.is_Rational}
    for piece in result.pieces:
        end = piece.start + 1 if piece.end is sp.oo else piece.end
        middle = sp.Rational(str(sp.N((piece.start + end) / 2, 30)))
        if piece.start < middle < end:
            etas.add(middle)
    return sorted(e for e in etas | {sp.Rational(v.numerator, v.denominator) for v in extra} if e > 0)


@settings(max_examples=25, deadline=None)
@given(relu_specs(), st.lists(st.builds(Fraction, st.integers(1, 40), st.just(20)), max_size=4))
def test_one_step_analysis_matches_fraction_steps(spec, extra):
    derivation = derive(build(spec))
    result = analyse(derivation, train(derivation, steps=0).initial)
    assert result.available, result.reason
    initial = fraction_network_loss(spec.sizes, spec.activations, spec.loss, list(spec.init), spec.x, spec.y)[0]
    assert result.initial_loss == initial

    for eta in probe_etas(result, extra):
        expected = one_step_loss(spec, to_fraction(eta))
        assert result.loss_at(eta) == expected, eta
        inside = any(a < eta < b for a, b in result.decrease)
        assert inside == (expected < initial), (eta, result.decrease)
        if result.best is not None:
            assert at_most(result.best.loss, expected), (eta, result.best)
    assert (result.best is None) == (not result.decrease)
    if result.best is not None:
        assert at_most(result.best.loss, initial) and result.best.loss != initial


def at_most(value: sp.Expr, bound: Fraction) -> bool:
    """value <= bound: exactly for rationals, to 40 digits for algebraic numbers."""
    bound = sp.Rational(bound.numerator, bound.denominator)
    if value.is_Rational:
        return value <= bound
    return sp.N(value - bound, 50) <= sp.Float("1e-40")

