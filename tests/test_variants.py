"""Per-student variants, the handout, class grading and the stress test, as an instructor uses them."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import answer_keys
from chainrule.check.mistakes import answer_values
from chainrule.classroom import stress
from chainrule.classroom.variants import VariantError, make_variant
from chainrule.cli.main import main
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import train
from chainrule.core.spec import derivations_dir
from chainrule.core.spec_dump import dump
from chainrule.core.spec_reader import load, parse
from chainrule.errors import SpecError
from chainrule.render.documents import compile_pdf, latexmk_available

HOMEWORK = (derivations_dir() / "inf264_hw4.toml").read_text()
SPECS = sorted(p.stem for p in derivations_dir().glob("*.toml"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=600)


def run_here(*args: str) -> subprocess.CompletedProcess:
    """`chainrule ARGS` through `main` in this process, for usage errors and printed text: no new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["chainrule", *args], code, out.getvalue(), err.getvalue())


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch") / "class"
    roster = folder.parent / "roster.txt"
    roster.write_text("alice\n# a comment\n\nbob\ncarol\n")
    assert main(["variants", "--count", "30", "--seed", "11", "--students", str(roster), "--out", str(folder),
                 "--no-pdf"]) == 0
    return folder


# ---------------------------------------------------------------- the spec's new tables

@pytest.mark.parametrize("name", SPECS)
def test_dump_reads_back_to_the_same_spec(name):
    spec = load(name)
    assert parse(dump(spec, with_variants=True), spec.path) == spec
    # a variant's own file leaves the [variants] rules out: all else reads back the same
    assert parse(dump(spec), spec.path) == dataclasses.replace(spec, variants=parse(dump(spec), spec.path).variants)
    assert "[variants]" not in dump(spec)


@pytest.mark.parametrize("table, key, message", [
    ("[variants]\nx = [3, -3]\n", "variants.x", "low <= high"),
    ("[variants]\nxs = [-3, 3]\n", "variants.xs", "did you mean 'x'"),
    ("[variants]\ndecimals = 9\n", "variants.decimals", "0 to 6"),
    ("[variants]\nloss_decreases = 1\n", "variants.loss_decreases", "true or false"),
    ("[variants]\nmax_abs_answer = -1\n", "variants.max_abs_answer", "positive"),
    ("[tolerance]\nsigfig = 3\n", "tolerance.sigfig", "did you mean 'sigfigs'"),
    ("[grading]\nsigfigs = 3\n", "grading", "unknown key"),
])
def test_bad_variant_and_tolerance_tables_name_key_and_line(table, key, message):
    text = HOMEWORK + "\n" + table
    with pytest.raises(SpecError, match=message) as error:
        parse(text, "hw.toml")
    assert error.value.key == key
    assert error.value.line == len(HOMEWORK.splitlines()) + (2 if key == "grading" else 3)


def test_variant_ranges_default_to_the_specs_own_magnitudes():
    rules = load("inf264_hw4").variants
    assert rules.x == (-3, 3) and rules.y == (-2, 2) and rules.parameters == (-1, 1)
    assert (rules.decimals, rules.dead_and_active, rules.avoid_kinks, rules.loss_decreases,
            rules.gradient_nonzero) == (1, True, True, True, True)


# ---------------------------------------------------------------- drawing

def _z(spec, n):
    (x0, x1), (w0, w1, w2) = spec.x[n], spec.init[:3]
    return w0 * x0 + w1 * x1 + w2


