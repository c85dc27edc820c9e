"""The first derivation's pieces, built on demand: the loss written out in x, y and θ, and ∂L/∂w of it.

`Direct` differentiates the composed loss with SymPy's own `diff`, independently of the δ recursion;
`Composed` writes node and δ symbols out in the leaves, so the proof engine can compare a chain's
steps as identities in x, y and θ.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from chainrule.core.model import Model


class Direct(Mapping):
    """parameter name -> ∂L/∂w of the composed loss, differentiated the first time it is asked for."""

    def __init__(self, composed: Mapping, loss: sp.Symbol, parameters: dict[str, sp.Symbol]):
        self._composed, self._loss, self._parameters, self._done = composed, loss, parameters, {}

    def __getitem__(self, name: str) -> sp.Expr:
        if name not in self._done:
            self._done[name] = sp.diff(self._composed[self._loss], self._parameters[name])
        return self._done[name]

    def __iter__(self):
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)


class Composed(Mapping):
    """node or δ symbol -> its expression in x, y and θ, composed the first time it is asked for.

    Composing every node of a deep ReLU network up front is what makes naive SymPy explode
    (each Piecewise condition folds the ones beneath it), so nothing is composed until needed.
    """

    def __init__(self, model: Model, delta_formula: dict[str, sp.Expr]):
        self._model, self._delta_formula, self._done = model, delta_formula, {}
        self._deltas = {u.delta.symbol: u.delta.name for u in model.units}

    def __getitem__(self, symbol: sp.Symbol) -> sp.Expr:
        if symbol not in self._done:
            node = self._model.by_symbol.get(symbol)
            if node is not None:
                value = symbol if node.definition is None else node.definition.xreplace(
                    {p.symbol: self[p.symbol] for p in self._model.parents(node)})
            elif symbol in self._deltas:
                formula = self._delta_formula[self._deltas[symbol]]
                value = formula.xreplace({s: self[s] for s in formula.free_symbols if s in self})
            else:
                raise KeyError(symbol)
            self._done[symbol] = value
        return self._done[symbol]

    def __contains__(self, symbol) -> bool:
        return symbol in self._model.by_symbol or symbol in self._deltas

    def __iter__(self):
        return iter([*self._model.by_symbol, *self._deltas])

    def __len__(self) -> int:
        return len(self._model.by_symbol) + len(self._deltas)
