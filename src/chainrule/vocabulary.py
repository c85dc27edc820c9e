"""What the names in a student's expression mean: the spec's model, written out in x, y and θ.

∂A/∂B is the derivative in the computation graph: A as a function of node B, with the nodes
that are not downstream of B held fixed. Everything is composed down to the leaves, so two
expressions can be compared as identities in the inputs, the target and the parameters.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import sympy as sp

from .derivation import Derivation, partial
from .model import activation, activation_derivative

ETA_NAME = "eta"


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

    def _node(self, name: str):
        return self._nodes.get(self._aliases.get(name, name))

    def lookup(self, name: str) -> sp.Expr | None:
        node = self._node(name)
        if node is not None:
            return self.derivation.composed[node.symbol]
        if name == ETA_NAME and self._eta is not None:
            return self._eta
        return None

    def derivative(self, numerator: str, denominator: str) -> sp.Expr | None:
        top, bottom = self._node(numerator), self._node(denominator)
        if top is None or bottom is None or "delta" in (top.kind, bottom.kind):
            return None
        if not self.model.depends_on(top, bottom):
            return sp.Integer(0) if top != bottom else sp.Integer(1)
        return self.derivation.compose(partial(self.model, top, bottom))

    def function(self, name: str) -> Callable[[sp.Expr], sp.Expr] | None:
        if name == "sigma" and any(u.activation == "sigmoid" for u in self.model.units):
            return activation("sigmoid", {})
        if self._hidden_activation is None:
            return None
        kind, options = self._hidden_activation
        if name == "g":
            return activation(kind, dict(options))
        if name == "g'":
            return activation_derivative(kind, dict(options))
        return None

    def known_names(self) -> Iterable[str]:
        return sorted({*self._nodes, *self._aliases, "g", "g'"})

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
        aliases[f"b{key}"] = unit.bias.name
        for k, weight in enumerate(unit.weights, start=1):
            aliases[f"w{key}k{k}"] = weight.name
    return aliases
