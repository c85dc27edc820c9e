"""Judge a student's answers: numbers against the exact key, proofs step by step, mistakes by name.

Every judgement is a verdict — correct, incorrect, unparseable, missing or unknown — with the
expected value, what was given, the catalogue mistakes it matches and one sentence of feedback.
Each answer is bounded in time; past the limit it is `unknown` with the reason "time limit".
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from chainrule.check.answer_key import (
    DEFAULT_TIME_LIMIT,
    AnswerKey,
    FileReport,
    Judgement,
    answer_key,
)
from chainrule.check.answers import Answers, answer_keys, check_keys, prediction_keys
from chainrule.check.mistakes import DESCRIPTIONS, EXPLANATIONS
from chainrule.check.notation import FreeVocabulary, parse
from chainrule.check.proofs import judge_proof
from chainrule.check.tokens import NotationError
from chainrule.core import certify
from chainrule.core.numerics import evaluate
from chainrule.core.spec import Tolerance
from chainrule.deadline import TimeLimit, time_limit
from chainrule.numbers import exact, rational

_DECIMAL = re.compile(r"\s*([-+]?)(\d*)(?:\.(\d*))?\s*")


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
        # A coarse value that is exactly what a catalogue mistake gives ("1" where the update leaves
        # w0 = 1 unchanged, for 0.966) is that mistake, not a rounding of the right value.
        exactly = _named_mistakes(key, text, given, answer_key, given_all, tolerance, exact_only=True)
        if not exactly:
            return Judgement(key, "incorrect", shown, text, ("rounding",),
                             f"Expected {shown}; give at least {tolerance.sigfigs} significant figures. "
                             f"{EXPLANATIONS['rounding']}")
        mistakes = exactly
    else:
        mistakes = _named_mistakes(key, text, given, answer_key, given_all, tolerance)
    if mistakes:
        named = " or ".join(f"'{m}' ({DESCRIPTIONS[m]})" for m in mistakes)
        advice = " ".join(EXPLANATIONS[m] for m in mistakes)
        feedback = f"Expected {shown}; your answer matches the mistake {named}. {advice}"
    else:
        feedback = f"Expected {shown}; your answer {text.strip()} does not match any known mistake."
    return Judgement(key, "incorrect", shown, text, tuple(mistakes), feedback)


def _named_mistakes(key: str, text: str, given: sp.Expr, answer_key: AnswerKey, given_all: dict,
                    tolerance: Tolerance, exact_only: bool = False) -> list[str]:
    """The catalogue mistakes (and carried-error) whose value for this key the answer matches."""
    expected = answer_key.values[key]

    def matches(wrong: sp.Expr | None) -> bool:
        if wrong is None or _equal(wrong, expected) is not False:
            return False
        return _equal(given, wrong) is True if exact_only else _matches(match(text, given, wrong, tolerance))

    mistakes = []
    for mistake, values in answer_key.variants:
        if mistake not in mistakes and matches(values.get(key)):
            mistakes.append(mistake)
    if matches(_carried(key, answer_key, given_all)):
        mistakes.append("carried-error")
    return mistakes


def _shown(value: sp.Expr) -> str:
    from chainrule.numbers import decimal

    text, approx = exact(value), decimal(value)
    return text if text == approx else f"{text} ≈ {approx}"


def _carried(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr | None:
    """The value this key would have if computed correctly from the student's own earlier answers.

    Each answer follows from the one before it in the homework: predictions → loss and per-sample
    gradients (the backward pass rerun with the student's predictions) → mean gradient → update →
    new loss. An earlier answer the student did not give is taken as what follows from theirs
    (except for the new loss, which needs the student's own updated parameters).
    """
    try:
        value = _follow(key, answer_key, given)
    except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError):
        return None
    return None if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) else value  # log(0) of a student's ŷ = 0


def _earlier(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr:
    """The student's answer for an earlier key, or what follows from their answers before it."""
    if key in given:
        return given[key]
    if key.startswith("prediction."):
        return answer_key.values[key]
    return _follow(key, answer_key, given)


def _follow(key: str, answer_key: AnswerKey, given: dict) -> sp.Expr:
    spec, model = answer_key.spec, answer_key.derivation.model
    names = spec.parameter_names
    samples = range(1, len(spec.x) + 1)
    if key == "loss":
        total = []
        for n, targets in zip(samples, spec.targets):
            values = {p.symbol: _earlier(k, answer_key, given) for p, k in zip(model.predictions, prediction_keys(spec, n))}
            values.update({y.symbol: rational(t) for y, t in zip(model.targets, targets)})
            total.append(model.loss.definition.xreplace(values))
        return sp.Add(*total) / len(spec.x)
    if key.startswith("sample_gradient."):
        _, number, name = key.split(".", 2)
        return _backward(answer_key, int(number), given)[name]
    if key.startswith("gradient."):
        name = key.split(".", 1)[1]
        return sp.Add(*(_earlier(f"sample_gradient.{n}.{name}", answer_key, given) for n in samples)) / len(spec.x)
    if key.startswith("updated."):
        name = key.split(".", 1)[1]
        index = names.index(name)
        return rational(spec.init[index]) - rational(spec.learning_rate) * _earlier(f"gradient.{name}", answer_key, given)
    if key == "new_loss":
        # Only from the student's own θ: one followed from earlier answers of a smooth network is an
        # exact tower of exp whose comparison with the answer can take minutes.
        theta = [given[f"updated.{name}"] for name in names]
        return evaluate(answer_key.derivation, theta).loss
    raise KeyError(key)


def _backward(answer_key: AnswerKey, number: int, given: dict) -> dict[str, sp.Expr]:
    """One sample's ∂L/∂w with the student's predictions put in for ŷ, the rest of the forward pass right."""
    spec, derivation = answer_key.spec, answer_key.derivation
    model = derivation.model
    sample = _initial(answer_key).samples[number - 1]
    known = {node.symbol: sample.values[node.name] for node in model.nodes}
    for p, k in zip(model.predictions, prediction_keys(spec, number)):
        known[p.symbol] = _earlier(k, answer_key, given)
    for unit in reversed(model.units):
        known[unit.delta.symbol] = derivation.delta_formula[unit.delta.name].xreplace(known)
    gradient = {p.name: derivation.backprop[p.name].xreplace(known) for p in model.parameters}
    if any(not value.is_number or value.has(sp.Piecewise) for value in gradient.values()):
        raise ValueError("a branch could not be decided")
    return gradient


_INITIAL: dict[int, tuple] = {}


def _initial(answer_key: AnswerKey):
    """The forward and backward pass at the initial θ (computed once per answer key)."""
    if id(answer_key) not in _INITIAL:
        if len(_INITIAL) >= 64:
            _INITIAL.clear()
        theta = [rational(v) for v in answer_key.spec.init]
        _INITIAL[id(answer_key)] = (answer_key, evaluate(answer_key.derivation, theta))  # keeps the key alive
    return _INITIAL[id(answer_key)][1]


# ---------------------------------------------------------------- proofs


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
