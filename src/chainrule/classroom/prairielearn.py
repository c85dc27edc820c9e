"""A PrairieLearn question from a spec: `info.json`, `question.html`, `server.py` and the spec.

The layout and the `server.py` protocol are PrairieLearn's (docs/question/overview.md and
docs/question/server.md in github.com/PrairieLearn/PrairieLearn): a question folder holds
`info.json` (uuid, title, topic, tags, "type": "v3"), the `question.html` template (mustache,
`{{params.x}}`) and `server.py`, whose `generate(data)` fills `data["params"]` and
`data["correct_answers"]` and whose `grade(data)` sets `data["partial_scores"]`, `data["score"]`,
`data["feedback"]` and `data["format_errors"]` from `data["submitted_answers"]`.

    QUESTION/info.json, question.html, server.py, spec.toml

`server.py` only imports chainrule and calls `generate` and `grade` below: each PrairieLearn
variant is drawn from the spec's `[variants]` rules with a seed made from `data["variant_seed"]`,
and each submission is judged by chainrule's checker, the same judgement as `chainrule check`.
PrairieLearn runs `server.py` with the course's `serverFilesCourse` on the import path, which is
where a course installs chainrule (README, "PrairieLearn"). The folder is deterministic: the
same spec gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import json
import os
import stat
import tempfile
import uuid
from functools import lru_cache
from pathlib import Path

from chainrule.check.answer_key import Judgement, Mark
from chainrule.check.answers import Answers, answer_keys
from chainrule.check.grading import check
from chainrule.check.mistakes import DESCRIPTIONS, EXPLANATIONS
from chainrule.classroom.moodle_cloze import statement
from chainrule.classroom.variants import Variant, make_variant
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.spec import Spec
from chainrule.core.spec_dump import dump
from chainrule.core.spec_reader import parse
from chainrule.errors import ChainruleError
from chainrule.numbers import exact
from chainrule.untrusted import shown

SPEC_FILE = "spec.toml"
FILES = ("info.json", "question.html", "server.py", SPEC_FILE)
TOPIC = "Backpropagation"
TAGS = ("chainrule", "backpropagation")
NAMESPACE = uuid.UUID("5b0f5c1e-6f1d-5c63-9a7e-2f64a6c1d0b7")  # chainrule's: uuid5(NAMESPACE, spec name)
# PrairieLearn stops a server.py call after 10 s (its questionTimeoutMilliseconds): grading, answer
# key included, keeps within a budget below that, at most SECONDS_PER_ANSWER per answer; answers
# reached after it are `unknown` (time limit).
BUDGET_SECONDS = 5.0
SECONDS_PER_ANSWER = 2.0
MAX_ANSWER_CHARS = 2000
WORDS = {"correct": "Correct.", "missing": "No answer given.",
         "unknown": "Undecided: counted neither right nor wrong; it will be checked by hand."}

SERVER_PY = '''\
# A chainrule question (`chainrule prairielearn`). PrairieLearn runs this file; chainrule must be
# importable, e.g. installed into the course's serverFilesCourse (see chainrule's README).
from chainrule.classroom import prairielearn as chainrule_question


def generate(data):
    chainrule_question.generate(data)


def grade(data):
    chainrule_question.grade(data)
'''


def answers_name(key: str) -> str:
    """An answers-file key as a PrairieLearn answers-name: `gradient.w0` -> `gradient__w0`.

    Dots would be read as nested names by mustache (`{{feedback.gradient.w0}}`).
    """
    return key.replace(".", "__")


def inputs(spec: Spec) -> tuple[tuple[str, str, bool], ...]:
    """(answers-file key, what it asks, is a proof) for every input of the question, in the answers file's order."""
    numbers = tuple((key, asks, False) for key, asks in answer_keys(spec))
    proofs = tuple((f"proofs.{p}", f"a chain of equalities from ∂L/∂{p} to its backpropagation form (question 3)",
                    True) for p in spec.trained_names)
    return numbers + proofs


# ---------------------------------------------------------------- writing the question

def question_files(spec: Spec) -> dict[str, str]:
    """The question folder's files (name -> text) for a spec; the same spec gives the same text."""
    check_variants(spec)
    return {"info.json": info_json(spec), "question.html": question_html(spec), "server.py": SERVER_PY,
            SPEC_FILE: spec_text(spec)}


