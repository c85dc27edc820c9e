"""The 60-digit passes (core/precise.py) and exact values too long to build (null in --json, named)."""

from __future__ import annotations

import dataclasses

import mpmath
import pytest
import sympy as sp

import chainrule
from chainrule.core import exact_pass, numerics
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.precise import numeric_check
from chainrule.core.spec_reader import from_bytes
from chainrule.render.report import solution_json


def pointer(data, path: str):
    """The value at a JSON Pointer."""
    for part in path.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def deep_tanh_spec(sizes=(3, 6, 6, 3), samples=3):
    """A tanh + softmax network with two hidden layers: exact outputs grow with the product of widths."""
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    init = [[-0.5, 0.25, 0.75, -0.25, 0.5, 1][(3 * i + 1) % 6] for i in range(count)]
    x = [[[-1, 0.5, 2, 1.5, -2][(i + j) % 5] for j in range(sizes[0])] for i in range(samples)]
    y = [i % sizes[-1] for i in range(samples)]
    text = (f'name = "deep_tanh"\n[network]\nsizes = {list(sizes)}\nactivations = ["tanh", "tanh", "softmax"]\n'
            f'[loss]\nkind = "softmax_cross_entropy"\n[data]\nx = {x}\ny = {y}\n[parameters]\ninit = {init}\n'
            f'[training]\nlearning_rate = 0.1\n')
    return from_bytes(text.encode(), "deep_tanh.toml", "deep_tanh")


def oracle_predictions(spec) -> list[list]:
    """The network written out in mpmath (weights of a unit, then its bias, unit by unit): nothing shared."""
    theta = iter([mpmath.mpf(str(v)) for v in spec.init])
    layers = []
    for fan_in, width in zip(spec.sizes, spec.sizes[1:]):
        layers.append([([next(theta) for _ in range(fan_in)], next(theta)) for _ in range(width)])
    result = []
    for x in spec.x:
        a = [mpmath.mpf(str(v)) for v in x]
        for k, layer in enumerate(layers):
            z = [sum(w * s for w, s in zip(ws, a)) + b for ws, b in layer]
            a = [mpmath.tanh(v) for v in z] if k < len(layers) - 1 else \
                [mpmath.exp(v) / sum(mpmath.exp(u) for u in z) for v in z]
        result.append(a)
    return result


@pytest.fixture(scope="module")
def deep_tanh():
    return solution_json(chainrule.solve(deep_tanh_spec()))


def test_a_deep_tanh_network_names_every_omitted_value(deep_tanh):
    omitted = deep_tanh["omitted_exact"]
    assert "/loss" in omitted and "/predictions/0/0" in omitted
    assert len(set(omitted)) == len(omitted)
    for path in omitted:
        assert pointer(deep_tanh, path) is None, path
        assert isinstance(pointer(deep_tanh["decimals"], path), str), path  # its decimal stays


def test_values_short_enough_stay_exact(deep_tanh):
    first = deep_tanh["forward_pass"][0]
    assert sp.Rational(first["z1_1"]) == sp.Rational(deep_tanh["decimals"]["forward_pass"][0]["z1_1"])
    assert first["a1_1"].startswith("tanh(")
    assert "/forward_pass/0/z1_1" not in deep_tanh["omitted_exact"]


def test_omitted_predictions_agree_with_mpmath(deep_tanh):
    spec = deep_tanh_spec()
    with mpmath.workdps(50):
        for k, expected in enumerate(oracle_predictions(spec)):
            for j, value in enumerate(expected):
                shown = mpmath.mpf(deep_tanh["decimals"]["predictions"][k][j])
                assert abs(shown - value) <= mpmath.mpf("1e-28") * abs(value), (k, j)


def test_the_identities_stay_checked_at_45_digits(deep_tanh):
    for identity in deep_tanh["identities"]:
        assert identity["verdict"] == "proved"
        assert "45 significant digits" in identity["method"]


@pytest.mark.parametrize("name", ["sigmoid_bce", "tanh_five_steps", "softmax_classifier"])
def test_a_lower_limit_gives_the_same_decimals_and_nulls_only_where_named(name, monkeypatch):
    spec = chainrule.load(name)
    full = solution_json(chainrule.solve(spec))
    assert "omitted_exact" not in full  # bundled specs print every exact value
    monkeypatch.setattr(numerics, "EXACT_TEXT_LIMIT", 60)  # the sums over samples
    monkeypatch.setattr(exact_pass, "EXACT_TEXT_LIMIT", 60)  # each value of a sample
    short = solution_json(chainrule.solve(spec))
    assert short["omitted_exact"]
    assert short["decimals"] == full["decimals"]  # to the printed 30 digits
    assert short["identities"] == full["identities"]
    for path in short["omitted_exact"]:
        assert pointer(short, path) is None and pointer(full, path) is not None
    short_without = {k: v for k, v in short.items() if k != "omitted_exact"}
    for key in ("initial_parameters", "relu_derivative_at_zero", "learning_rate"):
        assert short_without[key] == full[key]
    # parameters omitted after a step make the next pass a decimal one, marked as such
    assert short["exact_steps"] <= full["exact_steps"]


@pytest.mark.parametrize("error, found", [(sp.Rational(1, 10**40), True), (sp.Rational(1, 10**52), False)])
def test_the_forward_mode_check_sees_40_digits_and_tolerates_50(error, found):
    """The fixed-point forward accumulation is precise enough for the 45-digit tolerance."""
    derivation = derive(build(deep_tanh_spec((2, 3, 3, 2), 2)), symbolic=False)
    name = derivation.model.parameters[0].name
    wrong = dataclasses.replace(derivation, backprop={**derivation.backprop,
                                                     name: derivation.backprop[name] + error})
    theta = [sp.Rational(str(v)) for v in derivation.model.spec.init]
    assert numeric_check(derivation, theta) == []
    differences = numeric_check(wrong, theta)
    assert bool(differences) is found
    assert all(i == 0 for _, i, _, _ in differences)


@pytest.mark.parametrize("name", ["inf264_hw4", "deep_relu", "two_hidden_relu"])
def test_integer_forward_mode_equals_fraction_forward_mode(name):
    """forward_exact (integers over one common denominator) against forward over Fractions."""
    from chainrule.core.numerics import _program
    from chainrule.core.precise import forward, forward_exact

    spec = chainrule.load(name)
    derivation = derive(build(spec), symbolic=False)
    program = _program(derivation)
    theta = [sp.Rational(str(v)) for v in spec.init]
    for x, targets in zip(spec.x, spec.targets):
        env = program.environment(theta, x, targets)
        factors = {edge: f(env) for edge, f in program.local.items()}
        expected = forward(derivation.model, lambda node, parent: factors[(node.symbol, parent.symbol)])
        assert forward_exact(derivation.model, factors) == expected


@pytest.mark.parametrize("change, found", [(sp.Integer(0), None), (sp.Rational(1, 10**30), 2), (sp.Integer(-1), 2)])
def test_forward_differs_finds_the_first_parameter_off_by_any_rational(change, found):
    """n·q = p·D against the gradient; the oracle is backpropagation itself, one entry moved."""
    spec = chainrule.load("deep_relu")
    derivation = derive(build(spec), symbolic=False)
    training = numerics.train(derivation)
    for sample in training.initial.samples:
        gradient = list(sample.gradient)
        assert numerics.forward_differs(derivation, training.initial.theta, sample.number, gradient) is None
        gradient[2] += change
        assert numerics.forward_differs(derivation, training.initial.theta, sample.number, gradient) == found
