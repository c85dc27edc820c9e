"""`solve --json`: every value a worked example prints — each unit's z and a, each δ — per sample,
before and after the step, exact with 30-digit decimals beside them."""

from __future__ import annotations

import contextlib
import io
import json
import tomllib
from decimal import Decimal
from fractions import Fraction
from functools import cache

import mpmath
import pytest

import chainrule
from chainrule.cli.main import main
from chainrule.core.spec import derivations_dir
from chainrule.render.report import solution_json

BUNDLED = sorted(p.stem for p in derivations_dir().glob("*.toml"))


@cache
def solved(name: str) -> dict:
    return solution_json(chainrule.solve(chainrule.load(name)))


@pytest.fixture(scope="module")
def homework(tmp_path_factory) -> dict:
    """The homework's JSON, through the command line as a user gets it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["solve", "--json", "--no-pdf", "--out", str(tmp_path_factory.mktemp("out"))]) == 0
    return json.loads(out.getvalue())


def value(data: dict, sample: int, unit: tuple[int, int], role: str, *, after: bool = False) -> tuple[str, str]:
    """(exact, decimal) of a unit's z, a or delta for a 1-based sample, found through `units`."""
    entry = next(u for u in data["units"] if (u["layer"], u["unit"]) == unit)
    name = entry[role]
    if role == "delta":
        return data["deltas"][sample - 1][name], data["decimals"]["deltas"][sample - 1][name]
    key = "new_forward_pass" if after else "forward_pass"
    return data[key][sample - 1][name], data["decimals"][key][sample - 1][name]


HIDDEN, OUTPUT = (1, 1), (2, 1)


# The homework by hand: z = w0·x0 + w1·x1 + w2, h = max(0, z), ŷ = w3·h + w4, δ_ŷ = 2(ŷ − y),
# δ_h = δ_ŷ·w3·g′(z) with g′(0) = 0.
@pytest.mark.parametrize("sample, unit, role, expected", [
    (1, HIDDEN, "z", "3"), (1, HIDDEN, "a", "3"), (1, OUTPUT, "a", "3"),
    (1, OUTPUT, "delta", "3.4"), (1, HIDDEN, "delta", "3.4"),
    (2, HIDDEN, "z", "-1"), (2, HIDDEN, "a", "0"), (2, OUTPUT, "a", "0"),
    (2, OUTPUT, "delta", "-3.8"), (2, HIDDEN, "delta", "0"),
])
def test_homework_hand_values(homework, sample, unit, role, expected):
    exact, approx = value(homework, sample, unit, role)
    assert Fraction(exact) == Fraction(expected)
    assert Decimal(approx) == Decimal(expected)
    assert approx == "0.0" or len(Decimal(approx).as_tuple().digits) == 30


def hand_after_step() -> list[dict]:
    """The homework's forward pass at θ − η∇L, in Fractions, from its gradient worked by hand."""
    eta, theta = Fraction(1, 100), [Fraction(1), Fraction(1), Fraction(0), Fraction(1), Fraction(0)]
    gradient = [Fraction(17, 5), Fraction(17, 10), Fraction(17, 10), Fraction(51, 10), Fraction(-1, 5)]
    w0, w1, w2, w3, w4 = (w - eta * g for w, g in zip(theta, gradient))
    passes = []
    for (x0, x1), y in (((2, 1), Fraction(13, 10)), ((-3, 2), Fraction(19, 10))):
        z = w0 * x0 + w1 * x1 + w2
        h = max(Fraction(0), z)
        y_hat = w3 * h + w4
        passes.append({"z": z, "a": h, "y_hat": y_hat, "L": (y_hat - y) ** 2})
    return passes


@pytest.mark.parametrize("sample", [1, 2])
def test_homework_forward_pass_after_the_step(homework, sample):
    hand = hand_after_step()[sample - 1]
    for unit, role, expected in ((HIDDEN, "z", hand["z"]), (HIDDEN, "a", hand["a"]), (OUTPUT, "a", hand["y_hat"])):
        exact, approx = value(homework, sample, unit, role, after=True)
        assert Fraction(exact) == expected and Fraction(Decimal(approx)) == expected
    assert Fraction(homework["new_forward_pass"][sample - 1]["L"]) == hand["L"]
    assert homework["new_forward_pass"][sample - 1]["y_hat"] == homework["new_predictions"][sample - 1]


def test_homework_keys_are_the_model_names_in_computing_order(homework):
    assert homework["units"] == [
        {"layer": 1, "unit": 1, "activation": "relu", "z": "z", "a": "h", "delta": "delta_h"},
        {"layer": 2, "unit": 1, "activation": "identity", "z": "y_hat", "a": "y_hat", "delta": "delta_y_hat"},
    ]
    assert homework["forward_pass"] == [{"z": "3", "h": "3", "y_hat": "3", "L": "289/100"},
                                        {"z": "-1", "h": "0", "y_hat": "0", "L": "361/100"}]
    keys = list(homework)
    assert keys.index("forward_pass") == keys.index("loss") + 1  # beside the values it explains
    assert keys.index("new_forward_pass") == keys.index("new_predictions") + 1


