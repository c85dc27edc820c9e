"""`chainrule serve`: the JSON API in process (Starlette's TestClient), and the command as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from chainrule.web.app import MAX_BODY, Settings, create_app
from chainrule.web.preview import proof_chain

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "answers"
RIGHT_PROOFS = {
    "proofs.w0": "dL/dw0\n= dL/dz * dz/dw0\n= delta_h * x[0]",
    "proofs.w1": "dL/dw1\n= dL/dz * dz/dw1\n= delta_h * x1",
}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app("inf264_hw4", Settings(workers=1, answer_seconds=3))) as client:
        yield client


def imported(client, name: str) -> dict:
    response = client.post("/api/import", content=(ANSWERS / name).read_bytes())
    assert response.status_code == 200, response.text
    return response.json()["answers"]


# ---------------------------------------------------------------- the problem

def test_problem_has_the_statement_and_seven_questions_with_every_answers_file_key(client):
    problem = client.get("/api/problem").json()
    assert (problem["name"], problem["variant"]) == ("inf264_hw4", None)
    assert [q["number"] for q in problem["questions"]] == [1, 2, 3, 4, 5, 6, 7]
    keys = {k["key"]: (q["number"], k["kind"]) for q in problem["questions"] for k in q["keys"]}
    assert keys["prediction.1"] == (1, "number") and keys["loss"] == (2, "number")
    assert keys["proofs.w4"] == (3, "proof") and keys["sample_gradient.2.w3"] == (4, "number")
    assert keys["updated.w0"] == (5, "number") and keys["new_loss"] == (6, "number")
    template = run("template").stdout  # the same keys `chainrule template` writes
    assert {k for k in keys if not k.startswith("proofs.")} == {
        line.split('"')[1] for line in template.splitlines() if line.startswith('"')}
    assert problem["network_svg"].startswith("<svg") and problem["network_svg"] in problem["statement_html"]
    assert "<math" in problem["statement_html"] and "<math" in problem["questions"][0]["text_html"]
    assert "0.01" in problem["statement_html"]  # η, in the spec's numbers


def test_the_page_has_the_hooks_and_no_external_resources(client):
    page = client.get("/")
    assert page.status_code == 200
    for hook in ('id="check-all"', 'id="download"', 'id="upload"', 'data-ready="false"', '/static/app.js'):
        assert hook in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/static/app.js").text
    assert "innerHTML = box" not in script and "https://" not in script


# ---------------------------------------------------------------- previews

@pytest.mark.parametrize("key, text, read", [
    ("loss", "13/4", "13/4"),
    ("loss", r"\frac{13}{4}", "13/4"),
    ("loss", "3.25", "13/4"),
    ("gradient.w3", "2^2 + 1.1", "51/10"),
    ("proofs.w0", RIGHT_PROOFS["proofs.w0"], "dL/dw0 = dL/dz * dz/dw0 = delta_h * x[0]"),
])
def test_preview_shows_what_was_read(client, key, text, read):
    data = client.post("/api/preview", json={"key": key, "text": text}).json()
    assert data["ok"] is True, data
    assert data["read"] == read
    assert data["mathml"].startswith("<math") and data["mathml"].endswith("</math>")


@pytest.mark.parametrize("key, text, position, suggestion, words", [
    ("loss", "2 *", 3, None, "unexpected end"),
    ("loss", r"\frac{13}{4", 11, None, "expected '}'"),
    ("loss", "13/4 + deltah", 7, "tanh", "unknown name 'deltah'"),
    ("proofs.w0", "dL/dw0\n= dL/dz * dz/dw0\n= delta_hh * x[0]", 26, "delta_h", "unknown name 'delta_hh'"),
    ("loss", "x + 1", None, None, "contains the variable"),
])
def test_preview_error_has_the_position_in_the_box_and_a_suggestion(client, key, text, position, suggestion, words):
    data = client.post("/api/preview", json={"key": key, "text": text}).json()
    assert data["ok"] is False
    assert words in data["error"]
    assert data["position"] == position
    assert data["suggestion"] == suggestion


# ---------------------------------------------------------------- checks

def test_right_answers_are_all_correct(client):
    report = client.post("/api/check", json={"answers": imported(client, "correct.toml")}).json()
    assert report["summary"]["correct"] == report["summary"]["total"] == 29
    assert {a["verdict"] for a in report["answers"].values()} == {"correct"}


def test_missing_factor_2_is_named_and_explained(client):
    # δŷ taken as ŷ − y for sample 1: ∂L/∂w3 = (3 − 1.3)·3 = 5.1 instead of 10.2
    report = client.post("/api/check", json={"answers": {"sample_gradient.1.w3": "5.1"},
                                             "keys": ["sample_gradient.1.w3"]}).json()
    answer = report["answers"]["sample_gradient.1.w3"]
    assert answer["verdict"] == "incorrect" and "missing-factor-2" in answer["mistakes"]
    assert answer["explanations"]["missing-factor-2"]
    assert list(report["answers"]) == ["sample_gradient.1.w3"]  # only the keys asked for


def test_a_carried_error_is_right_from_the_earlier_answer(client):
    report = client.post("/api/check", json={"answers": imported(client, "carried_from_prediction.toml")}).json()
    assert report["answers"]["prediction.1"]["verdict"] == "incorrect"
    assert report["answers"]["loss"]["mistakes"] == ["carried-error"]


def test_a_wrong_proof_step_has_its_counterexample_and_region(client):
    proof = "dL/dw1\n= dL/dz * dz/dw1\n= -delta_h * x1"
    answer = client.post("/api/check", json={"answers": {"proofs.w1": proof}, "keys": ["proofs.w1"]}).json()[
        "answers"]["proofs.w1"]
    assert answer["verdict"] == "incorrect"
    assert answer["given"] == "dL/dw1 = dL/dz * dz/dw1 = -delta_h * x1"
    assert answer["feedback"].startswith("Step 2 ")
    assert "the sign is flipped" in answer["feedback"]
    assert "The two sides differ at w0 = " in answer["feedback"]
    assert "It holds only where z ≤ 0, not where z > 0." in answer["feedback"]


def test_an_undecided_answer_is_unknown(client, monkeypatch):
    # A value equal to 13/4 that no bounded simplification shows to be: neither right nor wrong.
    # (The worker forks from this process, so the patched decision is the worker's.)
    from chainrule.core import certify

    monkeypatch.setattr(certify, "_simplifies_to_zero", lambda value, deadline: False)
    with TestClient(create_app("inf264_hw4", Settings(workers=1))) as fresh:
        report = fresh.post("/api/check", json={"answers": {"loss": "13/4 + (sin(1)^2 + cos(1)^2 - 1)"},
                                                "keys": ["loss"]}).json()
    assert report["answers"]["loss"]["verdict"] == "unknown"


def test_a_tower_of_exp_returns_with_a_verdict(client):
    report = client.post("/api/check", json={"answers": {"loss": "exp(exp(exp(exp(exp(9)))))"},
                                             "keys": ["loss"]}).json()
    assert report["answers"]["loss"]["verdict"] in ("incorrect", "unknown")
    preview = client.post("/api/preview", json={"key": "loss", "text": "exp(exp(exp(exp(exp(9)))))"}).json()
    assert preview["ok"] is True


# ---------------------------------------------------------------- answers.toml in and out

@pytest.mark.parametrize("name", ["carried_from_prediction.toml", "wrong_proofs.toml", "correct.toml"])
def test_export_then_chainrule_check_gives_the_same_json(client, tmp_path, name):
    answers = imported(client, name)
    exported = client.post("/api/export", json={"answers": answers})
    assert exported.headers["content-disposition"] == 'attachment; filename="answers.toml"'
    (tmp_path / "answers.toml").write_text(exported.text, encoding="utf-8")
    command = run("check", "--json", "answers.toml", cwd=tmp_path)
    assert command.returncode in (0, 1), command.stderr
    assert json.loads(command.stdout) == client.post("/api/check", json={"answers": answers}).json()


def test_import_fills_proofs_one_step_per_line(client):
    answers = imported(client, "wrong_proofs.toml")
    assert answers["proofs.w3"] == "dL/dw3\ndelta_yhat * h\ndelta_yhat * z"
    assert proof_chain(answers["proofs.w3"]) == "dL/dw3 = delta_yhat * h = delta_yhat * z"


@pytest.mark.parametrize("body, words", [
    (b'[answers]\n"loss" = ', "answers.toml"),
    (b"\xff\xfe", "UTF-8"),
    (b'unknown_key = 1', "unknown key"),
])
def test_a_bad_answers_file_is_a_400_with_the_reason(client, body, words):
    response = client.post("/api/import", content=body)
    assert response.status_code == 400 and words in response.json()["error"]


# ---------------------------------------------------------------- hostile requests

@pytest.mark.parametrize("path", ["/api/check", "/api/preview", "/api/export", "/api/import"])
def test_a_10_mb_body_is_413(client, path):
    response = client.post(path, content=b"{" + b" " * (10 * 2**20) + b"}")
    assert response.status_code == 413 and "request body over" in response.json()["error"]
    assert MAX_BODY < 10 * 2**20


@pytest.mark.parametrize("path, body", [
    ("/api/check", b"{not json"),
    ("/api/check", b"[1, 2]"),
    ("/api/check", json.dumps({"answers": {"../../etc/passwd": "1"}}).encode()),
    ("/api/check", json.dumps({"answers": {"loss": 3}}).encode()),
    ("/api/preview", json.dumps({"key": "loss"}).encode()),
    ("/api/preview", json.dumps({"key": "nope", "text": "1"}).encode()),
    ("/api/check", json.dumps({"answers": {}, "keys": ["loss", "x"]}).encode()),
])
def test_bad_requests_are_400_json(client, path, body):
    response = client.post(path, content=body)
    assert response.status_code == 400 and response.json()["error"]


XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\''


def test_student_text_never_comes_back_as_markup(client):
    preview = client.post("/api/preview", json={"key": "loss", "text": XSS}).json()
    assert preview["ok"] is False and "mathml" not in preview
    for key in ("loss", "proofs.w0"):
        data = client.post("/api/preview", json={"key": key, "text": "1 + " + XSS}).json()
        assert "<script" not in json.dumps(data.get("mathml", ""))
    exported = client.post("/api/export", json={"answers": {"loss": XSS}}).text
    assert client.post("/api/import", content=exported.encode()).json()["answers"]["loss"] == XSS


def test_a_hostile_title_is_escaped_in_the_page_and_the_problem(tmp_path):
    spec = (ROOT / "derivations" / "inf264_hw4.toml").read_text(encoding="utf-8")
    spec = "\n".join(f"title = {json.dumps(XSS)}" if line.startswith("title") else line for line in spec.splitlines())
    (tmp_path / "hostile.toml").write_text(spec, encoding="utf-8")
    with TestClient(create_app(str(tmp_path / "hostile.toml"), Settings(workers=1))) as hostile:
        page = hostile.get("/").text
        problem = hostile.get("/api/problem").json()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert problem["title"] == XSS  # JSON, which the page sets as text
    assert "<script" not in problem["statement_html"] and "onerror" not in problem["statement_html"]


# ---------------------------------------------------------------- a class folder

@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    (folder / "roster.txt").write_text("ada\nbob\ncy\n", encoding="utf-8")
    made = run("variants", "--count", "3", "--seed", "7", "--out", "class", "--no-pdf", "--students", "roster.txt",
               "--jobs", "1", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


def test_a_class_folder_serves_a_variant_by_number_or_roster_id(batch, monkeypatch):
    monkeypatch.chdir(batch)
    key = json.loads((batch / "class" / "answer_key.json").read_text(encoding="utf-8"))
    with TestClient(create_app("class", Settings(workers=1))) as client:
        missing = client.get("/api/problem")
        assert missing.status_code == 400 and "variant" in missing.json()["error"]
        assert client.get("/api/problem?variant=99").status_code == 400
        assert client.get("/api/problem", params={"variant": "../../etc"}).status_code == 400
        assert client.get("/api/problem?variant=2").json()["variant"] == 2
        assert client.get("/api/problem?variant=cy").json()["variant"] == 3
        right = {k: v for k, v in key[1]["answers"].items()}  # variant 2's exact answers
        report = client.post("/api/check", json={"answers": right, "variant": "bob"}).json()
        assert report["variant"] == 2 and report["spec"].startswith("class")
        assert all(report["answers"][k]["verdict"] == "correct" for k in right)
        wrong_variant = client.post("/api/check", json={"answers": right, "variant": "1"}).json()
        assert any(a["verdict"] == "incorrect" for a in wrong_variant["answers"].values())
        exported = client.post("/api/export", json={"answers": right, "variant": 2}).text
    assert "variant = 2" in exported
    (batch / "answers.toml").write_text(exported, encoding="utf-8")
    command = run("check", "--json", "--variants", "class", "answers.toml", cwd=batch)
    assert json.loads(command.stdout) == report


# ---------------------------------------------------------------- the command

def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a backgrounded test run inherits SIGINT ignored


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_serve_prints_its_address_serves_and_stops_cleanly(how):
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "serve", "--port", "0", "--jobs", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        line = process.stdout.readline()
        assert line.startswith("chainrule serve: http://127.0.0.1:") and line.endswith("/\n")
        address = line.split(": ", 1)[1].strip()
        with urllib.request.urlopen(address + "api/problem", timeout=600) as response:
            assert json.loads(response.read())["name"] == "inf264_hw4"
        os.kill(process.pid, getattr(signal, how))
        assert process.wait(timeout=600) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("args, words", [
    (["no_such_spec"], "no_such_spec"),
    (["tests"], "manifest.json"),
])
def test_a_bad_spec_or_folder_is_one_line_and_exit_2(args, words):
    result = run("serve", *args, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_one_line_and_exit_2():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        result = run("serve", "--port", port, "--jobs", "1")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"chainrule: --host 127.0.0.1 --port {port}: cannot listen there (Address already in use)\n"


# ---------------------------------------------------------------- the workers

def _sleep(seconds):
    import time

    time.sleep(seconds)
    return seconds


def test_a_job_past_its_deadline_fails_and_the_next_one_gets_a_fresh_worker():
    import asyncio

    from chainrule.check.workers import Failure, Limits
    from chainrule.web.jobs import Workers

    workers = Workers(1, Limits(seconds=600, memory_mb=None), function=_sleep)

    async def both():
        late = await workers.run(60, seconds=0.5)
        return late, await workers.run(0, seconds=600)
    try:
        late, fine = asyncio.run(both())
    finally:
        workers.close()
    assert isinstance(late, Failure) and "time limit" in late.reason
    assert fine == 0


def _hang(job):
    import time

    time.sleep(600)


def test_a_check_past_the_request_deadline_is_an_error_report_not_a_hung_request(monkeypatch):
    from chainrule.web import jobs

    monkeypatch.setattr(jobs, "_check", _hang)  # the workers fork from this process: theirs hangs too
    with TestClient(create_app("inf264_hw4", Settings(workers=1, request_seconds=1))) as slow:
        report = slow.post("/api/check", json={"answers": {"loss": "13/4"}}).json()
        assert report == {"file": "answers.toml", "verdict": "error", "error": "time limit of 1 s for the file"}
        monkeypatch.undo()  # the replacement worker forks after this: it checks again
        assert slow.post("/api/preview", json={"key": "loss", "text": "1"}).json()["ok"] is True


def _hang_preview(spec_path, proof, text):
    import time

    time.sleep(600)


def test_a_preview_past_its_deadline_says_so_without_naming_a_file(monkeypatch):
    from chainrule.web import preview

    monkeypatch.setattr(preview, "preview", _hang_preview)  # the workers fork from this process
    with TestClient(create_app("inf264_hw4", Settings(workers=1, preview_seconds=1))) as slow:
        answer = slow.post("/api/preview", json={"key": "proofs.w1", "text": "x"}).json()
    assert answer == {"ok": False, "error": "could not read it: time limit of 1 s", "position": None,
                      "suggestion": None}


def test_a_spec_given_as_a_path_round_trips_beside_its_file(tmp_path):
    spec = (ROOT / "derivations" / "inf264_hw4.toml").read_text(encoding="utf-8").replace("init = [1, 1, 0, 1, 0]",
                                                                                        "init = [1, 2, 0, 1, 0]")
    assert "init = [1, 2, 0, 1, 0]" in spec
    (tmp_path / "mine.toml").write_text(spec, encoding="utf-8")
    with TestClient(create_app(str(tmp_path / "mine.toml"), Settings(workers=1))) as mine:
        answers = {"prediction.1": "4", "loss": "13/4", "proofs.w3": "dL/dw3\n= delta_yhat * h"}
        report = mine.post("/api/check", json={"answers": answers}).json()
        exported = mine.post("/api/export", json={"answers": answers}).text
    # ŷ(x1) = w3·relu(w0·2 + w1·1 + w2) + w4 = relu(1·2 + 2·1 + 0) = 4
    assert report["spec"] == "mine.toml" and report["answers"]["prediction.1"]["verdict"] == "correct"
    assert 'spec = "mine.toml"' in exported
    (tmp_path / "answers.toml").write_text(exported, encoding="utf-8")
    assert json.loads(run("check", "--json", "answers.toml", cwd=tmp_path).stdout) == report


def test_a_frozen_parameter_gets_no_proof_box_and_no_proof_in_the_export():
    with TestClient(create_app("shared_bias_demo", Settings(workers=1, answer_seconds=3))) as frozen:
        keys = [k["key"] for q in frozen.get("/api/problem").json()["questions"] for k in q["keys"]]
        exported = frozen.post("/api/export", json={"answers": {}}).text
    assert "proofs.w1" in keys and "proofs.b1" not in keys and "proofs.b2" not in keys
    assert "w1 = " in exported and "b1 = " not in exported and "b2 = " not in exported
