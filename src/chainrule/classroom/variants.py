"""Per-student variants: new data and initial parameters, drawn reproducibly, kept instructive.

Variant k of seed S is drawn from its own random stream, seeded by "S:k", so it is the same
whatever the count, the order or the number of worker processes. A draw that breaks one of the
spec's `[variants]` constraints is redrawn; after `max_draws` the generator gives up and says
which constraints failed how often.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

import sympy as sp

from chainrule.check.mistakes import answer_values
from chainrule.core.activations import ACTIVATIONS
from chainrule.core.derivation import Derivation, derive, rebind
from chainrule.core.losses import LOSSES, Targets
from chainrule.core.model import Model, build
from chainrule.core.numerics import Evaluation, Training, evaluate, train
from chainrule.core.spec import Spec, VariantRules
from chainrule.core.spec_dump import dump
from chainrule.errors import ChainruleError
from chainrule.numbers import close, less, rational

CONSTRAINTS = {
    "dead_and_active": "in every ReLU layer, every unit is active (z > 0) for some sample and some unit is "
                       "dead (z ≤ 0) for some sample",
    "avoid_kinks": "no pre-activation (or absolute-error residual) is exactly at a kink",
    "loss_decreases": "the loss after the step at the spec's learning rate is lower",
    "gradient_nonzero": "every gradient component is non-zero for some sample",
    "max_abs_answer": "every numeric answer is within ± max_abs_answer",
}


class VariantError(ChainruleError):
    """The constraints could not be met within `max_draws` draws."""


@dataclass(frozen=True)
class Variant:
    number: int  # 1-based
    spec: Spec
    draws: int  # how many draws it took to meet the constraints
    answers: Mapping[str, sp.Expr]  # every answers-file key, exactly

    @property
    def spec_text(self) -> str:
        return dump(self.spec)


def variant_name(spec: Spec, number: int) -> str:
    return f"{spec.name}-v{number:03d}"


def spec_hash(spec: Spec) -> str:
    """sha256 of the spec as chainrule reads it (so comments and layout do not change it)."""
    return hashlib.sha256(dump(spec).encode("utf-8")).hexdigest()


def draw(spec: Spec, rules: VariantRules, rng: random.Random, number: int) -> Spec:
    """One candidate: every input, target and initial parameter drawn afresh from the rules' ranges."""
    value = lambda bounds: _uniform(rng, bounds, rules.decimals)  # noqa: E731
    x = tuple(tuple(value(rules.x) for _ in row) for row in spec.x)
    y = tuple(_target(spec, rules, rng, t) for t in spec.y)
    init = tuple(value(rules.parameters) for _ in spec.init)  # one per parameter: tied slots stay equal
    return dataclasses.replace(spec, name=variant_name(spec, number), title=f"{spec.title} (variant {number})",
                               x=x, y=y, init=init, path=f"{variant_name(spec, number)}.toml")