@pytest.mark.parametrize("number", range(1, 41))
def test_every_homework_variant_meets_the_default_constraints(number):
    """Checked by hand-written arithmetic on the variant's own numbers, not by the generator's code."""
    spec = make_variant(load("inf264_hw4"), "constraints", number).spec
    values = [v for row in spec.x for v in row] + list(spec.y) + list(spec.init)
    assert all((v * 10).denominator == 1 for v in values)  # one decimal place at most
    assert all(-3 <= v <= 3 for row in spec.x for v in row) and all(-2 <= v <= 2 for v in spec.y)
    assert all(-1 <= v <= 1 for v in spec.init)
    z = [_z(spec, n) for n in range(2)]
    assert any(v <= 0 for v in z) and any(v > 0 for v in z) and 0 not in z

    def loss(theta):
        w0, w1, w2, w3, w4 = theta
        predictions = [w3 * max(0, w0 * x0 + w1 * x1 + w2) + w4 for x0, x1 in spec.x]
        return sum((p - y) ** 2 for p, y in zip(predictions, spec.y)) / 2

    key = answer_key(str(_write(spec))).values
    assert Fraction(str(key["loss"])) == loss(spec.init)
    updated = [Fraction(str(key[f"updated.w{i}"])) for i in range(5)]
    assert loss(updated) < loss(spec.init)
    for i in range(5):
        assert any(key[f"sample_gradient.{n}.w{i}"] != 0 for n in (1, 2))


def _write(spec) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="chainrule-variant-")) / f"{spec.name}.toml"
    path.write_text(dump(spec))
    return path


def test_a_variant_depends_only_on_seed_and_number():
    spec = load("inf264_hw4")
    assert make_variant(spec, 5, 7).spec_text == make_variant(spec, 5, 7).spec_text
    assert make_variant(spec, 5, 7).spec_text != make_variant(spec, 6, 7).spec_text
    assert make_variant(spec, 5, 7).spec_text != make_variant(spec, 5, 8).spec_text


@pytest.mark.parametrize("name", ["two_hidden_units", "two_hidden_relu", "softmax_classifier"])
def test_other_networks_get_variants_too(name):
    spec = load(name)
    variant = make_variant(spec, 1, 1)
    assert variant.spec.sizes == spec.sizes and variant.spec.x != spec.x
    assert set(variant.answers) == {k for k, _ in answer_keys(spec)}
    if spec.loss == "softmax_cross_entropy":
        assert all(sorted(t) == [0] * (spec.outputs - 1) + [1] for t in variant.spec.y)


def test_impossible_constraints_fail_clearly_with_counts(tmp_path):
    spec = dataclasses.replace(load("inf264_hw4"))
    rules = dataclasses.replace(spec.variants, x=(Fraction(0), Fraction(0)), max_draws=40)
    with pytest.raises(VariantError, match=r"variant 1: no draw met .* in 40 draws \(dead_and_active failed \d+ times"):
        make_variant(dataclasses.replace(spec, variants=rules), 1, 1)
    path = tmp_path / "stuck.toml"
    path.write_text(HOMEWORK + "\n[variants]\nx = [0, 0]\nmax_draws = 40\n")
    result = run("variants", str(path), "--count", "2", "--out", str(tmp_path / "out"), "--no-pdf", "--jobs", "1")
    assert result.returncode == 2
    assert "dead_and_active failed" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- the batch folder

def test_same_seed_gives_byte_identical_files_whatever_the_jobs(batch, tmp_path):
    roster = batch.parent / "roster.txt"
    again = tmp_path / "again"
    assert main(["variants", "--count", "30", "--seed", "11", "--students", str(roster), "--out", str(again),
                 "--no-pdf", "--jobs", "1"]) == 0
    assert files(again) == files(batch)
    other = tmp_path / "other"
    assert main(["variants", "--count", "3", "--seed", "12", "--out", str(other), "--no-pdf", "--jobs", "1"]) == 0
    assert (other / "v001" / "inf264_hw4-v001.toml").read_text() != (batch / "v001" / "inf264_hw4-v001.toml").read_text()


def test_each_variant_has_spec_handout_and_solution(batch):
    folder = batch / "v017"
    assert sorted(p.name for p in folder.iterdir()) == [
        "inf264_hw4-v017-handout.tex", "inf264_hw4-v017-solution.tex", "inf264_hw4-v017.toml"]
    spec = load(folder / "inf264_hw4-v017.toml")
    assert spec.name == "inf264_hw4-v017" and spec.sizes == (2, 1, 1)
    handout = (folder / "inf264_hw4-v017-handout.tex").read_text()
    assert f"y_{{1}} &= {_plain(spec.y[0])}" in handout
    assert r"\texttt{variant = 17}" in handout  # the student is told how to hand in


