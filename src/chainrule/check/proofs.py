"""Judge a proof chain step by step: the cheapest sound route first, and what a wrong step gets wrong."""

from __future__ import annotations

import time
from functools import lru_cache

import sympy as sp

from chainrule.check.answer_key import AnswerKey, Judgement, Mark, answer_key
from chainrule.check.differences import describe
from chainrule.check.notation import canonical_names, parse_chain
from chainrule.check.tokens import NotationError
from chainrule.core.kinks import Side
from chainrule.core.proof import Basis, Proof, Verdict, prove_equal
from chainrule.numbers import exact
from chainrule.plain_text import full_stop

_STATE_WORDS = {Side.LE: "≤ 0", Side.GT: "> 0", Side.LT: "< 0", Side.GE: "≥ 0", Side.EQ: "= 0"}


def kink_name(polynomial: sp.Expr, answer_key: AnswerKey) -> str:
    """Name a kink by the model's pre-activation it is a multiple of, e.g. 'z'."""
    from chainrule.core.kinks import constant_ratio

    for unit in answer_key.derivation.model.units:
        composed = answer_key.derivation.composed[unit.pre.symbol]
        ratio = constant_ratio(sp.expand(polynomial), sp.expand(composed))
        if ratio is not None:
            return unit.pre.name if ratio > 0 else f"-{unit.pre.name}"
    return str(polynomial)


def derivative_names(answer_key: AnswerKey) -> dict[sp.Expr, str]:
    """Each unit's activation derivative as the local forms write it, named as a person would: g′(z)."""
    from chainrule.core.activations import ACTIVATIONS

    names = {}
    for unit in answer_key.derivation.model.units:
        derivative = ACTIVATIONS[unit.activation].derivative(dict(unit.options))(unit.pre.symbol)
        if isinstance(derivative, sp.Piecewise):
            names.setdefault(derivative, f"g′({unit.pre.name})")
    return names


def where(proof: Proof, answer_key: AnswerKey, verdict: Verdict) -> str:
    parts = []
    for region in proof.regions:
        if region.verdict is verdict:
            parts.append(" and ".join(f"{kink_name(p, answer_key)} {_STATE_WORDS[s]}" for p, s in region.signs))
    return " or ".join(parts)


_PROOFS: dict[tuple[sp.Expr, sp.Expr], Proof] = {}


def _prove(left: sp.Expr, right: sp.Expr, seconds: float) -> Proof:
    """prove_equal, remembered: a class hands in the same steps many times. UNKNOWN is never cached."""
    known = _PROOFS.get((left, right))
    if known is not None:
        return known
    proof = prove_equal(left, right, time_limit=seconds)
    if proof.verdict is not Verdict.UNKNOWN and len(_PROOFS) < 20_000:
        _PROOFS[(left, right)] = proof
    return proof


@lru_cache(maxsize=2048)
def _chain(text: str, spec_name: str, local: bool = False) -> tuple[sp.Expr, ...]:
    key = answer_key(spec_name)
    return parse_chain(text, key.local if local else key.vocabulary)


SEARCH_POINTS = 24  # exact evaluations looking for a counterexample when no proof is found


QUICK_SECONDS = 1.0  # the proof with the nodes as free variables


def decide(local: tuple[sp.Expr, sp.Expr], composed: tuple[sp.Expr, sp.Expr], key: AnswerKey,
            remaining) -> Proof:
    """One equality, cheapest route first; each verdict it gives is sound.

    1. Proved with the nodes as free variables (LocalVocabulary): then it holds.
    2. Small networks (those `solve` proves symbolically): decided on the expressions composed down
       to x, y and θ, region by region, which also says on which side of a kink a wrong step holds.
    3. Unequal at an exact rational point of x, y and θ: refuted, with the point.
    4. The composed expressions, with all the time left.
    """
    first = _prove(*local, min(QUICK_SECONDS, remaining()))
    if first.verdict is Verdict.PROVED:
        return first
    if key.small:
        return _prove(*composed, remaining())
    point = _counterexample(*composed)
    if point is not None:
        return Proof(Verdict.REFUTED, "exact evaluation at a point", counterexample=point, basis=Basis.EXACT_EVALUATION)
    return _prove(*composed, remaining())


def _counterexample(left: sp.Expr, right: sp.Expr):
    """A point (small rationals, away from no kink in particular) where the two sides differ exactly."""
    import random

    leaves = sorted(left.free_symbols | right.free_symbols, key=str)
    rng = random.Random(f"{left}|{right}")
    for _ in range(SEARCH_POINTS):
        point = {s: sp.Rational(rng.randint(-30, 30), rng.choice((1, 2, 4, 5, 10))) for s in leaves}
        a, b = left.xreplace(point), right.xreplace(point)
        if a.is_Rational and b.is_Rational and a != b:
            return tuple(point.items())
    return None