def _uniform(rng: random.Random, bounds: tuple[Fraction, Fraction], decimals: int) -> Fraction:
    scale = 10 ** decimals
    low, high = -((-bounds[0] * scale) // 1), (bounds[1] * scale) // 1  # ceil, floor
    if low > high:
        raise VariantError(f"the range [{bounds[0]}, {bounds[1]}] holds no number with {decimals} decimal(s)")
    return Fraction(rng.randint(int(low), int(high)), scale)


def _target(spec: Spec, rules: VariantRules, rng: random.Random, original):
    targets = LOSSES[spec.loss].targets
    if targets is Targets.DISTRIBUTION:
        k = rng.randrange(spec.outputs)
        return tuple(Fraction(int(i == k)) for i in range(spec.outputs))
    if targets is Targets.PROBABILITY:
        if all(t in (0, 1) for t in spec.y):
            return Fraction(rng.randint(0, 1))
        return _uniform(rng, (max(rules.y[0], Fraction(0)), min(rules.y[1], Fraction(1))), rules.decimals)
    if isinstance(original, tuple):
        return tuple(_uniform(rng, rules.y, rules.decimals) for _ in original)
    return _uniform(rng, rules.y, rules.decimals)


def violations(model: Model, training: Training, answers: Mapping[str, sp.Expr]) -> tuple[str, ...]:
    """The names of the constraints (see CONSTRAINTS) that this candidate breaks."""
    rules = model.spec.variants
    initial, after = training.initial, training.after_first
    broken = list(_forward_violations(model, initial))
    if rules.loss_decreases and not less(after.loss, initial.loss):
        broken.append("loss_decreases")
    bound = sp.Rational(rules.max_abs_answer.numerator, rules.max_abs_answer.denominator)
    if any(less(bound, v) or less(v, -bound) for v in answers.values()):
        broken.append("max_abs_answer")
    return tuple(broken)


def _forward_violations(model: Model, initial: Evaluation) -> tuple[str, ...]:
    """The constraints one forward and backward pass decides: checked before the step is taken."""
    spec = model.spec
    rules = spec.variants
    kinked = tuple(u.pre.name for u in model.units if ACTIVATIONS[u.activation].kinked)
    broken = []
    if rules.dead_and_active:
        for layer in sorted({u.layer for u in model.units if ACTIVATIONS[u.activation].dead_side}):
            values = [[s.values[u.pre.name] for s in initial.samples] for u in model.units
                      if u.layer == layer and ACTIVATIONS[u.activation].dead_side]
            if not all(any(v > 0 for v in unit) for unit in values) or not any(v <= 0 for u in values for v in u):
                broken.append("dead_and_active")
                break
    if rules.avoid_kinks:
        at_kink = any(s.values[pre] == 0 for pre in kinked for s in initial.samples)
        if LOSSES[spec.loss].kinked:
            at_kink = at_kink or any(p == t for s, target in zip(initial.samples, spec.targets)
                                     for p, t in zip(s.predictions, target))
        if at_kink:
            broken.append("avoid_kinks")
    if rules.gradient_nonzero:
        for column, trained in zip(zip(*(s.gradient for s in initial.samples)), spec.step_mask):
            if trained and all(_is_zero(g) for g in column):  # a frozen parameter's gradient is not asked
                broken.append("gradient_nonzero")
                break
    return tuple(broken)


def _is_zero(value: sp.Expr) -> bool:
    """Exactly zero for rationals; within 1e-50 in 60-digit arithmetic for exp/log/tanh values."""
    return close(value, sp.Integer(0), absolute="1e-50")


def make_variant(spec: Spec, seed: int | str, number: int, base: Derivation | None = None) -> Variant:
    """Variant `number` of `seed`: redrawn until it meets every constraint, or VariantError.

    `base` is the spec's own derivation, shared by every draw (formulas depend on structure only).
    """
    rules = spec.variants
    base = base or derive(build(spec), symbolic=False)
    rng = random.Random(f"chainrule:{seed}:{number}")
    failures: Counter[str] = Counter()
    for attempt in range(1, rules.max_draws + 1):
        candidate = draw(spec, rules, rng, number)
        derivation = rebind(base, candidate)
        try:
            early = _forward_violations(derivation.model, evaluate(derivation, [rational(v) for v in candidate.init]))
            if early:  # most rejected draws stop here, before the step is taken
                failures.update(early)
                continue
            training = train(derivation, steps=1)
        except (ValueError, ZeroDivisionError, OverflowError) as error:  # e.g. log(0) in a cross-entropy
            failures[f"undefined ({type(error).__name__})"] += 1
            continue
        answers = answer_values(derivation.model, training)
        broken = violations(derivation.model, training, answers)
        if not broken:
            return Variant(number, candidate, attempt, answers)
        failures.update(broken)
    summary = ", ".join(f"{name} failed {count} times" for name, count in failures.most_common())
    raise VariantError(f"{spec.path}: variant {number}: no draw met the [variants] constraints in "
                       f"{rules.max_draws} draws ({summary}); widen the ranges or relax a constraint")
