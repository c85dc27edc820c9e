"""The command line, run as users run it: exit codes, outputs and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from chainrule.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def homework_json(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """`chainrule solve --no-pdf --json` of the homework, run once for the tests that read it."""
    out = tmp_path_factory.mktemp("solve")
    return run("solve", "--no-pdf", "--json", "--out", str(out)), out


def test_solve_json_has_the_contract_keys_with_exact_values(homework_json):
    result, out = homework_json
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "inf264_hw4"
    assert data["parameters"] == ["w0", "w1", "w2", "w3", "w4"]
    assert [Fraction(v) for v in data["predictions"]] == [3, 0]
    assert Fraction(data["loss"]) == Fraction(13, 4)
    assert Fraction(data["sample_gradients"][0]["w3"]) == Fraction(51, 5)
    assert Fraction(data["gradient"]["w0"]) == Fraction(17, 5)
    assert Fraction(data["updated_parameters"]["w2"]) == Fraction(-17, 1000)
    assert Fraction(data["new_loss"]) == Fraction(1427823662201, 500000000000)
    assert [i["verdict"] for i in data["identities"]] == ["proved"] * 5
    assert {i["parameter"] for i in data["identities"]} == set(data["parameters"])
    learning_rate = data["learning_rate"]
    assert float(learning_rate["best"]["eta"]["decimal"]) == pytest.approx(0.0819, abs=1e-4)
    assert Fraction(learning_rate["decrease_interval"][0]["from"]["exact"]) == 0
    assert (out / "inf264_hw4-solution.tex").is_file()


def test_solve_text_summary(tmp_path):
    result = run("solve", "inf264_hw4", "--no-pdf", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Q2 loss: 13/4" in result.stdout
    assert "1427823662201/500000000000 ≈ 2.855647" in result.stdout
    assert "g'(0) = 0" in result.stdout


def test_output_is_byte_identical_across_runs(homework_json, tmp_path):
    first, out = homework_json
    second = run("solve", "--no-pdf", "--json", "--out", str(tmp_path / "b"))
    assert first.stdout == second.stdout
    tex = "inf264_hw4-solution.tex"
    assert (out / tex).read_bytes() == (tmp_path / "b" / tex).read_bytes()


@pytest.mark.parametrize("spec", sorted(p.stem for p in (ROOT / "derivations").glob("*.toml")))
def test_every_bundled_spec_solves(spec, tmp_path):
    assert main(["solve", spec, "--no-pdf", "--out", str(tmp_path)]) == 0


BAD_SPECS = [
    ("syntax", "name = \n", "(syntax)"),
    ("missing network", 'name = "a"\n', "network"),
    ("unknown activation", "[network]\nsizes = [1, 1]\nactivations = [\"swish\"]\n", "network.activations[0]"),
]


@pytest.mark.parametrize("label, text, key", BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_spec_gives_one_line_and_exit_2(label, text, key, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = run("solve", str(path), "--no-pdf", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr and key in result.stderr


def test_missing_spec_name_is_exit_2(tmp_path):
    result = run("solve", "no_such_spec", "--no-pdf", "--out", str(tmp_path))
    assert result.returncode == 2 and "no_such_spec" in result.stderr


def test_usage_error_is_exit_2():
    assert run("frobnicate").returncode == 2


def test_json_mirrors_every_value_as_30_digit_decimals(homework_json):
    data = json.loads(homework_json[0].stdout)
    decimals = data["decimals"]
    assert decimals["loss"] == "3.25000000000000000000000000000"
    assert decimals["new_loss"].startswith("2.855647324402")
    assert set(decimals["gradient"]) == set(data["parameters"])
    for name in data["parameters"]:
        assert Fraction(decimals["updated_parameters"][name]) == Fraction(data["updated_parameters"][name])
    assert decimals["deltas"][0] == {"delta_h": "3.40000000000000000000000000000",
                                     "delta_y_hat": "3.40000000000000000000000000000"}
    lr, exact_lr = decimals["learning_rate"], data["learning_rate"]
    assert Fraction(lr["region_changes"][0]) == Fraction(10, 51).limit_denominator(10**29) or \
        lr["region_changes"][0].startswith("0.19607843137254901960784313725")  # η = 10/51 by hand
    assert float(lr["best"]["eta"]) == pytest.approx(float(exact_lr["best"]["eta"]["decimal"]), rel=1e-11)
    assert float(lr["decrease_interval"][0]["to"]) == pytest.approx(0.319090682917, abs=1e-12)
    assert len(lr["curves"]) == len(exact_lr["curves"])
    for mirror, curve in zip(lr["curves"], exact_lr["curves"]):
        assert len(mirror["losses"]) == len(curve["losses"])
        assert float(mirror["losses"][0]) == float(Fraction(curve["losses"][0]["loss"]))


def test_irrational_values_are_exact_expression_strings(tmp_path):
    data = json.loads(run("solve", "sigmoid_bce", "--no-pdf", "--json", "--out", str(tmp_path)).stdout)
    assert "exp(" in data["loss"]  # exact, in the plain-text notation
    assert float(data["decimals"]["loss"]) == pytest.approx(0.762884190467294, abs=1e-12)
    assert {i["verdict"] for i in data["identities"]} == {"proved"}


# ------------------------------------------------------------------ conventions: --version, -, help, encodings

def run_bytes(*args: str, stdin: bytes = b"", env: dict | None = None, cwd: Path | None = None):
    import os

    return subprocess.run([sys.executable, "-m", "chainrule", *args], input=stdin, capture_output=True,
                          cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


def test_version_prints_and_exits_0():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("chainrule ") and not result.stderr


def test_version_does_not_load_sympy():
    """`chainrule --version` answers in milliseconds: neither SymPy nor Jinja2 is imported for it."""
    code = ("import sys\nfrom chainrule.cli.main import main\ncode = main(['--version'])\n"
            "print(code, sorted(m for m in ('sympy', 'jinja2', 'mpmath') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 []"


def test_every_argument_has_help_text():
    from chainrule.cli.main import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in [("chainrule", parser), *commands.items()]:
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}: no help text"


def test_one_command_parser_parses_and_helps_as_the_whole_one(capsys):
    """main() defines only the named command's arguments: the same namespace and the same help."""
    from chainrule.cli.main import COMMANDS, _parser

    whole = _parser()
    assert set(COMMANDS) == set(next(a for a in whole._actions if a.dest == "command").choices)
    lines = [["solve", "hw.toml", "--no-pdf", "--json", "--out", "o"], ["eval", "dL/dw0", "--set", "x1=2", "--digits", "5"],
             ["check", "a.toml", "--lms", "canvas", "--csv", "g.csv", "--tolerance", "sigfigs=3"],
             ["variants", "--count", "3", "--seed", "7"], ["serve", "--port", "0"], ["lr"], ["moodle", "folder"]]
    for line in lines:
        assert _parser(line[0]).parse_args(line) == whole.parse_args(line)
    for name in COMMANDS:
        helps = []
        for parser in (_parser(name), _parser()):
            with pytest.raises(SystemExit):
                parser.parse_args([name, "--help"])
            helps.append(capsys.readouterr().out)
        assert helps[0] == helps[1] and f"usage: chainrule {name}" in helps[0]


