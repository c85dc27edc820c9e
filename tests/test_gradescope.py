"""The Gradescope autograder: the zip, its wheel, run_autograder on three submissions, results.json against the documented schema."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from chainrule.check.answer_key import FileReport, Judgement
from chainrule.check.gradebook import FileError
from chainrule.check.gradescope_results import VISIBILITY, results
from chainrule.classroom.gradescope import (
    EPOCH,
    Places,
    autograder,
    submitted_file,
    wheel,
)
from chainrule.cli.main import main
from chainrule.errors import ChainruleError

ANSWERS = Path(__file__).parent / "answers"

# Written from Gradescope's "Autograder Specifications", "Output format"
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the fields chainrule writes, with the
# documented types and values (the example's fields, the four visibilities, the five output formats);
# a score is required at the top level or on every test. Unknown fields are refused.
TEST_SCHEMA = {
    "type": "object",
    "required": ["name", "score", "max_score", "output"],
    "properties": {
        "name": {"type": "string"},
        "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": {"enum": list(VISIBILITY)},
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": list(VISIBILITY)},
        "leaderboard": {"type": "array"},
        "stdout_visibility": {"enum": list(VISIBILITY)},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST_SCHEMA},
    },
    "additionalProperties": False,
}


def validate(data: dict) -> None:
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == sum(t["score"] for t in data["tests"])


def unpack(zip_path: Path, root: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    return root


def wheel_install(zip_path: Path, target: Path) -> Path:
    """Install the zip's own wheel (no dependencies: they are this environment's) into `target`."""
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".whl"))
        (target / "dist").mkdir(parents=True)
        (target / name).write_bytes(archive.read(name))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target / "site"), str(target / name)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target / "site")}
    where = subprocess.run([sys.executable, "-c", "import chainrule; print(chainrule.__file__)"], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(target / "site")  # run_autograder runs the wheel, not src/
    return target / "site"


def run_autograder(root: Path, site: Path, submission: dict[str, bytes]) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the unpacked `run_autograder` on one submission, with chainrule imported from the bundled wheel."""
    folder = root / "submission"
    if folder.exists():
        for path in folder.iterdir():
            path.unlink()
    folder.mkdir(exist_ok=True)
    for name, data in submission.items():
        (folder / name).write_bytes(data)
    results_file = root / "results" / "results.json"
    if results_file.exists():
        results_file.unlink()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CHAINRULE_PYTHON": sys.executable,
           "PYTHONPATH": str(site)}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    return done, json.loads(results_file.read_text(encoding="ascii"))


