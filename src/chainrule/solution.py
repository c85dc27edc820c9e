"""The whole `solve` pipeline as one readable function: model → derivations → proofs → numbers."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .derivation import Chain, Derivation, derive
from .learning_rate import Curve, LearningRateAnalysis, analyse, curves
from .model import Model, activation_derivative, build
from .numerics import Training, train
from .proof import Proof, Prover, Verdict
from .spec import Spec, load


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

    @property
    def loss(self) -> sp.Expr:
        return self.training.initial.loss

    @property
    def all_proved(self) -> bool:
        return all(c.verdict is Verdict.PROVED for c in (*self.delta_proofs, *self.identities))

    def _repr_latex_(self) -> str:
        from .rendering import summary_latex  # rendering is optional for the core

        return summary_latex(self)


def check_chain(derivation: Derivation, chain: Chain, prover: Prover) -> CheckedChain:
    """Prove every consecutive step, and the first against the last, in x, y and θ."""
    values = [derivation.compose(step.value) for step in chain.steps]
    steps = tuple(prover.prove(a, b) for a, b in zip(values, values[1:]))
    return CheckedChain(chain, steps, prover.prove(values[0], values[-1]))


def solve(spec: Spec | str = "inf264_hw4", *, time_limit: float = 60.0) -> Solution:
    """Derive, prove and compute everything for a spec (a `Spec`, a name in derivations/ or a path)."""
    spec = load(spec) if isinstance(spec, str) else spec
    model = build(spec)
    derivation = derive(model)
    prover = Prover(time_limit)  # one prover: the chains share their ReLU kinks
    deltas = tuple(check_chain(derivation, c, prover) for c in derivation.delta_chains)
    identities = tuple(check_chain(derivation, c, prover) for c in derivation.chains)
    training = train(derivation)
    analysis = analyse(derivation, training.initial)
    chosen = curves(derivation, analysis, training.learning_rate) if analysis.available else ()
    at_zero = activation_derivative("relu")(sp.Integer(0)) if "relu" in spec.activations else None
    return Solution(spec, model, derivation, deltas, identities, training, analysis, chosen, at_zero)
