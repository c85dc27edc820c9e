"""Judge a student's answers: numbers against the exact key, proofs step by step, mistakes by name.

Every judgement is a verdict — correct, incorrect, unparseable, missing or unknown — with the
expected value, what was given, the catalogue mistakes it matches and one sentence of feedback.
Each answer is bounded in time; past the limit it is `unknown` with the reason "time limit".
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from chainrule.check.answers import Answers, answer_keys, check_keys, prediction_keys
from chainrule.check.mistakes import DESCRIPTIONS, answer_values, variants
from chainrule.check.notation import (
    FreeVocabulary,
    NotationError,
    canonical_names,
    parse,
    parse_chain,
)
from chainrule.check.vocabulary import LocalVocabulary, ModelVocabulary
from chainrule.core import certify
from chainrule.core.derivation import Derivation, derive
from chainrule.core.model import build
from chainrule.core.numerics import evaluate, train
from chainrule.core.proof import Proof, Verdict, prove_equal
from chainrule.core.solution import proof_mode
from chainrule.core.spec import Spec, Tolerance, load
from chainrule.deadline import TimeLimit, time_limit
from chainrule.numbers import exact, rational

DEFAULT_TIME_LIMIT = 5.0
_DECIMAL = re.compile(r"\s*([-+]?)(\d*)(?:\.(\d*))?\s*")


@dataclass(frozen=True)
class Judgement:
    key: str  # answers-file key: "gradient.w0", or "proofs.w0"
    verdict: str  # correct | incorrect | unparseable | missing | unknown
    expected: str
    given: str | None
    mistakes: tuple[str, ...]
    feedback: str


@dataclass(frozen=True)
class FileReport:
    path: str
    student: str
    spec: str
    judgements: tuple[Judgement, ...]
    problems: tuple[tuple[str, str], ...]  # unknown keys, with suggestions
    variant: int | None = None  # graded against this variant of a batch
    ignored: tuple[str, ...] = ()  # answers-file keys the grader overrides: ("tolerance",)

    @property
    def all_correct(self) -> bool:
        return not self.problems and all(j.verdict == "correct" for j in self.judgements)

    def count(self, verdict: str) -> int:
        return sum(1 for j in self.judgements if j.verdict == verdict)


@dataclass(frozen=True)
class AnswerKey:
    """Everything needed to judge answers for one spec, computed once and reused for a class."""

    spec: Spec
    derivation: Derivation
    vocabulary: ModelVocabulary
    values: dict
    variants: tuple[tuple[str, dict], ...]
    source: str  # the spec name or path it was loaded from
    local: LocalVocabulary  # the same names in node symbols: cheap proofs for deep networks
    small: bool  # composed identities are decided quickly (the networks `solve` proves symbolically)


@lru_cache(maxsize=8)
def answer_key(spec_name: str) -> AnswerKey:
    spec = load(spec_name)
    derivation = derive(build(spec))
    model = derivation.model
    values = answer_values(model, train(derivation, steps=1))
    mutated = tuple((mid, answer_values(model, t)) for mid, t in variants(derivation))
    return AnswerKey(spec, derivation, ModelVocabulary(derivation), values, mutated, spec_name,
                     LocalVocabulary(derivation), proof_mode(derivation.model) == "symbolic")


# ---------------------------------------------------------------- numbers

@lru_cache(maxsize=4096)
def read_number(text: str) -> sp.Expr:
    """An answer's value: a number, a fraction or a closed expression without variables."""
    value = parse(text, FreeVocabulary(), max_length=2000)
    if value.free_symbols:
        names = ", ".join(sorted(str(s) for s in value.free_symbols))
        raise NotationError(f"expected a number, but it contains the variable(s) {names}")
    # Not `value.is_real`: SymPy's assumptions evaluate numerically, without a bound (a tower of
    # exp overflowed mpmath). Non-real values the parser can build carry I (sqrt(-1), log(-2));
    # any other value that is not a real number is never certified equal: its verdict is unknown.
    if value.has(sp.I, sp.zoo, sp.nan):
        raise NotationError("expected a real number")
    return value