@pytest.fixture(scope="module")
def homework_zip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert main(["gradescope", "inf264_hw4", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def homework(homework_zip, tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("autograder")
    return unpack(homework_zip, base / "root"), wheel_install(homework_zip, base / "wheel")


# ---------------------------------------------------------------- the three submissions

CORRECT = (ANSWERS / "correct.toml").read_bytes()
PARTLY_WRONG = (ANSWERS / "update_sign.toml").read_bytes().replace(
    b'student = "update sign"', b'student = "<b>Ann</b>\\u001b[2J"').replace(
    b'"loss" = "3.25"', b'"loss" = "3.25\\u001b[31m"')
UNREADABLE = b'spec = "inf264_hw4"\n[answers\n"loss" = 3\n'


@pytest.mark.parametrize("submission, score, failed, output", [
    (CORRECT, 29, set(), "29/29 correct"),
    (PARTLY_WRONG, 17, {"loss", "updated.w0", "updated.w1", "updated.w2", "updated.w3", "updated.w4",
                        "new_loss", "proofs.w0", "proofs.w1", "proofs.w2", "proofs.w3", "proofs.w4"},
     "17/29 correct"),
    (UNREADABLE, 0, set(), "Not graded:"),
])
def test_run_autograder_writes_results_by_the_schema(homework, submission, score, failed, output):
    root, site = homework
    done, data = run_autograder(root, site, {"answers.toml": submission})
    assert done.returncode == 0, done.stderr
    validate(data)
    assert data["score"] == score
    assert data["output"].startswith(output)
    assert {t["name"] for t in data["tests"] if t["status"] == "failed"} == failed
    assert all(t["max_score"] == 1 and t["score"] == (t["status"] == "passed") for t in data["tests"])
    if submission is not UNREADABLE:
        assert len(data["tests"]) == 29
        assert [t["name"] for t in data["tests"]][:3] == ["prediction.1", "prediction.2", "loss"]
    else:
        assert data["tests"] == [] and "line" in data["output"]


def test_feedback_is_the_judgement_and_student_text_is_escaped(homework):
    root, site = homework
    _, data = run_autograder(root, site, {"answers.toml": PARTLY_WRONG})
    tests = {t["name"]: t for t in data["tests"]}
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)
    assert "\\x1b[31m" in tests["loss"]["output"]
    assert all(t["output_format"] == "text" for t in data["tests"])  # shown as text, never as HTML
    assert "matches the mistake" in tests["updated.w0"]["output"] and "Expected" in tests["updated.w0"]["output"]
    assert tests["proofs.w0"]["output"].startswith("missing")


def test_the_zip_grades_with_its_own_bundled_spec(homework):
    """The answers file names another spec; the autograder grades against the one in the zip."""
    root, site = homework
    _, data = run_autograder(root, site, {"answers.toml": CORRECT.replace(b'spec = "inf264_hw4"',
                                                                          b'spec = "two_hidden_units"')})
    assert data["score"] == 29


# ---------------------------------------------------------------- unknown, visibility, errors

def _report(verdict: str, feedback: str) -> FileReport:
    judgement = Judgement("proofs.w0", verdict, "x", "dL/dw0 = \x07", (), feedback)
    return FileReport("a.toml", "ann", "inf264_hw4", (judgement,), ())


@pytest.mark.parametrize("verdict, feedback, score, words", [
    ("correct", "", 1, "correct"),
    ("incorrect", "Expected 3; your answer 4 does not match any known mistake.", 0, "does not match"),
    ("unknown", "time limit of 5 s", 0, "undecided: not counted as right or wrong"),
    ("unparseable", "line 1: unexpected '='", 0, "unexpected '='"),
    ("missing", "no answer", 0, "missing"),
])
def test_one_test_per_key_scored_one_or_zero(verdict, feedback, score, words):
    data = results(_report(verdict, feedback))
    validate(data)
    (test,) = data["tests"]
    assert (test["score"], test["max_score"], test["status"]) == (score, 1, "passed" if score else "failed")
    assert words in test["output"]
    if verdict == "unknown":
        assert "time limit of 5 s" in test["output"] and "1 undecided" in data["output"]
    if verdict != "missing":
        assert "\\x07" in test["output"] and "\x07" not in test["output"]


@pytest.mark.parametrize("visibility", VISIBILITY)
def test_visibility_reaches_every_test(visibility):
    data = results(_report("correct", ""), visibility)
    validate(data)
    assert data["visibility"] == visibility and data["tests"][0]["visibility"] == visibility


def test_unknown_visibility_and_a_file_error():
    with pytest.raises(ValueError, match="visibility"):
        results(_report("correct", ""), "sometimes")
    data = results(FileError("a.toml", "a.toml: expected UTF-8 \x1b"))
    validate(data)
    assert data == {**data, "score": 0, "tests": []} and "\\x1b" in data["output"]


# ---------------------------------------------------------------- the zip and its wheel

def test_zip_layout_is_gradescope_s_and_deterministic(homework_zip, tmp_path):
    again = tmp_path / "again.zip"
    assert main(["gradescope", "inf264_hw4", "--out", str(again)]) == 0
    assert again.read_bytes() == homework_zip.read_bytes()
    with zipfile.ZipFile(homework_zip) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {"setup.sh", "run_autograder", "spec/inf264_hw4.toml", "chainrule-autograder.json"} <= set(names)
        assert all(i.date_time == EPOCH for i in infos)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
        assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["spec/inf264_hw4.toml"] == 0o644
        assert archive.read("run_autograder").startswith(b"#!/usr/bin/env bash\n")
        assert b"/submission" not in archive.read("setup.sh")
        assert json.loads(archive.read("chainrule-autograder.json"))["spec"] == "spec/inf264_hw4.toml"


def test_the_wheel_records_every_file_and_bundles_templates_and_specs():
    name, data = wheel()
    assert name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(archive.read(record_name).decode())))
        for path, digest, size in rows:
            if path == record_name:
                continue
            content = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(content)), path
        assert {r[0] for r in rows} == names
    assert "chainrule/derivations/inf264_hw4.toml" in names and "chainrule/cli/main.py" in names
    assert any(n.startswith("chainrule/templates/") for n in names)
    assert not any("__pycache__" in n for n in names)


