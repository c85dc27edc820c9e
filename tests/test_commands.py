"""`chainrule equiv`, `eval`, `template` and `check` as users run them: output and exit codes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
import tomllib
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from chainrule.check.gradebook import FileError
from chainrule.cli.main import main
from chainrule.core import certify

ANSWERS = Path(__file__).parent / "answers"


def run(*args: str) -> subprocess.CompletedProcess:
    """The real command, in its own process: `check` (its worker pool) and the entry point's exit codes."""
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=300)


def run_here(*args: str) -> subprocess.CompletedProcess:
    """`chainrule ARGS` through `main`, in this process: what it prints and returns, without the 1-2 s
    start of a new interpreter (SymPy's import). The process boundary is test_cli.py's and `run`'s."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["chainrule", *args], code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("a, b, code, word", [
    ("(x+1)^2", "x^2+2x+1", 0, "equivalent"),
    ("sqrt(x^2)", "abs(x)", 0, "equivalent"),
    ("max(0, z)", r"\max\left(0, z\right)", 0, "equivalent"),
    (r"\frac{\partial L}{\partial w_0}", r"\delta_h \cdot x[0]", 0, "equivalent"),
    ("dL/dz", r"\delta_{\hat{y}} \cdot w_3 \cdot g'(z)", 0, "equivalent"),
    ("(x+1)^2", "x^2+1", 1, "not equivalent"),
    ("max(0, z)", "z", 1, "not equivalent"),
    ("x", "foo", 2, ""),
])
def test_equiv(a, b, code, word):
    result = run_here("equiv", a, b)
    assert result.returncode == code, result.stderr
    assert result.stdout.startswith(word)
    if code == 2:
        assert "foo" in result.stderr and "Traceback" not in result.stderr


def test_equiv_json_gives_an_exact_counterexample():
    result = run_here("equiv", "(x+1)^2", "x^2+1", "--json")
    data = json.loads(result.stdout)
    assert data["verdict"] == "not equivalent"
    x = Fraction(data["counterexample"]["x"])
    assert Fraction(data["values"]["A"]) == (x + 1) ** 2 and Fraction(data["values"]["B"]) == x**2 + 1
    assert (x + 1) ** 2 != x**2 + 1


@pytest.mark.parametrize("args, output", [
    ([r"\frac{\partial L}{\partial w_3}", "--sample", "1"], "51/5 = 10.2"),
    (["delta_h * x[0]", "--sample", "1"], "34/5 = 6.8"),
    (["dL/dw4", "--sample", "2"], "-19/5 = -3.8"),
    (["x^2 + 2x + 1", "--set", "x=1/3"], "16/9 ≈ 1.777778"),
    (["yhat", "--sample", "2", "--set", "w_4=1.5"], "3/2 = 1.5"),
])
def test_eval(args, output):
    result = run_here("eval", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == output


@pytest.mark.parametrize("args, message", [
    (["z"], "use --sample"),
    (["z", "--sample", "3"], "--sample 3"),
    (["z", "--set", "q=__import__"], "--set"),
])
def test_eval_errors_are_one_line(args, message):
    result = run_here("eval", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ eval --digits N


def eval_in_process(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["eval", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


@pytest.mark.parametrize("expr, oracle", [
    (r"\pi", lambda: mpmath.pi),
    (r"\mathrm{e}", lambda: mpmath.e),
    (r"\sqrt{2}", lambda: mpmath.sqrt(2)),
    (r"\ln(2)", lambda: mpmath.log(2)),
    (r"\tanh(1)", lambda: mpmath.tanh(1)),
    (r"\exp(-200)", lambda: mpmath.exp(-200)),  # scientific notation
    (r"\exp(10^6)", lambda: mpmath.exp(10**6)),  # 434,295 digits before the point
    (r"0-\sqrt{2}/10^{20}", lambda: -mpmath.sqrt(2) / 10**20),
    (r"e^{\pi \sqrt{163}}", lambda: mpmath.exp(mpmath.pi * mpmath.sqrt(163))),  # 262537412640768743.99999999999925…
])
@pytest.mark.parametrize("digits", [50, 1000])
def test_eval_digits_agree_with_mpmath(capsys, expr, oracle, digits):
    code, out, _ = eval_in_process(capsys, expr, "--digits", str(digits), "--json")
    assert code == 0
    shown = Decimal(json.loads(out)["decimal"])
    assert len(shown.as_tuple().digits) == digits  # exactly N significant digits, trailing zeros kept
    with mpmath.workdps(digits + 30):
        expected = Decimal(mpmath.nstr(oracle(), digits + 20, strip_zeros=False))
    assert abs(shown - expected) <= Decimal(5).scaleb(expected.adjusted() - digits)  # half a unit in the last place
    assert json.loads(out)["digits"] == digits


@pytest.mark.parametrize("args, output", [
    (["1/128", "--digits", "3"], "1/128 ≈ 0.00781"),
    (["1/128", "--digits", "5"], "1/128 = 0.0078125"),
    (["1/8", "--digits", "2"], "1/8 ≈ 0.12"),  # a tie rounds to even
    (["3/8", "--digits", "2"], "3/8 ≈ 0.38"),
    (["dL/dw3", "--sample", "1", "--digits", "4"], "51/5 = 10.20"),
    (["2/3", "--digits", "1"], "2/3 ≈ 0.7"),
    (["10^{40}/3", "--digits", "3"], "10000000000000000000000000000000000000000/3 ≈ 3.33e+39"),
    (["sin(1)^2+cos(1)^2-1", "--digits", "8"], "-1 + cos(1)**2 + sin(1)**2 = 0"),  # proved zero
    (["1/128"], "1/128 ≈ 0.007812"),  # the default 6 places: rounded, so not "="
])
def test_eval_digits_text(capsys, args, output):
    code, out, _ = eval_in_process(capsys, *args)
    assert code == 0 and out == output


def test_eval_digits_undecided_is_exit_3_and_null(capsys, monkeypatch):
    monkeypatch.setattr(certify, "_simplifies_to_zero", lambda value, deadline: False)
    code, out, _ = eval_in_process(capsys, "sin(1)^2+cos(1)^2-1", "--digits", "5", "--json")
    assert code == 3 and json.loads(out) == {"exact": "-1 + cos(1)**2 + sin(1)**2", "decimal": None, "digits": 5}
    code, out, _ = eval_in_process(capsys, "sin(1)^2+cos(1)^2-1", "--digits", "5")
    assert code == 3 and "could not be certified" in out and "≈" not in out


@pytest.mark.parametrize("args, message", [
    (["1", "--digits", "0"], "from 1 to 1000"),
    (["1", "--digits", "1001"], "from 1 to 1000"),
    (["1", "--digits", "many"], "expected an integer"),
    ([r"\ln(-1)"], "not a real number"),
    ([r"\ln(-1)", "--digits", "5"], "not a real number"),
])
def test_eval_digits_errors_are_exit_2(capsys, args, message):
    code, _, err = eval_in_process(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_template_is_a_valid_answers_file_with_every_key(tmp_path):
    result = run_here("template")
    assert result.returncode == 0
    data = tomllib.loads(result.stdout)
    assert len(data["answers"]) == 24 and set(data["proofs"]) == {"w0", "w1", "w2", "w3", "w4"}
    path = tmp_path / "blank.toml"
    path.write_text(result.stdout, encoding="utf-8")
    assert run("check", str(path)).returncode == 1  # blank answers are not correct


def test_check_one_correct_file_exits_0():
    result = run("check", str(ANSWERS / "correct.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "29/29 correct" in result.stdout


def test_check_json_contract(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[answers]\n"gradient.w0" = "1.7"\n', encoding="utf-8")
    data = json.loads(run("check", str(path), "--json").stdout)
    answer = data["answers"]["gradient.w0"]
    assert set(answer) == {"verdict", "expected", "given", "mistakes", "explanations", "feedback"}
    assert answer["verdict"] == "incorrect" and answer["mistakes"] == ["missing-factor-2"]
    assert list(answer["explanations"]) == ["missing-factor-2"]
    assert "power rule" in answer["explanations"]["missing-factor-2"]
    assert answer["explanations"]["missing-factor-2"] in answer["feedback"]
    assert data["answers"]["proofs.w0"]["verdict"] == "missing"


def test_check_class_in_parallel_with_gradebook(tmp_path):
    files = []
    for n in range(6):
        target = tmp_path / f"s{n}.toml"
        shutil.copy(ANSWERS / "correct.toml", target)
        files.append(str(target))
    (tmp_path / "s5.toml").write_text('[answers]\n"loss" = "6.5"\n', encoding="utf-8")
    (tmp_path / "broken.toml").write_bytes(b"\x00\x01")
    gradebook = tmp_path / "grades.csv"
    result = run("check", *files, str(tmp_path / "broken.toml"), "--csv", str(gradebook))
    assert result.returncode == 2  # one file could not be read; the others are still graded
    rows = list(csv.DictReader(gradebook.open(encoding="utf-8")))
    assert len(rows) == 7
    assert [r["correct"] for r in rows[:5]] == ["29"] * 5
    assert rows[5]["mistakes"] == "loss-sum-not-mean"
    assert "binary" in rows[6]["error"]


def test_check_wrong_answers_exit_1(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[answers]\n"loss" = "3.25"\n', encoding="utf-8")
    assert run("check", str(path)).returncode == 1


def test_eval_reads_layered_names():
    # two_hidden_relu sample 3: dL/dw0 = δ^{(1)}_1 · x[0] = -53/20 (also its per-sample gradient)
    result = run_here("eval", "delta_z1_1 * x[0]", "--spec", "two_hidden_relu", "--sample", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-53/20 = -2.65"


@pytest.mark.parametrize("a, b, code", [
    (r"dL/dw^{(1)}_{12}", r"\delta^{(1)}_{1} x[1]", 0),
    (r"\frac{\partial L}{\partial a^{(1)}_{2}}", r"w^{(2)}_{12} \delta^{(2)}_1 + w^{(2)}_{22} \delta^{(2)}_2", 0),
    (r"dL/dw^{(3)}_{12}", r"\delta_{\hat{y}} a^{(2)}_1", 1),
])
def test_equiv_on_a_deep_network_is_decided(a, b, code):
    result = run_here("equiv", a, b, "--spec", "two_hidden_relu", "--json")
    assert result.returncode == code, result.stdout + result.stderr
    data = json.loads(result.stdout)
    if code == 1:  # the counterexample is a real one: both sides evaluated there differ
        assert data["values"]["A"] != data["values"]["B"]


@pytest.mark.parametrize("latexmk, expected", [
    (False, "latexmk not found: install TeX Live"),
    (True, "wrote {out}/inf264_hw4-handout.pdf"),
])
def test_handout_says_which_pdf_it_wrote_or_why_not(monkeypatch, capsys, tmp_path, latexmk, expected):
    # the PDF's name comes from what the compile returned, not from the wording of a note
    import chainrule.render.documents as documents

    def fake_compile(tex, pdf_path, timeout=0):
        pdf_path.write_bytes(b"%PDF")
        return pdf_path

    monkeypatch.setattr(documents, "latexmk_available", lambda: latexmk)
    monkeypatch.setattr(documents, "compile_pdf", fake_compile)
    assert main(["handout", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {tmp_path}/inf264_hw4-handout.tex"
    assert lines[1].startswith(expected.format(out=tmp_path)) and len(lines) == 2


# (answers file, spec file beside it or None, the one stderr line `check` prints for it: {a} is the
# answers file's path, {s} the spec's). A message that names the answers file itself is printed as
# it is; one about another file (the spec it chose) or about nothing gets the answers file in front.
@pytest.mark.parametrize("answers, spec, line", [
    (b"\x00\x01", None, "{a}: key '(file)': binary data, expected a TOML text file"),
    (b'spec = "no_such_spec"\n', None, "{a}:1: key 'spec': 'no_such_spec': no such bundled spec or file"),
    (b'spec = "bad.toml"\n', b'name = 3\n', "{a}: {s}:1: key 'name': expected a non-empty string"),
])
def test_a_file_that_cannot_be_graded_is_named_once(tmp_path, answers, spec, line):
    from chainrule.cli.grade import CheckJob, _check_one, _error_line

    path = tmp_path / "a.toml"
    path.write_bytes(answers)
    if spec is not None:
        (tmp_path / "bad.toml").write_bytes(spec)
    result = _check_one(CheckJob(str(path), None, 5.0, None, None))
    assert isinstance(result, FileError)
    assert _error_line(result).startswith(line.format(a=path, s=tmp_path / "bad.toml"))


@pytest.mark.parametrize("error, line", [
    (FileError("a.toml", "a.toml:3: key 'x': expected a string", names_file=True), "a.toml:3: key 'x': expected a string"),
    (FileError("a.toml", "time limit of 5 s for the file"), "a.toml: time limit of 5 s for the file"),
    # the reason happens to begin with the path's text, but is not the file's reader speaking
    (FileError("a", "a.toml is missing"), "a: a.toml is missing"),
])
def test_the_error_line_reads_the_flag_not_the_message(error, line):
    from chainrule.cli.grade import _error_line

    assert _error_line(error) == line