SPEC = (ROOT / "derivations" / "inf264_hw4.toml").read_bytes()
CORRECT = (ROOT / "tests" / "answers" / "correct.toml").read_bytes()


@pytest.mark.parametrize("args, stdin, code, out", [
    (["check", "-"], CORRECT, 0, "<stdin> (model answer, inf264_hw4): 29/29 correct"),
    (["check", "-", "--json"], CORRECT, 0, '"file": "<stdin>"'),
    (["check", "-"], b'[answers]\n"loss" = "6.5"\n', 1, "<stdin> (<stdin>, inf264_hw4): 0/29 correct"),
    (["lr", "-", "--json"], SPEC, 0, '"name": "inf264_hw4"'),
])
def test_dash_reads_standard_input(args, stdin, code, out, tmp_path):
    result = run_bytes(*args, stdin=stdin, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert out in result.stdout.decode()


def test_solve_reads_a_spec_from_standard_input(tmp_path):
    result = run_bytes("solve", "-", "--json", "--no-pdf", "--out", str(tmp_path), stdin=SPEC)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["loss"] == "13/4" and data["name"] == "inf264_hw4"


@pytest.mark.parametrize("args, stdin, message", [
    (["check", "-"], b"\x00", "<stdin>: key '(file)': binary data"),
    (["check", "-"], b"", "<stdin>: key '(file)': the file is empty"),
    (["check", "-"], b"x" * 300_000, "<stdin>: larger than 256000 bytes"),
    (["check", "-", "-"], CORRECT, "standard input can be read once"),
    (["solve", "-", "--no-pdf"], b"name = 3\n", "<stdin>:1: key 'name'"),
    (["solve", "-", "--no-pdf"], b"y" * 1_100_000, "<stdin>: key '(file)': larger than 1000000 bytes"),
])
def test_bad_standard_input_is_one_line_and_exit_2(args, stdin, message, tmp_path):
    result = run_bytes(*args, "--out", str(tmp_path), stdin=stdin, cwd=tmp_path) if args[0] == "solve" else \
        run_bytes(*args, stdin=stdin, cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("encoding", ["cp1252", "ascii", "latin-1"])
@pytest.mark.parametrize("args, code", [
    (["solve", "--no-pdf"], 0),
    (["lr"], 0),
    (["check", str(ROOT / "tests" / "answers" / "correct.toml")], 0),
    (["check", "-"], 1),  # a wrong answer stays exit 1 (student wrong), not a crash
    (["equiv", "dL/dw0", r"\delta_h \cdot x[0]"], 0),
])
def test_output_a_terminal_cannot_encode_is_escaped_not_a_traceback(encoding, args, code, tmp_path):
    extra = ["--out", str(tmp_path)] if args[0] == "solve" else []
    result = run_bytes(*args, *extra, stdin=b'[answers]\n"loss" = "6.5"\n', cwd=tmp_path,
                       env={"PYTHONIOENCODING": encoding})
    err = result.stderr.decode(encoding)
    assert result.returncode == code, err
    assert "Traceback" not in err
    result.stdout.decode(encoding)  # it is the terminal's encoding throughout


def test_check_escapes_the_marks_on_an_ascii_terminal():
    result = run_bytes("check", str(ROOT / "tests" / "answers" / "correct.toml"), env={"PYTHONIOENCODING": "ascii"})
    assert "\\u2713 loss 3.25" in result.stdout.decode("ascii")


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    files = []
    for n in range(3):
        (tmp_path / f"s{n}.toml").write_bytes(CORRECT)
        files.append(f"s{n}.toml")
    result = run_bytes("check", *files, "--jobs", "2", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == b""
