"""Judge a student's answers: numbers against the exact key, proofs step by step, mistakes by name.

Every judgement is a verdict — correct, incorrect, unparseable, missing or unknown — with the
expected value, what was given, the catalogue mistakes it matches and one sentence of feedback.
Each answer is bounded in time; past the limit it is `unknown` with the reason "time limit".
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from chainrule.check.answer_key import DEFAULT_TIME_LIMIT, AnswerKey, FileReport, Judgement, Mark, answer_key
from chainrule.check.answers import Answers, answer_keys, check_keys
from chainrule.check.carried import carried_value
from chainrule.check.mistakes import DESCRIPTIONS, EXPLANATIONS
from chainrule.check.notation import FreeVocabulary, parse
from chainrule.check.proofs import judge_proof
from chainrule.check.tolerances import accepted_bound
from chainrule.check.tokens import NotationError
from chainrule.core import certify
from chainrule.core.exact_pass import difference, negative
from chainrule.core.spec import Tolerance
from chainrule.deadline import TimeLimit, time_limit
from chainrule.numbers import exact
from chainrule.plain_text import full_stop

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


# A decimal as a person or a program writes it: `-0.0105`, `1170`, `1.05e-3`, `1.05E-3`,
# `1.05 \times 10^{-3}`, `1.05·10^-3`. Its digits tell only whether it has too few figures (match).
_LITERAL = re.compile(r"""\s*(?P<sign>[-+]?)(?P<whole>\d*)(?P<point>\.(?P<fraction>\d*))?
    (?:\s*(?:[eE](?P<e>[-+]?\d{1,3})
          |(?:\\times|\\cdot|·|×|\*)\s*10\s*\^\s*(?:\{\s*(?P<braced>[-+]?\d{1,3})\s*\}|(?P<bare>[-+]?\d{1,3}))))?
    \s*""", re.VERBOSE)
FLOAT_ULPS = 4  # a float64 printout may be this many units in the last place from the exact value
FLOAT_DIGITS = 15  # from this many significant digits on, a decimal may be a float64 printout


@dataclass(frozen=True)
class Literal:
    """A decimal literal: its exact value, significant digits, trailing zeros and last stated place."""

    value: sp.Rational
    digits: int  # significant digits as written: 3 for 1.05e-3, 4 for 1170, 3 for 0.00105
    zeros: int  # trailing zeros of an integer mantissa (1170: 1); they may or may not be significant
    last: int  # the power of ten of the last digit written: -5 for 1.05e-3, 0 for 1170
    text: str  # normalised for float(): '1.05e-3'


def literal(text: str) -> Literal | None:
    """The decimal a text states, with its precision; None if it is not a plain decimal."""
    found = _LITERAL.fullmatch(text)
    if not found or not (found["whole"] or found["fraction"]):
        return None
    whole, fraction = found["whole"], found["fraction"] or ""
    exponent = int(found["e"] or found["braced"] or found["bare"] or 0)
    mantissa = (whole + fraction).lstrip("0")
    zeros = 0 if found["point"] or not mantissa else len(mantissa) - len(mantissa.rstrip("0"))
    value = sp.Rational(int(whole + fraction or "0"), 10 ** len(fraction)) * sp.Rational(10) ** exponent
    return Literal(-value if found["sign"] == "-" else value, len(mantissa), zeros, exponent - len(fraction),
                   f"{found['sign']}{whole or '0'}.{fraction or '0'}e{exponent}")


class Match(StrEnum):
    """How an answer matches a value (`match`); None is no match."""

    EXACT = "exact"
    ROUNDED = "rounded"  # an acceptable decimal
    TOO_FEW_DIGITS = "too-few-digits"  # right to the fewer figures it states
    UNDECIDED = "undecided"  # could not be certified either way

    @property
    def right(self) -> bool:
        return self in (Match.EXACT, Match.ROUNDED)


def match(text: str, given: sp.Expr, target: sp.Expr, tolerance: Tolerance) -> Match | None:
    """EXACT, ROUNDED (an acceptable decimal), TOO_FEW_DIGITS, UNDECIDED, or None (no match).

    A decimal is right when it lies in the tolerance band around the exact value (tolerances.py,
    the rule Moodle's quiz shares): with 3 significant figures, 3.62, 3.612 and 3.6160 are all
    right for 3.616002. A printout of 15 or more digits may also be a float64 within FLOAT_ULPS
    units in the last place. A value outside the band that is right to the fewer figures it states
    (`2.9` for 2.855647) is TOO_FEW_DIGITS. Every comparison is certified (certify.py): equal,
    within the bound, or not — and UNDECIDED when that cannot be shown.
    """
    same = _equal(given, target)
    if same:
        return Match.EXACT
    stated = literal(text)
    if stated is None:
        return None if same is False else Match.UNDECIDED
    apart = difference(target, stated.value)  # as SymPy's target - value, without its questions
    direction = certify.sign(apart)
    if direction is None:
        return Match.UNDECIDED
    error = sp.S.Zero if direction == 0 else apart if direction > 0 else negative(apart)  # |target - given|, exactly
    as_float = _float_printout(stated, error)
    if as_float is Match.ROUNDED:
        return as_float
    bound = accepted_bound(target, tolerance)
    if bound is None:
        return Match.UNDECIDED
    kind = _within(error, bound, Match.ROUNDED)
    if kind is None and tolerance.absolute is None and tolerance.relative is None:
        kind = _coarse(stated, error, tolerance.sigfigs)
    return kind or as_float


def _coarse(stated: Literal, error: sp.Expr, sigfigs: int) -> Match | None:
    """TOO_FEW_DIGITS when the literal states fewer than `sigfigs` figures and is right to those.

    An integer's trailing zeros may or may not be significant: `1200` for 1174.3 is right to 2.
    """
    fewest = stated.digits - stated.zeros
    if fewest >= sigfigs:
        return None
    half_unit = sp.Rational(5) * sp.Rational(10) ** (stated.last + stated.zeros - 1)
    return _within(error, half_unit, Match.TOO_FEW_DIGITS)


def _float_printout(stated: Literal, error: sp.Expr) -> Match | None:
    """ROUNDED when a long decimal is a float64 within FLOAT_ULPS ulps of the exact value."""
    if stated.digits < FLOAT_DIGITS:
        return None
    double = float(stated.text)
    if not math.isfinite(double) or double == 0:
        return None
    ulp = Fraction(math.ulp(double))
    return _within(error, FLOAT_ULPS * sp.Rational(ulp.numerator, ulp.denominator), Match.ROUNDED)


def _within(error: sp.Expr, bound: sp.Expr, kind: Match) -> Match | None:
    """`kind` if error <= bound is certain, None if error > bound is, else UNDECIDED."""
    room = certify.sign(difference(bound, error))
    if room is None:
        return Match.UNDECIDED
    return kind if room >= 0 else None


def _equal(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Certainly equal (True), certainly not (False), or undecided (None)."""
    return certify.equal(a, b)


def _matches(kind: Match | None) -> bool:
    return kind is not None and kind is not Match.UNDECIDED


def judge_number(key: str, text: str | None, answer_key: AnswerKey, given_all: dict, tolerance: Tolerance,
                 texts: dict | None = None) -> Judgement:
    """One numeric answer. `given_all`, `texts`: the student's other answers (values, as written),
    which explain a carried error and rule out mistakes that would have changed them."""
    expected = answer_key.values[key]
    shown = _shown(expected)
    rule = tolerance.for_key(key)
    if text is None:
        return Judgement(key, Mark.MISSING, shown, None, (), f"No answer for {key}; expected {shown}.")
    try:
        given = read_number(text)
    except NotationError as error:
        return Judgement(key, Mark.UNPARSEABLE, shown, text, (), full_stop(f"Could not read the answer: {error}"))
    kind = match(text, given, expected, rule)
    if kind is not None and kind.right:
        return Judgement(key, Mark.CORRECT, shown, text, (), "Correct.")
    if kind is Match.UNDECIDED:
        return Judgement(key, Mark.UNKNOWN, shown, text, (),
                         "Could not decide whether this equals the expected value (undecided); "
                         "it is counted neither right nor wrong.")
    # A coarse value that is exactly what a catalogue mistake gives ("1" where the update leaves
    # w0 = 1 unchanged, for 0.966) is that mistake, not a rounding of the right value.
    exactly = kind is Match.TOO_FEW_DIGITS
    matched = _matched_mistakes(key, text, given, answer_key, rule, exact_only=exactly)
    carried = _matches_value(carried_value(key, answer_key, given_all), text, given, expected, rule, exact_only=exactly)
    if exactly and not matched and not carried:
        return Judgement(key, Mark.INCORRECT, shown, text, ("rounding",),
                         f"Expected {shown}; give at least {rule.sigfigs} significant figures. "
                         f"{EXPLANATIONS['rounding']}")
    mistakes, ruled_out = _consistent(key, matched, answer_key, given_all, texts or {}, tolerance)
    if carried:
        mistakes.append("carried-error")
    if mistakes:
        named = " or ".join(f"'{m}' ({DESCRIPTIONS[m]})" for m in mistakes)
        feedback = f"Expected {shown}; your answer matches the mistake {named}."
        for mistake, (other, would_be) in ruled_out.items():
            feedback += _ruled_out(mistake, other, would_be, answer_key, texts, tolerance)
        feedback += " " + " ".join(EXPLANATIONS[m] for m in mistakes)
    else:
        feedback = f"Expected {shown}; your answer {text.strip()} does not match any known mistake."
    return Judgement(key, Mark.INCORRECT, shown, text, tuple(mistakes), feedback)


def _matches_value(wrong: sp.Expr | None, text: str, given: sp.Expr, expected: sp.Expr, rule,
                   exact_only: bool = False) -> bool:
    """Does the answer match this wrong value (one that differs from the right one)? Exactly, if asked."""
    if wrong is None or _equal(wrong, expected) is not False:
        return False
    return _equal(given, wrong) is True if exact_only else _matches(match(text, given, wrong, rule))


def _matched_mistakes(key: str, text: str, given: sp.Expr, answer_key: AnswerKey, rule,
                      exact_only: bool = False) -> list[tuple[str, dict]]:
    """The catalogue's (mistake, values) whose value for this key the answer matches."""
    expected = answer_key.values[key]
    return [(mistake, values) for mistake, values in answer_key.variants
            if _matches_value(values.get(key), text, given, expected, rule, exact_only)]


# The order in which the homework computes its answers: a mistake shows in its own stage and after.
_STAGES = {"prediction": 0, "loss": 1, "sample_gradient": 2, "gradient": 3, "updated": 4, "new_loss": 5}


def _consistent(key: str, matched: list, answer_key: AnswerKey, given: dict, texts: dict,
                tolerance: Tolerance) -> tuple[list[str], dict]:
    """The mistakes that explain this value, narrowed by the student's own earlier answers.

    When several mistakes give this value, one is ruled out by an earlier answer it would have
    changed that the student has another way: right (a wrong-signed update with right gradients is
    not residual-sign), or as another of the candidates gives it — unless that rules out all of
    them. Returns (mistake ids, {ruled-out id: (earlier key, the value that mistake gives it)}).
    """
    ids = list(dict.fromkeys(mistake for mistake, _ in matched))
    if len(ids) < 2:
        return ids, {}
    stage = _STAGES.get(key.split(".", 1)[0], 0)
    earlier = [k for k in answer_key.values if _STAGES.get(k.split(".", 1)[0], 0) < stage and k in given and k in texts]
    suffix = key.rsplit(".", 1)[-1]
    earlier.sort(key=lambda k: not k.endswith(f".{suffix}"))  # updated.w1: gradient.w1 is the best witness
    fits = lambda k, value: _matches(match(texts[k], given[k], value, tolerance.for_key(k)))  # noqa: E731
    evidence: dict[str, tuple[str, sp.Expr]] = {}
    kept = []
    for mistake, values in matched:
        against = None
        for k in earlier:
            if k not in values or fits(k, values[k]):
                continue
            explained = [answer_key.values[k]] + [v[k] for m, v in matched if m != mistake and k in v]
            if any(fits(k, value) for value in explained):
                against = (k, values[k])
                break
        if against is None:
            kept.append(mistake)
        else:
            evidence.setdefault(mistake, against)
    kept = list(dict.fromkeys(kept))
    if not kept:
        return ids, {}
    return kept, {m: evidence[m] for m in ids if m not in kept}


def _ruled_out(mistake: str, key: str, would_be: sp.Expr, answer_key: AnswerKey, texts: dict, tolerance: Tolerance) -> str:
    """" Not 'residual-sign': it would make gradient.w0 -17/5 ≈ -3.4, but yours is 3.4, which is right." """
    written = texts[key].strip()
    kind = match(written, read_number(written), answer_key.values[key], tolerance.for_key(key))
    right = kind is not None and kind.right
    return (f" Not '{mistake}': it would make {key} {_shown(would_be)}, but yours is {written}"
            f"{', which is right' if right else ''}.")


SHOWN_EXACT_CHARACTERS = 200  # past this, feedback gives the decimal and says how long the exact form is


def _shown(value: sp.Expr) -> str:
    from chainrule.numbers import decimal, significant

    text, approx = exact(value), decimal(value)
    if len(text) > SHOWN_EXACT_CHARACTERS:  # a sigmoid network's new loss: thousands of characters
        return (f"≈ {significant(value, 15)} (exact form {len(text)} characters long: "
                "`chainrule solve --json` prints it)")
    return text if text == approx else f"{text} ≈ {approx}"


# ---------------------------------------------------------------- proofs


# ---------------------------------------------------------------- files

def check(answers: Answers, seconds: float = DEFAULT_TIME_LIMIT, tolerance: Tolerance | None = None,
          budget: float | None = None) -> FileReport:
    """Judge every key of an answers file; keys the file lacks are `missing`.

    The tolerance is the grader's: `tolerance` (check --tolerance), else the spec's, else the
    default; an answers file's own `[tolerance]` is never used (`answers.ignored` says so).
    `budget` bounds the whole file (a PrairieLearn call): each answer gets at most `seconds` and
    what is left, and an answer reached after the budget is spent is `unknown` (time limit).
    """
    deadline = None if budget is None else time.monotonic() + budget
    share = lambda: seconds if deadline is None else min(seconds, deadline - time.monotonic())  # noqa: E731
    key = answer_key(answers.spec)
    spec = key.spec
    tolerance = tolerance or spec.tolerance or Tolerance()
    problems = tuple(check_keys(answers, spec, spec.trained_names))
    texts = {name: text for name, text in answers.numbers if text.strip()}  # a blank answer is missing
    given = {}
    for name, text in texts.items():
        with contextlib.suppress(NotationError, TimeLimit, RecursionError, MemoryError, ArithmeticError, ValueError):
            limit = share()
            if name in key.values and limit > 0:
                with time_limit(limit):
                    given[name] = read_number(text)
    judgements = []
    for name, _ in answer_keys(spec):
        judgements.append(_bounded(name, texts.get(name), share(),
                                   lambda n=name: judge_number(n, texts.get(n), key, given, tolerance, texts)))
    proofs = {name: text for name, text in answers.proofs if text.strip()}
    for parameter in spec.trained_names:  # a frozen parameter's gradient is not asked for
        limit = share()
        judgements.append(_bounded(f"proofs.{parameter}", proofs.get(parameter), limit,
                                   lambda p=parameter, s=limit: judge_proof(p, proofs.get(p), key, s)))
    return FileReport(answers.path, answers.student, answers.spec, tuple(judgements), problems,
                      ignored=answers.ignored)


def _bounded(key: str, text: str | None, seconds: float, judge) -> Judgement:
    if seconds <= 0 and text is not None:  # the file's budget is spent; a missing answer still costs nothing
        return Judgement(key, Mark.UNKNOWN, "", text, (), "Could not check this answer: time limit.")
    try:
        with time_limit(max(seconds, 0) + 0.5):
            return judge()
    except (TimeLimit, RecursionError, MemoryError, ArithmeticError, ValueError) as error:
        # ArithmeticError, ValueError: SymPy or mpmath gave up on a number (an overflow, a digit limit).
        reason = "time limit" if isinstance(error, TimeLimit) else "too large to check"
        return Judgement(key, Mark.UNKNOWN, "", text, (), f"Could not check this answer: {reason}.")
