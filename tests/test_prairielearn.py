"""The PrairieLearn question: the folder, info.json against PrairieLearn's schema, server.py run as PrairieLearn runs it."""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import answer_keys
from chainrule.classroom import prairielearn
from chainrule.cli.main import main
from chainrule.core import certify
from chainrule.core.spec_reader import load, parse
from chainrule.numbers import exact

ANSWERS = Path(__file__).parent / "answers"
HOMEWORK = Path(__file__).parents[1] / "derivations" / "inf264_hw4.toml"
ZERO = "(sin(1)^2 + cos(1)^2 - 1)"  # exactly 0, but no evaluation alone can show it

# Written from PrairieLearn's question schema (apps/prairielearn/src/schemas/schemas/infoQuestion.json,
# documented in docs/question/overview.md, "Metadata (info.json)"): the required fields, the uuid
# pattern, the enums, and the optional fields chainrule writes. Unknown fields are refused, as there.
INFO_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["uuid", "type", "title", "topic"],
    "properties": {
        "comment": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}]},
        "uuid": {"type": "string",
                 "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
        "type": {"type": "string", "enum": ["Calculation", "MultipleChoice", "Checkbox", "File",
                                            "MultipleTrueFalse", "v3"]},
        "title": {"type": "string"},
        "topic": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "gradingMethod": {"type": "string", "enum": ["Internal", "External", "Manual"]},
        "singleVariant": {"type": "boolean"},
        "showCorrectAnswer": {"type": "boolean"},
        "partialCredit": {"type": "boolean"},
    },
}