# ---------------------------------------------------------------- a class folder

@pytest.fixture(scope="module")
def class_autograder(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("class")
    batch = base / "class"
    roster = base / "roster.txt"
    roster.write_text("s1\ns2\n")  # variant 3 has no student
    assert main(["variants", "inf264_hw4", "--count", "3", "--seed", "5", "--out", str(batch), "--no-pdf",
                 "--students", str(roster), "--jobs", "1"]) == 0
    zip_path = base / "autograder.zip"
    assert main(["gradescope", str(batch), "--out", str(zip_path)]) == 0
    return batch, unpack(zip_path, base / "root"), wheel_install(zip_path, base / "wheel")


def _variant_answers(batch: Path, number: int, header: str) -> bytes:
    """Variant `number`'s exact answers, under `header` (the variant or student lines), no proofs."""
    row = next(r for r in json.loads((batch / "answer_key.json").read_text()) if r["variant"] == number)
    lines = [header, "[answers]", *(f'"{k}" = "{v}"' for k, v in row["answers"].items())]
    return ("\n".join(lines) + "\n").encode()


def test_a_class_zip_bundles_specs_and_manifest_and_grades_the_student_s_variant(class_autograder):
    batch, root, site = class_autograder
    bundled = {p.relative_to(root / "source" / "class").as_posix() for p in (root / "source" / "class").rglob("*")
               if p.is_file()}
    assert bundled == {"manifest.json", "v001/inf264_hw4-v001.toml", "v002/inf264_hw4-v002.toml",
                       "v003/inf264_hw4-v003.toml"}
    for header in ("variant = 2", 'student = "s2"', 'variant = 2\nstudent = "s2"'):
        _, data = run_autograder(root, site, {"answers.toml": _variant_answers(batch, 2, header)})
        validate(data)
        assert data["output"].startswith("24/29 correct (variant 2)"), header
        assert {t["name"] for t in data["tests"] if t["status"] == "failed"} == {f"proofs.w{i}" for i in range(5)}
    _, other = run_autograder(root, site, {"answers.toml": _variant_answers(batch, 2, "variant = 3")})
    assert "correct (variant 3)" in other["output"] and other["score"] < 24  # variant 2's numbers, graded as 3


@pytest.mark.parametrize("header, reason", [
    ("variant = 9", "9 is not in"),
    ('student = "s9"', "student 's9' is not in"),
    ('variant = 3\nstudent = "s2"', "assigns student 's2' variant 2"),
])
def test_a_class_submission_without_its_variant_is_not_graded(class_autograder, header, reason):
    batch, root, site = class_autograder
    done, data = run_autograder(root, site, {"answers.toml": _variant_answers(batch, 2, header)})
    validate(data)
    assert done.returncode == 0 and data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("Not graded:") and reason in data["output"]


# ---------------------------------------------------------------- choosing the file, and usage errors

@pytest.mark.parametrize("names, chosen", [
    (["mine.toml"], "mine.toml"),
    (["notes.toml", "answers.toml"], "answers.toml"),
    (["a.toml", "b.toml"], "2 .toml files"),
    (["readme.txt"], "no answers file"),
])
def test_the_submitted_answers_file(tmp_path, names, chosen):
    (tmp_path / "submission").mkdir()
    for name in names:
        (tmp_path / "submission" / name).write_text("")
    try:
        assert submitted_file(Places(tmp_path)).name == chosen
    except ChainruleError as error:
        assert chosen in str(error)


@pytest.mark.parametrize("argv, message", [
    (["gradescope"], "give a spec or a variants folder"),
    (["gradescope", "inf264_hw4", "--run"], "takes no SOURCE"),
    (["gradescope", "no_such_spec"], "no_such_spec"),
    (["gradescope", "inf264_hw4", "--out", "."], "is a folder"),
    (["gradescope", "--run"], "cannot read the autograder's settings"),
])
def test_usage_errors_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_autograder_refuses_an_edited_variant(class_autograder, tmp_path):
    batch, _, _ = class_autograder
    edited = tmp_path / "edited"
    import shutil

    shutil.copytree(batch, edited)
    spec = edited / "v001" / "inf264_hw4-v001.toml"
    spec.write_text(spec.read_text() + "\n# edited\n")
    with pytest.raises(ChainruleError, match="differs from the one the manifest records"):
        autograder(str(edited))
