"""A Moodle XML question bank from a variants folder: one whole variant per Cloze question.

`--by variant` (the default): per variant one Cloze (multianswer) question holding the whole
problem (network picture, equations, data) with every numeric answer as a NUMERICAL
sub-question, in one category for all variants, so that a quiz's "random question" from it gives
each student one whole variant; and per variant an essay question for the proofs, with the
worked chains as the grader's information, in a sibling category. `--by question`: a category per
answers-file key with every variant's NUMERICAL question for it (the older layout).

Every answer's tolerance comes from the rule `check` grades with (check/tolerances.py, through
moodle_numbers.py), and a wrong answer naming a catalogue mistake is dropped when its interval
could touch the right answer's. Questions carry a stable <idnumber> and <tags>. The same folder
gives byte-identical XML.

    quiz(Path("variants"))  # '<?xml version=...?>\\n<quiz>\\n  <question type="category">...'
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import sympy as sp

from chainrule.check.answers import answer_keys
from chainrule.check.mistakes import CATALOGUE, DESCRIPTIONS, EXPLANATIONS, answer_values, variants
from chainrule.classroom.batch import KEY_JSON, MANIFEST, folder_of, read_batch, read_json
from chainrule.classroom.moodle_cloze import (
    cloze_body,
    escape,
    grader_info,
    marker,
    precision,
    proofs_text,
    statement,
)
from chainrule.classroom.moodle_numbers import MoodleNumber, moodle_number, overlaps
from chainrule.core.derivation import Derivation, derive
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.spec import Spec, Tolerance, question_of
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError
from chainrule.numbers import close, significant
from chainrule.render.network_svg import svg

APPROX_DIGITS = 30  # significant digits of the values compared with answer_key.json
MAX_MISTAKES = 4  # wrong answers named per sub-question
RANK = MappingProxyType({m.id: n for n, m in enumerate(CATALOGUE)})  # the catalogue lists common mistakes first
PENALTY = "0.3333333"  # Moodle's default: a third of the mark lost per wrong try
NUMERICAL_OPTIONS = (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"), ("unitsleft", "0"))
ESSAY_OPTIONS = (("responseformat", "editor"), ("responserequired", "1"), ("responsefieldlines", "15"),
                 ("attachments", "0"), ("attachmentsrequired", "0"))


class Grouping(StrEnum):
    """`moodle --by`: how the question bank's categories are cut."""

    VARIANT = "variant"  # one category of whole-variant Cloze questions (and one of proofs essays)
    QUESTION = "question"  # one category per answers-file key, with every variant's NUMERICAL question


ROOT = "$course$/top/chainrule"


@dataclass(frozen=True)
class Choice:
    """One answer: a decimal, its absolute tolerance, a grade and feedback."""

    fraction: int  # percent of the mark
    answer: str
    tolerance: str
    feedback: str  # HTML


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes


class Kind(StrEnum):
    """A Moodle question type, as its XML `type` attribute spells it."""

    CLOZE = "cloze"
    ESSAY = "essay"
    NUMERICAL = "numerical"


@dataclass(frozen=True)
class Question:
    kind: Kind
    name: str
    idnumber: str
    tags: tuple[str, ...]
    text: str  # HTML
    feedback: str  # HTML: general feedback
    files: tuple[Attachment, ...] = ()
    choices: tuple[Choice, ...] = ()  # numerical only
    grade: int = 1  # essay and numerical; a Cloze question's mark is the sum of its sub-questions'
    graderinfo: str = ""  # essay only


@dataclass(frozen=True)
class Category:
    path: str
    idnumber: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class KeyRow:
    """One variant's row of answer_key.json."""

    exact: Mapping[str, str]
    decimals: Mapping[str, Decimal]


@dataclass(frozen=True)
class Variant:
    """A variant's questions in every layout."""

    number: int
    base: str  # the spec's name without the variant suffix
    cloze: Question
    essay: Question
    numerical: tuple[tuple[str, Question], ...]  # (key, question) for --by question


def quiz(folder: Path, by: Grouping | str = Grouping.VARIANT) -> str:
    """The Moodle XML question bank of a folder written by `chainrule variants`."""
    if by not in Grouping.__members__.values():
        raise ChainruleError(f"--by {by}: expected one of {', '.join(Grouping)}")
    by = Grouping(by)
    folder = Path(folder)
    batch = read_batch(folder)
    if not batch.specs:
        raise ChainruleError(f"{folder / MANIFEST}: the manifest lists no variants")
    rows = read_answer_key(folder)
    missing = sorted(set(batch.specs) - set(rows))
    if missing:
        raise ChainruleError(f"{folder / KEY_JSON}: no row for variant {missing[0]}, which {folder / MANIFEST} lists")
    built = [variant(load(batch.spec_for(n, "", str(folder))), n, rows[n], folder / KEY_JSON) for n in sorted(batch.specs)]
    return to_xml(by_variant(built) if by is Grouping.VARIANT else by_question(built))


