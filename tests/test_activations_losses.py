"""Every activation × loss pair against mpmath's numeric derivatives, and kink conventions at the kink."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import evaluate
from chainrule.core.spec_reader import parse

# An independent mpmath reimplementation of each activation and loss (not chainrule's code).
ACTIVATION = {
    "relu": lambda t: max(t, 0), "leaky_relu": lambda t: t if t > 0 else t / 100, "identity": lambda t: t,
    "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "tanh": mpmath.tanh, "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
}
PAIRS = [(hidden, output, loss) for hidden in ACTIVATION for output, loss in (
    ("identity", "squared_error"), ("identity", "half_squared_error"), ("identity", "absolute_error"),
    ("sigmoid", "binary_cross_entropy"), ("softmax", "softmax_cross_entropy"))]


def mp_loss(loss, outputs, target):
    if loss == "squared_error":
        return sum((o - t) ** 2 for o, t in zip(outputs, target))
    if loss == "half_squared_error":
        return sum((o - t) ** 2 for o, t in zip(outputs, target)) / 2
    if loss == "absolute_error":
        return sum(abs(o - t) for o, t in zip(outputs, target))
    if loss == "binary_cross_entropy":
        (o,), (t,) = outputs, target
        return -(t * mpmath.log(o) + (1 - t) * mpmath.log(1 - o))
    return -sum(t * mpmath.log(o) for o, t in zip(outputs, target))


def mp_forward(hidden, output, loss, theta, x, target):
    widths = (2, len(target))
    it = iter(theta)
    h = [ACTIVATION[hidden](sum(next(it) * xi for xi in x) + next(it)) for _ in range(widths[0])]
    z = [sum(next(it) * hi for hi in h) + next(it) for _ in range(widths[1])]
    if output == "softmax":
        total = sum(mpmath.exp(v) for v in z)
        outputs = [mpmath.exp(v) / total for v in z]
    else:
        outputs = [ACTIVATION[output](v) for v in z]
    return mp_loss(loss, outputs, target), z, h


small = st.fractions(min_value=-2, max_value=2, max_denominator=4)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.parametrize("hidden, output, loss", PAIRS, ids=["-".join(p) for p in PAIRS])
@given(data=st.data())
def test_gradient_matches_mpmath(hidden, output, loss, data):
    outputs = 2 if output == "softmax" else 1
    count = 2 * 3 + outputs * 3
    theta = [data.draw(small) for _ in range(count)]
    x = [data.draw(small) for _ in range(2)]
    if loss == "binary_cross_entropy":
        target = [data.draw(st.sampled_from([Fraction(0), Fraction(1), Fraction(1, 4)]))]
    elif output == "softmax":
        target = [Fraction(1), Fraction(0)]
    else:
        target = [data.draw(small)]
    with mpmath.workdps(40):
        mp_theta = [mpmath.mpf(v.numerator) / v.denominator for v in theta]
        mp_x = [mpmath.mpf(v.numerator) / v.denominator for v in x]
        mp_target = [mpmath.mpf(v.numerator) / v.denominator for v in target]
        _, z, _ = mp_forward(hidden, output, loss, mp_theta, mp_x, mp_target)
        pre_hidden = [sum(mp_theta[3 * j + i] * mp_x[i] for i in range(2)) + mp_theta[3 * j + 2] for j in range(2)]
        # away from every kink: ReLU-like units and the absolute error's residual
        assume(all(abs(v) > mpmath.mpf("1e-3") for v in pre_hidden))
        if loss == "absolute_error":
            assume(abs(z[0] - mp_target[0]) > mpmath.mpf("1e-3"))
    y = target if outputs > 1 else target[0]
    y_text = "[" + ", ".join(f'"{v}"' for v in y) + "]" if outputs > 1 else f'"{y}"'
    text = (f'[network]\nsizes = [2, 2, {outputs}]\nactivations = ["{hidden}", "{output}"]\n'
            f'[loss]\nkind = "{loss}"\n[data]\nx = [[{", ".join(f"{chr(34)}{v}{chr(34)}" for v in x)}]]\n'
            f'y = [{y_text}]\n[parameters]\ninit = [{", ".join(f"{chr(34)}{v}{chr(34)}" for v in theta)}]\n'
            f'[training]\nlearning_rate = "1/10"\n')
    derivation = derive(build(parse(text)), symbolic=False)
    gradient = evaluate(derivation, tuple(sp.Rational(v.numerator, v.denominator) for v in theta)).gradient
    with mpmath.workdps(40):
        for i, exact in enumerate(gradient):
            def loss_of(t, i=i):
                values = list(mp_theta)
                values[i] = t
                return mp_forward(hidden, output, loss, values, mp_x, mp_target)[0]
            numeric = mpmath.diff(loss_of, mp_theta[i])
            assert abs(sp.N(exact, 40) - sp.Float(str(numeric), 40)) < sp.Float("1e-20") * (1 + abs(sp.N(exact, 20))), i


@pytest.mark.parametrize("at_zero", ["0", "1", "1/2"])
def test_relu_kink_convention_exactly_at_the_kink(at_zero):
    # z = w0*x0 + w1 = 0 exactly for the only sample: the gradient of w0 is δ·g'(0)·x0.
    text = (f'[network]\nsizes = [1, 1, 1]\nactivations = [{{name = "relu", derivative_at_zero = "{at_zero}"}}, "identity"]\n'
            '[loss]\nkind = "squared_error"\n[data]\nx = [[2]]\ny = [1]\n[parameters]\ninit = [1, -2, 1, 0]\n'
            '[training]\nlearning_rate = "1/10"\n')
    derivation = derive(build(parse(text)))
    gradient = evaluate(derivation, tuple(sp.Integer(v) for v in (1, -2, 1, 0))).gradient
    delta_out = 2 * (0 - 1)  # ŷ = w2·relu(0) + w3 = 0
    assert gradient[0] == delta_out * 1 * sp.Rational(Fraction(at_zero).numerator, Fraction(at_zero).denominator) * 2


def test_absolute_error_kink_convention():
    text = ('[network]\nsizes = [1, 1]\nactivations = ["identity"]\n[loss]\nkind = "absolute_error"\n'
            'derivative_at_zero = 1\n[data]\nx = [[1]]\ny = [1]\n[parameters]\ninit = [1, 0]\n'
            '[training]\nlearning_rate = "1/10"\n')
    derivation = derive(build(parse(text)))
    assert evaluate(derivation, (sp.Integer(1), sp.Integer(0))).gradient == (1, 1)  # residual exactly 0
