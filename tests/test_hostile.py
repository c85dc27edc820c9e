"""Hostile answers files: each gets a row or one clear line within its bound, the grader (never the
student) decides tolerance and spec, and one bad file never costs the class its grades."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.check.answers import AnswersError, load_answers
from chainrule.cli.grade import CheckJob, FileError, _check_one
from chainrule.core.spec import Tolerance

ANSWERS = Path(__file__).parent / "answers"
CORRECT = (ANSWERS / "correct.toml").read_text(encoding="utf-8")
HAS_PROC = Path("/proc/self/stat").exists()


def run(*args: str, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# The command line, with one change made before it starts: grading a file whose name starts with
# "hang" never returns. The verdict fixes leave no known answer that really hangs, so this is how
# the pool's deadline and its clean-up are exercised end to end (forked workers inherit the patch).
HANGING_CLI = """
import sys, time
import chainrule.check.grading as grading
real = grading.check
def check(answers, *args, **kwargs):
    if answers.path.rsplit("/", 1)[-1].startswith("hang"):
        while True:
            time.sleep(1)
    return real(answers, *args, **kwargs)
grading.check = check
from chainrule.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def grade(path: Path, spec=None, tolerance=None, seconds=5.0):
    return _check_one(CheckJob(str(path), spec, seconds, None, tolerance))


def zeros() -> str:
    """Every numeric answer 0, and a tolerance wide enough to make them all 'right'."""
    lines = [line.replace('""', '"0"') if line.startswith('"') else line
             for line in run("template").stdout.splitlines() if not line.startswith("#")]
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


def exp_tower(depth: int, inner: str = "1") -> str:
    for _ in range(depth):
        inner = f"exp({inner})"
    return inner


# ---------------------------------------------------------------- the grader decides the tolerance

@pytest.mark.parametrize("table", ["absolute = 1000000", "relative = 1000", "sigfigs = 1\nabsolute = 1e300",
                                   "absolute = nan", "absolute = inf", "absolute = -1", "sigfig = 3", "x = [[[]]]"])
def test_a_students_tolerance_is_ignored_and_reported(tmp_path, table):
    path = tmp_path / "zeros.toml"
    path.write_text(zeros() + f"[tolerance]\n{table}\n", encoding="utf-8")
    report = grade(path)
    assert not isinstance(report, FileError), report
    assert not report.all_correct and report.count("correct") < 10  # zeros are wrong answers
    assert report.ignored == ("tolerance",)


def test_the_grader_reports_the_ignored_tolerance_in_text_json_and_csv(tmp_path):
    path = tmp_path / "zeros.toml"
    path.write_text(zeros() + "[tolerance]\nabsolute = 1000000\n", encoding="utf-8")
    gradebook = tmp_path / "grades.csv"
    text = run("check", str(path))
    data = json.loads(run("check", str(path), "--json", "--csv", str(gradebook)).stdout)
    row = next(csv.DictReader(gradebook.open(encoding="utf-8")))
    assert text.returncode == 1 and "[tolerance] in the answers file ignored" in text.stdout
    assert data["ignored"] == ["[tolerance] in the answers file ignored: the grader sets the tolerance"]
    assert row["ignored"].startswith("[tolerance] in the answers file ignored") and row["correct"] != "29"


def test_the_graders_tolerance_option_is_used(tmp_path):
    path = tmp_path / "coarse.toml"
    path.write_text('[answers]\nnew_loss = "2.86"\n', encoding="utf-8")  # 2.855647…
    assert grade(path).judgements[-6].verdict == "correct"
    strict = grade(path, tolerance=Tolerance(sigfigs=5))
    loose = grade(path, tolerance=Tolerance(absolute=__import__("decimal").Decimal("0.01")))
    verdicts = {j.key: j.verdict for j in strict.judgements}, {j.key: j.verdict for j in loose.judgements}
    assert verdicts[0]["new_loss"] == "incorrect" and verdicts[1]["new_loss"] == "correct"


