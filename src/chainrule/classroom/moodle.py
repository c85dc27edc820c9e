"""A Moodle XML quiz from a variants folder: per variant a category, per answers-file key a numerical question.

Each question accepts the correct value within the spec's tolerance, and names the catalogue
mistakes behind up to four wrong values. The same folder gives byte-identical XML.

    quiz(Path("variants"))  # '<?xml version=...?>\\n<quiz>\\n  <question type="category">...'
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import sympy as sp

from chainrule.check.answers import answer_keys
from chainrule.check.mistakes import CATALOGUE, DESCRIPTIONS, EXPLANATIONS, answer_values, variants
from chainrule.classroom.batch import (
    KEY_JSON,
    MANIFEST,
    folder_of,
    read_batch,
    read_json,
)
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.spec import Spec, Tolerance
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError
from chainrule.numbers import decimal_text, significant

APPROX_DIGITS = 30  # significant digits of the values compared and bounded, as in answer_key.json
ANSWER_DIGITS = 12  # at least this many significant digits in an answer's text
MAX_MISTAKES = 4  # wrong answers named per question
RANK = MappingProxyType({m.id: n for n, m in enumerate(CATALOGUE)})  # the catalogue lists common mistakes first
PENALTY = "0.3333333"  # Moodle's default: a third of the mark lost per wrong try
NUMERICAL_OPTIONS = (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"), ("unitsleft", "0"))


@dataclass(frozen=True)
class Choice:
    """One `<answer>` of a numerical question: a decimal, its absolute tolerance, a grade and feedback."""

    fraction: int  # percent of the mark
    answer: str
    tolerance: str
    feedback: str  # HTML


@dataclass(frozen=True)
class Question:
    name: str
    text: str  # HTML
    feedback: str  # HTML
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class Category:
    """One variant: its question-bank category and its questions."""

    path: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class KeyRow:
    """One variant's row of answer_key.json."""

    exact: Mapping[str, str]
    decimals: Mapping[str, Decimal]


GROUPINGS = ("variant", "question")


def quiz(folder: Path, by: str = "variant") -> str:
    """The Moodle XML question bank of a folder written by `chainrule variants`.

    `by="variant"`: a category per variant with all its questions; `by="question"`: a category per
    answers-file key with every variant's version of it (for random questions).
    """
    if by not in GROUPINGS:
        raise ChainruleError(f"--by {by}: expected one of {', '.join(GROUPINGS)}")
    folder = Path(folder)
    batch = read_batch(folder)
    if not batch.specs:
        raise ChainruleError(f"{folder / MANIFEST}: the manifest lists no variants")
    rows = read_answer_key(folder)
    missing = sorted(set(batch.specs) - set(rows))
    if missing:
        raise ChainruleError(f"{folder / KEY_JSON}: no row for variant {missing[0]}, which {folder / MANIFEST} lists")
    categories = [category(load(batch.spec_for(n, "", str(folder))), n, rows[n], folder / KEY_JSON)
                  for n in sorted(batch.specs)]
    return to_xml(categories if by == "variant" else by_question(categories))


def by_question(categories: list[Category]) -> list[Category]:
    """One category per answers-file key, holding that question of every variant.

    This is the layout for Moodle's "random question from a category": each slot of the quiz
    draws one variant's version of the question (every question states its own data).
    """
    slots: dict[str, list[Question]] = {}
    for variant in categories:
        for question in variant.questions:
            slots.setdefault(question.name.split(" ", 1)[1], []).append(question)
    base = categories[0].path.rsplit("/", 1)[0] if categories else "$course$/top/chainrule"
    return [Category(f"{base}/{key}", tuple(questions)) for key, questions in slots.items()]


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

def category(spec: Spec, number: int, row: KeyRow, key_path: Path) -> Category:
    """A variant's category and its questions, one per answers-file key."""
    right, wrong = _values(spec)
    rule = spec.tolerance or Tolerance()
    data = data_html(spec)
    questions = []
    for key, asks in answer_keys(spec):
        if key not in row.exact or key not in row.decimals:
            raise ChainruleError(f"{key_path}: variant {number}: key '{key}' is missing; regenerate the batch")
        value = approx(right[key])
        if not _close(row.decimals[key], value):
            raise ChainruleError(f"{key_path}: variant {number}: key '{key}': {row.decimals[key]} disagrees with "
                                 f"{value} computed from {spec.path}; regenerate the batch")
        mistakes = tuple((mid, approx(values[key])) for mid, values in wrong if _finite(values[key]))
        questions.append(Question(
            name=f"{folder_of(number)} {key}",
            text=data + f"<p>Give {_escape(asks)}, {_escape(_precision(rule.for_key(key)))}.</p>",
            feedback=f"<p>The exact value is {_escape(row.exact[key])}.</p>",
            choices=choices(value, mistakes, rule.for_key(key)),
        ))
    base = spec.name.removesuffix(f"-{folder_of(number)}")
    return Category(f"$course$/top/chainrule/{base}/variant {number:03d}", tuple(questions))