def _plain(value: Fraction) -> str:
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f").rstrip("0").rstrip(".") \
        if value.denominator != 1 else str(value.numerator)


def test_answer_key_columns_are_the_answers_file_keys_with_exact_values(batch):
    rows = list(csv.DictReader((batch / "answer_key.csv").open()))
    keys = [k for k, _ in answer_keys(load("inf264_hw4"))]
    assert list(rows[0]) == ["variant", "name", "student", *keys]
    assert [r["student"] for r in rows[:4]] == ["alice", "bob", "carol", ""]
    data = json.loads((batch / "answer_key.json").read_text())
    for row, entry in zip(rows[:5], data[:5]):
        spec_path = batch / entry["spec"]
        expected = answer_key(str(spec_path)).values  # the grader's own route to the numbers
        for key in keys:
            assert Fraction(row[key]) == Fraction(str(expected[key])) == Fraction(entry["answers"][key])
            assert Decimal(entry["decimals"][key]) == pytest.approx(Decimal(Fraction(row[key]).numerator)
                                                                    / Fraction(row[key]).denominator)


def test_manifest_makes_a_regrade_reproducible(batch):
    manifest = json.loads((batch / "manifest.json").read_text())
    spec = load("inf264_hw4")
    assert manifest["seed"] == "11" and manifest["count"] == 30
    assert manifest["spec"]["sha256"] == hashlib.sha256(dump(spec).encode()).hexdigest()
    assert manifest["chainrule"]
    assert manifest["constraints"]["dead_and_active"] is True
    for entry in manifest["variants"]:
        text = (batch / entry["spec"]).read_bytes()
        assert hashlib.sha256(text).hexdigest() == entry["sha256"]
    assert [e.get("student") for e in manifest["variants"][:4]] == ["alice", "bob", "carol", None]


@pytest.mark.parametrize("roster, count, message", [
    ("alice\nalice\n", "3", "appears twice"),
    ("a\nb\nc\n", "2", "fewer variants than the 3 students"),
    ("# nobody\n", "2", "no student ids"),
])
def test_bad_rosters_are_usage_errors(tmp_path, roster, count, message):
    path = tmp_path / "roster.txt"
    path.write_text(roster)
    result = run_here("variants", "--students", str(path), "--count", count, "--out", str(tmp_path / "o"), "--no-pdf")
    assert result.returncode == 2 and message in result.stderr


# ---------------------------------------------------------------- grading a class

def _answers(batch: Path, row: dict, header: list[str], extra: str = "", change: dict | None = None) -> str:
    lines = [extra, "[answers]"]
    for key in header[3:]:
        value = (change or {}).get(key, row[key])
        lines.append(f'"{key}" = "{value}"')
    return "\n".join(lines) + "\n"


