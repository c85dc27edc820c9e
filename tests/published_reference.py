"""An independent reference for the published examples: plain mpmath, hand-coded backpropagation.

It shares no code with chainrule (no SymPy, no spec reader): a network is a list of layers, a
layer a list of units, a unit its weight names and its bias name (None: no bias). A name used
twice is one parameter (tied); frozen names are never updated. The published numbers are checked
against it, and chainrule's exact values are checked against it (tests/test_published_examples.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath

Unit = tuple[tuple[str, ...], str | None]  # (incoming weight names, bias name or None)


@dataclass(frozen=True)
class Net:
    layers: tuple[tuple[Unit, ...], ...]
    activations: tuple[str, ...]  # "sigmoid", "relu", "identity" or "softmax", one per layer
    loss: str  # "half_squared", "squared" or "cross_entropy"
    samples: str = "mean"  # how per-sample losses combine: "mean" or "sum"
    frozen: frozenset[str] = field(default_factory=frozenset)

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter once, in the flat order of first appearance."""
        seen: list[str] = []
        for layer in self.layers:
            for weights, bias in layer:
                for name in (*weights, *((bias,) if bias else ())):
                    if name not in seen:
                        seen.append(name)
        return tuple(seen)


def _sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def _activate(kind: str, z: list) -> list:
    if kind == "sigmoid":
        return [_sigmoid(t) for t in z]
    if kind == "relu":
        return [t if t > 0 else mpmath.mpf(0) for t in z]
    if kind == "identity":
        return list(z)
    if kind == "softmax":
        exps = [mpmath.exp(t) for t in z]
        total = mpmath.fsum(exps)
        return [e / total for e in exps]
    raise ValueError(kind)


def _slope(kind: str, z, a):
    """g'(z) for an elementwise activation, from z and a = g(z)."""
    if kind == "sigmoid":
        return a * (1 - a)
    if kind == "relu":
        return mpmath.mpf(1) if z > 0 else mpmath.mpf(0)
    if kind == "identity":
        return mpmath.mpf(1)
    raise ValueError(kind)


def forward(net: Net, theta: dict, x) -> tuple[list, list]:
    """Pre-activations and activations of every layer (activations[0] is the input)."""
    zs, activations = [], [[mpmath.mpf(v) for v in x]]
    for layer, kind in zip(net.layers, net.activations):
        previous = activations[-1]
        z = [mpmath.fsum(theta[w] * a for w, a in zip(weights, previous)) + (theta[bias] if bias else 0)
             for weights, bias in layer]
        zs.append(z)
        activations.append(_activate(kind, z))
    return zs, activations


def sample_loss(net: Net, y_hat: list, target: list):
    if net.loss == "half_squared":
        return mpmath.fsum((p - t) ** 2 for p, t in zip(y_hat, target)) / 2
    if net.loss == "squared":
        return mpmath.fsum((p - t) ** 2 for p, t in zip(y_hat, target))
    if net.loss == "cross_entropy":
        return -mpmath.fsum(t * mpmath.log(p) for p, t in zip(y_hat, target) if t)
    raise ValueError(net.loss)


def _output_delta(net: Net, z: list, y_hat: list, target: list) -> list:
    """∂L/∂z of the output layer for one sample."""
    if net.loss == "cross_entropy":
        assert net.activations[-1] == "softmax"
        return [p - t for p, t in zip(y_hat, target)]
    factor = 1 if net.loss == "half_squared" else 2
    return [factor * (p - t) * _slope(net.activations[-1], zk, p) for zk, p, t in zip(z, y_hat, target)]


@dataclass(frozen=True)
class Pass:
    """One sample's forward and backward pass."""

    z: list
    a: list
    loss: object
    deltas: list  # per layer, ∂L/∂z
    gradient: dict  # parameter name -> ∂L/∂θ for this sample


def backprop(net: Net, theta: dict, x, target) -> Pass:
    """Forward pass, then the deltas from the output back, then every parameter's gradient."""
    zs, acts = forward(net, theta, x)
    target = [mpmath.mpf(t) for t in target]
    deltas = [None] * len(net.layers)
    deltas[-1] = _output_delta(net, zs[-1], acts[-1], target)
    for l in range(len(net.layers) - 2, -1, -1):
        downstream = net.layers[l + 1]
        deltas[l] = [_slope(net.activations[l], zs[l][j], acts[l + 1][j])
                     * mpmath.fsum(theta[weights[j]] * d for (weights, _), d in zip(downstream, deltas[l + 1]))
                     for j in range(len(net.layers[l]))]
    gradient = {name: mpmath.mpf(0) for name in net.names}
    for l, layer in enumerate(net.layers):
        for (weights, bias), d in zip(layer, deltas[l]):
            for w, a in zip(weights, acts[l]):
                gradient[w] += d * a
            if bias:
                gradient[bias] += d
    return Pass(zs, acts, sample_loss(net, acts[-1], target), deltas, gradient)


@dataclass(frozen=True)
class Step:
    passes: list
    loss: object
    gradient: dict  # of the dataset loss
    updated: dict


def step(net: Net, theta: dict, xs, ys, eta) -> Step:
    """One full-batch gradient-descent step on the dataset loss (mean or sum over samples)."""
    passes = [backprop(net, theta, x, y) for x, y in zip(xs, ys)]
    scale = mpmath.mpf(1) / len(passes) if net.samples == "mean" else mpmath.mpf(1)
    loss = scale * mpmath.fsum(p.loss for p in passes)
    gradient = {n: scale * mpmath.fsum(p.gradient[n] for p in passes) for n in net.names}
    updated = {n: theta[n] if n in net.frozen else theta[n] - mpmath.mpf(eta) * gradient[n] for n in net.names}
    return Step(passes, loss, gradient, updated)


def dataset_loss(net: Net, theta: dict, xs, ys):
    losses = [sample_loss(net, forward(net, theta, x)[1][-1], [mpmath.mpf(t) for t in y]) for x, y in zip(xs, ys)]
    return mpmath.fsum(losses) / (len(losses) if net.samples == "mean" else 1)


def train(net: Net, theta: dict, xs, ys, eta, steps: int) -> dict:
    for _ in range(steps):
        theta = step(net, theta, xs, ys, eta).updated
    return theta


def parameters(names, values) -> dict:
    """Exact decimal strings to mpf, by name."""
    return {n: mpmath.mpf(v) for n, v in zip(names, values)}
