"""The answer key of one spec (computed once, reused for a class), judgements and reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

from chainrule.check.mistakes import answer_values, variants
from chainrule.check.vocabulary import LocalVocabulary, ModelVocabulary
from chainrule.core.derivation import Derivation, derive
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.solution import ProofMode, proof_mode
from chainrule.core.spec import Spec
from chainrule.core.spec_reader import load

DEFAULT_TIME_LIMIT = 5.0


class Mark(enum.StrEnum):
    """The verdict on one answer; a str, so JSON, CSV and text show its value ("correct") unchanged."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNPARSEABLE = "unparseable"
    MISSING = "missing"
    UNKNOWN = "unknown"  # undecided: never shown as right or as wrong


@dataclass(frozen=True)
class Judgement:
    key: str  # answers-file key: "gradient.w0", or "proofs.w0"
    verdict: Mark
    expected: str
    given: str | None
    mistakes: tuple[str, ...]
    feedback: str

    def __post_init__(self):
        # a plain "correct" (code written before Mark, a test's table) becomes the member, so `is` holds
        object.__setattr__(self, "verdict", Mark(self.verdict))


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
        return not self.problems and all(j.verdict is Mark.CORRECT for j in self.judgements)

    def count(self, verdict: Mark) -> int:
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
                     LocalVocabulary(derivation), proof_mode(derivation.model) is ProofMode.SYMBOLIC)