def check_variants(spec: Spec) -> None:
    """The spec's `[variants]` rules give a variant (else PrairieLearn would fail for the student, not here)."""
    make_variant(spec, "prairielearn:check", 1, _base(spec))


def info_json(spec: Spec) -> str:
    info = {"uuid": str(uuid.uuid5(NAMESPACE, spec.name)), "title": spec.title, "topic": TOPIC,
            "tags": list(TAGS), "type": "v3", "gradingMethod": "Internal", "partialCredit": True,
            "comment": f"Written by `chainrule prairielearn` from the spec '{spec.name}'; server.py grades "
                       "with chainrule's checker."}
    return json.dumps(info, indent=2, ensure_ascii=False) + "\n"


def _text(value: str) -> str:
    """Spec text as HTML content that mustache leaves alone (`{` and `}` as character references)."""
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")


def question_html(spec: Spec) -> str:
    """The template: statement (filled per variant from params), one input per answers-file key, feedback."""
    lines = ["<pl-question-panel>",
             "  {{{params.statement}}}",
             "  <p>" + _text("Answer with an exact value (17/5, \\frac{17}{5}, an expression) or a decimal with "
                             "enough significant figures. A proof is a chain of equalities, e.g. dL/dw0 = dL/dz * "
                             "dz/dw0 = delta_h * x[0], from the derivative to its backpropagation form.") + "</p>",
             "</pl-question-panel>", ""]
    for key, asks, proof in inputs(spec):
        name = answers_name(key)
        extra = ' multiline="true"' if proof else ' size="40"'
        lines += [f"<p>Give {_text(asks)}:</p>",
                  f'<pl-string-input answers-name="{name}" label="{_text(key)}" allow-blank="true" '
                  f'remove-leading-trailing="true" show-help-text="false"{extra}></pl-string-input>', ""]
    lines += ["<pl-submission-panel>", "  {{#feedback.summary}}<p>{{feedback.summary}}</p>{{/feedback.summary}}",
              "  <ul>"]
    for key, _, _ in inputs(spec):
        name = answers_name(key)
        lines.append(f"    {{{{#feedback.{name}}}}}<li><code>{_text(key)}</code>: "
                     f"{{{{feedback.{name}}}}}</li>{{{{/feedback.{name}}}}}")
    lines += ["  </ul>", "</pl-submission-panel>", ""]
    return "\n".join(lines)


def spec_text(spec: Spec) -> str:
    """The spec as server.py reads it: chainrule's TOML of it, with the `[variants]` rules it draws from."""
    return dump(spec, with_variants=True)


# ---------------------------------------------------------------- inside PrairieLearn

@lru_cache(maxsize=8)
def _spec(text: str) -> Spec:
    return parse(text, SPEC_FILE)


@lru_cache(maxsize=8)
def _base(spec: Spec):
    return derive(build(spec), symbolic=False)


def _question_spec(data: dict) -> Spec:
    folder = Path(data.get("options", {}).get("question_path") or ".")
    try:
        text = (folder / SPEC_FILE).read_text(encoding="utf-8")
    except OSError as error:
        raise ChainruleError(f"{folder / SPEC_FILE}: cannot read the question's spec ({error.strerror})") from None
    return _spec(text)


def variant_for(spec: Spec, variant_seed) -> Variant:
    """The variant PrairieLearn's seed stands for: the same seed, the same variant."""
    variant = make_variant(spec, f"prairielearn:{variant_seed}", 1, _base(spec))
    return dataclasses.replace(variant, spec=dataclasses.replace(variant.spec, title=spec.title))


def generate(data: dict) -> None:
    """PrairieLearn's generate(): the variant's spec and statement in params, exact answers in correct_answers."""
    spec = _question_spec(data)
    variant = variant_for(spec, data.get("variant_seed", 0))
    data["params"]["spec"] = variant.spec_text
    data["params"]["statement"] = statement(derive(build(variant.spec)), None)  # MathJax, the SVG inline
    for key, _, proof in inputs(variant.spec):
        value = model_proof(spec, key.removeprefix("proofs.")) if proof else exact(variant.answers[key])
        data["correct_answers"][answers_name(key)] = value