def match(text: str, given: sp.Expr, target: sp.Expr, tolerance: Tolerance) -> str | None:
    """'exact', 'rounded' (an acceptable decimal), 'too-few-digits', 'undecided', or None (no match).

    Every comparison is certified (certify.py): equal, within the rounding bound, or not — and
    'undecided' when that cannot be shown. No numeric cutoff ever counts as equality.
    """
    same = _equal(given, target)
    if same:
        return "exact"
    literal = _DECIMAL.fullmatch(text)
    if not literal or not (literal.group(2) or literal.group(3)):
        return None if same is False else "undecided"
    difference = target - given
    direction = certify.sign(difference)
    if direction is None:
        return "undecided"
    error = direction * difference  # |target - given|, exactly
    if tolerance.absolute is not None or tolerance.relative is not None:
        if tolerance.absolute is not None:
            bound = _rational(tolerance.absolute)
        else:
            size = certify.sign(target)
            if size is None:
                return "undecided"
            bound = _rational(tolerance.relative) * size * target
        return _within(error, bound, "rounded")
    places = len(literal.group(3) or "")
    digits = (literal.group(2) + (literal.group(3) or "")).lstrip("0")
    return _within(error, sp.Rational(5, 10 ** (places + 1)),
                   "rounded" if len(digits) >= tolerance.sigfigs else "too-few-digits")


def _within(error: sp.Expr, bound: sp.Expr, kind: str) -> str | None:
    """`kind` if error <= bound is certain, None if error > bound is, else 'undecided'."""
    room = certify.sign(bound - error)
    if room is None:
        return "undecided"
    return kind if room >= 0 else None


def _rational(value: Decimal) -> sp.Rational:
    fraction = Fraction(value)  # a tolerance was size-checked when it was read
    return sp.Rational(fraction.numerator, fraction.denominator)


