"""Gradebooks: points and percent, the union of keys, and the columns Moodle's and Canvas's grade imports expect."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.check.answer_key import FileReport, Judgement, Mark
from chainrule.check.gradebook import (
    CANVAS_COLUMNS,
    FileError,
    answer_columns,
    gradebook,
    moodle_identity,
    percent,
    points,
)

ANSWERS = Path(__file__).parent / "answers"


def report(student: str, verdicts: dict[str, str], path: str | None = None, spec: str = "inf264_hw4") -> FileReport:
    judgements = tuple(Judgement(k, v, "1", None if v == "missing" else "1", (), "") for k, v in verdicts.items())
    return FileReport(path or f"{student}.toml", student, spec, judgements, ())


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


ANN = report("ann", {"loss": "correct", "gradient.w0": "incorrect", "proofs.w0": "unknown"})
BOB = report("bob", {"loss": "correct", "gradient.w10": "correct", "gradient.w0": "correct"}, spec="deep_relu")
BROKEN = FileError("broken.toml", "broken.toml: key '(file)': binary data, expected a TOML text file")


@pytest.mark.parametrize("earned, possible, expected", [
    (29, 29, "100.00"), (0, 29, "0.00"), (2, 3, "66.67"), (1, 3, "33.33"), (1, 8, "12.50"),
    (1, 800, "0.12"),  # 0.125 rounds half to even
    (3, 800, "0.38"),  # 0.375 rounds half to even
    (0, 0, ""),
])
def test_percent(earned, possible, expected):
    assert percent(earned, possible) == expected


@pytest.mark.parametrize("verdicts, expected", [
    ({"loss": "correct", "proofs.w0": "correct"}, (2, 2)),
    ({"loss": "correct", "proofs.w0": "unknown"}, (1, 2)),  # unknown earns nothing, and is not called wrong
    ({"loss": "incorrect", "gradient.w0": "unparseable", "proofs.w0": "missing"}, (0, 3)),
])
def test_points_are_one_per_numeric_answer_and_proof(verdicts, expected):
    assert points(report("s", verdicts)) == expected


@pytest.mark.parametrize("results, expected", [
    ([ANN, BOB], ["loss", "gradient.w0", "proofs.w0", "gradient.w10"]),
    ([BOB, ANN], ["loss", "gradient.w10", "gradient.w0", "proofs.w0"]),
    ([BROKEN, BOB], ["loss", "gradient.w10", "gradient.w0"]),
    ([BROKEN], []),
])
def test_columns_are_the_union_of_keys_in_first_seen_order(results, expected):
    assert answer_columns(results) == expected


def test_plain_gradebook_keeps_every_key_of_mixed_specs_and_names_an_ungraded_file():
    book = rows(gradebook([ANN, BOB, BROKEN]))
    assert [r["gradient.w10"] for r in book] == ["", "correct", "error"]  # not dropped as before
    assert [(r["points"], r["possible"], r["percent"]) for r in book] == [("1", "3", "33.33"), ("3", "3", "100.00"),
                                                                           ("", "", "")]
    assert book[0]["unknown"] == "1" and book[0]["proofs.w0"] == "unknown"
    assert book[2]["file"] == book[2]["student"] == "broken.toml" and "binary" in book[2]["error"]


@pytest.mark.parametrize("students, field", [
    (["ann@uni.no", "bob@uni.no"], "email"),
    (["123", "0456"], "idnumber"),
    (["ann", "123"], "username"),
    (["ann@uni.no", "bob"], "username"),
    ([], "username"),
])
def test_moodle_identifier_column_follows_the_ids(students, field):
    assert moodle_identity([report(s, {"loss": "correct"}) for s in students] + [BROKEN]) == field


@pytest.mark.parametrize("lms, assignment, header", [
    ("moodle", "chainrule", ["username", "chainrule", "chainrule feedback"]),
    ("canvas", "chainrule", [*CANVAS_COLUMNS, "chainrule"]),
    ("canvas", "Homework 4 (1234)", [*CANVAS_COLUMNS, "Homework 4 (1234)"]),
])
def test_lms_headers(lms, assignment, header):
    assert next(csv.reader(io.StringIO(gradebook([ANN, BROKEN], lms, assignment)))) == header


def test_moodle_rows_carry_points_and_feedback_and_name_an_ungraded_file():
    book = list(csv.reader(io.StringIO(gradebook([ANN, BOB, BROKEN], "moodle"))))[1:]
    assert [r[:2] for r in book] == [["ann", "1"], ["bob", "3"], ["broken.toml", ""]]
    assert book[0][2] == "1/3 correct; 1 undecided, to be checked by hand"
    assert book[2][2].startswith("not graded: ")


def test_canvas_rows_match_by_sis_login_id():
    book = rows(gradebook([ANN, BROKEN], "canvas", "HW"))
    assert [(r["Student"], r["SIS Login ID"], r["ID"], r["Section"], r["HW"]) for r in book] == [
        ("ann", "ann", "", "", "1"), ("broken.toml", "broken.toml", "", "", "")]


@pytest.mark.parametrize("lms", [None, "moodle", "canvas"])
@pytest.mark.parametrize("student", ["=HYPERLINK(\"http://evil\")", "+1", "@SUM(A1)", "-2"])
def test_text_cells_cannot_run_as_formulas(lms, student):
    text = gradebook([report(student, {"loss": "correct"}), FileError("=bad.toml", "=oops")], lms, "=x")
    for row in csv.reader(io.StringIO(text)):
        assert not any(value.startswith(("=", "+", "@", "-")) for value in row), row


@pytest.mark.parametrize("lms, numeric", [
    (None, ["points", "possible", "percent", "correct", "unknown", "total"]),
    ("moodle", ["chainrule"]),
    ("canvas", ["chainrule"]),
])
def test_gradebooks_load_in_pandas_with_numeric_grades(lms, numeric):
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.StringIO(gradebook([ANN, BOB, BROKEN], lms)))
    for column in numeric:
        assert pandas.api.types.is_numeric_dtype(frame[column]), (column, frame[column].dtype)
    if lms is None:
        assert list(frame["percent"][:2]) == [33.33, 100.0] and frame["percent"].isna()[2]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_check_writes_each_gradebook_from_the_command_line(tmp_path):
    shutil.copy(ANSWERS / "correct.toml", tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('student = "b@uni.no"\n[answers]\n"loss" = "6.5"\n', encoding="utf-8")
    for lms in (None, "moodle", "canvas"):
        extra = [] if lms is None else ["--lms", lms]
        result = _run("check", "a.toml", "b.toml", "--csv", "g.csv", *extra, cwd=tmp_path)
        assert result.returncode == 1, result.stderr  # b is wrong
        book = list(csv.reader((tmp_path / "g.csv").open(encoding="utf-8")))
        assert len(book) == 3
    assert book[1][5] == "29" and book[2][5] == "0"  # canvas: the assignment column holds points


def test_lms_without_csv_is_a_usage_error(tmp_path):
    result = _run("check", str(ANSWERS / "correct.toml"), "--lms", "canvas", cwd=tmp_path)
    assert result.returncode == 2 and "--csv" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("given", ["correct", Mark.CORRECT])
def test_a_verdict_is_a_mark_that_files_show_as_its_word(given):
    judgement = Judgement("loss", given, "1", "1", (), "")
    assert judgement.verdict is Mark.CORRECT
    assert json.dumps({"verdict": judgement.verdict, judgement.verdict: 1}) == '{"verdict": "correct", "correct": 1}'
    assert f"{judgement.verdict}" == str(judgement.verdict) == "correct"
    assert rows(gradebook([report("ann", {"loss": given})]))[0]["loss"] == "correct"


def test_a_verdict_outside_the_marks_is_refused():
    with pytest.raises(ValueError):
        Judgement("loss", "right", "1", "1", (), "")
