"""The symbolic network: every node (input, parameter, z, h, ŷ, L) is created once, here, from the spec.

A node's `definition` is written in its parents' symbols, so the computation graph is explicit:
`z = w0*x0 + w1*x1 + w2`, `h = g(z)`, `y_hat = w3*h + w4`, `L = (y_hat - y)**2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, Mapping

import sympy as sp

from .spec import Spec

Activation = Callable[[sp.Expr], sp.Expr]


def relu(t: sp.Expr) -> sp.Expr:
    """ReLU as the homework defines it: max(0, t), written as a Piecewise so its kink is explicit."""
    return sp.Piecewise((0, t <= 0), (t, True))


ACTIVATIONS: Mapping[str, Activation] = MappingProxyType({
    "relu": relu,
    "identity": lambda t: t,
    "sigmoid": lambda t: 1 / (1 + sp.exp(-t)),
    "tanh": sp.tanh,
})
ACTIVATION_LATEX = MappingProxyType({
    "relu": r"\max(0, t)", "identity": "t", "sigmoid": r"\frac{1}{1 + e^{-t}}", "tanh": r"\tanh t",
})
PIECEWISE_ACTIVATIONS = frozenset({"relu"})

_T = sp.Symbol("t", real=True)


def activation_derivative(name: str) -> Activation:
    """g' obtained by differentiating g itself, so the kink convention follows from the model."""
    derivative = sp.diff(ACTIVATIONS[name](_T), _T)
    return lambda t: derivative.xreplace({_T: t})


def rational(value: Fraction) -> sp.Rational:
    return sp.Rational(value.numerator, value.denominator)


@dataclass(frozen=True)
class Node:
    """One vertex of the computation graph, with the notation it prints as."""

    name: str  # canonical, e.g. "w0", "x0", "z", "h1", "y_hat", "L"
    symbol: sp.Symbol
    kind: str  # input | target | parameter | preactivation | hidden | prediction | loss
    latex: str
    definition: sp.Expr | None = None  # in the parents' symbols; None for leaves


@dataclass(frozen=True)
class Unit:
    """A neuron: its incoming weights and bias, its pre-activation and its output node."""

    layer: int  # 1-based; the output layer is the last
    index: int  # 0-based within the layer
    weights: tuple[Node, ...]
    bias: Node
    sources: tuple[Node, ...]  # what each weight multiplies (inputs or previous outputs)
    pre: Node  # z (for an identity output, the prediction itself)
    out: Node  # g(z)
    activation: str
    delta: Node  # δ = ∂L/∂pre, kind "delta"; not part of the forward graph

    @property
    def is_output(self) -> bool:
        return self.out.kind == "prediction"


@dataclass(frozen=True)
class Model:
    """The whole network for one spec; nodes are in topological order."""

    spec: Spec
    nodes: tuple[Node, ...]
    units: tuple[Unit, ...]
    parameters: tuple[Node, ...]
    inputs: tuple[Node, ...]
    target: Node
    prediction: Node
    loss: Node
    by_name: Mapping[str, Node] = field(repr=False)
    by_symbol: Mapping[sp.Symbol, Node] = field(repr=False)

    @property
    def leaves(self) -> tuple[Node, ...]:
        """The free variables of every identity: inputs, the target and the parameters."""
        return (*self.inputs, self.target, *self.parameters)

    @property
    def deltas(self) -> tuple[Node, ...]:
        return tuple(unit.delta for unit in self.units)

    def latex_names(self) -> dict[sp.Symbol, str]:
        return {node.symbol: node.latex for node in (*self.nodes, *self.deltas)}

    def unit_with_pre(self, node: Node) -> Unit | None:
        return next((unit for unit in self.units if unit.pre == node), None)

    def parents(self, node: Node) -> tuple[Node, ...]:
        if node.definition is None:
            return ()
        return tuple(n for n in self.nodes if n.symbol in node.definition.free_symbols)

    def children(self, node: Node) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.definition is not None and node.symbol in n.definition.free_symbols)

    def depends_on(self, node: Node, ancestor: Node) -> bool:
        if node == ancestor:
            return True
        return any(self.depends_on(parent, ancestor) for parent in self.parents(node))

    def unit_of(self, parameter: Node) -> tuple[Unit, Node | None]:
        """The unit a parameter belongs to, and the source it multiplies (None for a bias)."""
        for unit in self.units:
            if parameter == unit.bias:
                return unit, None
            if parameter in unit.weights:
                return unit, unit.sources[unit.weights.index(parameter)]
        raise KeyError(parameter.name)


