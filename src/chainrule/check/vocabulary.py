"""What the names in a student's expression mean: the spec's model, written out in x, y and θ.

∂A/∂B is the derivative in the computation graph: A as a function of node B, with the nodes
that are not downstream of B held fixed. Everything is composed down to the leaves, so two
expressions can be compared as identities in the inputs, the target and the parameters.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import sympy as sp

from chainrule.check.notation import CONSTANTS
from chainrule.core.activations import ACTIVATIONS
from chainrule.core.derivation import Derivation, partial
from chainrule.core.model import NodeKind

ETA_NAME = "eta"
_LAYERED = re.compile(r"[a-z_]+L\d+(j\d+)?(k\d+)?")  # how the parser spells w^{(1)}_{12}: wL1j1k2


class ModelVocabulary:
    """The notation parser's view of one model (see `notation.Vocabulary`)."""

    def __init__(self, derivation: Derivation, eta: sp.Symbol | None = None):
        self.derivation = derivation
        self.model = derivation.model
        nodes = {node.name: node for node in (*self.model.nodes, *self.model.deltas)}
        self._nodes = nodes
        self._aliases = {"yhat": "y_hat", "delta_yhat": "delta_y_hat", "delta_out": "delta_y_hat"}
        # The parser reads z1_2 (layer 1, unit 2) as z12; map that spelling back to the node.
        for name in nodes:
            joined = re.sub(r"(?<=\d)_(?=\d)", "", name)
            if joined != name:
                self._aliases.setdefault(joined, name)
        self._aliases.update(_layered_aliases(self.model))
        self._eta = eta
        hidden = {(u.activation, u.options) for u in self.model.units if not u.is_output} or {("identity", ())}
        self._hidden_activation = sorted(hidden)[0] if len(hidden) == 1 else None

    def letters(self) -> frozenset[str]:
        """Constant names (pi, e) that the spec's notation uses as letters, so they stay variables."""
        used = set()
        for key, value in self.model.spec.notation:
            match = re.fullmatch(r"\s*(?:\\mathrm\{\s*)?\\?([A-Za-z]+)\s*\}?\s*", value)
            if key != "style" and match and match.group(1) in CONSTANTS:
                used.add(match.group(1))
        return frozenset(used)

    def _node(self, name: str):
        return self._nodes.get(self._aliases.get(name, name))

    def node_name(self, name: str) -> str | None:
        """The model's own name for a name as the parser spells it (wL1j1k2 -> w0), or None."""
        node = self._node(name)
        return None if node is None else node.name

    def lookup(self, name: str) -> sp.Expr | None:
        node = self._node(name)
        if node is not None:
            return self.derivation.composed[node.symbol]
        if name == ETA_NAME and self._eta is not None:
            return self._eta
        return None

    def derivative(self, numerator: str, denominator: str) -> sp.Expr | None:
        top, bottom = self._node(numerator), self._node(denominator)
        if top is None or bottom is None or NodeKind.DELTA in (top.kind, bottom.kind):
            return None
        if not self.model.depends_on(top, bottom):
            return sp.Integer(0) if top != bottom else sp.Integer(1)
        return self.derivation.compose(partial(self.model, top, bottom))

    def function(self, name: str) -> Callable[[sp.Expr], sp.Expr] | None:
        for kind in dict.fromkeys(u.activation for u in self.model.units):  # σ names the sigmoid where one is used
            if name in ACTIVATIONS[kind].letters:
                return ACTIVATIONS[kind].function()
        if self._hidden_activation is None:
            return None
        kind, options = self._hidden_activation
        if name == "g":
            return ACTIVATIONS[kind].function(dict(options))
        if name == "g'":
            return ACTIVATIONS[kind].derivative(dict(options))
        return None

    def known_names(self) -> Iterable[str]:
        """Names to suggest: the model's and their plain aliases (not the parser's wL1j1k2 spellings)."""
        plain = {a for a in self._aliases if not _LAYERED.fullmatch(a)}
        return sorted({*self._nodes, *plain, "g", "g'"})

    def leaves(self) -> dict[str, sp.Symbol]:
        """Leaf names to symbols: what `--set NAME=VALUE` and `--sample N` may assign."""
        return {node.name: node.symbol for node in self.model.leaves}


