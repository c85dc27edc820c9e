"""Exact numbers: the homework's hand computation, and training checked against a plain-Fraction network."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given

from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import evaluate, train
from chainrule.core.spec_reader import load, parse
from chainrule.numbers import decimal

from .strategies import network_specs

R = sp.Rational
F = Fraction
NEW_LOSS = R(1427823662201, 500000000000)


# --- an independent network in plain Fractions (forward, backward, update) ------------------------------


def unflatten(sizes, theta):
    """Flat θ -> per layer, per unit, (weights, bias): layer by layer, unit by unit, weights then bias."""
    layers, i = [], 0
    for fan_in, width in zip(sizes, sizes[1:]):
        units = []
        for _ in range(width):
            units.append((list(theta[i:i + fan_in]), theta[i + fan_in]))
            i += fan_in + 1
        layers.append(units)
    assert i == len(theta)
    return layers


def g(activation, t):
    return max(F(0), t) if activation == "relu" else t


def g_prime(activation, t):
    return (F(1) if t > 0 else F(0)) if activation == "relu" else F(1)  # ReLU'(0) = 0, as the homework says


def sample_loss_and_gradient(sizes, activations, loss, theta, x, y):
    layers = unflatten(sizes, theta)
    outputs, pres = [list(x)], []
    for units, activation in zip(layers, activations):
        z = [sum((w * s for w, s in zip(weights, outputs[-1])), F(0)) + bias for weights, bias in units]
        pres.append(z)
        outputs.append([g(activation, t) for t in z])
    y_hat = outputs[-1][0]
    half = loss == "half_squared_error"
    sample_loss = (y_hat - y) ** 2 / (2 if half else 1)
    deltas = [[(y_hat - y) * (1 if half else 2) * g_prime(activations[-1], pres[-1][0])]]
    for layer in range(len(layers) - 2, -1, -1):
        after = layers[layer + 1]
        deltas.insert(0, [
            sum(after[k][0][j] * deltas[0][k] for k in range(len(after))) * g_prime(activations[layer], pres[layer][j])
            for j in range(len(layers[layer]))
        ])
    gradient = []
    for layer, units in enumerate(layers):
        for j in range(len(units)):
            gradient += [deltas[layer][j] * s for s in outputs[layer]] + [deltas[layer][j]]
    return sample_loss, gradient


def dataset_loss_and_gradient(spec, theta):
    results = [sample_loss_and_gradient(spec.sizes, spec.activations, spec.loss, theta, x, y)
               for x, y in zip(spec.x, spec.y)]
    n = len(results)
    loss = sum((r[0] for r in results), F(0)) / n
    gradient = [sum(column, F(0)) / n for column in zip(*(r[1] for r in results))]
    return loss, gradient


def fraction_training(spec, steps, eta):
    """[(θ, loss), ...] for θ0 and each of `steps` gradient-descent steps."""
    theta = list(spec.init)
    history = []
    for _ in range(steps + 1):
        loss, gradient = dataset_loss_and_gradient(spec, theta)
        history.append((tuple(theta), loss))
        theta = [w - eta * d for w, d in zip(theta, gradient)]
    return history


def as_fraction(value: sp.Expr) -> Fraction:
    assert value.is_Rational, value
    return Fraction(int(value.p), int(value.q))


# --- the homework, as computed by hand --------------------------------------------------------------------


@pytest.fixture(scope="module")
def homework():
    derivation = derive(build(load("inf264_hw4")))
    return derivation, train(derivation)


def test_forward_pass_predictions(homework):
    _, training = homework
    assert [s.prediction for s in training.initial.samples] == [3, 0]
    assert [s.number for s in training.initial.samples] == [1, 2]


@pytest.mark.parametrize(
    "sample, name, value",
    [
        (0, "z", 3), (0, "h", 3), (0, "y_hat", 3), (0, "L", R(289, 100)),
        (0, "delta_y_hat", R(17, 5)), (0, "delta_h", R(17, 5)),
        (1, "z", -1), (1, "h", 0), (1, "y_hat", 0), (1, "L", R(361, 100)),
        (1, "delta_y_hat", R(-19, 5)), (1, "delta_h", 0),
    ],
)
def test_every_node_value(homework, sample, name, value):
    _, training = homework
    assert training.initial.samples[sample].values[name] == value


def test_loss_is_13_over_4(homework):
    _, training = homework
    assert training.initial.loss == R(13, 4)
    assert isinstance(training.initial.loss, sp.Rational)


@pytest.mark.parametrize(
    "sample, gradient",
    [
        (0, (R(34, 5), R(17, 5), R(17, 5), R(51, 5), R(17, 5))),
        (1, (0, 0, 0, 0, R(-19, 5))),
    ],
)
def test_per_sample_gradients(homework, sample, gradient):
    _, training = homework
    assert training.initial.samples[sample].gradient == gradient


def test_mean_gradient(homework):
    _, training = homework
    assert training.initial.gradient == (R(17, 5), R(17, 10), R(17, 10), R(51, 10), R(-1, 5))


def test_gradient_descent_step(homework):
    _, training = homework
    assert training.learning_rate == R(1, 100)
    assert len(training.evaluations) == 2  # the spec asks for one step
    assert training.after_first.theta == (R(483, 500), R(983, 1000), R(-17, 1000), R(949, 1000), R(1, 500))


def test_loss_after_the_step_went_down(homework):
    _, training = homework
    assert training.after_first.loss == NEW_LOSS
    assert training.after_first.loss < R(13, 4)
    assert decimal(training.after_first.loss) == "2.855647"
    assert training.final is training.after_first


@pytest.mark.parametrize(
    "value, shown",
    [(R(13, 4), "3.25"), (R(0), "0"), (R(3), "3"), (R(-1, 5), "-0.2"), (R(1, 3), "0.333333"), (NEW_LOSS, "2.855647")],
)
def test_decimal_for_people(value, shown):
    assert decimal(value) == shown


def test_evaluate_at_other_parameters(homework):
    derivation, _ = homework
    evaluation = evaluate(derivation, tuple(R(v) for v in (0, 0, 0, 0, 0)))
    assert evaluation.loss == (R(13, 10) ** 2 + R(19, 10) ** 2) / 2
    assert evaluation.gradient == (0, 0, 0, 0, -(R(13, 10) + R(19, 10)))


# --- training against the Fraction network ------------------------------------------------------------

ON_THE_KINK = """
[network]
sizes = [2, 1, 1]
activations = ["relu", "identity"]
[loss]
kind = "half_squared_error"
[data]
x = [[1, 1], [2, -1]]
y = [1, "1/3"]
[parameters]
init = [1, -1, 0, 2, "1/2"]   # sample 1 has z = 0 exactly: ReLU'(0) = 0 must kill its hidden gradient
[training]
learning_rate = "1/4"
steps = 3
"""


def homework_variant(old: str, new: str):
    text = open(load("inf264_hw4").path, encoding="utf-8").read()
    return parse(text.replace(old, new))


@pytest.mark.parametrize(
    "spec",
    [
        load("inf264_hw4"),
        load("two_hidden_units"),
        parse(ON_THE_KINK),
        homework_variant('kind = "squared_error"', 'kind = "half_squared_error"'),
        homework_variant("learning_rate = 0.01", "learning_rate = 0.3"),  # big steps cross the kinks
    ],
    ids=["inf264_hw4", "two_hidden_units", "on-the-kink", "half-squared-error", "big-steps"],
)
def test_three_steps_match_fraction_network(spec):
    derivation = derive(build(spec))
    training = train(derivation, steps=3)
    expected = fraction_training(spec, steps=3, eta=spec.learning_rate)

    assert len(training.evaluations) == 4
    for evaluation, (theta, loss) in zip(training.evaluations, expected):
        assert tuple(as_fraction(w) for w in evaluation.theta) == theta
        assert as_fraction(evaluation.loss) == loss


def test_on_the_kink_gradient_uses_left_derivative():
    derivation = derive(build(parse(ON_THE_KINK)))
    first = evaluate(derivation, (R(1), R(-1), R(0), R(2), R(1, 2))).samples[0]
    assert first.values["z"] == 0
    assert first.gradient[:3] == (0, 0, 0)


def test_train_uses_given_learning_rate_and_steps(homework):
    derivation, _ = homework
    training = train(derivation, steps=2, learning_rate=R(1, 10))
    expected = fraction_training(load("inf264_hw4"), steps=2, eta=F(1, 10))
    assert [as_fraction(e.loss) for e in training.evaluations] == [loss for _, loss in expected]
    assert training.learning_rate == R(1, 10)


# --- random networks, kinks included, against the Fraction network -----------------------------------------

def random_specs():
    """[n_in, one or two hidden layers, 1], relu or identity hidden layers; small rationals hit kinks exactly."""
    return network_specs()


@given(random_specs())
def test_random_networks_match_fraction_network(spec):
    derivation = derive(build(spec))
    evaluation = evaluate(derivation, tuple(R(v.numerator, v.denominator) for v in spec.init))
    loss, gradient = dataset_loss_and_gradient(spec, list(spec.init))
    assert as_fraction(evaluation.loss) == loss
    assert [as_fraction(g) for g in evaluation.gradient] == gradient

    training = train(derivation, steps=2)
    expected = fraction_training(spec, steps=2, eta=spec.learning_rate)
    assert [as_fraction(e.loss) for e in training.evaluations] == [loss for _, loss in expected]
    assert tuple(as_fraction(w) for w in training.final.theta) == expected[-1][0]


@pytest.mark.parametrize("value", [
    sp.Rational(1, 3), sp.tanh(sp.Rational(1, 2)) ** 2 - 1,
    sp.Piecewise((0, sp.Symbol("t", real=True) <= 0), (1, True)),
    1 + sp.exp(sp.Piecewise((0, sp.Symbol("t", real=True) <= 0), (1, True))),
])
def test_has_piecewise_agrees_with_sympys_has(value):
    from chainrule.core.exact_pass import has_piecewise

    assert has_piecewise(value) == value.has(sp.Piecewise)


@pytest.mark.parametrize(("expr", "values", "expected"), [
    ("a*b*c", [0, 5, 7], 0), ("a*b*c", [2, 3, 5], 30), ("a + b + c", [0, 0, 0], 0),
    ("a + b + c", [0, 3, 0], 3), ("a*b + c", [Fraction(1, 2), 0, Fraction(1, 3)], Fraction(1, 3)),
    # sums of monomials go over one common denominator: the same reduced value as term by term
    ("2*a*b - c/3 + 1/7", [Fraction(3, 4), Fraction(-5, 6), Fraction(9, 10)], Fraction(-197, 140)),
    ("a*b + b*c + c*a", [Fraction(1, 2), Fraction(2, 3), Fraction(-6, 7)], Fraction(-2, 3)),
    ("a*b - a*b/2 - a*b/2 + c", [Fraction(1, 3), Fraction(1, 5), 0], 0),
])
def test_exact_compiled_sums_and_products(expr, values, expected):
    from chainrule.core.compiled import compile_numeric

    symbols = sp.symbols("a b c", real=True)
    compiled = compile_numeric(sp.sympify(expr, locals=dict(zip("abc", symbols))), {s: i for i, s in enumerate(symbols)},
                               Fraction)
    assert compiled([Fraction(v) for v in values]) == expected


# --- substituting into a sigmoid network: powers of sums built as SymPy would build them --------------

_a, _b = sp.symbols("a b", real=True)
_E = sp.exp(-R(3, 7) * sp.exp(R(1, 5)) + R(2, 9), evaluate=False)  # a value as a step leaves it: exp of exp


@pytest.mark.parametrize("base, exponent", [
    (1 + _E, -1),  # the sigmoid's 1/(1 + exp(-z))
    (1 + _E, -2),  # its derivative's denominator
    (1 + _E, 2),
    (-1 - _E, -1),  # a negative first term: SymPy may pull the sign out
    (-1 - _E, 2),
    (R(1, 3) - _E, -1),
    (1 + _E, 1),  # to the power 1 or 0: the base itself, or 1
    (1 + _E, 0),
    (1 + sp.I * _E, -1),  # a complex a + b·i: SymPy rationalises it
    (sp.I + _E, -1),
    (R(1, 2) + sp.sqrt(2), -1),
    (_E, -1),  # not a sum
    (R(2, 3), -1),
    (1 + _E, R(1, 2)),
    ((1 + _E) ** -1, 2),  # a power of such a power: SymPy multiplies the exponents
    ((1 + _E) ** -1, -1),
    ((1 + _E) ** 2, -1),
    ((1 + _E) ** 2, 0),
    (sp.sqrt(1 + _E), 2),
    (sp.sqrt(1 + _E), 3),
])
def test_substituted_powers_are_the_powers_sympy_builds(base, exponent):
    """`_substitute` skips SymPy's evaluation of a power of a sum (numeric evaluation of every exp, the
    bulk of a sigmoid network's training): the result must still be the very expression SymPy builds."""
    from chainrule.core.exact_pass import substitute as _substitute

    known = {_a: base, _b: sp.Integer(exponent) if isinstance(exponent, int) else exponent}
    built = _substitute(sp.Pow(_a, _b), known)
    assert sp.srepr(built) == sp.srepr(sp.Pow(base, exponent))