def _hidden_names(layers: int, layer: int, width: int, index: int) -> tuple[str, str, str]:
    """Canonical suffix and LaTeX subscript/superscript for a hidden unit, homework style when small."""
    if layers == 1 and width == 1:
        return "", "", ""
    if layers == 1:
        return f"{index + 1}", f"_{{{index + 1}}}", f"{index + 1}"
    return f"{layer}_{index + 1}", f"^{{({layer})}}_{{{index + 1}}}", f"{layer},{index + 1}"


def build(spec: Spec) -> Model:
    """Create every symbol and node definition for the spec's network."""
    say = spec.notation_for
    sym = lambda name: sp.Symbol(name, real=True)  # noqa: E731 - one place creates symbols
    nodes: list[Node] = []
    x_tex, w_tex = say("input", r"\mathbf{x}"), say("parameter", "w")
    inputs = tuple(Node(f"x{i}", sym(f"x{i}"), "input", f"{x_tex}[{i}]") for i in range(spec.sizes[0]))
    target = Node("y", sym("y"), "target", say("target", "y"))
    nodes += [*inputs, target]
    parameters = tuple(
        Node(f"w{i}", sym(f"w{i}"), "parameter", f"{w_tex}_{{{i}}}") for i in range(spec.parameter_count)
    )
    nodes += parameters
    z_tex, h_tex = say("preactivation", "z"), say("hidden", "h")
    yhat_tex, delta_tex = say("prediction", r"\widehat{y}"), say("delta", r"\delta")
    hidden_layers = len(spec.sizes) - 2
    next_parameter = iter(parameters)
    sources: tuple[Node, ...] = inputs
    units: list[Unit] = []
    for layer, (width, activation) in enumerate(zip(spec.sizes[1:], spec.activations), start=1):
        g = ACTIVATIONS[activation]
        outputs = []
        for index in range(width):
            weights = tuple(next(next_parameter) for _ in sources)
            bias = next(next_parameter)
            weighted = sp.Add(*(w.symbol * s.symbol for w, s in zip(weights, sources)), bias.symbol)
            if layer == len(spec.activations):
                if activation == "identity":
                    pre = out = Node("y_hat", sym("y_hat"), "prediction", yhat_tex, weighted)
                    nodes.append(pre)
                else:
                    pre = Node("z_out", sym("z_out"), "preactivation", rf"{z_tex}_{{\mathrm{{out}}}}", weighted)
                    out = Node("y_hat", sym("y_hat"), "prediction", yhat_tex, g(pre.symbol))
                    nodes += [pre, out]
                delta_name, delta_latex = "delta_y_hat", rf"{delta_tex}_{{{yhat_tex}}}"
                if pre is not out:
                    delta_name, delta_latex = "delta_z_out", rf"{delta_tex}_{{{pre.latex}}}"
            else:
                suffix, script, _ = _hidden_names(hidden_layers, layer, width, index)
                pre = Node(f"z{suffix}", sym(f"z{suffix}"), "preactivation", f"{z_tex}{script}", weighted)
                out = Node(f"h{suffix}", sym(f"h{suffix}"), "hidden", f"{h_tex}{script}", g(pre.symbol))
                nodes += [pre, out]
                delta_name, delta_latex = f"delta_h{suffix}", rf"{delta_tex}_{{{out.latex}}}"
            delta = Node(delta_name, sym(delta_name), "delta", delta_latex)
            units.append(Unit(layer, index, weights, bias, sources, pre, out, activation, delta))
            outputs.append(out)
        sources = tuple(outputs)
    prediction = units[-1].out
    residual = prediction.symbol - target.symbol
    loss_definition = residual**2 if spec.loss == "squared_error" else residual**2 / 2
    loss = Node("L", sym("L"), "loss", say("loss", "L"), loss_definition)
    nodes.append(loss)
    return Model(
        spec, tuple(nodes), tuple(units), parameters, inputs, target, prediction, loss,
        MappingProxyType({n.name: n for n in nodes}), MappingProxyType({n.symbol: n for n in nodes}),
    )
