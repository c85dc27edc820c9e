"""The ring-based multilinear zero test agrees with the expression one (`kinks.multilinear`)."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from chainrule.core.forms import Forms
from chainrule.core.kinks import Resolver, multilinear

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
        (relu(x) * sp.exp(y), sp.exp(y) * relu(x)),  # exp: not a polynomial
        (relu(x) * sp.Float(0.5), relu(x) / 2),  # a Float is not read as a rational
        (relu(x) + relu_strict(x), 2 * relu(x)),  # <= and < on one kink: three states
        (relu(x) / y, relu(x) * y ** -1),  # a negative power
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
