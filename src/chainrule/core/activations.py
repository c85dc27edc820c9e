"""Every activation chainrule knows, one record each: the only place an activation is defined.

A record holds the SymPy definition with its kink convention (so `sympy.diff` of it gives the
derivative the sheet states), its names in LaTeX and plain text, the words the notation parser
and the vocabulary know it by, how the answer sheet defines it, whether the exact learning-rate
analysis and the symbolic prover cover it, and what per-student variants must avoid.

Adding an activation means adding one record to `ACTIVATIONS` below (plus tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import sympy as sp

from chainrule.numbers import rational

Function = Callable[[sp.Expr], sp.Expr]
T = sp.Symbol("t", real=True)  # the variable of every definition: g(t)
KINK_CONVENTIONS = (Fraction(0), Fraction(1), Fraction(1, 2))


@dataclass(frozen=True)
class Option:
    """A number an activation takes from the spec, e.g. leaky ReLU's slope `alpha`."""

    name: str
    default: Fraction
    allowed: Callable[[Fraction], bool]
    expected: str  # what the spec reader says when a value is not allowed
    latex: str | None = None  # its symbol in the record's `latex`, where the sheet writes its value in


@dataclass(frozen=True)
class ActivationKind:
    """One activation: its definition, names, words, sheet text and what the engine supports for it."""

    name: str  # the spec's word, e.g. "leaky_relu"
    define: Callable[[sp.Expr, Mapping[str, Fraction]], sp.Expr] | None  # g(t); None for a layer-wise one
    latex: str  # the definition's right-hand side in t, for the sheet: g(t) = ...
    latex_name: str  # how the function is named in formulas: \mathrm{ReLU}
    plain_name: str  # in words: "ReLU"
    words: tuple[str, ...] = ()  # function names the notation parser reads as this activation
    options: tuple[Option, ...] = ()
    kinked: bool = False  # a kink at t = 0 (variants avoid it; the derivative there is a convention)
    dead_side: bool = False  # zero on one side: a unit can be "dead" for a sample
    piecewise_polynomial: bool = False  # polynomial on each side of its kinks: symbolic proofs in x, y, θ
    learning_rate_analysis: bool = False  # the exact loss-after-one-step analysis in η covers it
    output_only: bool = False  # softmax: a whole layer, only on the output
    linear: bool = False  # g(t) = t: the sheets say "linear", and no function is applied
    letters: tuple[str, ...] = ()  # letters that name it in answers when the network uses it (σ: sigmoid)
    layer_name: str | None = None  # its fixed name in the matrix form, g^{(l)} = …; None: the letter g
    # a layer-wise one (softmax): the sheet's definition for k outputs, and one output written out
    # from its own pre-activation and the layer's, `\frac{e^{z_1}}{e^{z_1} + e^{z_2}}`
    layer_definition: Callable[[int], str] | None = None
    layer_formula: Callable[[str, Sequence[str]], str] | None = None
    # a derivative that is a step (ReLU): (g′ as LaTeX, where as LaTeX) on each side of the kink, as
    # the sheet states them before the convention at the kink itself
    step_derivative: tuple[tuple[str, str], ...] = ()

    def defaults(self) -> dict[str, Fraction]:
        return {o.name: o.default for o in self.options}

    def function(self, options: Mapping[str, Fraction] | None = None) -> Function:
        """g with the layer's options (defaults for those not given)."""
        if self.define is None:
            raise ValueError(f"{self.name} is defined on a whole layer, not elementwise")
        chosen = {**self.defaults(), **dict(options or {})}
        return lambda t: self.define(t, chosen)

    def derivative(self, options: Mapping[str, Fraction] | None = None) -> Function:
        """g′ obtained by differentiating g itself, so the kink convention follows from the definition."""
        derivative = _derivative(self.name, tuple(sorted({**self.defaults(), **dict(options or {})}.items())))
        return lambda t: derivative.xreplace({T: t})

    def definition_latex(self, options: Mapping[str, Fraction] | None = None) -> str:
        """The right-hand side of g(t) = … as the sheet writes it, each option's value in place of its
        symbol: leaky ReLU with α = 1/10 is `\\max(\\frac{1}{10} \\cdot  t, t)`."""
        chosen = {**self.defaults(), **dict(options or {})}
        body = self.latex
        for option in self.options:
            if option.latex is not None:
                body = body.replace(option.latex, sp.latex(rational(chosen[option.name])) + r" \cdot ")
        return body