def _values(spec: Spec) -> tuple[dict, tuple[tuple[str, dict], ...]]:
    """The correct answers, and the answers under each catalogue mistake (as in checking.answer_key)."""
    derivation = derive(build(spec), symbolic=False)
    model = derivation.model
    right = answer_values(model, train(derivation, steps=1))
    return right, tuple((mid, answer_values(model, t)) for mid, t in variants(derivation))


def approx(value: sp.Expr) -> Decimal:
    """The value to APPROX_DIGITS significant digits."""
    return Decimal(significant(value, APPROX_DIGITS))


def _close(a: Decimal, b: Decimal) -> bool:
    """Equal up to the last digits of two 30-digit decimals (robust to how they were printed)."""
    with localcontext(prec=100):
        return abs(a - b) <= max(abs(a), abs(b)) * Decimal("1e-25")


def _finite(value: sp.Expr) -> bool:
    return not value.has(sp.zoo, sp.oo, sp.nan)


def _escape(text: str) -> str:
    """User text as HTML element content (spec titles come from anyone)."""
    return html.escape(text, quote=False)


def _precision(rule: Tolerance) -> str:
    if rule.absolute is not None:
        return f"within ±{_plain_decimal(rule.absolute)}"
    if rule.relative is not None:
        return f"within a relative error of {_plain_decimal(rule.relative)}"
    return f"as a decimal with at least {rule.sigfigs} significant figures"


def data_html(spec: Spec) -> str:
    """The variant's network, data, initial parameters and learning rate, as HTML."""
    layers = ", ".join(str(n) for n in spec.sizes)
    activations = ", ".join(spec.activations)
    rows = "".join(f"<tr><td>{n}</td><td>{_vector(x)}</td><td>{_vector(t)}</td></tr>"
                   for n, (x, t) in enumerate(zip(spec.x, spec.targets), 1))
    theta = ", ".join(f"{name} = {_plain(value)}" for name, value in zip(spec.parameter_names, spec.init))
    return (f"<p><strong>{_escape(spec.title)}</strong></p>"
            f"<p>Network: layer sizes {_escape(layers)}; activations {_escape(activations)}; "
            f"loss {_escape(spec.loss.replace('_', ' '))}{_reduction(spec)}.</p>"
            f"<table><thead><tr><th>sample</th><th>x</th><th>y</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>Initial parameters: {_escape(theta)}.</p>{_options(spec)}"
            f"<p>Learning rate η = {_plain(spec.learning_rate)}; one gradient-descent step.</p>")


def _reduction(spec: Spec) -> str:
    """How the loss combines the outputs and the samples, in words."""
    outputs = ", averaged over the outputs" if spec.reduction_outputs == "mean" and spec.outputs > 1 else ""
    return f"{outputs}, {'averaged' if spec.reduction_samples == 'mean' else 'summed'} over the samples"


def _options(spec: Spec) -> str:
    """Missing biases, shared and frozen parameters (nothing for a spec without them)."""
    notes = []
    if spec.bias:
        notes.append("No biases in layer(s) " + ", ".join(str(k) for k, b in enumerate(spec.bias, 1) if not b))
    notes += [f"{', '.join(group)} are one shared parameter, {group[0]}" for group in spec.ties]
    if spec.frozen:
        notes.append(f"{', '.join(spec.frozen)} frozen: never updated, and no gradient is asked for them")
    return "".join(f"<p>{_escape(note)}.</p>" for note in notes)


def _vector(values) -> str:
    return _plain(values[0]) if len(values) == 1 else "(" + ", ".join(_plain(v) for v in values) + ")"


def _plain(value: Fraction) -> str:
    """A decimal when it ends, else p/q: `0.01`, `-3`, `1/3`."""
    value = Fraction(value)
    text = decimal_text(value)
    return f"{value.numerator}/{value.denominator}" if text is None else text