def by_variant(built: list[Variant]) -> list[Category]:
    """All variants' Cloze questions in one category (a random question draws one whole variant);
    the proofs essays in a sibling category."""
    base = built[0].base
    return [Category(f"{ROOT}/{base}/variants", f"chainrule-{base}-variants", tuple(v.cloze for v in built)),
            Category(f"{ROOT}/{base}/proofs", f"chainrule-{base}-proofs", tuple(v.essay for v in built))]


def by_question(built: list[Variant]) -> list[Category]:
    """One category per answers-file key, holding that question of every variant."""
    base = built[0].base
    slots: dict[str, list[Question]] = {}
    for v in built:
        for key, question in v.numerical:
            slots.setdefault(key, []).append(question)
    return [Category(f"{ROOT}/{base}/{key}", f"chainrule-{base}-{key}", tuple(questions))
            for key, questions in slots.items()]


# ---------------------------------------------------------------- the answer key

def read_answer_key(folder: Path) -> dict[int, KeyRow]:
    """answer_key.json's rows by variant number, validated."""
    path = folder / KEY_JSON
    data = read_json(path, "answer key")
    if not isinstance(data, list):
        raise ChainruleError(f"{path}: not a valid answer key (expected a list of rows, one per variant)")
    rows: dict[int, KeyRow] = {}
    for index, entry in enumerate(data, 1):
        try:
            number, row = _row(entry)
        except ValueError as error:
            raise ChainruleError(f"{path}: row {index}: {error}") from None
        if number in rows:
            raise ChainruleError(f"{path}: row {index}: variant {number} appears twice")
        rows[number] = row
    return rows


def _row(entry) -> tuple[int, KeyRow]:
    if not isinstance(entry, dict):
        raise ValueError("expected an object with 'variant', 'answers' and 'decimals'")
    number = entry.get("variant")
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError("key 'variant': expected an integer")
    exact, decimals = (_strings(entry, name) for name in ("answers", "decimals"))
    values = {}
    for key, text in decimals.items():
        try:
            values[key] = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"key 'decimals.{key}': {text!r} is not a decimal") from None
        if not values[key].is_finite():
            raise ValueError(f"key 'decimals.{key}': {text!r} is not a finite decimal")
    return number, KeyRow(MappingProxyType(exact), MappingProxyType(values))


def _strings(entry: dict, name: str) -> dict[str, str]:
    table = entry.get(name)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"key '{name}': expected an object of strings")
    return table


# ---------------------------------------------------------------- one variant

def variant(spec: Spec, number: int, row: KeyRow, key_path: Path) -> Variant:
    """A variant's Cloze question, proofs essay and per-key numerical questions."""
    derivation = derive(build(spec), symbolic=False)
    right, wrong = _values(derivation)
    rule = spec.tolerance or Tolerance()
    base = spec.name.removesuffix(f"-{folder_of(number)}")
    prefix = f"chainrule-{base}-{folder_of(number)}"
    tags = ("chainrule", base, folder_of(number))
    picture = svg(derivation.model).encode("utf-8")
    size = _svg_size(picture)
    text = statement(derivation, number, size)
    sub_choices, numerical = {}, []
    for key, asks in answer_keys(spec):
        _agree(row, key, right[key], number, key_path, spec)
        mistakes = tuple((mid, values[key]) for mid, values in wrong if _finite(values[key]))
        sub_choices[key] = choices(right[key], mistakes, rule.for_key(key))
        question = question_of(key)
        numerical.append((key, Question(
            Kind.NUMERICAL, f"{folder_of(number)} {key}", f"{prefix}-{key}", (*tags, f"question-{question}"),
            text + f"<p>Give {escape(asks)}, {escape(precision(rule.for_key(key)))}.</p>",
            f"<p>The exact value is {escape(row.exact[key])}.</p>",
            (Attachment("network.svg", picture),), sub_choices[key])))
    body, subs = cloze_body(spec, {k: marker(1, c) for k, c in sub_choices.items()}, rule)
    exact = "".join(f"<li>{escape(s.key)}: {escape(row.exact[s.key])}</li>" for s in subs)
    cloze = Question(Kind.CLOZE, f"{folder_of(number)} {base}", prefix,
                     (*tags, "cloze", *sorted({f"question-{question_of(k)}" for k in sub_choices})),
                     text + body, f"<p>The exact values:</p><ul>{exact}</ul>", (Attachment("network.svg", picture),))
    essay = Question(Kind.ESSAY, f"{folder_of(number)} {base} proofs", f"{prefix}-proofs", (*tags, "proofs", "question-3"),
                     proofs_text(derivation, number), "", grade=len(derivation.model.spec.trained_names),
                     graderinfo=grader_info(derivation))
    return Variant(number, base, cloze, essay, tuple(numerical))


def _values(derivation: Derivation) -> tuple[dict, tuple[tuple[str, dict], ...]]:
    """The correct answers, and the answers under each catalogue mistake (as in checking.answer_key)."""
    model = derivation.model
    right = answer_values(model, train(derivation, steps=1))
    return right, tuple((mid, answer_values(model, t)) for mid, t in variants(derivation))