def _relu(t: sp.Expr, options: Mapping[str, Fraction]) -> sp.Expr:
    """ReLU, max(0, t), as a Piecewise whose branches fix g′(0) when differentiated.

    0 (the homework's left derivative): branch t <= 0 first. 1: branch t < 0 first.
    1/2: a middle branch t/2 on t = 0, which is 0 there but differentiates to 1/2.
    """
    at_zero = options["derivative_at_zero"]
    if at_zero == 0:
        return sp.Piecewise((0, t <= 0), (t, True))
    if at_zero == 1:
        return sp.Piecewise((0, t < 0), (t, True))
    return sp.Piecewise((0, t < 0), (rational(at_zero) * t, sp.Eq(t, 0)), (t, True))


def _leaky_relu(t: sp.Expr, options: Mapping[str, Fraction]) -> sp.Expr:
    """max(αt, t) with the left derivative α at 0."""
    return sp.Piecewise((rational(options["alpha"]) * t, t <= 0), (t, True))


def _elu(t: sp.Expr, options: Mapping[str, Fraction]) -> sp.Expr:
    """α(eᵗ − 1) for t ≤ 0, t beyond: the left derivative α at 0."""
    return sp.Piecewise((rational(options["alpha"]) * (sp.exp(t) - 1), t <= 0), (t, True))


_SLOPE = Option("alpha", Fraction(1, 100), lambda a: 0 <= a < 1, "expected a slope from 0 up to (not including) 1",
                r"\alpha")
_ELU_SCALE = Option("alpha", Fraction(1), lambda a: 0 < a <= 10, "expected a scale above 0 and at most 10", r"\alpha")


def _softmax_definition(k: int) -> str:
    return rf"$\operatorname{{softmax}}(t)_k = \frac{{e^{{t_k}}}}{{\sum_{{j=1}}^{{{k}}} e^{{t_j}}}}$"


def _softmax_formula(own: str, layer: Sequence[str]) -> str:
    return rf"\frac{{e^{{{own}}}}}{{{' + '.join(rf'e^{{{t}}}' for t in layer)}}}"

_KINK = Option("derivative_at_zero", Fraction(0), lambda d: d in KINK_CONVENTIONS, "expected 0, 1 or 1/2")

ACTIVATIONS: Mapping[str, ActivationKind] = MappingProxyType({a.name: a for a in (
    ActivationKind("relu", _relu, r"\max(0, t)", r"\operatorname{ReLU}", "ReLU", ("relu",), (_KINK,),
                   kinked=True, dead_side=True, piecewise_polynomial=True, learning_rate_analysis=True,
                   step_derivative=(("1", "t > 0"), ("0", "t < 0"))),
    ActivationKind("leaky_relu", _leaky_relu, r"\max(\alpha t, t)", r"\operatorname{LReLU}", "leaky ReLU",
                   ("leaky_relu",), (_SLOPE,), kinked=True, dead_side=True, piecewise_polynomial=True),
    ActivationKind("identity", lambda t, o: t, "t", r"\mathrm{id}", "identity", (),
                   piecewise_polynomial=True, learning_rate_analysis=True, linear=True, layer_name=r"\mathrm{id}"),
    ActivationKind("sigmoid", lambda t, o: 1 / (1 + sp.exp(-t)), r"\frac{1}{1 + e^{-t}}", r"\sigma", "sigmoid",
                   ("sigmoid",), letters=("sigma",)),
    ActivationKind("tanh", lambda t, o: sp.tanh(t), r"\tanh t", r"\tanh", "tanh", ("tanh",)),
    ActivationKind("softplus", lambda t, o: sp.log(1 + sp.exp(t)), r"\ln\left(1 + e^{t}\right)",
                   r"\operatorname{softplus}", "softplus", ("softplus",)),
    ActivationKind("elu", _elu, r"\begin{cases} \alpha (e^{t} - 1) & t \le 0 \\ t & t > 0 \end{cases}",
                   r"\operatorname{ELU}", "ELU", ("elu",), (_ELU_SCALE,), kinked=True),
    ActivationKind("softmax", None, r"\frac{e^{t_k}}{\sum_j e^{t_j}}", r"\operatorname{softmax}", "softmax",
                   output_only=True, layer_name=r"\mathrm{softmax}", layer_definition=_softmax_definition,
                   layer_formula=_softmax_formula),
)})


def kind(name: str) -> ActivationKind:
    """The record of an activation named in a spec."""
    return ACTIVATIONS[name]


_DERIVATIVES: dict[tuple, sp.Expr] = {}


def _derivative(name: str, options: tuple) -> sp.Expr:
    """g′(t), differentiated once per activation and options (not once per edge of the graph)."""
    key = (name, options)
    if key not in _DERIVATIVES:
        _DERIVATIVES[key] = sp.diff(ACTIVATIONS[name].function(dict(options))(T), T)
    return _DERIVATIVES[key]