@pytest.fixture(scope="module")
def question(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pl") / "hw4"
    assert main(["prairielearn", "inf264_hw4", "--out", str(out)]) == 0
    return out


def server(question: Path) -> dict:
    """server.py as PrairieLearn's zygote loads it: compiled and exec'd into a fresh dict (no __file__)."""
    module: dict = {}
    exec(compile((question / "server.py").read_text(encoding="utf-8"), "server.py", "exec"), module)
    return module


def generated(question: Path, seed: str = "12345") -> dict:
    data = {"params": {}, "correct_answers": {}, "variant_seed": seed,
            "options": {"question_path": str(question)}}
    server(question)["generate"](data)
    return data


def graded(question: Path, data: dict, submitted: dict) -> dict:
    """grade(data) after a submission, with the keys PrairieLearn passes; the result must be JSON, as PrairieLearn stores it."""
    data = json.loads(json.dumps(data))
    data.update(submitted_answers=submitted, raw_submitted_answers=dict(submitted), partial_scores={},
                feedback={}, format_errors={}, score=0.0)
    server(question)["grade"](data)
    json.dumps(data, allow_nan=False)
    return data


def right_answers(data: dict) -> dict:
    """The numbers of the answer panel; the proofs as a student writes them (correct.toml's chains)."""
    proofs = tomllib.loads((ANSWERS / "correct.toml").read_text(encoding="utf-8"))["proofs"]
    return {**data["correct_answers"], **{f"proofs__{p}": chain for p, chain in proofs.items()}}


# ---------------------------------------------------------------- the folder

def test_the_folder_holds_the_four_files(question):
    assert sorted(p.name for p in question.iterdir()) == sorted(prairielearn.FILES)


def test_info_json_follows_prairielearns_schema(question):
    info = json.loads((question / "info.json").read_text(encoding="utf-8"))
    jsonschema.validate(info, INFO_SCHEMA)
    assert info["type"] == "v3" and info["gradingMethod"] == "Internal"
    assert info["uuid"] == str(uuid.uuid5(prairielearn.NAMESPACE, "inf264_hw4"))
    assert info["title"] == load("inf264_hw4").title


def test_each_spec_has_its_own_uuid():
    ids = {json.loads(prairielearn.info_json(load(name)))["uuid"] for name in ("inf264_hw4", "deep_relu")}
    assert len(ids) == 2


def test_the_same_spec_gives_a_byte_identical_folder(question, tmp_path):
    again = tmp_path / "again"
    assert main(["prairielearn", "inf264_hw4", "--out", str(again)]) == 0
    for name in prairielearn.FILES:
        assert (again / name).read_bytes() == (question / name).read_bytes(), name


def test_question_html_has_one_input_per_answers_file_key(question):
    page = (question / "question.html").read_text(encoding="utf-8")
    names = re.findall(r'<pl-string-input answers-name="([^"]+)"', page)
    spec = load("inf264_hw4")
    expected = [k for k, _ in answer_keys(spec)] + [f"proofs.{p}" for p in spec.parameter_names]
    assert names == [prairielearn.answers_name(k) for k in expected]
    assert len(set(names)) == len(names)
    assert page.count('multiline="true"') == len(spec.parameter_names)  # the proofs are text areas
    # every mustache reference is the statement or a feedback entry grade() sets
    references = set(re.findall(r"\{\{\{?[#/]?([^}]+)\}", page))
    assert references == {"params.statement", "feedback.summary", *(f"feedback.{n}" for n in names)}


def test_the_spec_file_keeps_the_variants_rules(question):
    spec = load("inf264_hw4")
    again = parse((question / prairielearn.SPEC_FILE).read_text(encoding="utf-8"))
    assert again == spec.__class__(**{**spec.__dict__, "path": again.path})


# ---------------------------------------------------------------- generate

def test_generate_is_reproducible_per_variant_seed(question):
    first, again, other = generated(question, "7"), generated(question, "7"), generated(question, "8")
    assert first == again
    assert first["params"]["spec"] != other["params"]["spec"]
    json.dumps(first, allow_nan=False)


@pytest.mark.parametrize("seed", ["1", "2", "3", "987654321"])
def test_correct_answers_are_the_variants_own_values(question, seed):
    """Checked by hand-written arithmetic on the variant's numbers: ŷ = w3·relu(w0·x0 + w1·x1 + w2) + w4."""
    data = generated(question, seed)
    spec = parse(data["params"]["spec"])
    w0, w1, w2, w3, w4 = spec.init
    predictions = [w3 * max(Fraction(0), w0 * x0 + w1 * x1 + w2) + w4 for x0, x1 in spec.x]
    loss = sum((p - y) ** 2 for p, y in zip(predictions, spec.y)) / len(predictions)
    answers = data["correct_answers"]
    assert [Fraction(answers["prediction__1"]), Fraction(answers["prediction__2"])] == predictions
    assert Fraction(answers["loss"]) == loss
    assert Fraction(answers["gradient__w4"]) == sum(2 * (p - y) for p, y in zip(predictions, spec.y)) / 2
    z = [w0 * x0 + w1 * x1 + w2 for x0, x1 in spec.x]
    assert any(v > 0 for v in z) and any(v <= 0 for v in z)  # [variants]: the ReLU is dead for one sample
    assert spec.title == load("inf264_hw4").title
    assert "<table>" in data["params"]["statement"]


# ---------------------------------------------------------------- grade

def test_the_right_answers_score_one(question):
    data = generated(question)
    result = graded(question, data, right_answers(data))
    assert result["score"] == 1.0
    assert not result["format_errors"]
    assert all(part["score"] == 1.0 for part in result["partial_scores"].values())
    assert len(result["partial_scores"]) == len(prairielearn.inputs(load("inf264_hw4")))


def test_the_answer_panels_model_proofs_are_accepted(question):
    data = generated(question)
    assert data["correct_answers"]["proofs__w0"] == "dL/dw0 = delta_h * x0"
    result = graded(question, data, dict(data["correct_answers"]))
    assert result["score"] == 1.0


def test_an_unreadable_proof_scores_zero_and_does_not_block_the_submission(question):
    """A proof's reader may refuse text no edit can fix (too complex), so it is graded, not a format error."""
    data = generated(question)
    answers = right_answers(data)
    answers["proofs__w2"] = "dL/dw2 = )("
    result = graded(question, data, answers)
    assert not result["format_errors"]
    assert result["partial_scores"]["proofs__w2"]["score"] == 0.0
    assert result["feedback"]["proofs__w2"].startswith("Could not read the proof")


def test_a_decimal_and_a_latex_fraction_are_read_as_in_chainrule_check(question):
    data = generated(question)
    answers = right_answers(data)
    value = Fraction(answers["loss"])
    answers["loss"] = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    answers["prediction__1"] = f"{float(Fraction(data['correct_answers']['prediction__1'])):.10f}"
    assert graded(question, data, answers)["score"] == 1.0


def test_a_planted_mistake_is_named_with_partial_credit(question):
    """The whole sheet worked without the factor 2 of the squared error: the mistake is named, not the answer."""
    data = generated(question)
    key = answer_key(prairielearn._spec_path(data["params"]["spec"]))
    mutated = dict(key.variants)["missing-factor-2"]
    answers = right_answers(data)
    for name, value in mutated.items():
        answers[prairielearn.answers_name(name)] = exact(value)
    result = graded(question, data, answers)
    assert 0 < result["score"] < 1
    feedback = result["feedback"]["gradient__w4"]
    assert "missing-factor-2" in feedback
    assert result["partial_scores"]["gradient__w4"]["score"] == 0.0
    assert data["correct_answers"]["gradient__w4"] not in feedback  # the expected value is not given away
    assert result["partial_scores"]["loss"]["score"] == 1.0  # the loss does not use the mistaken delta


@pytest.mark.parametrize("garbage", [")(", "1/0", "sqrt(-1)", "x + 1", "__import__('os').system('true')",
                                     "\x00\x1b[2J", "9" * 5000, "((((((((((((((((((((1", "\\frac{1}{"])
def test_garbage_is_a_format_error_never_an_exception(question, garbage):
    """Unreadable text is PrairieLearn's format error: the student fixes it without losing an attempt."""
    data = generated(question)
    answers = right_answers(data)
    answers["loss"] = garbage
    result = graded(question, data, answers)
    assert result["format_errors"]["loss"].startswith(("Could not read the answer", "Longer than"))
    assert "\x1b" not in result["format_errors"]["loss"]
    assert "loss" not in result["partial_scores"]
    assert result["score"] < 1


@pytest.mark.parametrize("value", [None, 3, ["1"], {"a": 1}])
def test_a_submitted_value_that_is_not_text_counts_as_missing(question, value):
    data = generated(question)
    answers = right_answers(data)
    answers["loss"] = value
    result = graded(question, data, answers)
    assert result["partial_scores"]["loss"] == {"score": 0.0, "weight": 1, "feedback": "No answer given."}


def test_an_undecided_answer_is_unknown_not_wrong(question, monkeypatch):
    """Without a proof of zero an equal answer is undecided: 0 points for now, but never called wrong."""
    monkeypatch.setattr(certify, "_simplifies_to_zero", lambda value, deadline: False)
    data = generated(question, "unknown")
    answers = right_answers(data)
    answers["loss"] = f"{data['correct_answers']['loss']} + {ZERO}"
    result = graded(question, data, answers)
    feedback = result["feedback"]["loss"]
    assert feedback.startswith("Undecided") and "Incorrect" not in feedback
    assert result["partial_scores"]["loss"]["score"] == 0.0
    assert "undecided" in result["feedback"]["summary"]


def test_a_missing_answer_scores_zero_without_an_error(question):
    data = generated(question)
    answers = right_answers(data)
    answers["new_loss"] = ""
    result = graded(question, data, answers)
    assert result["feedback"]["new_loss"] == "No answer given."
    assert result["score"] == pytest.approx(1 - 1 / len(prairielearn.inputs(load("inf264_hw4"))))


# ---------------------------------------------------------------- the command

def test_a_folder_that_is_not_empty_needs_force(question, tmp_path, capsys):
    out = tmp_path / "q"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["prairielearn", "inf264_hw4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert main(["prairielearn", "inf264_hw4", "--out", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "server.py").read_bytes() == (question / "server.py").read_bytes()


@pytest.mark.parametrize("extra, says", [
    ("", "cannot read the file"),
    ("[variants]\nx = [0, 0]\nparameters = [0, 0]\nmax_draws = 3\n", "no draw met the [variants] constraints"),
])
def test_a_bad_spec_is_one_line(tmp_path, capsys, extra, says):
    spec = tmp_path / "spec.toml"
    if extra:
        spec.write_text(HOMEWORK.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert main(["prairielearn", str(spec), "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err
    assert not (tmp_path / "q").exists()


def test_the_wheel_is_written_for_the_course(tmp_path):
    assert main(["prairielearn", "inf264_hw4", "--out", str(tmp_path / "q"), "--wheel", str(tmp_path / "w")]) == 0
    wheels = [p.name for p in (tmp_path / "w").iterdir()]
    assert len(wheels) == 1 and re.fullmatch(r"chainrule-[^-]+-py3-none-any\.whl", wheels[0])


@pytest.mark.parametrize("name", ["inf264_hw4", "two_hidden_units", "sigmoid_bce", "softmax_classifier", "deep_relu"])
def test_answers_names_are_distinct_for_every_bundled_spec(name):
    names = [prairielearn.answers_name(key) for key, _, _ in prairielearn.inputs(load(name))]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in names)


def test_a_title_with_markup_is_shown_as_text(tmp_path):
    title = "<script>alert(1)</script> {{params.spec}}"
    spec = tmp_path / "marked.toml"
    spec.write_text(HOMEWORK.read_text(encoding="utf-8").replace(
        'title = "INF264 Homework 4: gradient descent and backpropagation"', f"title = {json.dumps(title)}"),
        encoding="utf-8")
    out = tmp_path / "q"
    assert main(["prairielearn", str(spec), "--out", str(out)]) == 0
    assert json.loads((out / "info.json").read_text(encoding="utf-8"))["title"] == title
    statement = generated(out)["params"]["statement"]
    assert "<script>" not in statement and "&lt;script&gt;" in statement
    assert "{{" in statement  # left as text: mustache inserts a value without rendering it again


def test_server_py_runs_from_a_serverfilescourse_install(question, tmp_path):
    """The documented install: the wheel into serverFilesCourse with `pip --no-deps --target`; server.py exec'd there.

    The child runs without site (-S), so the development install of chainrule is not on its path:
    only serverFilesCourse and the folder that holds sympy, mpmath, lark and tomli-w.
    """
    import subprocess
    import sys

    import sympy

    assert main(["prairielearn", "inf264_hw4", "--out", str(tmp_path / "q"), "--wheel", str(tmp_path / "dist")]) == 0
    wheel = next((tmp_path / "dist").iterdir())
    course = tmp_path / "serverFilesCourse"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(course), str(wheel)], check=True, capture_output=True)
    script = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
module = {}
exec(compile(open("server.py", encoding="utf-8").read(), "server.py", "exec"), module)
import chainrule
assert chainrule.__file__.startswith(sys.argv[1]), chainrule.__file__
data = {"params": {}, "correct_answers": {}, "variant_seed": "3", "options": {"question_path": "."}}
module["generate"](data)
data.update(submitted_answers=dict(data["correct_answers"]), partial_scores={}, feedback={}, format_errors={})
module["grade"](data)
print(json.dumps({"score": data["score"], "summary": data["feedback"]["summary"]}))
"""
    done = subprocess.run([sys.executable, "-S", "-c", script, str(course), str(Path(sympy.__file__).parents[1])],
                          cwd=tmp_path / "q", capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"score": 1.0, "summary": "29/29 correct."}


def test_past_the_budget_answers_are_undecided_not_wrong(question, monkeypatch):
    """PrairieLearn stops a call after 10 s: answers the budget does not reach are unknown, scored 0, not called wrong."""
    monkeypatch.setattr(prairielearn, "BUDGET_SECONDS", 0.0)
    data = generated(question, "budget")
    result = graded(question, data, right_answers(data))
    assert result["score"] == 0.0 and not result["format_errors"]
    assert all(text.startswith("Undecided") for name, text in result["feedback"].items() if name != "summary")
    assert result["feedback"]["summary"] == "0/29 correct; 29 undecided, to be checked by hand."