@pytest.mark.parametrize("rule, ok", [
    ("sigfigs=3", True), ("relative=0.001", True), ("absolute=0.0005", True), ("sigfigs=4,absolute=0.01", True),
    ("absolute=nan", False), ("absolute=inf", False), ("relative=-1", False), ("sigfigs=0", False),
    ("sigfig=3", False), ("absolute", False), ("absolute=1e", False),
])
def test_the_tolerance_option_is_validated(rule, ok):
    result = run("check", str(ANSWERS / "correct.toml"), "--tolerance", rule)
    assert result.returncode == (0 if ok else 2), result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- the spec a student's file may name

def refused(tmp_path: Path, reference: str) -> str:
    path = tmp_path / "a.toml"
    path.write_text(f'spec = "{reference}"\n[answers]\nloss = "1"\n', encoding="utf-8")
    result = grade(path)
    assert isinstance(result, FileError), result
    assert f"{path}:1: key 'spec'" in result.reason
    return result.reason


@pytest.mark.parametrize("reference", ["/dev/zero", "/dev/stdin", "/etc/shadow", "/etc/no-such-file", "/proc/self/environ",
                                       "../outside.toml", "sub/../../outside.toml", "~/spec.toml", "..",
                                       "C:\\\\spec.toml", "fifo.toml", "zero.toml", "out.toml", "loop.toml",
                                       "missing.toml", "missing"])
def test_a_spec_path_outside_the_rules_is_one_clear_error(tmp_path, reference):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "derivations" / "sigmoid_bce.toml", tmp_path / "outside.toml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.toml")
    (folder / "zero.toml").symlink_to("/dev/zero")
    (folder / "out.toml").symlink_to(tmp_path / "outside.toml")
    (folder / "loop.toml").symlink_to(folder / "loop.toml")
    if reference == "fifo.toml" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    refused(folder, reference)


def test_an_absent_and_a_secret_file_give_the_same_answer(tmp_path):
    first = refused(tmp_path, "/etc/shadow").split("'/etc/shadow'")[1]
    second = refused(tmp_path, "/etc/no-such-file").split("'/etc/no-such-file'")[1]
    assert first == second


