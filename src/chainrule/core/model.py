"""The symbolic network: every node (input, parameter, z, h, ŷ, L) is created once, here, from the spec.

A node's `definition` is written in its parents' symbols, so the computation graph is explicit:
`z = w0*x0 + w1*x1 + w2`, `h = g(z)`, `y_hat = w3*h + w4`, `L = (y_hat - y)**2`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Mapping

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.losses import LOSSES
from chainrule.core.spec import Reduction, Spec, Style


class NodeKind(StrEnum):
    """What a node is (its value is also the spec's [notation] key for its letter)."""

    INPUT = "input"
    TARGET = "target"
    PARAMETER = "parameter"
    PREACTIVATION = "preactivation"
    HIDDEN = "hidden"
    PREDICTION = "prediction"
    LOSS = "loss"
    DELTA = "delta"


@dataclass(frozen=True)
class Node:
    """One vertex of the computation graph, with the notation it prints as."""

    name: str  # canonical, e.g. "w0", "x0", "z", "h1", "y_hat", "L"
    symbol: sp.Symbol
    kind: NodeKind
    latex: str
    definition: sp.Expr | None = None  # in the parents' symbols; None for leaves


@dataclass(frozen=True)
class Unit:
    """A neuron: its incoming weights and bias, its pre-activation and its output node."""

    layer: int  # 1-based; the output layer is the last
    index: int  # 0-based within the layer
    weights: tuple[Node, ...]
    bias: Node | None  # None in a layer the spec builds without biases
    sources: tuple[Node, ...]  # what each weight multiplies (inputs or previous outputs)
    pre: Node  # z (for an identity output, the prediction itself)
    out: Node  # g(z)
    activation: str
    delta: Node  # δ = ∂L/∂pre, NodeKind.DELTA; not part of the forward graph
    options: tuple[tuple[str, Fraction], ...] = ()

    @property
    def is_output(self) -> bool:
        return self.out.kind is NodeKind.PREDICTION


@dataclass(frozen=True)
class Model:
    """The whole network for one spec; nodes are in topological order."""

    spec: Spec
    nodes: tuple[Node, ...]
    units: tuple[Unit, ...]
    parameters: tuple[Node, ...]
    inputs: tuple[Node, ...]
    targets: tuple[Node, ...]
    predictions: tuple[Node, ...]
    loss: Node
    style: Style  # FLAT (w_0, z, h) or LAYERED (w^{(l)}_{jk}, z^{(l)}_j, a^{(l)}_j), never AUTO
    by_name: Mapping[str, Node] = field(repr=False)
    by_symbol: Mapping[sp.Symbol, Node] = field(repr=False)
    _parents: Mapping[sp.Symbol, tuple[Node, ...]] = field(repr=False)
    _children: Mapping[sp.Symbol, tuple[Node, ...]] = field(repr=False)
    _ancestors: Mapping[sp.Symbol, frozenset] = field(repr=False)

    @property
    def target(self) -> Node:
        return self.targets[0]

    @property
    def prediction(self) -> Node:
        return self.predictions[0]

    @property
    def leaves(self) -> tuple[Node, ...]:
        """The free variables of every identity: inputs, the targets and the parameters."""
        return (*self.inputs, *self.targets, *self.parameters)

    @property
    def deltas(self) -> tuple[Node, ...]:
        return tuple(unit.delta for unit in self.units)

    @property
    def output_units(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.is_output)

    def latex_names(self) -> dict[sp.Symbol, str]:
        return {node.symbol: node.latex for node in (*self.nodes, *self.deltas)}

    def unit_with_pre(self, node: Node) -> Unit | None:
        unit = self._unit_by_pre.get(node.symbol)
        return unit if unit is not None and unit.pre == node else None

    def parents(self, node: Node) -> tuple[Node, ...]:
        return self._parents.get(node.symbol, ())

    def children(self, node: Node) -> tuple[Node, ...]:
        return self._children.get(node.symbol, ())

    def depends_on(self, node: Node, ancestor: Node) -> bool:
        return node.symbol == ancestor.symbol or ancestor.symbol in self._ancestors.get(node.symbol, frozenset())

    def local_derivative(self, node: Node, parent: Node) -> sp.Expr:
        """∂node/∂parent of the node's own definition (its other parents held fixed), computed once.

        Read from the structure where it is plain: for z = Σ w·a + b, ∂z/∂w = a, ∂z/∂a = w and
        ∂z/∂b = 1; for h = g(z), ∂h/∂z = g'(z) from the activation's own derivative. Anything else
        (a softmax output, the loss) is differentiated by SymPy, once. Equal, expression for
        expression, to `sp.diff(node.definition, parent.symbol)`.
        """
        key = (node.symbol, parent.symbol)
        known = self._locals.get(key)
        if known is None:
            known = self._locals[key] = self._local(node, parent)
        return known

    def _local(self, node: Node, parent: Node) -> sp.Expr:
        unit = self._unit_by_pre.get(node.symbol)
        if unit is not None and self._is_weighted_sum(unit):  # the structure says what multiplies what
            known = self._linear_locals(unit).get(parent.symbol)
            if known is not None:
                return known
        unit = self._unit_by_out.get(node.symbol)
        if unit is not None and not ACTIVATIONS[unit.activation].output_only and parent.symbol == unit.pre.symbol:
            return ACTIVATIONS[unit.activation].derivative(dict(unit.options))(unit.pre.symbol)
        return sp.diff(node.definition, parent.symbol)

    def _linear_locals(self, unit: Unit) -> dict:
        """parent symbol -> ∂z/∂parent of z = Σ w·a + b, read from the unit's lists once: a for w, w for a,
        1 for b. (A tie group uses each unit once at most, so no symbol fills two slots of one z.)"""
        table = self._linear_tables.get(unit.pre.symbol)
        if table is None:
            table = {w.symbol: s.symbol for w, s in zip(unit.weights, unit.sources)}
            table.update({s.symbol: w.symbol for w, s in zip(unit.weights, unit.sources)})
            if unit.bias is not None:
                table[unit.bias.symbol] = sp.Integer(1)
            self._linear_tables[unit.pre.symbol] = table
        return table

    def _is_weighted_sum(self, unit: Unit) -> bool:
        """Whether the unit's z is exactly Σ w·a + b as its weights and sources say (checked once per unit)."""
        known = self._weighted_sums.get(unit.pre.symbol)
        if known is None:  # compared term by term: building the sum again would cost a SymPy Add per unit
            definition = unit.pre.definition
            expected = {frozenset((w.symbol, s.symbol)) for w, s in zip(unit.weights, unit.sources)}
            if isinstance(definition, sp.Mul):  # one weight and no bias: z = w·a
                terms = [frozenset(definition.args)] if len(definition.args) == 2 else []
            else:
                terms = [frozenset(a.args) if a.is_Mul and len(a.args) == 2 else a for a in definition.args]
            bias = set() if unit.bias is None else {unit.bias.symbol}
            known = isinstance(definition, (sp.Add, sp.Mul)) and len(terms) == len(expected) + len(bias) and \
                bias <= set(terms) and set(terms) - bias == expected
            self._weighted_sums[unit.pre.symbol] = known
        return known

    def edge(self, node: Node, parent: Node) -> bool:
        """Whether `parent` is a parent of `node` that reaches it only directly (no other parent depends on it)."""
        simple = self._simple_parents.get(node.symbol)
        if simple is None:
            parents = self.parents(node)
            reached = frozenset().union(*(self._ancestors.get(p.symbol, frozenset()) for p in parents))
            simple = self._simple_parents[node.symbol] = frozenset(
                p.symbol for p in parents if p.symbol not in reached)
        return parent.symbol in simple

    @cached_property
    def _weighted_sums(self) -> dict:
        return {}

    @cached_property
    def _linear_tables(self) -> dict:
        return {}

    @cached_property
    def _simple_parents(self) -> dict:
        return {}

    @cached_property
    def _locals(self) -> dict:  # (node symbol, parent symbol) -> local derivative; filled on demand
        return {}

    @cached_property
    def _unit_by_pre(self) -> Mapping[sp.Symbol, Unit]:
        return MappingProxyType({unit.pre.symbol: unit for unit in self.units})

    @cached_property
    def _unit_by_out(self) -> Mapping[sp.Symbol, Unit]:
        return MappingProxyType({unit.out.symbol: unit for unit in self.units})

    def unit_of(self, parameter: Node) -> tuple[Unit, Node | None]:
        """The (first) unit a parameter belongs to, and the source it multiplies (None for a bias)."""
        return self.uses(parameter)[0]

    def uses(self, parameter: Node) -> tuple[tuple[Unit, Node | None], ...]:
        """Every slot of a parameter: (unit, source it multiplies or None for a bias); several when tied."""
        found = self._owners.get(parameter.symbol)
        if found is None or parameter.name != found[0]:
            raise KeyError(parameter.name)
        return found[1]

    @cached_property
    def _owners(self) -> Mapping[sp.Symbol, tuple[str, tuple[tuple[Unit, Node | None], ...]]]:
        owners: dict = {}
        for unit in self.units:
            slots = [*zip(unit.weights, unit.sources), *([(unit.bias, None)] if unit.bias is not None else [])]
            for parameter, source in slots:
                owners.setdefault(parameter.symbol, (parameter.name, []))[1].append((unit, source))
        return MappingProxyType({k: (name, tuple(found)) for k, (name, found) in owners.items()})


def choose_style(spec: Spec) -> Style:
    """Flat homework names for one small hidden layer; layer superscripts for anything bigger."""
    if spec.style is not Style.AUTO:
        return spec.style
    small = len(spec.sizes) <= 3 and spec.parameter_count <= 12 and spec.outputs == 1
    return Style.FLAT if small else Style.LAYERED


def _hidden(style: Style, layers: int, layer: int, width: int, index: int, z: str, h: str) -> tuple[str, str, str, str]:
    """(z name, z LaTeX, output name, output LaTeX) for a hidden unit."""
    if style is Style.FLAT and layers == 1 and width == 1:
        return "z", z, "h", h
    if style is Style.FLAT and layers == 1:
        return f"z{index + 1}", f"{z}_{{{index + 1}}}", f"h{index + 1}", f"{h}_{{{index + 1}}}"
    script = f"^{{({layer})}}_{{{index + 1}}}"
    out = h if style is Style.FLAT else "a"
    return f"z{layer}_{index + 1}", f"{z}{script}", f"{out[0]}{layer}_{index + 1}", f"{out}{script}"


def build(spec: Spec) -> Model:
    """Create every symbol and node definition for the spec's network."""
    say = spec.notation_for
    sym = lambda name: sp.Symbol(name, real=True)  # noqa: E731 - one place creates symbols
    style = choose_style(spec)
    outputs = spec.outputs
    x_tex, w_tex = say("input", r"\mathbf{x}"), say("parameter", "w")
    inputs = tuple(Node(f"x{i}", sym(f"x{i}"), NodeKind.INPUT, f"{x_tex}[{i}]") for i in range(spec.sizes[0]))
    y_tex = say("target", "y")
    targets = (Node("y", sym("y"), NodeKind.TARGET, y_tex),) if outputs == 1 else tuple(
        Node(f"y{k + 1}", sym(f"y{k + 1}"), NodeKind.TARGET, f"{y_tex}_{{{k + 1}}}") for k in range(outputs))
    slot_latex = dict(zip(reversed(spec.slot_parameters), reversed(_parameter_latex(spec, style, w_tex))))
    parameters = tuple(Node(name, sym(name), NodeKind.PARAMETER, slot_latex[name]) for name in spec.parameter_names)
    by_parameter = {p.name: p for p in parameters}
    nodes: list[Node] = [*inputs, *targets, *parameters]
    z_tex, h_tex = say("preactivation", "z"), say("hidden", "h")
    yhat_tex, delta_tex = say("prediction", r"\widehat{y}"), say("delta", r"\delta")
    hidden_layers, last = len(spec.sizes) - 2, len(spec.activations)
    next_parameter = iter(by_parameter[name] for name in spec.slot_parameters)
    sources: tuple[Node, ...] = inputs
    units: list[Unit] = []
    for layer, (width, name) in enumerate(zip(spec.sizes[1:], spec.activations), start=1):
        options = spec.options(layer)
        record = ACTIVATIONS[name]
        g = None if record.output_only else record.function(options)
        layer_units, pres = [], []
        for index in range(width):
            weights = tuple(next(next_parameter) for _ in sources)
            bias = next(next_parameter) if spec.has_bias(layer) else None
            weighted = sp.Add(*(w.symbol * s.symbol for w, s in zip(weights, sources)),
                              *([bias.symbol] if bias is not None else []))
            if layer == last:
                suffix = "" if outputs == 1 else str(index + 1)
                hat = yhat_tex if outputs == 1 else f"{yhat_tex}_{{{index + 1}}}"
                if record.linear:
                    pre = out = Node(f"y_hat{suffix}", sym(f"y_hat{suffix}"), NodeKind.PREDICTION, hat, weighted)
                    delta = Node(f"delta_y_hat{suffix}", sym(f"delta_y_hat{suffix}"), NodeKind.DELTA, rf"{delta_tex}_{{{hat}}}")
                else:
                    z_latex = f"{z_tex}^{{({layer})}}_{{{index + 1}}}" if style is Style.LAYERED or outputs > 1 else \
                        rf"{z_tex}_{{\mathrm{{out}}}}"
                    pre = Node(f"z_out{suffix}", sym(f"z_out{suffix}"), NodeKind.PREACTIVATION, z_latex, weighted)
                    out = Node(f"y_hat{suffix}", sym(f"y_hat{suffix}"), NodeKind.PREDICTION, hat,
                               g(pre.symbol) if g else None)
                    delta = Node(f"delta_z_out{suffix}", sym(f"delta_z_out{suffix}"), NodeKind.DELTA,
                                 rf"{delta_tex}_{{{z_latex}}}")
            else:
                z_name, z_latex, h_name, h_latex = _hidden(style, hidden_layers, layer, width, index, z_tex, h_tex)
                pre = Node(z_name, sym(z_name), NodeKind.PREACTIVATION, z_latex, weighted)
                out = Node(h_name, sym(h_name), NodeKind.HIDDEN, h_latex, g(pre.symbol))
                flat = style is Style.FLAT
                delta = Node(f"delta_{h_name}" if flat else f"delta_{z_name}",
                             sym(f"delta_{h_name}" if flat else f"delta_{z_name}"), NodeKind.DELTA,
                             rf"{delta_tex}_{{{h_latex if flat else z_latex}}}")
            layer_units.append(Unit(layer, index, weights, bias, sources, pre, out, name, delta, tuple(options.items())))
            pres.append(pre)
        if record.output_only:  # softmax: the layer's outputs share one normaliser
            total = sp.Add(*(sp.exp(p.symbol) for p in pres))
            layer_units = [_replace_out(u, sp.exp(u.pre.symbol) / total) for u in layer_units]
        nodes += [unit.pre for unit in layer_units]  # all z's first: a softmax output reads every one
        nodes += [unit.out for unit in layer_units if unit.out != unit.pre]
        units += layer_units
        sources = tuple(u.out for u in layer_units)
    predictions = tuple(u.out for u in units if u.is_output)
    loss = Node("L", sym("L"), NodeKind.LOSS, say("loss", "L"), loss_definition(spec, predictions, targets))
    nodes.append(loss)
    return _assemble(spec, nodes, units, parameters, inputs, targets, predictions, loss, style)


def _replace_out(unit: Unit, definition: sp.Expr) -> Unit:
    out = Node(unit.out.name, unit.out.symbol, unit.out.kind, unit.out.latex, definition)
    return Unit(unit.layer, unit.index, unit.weights, unit.bias, unit.sources, unit.pre, out, unit.activation,
                unit.delta, unit.options)


def loss_definition(spec: Spec, predictions, targets) -> sp.Expr:
    """The per-sample loss in the prediction and target symbols (over the outputs: sum, or mean)."""
    pairs = [(p.symbol, t.symbol) for p, t in zip(predictions, targets)]
    loss = LOSSES[spec.loss].definition(pairs, dict(spec.loss_options))
    return loss / len(pairs) if spec.reduction_outputs is Reduction.MEAN and len(pairs) > 1 else loss


def _parameter_latex(spec: Spec, style: Style, w_tex: str) -> list[str]:
    """Each slot's LaTeX: from `[parameters] names` when given, else by the style."""
    if spec.names:
        return [name_latex(name) for name in spec.names]
    if style is Style.FLAT:
        return [f"{w_tex}_{{{i}}}" for i in range(spec.slot_count)]
    names = []
    for layer, (fan_in, width) in enumerate(zip(spec.sizes, spec.sizes[1:]), start=1):
        for j in range(1, width + 1):
            names += [f"{w_tex}^{{({layer})}}_{{{j}{k}}}" if max(width, fan_in) < 10 else
                      f"{w_tex}^{{({layer})}}_{{{j},{k}}}" for k in range(1, fan_in + 1)]
            if spec.has_bias(layer):
                names.append(f"b^{{({layer})}}_{{{j}}}")
    return names


def name_latex(name: str) -> str:
    """A spec's parameter name as LaTeX: w1 -> w_{1}, b1_2 -> b_{1,2}, beta -> \\mathrm{beta}.

    Names are identifiers (letters, digits, '_'), so nothing here can run TeX code.
    """
    match = re.fullmatch(r"([A-Za-z]+)_?([A-Za-z0-9_]*)", name)
    head, tail = match.groups() if match else (name, "")
    head = head if len(head) == 1 else rf"\mathrm{{{head}}}"
    tail = tail.strip("_").replace("_", ",")
    return f"{head}_{{{tail}}}" if tail else head


def _assemble(spec, nodes, units, parameters, inputs, targets, predictions, loss, style) -> Model:
    by_symbol = {n.symbol: n for n in nodes}
    position = {n.symbol: i for i, n in enumerate(nodes)}
    parents = {n.symbol: tuple(by_symbol[s] for s in sorted((s for s in n.definition.free_symbols if s in by_symbol),
                                                            key=position.__getitem__))
               for n in nodes if n.definition is not None}
    children: dict[sp.Symbol, list[Node]] = {}
    for node in nodes:
        for parent in parents.get(node.symbol, ()):
            children.setdefault(parent.symbol, []).append(node)
    ancestors: dict[sp.Symbol, frozenset] = {}
    for node in nodes:  # topological order: parents first
        found = set()
        for parent in parents.get(node.symbol, ()):
            found.add(parent.symbol)
            found |= ancestors[parent.symbol]
        ancestors[node.symbol] = frozenset(found)
    return Model(
        spec, tuple(nodes), tuple(units), parameters, inputs, targets, predictions, loss, style,
        MappingProxyType({n.name: n for n in nodes}), MappingProxyType(by_symbol),
        MappingProxyType(parents), MappingProxyType({k: tuple(v) for k, v in children.items()}),
        MappingProxyType(ancestors),
    )
