"""The ring-based multilinear zero test agrees with the expression one (`kinks.multilinear`)."""

from __future__ import annotations

import itertools
import time

import pytest
import sympy as sp

from chainrule.core.forms import Forms
from chainrule.core.kinks import Resolver, Side, multilinear, region_value

x, y, w = sp.symbols("x y w", real=True)


def relu(t):
    return sp.Piecewise((0, t <= 0), (t, True))


def step(t):
    return sp.Piecewise((0, t <= 0), (1, True))


def relu_strict(t):
    return sp.Piecewise((0, t < 0), (t, True))


def _both(lhs, rhs):
    """(ring test, expression test) on the resolved sides, with the same resolver and kinks."""
    resolver = Resolver(time.monotonic() + 30)
    left, right = resolver.resolve(lhs), resolver.resolve(rhs)
    expression = multilinear(left - right, resolver.kinks)
    return Forms().difference_is_zero(left, right, resolver.kinks), (None if expression is None else expression == 0)


@pytest.mark.parametrize(
    ("lhs", "rhs", "expected"),
    [
        (relu(x) * y + relu(x) * (y + 1), (2 * y + 1) * relu(x), True),
        (relu(w * x + y) ** 2, relu(w * x + y) * (w * x + y), True),
        (relu(x) * step(x), relu(x), True),  # an indicator times itself: s**2 reduced to s
        (relu(x) * step(x) * step(x), step(x) * x, True),
        (relu(x) - step(x) * x, sp.Integer(0), True),
        (relu(x) + sp.Piecewise((x, x <= 0), (0, True)), x, True),  # s and 1 - s: one kink, both sides
        (relu(x), x, False),
        (relu(x) * sp.Rational(1, 3), relu(x) / 3 + sp.Rational(1, 10**9), False),
        (relu(w * x) * relu(y), relu(y) * relu(w * x), True),  # two kinks
        (relu(w * x) * relu(y), relu(y) * (w * x), False),
    ],
)
def test_ring_test_agrees_with_the_expression_test(lhs, rhs, expected):
    ring, expression = _both(lhs, rhs)
    assert ring is expression is expected


@pytest.mark.parametrize(
    ("lhs", "rhs"),
    [
        (relu(x) * (sp.exp(y) + 1), relu(x) * sp.exp(y) + relu(x)),  # exp: not a polynomial
        (relu(x) * sp.Float(0.5), relu(x) / 2),  # a Float is not read as a rational
        (relu(x) + relu_strict(x), 2 * relu(x)),  # <= and < on one kink: three states
        (relu(x) * (1 / y + 1), relu(x) / y + relu(x)),  # a negative power
    ],
)
def test_ring_test_leaves_what_is_not_a_rational_polynomial_to_the_expression_test(lhs, rhs):
    ring, _ = _both(lhs, rhs)
    assert ring is None


def test_a_side_converted_once_is_reused_across_proofs():
    """Two identities sharing a side: the second reads it from the memo (same ring element)."""
    resolver, forms = Resolver(time.monotonic() + 30), Forms()
    shared = resolver.resolve(relu(w * x + y) * (w + 1))
    first, second = resolver.resolve((w + 1) * relu(w * x + y)), resolver.resolve(w * relu(w * x + y) + relu(w * x + y))
    assert forms.difference_is_zero(shared, first, resolver.kinks) is True
    assert forms.difference_is_zero(shared, second, resolver.kinks) is True
    assert forms.difference_is_zero(shared, shared * 2, resolver.kinks) is False


@pytest.mark.parametrize(
    ("lhs", "rhs"),
    [
        (relu(w * x + y) * (w + 1), w * relu(w * x + y) + relu(w * x + y)),
        (relu(x) * step(x) * y ** 2, relu(x) * y ** 2),
        (relu(w * x) * relu(y) * (x + 1), relu(w * x) * relu(y) * x + relu(y) * relu(w * x)),  # two kinks: four regions
    ],
)
def test_a_side_on_each_region_is_the_expanded_region_value(lhs, rhs):
    """on_region reads the polynomial from the ring; the expression path expands region_value."""
    resolver, forms = Resolver(time.monotonic() + 30), Forms()
    left, right = resolver.resolve(lhs), resolver.resolve(rhs)
    assert forms.difference_is_zero(left, right, resolver.kinks) is True
    kinks = resolver.kinks
    for combination in itertools.product(*(k.states for k in kinks)):
        states = {k.indicator: state for k, state in zip(kinks, combination)}
        expected = sp.expand(region_value(right, kinks, states).xreplace(
            {k.indicator: sp.Integer(1 if states[k.indicator] in (Side.GT, Side.GE) else 0) for k in kinks}))
        assert forms.on_region(right, kinks, states) == expected
        assert forms.on_region(left, kinks, states) == expected


def test_no_region_value_after_a_test_that_could_not_read_the_sides():
    resolver, forms = Resolver(time.monotonic() + 30), Forms()
    first = resolver.resolve(relu(x) * y)
    assert forms.difference_is_zero(first, first, resolver.kinks) is True
    exp_side = resolver.resolve(relu(x) * (sp.exp(y) + 1))
    assert forms.difference_is_zero(exp_side, resolver.resolve(relu(x) * sp.exp(y) + relu(x)), resolver.kinks) is None
    states = {k.indicator: k.states[-1] for k in resolver.kinks}
    assert forms.on_region(first, resolver.kinks, states) is None


def _never_called():
    raise AssertionError("a side was converted")


def test_the_same_expression_on_both_sides_is_zero_without_converting_either():
    """SymPy's left - right cancels equal sides at once; expanding each can take minutes (a deep
    network's δ over 19 kinks took 98 s before this shortcut, inside a 5 s proof limit)."""
    resolver, forms = Resolver(time.monotonic() + 30), Forms()
    side = resolver.resolve(relu(w * x + y) * (w + 1) ** 9 * relu(y))
    assert forms.difference_is_zero(side, side, resolver.kinks, _never_called) is True


def test_converting_checks_the_deadline_and_lets_it_end_the_test():
    class Late(Exception):
        pass

    def late():
        raise Late

    resolver, forms = Resolver(time.monotonic() + 30), Forms()
    left, right = resolver.resolve(relu(x) * (y + 1)), resolver.resolve(relu(x) * y + relu(x))
    with pytest.raises(Late):
        forms.difference_is_zero(left, right, resolver.kinks, late)