def _layered_aliases(model) -> dict[str, str]:
    """The parser's spelling of layered LaTeX names (w^{(l)}_{jk} -> wL1j1k2) -> node names.

    Layer l, unit j (1-based) and input k (1-based) as the sheets print them, whatever the
    model's own style: z and a (or h) of every unit, its δ, its weights and its bias.
    """
    aliases = {}
    for unit in model.units:
        key = f"L{unit.layer}j{unit.index + 1}"
        aliases[f"z{key}"] = unit.pre.name
        aliases[f"a{key}"] = aliases[f"h{key}"] = unit.out.name
        aliases[f"delta{key}"] = aliases[f"delta_z{key}"] = unit.delta.name
        if unit.bias is not None:
            aliases[f"b{key}"] = unit.bias.name
        for k, weight in enumerate(unit.weights, start=1):
            aliases[f"w{key}k{k}"] = weight.name
    return aliases


class LocalVocabulary(ModelVocabulary):
    """The same names, read one level up: in the nodes' own symbols instead of x, y and θ.

    A node is its symbol (z, h, ŷ as free variables), a δ is its recursion written down to node
    symbols, and ∂L/∂B is δ_B (by definition, for a unit's input) or the chain rule over B's
    children. An identity that holds with the nodes as free variables still holds once each node
    is replaced by what it computes, so a step proved here is proved; one that fails here may
    still hold (it may need z = w·x + b), and is then decided on the composed expressions.
    """

    def __init__(self, derivation: Derivation, eta: sp.Symbol | None = None):
        super().__init__(derivation, eta)
        self._delta_of_pre = {u.pre.symbol: u.delta for u in self.model.units}
        self._local: dict[sp.Symbol, sp.Expr] = {}

    def lookup(self, name: str) -> sp.Expr | None:
        node = self._node(name)
        if node is None:
            return super().lookup(name)
        return self._delta(node.symbol) if node.kind is NodeKind.DELTA else node.symbol

    def expand(self, expr: sp.Expr) -> sp.Expr:
        """An expression in node and δ symbols with every δ written out in node symbols."""
        return expr.xreplace({u.delta.symbol: self._delta(u.delta.symbol) for u in self.model.units
                              if u.delta.symbol in expr.free_symbols})

    def _delta(self, symbol: sp.Symbol) -> sp.Expr:
        """δ in node symbols: its formula with every later δ expanded the same way."""
        if symbol not in self._local:
            name = next(u.delta.name for u in self.model.units if u.delta.symbol == symbol)
            formula = self.derivation.delta_formula[name]
            deltas = {u.delta.symbol for u in self.model.units}
            self._local[symbol] = formula.xreplace({s: self._delta(s) for s in formula.free_symbols if s in deltas})
        return self._local[symbol]

    def derivative(self, numerator: str, denominator: str) -> sp.Expr | None:
        top, bottom = self._node(numerator), self._node(denominator)
        if top is None or bottom is None or NodeKind.DELTA in (top.kind, bottom.kind):
            return None
        if top == self.model.loss:
            return self._loss_by(bottom)
        if not self.model.depends_on(top, bottom):
            return sp.Integer(0) if top != bottom else sp.Integer(1)
        return partial(self.model, top, bottom)

    def _loss_by(self, node) -> sp.Expr:
        """∂L/∂node in node symbols: δ for a unit's input, else the sum over the node's children."""
        if node == self.model.loss:
            return sp.Integer(1)
        delta = self._delta_of_pre.get(node.symbol)
        if delta is not None:
            return self._delta(delta.symbol)
        children = self.model.children(node)
        if not children:
            return sp.Integer(0)
        return sp.Add(*(self._loss_by(child) * self.model.local_derivative(child, node) for child in children))