def test_a_spec_beside_the_answers_file_is_resolved_there_not_in_the_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "class"
    folder.mkdir()
    spec = (Path(__file__).parents[1] / "derivations" / "inf264_hw4.toml").read_text(encoding="utf-8")
    (folder / "mine.toml").write_text(spec, encoding="utf-8")
    (folder / "a.toml").write_text('spec = "mine.toml"\n' + CORRECT.replace('spec = "inf264_hw4"\n', ""), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no mine.toml here
    report = grade(folder / "a.toml")
    assert not isinstance(report, FileError), report
    assert report.all_correct and report.spec == "mine.toml"


def test_another_bundled_spec_is_shown_and_overridden_by_the_grader(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text('spec = "sigmoid_bce"\n[answers]\nloss = "1"\n', encoding="utf-8")
    assert grade(path).spec == "sigmoid_bce"  # graded as it asks, and the row says which problem
    assert grade(path, spec="inf264_hw4").spec == "inf264_hw4"


def test_a_class_whose_files_chose_different_specs_gets_a_note(tmp_path):
    (tmp_path / "a.toml").write_text(CORRECT, encoding="utf-8")
    (tmp_path / "b.toml").write_text('spec = "sigmoid_bce"\n[answers]\nloss = "1"\n', encoding="utf-8")
    mixed = run("check", "a.toml", "b.toml", cwd=tmp_path)
    assert "chose different specs (inf264_hw4: 1, sigmoid_bce: 1); use --spec" in mixed.stderr
    graded = run("check", "a.toml", "b.toml", "--spec", "inf264_hw4", "--csv", "g.csv", cwd=tmp_path)
    assert "different specs" not in graded.stderr
    assert [r["spec"] for r in csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8"))] == ["inf264_hw4"] * 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_a_file_past_the_memory_limit_gets_an_error_row(tmp_path):
    shutil.copy(ANSWERS / "correct.toml", tmp_path / "a.toml")
    result = run("check", "a.toml", "--memory-limit", "64", "--json", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert json.loads(result.stdout) == {"file": "a.toml", "verdict": "error", "error": "memory limit"}


@pytest.mark.parametrize("args", [["check", "a.toml", "--spec", "/dev/zero"], ["solve", "/dev/zero", "--no-pdf"],
                                  ["check", "a.toml", "--spec", "fifo"], ["template", "."]])
def test_a_graders_spec_that_is_no_regular_file_is_one_line(tmp_path, args):
    shutil.copy(ANSWERS / "correct.toml", tmp_path / "a.toml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
    result = run(*args, cwd=tmp_path, timeout=600)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- answers files themselves

@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"#" * 10_000_000), "larger than"),
    (lambda p: p.write_text(nested(100_000)), "nested too deeply"),
    (lambda p: p.write_text("[answers]\n" + "".join(f'"k{n}" = "{"1+" * 50}1"\n' for n in range(5000))), "larger than"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.mkdir(), "not a regular file"),
])
def test_an_unreadable_answers_file_is_refused_before_it_is_read(tmp_path, make, message):
    path = tmp_path / "a.toml"
    make(path)
    with pytest.raises(AnswersError, match=message) as error:
        load_answers(path)
    assert str(path) in str(error.value)


# ---------------------------------------------------------------- a class with hostile files in it

CANARY = "CANARY_CREATED"
HOSTILE = {
    "hang.toml": '[answers]\nloss = "3.25"\n',  # never returns (HANGING_CLI)
    "tower.toml": f'[answers]\nloss = "{exp_tower(10)}"\n',  # hung the first pass before the verdict fixes
    "overflow.toml": f'[answers]\nloss = "{exp_tower(5, "9")}"\n',
    "relu_step.toml": '[proofs]\nw2 = "dL/dw2 = delta_h + relu(sin(1)^2+cos(1)^2-1)"\n',
    "nan_tolerance.toml": '[answers]\nloss = "0"\n[tolerance]\nabsolute = nan\n',
    "dev_zero.toml": 'spec = "/dev/zero"\n[answers]\nloss = "0"\n',
    "shadow.toml": 'spec = "/etc/shadow"\n',
    "deep.toml": nested(50_000),
    "code.toml": ('spec = "inf264_hw4"\n[answers]\n'
                  f'loss = "__import__(\'os\').system(\'touch {CANARY}\')"\n'
                  f'"gradient.w0" = "eval(\\"open(\'{CANARY}\', \'w\')\\")"\n'
                  f'"gradient.w1" = "$(touch {CANARY})"\n'
                  f'[proofs]\nw0 = "dL/dw0 = exec(\'open({CANARY!r}, \\"w\\")\') = delta_h * x0"\n'),
}


@pytest.fixture(scope="module", autouse=True)
def hostile_class_run(tmp_path_factory):
    """The hostile class's `check`, started with the module's first test: its 20 s wait for the hanging
    file overlaps the other tests here instead of holding a worker idle. `hostile_class` waits for it."""
    folder = tmp_path_factory.mktemp("class")
    files = []
    for n in range(6):
        (folder / f"good{n}.toml").write_text(CORRECT, encoding="utf-8")
        files.append(f"good{n}.toml")
    for name, text in HOSTILE.items():
        (folder / name).write_text(text, encoding="utf-8")
        files.append(name)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo_spec")
        (folder / "fifo.toml").write_text('spec = "fifo_spec"\n', encoding="utf-8")
        files.append("fifo.toml")
    files.append("no_such_file.toml")
    args = ["check", *files, "--csv", "grades.csv", "--json", "--file-time-limit", "20", "--jobs", "2"]
    process = subprocess.Popen([sys.executable, "-c", HANGING_CLI, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=folder)
    yield folder, files, process
    if process.poll() is None:  # a run of some other test of this module alone: let it end on its own
        process.communicate(timeout=600)  # (killing it would orphan its hanging worker)


@pytest.fixture(scope="module")
def hostile_class(hostile_class_run):
    folder, files, process = hostile_class_run
    stdout, stderr = process.communicate(timeout=600)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    rows = list(csv.DictReader((folder / "grades.csv").open(encoding="utf-8")))
    return folder, files, result, rows


def test_every_file_of_a_hostile_class_has_a_row_and_every_good_file_is_graded(hostile_class):
    folder, files, result, rows = hostile_class
    assert result.returncode == 2, result.stderr  # some files could not be graded
    assert [r["file"] for r in rows] == files
    data = json.loads(result.stdout)
    assert [d["file"] for d in data] == files
    for row, entry in zip(rows, data):
        if row["file"].startswith("good"):
            assert row["correct"] == "29" and row["error"] == "" and entry["summary"]["correct"] == 29
        else:
            assert row["error"] or row["correct"] != "29"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name, reason", [
    ("hang.toml", "time limit of 20 s for the file"),
    ("dev_zero.toml", "key 'spec'"),
    ("shadow.toml", "key 'spec'"),
    ("fifo.toml", "not a regular file"),
    ("deep.toml", "nested too deeply"),
    ("no_such_file.toml", "cannot read the file"),
])
def test_a_hostile_file_gets_an_error_row_with_its_reason(hostile_class, name, reason):
    folder, files, result, rows = hostile_class
    if name not in files:
        pytest.skip("no FIFOs here")
    row = next(r for r in rows if r["file"] == name)
    assert reason in row["error"]
    assert reason in result.stderr