def _point(proof: Proof, left: sp.Expr, right: sp.Expr) -> str:
    """The counterexample, and what each side is there: 'x0 = 1, w3 = 2 (left 4, right 3)'."""
    point = dict(proof.counterexample or ())
    text = ", ".join(f"{v} = {exact(x)}" for v, x in point.items())
    a, b = left.xreplace(point), right.xreplace(point)
    if a.is_number and b.is_number:
        text += f", where the left side is {exact(sp.nsimplify(a) if a.is_Float else a)} and the right side is " \
                f"{exact(sp.nsimplify(b) if b.is_Float else b)}"
    return text


def _segments(text: str) -> list[str]:
    return text.split("=")


def judge_proof(parameter: str, text: str | None, answer_key: AnswerKey, seconds: float) -> Judgement:
    key = f"proofs.{parameter}"
    derivation, model = answer_key.derivation, answer_key.derivation.model
    node = model.by_name[parameter]
    uses = model.uses(node)  # a tied parameter: one δ term per unit that uses it
    expected_rhs = " + ".join(unit.delta.name + ("" if source is None else f" * {source.name}")
                              for unit, source in uses)
    expected = f"dL/d{parameter} = ... = {expected_rhs}"
    if text is None:
        return Judgement(key, Mark.MISSING, expected, None, (), f"No proof for {parameter}.")
    try:
        chain = _chain(text, answer_key.source)
    except NotationError as error:
        return Judgement(key, Mark.UNPARSEABLE, expected, text, (), full_stop(f"Could not read the proof: {error}"))
    if len(chain) < 2:
        return Judgement(key, Mark.INCORRECT, expected, text, (), "A proof is a chain A = B = …; this has no '='.")
    local = _chain(text, answer_key.source, local=True)
    deadline = time.monotonic() + seconds
    remaining = lambda: max(0.05, deadline - time.monotonic())  # noqa: E731
    unknown = None
    for index, (left, right) in enumerate(zip(chain, chain[1:]), start=1):
        proof = decide((local[index - 1], local[index]), (left, right), answer_key, remaining)
        if proof.verdict is Verdict.REFUTED:
            holds = where(proof, answer_key, Verdict.PROVED)
            side = f" It holds only where {holds}, not where {where(proof, answer_key, Verdict.REFUTED)}." if holds else ""
            what = describe(local[index - 1], local[index], derivative_names(answer_key))
            differ = f"{what}. The two sides differ at" if what else "the two sides differ at"
            return Judgement(key, Mark.INCORRECT, expected, text, (),
                             f"Step {index} (between expression {index} and {index + 1}) is wrong: {differ} "
                             f"{_point(proof, left, right)}.{side}")
        if proof.verdict is Verdict.UNKNOWN and unknown is None:
            unknown = (index, proof.reason)
    vocabulary = answer_key.local
    starts = decide((local[0], vocabulary.derivative(model.loss.name, parameter)),
                     (chain[0], derivation.direct[parameter]), answer_key, remaining)
    rhs_value = derivation.compose(derivation.backprop[parameter])
    ends = decide((local[-1], vocabulary.expand(derivation.backprop[parameter])), (chain[-1], rhs_value),
                   answer_key, remaining)
    written = {answer_key.vocabulary.node_name(n) for n in canonical_names(_segments(text)[-1])}
    ends_written = all(unit.delta.name in written for unit, _ in uses)
    if starts.verdict is Verdict.REFUTED:
        return Judgement(key, Mark.INCORRECT, expected, text, (), f"The chain does not start at ∂L/∂{parameter}.")
    if ends.verdict is Verdict.REFUTED or (ends.verdict is Verdict.PROVED and not ends_written):
        return Judgement(key, Mark.INCORRECT, expected, text, (),
                         f"Every step holds, but the chain should end at the backpropagation form {expected_rhs}.")
    if unknown is not None or Verdict.UNKNOWN in (starts.verdict, ends.verdict):
        reason = unknown[1] if unknown else (starts.reason or ends.reason)
        return Judgement(key, Mark.UNKNOWN, expected, text, (), f"Could not decide every step ({reason}).")
    return Judgement(key, Mark.CORRECT, expected, text, (), "Every step is proved, from ∂L/∂"
                     f"{parameter} to {expected_rhs}.")