def test_check_grades_each_submission_against_its_own_variant(batch, tmp_path):
    rows = list(csv.DictReader((batch / "answer_key.csv").open()))
    header = list(rows[0])
    (tmp_path / "alice.toml").write_text(_answers(batch, rows[0], header, 'student = "alice"'))
    half = str(Fraction(rows[1]["gradient.w4"]) / 2)
    (tmp_path / "bob.toml").write_text(_answers(batch, rows[1], header, 'student = "bob"', {"gradient.w4": half}))
    (tmp_path / "v9.toml").write_text(_answers(batch, rows[8], header, 'student = "someone"\nvariant = 9'))
    # carol hands in alice's numbers: wrong for her own variant
    (tmp_path / "carol.toml").write_text(_answers(batch, rows[0], header, 'student = "carol"'))
    grades = tmp_path / "grades.csv"
    paths = [str(tmp_path / f) for f in ("alice.toml", "bob.toml", "v9.toml", "carol.toml")]
    result = run("check", "--variants", str(batch), *paths, "--csv", str(grades))
    assert result.returncode == 1, result.stderr
    book = {Path(r["file"]).stem: r for r in csv.DictReader(grades.open())}
    assert book["alice"]["incorrect"] == "0" and book["alice"]["spec"].endswith("v001/inf264_hw4-v001.toml")
    assert book["v9"]["incorrect"] == "0" and book["v9"]["spec"].endswith("v009/inf264_hw4-v009.toml")
    assert book["bob"]["incorrect"] == "1" and book["bob"]["mistakes"] == "missing-factor-2"
    assert [book[n]["variant"] for n in ("alice", "bob", "v9", "carol")] == ["1", "2", "9", "3"]
    assert book["bob"]["gradient.w4"] == "incorrect"
    assert int(book["carol"]["incorrect"]) > 10


@pytest.mark.parametrize("content, message", [
    ('student = "zoe"\n[answers]\nloss = "1"\n', "student 'zoe' is not in"),
    ('student = "alice"\nvariant = 2\n[answers]\nloss = "1"\n', "assigns student 'alice' variant 1"),
    ('variant = 99\n[answers]\nloss = "1"\n', "99 is not in"),
    ('variant = "two"\n[answers]\nloss = "1"\n', "expected a variant number"),
])
def test_check_variants_says_which_variant_is_unknown(batch, tmp_path, content, message):
    path = tmp_path / "x.toml"
    path.write_text(content)
    result = run("check", "--variants", str(batch), str(path))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_an_edited_variant_spec_is_refused(batch, tmp_path):
    import shutil

    copy = tmp_path / "class"
    shutil.copytree(batch, copy)
    spec = copy / "v002" / "inf264_hw4-v002.toml"
    spec.write_text(spec.read_text().replace("learning_rate = 0.01", "learning_rate = 0.02"))
    answers = tmp_path / "bob.toml"
    answers.write_text('student = "bob"\n[answers]\nloss = "1"\n')
    result = run("check", "--variants", str(copy), str(answers))
    assert result.returncode == 2 and "differs from the one the manifest records" in result.stderr


def test_the_specs_tolerance_overrides_the_answers_file(tmp_path):
    spec = tmp_path / "strict.toml"
    spec.write_text(HOMEWORK + "\n[tolerance]\nsigfigs = 6\n")
    answers = tmp_path / "a.toml"
    answers.write_text('spec = "strict.toml"\n[answers]\nnew_loss = "2.856"\n[tolerance]\nsigfigs = 2\n')
    result = run("check", str(answers), "--json")
    data = json.loads(result.stdout)
    assert data["answers"]["new_loss"]["verdict"] == "incorrect"
    assert "rounding" in data["answers"]["new_loss"]["mistakes"]


# ---------------------------------------------------------------- the handout

# one compile per branch of handout.tex.j2: flat with one step, matrix, several steps
HANDOUTS_COMPILED = ("inf264_hw4", "deep_relu", "tanh_five_steps")


@pytest.mark.parametrize("name", SPECS)
def test_handout_asks_the_questions_and_gives_no_answers(name, tmp_path):
    assert main(["handout", name, "--out", str(tmp_path), "--no-pdf"]) == 0
    tex = (tmp_path / f"{name}-handout.tex").read_text()
    spec = load(name)
    assert tex.count(r"\item ") == 7
    if spec.matrix_sheet:  # a bigger network: the vector form, four equalities
        assert r"\tag{4}" in tex and r"\tag{5}" not in tex and r"W^{(l)} \leftarrow W^{(l)}" in tex
    else:  # one equality per parameter, whatever the network
        assert r"\tag{%d}" % spec.parameter_count in tex
    # the answer key's own values (`answer_key(name).values`), without the mistakes it also computes
    derivation = derive(build(spec))
    key = answer_values(derivation.model, train(derivation, steps=1))
    for value in (key["loss"], key["new_loss"], key[f"gradient.{spec.trained_names[0]}"]):
        if value.is_Rational and value.q != 1:
            assert f"\\frac{{{abs(value.p)}}}{{{value.q}}}" not in tex
    if latexmk_available() and name in HANDOUTS_COMPILED:
        compile_pdf(tex, tmp_path / "handout.pdf")
        assert (tmp_path / "handout.pdf").stat().st_size > 1000