def test_a_sigmoid_networks_step_is_the_same_as_sympy_substituting():
    """One step of a 2-2-1 sigmoid network: every value equals SymPy's own xreplace of the formulas."""
    spec = parse("""
name = "sig"
[network]
sizes = [2, 2, 1]
activations = ["sigmoid", "sigmoid"]
[loss]
kind = "squared_error"
[data]
x = [[0.5, -1]]
y = [1]
[parameters]
init = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9]
[training]
learning_rate = 0.5
steps = 1
""", "sig.toml")
    derivation = derive(build(spec))
    model = derivation.model
    theta = train(derivation, steps=1).after_first.theta
    known = {p.symbol: v for p, v in zip(model.parameters, theta)}
    known.update({n.symbol: sp.Rational(v) for n, v in zip(model.inputs, spec.x[0])})
    known.update({n.symbol: sp.Rational(v) for n, v in zip(model.targets, spec.targets[0])})
    after = evaluate(derivation, theta).samples[0]
    for node in model.nodes:
        if node.definition is not None:
            plain = node.definition.xreplace(known)
            known[node.symbol] = plain
            assert after.values[node.name] == plain, node.name


@pytest.mark.parametrize("number, power", [
    (R(1, 2), (1 + _E) ** 2),  # ½(ŷ − y)² with a sigmoid's ŷ
    (R(-3, 4), (1 + _E) ** -1),
    (sp.Integer(-1), (1 + _E) ** -2),
    (sp.Integer(2), (-1 - _E) ** 2),
    (sp.Integer(1), (1 + _E) ** 2),  # 1·p is p
    (R(1, 2), (1 + _E) ** R(1, 2)),  # not an integer power
    (R(1, 2), sp.Pow(2, R(1, 3))),  # a number's power joins the coefficient
    (R(1, 2), 1 + _E),  # a number times a sum is distributed
])
def test_substituted_products_are_the_products_sympy_builds(number, power):
    from chainrule.core.exact_pass import substitute as _substitute

    for expr in (sp.Mul(_a, _b), sp.Mul(_b, _a, evaluate=False)):  # either order of the factors
        built = _substitute(expr, {_a: number, _b: power})
        assert sp.srepr(built) == sp.srepr(sp.Mul(number, power))


