"""Hostile students, broken files and full disks: outputs are whole or absent, nothing student-written runs.

Fault injection runs the real command in a subprocess: a full disk is a file-size limit
(RLIMIT_FSIZE), a crash is SIGKILL. Waits poll for a state with a generous bound; nothing
asserts on wall time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule import safe_io
from chainrule.cli.main import main
from chainrule.core.spec import resolve_path
from chainrule.core.spec_dump import dump
from chainrule.core.spec_reader import load, parse
from chainrule.errors import ChainruleError
from chainrule.render.documents import compile_pdf, latexmk_available
from chainrule.untrusted import cell, json_text, shown

CORRECT = Path(__file__).parent / "answers" / "correct.toml"
PREVIOUS = "the previous, complete file\n"
LEFTOVER = re.compile(r"\..*\.chainrule-")


def run(*args: str, limit: int | None = None, **popen) -> subprocess.CompletedProcess:
    """The command line in a fresh process; `limit` caps the size of any file it writes (a full disk)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          preexec_fn=cap if limit else None, timeout=600, **popen)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), result.stderr
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if LEFTOVER.match(p.name))


def answers_file(tmp_path: Path, student: str, name: str = "answers.toml") -> Path:
    text = CORRECT.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^student = .*$", lambda _: f"student = {json.dumps(student)}", text)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_batch(out: Path, seed: str = "1", count: int = 2, *extra: str) -> Path:
    assert main(["variants", "--count", str(count), "--seed", seed, "--out", str(out), "--no-pdf",
                 "--jobs", "1", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    return make_batch(tmp_path_factory.mktemp("batch") / "class")


# ---------------------------------------------------------------- a full disk

def _solve(tmp_path, batch):
    return tmp_path / "inf264_hw4-solution.tex", ["solve", "--no-pdf", "--out", str(tmp_path)]


def _check_csv(tmp_path, batch):
    target = tmp_path / "grades.csv"
    return target, ["check", str(CORRECT), "--csv", str(target)]


def _moodle(tmp_path, batch):
    target = tmp_path / "quiz.xml"
    return target, ["moodle", str(batch), "--output", str(target)]


@pytest.mark.parametrize("command", [_solve, _check_csv, _moodle], ids=["solve", "check-csv", "moodle"])
def test_a_full_disk_is_one_line_and_leaves_the_previous_file(command, tmp_path, batch):
    target, args = command(tmp_path, batch)
    target.write_text(PREVIOUS, encoding="utf-8")
    result = run(*args, limit=400)  # every one of these outputs is larger than 400 bytes
    line = one_line_error(result)
    assert str(target) in line and "disk is full" in line
    assert target.read_text(encoding="utf-8") == PREVIOUS
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", [_solve, _check_csv, _moodle], ids=["solve", "check-csv", "moodle"])
def test_without_a_limit_the_same_commands_replace_the_file(command, tmp_path, batch):
    target, args = command(tmp_path, batch)
    target.write_text(PREVIOUS, encoding="utf-8")
    assert run(*args).returncode == 0
    assert target.read_text(encoding="utf-8") != PREVIOUS and target.stat().st_size > 400
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~safe_io._UMASK)  # not mkstemp's 0600
    assert leftovers(tmp_path) == []


def test_a_full_disk_during_variants_leaves_the_previous_batch(tmp_path):
    out = make_batch(tmp_path / "class", "1")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = run("variants", "--count", "3", "--seed", "2", "--out", str(out), "--no-pdf", "--jobs", "1", limit=3000)
    assert f"--out {out}: cannot write the batch: the disk is full" in one_line_error(result)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- the wrong kind of path

@pytest.mark.parametrize("args, message", [
    (["solve", "--no-pdf", "--out", "{file}"], "not a folder"),
    (["solve", "--no-pdf", "--out", "{file}/sub"], "cannot make the folder"),
    (["handout", "--no-pdf", "--out", "{file}"], "not a folder"),
    (["variants", "--count", "1", "--no-pdf", "--out", "{file}"], "not a folder"),
    (["variants", "--count", "1", "--no-pdf", "--out", "{file}/sub"], "not a folder"),
    (["check", str(CORRECT), "--csv", "{folder}"], "is a folder"),
    (["moodle", "{batch}", "--output", "{folder}"], "is a folder"),
])
def test_a_path_of_the_wrong_kind_is_one_line(args, message, tmp_path, batch, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    args = [a.format(file=tmp_path / "file", folder=tmp_path / "folder", batch=batch) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_an_os_error_while_writing_names_the_path():
    with pytest.raises(safe_io.OutputError, match=r"^/proc/version: cannot write: "):
        safe_io.write_text("/proc/version", "x")


# ---------------------------------------------------------------- a batch: killed, terminated, doubled

def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, what: str, bound: float = 300):
    """Poll until `condition()` is true; the bound only stops a broken run from hanging the suite."""
    end = time.monotonic() + bound
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_variants_run_keeps_the_previous_batch_and_the_rerun_succeeds(signum, tmp_path):
    out = make_batch(tmp_path / "class", "1")
    (out / "notes.txt").write_text("the instructor's notes\n", encoding="utf-8")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "variants", "--count", "400", "--seed", "2",
                                "--out", str(out), "--no-pdf", "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(_children(process.pid)) >= 2, "the worker processes")
        workers = _children(process.pid)
        process.send_signal(signum)
        process.wait(timeout=600)
    finally:
        process.kill()
        process.wait()
    _wait_for(lambda: not any(_alive(w) for w in workers), "the workers to end")
    if signum == signal.SIGTERM:
        assert process.returncode == 128 + signal.SIGTERM and "Traceback" not in process.stderr.read()
        assert leftovers(tmp_path) == []
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    make_batch(out, "3", 3)
    assert json.loads((out / "manifest.json").read_text())["seed"] == "3"
    assert sorted(p.name for p in out.iterdir()) == ["answer_key.csv", "answer_key.json", "manifest.json",
                                                     "notes.txt", "v001", "v002", "v003"]
    assert leftovers(tmp_path) == []


def test_a_second_writer_to_one_out_is_refused(tmp_path, capsys):
    out = make_batch(tmp_path / "class", "1")
    manifest = (out / "manifest.json").read_bytes()
    with safe_io.locked(out.resolve()):  # a first `variants` run, still writing
        assert main(["variants", "--count", "1", "--seed", "2", "--out", str(out), "--no-pdf", "--jobs", "1"]) == 2
        err = capsys.readouterr().err
        assert f"--out {out}: another chainrule run (pid {os.getpid()}) is writing there" in err
        assert (out / "manifest.json").read_bytes() == manifest
    make_batch(out, "2", 1)  # the first one finished: now it may
    assert json.loads((out / "manifest.json").read_text())["seed"] == "2"


def test_two_concurrent_variants_runs_one_refused(tmp_path):
    out = tmp_path / "class"
    args = ["variants", "--count", "30", "--out", str(out), "--no-pdf", "--jobs", "1"]
    first = subprocess.Popen([sys.executable, "-m", "chainrule", *args, "--seed", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any(LEFTOVER.match(p.name) for p in tmp_path.iterdir()), "the first run's lock")
        second = run(*args, "--seed", "2")
    finally:
        first.wait(timeout=600)
    results = sorted([first.returncode, second.returncode])
    if first.returncode == 0 and second.returncode == 0:
        pytest.skip("the first run finished before the second began (a very fast machine)")
    assert results == [0, 2]
    assert "another chainrule run" in (second.stderr if second.returncode else first.stderr.read())
    assert json.loads((out / "manifest.json").read_text())["seed"] == "1"


def test_a_crash_between_the_two_renames_is_undone(tmp_path):
    out = make_batch(tmp_path / "class", "1")
    manifest = (out / "manifest.json").read_bytes()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    aside = tmp_path / f".class.chainrule-old-{dead}-abc"
    aside.mkdir()
    out.rename(aside / "previous")  # as a run killed right after moving the old batch aside leaves it
    (tmp_path / f".class.chainrule-new-{os.getpid()}-zzz").mkdir()  # a reused pid: still a leftover
    with safe_io.locked(out.resolve()):
        safe_io.recover(out.resolve())
    assert (out / "manifest.json").read_bytes() == manifest and leftovers(tmp_path) == []


def test_a_stale_temporary_file_is_cleaned_and_a_live_ones_is_not(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / f".out.tex.chainrule-tmp-{dead}-x").write_text("half")
    (tmp_path / f".out.tex.chainrule-tmp-{os.getpid()}-y").write_text("another thread's")
    safe_io.write_text(tmp_path / "out.tex", "whole")
    assert (tmp_path / "out.tex").read_text() == "whole"
    assert leftovers(tmp_path) == [f".out.tex.chainrule-tmp-{os.getpid()}-y"]


# ---------------------------------------------------------------- spreadsheets

@pytest.mark.parametrize("text, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\\x09TAB"), ("\rCR", "'\\x0dCR"),
    ("Ann Smith", "Ann Smith"), ("a=b", "a=b"), ("", ""),
    (-0.5, -0.5), (-3, -3), (0, 0),
])
def test_csv_cells(text, expected):
    assert cell(text) == expected


@pytest.mark.parametrize("student", ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd", "-1+1", "@SUM(A1:A9)", "\t=1"])
def test_gradebook_neutralises_student_text_and_keeps_numbers(student, tmp_path):
    grades = tmp_path / "grades.csv"
    path = answers_file(tmp_path, student, name="-x.toml")
    assert main(["check", str(path), "--csv", str(grades)]) == 0
    rows = list(csv.DictReader(io.StringIO(grades.read_text(encoding="utf-8"))))
    assert rows[0]["student"].startswith("'") and rows[0]["student"][1:] == shown(student)
    assert rows[0]["file"] == str(path)  # an absolute path starts with '/', nothing to neutralise
    assert rows[0]["correct"] == rows[0]["total"] == "29" and rows[0]["incorrect"] == "0"


def test_answer_key_neutralises_roster_ids_and_keeps_negative_answers(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("=1+1\n@me\nplain\n", encoding="utf-8")
    out = make_batch(tmp_path / "class", "1", 3, "--students", str(roster))
    rows = list(csv.DictReader(io.StringIO((out / "answer_key.csv").read_text(encoding="utf-8"))))
    assert [r["student"] for r in rows] == ["'=1+1", "'@me", "plain"]
    values = [v for r in rows for k, v in r.items() if k not in ("variant", "name", "student")]
    assert any(v.startswith("-") for v in values) and not any(v.startswith("'") for v in values)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [e["student"] for e in manifest["variants"]] == ["=1+1", "@me", "plain"]  # the id itself is kept


# ---------------------------------------------------------------- the terminal

@pytest.mark.parametrize("text, expected", [
    ("Ann\x1b[2J", "Ann\\x1b[2J"), ("bell\x07", "bell\\x07"), ("del\x7f", "del\\x7f"),
    ("csi\x9b31m", "csi\\x9b31m"), ("two\nlines", "two\\x0alines"), ("Åse Ødegård", "Åse Ødegård"),
])
def test_shown(text, expected):
    assert shown(text) == expected


def test_escape_sequences_in_names_are_shown_escaped(tmp_path, capsys):
    path = answers_file(tmp_path, "Eve\x1b]0;pwned\x07\x1b[2J\x9b")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Eve\\x1b]0;pwned\\x07\\x1b[2J\\x9b" in out
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", out)
    assert main(["check", str(path), "--json"]) == 0
    text = capsys.readouterr().out
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert json.loads(text)["student"] == "Eve\x1b]0;pwned\x07\x1b[2J\x9b"


def test_escape_sequences_in_keys_and_error_messages_are_shown_escaped(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('spec = "inf264_hw4"\n[answers]\n"\\u001b[2Jkey" = "1"\n', encoding="utf-8")
    assert main(["check", str(path)]) == 1  # an unknown key is reported with the file's grades
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2Jkey" in out
    assert main(["check", str(tmp_path / "no\x1b[2Jsuch.toml")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "no\\x1b[2Jsuch.toml" in err


def test_json_text_escapes_del_and_c1():
    assert json.loads(json_text({"a": "\x7f\x9b\x1b"})) == {"a": "\x7f\x9b\x1b"}
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", json_text({"a": "\x7f\x9b\x1b"}))


# ---------------------------------------------------------------- LaTeX

def _spec_text(**replace: str) -> str:
    text = resolve_path("inf264_hw4").read_text(encoding="utf-8")
    for key, value in replace.items():
        text = re.sub(rf"(?m)^{key} = .*$", lambda _: f"{key} = {value}", text)
    return text


@pytest.mark.parametrize("notation", [
    "^^5cinput{^^2fetc^^2fhostname}", "w^^{", "w^^", "x^^M", "w^", "w_", r"\input{x}", r"\catcode", r"\def",
    r"\\input", r"\csname", "w\\^", "a%b", "a$b", "a~b", "a#1", "a&b",
])
def test_notation_with_a_catcode_trick_is_refused(notation, tmp_path):
    text = _spec_text() + f"\n[notation]\nparameter = {json.dumps(notation)}\n"
    path = tmp_path / "evil.toml"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(run("solve", str(path), "--no-pdf", "--out", str(tmp_path / "out")))
    assert "notation.parameter" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("notation", ["w", r"\theta", r"\hat{w}", "w^{1}", "w'", "W_{i}", r"\mathbf{w}"])
def test_harmless_notation_is_still_allowed(notation):
    text = _spec_text() + f"\n[notation]\nparameter = {json.dumps(notation)}\n"
    assert dict(parse(text).notation)["parameter"] == notation


@pytest.mark.skipif(not latexmk_available(), reason="latexmk is not installed")
def test_compile_pdf_cannot_read_or_write_outside_its_folder(tmp_path):
    secret = tmp_path / "secret.tex"
    secret.write_text("\\typeout{SECRETCANARY}\n", encoding="utf-8")  # reading it shows in the log
    canary = tmp_path / "canary.tex"
    reader = rf"\documentclass{{article}}\begin{{document}}\input{{{secret}}} x\end{{document}}"
    writer = (rf"\documentclass{{article}}\begin{{document}}\immediate\openout5={canary}"
              rf"\immediate\write5{{x}}\immediate\closeout5 x\end{{document}}")
    for tex in (reader, writer):
        with pytest.raises(ChainruleError, match="latexmk failed: .*(LaTeX Error: File|can't write)"):
            compile_pdf(tex, tmp_path / "sheet.pdf")
    assert not canary.exists() and not (tmp_path / "sheet.pdf").exists()
    # the oracle: pdfTeX without the paranoid settings does read the file, so the test can fail
    work = tmp_path / "control"
    work.mkdir()
    (work / "sheet.tex").write_text(reader, encoding="utf-8")
    env = {**os.environ, "openin_any": "a"}
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "sheet.tex"], cwd=work, env=env,
                   capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "SECRETCANARY" in (work / "sheet.log").read_text(errors="replace")
    assert (work / "sheet.pdf").is_file()


@pytest.mark.skipif(not latexmk_available() or not shutil.which("pdftotext"), reason="needs latexmk and pdftotext")
def test_a_title_that_tries_tex_is_typeset_as_text(tmp_path):
    canary = tmp_path / "canary.tex"
    title = rf"\immediate\openout5={canary} \input{{/etc/hostname}} ^^5cinput $x$ %"
    spec = tmp_path / "evil.toml"
    spec.write_text(_spec_text(title=json.dumps(title)), encoding="utf-8")
    result = run("solve", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "out" / "inf264_hw4-solution.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "openout5" in text and "input{/etc/hostname}" in text.replace(" ", "")
    assert not canary.exists()


# ---------------------------------------------------------------- spec files and templates

@pytest.mark.parametrize("title", ["A\x7fB", "esc\x1b[31m", "c1\x85\x9b", "quote \" and \\ and '''", "tab\tnew\nline"])
def test_a_title_with_control_characters_round_trips(title):
    import dataclasses

    spec = dataclasses.replace(load("inf264_hw4"), title=title)
    assert parse(dump(spec), spec.path) == spec


def test_variants_of_a_spec_with_del_in_its_title_are_valid_spec_files(tmp_path):
    spec = tmp_path / "del.toml"
    spec.write_text(_spec_text(title=json.dumps("Homework\x7f 4")), encoding="utf-8")
    out = tmp_path / "class"
    assert main(["variants", str(spec), "--count", "2", "--out", str(out), "--no-pdf", "--jobs", "1"]) == 0
    for path in sorted(out.glob("v*/*.toml")):
        assert load(path).title.startswith("Homework\x7f 4 (variant ")


def test_a_user_template_cannot_reach_python_internals(tmp_path, capsys):
    from chainrule.render.documents import templates_dir

    for path in templates_dir().iterdir():
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "solution.tex.j2").write_text(
        r"\VAR{ loss.__class__.__init__.__globals__['__builtins__']['open']('/etc/hostname').read() }",
        encoding="utf-8")
    assert main(["solve", "--no-pdf", "--templates", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "template" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "inf264_hw4-solution.tex").exists()
