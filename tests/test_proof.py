"""The proof engine: PROVED, REFUTED (with a counterexample that really separates the sides) or UNKNOWN."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.core.proof import Prover, Verdict, prove_equal

x, y = sp.symbols("x y", real=True)


PROVED, REFUTED, UNKNOWN = Verdict.PROVED, Verdict.REFUTED, Verdict.UNKNOWN


def relu(t):
    return sp.Piecewise((0, t <= 0), (t, True))


def relu_strict(t):
    return sp.Piecewise((0, t < 0), (t, True))


def step(t):
    """The homework's g': 0 for t <= 0, 1 for t > 0."""
    return sp.Piecewise((0, t <= 0), (1, True))


def step_strict(t):
    """A right-continuous step: 0 for t < 0, 1 for t >= 0."""
    return sp.Piecewise((0, t < 0), (1, True))


def sigmoid(t):
    return 1 / (1 + sp.exp(-t))


def assert_separates(lhs, rhs, counterexample):
    """The counterexample is an exact point where the two sides differ."""
    assert counterexample is not None, "a REFUTED proof must carry a counterexample"
    point = dict(counterexample)
    assert all(value.is_Rational for value in point.values()), point
    left, right = sp.sympify(lhs).xreplace(point), sp.sympify(rhs).xreplace(point)
    difference = sp.simplify(left - right)
    assert left != right
    assert difference != 0 and difference.is_zero is not True
    assert abs(sp.N(difference, 50)) > sp.Float("1e-30")


CASES = [
    # polynomials
    ("binomial", (x + 1) ** 2, x**2 + 2 * x + 1, PROVED),
    ("binomial, wrong", (x + 1) ** 2, x**2 + 2 * x, REFUTED),
    ("two variables", (x - y) * (x + y), x**2 - y**2, PROVED),
    ("two variables, wrong", (x - y) ** 2, x**2 - y**2, REFUTED),
    # kinks
    ("sqrt of square", sp.sqrt(x**2), sp.Abs(x), PROVED),
    ("max is relu", sp.Max(0, x), relu(x), PROVED),
    ("relu <= vs <: both are 0 at x = 0", relu(x), relu_strict(x), PROVED),
    ("relu' <= vs <: differ at x = 0", step(x), step_strict(x), REFUTED),
    ("step written as > first", sp.Piecewise((1, x > 0), (0, True)), step(x), PROVED),
    ("max vs abs", sp.Max(0, x), sp.Abs(x), REFUTED),
    ("relu minus mirrored relu", relu(x) - relu(-x), x, PROVED),
    ("relu plus mirrored relu", relu(x) + relu(-x), sp.Abs(x), PROVED),
    ("max plus min", sp.Max(x, y) + sp.Min(x, y), x + y, PROVED),
    ("relu is not additive", relu(x + y), relu(x) + relu(y), REFUTED),
    ("heaviside(0) is 1/2", sp.Heaviside(x), step_strict(x), REFUTED),
    # smooth activations
    ("sigmoid derivative", sp.diff(sigmoid(x), x), sigmoid(x) * (1 - sigmoid(x)), PROVED),
    ("sigmoid symmetry", 1 - sigmoid(x), sigmoid(-x), PROVED),
    ("sigmoid via tanh", sigmoid(x), (1 + sp.tanh(x / 2)) / 2, PROVED),
    ("sigmoid is not even", sigmoid(x), sigmoid(-x), REFUTED),
    ("exp of a sum", sp.exp(x) * sp.exp(y), sp.exp(x + y), PROVED),
    # nested ReLU, as in a network with two hidden layers
    ("relu of relu", relu(relu(x)), relu(x), PROVED),
    ("relu of shifted relu", relu(relu(x) - 1), relu(x - 1), PROVED),
    ("relu of negated relu", relu(-relu(x)), sp.Integer(0), PROVED),
    ("relu of relu is not identity", relu(relu(x)), x, REFUTED),
    # the same kink written two ways, in two variables
    ("scaled kink", relu(2 * x + y), 2 * relu(x + y / 2), PROVED),
    ("same kink, doubled", relu(2 * x + y) * step(4 * x + 2 * y), relu(2 * x + y), PROVED),
    ("same kink, mirrored", relu(2 * x + y), relu(-(-4 * x - 2 * y)) / 2, PROVED),
    ("same kink, strict vs not", step(2 * x + y), step_strict(4 * x + 2 * y), REFUTED),
    ("different kinks", relu(2 * x + y), relu(2 * x - y), REFUTED),
]


@pytest.mark.parametrize("lhs, rhs, verdict", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verdicts(lhs, rhs, verdict):
    proof = prove_equal(lhs, rhs)
    assert proof.verdict is verdict, proof.reason
    assert proof.proved is (verdict is PROVED)
    if verdict is REFUTED:
        assert_separates(lhs, rhs, proof.counterexample)
    else:
        assert proof.counterexample is None


@pytest.mark.parametrize(
    "lhs, rhs, point",
    [
        (step(x), step_strict(x), {x: 0}),
        (step(2 * x + y), step_strict(4 * x + 2 * y), None),  # anywhere on the line 2x + y = 0
    ],
)
def test_counterexample_lies_on_the_kink(lhs, rhs, point):
    proof = prove_equal(lhs, rhs)
    found = dict(proof.counterexample)
    if point is not None:
        assert found == point
    else:
        assert 2 * found[x] + found[y] == 0


@pytest.mark.parametrize(
    "lhs, rhs",
    [(x, x + 1), (x * y, x * y - 2), (relu(x), relu(x) + 1), (sp.Integer(0), sp.Integer(1))],
)
def test_counterexample_assigns_every_variable(lhs, rhs):
    """A counterexample is a point: it gives every variable a value, so both sides become numbers."""
    proof = prove_equal(lhs, rhs)
    assert proof.verdict is REFUTED
    point = dict(proof.counterexample)
    assert set(point) == (sp.sympify(lhs).free_symbols | sp.sympify(rhs).free_symbols)
    assert sp.sympify(lhs).xreplace(point).is_Number and sp.sympify(rhs).xreplace(point).is_Number
    assert_separates(lhs, rhs, proof.counterexample)


def test_verdict_does_not_depend_on_earlier_calls():
    """The same question gets the same answer, whatever SymPy has cached or evicted in between."""
    first = prove_equal(relu(x), sp.Max(0, x))
    # Creating many symbols evicts old entries from SymPy's symbol cache, as any long session does.
    _ = [sp.Symbol(f"unrelated{i}") for i in range(3000)]
    second = prove_equal(relu(x), sp.Max(0, x))
    assert first.verdict is second.verdict is PROVED


def test_region_detail_for_relu():
    proof = prove_equal(sp.Max(0, x), relu(x))
    assert proof.verdict is PROVED
    assert sorted((str(r.value) for r in proof.regions)) == ["0", "x"]


@pytest.mark.parametrize(
    ("lhs", "rhs", "values"),
    [
        # each region's polynomial is the common value of both sides, whichever side is simpler
        (relu(x) * y + relu(x) * (y + 1), (2 * y + 1) * relu(x), ["0", "2*x*y + x"]),
        (sp.Max(0, x) ** 2, relu(x) * x, ["0", "x**2"]),
    ],
)
def test_region_detail_is_the_common_polynomial(lhs, rhs, values):
    proof = prove_equal(lhs, rhs)
    assert proof.verdict is PROVED
    assert sorted(str(r.value) for r in proof.regions) == values


def test_a_proof_without_detail_has_the_same_verdict_and_no_regions():
    """`detail=False` (a chain's steps): the same verdict and method, no region polynomials."""
    prover = Prover()
    brief = prover.prove(sp.Max(0, x) * y, relu(x) * y, detail=False)
    full = prover.prove(sp.Max(0, x) * y, relu(x) * y)
    assert brief.verdict is full.verdict is PROVED and brief.method == full.method
    assert brief.regions == () and sorted(str(r.value) for r in full.regions) == ["0", "x*y"]
    refuted = prover.prove(relu(x), x, detail=False)
    assert refuted.verdict is REFUTED and refuted.counterexample


def test_out_of_time_is_unknown_not_a_guess():
    proof = prove_equal(relu(x), sp.Max(0, x), time_limit=-1)
    assert proof.verdict is UNKNOWN
    assert "time" in proof.reason


@pytest.mark.parametrize(
    "lhs, rhs",
    [
        (sp.Abs(x * y), sp.Abs(x) * sp.Abs(y)),  # true, with a nonlinear kink
        (relu(x + y) * step(x) * step(y), (x + y) * step(x) * step(y)),  # true; some sign patterns are empty
    ],
)
def test_true_identities_are_never_refuted(lhs, rhs):
    assert prove_equal(lhs, rhs).verdict is not REFUTED


# --- properties ----------------------------------------------------------------------------------------

small = st.integers(min_value=-5, max_value=5)


@st.composite
def polynomials(draw):
    """A polynomial in x and y of degree <= 2 in each, with small integer coefficients."""
    coefficients = draw(st.lists(small, min_size=9, max_size=9))
    return sp.Add(*(c * x**i * y**j for c, (i, j) in zip(coefficients, [(i, j) for i in range(3) for j in range(3)])))


@st.composite
def linear_forms(draw):
    a, b, c = draw(small), draw(small), draw(small)
    if a == 0 and b == 0:
        a = 1
    return a * x + b * y + c


@settings(max_examples=25, deadline=None)
@given(polynomials(), polynomials())
def test_expanded_product_is_proved(p, q):
    assert prove_equal(sp.expand(p * q), p * q).verdict is PROVED


@settings(max_examples=25, deadline=None)
@given(polynomials())
def test_off_by_one_is_refuted(p):
    proof = prove_equal(p, p + 1)
    assert proof.verdict is REFUTED
    assert_separates(p, p + 1, proof.counterexample)


@settings(max_examples=25, deadline=None)
@given(linear_forms(), st.integers(min_value=1, max_value=4))
def test_relu_identities_on_random_kinks(form, scale):
    assert prove_equal(relu(form) - relu(-form), form).verdict is PROVED
    assert prove_equal(relu(scale * form), scale * relu(form)).verdict is PROVED
    assert prove_equal(sp.Max(0, form), relu(form)).verdict is PROVED
    flipped = prove_equal(relu(-scale * form), scale * relu(form))
    assert flipped.verdict is REFUTED
    assert_separates(relu(-scale * form), scale * relu(form), flipped.counterexample)