_S = 1 + _E  # a sigmoid's 1 + exp(-z)


@pytest.mark.parametrize("terms", [
    (R(1, 2) * _S ** 2, R(1, 2) * (2 + _E) ** 2),  # ½(ŷ₁ − y₁)² + ½(ŷ₂ − y₂)²: the loss of two outputs
    (R(1, 2) * (2 + _E) ** 2, R(1, 2) * _S ** 2),  # the other order: SymPy's order comes back
    (R(1, 2) * (3 + _E) ** 2, R(1, 2) * (2 + _E) ** 2, R(1, 2) * _S ** -2),
    (R(1, 2) * _S ** 2, R(3, 2) * _S ** 2),  # like terms: 2·s²
    (R(1, 2) * _S ** 2, R(-1, 2) * _S ** 2),  # cancelling: 0
    (R(1, 2) * _S ** 2, R(-1, 2) * _S ** 2, R(1, 3)),  # and a number left
    (R(1, 2) * _S ** 2, -R(1, 2) * _S ** 2, _S ** 2),  # one term of coefficient 1
    (R(1, 3), R(-1, 2) * _S ** -1, R(2, 3)),  # numbers first, summed
    (R(1, 2) * _S ** 2, sp.Add(_E, R(1, 5) * _S ** -2, evaluate=False)),  # a nested sum joins in
    (R(1, 2) * _S ** 2, 3 * _E * _S ** -1),  # a product of several factors keeps its order
    (R(1, 2) * _S ** 2, R(2, 3) * _E),  # c·exp(…): SymPy's own Mul
    (R(1, 2) * _S ** 2, R(1, 2) * sp.Add(1, _E, evaluate=False)),
    (R(1, 2) * _S ** 2, sp.Float(1.5)),  # a decimal: SymPy's own sum
    (R(1, 2) * _S ** 2, sp.Pow(2, R(1, 2))),  # a number's power: SymPy's own sum
    (R(1, 2) * _S ** 2, sp.oo),
    (R(1, 2) * _S ** 2, sp.zoo),
    (R(1, 2) * (1 + sp.I * _E) ** 2, R(1, 3)),  # a complex base: not a plain power
    (R(1, 2) * (_S + sp.oo) ** 2, R(1, 3)),
    (R(1, 2) * _S ** R(1, 2), R(1, 3)),  # not an integer power
    (R(1, 2) * _S ** 2, sp.Integer(0)),
    (R(1, 2) * _S ** 2,),
])
def test_substituted_sums_are_the_sums_sympy_builds(terms):
    """`_substitute` collects a sum's terms itself where SymPy would rebuild ½·s² through Mul's
    numeric questions (seconds per sum in a sigmoid network's mistakes): the very expression SymPy builds."""
    from chainrule.core.exact_pass import substitute as _substitute

    symbols = sp.symbols(f"t0:{len(terms)}", real=True)
    built, reference = _substitute(sp.Add(*symbols), dict(zip(symbols, terms))), sp.Add(*terms)
    assert built.func == reference.func and built.args == reference.args  # srepr alone would sort the terms