def _plain_decimal(value: Decimal) -> str:
    """Positional notation without trailing zeros: `0.005`, `100`, `-2.5`."""
    return "0" if value == 0 else format(value.normalize(), "f")


# ---------------------------------------------------------------- answers and tolerances

def tolerance(value: Decimal, rule: Tolerance) -> Decimal:
    """The absolute tolerance around `value`: the spec's bound, or half a unit in the last required figure."""
    with localcontext(prec=100):  # exact for the products of short decimals used here
        if rule.absolute is not None:
            return Decimal(rule.absolute)
        if rule.relative is not None:
            return Decimal(rule.relative) * abs(value)
        if value == 0:
            return Decimal("0.5").scaleb(-rule.sigfigs)
        return Decimal("0.5").scaleb(value.adjusted() - rule.sigfigs + 1)


def choices(right: Decimal, mistakes: tuple[tuple[str, Decimal], ...], rule: Tolerance) -> tuple[Choice, ...]:
    """The correct answer, then up to MAX_MISTAKES distinct mistaken values, sorted by mistake id."""
    bound = tolerance(right, rule)
    ids_by_value: dict[Decimal, set[str]] = {}
    for mid, value in mistakes:
        if abs(value - right) > bound:  # a mistake that still earns the mark is not worth naming
            ids_by_value.setdefault(value, set()).add(mid)
    common = sorted(ids_by_value.items(), key=lambda item: (min(RANK.get(i, len(RANK)) for i in item[1]), item[0]))
    named = sorted((tuple(sorted(ids)), value) for value, ids in common[:MAX_MISTAKES])
    return (_choice(100, right, rule, "Correct."),
            *(_choice(0, value, rule, mistake_feedback(ids)) for ids, value in named))


def _choice(fraction: int, value: Decimal, rule: Tolerance, feedback: str) -> Choice:
    bound = tolerance(value, rule)
    return Choice(fraction, answer_text(value, bound), _plain_decimal(bound), feedback)


def answer_text(value: Decimal, bound: Decimal) -> str:
    """`value` rounded to ANSWER_DIGITS significant digits, or more when the tolerance is tighter."""
    if value == 0:
        return "0"
    needed = value.adjusted() - bound.adjusted() + 2 if bound else APPROX_DIGITS
    with localcontext(prec=min(APPROX_DIGITS, max(ANSWER_DIGITS, needed))):
        return _plain_decimal(+value)  # unary plus rounds to the context's precision


def mistake_feedback(ids: tuple[str, ...]) -> str:
    """'This matches the mistake 'id': description.', naming every mistake that gives the value."""
    named = "; ".join(f"'{mid}': {DESCRIPTIONS.get(mid, 'a catalogue mistake')}" for mid in ids)
    noun = "mistake" if len(ids) == 1 else "mistakes"
    advice = "".join(f"<p>{_escape(EXPLANATIONS[mid])}</p>" for mid in ids if mid in EXPLANATIONS)
    return _escape(f"This matches the {noun} {named}.") + advice


# ---------------------------------------------------------------- XML

def to_xml(categories: list[Category]) -> str:
    root = ET.Element("quiz")
    for c in categories:
        root.append(_category_element(c.path))
        root.extend(_question_element(q) for q in c.questions)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8") + "\n"


def _category_element(path: str) -> ET.Element:
    question = ET.Element("question", type="category")
    _text(ET.SubElement(question, "category"), path)
    return question


def _question_element(q: Question) -> ET.Element:
    question = ET.Element("question", type="numerical")
    _text(ET.SubElement(question, "name"), q.name)
    _text(ET.SubElement(question, "questiontext", format="html"), q.text)
    _text(ET.SubElement(question, "generalfeedback", format="html"), q.feedback)
    for tag, value in (("defaultgrade", "1"), ("penalty", PENALTY), ("hidden", "0")):
        ET.SubElement(question, tag).text = value
    for choice in q.choices:
        answer = ET.SubElement(question, "answer", fraction=str(choice.fraction), format="moodle_auto_format")
        _text(answer, choice.answer)
        ET.SubElement(answer, "tolerance").text = choice.tolerance
        _text(ET.SubElement(answer, "feedback", format="html"), choice.feedback)
    for tag, value in NUMERICAL_OPTIONS:
        ET.SubElement(question, tag).text = value
    return question


def _text(parent: ET.Element, text: str) -> None:
    """Moodle's `<text>` child; ElementTree escapes it for XML."""
    ET.SubElement(parent, "text").text = text
