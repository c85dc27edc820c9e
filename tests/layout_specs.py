"""A fixed set of generated specs that together cover every activation, every loss, up to 4 hidden
layers, widths up to 16, up to 4 outputs and several steps: the sheets must fit the page for all."""

from __future__ import annotations

import random

from chainrule.core.spec import Spec
from chainrule.core.spec_reader import parse

# name: (sizes, activations, loss, steps)
CASES = {
    "wide16_relu": ([3, 16, 1], ["relu", "identity"], "squared_error", 1),
    "deep4_leaky": ([2, 3, 3, 3, 3, 1], ["leaky_relu"] * 4 + ["identity"], "half_squared_error", 1),
    "tanh_sigmoid_bce": ([2, 4, 1], ["tanh", "sigmoid"], "binary_cross_entropy", 1),
    "relu_softmax4": ([3, 5, 4], ["relu", "softmax"], "softmax_cross_entropy", 1),
    "softplus_absolute": ([2, 3, 1], ["softplus", "identity"], "absolute_error", 2),
    "linear_two_outputs": ([2, 2, 2], ["identity", "identity"], "squared_error", 1),
    "mixed_tanh_relu": ([2, 4, 3, 1], ["tanh", "relu", "identity"], "squared_error", 3),
    "relu_sigmoid_out": ([2, 2, 1], ["relu", "sigmoid"], "squared_error", 1),
    "wide_deep_four_out": ([4, 6, 6, 4], ["relu", "relu", "identity"], "squared_error", 1),
    "tanh_steps5": ([2, 3, 1], ["tanh", "identity"], "squared_error", 5),
    "deep4_softmax": ([3, 4, 4, 4, 4, 3], ["relu"] * 4 + ["softmax"], "softmax_cross_entropy", 1),
    "single_unit_absolute": ([2, 1, 1], ["relu", "identity"], "absolute_error", 2),
    "inputs16_softplus": ([16, 2, 2], ["softplus", "identity"], "half_squared_error", 1),
    "leaky_bce_steps": ([3, 6, 1], ["leaky_relu", "sigmoid"], "binary_cross_entropy", 3),
}


def _decimals(rng: random.Random, count: int, low: int = -10, high: int = 10) -> list[str]:
    return [f"{rng.randint(low, high) / 10:g}" for _ in range(count)]


def layout_spec(name: str) -> Spec:
    """The generated spec `name` of CASES, with small one-decimal data drawn from a fixed seed."""
    sizes, activations, loss, steps = CASES[name]
    rng = random.Random(name)
    samples = 3
    x = [_decimals(rng, sizes[0], -20, 20) for _ in range(samples)]
    outputs = sizes[-1]
    if loss == "softmax_cross_entropy":
        y = [str(rng.randrange(outputs)) for _ in range(samples)]
    elif loss == "binary_cross_entropy":
        y = [str(rng.randint(0, 1)) for _ in range(samples)]
    elif outputs == 1:
        y = _decimals(rng, samples, -20, 20)
    else:
        y = ["[" + ", ".join(_decimals(rng, outputs, -20, 20)) + "]" for _ in range(samples)]
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    init = _decimals(rng, count)
    rows = ", ".join("[" + ", ".join(row) + "]" for row in x)
    quoted = ", ".join(f'"{a}"' for a in activations)
    text = f"""
name = "{name}"
title = "Generated layout case {name.replace('_', ' ')}"
[network]
sizes = {sizes}
activations = [{quoted}]
[loss]
kind = "{loss}"
[data]
x = [{rows}]
y = [{", ".join(y)}]
[parameters]
init = [{", ".join(init)}]
[training]
learning_rate = 0.05
steps = {steps}
"""
    return parse(text, f"{name}.toml")
