"""The two derivations of every partial derivative: directly, and by backpropagation.

(a) `direct`: differentiate L written out in x, y and θ (ReLU as a Piecewise).
(b) `backprop`: δ of the output, then δ of each hidden unit by the chain rule, then
    ∂L/∂w = δ(unit) × (what w multiplies).
Each proof is a chain of steps whose values are SymPy expressions in node symbols; `compose`
writes any of them out in x, y and θ so the proof engine can compare consecutive steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import sympy as sp

from .model import Model, Node, Unit, activation_derivative


@dataclass(frozen=True)
class Step:
    """One link of a chain of equalities: how it prints, what it means, and why it follows."""

    latex: str
    value: sp.Expr  # in node and δ symbols
    reason: str = ""  # plain words with inline LaTeX in $...$


@dataclass(frozen=True)
class Chain:
    """∂L/∂w_i = ... = right-hand side, or δ_u = ... = recursion, with the graph's justification."""

    subject: str  # a parameter name (w0) or a δ name (delta_h)
    steps: tuple[Step, ...]
    justification: str


@dataclass(frozen=True)
class Derivation:
    model: Model
    composed: Mapping[sp.Symbol, sp.Expr]  # every node and δ written in x, y and θ
    delta_formula: Mapping[str, sp.Expr]  # δ recursion in node and δ symbols
    direct: Mapping[str, sp.Expr]  # parameter -> ∂L/∂w from the composed loss (Piecewise)
    backprop: Mapping[str, sp.Expr]  # parameter -> δ(unit) × source, in node and δ symbols
    chains: tuple[Chain, ...]  # one per parameter, in flat order
    delta_chains: tuple[Chain, ...]  # one per unit, output first

    def compose(self, expr: sp.Expr) -> sp.Expr:
        """Write an expression in node and δ symbols out in the leaves x, y and θ."""
        return expr.xreplace(self.composed)


def partial(model: Model, numerator: Node, denominator: Node) -> sp.Expr:
    """∂A/∂B in the computation graph: A as a function of B, nodes not downstream of B held fixed."""
    return sp.diff(_expand_between(model, numerator, denominator), denominator.symbol)


def _expand_between(model: Model, node: Node, source: Node) -> sp.Expr:
    if node == source:
        return source.symbol
    if node.definition is None or not model.depends_on(node, source):
        return node.symbol
    return node.definition.xreplace(
        {parent.symbol: _expand_between(model, parent, source) for parent in model.parents(node)}
    )


def _d(model: Model, numerator: Node, denominator: Node) -> str:
    return rf"\frac{{\partial {numerator.latex}}}{{\partial {denominator.latex}}}"


def _g_prime(model: Model, unit: Unit) -> tuple[str, sp.Expr]:
    g = model.spec.notation_for("activation", "g")
    return rf"{g}'({unit.pre.latex})", activation_derivative(unit.activation)(unit.pre.symbol)


def _product(*factors: str) -> str:
    return r" \cdot ".join(f for f in factors if f)


def _names(nodes) -> str:
    return ", ".join(f"${n.latex}$" for n in nodes)


def derive(model: Model) -> Derivation:
    """Both derivations and the step-by-step chains, for any layer sizes."""
    composed: dict[sp.Symbol, sp.Expr] = {}
    for node in model.nodes:
        composed[node.symbol] = node.symbol if node.definition is None else node.definition.xreplace(composed)
    delta_formula: dict[str, sp.Expr] = {}
    delta_chains = []
    for unit in reversed(model.units):
        formula, chain = _delta(model, unit)
        delta_formula[unit.delta.name] = formula
        composed[unit.delta.symbol] = formula.xreplace(composed)
        delta_chains.append(chain)
    loss = composed[model.loss.symbol]
    direct, backprop, chains = {}, {}, []
    for parameter in model.parameters:
        direct[parameter.name] = sp.diff(loss, parameter.symbol)
        unit, source = model.unit_of(parameter)
        backprop[parameter.name] = unit.delta.symbol * (1 if source is None else source.symbol)
        chains.append(_parameter_chain(model, parameter, unit, source, direct[parameter.name]))
    return Derivation(
        model, MappingProxyType(composed), MappingProxyType(delta_formula), MappingProxyType(direct),
        MappingProxyType(backprop), tuple(chains), tuple(delta_chains),
    )


