"""The activation and loss registries: one record each, read by every stage.

ELU was added as one record in core/activations.py; these tests show it reaches the spec reader,
the model, the derivation (both ways, proved equal), the numbers, the notation parser and the
variants without any other file knowing its name.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from chainrule.check.notation import FreeVocabulary, parse
from chainrule.core.activations import ACTIVATIONS, T
from chainrule.core.losses import LOSSES
from chainrule.core.model import build
from chainrule.core.solution import solve
from chainrule.core.spec_reader import parse as parse_spec
from chainrule.errors import SpecError

ELU_SPEC = """
name = "elu_net"
[network]
sizes = [2, 1, 1]
activations = [{name = "elu", alpha = 0.5}, "identity"]
[loss]
kind = "squared_error"
[data]
x = [[2, 1], [-3, 2]]
y = [1.3, 1.9]
[parameters]
init = [1, 1, 0, 1, 0]
[training]
learning_rate = 0.01
"""


@pytest.mark.parametrize("name", sorted(n for n, a in ACTIVATIONS.items() if a.define is not None))
def test_every_derivative_is_the_derivative_of_the_definition(name):
    """g′ away from kinks equals mpmath's numeric derivative of g (an oracle we did not write)."""
    record = ACTIVATIONS[name]
    g, g_prime = record.function(), record.derivative()
    for at in (sp.Rational(-3, 2), sp.Rational(1, 3), sp.Rational(5, 2)):
        numeric = mpmath.diff(lambda v: mpmath.mpf(str(sp.N(g(sp.Float(v, 30)), 30))), mpmath.mpf(at.p) / at.q)
        assert abs(float(sp.N(g_prime(at), 30)) - float(numeric)) < 1e-9


@pytest.mark.parametrize("name, expected", [("relu", 0), ("leaky_relu", sp.Rational(1, 100)), ("elu", 1)])
def test_kink_convention_is_the_left_derivative(name, expected):
    assert ACTIVATIONS[name].derivative()(sp.Integer(0)) == expected


def test_every_record_is_complete():
    for name, record in ACTIVATIONS.items():
        assert record.name == name and record.latex and record.latex_name and record.plain_name
        if record.define is not None:
            assert record.function()(T).free_symbols <= {T}
    for name, loss in LOSSES.items():
        assert loss.name == name and loss.plain_name
        assert loss.output_activation is None or loss.output_activation in ACTIVATIONS


def test_an_added_activation_reaches_every_stage():
    spec = parse_spec(ELU_SPEC)
    assert spec.activations == ("elu", "identity") and dict(spec.activation_options[0]) == {"alpha": Fraction(1, 2)}
    model = build(spec)
    z = model.by_name["z"].symbol
    assert model.by_name["h"].definition == sp.Piecewise((sp.Rational(1, 2) * (sp.exp(z) - 1), z <= 0), (z, True))
    solution = solve(spec)
    assert solution.all_proved, [c.identity for c in solution.identities]
    # sample 2 has z = -3 + 2 = -1 < 0: h = (e^-1 - 1)/2, exact
    h2 = solution.training.initial.samples[1].values["h"]
    assert sp.simplify(h2 - (sp.exp(-1) - 1) / 2) == 0
    assert parse("elu(0)", FreeVocabulary()) == 0


@pytest.mark.parametrize("entry, message", [
    ('{name = "elu", alpha = 0}', "expected a scale above 0"),
    ('{name = "elu", slope = 1}', "unknown option for elu"),
    ('"elo"', "did you mean 'elu'"),
])
def test_activation_options_come_from_the_record(entry, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(ELU_SPEC.replace('{name = "elu", alpha = 0.5}', entry))
