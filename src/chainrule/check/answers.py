"""Read a student's answers file (TOML): untrusted input, validated into an immutable `Answers`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from chainrule.core.spec import (  # noqa: F401 (re-exported)
    MAX_DIGITS,
    MAX_EXPONENT,
    Spec,
    answer_keys,
    prediction_keys,
)
from chainrule.core.spec_reader import line_of, read_toml
from chainrule.errors import ChainruleError, suggest
from chainrule.intake import read_regular

MAX_ANSWERS_BYTES = 256_000
TOP_LEVEL = ("spec", "student", "variant", "answers", "proofs", "tolerance")


class AnswersError(ChainruleError):
    """An answers file that cannot be read: names the file, the key and the line."""

    def __init__(self, path: str, key: str, expected: str, line: int | None = None):
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: key '{key}': {expected}", path=path)


@dataclass(frozen=True)
class Answers:
    path: str
    spec: str  # a name in derivations/ or a path, as the file says (default: the homework)
    student: str
    numbers: tuple[tuple[str, str], ...]  # (key, text) in file order
    proofs: tuple[tuple[str, str], ...]  # (parameter, chain text)
    variant: int | None = None  # which variant of a batch (`chainrule variants`) the student solved
    ignored: tuple[str, ...] = ()  # keys the grader decides, not the student: ("tolerance",)


def load_answers(path: str | Path) -> Answers:
    shown = str(path)
    raw = read_regular(path, MAX_ANSWERS_BYTES, lambda why: AnswersError(shown, "(file)", why))
    return answers_from_bytes(raw, shown)


def answers_from_bytes(raw: bytes, shown: str) -> Answers:
    """An answers file from its bytes (a file's, or standard input's shown as `<stdin>`)."""
    if not raw.strip():
        raise AnswersError(shown, "(file)", "the file is empty")
    if b"\0" in raw:
        raise AnswersError(shown, "(file)", "binary data, expected a TOML text file")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark at the start is allowed
    except UnicodeDecodeError:
        raise AnswersError(shown, "(file)", "expected UTF-8 text") from None
    return parse_answers(text, shown)


def parse_answers(text: str, path: str = "<answers>") -> Answers:
    text = text.removeprefix("\ufeff")
    data = read_toml(text, lambda key, why, line=None: AnswersError(path, key, why, line))
    fail = lambda key, expected: AnswersError(path, key, expected, line_of(text, key))  # noqa: E731
    for key in data:
        if key not in TOP_LEVEL:
            raise fail(key, f"unknown key{suggest(key, TOP_LEVEL)}; expected one of {', '.join(TOP_LEVEL)}")
    spec = data.get("spec", "inf264_hw4")
    student = data.get("student", Path(path).stem)
    for key, value in (("spec", spec), ("student", student)):
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise fail(key, "expected a non-empty string")
    variant = data.get("variant")
    if variant is not None and (isinstance(variant, bool) or not isinstance(variant, int) or not 1 <= variant <= 10**6):
        raise fail("variant", "expected a variant number (a positive integer)")
    numbers = _table(data, "answers", fail)
    proofs = _table(data, "proofs", fail)
    # the grader sets the tolerance (spec, batch or --tolerance); a student's is read by no one
    ignored = ("tolerance",) if "tolerance" in data else ()
    return Answers(path, spec, student, tuple(numbers.items()), tuple(proofs.items()), variant, ignored)


def _table(data: dict, name: str, fail) -> dict[str, str]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise fail(name, f"expected a table [{name}]")
    result = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise fail(f"{name}.{key}", "expected a string or a number")
        result[str(key)] = value if isinstance(value, str) else _number_text(value)
    return result


def _number_text(value: int | Decimal) -> str:
    """A TOML number as the answer text it stands for, size-checked before it is written out.

    `format(Decimal("1e999999999"), "f")` would write a billion digits; a number too long to write
    keeps its scientific form, which the answer reader then refuses as too long (unparseable).
    """
    if isinstance(value, int):
        return str(value)  # tomllib has already refused integers too long to convert
    if not value.is_finite():
        return str(value)
    if len(value.as_tuple().digits) > 10 * MAX_DIGITS or abs(value.adjusted()) > 10 * MAX_EXPONENT:
        return str(value)
    return format(value, "f")


def check_keys(answers: Answers, spec: Spec, parameter_names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Unknown answer or proof keys, each with a message suggesting the nearest known key."""
    known = [k for k, _ in answer_keys(spec)]
    problems = []
    for key, _ in answers.numbers:
        if key not in known:
            problems.append((f"answers.{key}", f"unknown key{suggest(key, known)}"))
    for key, _ in answers.proofs:
        if key not in parameter_names:
            problems.append((f"proofs.{key}", f"unknown parameter{suggest(key, parameter_names)}"))
    return problems
