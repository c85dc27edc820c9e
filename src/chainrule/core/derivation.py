"""The two derivations of every partial derivative: directly, and by backpropagation.

(a) `direct`: differentiate L written out in x, y and θ (ReLU as a Piecewise); computed on demand,
    since for a big network it is the expensive half.
(b) `backprop`: δ of the output units, then δ of each hidden unit by the chain rule, then
    ∂L/∂w = δ(unit) × (what w multiplies).
Each proof is a chain of steps whose values are SymPy expressions in node symbols; `compose`
writes any of them out in x, y and θ so the proof engine can compare consecutive steps.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.composed import Composed, Direct
from chainrule.core.losses import LOSSES, Targets
from chainrule.core.model import Model, Node, Unit
from chainrule.core.spec import Spec


class StepKind(enum.Enum):
    """Why a step follows from the one before: what a checker does with it, never read from prose."""

    CHAIN_RULE = "chain rule over the computation graph"
    LOCAL = "a local identity (the step's lemma)"
    CANCELLATION = "the output activation and the loss simplify together"


@dataclass(frozen=True)
class Distributed:
    """Σ term·factor, built when first asked for.

    A hidden δ's chain rule step is Σ over the next layer of ∂L/∂z'·w·g'(z): the symbolic proofs
    compose it, the structural ones (big networks) justify it by the graph and never read it.
    """

    terms: tuple[sp.Expr, ...]
    factor: sp.Expr

    def build(self) -> sp.Expr:
        return sp.Add(*(term * self.factor for term in self.terms))  # one Add, not one per term


@dataclass(frozen=True)
class Step:
    """One link of a chain of equalities: how it prints, what it means, and why it follows."""

    latex: str
    formula: sp.Expr | Distributed | None  # `value`, or how to build it
    reason: str = ""  # plain words with inline LaTeX in $...$
    lemma: tuple[sp.Expr, sp.Expr] | None = None  # the small local identity this step rests on
    kind: StepKind = StepKind.CHAIN_RULE

    @property
    def value(self) -> sp.Expr | None:
        """In node and δ symbols; None stands for the direct derivative ∂L/∂w."""
        if not isinstance(self.formula, Distributed):
            return self.formula
        built = self.__dict__.get("_built")
        if built is None:
            built = self.formula.build()
            object.__setattr__(self, "_built", built)  # a cache, not a field: equality reads `formula`
        return built


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
        return expr.xreplace({s: self.composed[s] for s in expr.free_symbols if s in self.composed})

    def step_value(self, chain: Chain, step: Step) -> sp.Expr:
        """A step's value in x, y and θ (the direct derivative for the chain's first step)."""
        return self.direct[chain.subject] if step.value is None else self.compose(step.value)


def same_structure(a: Spec, b: Spec) -> bool:
    """Two specs whose models differ only in data, initial parameters and training settings."""
    return (a.sizes, a.activations, a.activation_options, a.loss, a.loss_options, a.notation) == \
        (b.sizes, b.activations, b.activation_options, b.loss, b.loss_options, b.notation)


def rebind(derivation: Derivation, spec: Spec) -> Derivation:
    """The same derivation for a spec of the same structure with other numbers (a variant).

    Every formula depends on the structure only, so `derive(build(spec))` would rebuild the very
    same expressions; rebinding skips that work and shares the compiled numeric program.
    """
    if not same_structure(derivation.model.spec, spec):
        raise ValueError("rebind needs a spec with the same network, loss and notation")
    return dataclasses.replace(derivation, model=dataclasses.replace(derivation.model, spec=spec))


def partial(model: Model, numerator: Node, denominator: Node) -> sp.Expr:
    """∂A/∂B in the computation graph: A as a function of B, nodes not downstream of B held fixed.

    Along one edge of the graph (B a parent of A, no other parent of A downstream of B) this is
    the local derivative of A's definition, which the model reads from its structure once.
    """
    if model.edge(numerator, denominator):
        return model.local_derivative(numerator, denominator)
    return sp.diff(_expand_between(model, numerator, denominator, {}), denominator.symbol)


def _expand_between(model: Model, node: Node, source: Node, memo: dict) -> sp.Expr:
    if node == source:
        return source.symbol
    if node.definition is None or not model.depends_on(node, source):
        return node.symbol
    if node.symbol not in memo:
        memo[node.symbol] = node.definition.xreplace(
            {parent.symbol: _expand_between(model, parent, source, memo) for parent in model.parents(node)})
    return memo[node.symbol]


def _d(numerator: Node, denominator: Node) -> str:
    return rf"\frac{{\partial {numerator.latex}}}{{\partial {denominator.latex}}}"


def g_prime(model: Model, unit: Unit) -> tuple[str, sp.Expr]:
    """g'(z) as printed, and as the model's own derivative of its activation (its registry record's,
    through the model's one cache of local derivatives: ∂h/∂z of h = g(z))."""
    g = model.spec.notation_for("activation", "g")
    if ACTIVATIONS[unit.activation].output_only:  # a softmax has no g'(z) of its own unit
        return rf"{g}'({unit.pre.latex})", ACTIVATIONS[unit.activation].derivative(dict(unit.options))(unit.pre.symbol)
    return rf"{g}'({unit.pre.latex})", model.local_derivative(unit.out, unit.pre)


def _product(*factors: str) -> str:
    return r" \cdot ".join(f for f in factors if f)


def _names(nodes) -> str:
    return ", ".join(f"${n.latex}$" for n in nodes)


def derive(model: Model, *, symbolic: bool = True) -> Derivation:
    """Both derivations and the step-by-step chains, for any layer sizes.

    With `symbolic=False` (big networks) a chain step's ∂L/∂z is carried as the symbol δ instead
    of being differentiated out: those chains are checked through their local identities.
    """
    if symbolic:
        loss_by_pre = {unit.pre.symbol: partial(model, model.loss, unit.pre) for unit in model.units}
    else:  # the output units' δ is small (the loss is local to them); hidden ones stay symbols
        loss_by_pre = {unit.pre.symbol: partial(model, model.loss, unit.pre) if unit.is_output else unit.delta.symbol
                       for unit in model.units}
    shared = _Shared()  # products, ∂z/∂w readings and printed sums, built once for every chain
    delta_formula: dict[str, sp.Expr] = {}
    delta_chains = []
    for unit in reversed(model.units):
        formula, chain = _delta(model, unit, loss_by_pre, shared)
        delta_formula[unit.delta.name] = formula
        delta_chains.append(chain)
    composed = Composed(model, delta_formula)
    direct = Direct(composed, model.loss.symbol, {p.name: p.symbol for p in model.parameters})
    backprop, chains = {}, []
    for parameter in model.parameters:
        uses = model.uses(parameter)  # several slots when the spec ties them: the gradient sums over them
        backprop[parameter.name] = sp.Add(*(shared.times(unit.delta.symbol, _source(source)) for unit, source in uses))
        chains.append(_parameter_chain(model, parameter, uses, loss_by_pre, shared, backprop[parameter.name]))
    return Derivation(model, composed, MappingProxyType(delta_formula), direct,
                      MappingProxyType(backprop), tuple(chains), tuple(delta_chains))


class _Shared:
    """What several chains of one derivation build alike, built once.

    - `times(a, b)`: the SymPy product a·b. δ·w of the recursion is also a term of its chain rule
      step; δ·a of a gradient is also its chain's right-hand side and local step.
    - `coefficient(z, w)`: what `z.definition.coeff(w)` gives for a z linear in w (Σ of the factors
      beside w over the terms that have w as a factor), read for every symbol of z in one pass over
      its terms rather than one pass per weight. It reads the definition's own SymPy terms, not the
      model's lists of weights and sources, so the lemma ∂z/∂w = a still checks the structural
      reading rather than restating it.
    - `weighted_sum(unit)`: `weighted_sum_latex`, printed once per unit rather than once per weight.
    """

    def __init__(self):
        self._products: dict = {}
        self._coefficients: dict = {}
        self._sums: dict = {}

    def times(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        known = self._products.get((a, b))
        if known is None:
            known = self._products[(a, b)] = a * b
        return known

    def coefficient(self, pre: Node, parameter: Node) -> sp.Expr:
        table = self._coefficients.get(pre.symbol)
        if table is None:
            found: dict[sp.Symbol, list] = {}
            for term in sp.Add.make_args(pre.definition):
                factors = sp.Mul.make_args(term)
                for i, factor in enumerate(factors):
                    if factor.is_Symbol:
                        found.setdefault(factor, []).append(sp.Mul(*factors[:i], *factors[i + 1:]))
            table = self._coefficients[pre.symbol] = {symbol: sp.Add(*terms) for symbol, terms in found.items()}
        return table.get(parameter.symbol, sp.Integer(0))

    def weighted_sum(self, unit: Unit) -> str:
        known = self._sums.get(unit.pre.symbol)
        if known is None:
            known = self._sums[unit.pre.symbol] = weighted_sum_latex(unit)
        return known


def _source(source: Node | None) -> sp.Expr:
    """What a parameter multiplies: its source's symbol, or 1 for a bias."""
    return sp.Integer(1) if source is None else source.symbol


def _delta(model: Model, unit: Unit, loss_by_pre: dict, shared: _Shared) -> tuple[sp.Expr, Chain]:
    """δ of a unit as the recursion writes it, and the chain of equalities that justifies it."""
    loss, pre = model.loss, unit.pre
    definition = Step(_d(loss, pre), loss_by_pre[pre.symbol], rf"definition of ${unit.delta.latex}$")
    if unit.is_output:
        return _output_delta(model, unit, definition)
    downstream = model.children(unit.out)  # the next layer's pre-activations
    g_latex, g_value = g_prime(model, unit)
    terms_latex, through, recursion, recursion_latex = [], [], [], []
    for child in downstream:
        child_unit = model.unit_with_pre(child)
        weight = child_unit.weights[child_unit.sources.index(unit.out)]
        terms_latex.append(_product(_d(loss, child), _d(child, unit.out), _d(unit.out, pre)))
        through.append(shared.times(loss_by_pre[child.symbol], partial(model, child, unit.out)))
        recursion.append(shared.times(child_unit.delta.symbol, weight.symbol))
        recursion_latex.append(_product(child_unit.delta.latex, weight.latex))
    through, formula = Distributed(tuple(through), g_value), sp.Add(*recursion) * g_value
    summed = recursion_latex[0] if len(recursion_latex) == 1 else r"\left(" + " + ".join(recursion_latex) + r"\right)"
    deltas = ", ".join(f"${model.unit_with_pre(c).delta.latex}$" for c in downstream)
    steps = (
        definition,
        Step(" + ".join(terms_latex), through,
             rf"chain rule: ${pre.latex}$ affects ${loss.latex}$ only through ${unit.out.latex}$, "
             rf"and ${unit.out.latex}$ only through {_names(downstream)}"),
        Step(_product(summed, g_latex), formula,
             rf"definitions of {deltas}; ${_d(unit.out, pre)} = {g_latex}$",
             lemma=(sp.diff(unit.out.definition, pre.symbol), g_value)),  # SymPy's diff, not the cache
    )
    justification = (
        rf"${unit.out.latex} = g({pre.latex})$ is the only node that uses ${pre.latex}$, and "
        rf"${unit.out.latex}$ is used only by {_names(downstream)}."
    )
    return formula, Chain(unit.delta.name, steps, justification)


def _output_delta(model: Model, unit: Unit, definition: Step) -> tuple[sp.Expr, Chain]:
    """δ of an output unit: differentiate the loss (through the output activation if there is one)."""
    loss, pre = model.loss, unit.pre
    formula = definition.value
    targets = ", ".join(f"${t.latex}$" for t in model.targets)
    if unit.pre == unit.out:
        shown = readable_loss_derivative(model, unit)
        steps = [definition, Step(shown, formula, rf"differentiate ${loss_latex(model)}$", lemma=(formula, formula))]
        justification = (rf"${loss.latex}$ is a function of ${pre.latex}$ and the target {targets}." if len(model.targets) == 1
                         else rf"${loss.latex}$ is a function of the predictions and the targets {targets}.")
    else:
        users = model.children(pre)  # the predictions computed from this unit's z
        through = sp.Add(*(partial(model, loss, u) * partial(model, u, pre) for u in users))
        steps = [definition,
                 Step(" + ".join(_product(_d(loss, u), _d(u, pre)) for u in users), through,
                      rf"chain rule: ${pre.latex}$ affects ${loss.latex}$ only through {_names(users)}")]
        if LOSSES[model.spec.loss].cancels_output:
            target = model.targets[model.predictions.index(unit.out)]
            reason = "the output activation and the cross-entropy simplify together"
            if LOSSES[model.spec.loss].targets is Targets.DISTRIBUTION:
                reason += r"; the targets sum to 1 (one-hot)"
            count = _output_mean(model)
            residual = rf"{unit.out.latex} - {target.latex}"
            shown = residual if count == 1 else rf"\frac{{1}}{{{count}}} \left({residual}\right)"
            formula = (unit.out.symbol - target.symbol) / count
            steps.append(Step(shown, formula, reason, kind=StepKind.CANCELLATION))
        else:
            formula = through
        justification = rf"${pre.latex}$ reaches ${loss.latex}$ only through {_names(users)}."
    return formula, Chain(unit.delta.name, tuple(steps), justification)


def _parameter_chain(model: Model, parameter: Node, uses, loss_by_pre, shared: _Shared, rhs_value: sp.Expr) -> Chain:
    """∂L/∂w = chain rule over w's children = Σ δ(unit) · ∂z/∂w = Σ δ(unit) · source, one term per slot.

    `rhs_value` is the backpropagation formula Σ δ(unit) · source, built once by `derive`.
    """
    loss = model.loss
    users = model.children(parameter)
    rhs_latex = " + ".join(u.delta.latex if s is None else _product(u.delta.latex, s.latex) for u, s in uses)
    local = sp.Add(*(shared.times(u.delta.symbol, partial(model, u.pre, parameter)) for u, _ in uses))
    locals_latex = ", ".join(rf"{_d(u.pre, parameter)} = {'1' if s is None else s.latex}" for u, s in uses)
    sums = ", ".join(rf"{u.pre.latex} = {shared.weighted_sum(u)}" for u, _ in uses)
    definitions = ", ".join(rf"{u.delta.latex} = {_d(loss, u.pre)}" for u, _ in uses)
    steps = (
        Step(_d(loss, parameter), None, "direct differentiation"),
        Step(" + ".join(_product(_d(loss, u), _d(u, parameter)) for u in users),
             sp.Add(*(shared.times(loss_by_pre[u.symbol], partial(model, u, parameter)) for u in users)),
             rf"chain rule: ${parameter.latex}$ affects ${loss.latex}$ only through {_names(users)}"),
        Step(" + ".join(_product(u.delta.latex, _d(u.pre, parameter)) for u, _ in uses), local,
             rf"${definitions}$ by definition"),
        Step(rhs_latex, rhs_value, rf"${locals_latex}$, since ${sums}$",
             lemma=(sp.Add(*(shared.coefficient(u.pre, parameter) for u, _ in uses)),
                    sp.Add(*(_source(s) for _, s in uses)))),
    )
    only = "only " if len(users) == 1 else ""
    tied = "" if len(uses) == 1 else rf" (one parameter used in {len(uses)} places, so its gradient is the sum over them)"
    justification = (
        rf"${parameter.latex}$ appears {only}in the definition of {_names(users)}, so every path from "
        rf"${parameter.latex}$ to ${loss.latex}$ in the computation graph passes through {_names(users)}{tied}."
    )
    return Chain(parameter.name, steps, justification)


def weighted_sum_latex(unit: Unit) -> str:
    """`w_0 · x[0] + w_1 · x[1] + w_2`, in the homework's order."""
    terms = [_product(w.latex, s.latex) for w, s in zip(unit.weights, unit.sources)]
    return " + ".join([*terms, *([unit.bias.latex] if unit.bias is not None else [])])


def readable_loss_derivative(model: Model, unit: Unit) -> str:
    """∂L/∂ŷ as a person writes it: 2(ŷ − y) for the squared error, else SymPy's own printing."""
    target = model.targets[model.predictions.index(unit.out)]
    factor = LOSSES[model.spec.loss].residual_factor
    if factor is not None and _output_mean(model) == 1:
        residual = f"{unit.out.latex} - {target.latex}"
        return residual if factor == 1 else rf"{factor} \left({residual}\right)"
    return sp.latex(partial(model, model.loss, unit.out), symbol_names=model.latex_names())


def loss_latex(model: Model) -> str:
    """`L = (ŷ − y)^2` and its siblings, summed over the outputs, as the loss's record writes it."""
    pairs = [(p.latex, t.latex) for p, t in zip(model.predictions, model.targets)]
    text = LOSSES[model.spec.loss].latex(pairs, model.loss.latex)
    count = _output_mean(model)
    if count == 1:
        return text
    left, right = text.split(" = ", 1)
    return rf"{left} = \frac{{1}}{{{count}}} \left({right}\right)"


def _output_mean(model: Model) -> int:
    """The number the per-output terms are divided by: their count for `reduction_outputs = "mean"`, else 1."""
    return model.spec.reduction_outputs.divisor(len(model.predictions))