def _equal(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Certainly equal (True), certainly not (False), or undecided (None)."""
    return certify.equal(a, b)


def _matches(kind: str | None) -> bool:
    return kind is not None and kind != "undecided"


def judge_number(key: str, text: str | None, answer_key: AnswerKey, given_all: dict, tolerance: Tolerance) -> Judgement:
    expected = answer_key.values[key]
    shown = _shown(expected)
    if text is None:
        return Judgement(key, "missing", shown, None, (), f"No answer for {key}; expected {shown}.")
    try:
        given = read_number(text)
    except NotationError as error:
        return Judgement(key, "unparseable", shown, text, (), f"Could not read the answer: {error}.")
    kind = match(text, given, expected, tolerance)
    if kind in ("exact", "rounded"):
        return Judgement(key, "correct", shown, text, (), "Correct.")
    if kind == "undecided":
        return Judgement(key, "unknown", shown, text, (),
                         "Could not decide whether this equals the expected value (undecided); "
                         "it is counted neither right nor wrong.")
    if kind == "too-few-digits":
        return Judgement(key, "incorrect", shown, text, ("rounding",),
                         f"The value is right but too coarse: give at least {tolerance.sigfigs} significant figures ({shown}).")
    mistakes = []
    for mistake, values in answer_key.variants:
        wrong = values.get(key)
        if wrong is not None and _equal(wrong, expected) is False and _matches(match(text, given, wrong, tolerance)) \
                and mistake not in mistakes:
            mistakes.append(mistake)
    carried = _carried(key, answer_key, given_all)
    if carried is not None and _equal(carried, expected) is False and _matches(match(text, given, carried, tolerance)):
        mistakes.append("carried-error")
    if mistakes:
        named = " or ".join(f"'{m}' ({DESCRIPTIONS[m]})" for m in mistakes)
        feedback = f"Expected {shown}; your answer matches the mistake {named}."

    else:
        feedback = f"Expected {shown}; your answer {text.strip()} does not match any known mistake."
    return Judgement(key, "incorrect", shown, text, tuple(mistakes), feedback)


def _shown(value: sp.Expr) -> str:
    from chainrule.numbers import decimal

    text, approx = exact(value), decimal(value)
    return text if text == approx else f"{text} ≈ {approx}"


def _carried(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr | None:
    """The value this key would have if computed correctly from the student's own earlier answers."""
    spec, model = answer_key.spec, answer_key.derivation.model
    names = spec.parameter_names
    samples = range(1, len(spec.x) + 1)
    try:
        if key == "loss":
            total = []
            for n, targets in zip(samples, spec.targets):
                values = {p.symbol: given[k] for p, k in zip(model.predictions, prediction_keys(spec, n))}
                values.update({y.symbol: rational(t) for y, t in zip(model.targets, targets)})
                total.append(model.loss.definition.xreplace(values))
            return sp.Add(*total) / len(spec.x)
        if key.startswith("gradient."):
            name = key.split(".", 1)[1]
            return sp.Add(*(given[f"sample_gradient.{n}.{name}"] for n in samples)) / len(spec.x)
        if key.startswith("updated."):
            name = key.split(".", 1)[1]
            index = names.index(name)
            return rational(spec.init[index]) - rational(spec.learning_rate) * given[f"gradient.{name}"]
        if key == "new_loss":
            theta = [given[f"updated.{name}"] for name in names]
            return evaluate(answer_key.derivation, theta).loss
    except (KeyError, ValueError, TypeError):
        return None
    return None


# ---------------------------------------------------------------- proofs

_STATE_WORDS = {"le": "≤ 0", "gt": "> 0", "lt": "< 0", "ge": "≥ 0", "eq": "= 0"}


def _kink_name(polynomial: sp.Expr, answer_key: AnswerKey) -> str:
    """Name a kink by the model's pre-activation it is a multiple of, e.g. 'z'."""
    from chainrule.core.proof import _constant_ratio

    for unit in answer_key.derivation.model.units:
        composed = answer_key.derivation.composed[unit.pre.symbol]
        ratio = _constant_ratio(sp.expand(polynomial), sp.expand(composed))
        if ratio is not None:
            return unit.pre.name if ratio > 0 else f"-{unit.pre.name}"
    return str(polynomial)


def _where(proof: Proof, answer_key: AnswerKey, verdict: Verdict) -> str:
    parts = []
    for region in proof.regions:
        if region.verdict is verdict:
            parts.append(" and ".join(f"{_kink_name(p, answer_key)} {_STATE_WORDS[s]}" for p, s in region.signs))
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
        return Proof(Verdict.REFUTED, "exact evaluation at a point", counterexample=point)
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
    unit, source = model.unit_of(node)
    expected_rhs = unit.delta.name + ("" if source is None else f" * {source.name}")
    expected = f"dL/d{parameter} = ... = {expected_rhs}"
    if text is None:
        return Judgement(key, "missing", expected, None, (), f"No proof for {parameter}.")
    try:
        chain = _chain(text, answer_key.source)
    except NotationError as error:
        return Judgement(key, "unparseable", expected, text, (), f"Could not read the proof: {error}.")
    if len(chain) < 2:
        return Judgement(key, "incorrect", expected, text, (), "A proof is a chain A = B = …; this has no '='.")
    local = _chain(text, answer_key.source, local=True)
    deadline = time.monotonic() + seconds
    remaining = lambda: max(0.05, deadline - time.monotonic())  # noqa: E731
    unknown = None
    for index, (left, right) in enumerate(zip(chain, chain[1:]), start=1):
        proof = decide((local[index - 1], local[index]), (left, right), answer_key, remaining)
        if proof.verdict is Verdict.REFUTED:
            holds = _where(proof, answer_key, Verdict.PROVED)
            side = f" It holds only where {holds}, not where {_where(proof, answer_key, Verdict.REFUTED)}." if holds else ""
            return Judgement(key, "incorrect", expected, text, (),
                             f"Step {index} (between expression {index} and {index + 1}) is wrong: the two sides "
                             f"differ at {_point(proof, left, right)}.{side}")
        if proof.verdict is Verdict.UNKNOWN and unknown is None:
            unknown = (index, proof.reason)
    vocabulary = answer_key.local
    starts = decide((local[0], vocabulary.derivative(model.loss.name, parameter)),
                     (chain[0], derivation.direct[parameter]), answer_key, remaining)
    rhs_value = derivation.compose(derivation.backprop[parameter])
    ends = decide((local[-1], vocabulary.expand(derivation.backprop[parameter])), (chain[-1], rhs_value),
                   answer_key, remaining)
    written = {answer_key.vocabulary.node_name(n) for n in canonical_names(_segments(text)[-1])}
    ends_written = unit.delta.name in written
    if starts.verdict is Verdict.REFUTED:
        return Judgement(key, "incorrect", expected, text, (), f"The chain does not start at ∂L/∂{parameter}.")
    if ends.verdict is Verdict.REFUTED or (ends.verdict is Verdict.PROVED and not ends_written):
        return Judgement(key, "incorrect", expected, text, (),
                         f"Every step holds, but the chain should end at the backpropagation form {expected_rhs}.")
    if unknown is not None or Verdict.UNKNOWN in (starts.verdict, ends.verdict):
        reason = unknown[1] if unknown else (starts.reason or ends.reason)
        return Judgement(key, "unknown", expected, text, (), f"Could not decide every step ({reason}).")
    return Judgement(key, "correct", expected, text, (), "Every step is proved, from ∂L/∂"
                     f"{parameter} to {expected_rhs}.")


# ---------------------------------------------------------------- files

def check(answers: Answers, seconds: float = DEFAULT_TIME_LIMIT, tolerance: Tolerance | None = None) -> FileReport:
    """Judge every key of an answers file; keys the file lacks are `missing`.

    The tolerance is the grader's: `tolerance` (check --tolerance), else the spec's, else the
    default; an answers file's own `[tolerance]` is never used (`answers.ignored` says so).
    """
    key = answer_key(answers.spec)
    spec = key.spec
    tolerance = tolerance or spec.tolerance or Tolerance()
    problems = tuple(check_keys(answers, spec, spec.parameter_names))
    texts = {name: text for name, text in answers.numbers if text.strip()}  # a blank answer is missing
    given = {}
    for name, text in texts.items():
        with contextlib.suppress(NotationError, TimeLimit, RecursionError, MemoryError, ArithmeticError, ValueError):
            if name in key.values:
                with time_limit(seconds):
                    given[name] = read_number(text)
    judgements = []
    for name, _ in answer_keys(spec):
        judgements.append(_bounded(name, texts.get(name), seconds,
                                   lambda n=name: judge_number(n, texts.get(n), key, given, tolerance)))
    proofs = {name: text for name, text in answers.proofs if text.strip()}
    for parameter in spec.parameter_names:
        judgements.append(_bounded(f"proofs.{parameter}", proofs.get(parameter), seconds,
                                   lambda p=parameter: judge_proof(p, proofs.get(p), key, seconds)))
    return FileReport(answers.path, answers.student, answers.spec, tuple(judgements), problems,
                      ignored=answers.ignored)


def _bounded(key: str, text: str | None, seconds: float, judge) -> Judgement:
    try:
        with time_limit(seconds + 0.5):
            return judge()
    except (TimeLimit, RecursionError, MemoryError, ArithmeticError, ValueError) as error:
        # ArithmeticError, ValueError: SymPy or mpmath gave up on a number (an overflow, a digit limit).
        reason = "time limit" if isinstance(error, TimeLimit) else "too large to check"
        return Judgement(key, "unknown", "", text, (), f"Could not check this answer: {reason}.")
