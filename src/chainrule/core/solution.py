"""The whole `solve` pipeline as one readable function: model → derivations → proofs → numbers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.derivation import (
    Chain,
    Derivation,
    StepKind,
    derive,
    same_structure,
)
from chainrule.core.learning_rate import Curve, LearningRateAnalysis, analyse, curves
from chainrule.core.losses import LOSSES, Targets
from chainrule.core.model import Model, NodeKind, build
from chainrule.core.numerics import Training, forward_differs, forward_gradient, numeric_check, train
from chainrule.core.proof import Basis, Proof, Prover, Verdict
from chainrule.core.spec import Spec
from chainrule.core.spec_reader import load
from chainrule.numbers import AGREEMENT_DIGITS, PRECISION

# Networks up to this size get the full symbolic proof of every identity in x, y and θ; larger
# ones are proved structurally (local identities + the chain rule) and checked by exact evaluation.
SYMBOLIC_MAX_PARAMETERS = 40
SYMBOLIC_MAX_KINKS = 4
SYMBOLIC_MAX_SMOOTH_PARAMETERS = 6


class ProofMode(StrEnum):
    """How a spec's identities are proved (`proof_mode`)."""

    SYMBOLIC = "symbolic"  # as identities in x, y and θ
    STRUCTURAL = "structural"  # step by step from the structure, with forward mode agreeing


@dataclass(frozen=True)
class CheckedChain:
    """A chain of equalities with the engine's verdict on each step and on the whole identity."""

    chain: Chain
    steps: tuple[Proof, ...]  # steps[i] decides chain.steps[i] == chain.steps[i + 1]
    identity: Proof  # first == last: direct derivative ≡ backpropagation

    @property
    def verdict(self) -> Verdict:
        verdicts = {p.verdict for p in (*self.steps, self.identity)}
        if Verdict.REFUTED in verdicts:
            return Verdict.REFUTED
        return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else Verdict.PROVED


@dataclass(frozen=True)
class Solution:
    """Everything `chainrule solve` reports for one spec."""

    spec: Spec
    model: Model
    derivation: Derivation
    delta_proofs: tuple[CheckedChain, ...]
    identities: tuple[CheckedChain, ...]  # one per parameter, in flat order
    training: Training
    learning_rate: LearningRateAnalysis
    curves: tuple[Curve, ...]  # training curves for a few η chosen from the analysis (question 7)
    relu_derivative_at_zero: sp.Expr | None  # g'(0) as the model's own diff gives it
    proof_mode: ProofMode

    @property
    def loss(self) -> sp.Expr:
        return self.training.initial.loss

    @property
    def all_proved(self) -> bool:
        return all(c.verdict is Verdict.PROVED for c in (*self.delta_proofs, *self.identities))

    def _repr_latex_(self) -> str:
        """A one-line LaTeX summary for Jupyter: the loss and its gradient."""
        names = self.model.latex_names()
        loss = sp.latex(self.loss, symbol_names=names)
        gradient = ", ".join(sp.latex(g, symbol_names=names) for g in self.training.initial.gradient)
        return rf"$\mathcal{{L}} = {loss},\quad \nabla_\theta \mathcal{{L}} = \left({gradient}\right)$"


def proof_mode(model: Model) -> ProofMode:
    """Symbolic for networks small enough to write out; structural beyond.

    Piecewise-polynomial networks (ReLU, leaky ReLU, identity; squared or absolute error) up to
    SYMBOLIC_MAX_PARAMETERS are proved as identities in x, y and θ; smooth ones only up to
    SYMBOLIC_MAX_SMOOTH_PARAMETERS, because exp and tanh identities cost far more to decide.
    """
    spec = model.spec
    kinks = sum(1 for u in model.units if ACTIVATIONS[u.activation].kinked)
    piecewise_polynomial = all(ACTIVATIONS[a].piecewise_polynomial for a in spec.activations) and \
        LOSSES[spec.loss].piecewise_polynomial
    limit = SYMBOLIC_MAX_PARAMETERS if piecewise_polynomial else SYMBOLIC_MAX_SMOOTH_PARAMETERS
    small = spec.parameter_count <= limit and kinks <= SYMBOLIC_MAX_KINKS
    return ProofMode.SYMBOLIC if small and len(spec.sizes) <= 3 else ProofMode.STRUCTURAL


def check_chain(derivation: Derivation, chain: Chain, prover: Prover) -> CheckedChain:
    """Prove every consecutive step, and the first against the last, as identities in x, y and θ.

    Only the identity's proof carries each region's polynomial (the sheet's appendix shows it); a
    step's proof carries its verdict and method.
    """
    values = [derivation.step_value(chain, step) for step in chain.steps]
    steps = tuple(prover.prove(a, b, detail=False) for a, b in zip(values, values[1:]))
    return CheckedChain(chain, steps, prover.prove(values[0], values[-1]))


def _local(derivation: Derivation, expr: sp.Expr) -> sp.Expr:
    """Write the predictions out in the output layer's z's: what a cross-entropy lemma needs.

    A softmax cross-entropy target is one-hot, so its components sum to 1: the last one is
    written as 1 minus the others, and the identity is proved on that constraint.
    """
    model = derivation.model
    local = expr.xreplace({p.symbol: p.definition for p in model.predictions if p.definition is not None
                           and p.kind is NodeKind.PREDICTION and model.unit_with_pre(p) is None})
    if LOSSES[model.spec.loss].targets is Targets.DISTRIBUTION:
        *others, last = model.targets
        local = local.xreplace({last.symbol: 1 - sp.Add(*(t.symbol for t in others))})
    return local