@pytest.mark.parametrize("name", ["tower.toml", "overflow.toml", "relu_step.toml", "nan_tolerance.toml",
                                  "code.toml"])
def test_a_payload_that_used_to_raise_gets_a_row(hostile_class, name):
    # a verdict once the checker handles it, an 'internal error' row until then: never a lost class
    folder, files, result, rows = hostile_class
    row = next(r for r in rows if r["file"] == name)
    assert row["total"] == "29" or row["error"].startswith(("internal error", "time limit", "memory limit"))


def test_no_payload_runs_as_code(hostile_class):
    folder, *_ = hostile_class
    assert not (folder / CANARY).exists() and not Path(CANARY).exists()


# ---------------------------------------------------------------- no worker outlives the command

def session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _ctrl_c_as_in_a_terminal() -> None:
    # A test run started in the background (nohup, `cmd &` in a script) inherits SIGINT ignored, and
    # Python keeps an inherited SIG_IGN; a user's terminal delivers Ctrl-C, so the command gets it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not HAS_PROC, reason="reads /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_stopping_the_command_stops_its_workers(tmp_path, how):
    for n in range(3):
        (tmp_path / f"hang{n}.toml").write_text(HOSTILE["hang.toml"], encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-c", HANGING_CLI, "check", "hang0.toml", "hang1.toml",
                                "hang2.toml", "--jobs", "2", "--file-time-limit", "600"],
                               cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        for _ in range(6000):  # until both workers are up (generous: a niced run on busy cores is slow)
            if len(session_members(process.pid)) >= 3:
                break
            time.sleep(0.1)
        assert len(session_members(process.pid)) >= 3
        if how == "SIGINT":  # Ctrl-C reaches the whole foreground group
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(getattr(signal, how))
        process.wait(timeout=600)  # a bound on a hang, not a speed: niced runs on busy cores get starved
        for _ in range(3000):
            if not session_members(process.pid):
                break
            time.sleep(0.1)
        assert session_members(process.pid) == []
        assert b"Traceback" not in process.stderr.read()
    finally:
        for pid in session_members(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