# ------------------------------------------------------------------ a sigmoid network against mpmath

def sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def sigmoid_bce_oracle(theta, x, y):
    """The sigmoid_bce network written out by hand in mpmath: z, a per unit, loss, and δ = ∂L/∂z by
    mpmath's numerical differentiation (nothing shared with chainrule)."""
    (w0, w1, b1, w3, w4, b2, v1, v2, b3), (x0, x1) = theta, x

    def loss_of_output(t):
        y_hat = sigmoid(t)
        return -(y * mpmath.log(y_hat) + (1 - y) * mpmath.log(1 - y_hat))

    def output_pre(h1, h2):
        return v1 * h1 + v2 * h2 + b3

    z1, z2 = w0 * x0 + w1 * x1 + b1, w3 * x0 + w4 * x1 + b2
    h1, h2 = sigmoid(z1), sigmoid(z2)
    z_out = output_pre(h1, h2)
    values = {"z1": z1, "z2": z2, "h1": h1, "h2": h2, "z_out": z_out, "y_hat": sigmoid(z_out),
              "L": loss_of_output(z_out)}
    deltas = {"delta_h1": mpmath.diff(lambda t: loss_of_output(output_pre(sigmoid(t), h2)), z1),
              "delta_h2": mpmath.diff(lambda t: loss_of_output(output_pre(h1, sigmoid(t))), z2),
              "delta_z_out": mpmath.diff(loss_of_output, z_out)}
    return values, deltas


def sigmoid_bce_data():
    spec = tomllib.loads((derivations_dir() / "sigmoid_bce.toml").read_text(encoding="utf-8"))
    theta = [mpmath.mpf(str(v)) for v in spec["parameters"]["init"]]
    eta = mpmath.mpf(str(spec["training"]["learning_rate"]))
    return theta, spec["data"]["x"], spec["data"]["y"], eta


def close(decimal_text: str, expected) -> bool:
    return abs(mpmath.mpf(decimal_text) - expected) <= mpmath.mpf("1e-27") * max(1, abs(expected))


def test_sigmoid_values_agree_with_mpmath():
    data = solved("sigmoid_bce")
    with mpmath.workdps(50):
        theta, xs, ys, eta = sigmoid_bce_data()
        for k, (x, y) in enumerate(zip(xs, ys)):
            values, deltas = sigmoid_bce_oracle(theta, x, y)
            assert list(data["forward_pass"][k]) == list(values)
            for name, expected in values.items():
                assert close(data["decimals"]["forward_pass"][k][name], expected), (k, name)
            for name, expected in deltas.items():
                assert close(data["decimals"]["deltas"][k][name], expected), (k, name)
            assert "exp(" in data["forward_pass"][k]["h1"]  # exact, not a decimal


def test_sigmoid_values_after_the_step_agree_with_mpmath():
    data = solved("sigmoid_bce")
    with mpmath.workdps(50):
        theta, xs, ys, eta = sigmoid_bce_data()

        def mean_loss(*parameters):
            return sum(sigmoid_bce_oracle(parameters, x, y)[0]["L"] for x, y in zip(xs, ys)) / len(xs)

        gradient = [mpmath.diff(mean_loss, theta, tuple(int(i == j) for j in range(len(theta))))
                    for i in range(len(theta))]
        stepped = [w - eta * g for w, g in zip(theta, gradient)]
        for k, (x, y) in enumerate(zip(xs, ys)):
            values, _ = sigmoid_bce_oracle(stepped, x, y)
            for name, expected in values.items():
                assert close(data["decimals"]["new_forward_pass"][k][name], expected), (k, name)


# ------------------------------------------------------------------ every bundled spec: shape and consistency

@pytest.mark.parametrize("name", BUNDLED)
def test_forward_pass_covers_every_unit_of_every_sample(name):
    data = solved(name)
    samples = len(data["predictions"])
    for key in ("forward_pass", "new_forward_pass"):
        assert len(data[key]) == len(data["decimals"][key]) == samples
        for exact_values, decimals in zip(data[key], data["decimals"][key]):
            assert list(exact_values) == list(decimals)  # the mirror has the same keys in the same order
            for unit in data["units"]:
                assert unit["z"] in exact_values and unit["a"] in exact_values
            assert list(exact_values)[-1] == "L"
    for deltas in data["deltas"]:
        assert list(deltas) == [u["delta"] for u in data["units"]]
    outputs = [u["a"] for u in data["units"] if u["layer"] == max(v["layer"] for v in data["units"])]
    for key, predictions in (("forward_pass", "predictions"), ("new_forward_pass", "new_predictions")):
        for values, prediction in zip(data[key], data[predictions]):
            shown = [values[o] for o in outputs]
            assert (shown[0] if len(shown) == 1 else shown) == prediction


def test_forward_pass_is_deterministic():
    first = json.dumps(solution_json(chainrule.solve(chainrule.load("two_hidden_relu"))))
    assert first == json.dumps(solution_json(chainrule.solve(chainrule.load("two_hidden_relu"))))