def test_the_homework_handout_reads_like_the_homework(tmp_path):
    assert main(["handout", "--out", str(tmp_path), "--no-pdf"]) == 0
    tex = (tmp_path / "inf264_hw4-handout.tex").read_text()
    assert r"\mathbf{x}_{1} &= (2, 1), & y_{1} &= 1.3" in tex
    assert r"\frac{\partial L}{\partial w_{0}} &= \delta_{h} \cdot \mathbf{x}[0] \tag{1}" in tex
    assert r"\theta_i \in \{w_{3}, w_{4}\}" in tex
    assert r"\eta = 0.01" in tex
    assert "variant =" not in tex  # a plain handout has no variant box
    for answer in ("3.25", "13/4", "2.855647", r"\frac{17}{5}"):
        assert answer not in tex


# ---------------------------------------------------------------- the stress test

def test_stress_check_verifies_every_variant(tmp_path):
    result = run("variants", "--check", "6", "--seed", "2", "--no-pdf", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["failures"] == [] and report["count"] == 6
    assert report["draws"]["total"] >= 6
    assert set(report["answers"]) == {k for k, _ in answer_keys(load("inf264_hw4"))}
    loss = report["answers"]["loss"]
    assert 0 < loss["min"] <= loss["median"] <= loss["max"]


def test_stress_check_reports_a_broken_variant(monkeypatch):
    monkeypatch.setattr(stress, "violations", lambda *args: ("loss_decreases",))
    report = stress.run(load("inf264_hw4"), 2, "1", pdf=False, jobs=1)
    assert [(f["variant"], f["check"]) for f in report["failures"]] == [(1, "constraints"), (2, "constraints")]
    assert "✗ variant 1: constraints: loss_decreases is not met" in stress.text(report)


@pytest.mark.skipif(not latexmk_available(), reason="TeX Live is not installed")
def test_stress_check_compiles_the_pdfs():
    report = stress.run(load("inf264_hw4"), 1, "4", pdf=True, jobs=1)
    assert report["pdf"] == "compiled" and report["failures"] == []


def test_a_new_batch_replaces_an_old_one_and_refuses_other_folders(tmp_path):
    out = tmp_path / "class"
    assert main(["variants", "--count", "3", "--seed", "1", "--out", str(out), "--no-pdf", "--jobs", "1"]) == 0
    (out / "notes.txt").write_text("the instructor's own file")
    assert main(["variants", "--count", "2", "--seed", "2", "--out", str(out), "--no-pdf", "--jobs", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["answer_key.csv", "answer_key.json", "manifest.json",
                                                      "notes.txt", "v001", "v002"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("x")
    result = run("variants", "--count", "1", "--out", str(other), "--no-pdf")
    assert result.returncode == 2 and "not a batch" in result.stderr
    assert (other / "thesis.tex").read_text() == "x"


def test_the_template_for_a_variant_names_its_spec_file(batch):
    path = batch / "v003" / "inf264_hw4-v003.toml"
    result = run_here("template", str(path))
    assert f'spec = "{path}"' in result.stdout


@pytest.mark.parametrize("args, message", [
    (["variants", "--check", "0"], "at least 1"),
    (["variants", "--check", "20000"], "at most 10000"),
    (["variants", "--count", "2", "--jobs", "-1"], "at least 0"),
    (["variants", "--count", "zero"], "expected an integer"),
    (["check", "x.toml", "--time-limit", "0"], "more than 0"),
])
def test_bad_counts_are_usage_errors(args, message):
    result = run_here(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