def check_chain_structurally(derivation: Derivation, chain: Chain, prover: Prover, agreement: Proof) -> CheckedChain:
    """Each step rests on a small local identity (proved) or on the chain rule over the graph."""
    rule = Proof(Verdict.PROVED, "chain rule over the computation graph", basis=Basis.CHAIN_RULE)
    proofs = []
    for before, step in zip(chain.steps, chain.steps[1:]):
        if step.lemma is not None:
            proofs.append(prover.prove(*step.lemma))
        elif step.kind is StepKind.CANCELLATION:  # the cross-entropy δ: a local identity in the output z's
            proofs.append(prover.prove(_local(derivation, before.value), _local(derivation, step.value)))
        else:
            proofs.append(rule)
    local = [p for p in proofs if p is not rule]
    verdicts = {p.verdict for p in (*local, agreement)}
    if Verdict.REFUTED in verdicts:
        identity = next(p for p in (*local, agreement) if p.verdict is Verdict.REFUTED)
    elif Verdict.UNKNOWN in verdicts:
        identity = next(p for p in (*local, agreement) if p.verdict is Verdict.UNKNOWN)
    else:
        proved = ("the chain rule alone (no local identity)" if not local else
                  f"{len(local)} local {'identity' if len(local) == 1 else 'identities'} proved exactly, composed by the chain rule")
        identity = Proof(Verdict.PROVED, f"structural: {proved}; {agreement.method}", basis=agreement.basis)
    return CheckedChain(chain, tuple(proofs), identity)


def _agreement(derivation: Derivation, training: Training) -> Proof:
    """Backpropagation against forward-mode differentiation at every sample.

    Exact for rational networks; in 60-digit arithmetic (agreement to 45 digits) when exp, tanh or
    log make the values irrational.
    """
    theta, samples = training.initial.theta, training.initial.samples
    rational = all(v.is_Rational for s in samples for v in s.gradient)
    if rational:
        for sample in samples:
            i = forward_differs(derivation, theta, sample.number, sample.gradient)
            if i is not None:
                a, b = sample.gradient[i], forward_gradient(derivation, theta, sample.number)[i]
                return Proof(Verdict.REFUTED, "exact evaluation", reason=f"{derivation.model.parameters[i].name} "
                             f"differs at sample {sample.number}: backpropagation {a}, forward mode {b}",
                             basis=Basis.EXACT_EVALUATION)
        how, basis = "exactly", Basis.EXACT_EVALUATION
    else:
        differences = numeric_check(derivation, theta)
        if differences:
            number, i, a, b = differences[0]
            return Proof(Verdict.REFUTED, "60-digit evaluation", reason=f"{derivation.model.parameters[i].name} "
                         f"differs at sample {number}: backpropagation {a}, forward mode {b}", basis=Basis.DIGITS_45)
        how, basis = f"to {AGREEMENT_DIGITS} significant digits in {PRECISION}-digit arithmetic", Basis.DIGITS_45
    where = "at the sample" if len(samples) == 1 else f"at all {len(samples)} samples"
    return Proof(Verdict.PROVED, f"agrees with forward-mode differentiation {where}, {how}",
                 basis=basis)


def solve(spec: Spec | str = "inf264_hw4", *, time_limit: float = 60.0, like: Solution | None = None) -> Solution:
    """Derive, prove and compute everything for a spec (a `Spec`, a name in derivations/ or a path).

    `like` is a solved spec of the same structure (a variant's original). Symbolic proofs are
    identities in x, y and θ, so they hold for any data: they are taken from it, not redone.
    """
    spec = load(spec) if isinstance(spec, str) else spec
    model = build(spec)
    mode = proof_mode(model)
    derivation = derive(model, symbolic=mode is ProofMode.SYMBOLIC)
    training = train(derivation)
    prover = Prover(time_limit)  # one prover: the chains share their ReLU kinks
    if like is not None and mode is like.proof_mode is ProofMode.SYMBOLIC and same_structure(like.spec, spec):
        deltas, identities = like.delta_proofs, like.identities
    elif mode is ProofMode.SYMBOLIC:
        deltas = tuple(check_chain(derivation, c, prover) for c in derivation.delta_chains)
        identities = tuple(check_chain(derivation, c, prover) for c in derivation.chains)
    else:
        agreement = _agreement(derivation, training)
        deltas = tuple(check_chain_structurally(derivation, c, prover, agreement) for c in derivation.delta_chains)
        identities = tuple(check_chain_structurally(derivation, c, prover, agreement) for c in derivation.chains)
    analysis = analyse(derivation, training.initial)
    chosen = curves(derivation, analysis, training.learning_rate) if analysis.available else ()
    relu_unit = next((u for u in model.units if u.activation == "relu"), None)
    at_zero = None if relu_unit is None else \
        ACTIVATIONS["relu"].derivative(dict(relu_unit.options))(sp.Integer(0))
    return Solution(spec, model, derivation, deltas, identities, training, analysis, chosen, at_zero, mode)