_t = R(-1, 2) - _E / 3  # an exponent as a step leaves it: a sum with an exp in it
_X = sp.exp(_t, evaluate=False)  # e^(−z), as `_substitute` leaves it
_D = R(1, 4) - 2 * _E  # a sum of δ's


@pytest.mark.parametrize("factors", [
    (_D, _X, _S ** -2),  # σ′(z) times a sum
    (_S ** -2, _X, _S ** -1),  # equal bases: one power, exponents added
    (_S, _X, _S ** -2),  # the sum itself and its power
    (_S, _X, _S ** -1, _D),  # exponents cancelling
    (_S, _X, _S ** -1),  # ... down to e^t alone: SymPy's own
    (R(2), _X, _S ** -2),
    (R(-3, 5), _D, _X, _S ** -2),
    (2 * _D * _S ** -2, _X),  # a product's factors join in
    (R(0), _X, _S),
    (R(2), _X),  # two factors, one a rational: SymPy's own
    (_X, sp.exp(R(1, 3) + _E, evaluate=False), _S),  # two exps stay two factors
    (_X, sp.exp(R(1, 3) + _E, evaluate=False), _S ** -2, _D, sp.exp(R(1, 3) + _E, evaluate=False)),  # e^u·e^u
    (_X, _X),
    (sp.exp(sp.log(3) + _E, evaluate=False), _S),  # a log in the exponent
    (sp.exp(2 * _E, evaluate=False), _S),  # a product as exponent
    (sp.exp(sp.I * sp.pi + _E, evaluate=False), _S),
    (sp.exp(sp.Add(1, _E - _E, -1, evaluate=False), evaluate=False), _S),  # an exponent not shown nonzero
    (sp.exp(sp.tanh(R(1, 3)) + R(1, 2), evaluate=False), _S ** 3, _D),
    (_X, sp.sqrt(_S)),  # not an integer power
    (_X, _S ** -2, sp.Float(1.5)),
])
def test_substituted_products_with_an_exp_are_the_products_sympy_builds(factors):
    """`_substitute` builds σ′(z)·(…) itself where SymPy would re-evaluate e^t through numeric questions
    (most of a sigmoid network's exact step): the very expression SymPy builds, factors in SymPy's order."""
    from chainrule.core.exact_pass import substitute as _substitute

    symbols = sp.symbols(f"t0:{len(factors)}", real=True)
    built, reference = _substitute(sp.Mul(*symbols), dict(zip(symbols, factors))), sp.Mul(*factors)
    assert built.func == reference.func and built.args == reference.args


@pytest.mark.parametrize("a, b", [
    (R(1, 2) * _S ** 2 + R(1, 2) * (2 + _E) ** 2, R(291, 1000)),  # a loss minus a student's decimal
    (R(3, 1000), R(1, 2) * _S ** 2 + R(1, 2) * (2 + _E) ** 2 - R(1, 3)),  # a bound minus an error
    (R(1, 2) * _S ** 2, R(-1, 2) * _S ** 2),
    (_S ** -1, R(1, 2) * _S ** -1),  # a rational times a plain power
    (_S ** -1, -_S ** -1 + R(1, 7)),
    (_E, _D),
    (R(2, 3), R(5, 7)),
    (_X * _S ** -2, R(1, 9)),  # anything else: SymPy's own
])
def test_exact_differences_are_the_differences_sympy_builds(a, b):
    """The grader's a − b and −b (check/grading.py), built without SymPy's questions: the very expressions."""
    from chainrule.core.exact_pass import difference, negative

    for built, reference in ((difference(a, b), a - b), (negative(b), -b), (negative(a), -a)):
        assert built.func == reference.func and built.args == reference.args