def _agree(row: KeyRow, key: str, value: sp.Expr, number: int, key_path: Path, spec: Spec) -> None:
    if key not in row.exact or key not in row.decimals:
        raise ChainruleError(f"{key_path}: variant {number}: key '{key}' is missing; regenerate the batch")
    approx = Decimal(significant(value, APPROX_DIGITS))
    if not close(row.decimals[key], approx, relative="1e-25"):  # equal up to the last digits of two 30-digit decimals
        raise ChainruleError(f"{key_path}: variant {number}: key '{key}': {row.decimals[key]} disagrees with "
                             f"{approx} computed from {spec.path}; regenerate the batch")


def _finite(value: sp.Expr) -> bool:
    return not value.has(sp.zoo, sp.oo, sp.nan)


def _svg_size(picture: bytes) -> tuple[int, int]:
    root = ET.fromstring(picture)
    return int(root.get("width")), int(root.get("height"))


# ---------------------------------------------------------------- answers

def choices(right: sp.Expr, mistakes: tuple[tuple[str, sp.Expr], ...], rule: Tolerance) -> tuple[Choice, ...]:
    """The correct answer, then up to MAX_MISTAKES mistaken values, sorted by mistake id.

    A mistaken value whose interval could touch the right answer's is dropped: a response
    in both would be marked right and named a mistake at once.
    """
    correct = moodle_number(right, rule)
    ids_by_value: dict[str, tuple[set[str], MoodleNumber]] = {}
    for mid, value in mistakes:
        number = moodle_number(value, rule)
        if overlaps(number, correct):
            continue
        ids_by_value.setdefault(number.answer, (set(), number))[0].add(mid)
    common = sorted(ids_by_value.values(), key=lambda item: (min(RANK.get(i, len(RANK)) for i in item[0]),
                                                              item[1].centre))
    kept: list[tuple[tuple[str, ...], MoodleNumber]] = []
    for ids, number in common:
        if len(kept) < MAX_MISTAKES and not any(overlaps(number, other) for _, other in kept):
            kept.append((tuple(sorted(ids)), number))
    kept.sort(key=lambda item: (item[0], item[1].centre))
    return (Choice(100, correct.answer, correct.tolerance, "Correct."),
            *(Choice(0, n.answer, n.tolerance, mistake_feedback(ids)) for ids, n in kept))


def mistake_feedback(ids: tuple[str, ...]) -> str:
    """'This matches the mistake 'id': description.', naming every mistake that gives the value."""
    named = "; ".join(f"'{mid}': {DESCRIPTIONS.get(mid, 'a catalogue mistake')}" for mid in ids)
    noun = "mistake" if len(ids) == 1 else "mistakes"
    advice = "".join(f"<p>{escape(EXPLANATIONS[mid])}</p>" for mid in ids if mid in EXPLANATIONS)
    return escape(f"This matches the {noun} {named}.") + advice


# ---------------------------------------------------------------- XML

def to_xml(categories: list[Category]) -> str:
    root = ET.Element("quiz")
    for c in categories:
        root.append(_category_element(c))
        root.extend(_question_element(q) for q in c.questions)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8") + "\n"


def _category_element(c: Category) -> ET.Element:
    question = ET.Element("question", type="category")
    _text(ET.SubElement(question, "category"), c.path)
    ET.SubElement(question, "idnumber").text = c.idnumber
    return question


def _question_element(q: Question) -> ET.Element:
    question = ET.Element("question", type=q.kind)
    _text(ET.SubElement(question, "name"), q.name)
    text = ET.SubElement(question, "questiontext", format="html")
    _text(text, q.text)
    for attachment in q.files:
        ET.SubElement(text, "file", name=attachment.name, path="/", encoding="base64").text = \
            base64.b64encode(attachment.content).decode("ascii")
    _text(ET.SubElement(question, "generalfeedback", format="html"), q.feedback)
    if q.kind is not Kind.CLOZE:  # Moodle sums a Cloze question's mark from its sub-questions
        ET.SubElement(question, "defaultgrade").text = str(q.grade)
    for tag, value in (("penalty", PENALTY), ("hidden", "0"), ("idnumber", q.idnumber)):
        ET.SubElement(question, tag).text = value
    if q.kind is Kind.NUMERICAL:
        for choice in q.choices:
            answer = ET.SubElement(question, "answer", fraction=str(choice.fraction), format="moodle_auto_format")
            _text(answer, choice.answer)
            ET.SubElement(answer, "tolerance").text = choice.tolerance
            _text(ET.SubElement(answer, "feedback", format="html"), choice.feedback)
        for tag, value in NUMERICAL_OPTIONS:
            ET.SubElement(question, tag).text = value
    if q.kind is Kind.ESSAY:
        for tag, value in ESSAY_OPTIONS:
            ET.SubElement(question, tag).text = value
        _text(ET.SubElement(question, "graderinfo", format="html"), q.graderinfo)
        _text(ET.SubElement(question, "responsetemplate", format="html"), "")
    tags = ET.SubElement(question, "tags")
    for tag in q.tags:
        _text(ET.SubElement(tags, "tag"), tag)
    return question


def _text(parent: ET.Element, text: str) -> None:
    """Moodle's `<text>` child; ElementTree escapes it for XML."""
    ET.SubElement(parent, "text").text = text
