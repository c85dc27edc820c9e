"""Properties over random small networks: exact gradients equal mpmath's numeric derivative, and
every backpropagation identity is proved."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import evaluate
from chainrule.core.proof import Prover, Verdict
from chainrule.core.solution import check_chain, solve
from chainrule.core.spec_reader import parse

KINK_MARGIN = mpmath.mpf("1e-3")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small_rationals = st.builds(Fraction, st.integers(-4, 4), st.sampled_from([1, 2, 3]))


def toml_number(value: Fraction) -> str:
    return f'"{value.numerator}/{value.denominator}"'


def toml_list(values) -> str:
    return "[" + ", ".join(toml_number(v) for v in values) + "]"


@st.composite
def networks(draw):
    """TOML text for [n_in, hidden, 1] with a relu or identity hidden layer and an identity output."""
    n_in, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    activation = draw(st.sampled_from(["relu", "identity"]))
    loss = draw(st.sampled_from(["squared_error", "half_squared_error"]))
    samples = draw(st.integers(1, 2))
    x = [draw(st.lists(small_rationals, min_size=n_in, max_size=n_in)) for _ in range(samples)]
    y = draw(st.lists(small_rationals, min_size=samples, max_size=samples))
    count = (n_in + 1) * hidden + hidden + 1
    init = draw(st.lists(small_rationals, min_size=count, max_size=count))
    return f"""
[network]
sizes = [{n_in}, {hidden}, 1]
activations = ["{activation}", "identity"]
[loss]
kind = "{loss}"
[data]
x = [{", ".join(toml_list(row) for row in x)}]
y = {toml_list(y)}
[parameters]
init = {toml_list(init)}
[training]
learning_rate = "1/10"
"""


# --- a plain mpmath network, written here ----------------------------------------------------------------


def mp_forward(spec, theta, x):
    """Pre-activations of the hidden layer and the prediction, in mpf."""
    n_in, hidden = spec.sizes[0], spec.sizes[1]
    g = (lambda t: max(mpmath.mpf(0), t)) if spec.activations[0] == "relu" else (lambda t: t)
    pres, outs, i = [], [], 0
    for _ in range(hidden):
        z = mpmath.fsum(theta[i + k] * x[k] for k in range(n_in)) + theta[i + n_in]
        pres.append(z)
        outs.append(g(z))
        i += n_in + 1
    y_hat = mpmath.fsum(theta[i + k] * outs[k] for k in range(hidden)) + theta[i + hidden]
    return pres, y_hat


def mp_dataset_loss(spec, theta):
    total = mpmath.mpf(0)
    for x, y in zip(spec.x, spec.y):
        _, y_hat = mp_forward(spec, theta, [mpmath.mpf(v.numerator) / v.denominator for v in x])
        residual = y_hat - mpmath.mpf(y.numerator) / y.denominator
        total += residual**2 / (2 if spec.loss == "half_squared_error" else 1)
    return total / len(spec.x)


def mp_theta(spec):
    return [mpmath.mpf(v.numerator) / v.denominator for v in spec.init]


def away_from_kinks(spec) -> bool:
    if spec.activations[0] != "relu":
        return True
    theta = mp_theta(spec)
    for x in spec.x:
        pres, _ = mp_forward(spec, theta, [mpmath.mpf(v.numerator) / v.denominator for v in x])
        if any(abs(z) < KINK_MARGIN for z in pres):
            return False
    return True


@SETTINGS
@given(networks())
def test_exact_gradient_equals_mpmath_derivative(text):
    spec = parse(text)
    assume(away_from_kinks(spec))
    derivation = derive(build(spec))
    exact = evaluate(derivation, tuple(sp.Rational(v.numerator, v.denominator) for v in spec.init)).gradient

    with mpmath.workdps(40):
        theta = mp_theta(spec)
        for i, derivative in enumerate(exact):

            def loss_of_wi(t, i=i):
                return mp_dataset_loss(spec, theta[:i] + [t] + theta[i + 1:])

            numeric = mpmath.diff(loss_of_wi, theta[i])
            expected = mpmath.mpf(int(derivative.p)) / int(derivative.q)
            assert abs(numeric - expected) <= mpmath.mpf("1e-25") * (1 + abs(expected)), (i, numeric, derivative)


@SETTINGS
@given(networks())
def test_every_chain_of_equalities_is_proved(text):
    derivation = derive(build(parse(text)))
    prover = Prover(time_limit=60)
    for chain in (*derivation.delta_chains, *derivation.chains):
        checked = check_chain(derivation, chain, prover)
        assert checked.verdict is Verdict.PROVED, (chain.subject, [p.reason for p in (*checked.steps, checked.identity)])


@SETTINGS
@given(networks())
def test_solve_proves_every_identity(text):
    solution = solve(parse(text))
    assert solution.all_proved
    assert [c.chain.subject for c in solution.identities] == list(solution.spec.parameter_names)
    assert all(c.identity.verdict is Verdict.PROVED for c in solution.identities)
    # two exact computations of the loss after one step must agree: numerics and the η analysis
    assert solution.learning_rate.available
    eta = sp.Rational(solution.spec.learning_rate.numerator, solution.spec.learning_rate.denominator)
    assert solution.learning_rate.loss_at(eta) == solution.training.after_first.loss