def model_proof(spec: Spec, parameter: str) -> str:
    """The shortest proof the checker accepts: `dL/dw0 = delta_h * x0` (PrairieLearn's answer panel shows it)."""
    model = _base(spec).model
    unit, source = model.unit_of(model.by_name[parameter])
    return f"dL/d{parameter} = {unit.delta.name}" + ("" if source is None else f" * {source.name}")


@lru_cache(maxsize=1)
def _scratch() -> Path:
    """A folder only this user can write, reused across calls (PrairieLearn forks a worker per call)."""
    folder = Path(tempfile.gettempdir()) / f"chainrule-prairielearn-{os.getuid()}"
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077:
            return folder
    return Path(tempfile.mkdtemp(prefix="chainrule-prairielearn-"))  # someone else's folder is in the way


@lru_cache(maxsize=64)
def _spec_path(text: str) -> str:
    """The variant's spec as a file (chainrule's checker reads specs by path), one per distinct text."""
    path = _scratch() / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}.toml"
    if not path.is_file():
        staging = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        staging.write_text(text, encoding="utf-8")
        staging.replace(path)
    return str(path)


def _submitted(data: dict, key: str) -> str:
    value = data.get("submitted_answers", {}).get(answers_name(key))
    return value if isinstance(value, str) else ""


def grade(data: dict) -> None:
    """PrairieLearn's grade(): chainrule's judgement of every input, as partial scores and feedback."""
    text = data["params"]["spec"]
    spec = _spec(text)
    numbers, proofs, too_long = [], [], {}
    for key, _, proof in inputs(spec):
        answer = _submitted(data, key)
        if len(answer) > MAX_ANSWER_CHARS:
            too_long[answers_name(key)] = f"Longer than {MAX_ANSWER_CHARS} characters; shorten it."
            answer = ""
        (proofs if proof else numbers).append((key.removeprefix("proofs.") if proof else key, answer))
    answers = Answers("<prairielearn>", _spec_path(text), "prairielearn", tuple(numbers), tuple(proofs))
    report = check(answers, SECONDS_PER_ANSWER, budget=BUDGET_SECONDS)
    data.setdefault("format_errors", {}).update(too_long)
    scores, feedback = data.setdefault("partial_scores", {}), data.setdefault("feedback", {})
    for judgement in report.judgements:
        name = answers_name(judgement.key)
        if name in too_long:
            continue
        if judgement.verdict == Mark.UNPARSEABLE and not judgement.key.startswith("proofs."):
            data["format_errors"][name] = shown(judgement.feedback)  # fixed without using an attempt
            continue
        message = shown(feedback_text(judgement))
        scores[name] = {"score": 1.0 if judgement.verdict == Mark.CORRECT else 0.0, "weight": 1, "feedback": message}
        feedback[name] = message
    earned = sum(1 for j in report.judgements if j.verdict == Mark.CORRECT)
    undecided = report.count("unknown")
    data["score"] = earned / len(report.judgements)
    feedback["summary"] = (f"{earned}/{len(report.judgements)} correct"
                           + (f"; {undecided} undecided, to be checked by hand" if undecided else "") + ".")


def feedback_text(judgement: Judgement) -> str:
    """What the student reads: the verdict, the catalogue mistakes by name, never the expected value."""
    if judgement.verdict == Mark.INCORRECT and not judgement.key.startswith("proofs."):
        if not judgement.mistakes:
            return "Incorrect; the answer matches none of the known mistakes."
        named = " or ".join(f"'{m}' ({DESCRIPTIONS.get(m, 'a catalogue mistake')})" for m in judgement.mistakes)
        advice = " ".join(EXPLANATIONS[m] for m in judgement.mistakes if m in EXPLANATIONS)
        return f"Incorrect: it matches the mistake {named}. {advice}".strip()
    if judgement.verdict == Mark.UNKNOWN:
        return f"{WORDS['unknown']} {judgement.feedback}"
    if judgement.verdict == Mark.UNPARSEABLE:  # a proof: its reader may refuse what no edit fixes (too complex)
        return judgement.feedback
    if judgement.verdict == Mark.INCORRECT:
        return f"Incorrect. {judgement.feedback}"
    return WORDS[judgement.verdict]