def _delta(model: Model, unit: Unit) -> tuple[sp.Expr, Chain]:
    """δ of a unit as the recursion writes it, and the chain of equalities that justifies it."""
    loss, pre = model.loss, unit.pre
    definition = Step(_d(model, loss, pre), partial(model, loss, pre), rf"definition of ${unit.delta.latex}$")
    if unit.is_output and unit.pre == unit.out:
        formula = partial(model, loss, pre)
        shown = sp.latex(_readable_loss_derivative(model), order="none", symbol_names=model.latex_names())
        steps = (definition, Step(shown, formula, rf"differentiate ${loss.latex} = {_loss_latex(model)}$"))
        justification = rf"${loss.latex}$ is a function of ${pre.latex}$ and the target ${model.target.latex}$."
        return formula, Chain(unit.delta.name, steps, justification)
    downstream = model.children(unit.out)  # the next layer's pre-activations
    if unit.is_output:
        downstream = (model.loss,)
    g_latex, g_value = _g_prime(model, unit)
    terms_latex, through_value, recursion, recursion_latex = [], sp.Integer(0), sp.Integer(0), []
    for child in downstream:
        if child == model.loss:
            terms_latex.append(_product(_d(model, loss, unit.out), _d(model, unit.out, pre)))
            through_value += partial(model, loss, unit.out) * partial(model, unit.out, pre)
            continue
        child_unit = model.unit_with_pre(child)
        weight = child_unit.weights[child_unit.sources.index(unit.out)]
        terms_latex.append(_product(_d(model, loss, child), _d(model, child, unit.out), _d(model, unit.out, pre)))
        through_value += partial(model, loss, child) * partial(model, child, unit.out) * partial(model, unit.out, pre)
        recursion += child_unit.delta.symbol * weight.symbol
        recursion_latex.append(_product(child_unit.delta.latex, weight.latex))
    if unit.is_output:
        recursion, recursion_latex = partial(model, loss, unit.out), [_d(model, loss, unit.out)]
    formula = recursion * g_value
    summed = recursion_latex[0] if len(recursion_latex) == 1 else r"\left(" + " + ".join(recursion_latex) + r"\right)"
    steps = (
        definition,
        Step(" + ".join(terms_latex), through_value,
             rf"chain rule: ${pre.latex}$ affects ${loss.latex}$ only through ${unit.out.latex}$, "
             rf"and ${unit.out.latex}$ only through {_names(downstream)}"),
        Step(_product(summed, g_latex), formula,
             r"definitions of " + ", ".join(
                 f"${model.unit_with_pre(c).delta.latex}$" for c in downstream if c != model.loss)
             + rf"; ${_d(model, unit.out, pre)} = {g_latex}$" if not unit.is_output else
             rf"${_d(model, unit.out, pre)} = {g_latex}$"),
    )
    justification = (
        rf"${unit.out.latex} = g({pre.latex})$ is the only node that uses ${pre.latex}$, and "
        rf"${unit.out.latex}$ is used only by {_names(downstream)}."
    )
    return formula, Chain(unit.delta.name, steps, justification)


def _parameter_chain(model: Model, parameter: Node, unit: Unit, source: Node | None, direct: sp.Expr) -> Chain:
    loss, pre = model.loss, unit.pre
    users = model.children(parameter)
    rhs_latex = unit.delta.latex if source is None else _product(unit.delta.latex, source.latex)
    rhs_value = unit.delta.symbol * (1 if source is None else source.symbol)
    local = partial(model, pre, parameter)
    local_latex = "1" if source is None else source.latex
    steps = (
        Step(_d(model, loss, parameter), direct, "direct differentiation"),
        Step(" + ".join(_product(_d(model, loss, u), _d(model, u, parameter)) for u in users),
             sp.Add(*(partial(model, loss, u) * partial(model, u, parameter) for u in users)),
             rf"chain rule: ${parameter.latex}$ affects ${loss.latex}$ only through {_names(users)}"),
        Step(_product(unit.delta.latex, _d(model, pre, parameter)), unit.delta.symbol * local,
             rf"${unit.delta.latex} = {_d(model, loss, pre)}$ by definition"),
        Step(rhs_latex, rhs_value,
             rf"${_d(model, pre, parameter)} = {local_latex}$, since "
             rf"${pre.latex} = {weighted_sum_latex(unit)}$"),
    )
    only = "only" if len(users) == 1 else ""
    justification = (
        rf"${parameter.latex}$ appears {only} in the definition of {_names(users)}, so every path from "
        rf"${parameter.latex}$ to ${loss.latex}$ in the computation graph passes through {_names(users)}."
    )
    return Chain(parameter.name, steps, justification)


def weighted_sum_latex(unit: Unit) -> str:
    """`w_0 · x[0] + w_1 · x[1] + w_2`, in the homework's order."""
    terms = [_product(w.latex, s.latex) for w, s in zip(unit.weights, unit.sources)]
    return " + ".join([*terms, unit.bias.latex])


def _readable_loss_derivative(model: Model) -> sp.Expr:
    residual = sp.Add(model.prediction.symbol, sp.Mul(-1, model.target.symbol, evaluate=False), evaluate=False)
    if model.spec.loss == "squared_error":
        return sp.Mul(2, residual, evaluate=False)
    return residual


def _loss_latex(model: Model) -> str:
    body = rf"\left({model.prediction.latex} - {model.target.latex}\right)^2"
    return body if model.spec.loss == "squared_error" else r"\frac{1}{2}" + body
