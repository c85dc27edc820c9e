"""`chainrule serve` in a real browser (issue 15): Debian's chromium, driven through chromium-driver
and Selenium, against the homework served by a `chainrule serve` subprocess.

Each scenario is one test and starts from a fresh page with empty localStorage. Waits are explicit
(WebDriverWait on the page's DOM hooks) and generous, never sleeps or wall-time assertions: CI
shares two busy cores. The module is skipped, with the reason, where chromium, chromedriver or
selenium is absent (as the PDF tests are without TeX); `.ci/run` installs them.

Screenshots of the checked page are written to tests/artifacts/ (gitignored), with copies in out/:
checked_page.png (every answer right) and checked_mixed_page.png (mistakes, a wrong proof, a blank).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import tomllib
import urllib.error
import urllib.request
from fractions import Fraction
from pathlib import Path

import pytest

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_MISSING = [name for name, present in [
    ("chromium", CHROMIUM is not None),
    ("chromedriver (Debian's chromium-driver)", Path(CHROMEDRIVER).exists()),
    ("selenium", importlib.util.find_spec("selenium") is not None),
] if not present]
if _MISSING:
    pytest.skip(f"browser tests need {', '.join(_MISSING)} (apt-get install chromium chromium-driver; "
                "pip install -e '.[test]')", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: selenium may be absent)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "answers"
SPEC = ROOT / "derivations" / "inf264_hw4.toml"
ARTIFACTS = ROOT / "tests" / "artifacts"
WAIT = 120  # seconds: a bound on a hang, not a speed target
STORAGE_KEY = "chainrule:inf264_hw4:-"


def _answers_file(name: str) -> dict[str, str]:
    """An answers file's keys as `chainrule check` names them: numbers as-is, proofs as `proofs.wN`."""
    data = tomllib.loads((ANSWERS / name).read_text(encoding="utf-8"))
    answers = dict(data.get("answers", {}))
    answers.update({f"proofs.{parameter}": chain for parameter, chain in data.get("proofs", {}).items()})
    return answers


CORRECT = _answers_file("correct.toml")
WRONG_PROOFS = _answers_file("wrong_proofs.toml")


# -- the server and the browser ------------------------------------------------------------------

class Server:
    """`chainrule serve SPEC --port 0` in its own process group; the address is its first stdout line."""

    def __init__(self, tmp: Path, source: Path = SPEC):
        self.log = open(tmp / "serve.stderr", "w+b")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chainrule", "serve", str(source), "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, start_new_session=True, cwd=ROOT)
        first: list[bytes] = []
        reader = threading.Thread(target=lambda: first.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(WAIT)
        line = first[0].decode("utf-8", "replace").strip() if first else ""
        if not line.startswith("chainrule serve: http://"):
            self.stop()
            raise AssertionError(f"no address line from chainrule serve (got {line!r}); stderr:\n{self.stderr()}")
        self.url = line.removeprefix("chainrule serve: ")
        # Keep draining stdout so a chatty server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def request(self, path: str, body: object = None, raw: bytes | None = None) -> tuple[int, bytes, dict]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data,
                                         headers={"Content-Type": "application/json"} if data is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def json(self, path: str, body: object = None) -> tuple[int, dict]:
        status, content, _ = self.request(path, body)
        return status, json.loads(content)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("serve"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1600", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    # The Debian driver by path: Selenium Manager must not try to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def problem(server):
    status, data = server.json("/api/problem")
    assert status == 200, data
    return data


@pytest.fixture()
def page(browser, server):
    """A fresh page: localStorage emptied, the problem loaded (`<body data-ready="true">`)."""
    browser.get(server.url)
    browser.execute_script("window.localStorage.clear();")
    browser.get(server.url)
    wait_ready(browser)
    return browser


# -- helpers on the page's DOM hooks -------------------------------------------------------------

def until(driver, condition, message: str):
    return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(lambda d: condition(d), message)


def wait_ready(driver) -> None:
    until(driver, lambda d: d.execute_script("return document.body && document.body.dataset.ready === 'true'"),
          "the page never set <body data-ready=\"true\">")


def hook(kind: str, key: str) -> str:
    return f'{kind}[data-key="{key}"]'


def box(driver, key: str):
    return driver.find_element(By.CSS_SELECTOR, hook("textarea.answer", key))


def proof_text(chain: str) -> str:
    """A proof chain `a = b = c` as the page's proof box takes it: one step per line."""
    return "\n".join(part.strip() for part in chain.split(" = "))


def typed(key: str, text: str) -> str:
    return proof_text(text) if key.startswith("proofs.") else text


def type_answer(driver, key: str, text: str) -> None:
    """Type as a student does: click the box, clear it, type the keys."""
    element = box(driver, key)
    element.clear()
    element.send_keys(typed(key, text))


def paste(driver, key: str, text: str) -> None:
    """Set a box's value at once (a paste) and tell the page, as the browser does after a paste."""
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                          box(driver, key), text)


def wait_preview(driver, key: str) -> str:
    """Wait until the box's preview shows what was read (`<math>`) or why not; return 'math'/'error'."""
    def shown(d):
        return d.execute_script(
            "const p = document.querySelector(arguments[0]);"
            "if (!p) return null;"
            "if (p.querySelector('math')) return 'math';"
            "if (p.querySelector('span.parse-error')) return 'error';"
            "return null;", hook("div.preview", key))
    return until(driver, shown, f"no preview for {key}")


def exact(text: str) -> Fraction:
    """A number as the answers file writes it: a decimal, a/b, or \\frac{a}{b}."""
    fraction = re.fullmatch(r"\\frac\{(-?\d+)\}\{(\d+)\}", text)
    return Fraction(int(fraction[1]), int(fraction[2])) if fraction else Fraction(text)


def question_of(problem: dict) -> dict[str, int]:
    return {entry["key"]: question["number"] for question in problem["questions"] for entry in question["keys"]}


def verdict(driver, key: str) -> tuple[str, str, str]:
    element = driver.find_element(By.CSS_SELECTOR, hook("div.verdict", key))
    return element.get_attribute("data-verdict") or "", element.get_attribute("data-mistake") or "", element.text


def clear_verdicts(driver) -> None:
    """Forget shown verdicts, so that a wait sees the new judgement, not the last one."""
    driver.execute_script("document.querySelectorAll('div.verdict').forEach(v => v.removeAttribute('data-verdict'));")


def wait_verdicts(driver, keys) -> dict[str, tuple[str, str, str]]:
    until(driver, lambda d: all(verdict(d, key)[0] for key in keys), f"no verdict for some of {sorted(keys)}")
    return {key: verdict(driver, key) for key in keys}


def click(driver, selector: str) -> None:
    driver.find_element(By.CSS_SELECTOR, selector).click()


def check_question(driver, problem: dict, key: str) -> tuple[str, str, str]:
    clear_verdicts(driver)
    click(driver, f'button.check-question[data-question="{question_of(problem)[key]}"]')
    return wait_verdicts(driver, [key])[key]


@functools.lru_cache(maxsize=None)
def cli_check(path: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "chainrule", "check", str(path), "--json"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def screenshot(driver, name: str) -> Path:
    """The whole page as a PNG under tests/artifacts/ (and a copy under out/)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 12000))
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path))
    (ROOT / "out").mkdir(exist_ok=True)
    shutil.copyfile(path, ROOT / "out" / name)
    driver.set_window_size(1280, 1600)
    return path


# -- the scenarios -------------------------------------------------------------------------------

def test_the_page_offers_a_box_a_preview_and_a_verdict_for_every_key(page, problem):
    keys = list(question_of(problem))
    assert set(keys) == set(CORRECT), "the page's keys are the answers file's keys"
    for key in keys:
        for kind in ("textarea.answer", "div.preview", "div.verdict"):
            assert page.find_elements(By.CSS_SELECTOR, hook(kind, key)), f"no {kind} for {key}"
    numbers = {question["number"] for question in problem["questions"] if question["keys"]}
    for number in numbers:  # a question with nothing to answer (the homework's question 7) has no button
        assert page.find_elements(By.CSS_SELECTOR, f'button.check-question[data-question="{number}"]')
    for selector in ("#check-all", "#download", "#upload"):
        assert page.find_elements(By.CSS_SELECTOR, selector), selector


def test_typed_right_answers_render_and_check_correct(page, problem):
    """A student types each homework answer, sees the preview render, presses check: ✓ everywhere."""
    for key, text in CORRECT.items():
        type_answer(page, key, text)
        assert wait_preview(page, key) == "math", f"{key}: {text!r} did not render"
        if not key.startswith("proofs."):  # the preview says the exact value it read: 3.4 is 17/5
            read = page.find_element(By.CSS_SELECTOR, hook("div.preview", key) + " .read").text
            assert Fraction(read.removeprefix("read as ").strip()) == exact(text), (key, text, read)
    clear_verdicts(page)
    click(page, "#check-all")
    shown = wait_verdicts(page, CORRECT)
    wrong = {key: judged for key, judged in shown.items() if judged[0] != "correct"}
    assert not wrong, wrong
    assert all("✓" in text for _, _, text in shown.values())
    path = screenshot(page, "checked_page.png")
    assert path.stat().st_size > 10_000


def test_each_question_checks_on_its_own(page, problem):
    """check-question N judges N's keys only: the others stay without a verdict."""
    key = "prediction.1"
    type_answer(page, key, CORRECT[key])
    assert check_question(page, problem, key)[0] == "correct"
    others = [other for other, number in question_of(problem).items() if number != question_of(problem)[key]]
    assert not any(verdict(page, other)[0] for other in others)


@pytest.mark.parametrize("key, given", [
    ("gradient.w0", "1.7"),      # δŷ = ŷ − y: half of 3.4 (hand-worked)
    ("gradient.w3", "2.55"),     # half of 5.1
    ("gradient.w4", "-1/10"),    # half of -0.2
])
def test_the_gradient_without_the_2_is_named(page, problem, key, given):
    type_answer(page, key, given)
    assert wait_preview(page, key) == "math"
    judged, mistake, text = check_question(page, problem, key)
    assert (judged, mistake) == ("incorrect", "missing-factor-2"), text
    assert "✗" in text and "power rule" in text


@pytest.mark.parametrize("parameter", ["w0", "w1", "w2", "w3", "w4"])
def test_a_wrong_proof_step_is_flagged_with_its_counterexample(page, problem, tmp_path, parameter):
    key = f"proofs.{parameter}"
    type_answer(page, key, WRONG_PROOFS[key])
    judged, _, text = check_question(page, problem, key)
    assert judged == "incorrect"
    # The same words as `chainrule check` gives for the same proof: the step and the counterexample.
    expected = cli_check(ANSWERS / "wrong_proofs.toml")["answers"][key]["feedback"]
    step = expected.split(" is wrong")[0]              # "Step 2 (between expression 2 and 3)"
    point = expected.split("differ at ")[1].split(", where")[0]   # "w0 = 1/2, w1 = -2/3, ..."
    assert step in text and point in text, (text, expected)


HOSTILE_MARKUP = [
    '<script>document.body.dataset.pwned = "script"</script>',
    '<img src=x onerror="document.body.dataset.pwned = \'img\'">',
    '</textarea><svg onload="document.body.dataset.pwned = \'svg\'">',
]


@pytest.mark.parametrize("text", HOSTILE_MARKUP)
def test_markup_in_an_answer_is_shown_as_text_never_run(page, problem, text):
    key = "loss"
    type_answer(page, key, text)
    wait_preview(page, key)
    judged, _, shown = check_question(page, problem, key)
    assert judged in ("incorrect", "error", "unknown")  # an unreadable answer is never right
    assert page.execute_script("return document.body.dataset.pwned") is None
    for kind in ("div.preview", "div.verdict"):
        inside = page.find_element(By.CSS_SELECTOR, hook(kind, key))
        assert not inside.find_elements(By.CSS_SELECTOR, "script, img, svg"), kind
    still_works(page, problem)


def still_works(driver, problem) -> None:
    """The page still answers a student and the server still serves: a right answer checks ✓."""
    key = "prediction.1"
    type_answer(driver, key, CORRECT[key])
    assert wait_preview(driver, key) == "math"
    assert check_question(driver, problem, key)[0] == "correct"


def test_a_10_mb_paste_leaves_page_and_server_working(page, problem, server):
    key = "gradient.w0"
    paste(page, key, "1" * 10_000_000)
    assert wait_preview(page, key) == "error"  # over the size limit: said so, not read
    judged, _, _ = check_question(page, problem, key)
    assert judged in ("error", "unknown", "incorrect")
    assert server.request("/api/problem")[0] == 200
    still_works(page, problem)  # the other questions still check
    page.refresh()  # and what was typed after the paste was still saved
    wait_ready(page)
    assert box(page, "prediction.1").get_attribute("value") == CORRECT["prediction.1"]


def test_a_tower_of_exponentials_ends_and_leaves_the_server_responsive(page, problem, server):
    key = "gradient.w0"
    type_answer(page, key, "exp(exp(exp(exp(exp(9)))))")
    wait_preview(page, key)
    judged, _, _ = check_question(page, problem, key)
    assert judged in ("incorrect", "unknown", "error")
    assert server.request("/api/problem")[0] == 200
    still_works(page, problem)


def test_answers_survive_a_reload(page):
    chosen = {key: CORRECT[key] for key in ("prediction.1", "loss", "updated.w1", "proofs.w1")}
    chosen["gradient.w0"] = "1.7"
    for key, text in chosen.items():
        type_answer(page, key, text)
    def saved(d) -> bool:  # the page may save after a pause: wait until every value is in storage
        stored = d.execute_script("return window.localStorage.getItem(arguments[0])", STORAGE_KEY) or ""
        return all(json.dumps(typed(key, text))[1:-1] in stored for key, text in chosen.items())
    until(page, saved, f"the answers were never saved to localStorage[{STORAGE_KEY!r}]")
    page.refresh()
    wait_ready(page)
    for key, text in chosen.items():
        assert box(page, key).get_attribute("value") == typed(key, text), key
    assert box(page, "loss").get_attribute("value") == CORRECT["loss"]


def test_the_downloaded_answers_toml_grades_as_the_page_does(page, problem, server, downloads):
    """Mixed answers: right, missing-factor-2, residual-sign, a wrong proof, an empty box."""
    given = dict(CORRECT)
    given["gradient.w0"] = "1.7"
    given["gradient.w1"] = "-1.7"
    given["proofs.w2"] = WRONG_PROOFS["proofs.w2"]
    del given["loss"]
    for key, text in given.items():
        paste(page, key, typed(key, text))
    for old in downloads.iterdir():
        old.unlink()
    click(page, "#download")
    until(page, lambda d: [p for p in downloads.iterdir() if p.suffix == ".toml"], "no answers.toml downloaded")
    saved = next(p for p in downloads.iterdir() if p.suffix == ".toml")
    until(page, lambda d: saved.stat().st_size > 0 and tomllib.loads(saved.read_text(encoding="utf-8")) is not None,
          "the download never completed")
    from_cli = cli_check(saved)
    clear_verdicts(page)
    click(page, "#check-all")
    shown = wait_verdicts(page, CORRECT)
    assert {key: judged[0] for key, judged in shown.items()} == \
        {key: answer["verdict"] for key, answer in from_cli["answers"].items()}
    assert shown["gradient.w0"][:2] == ("incorrect", "missing-factor-2")
    assert shown["loss"][0] == "missing"
    screenshot(page, "checked_mixed_page.png")
    status, from_api = server.json("/api/check", {"answers": {key: typed(key, text) for key, text in given.items()}})
    assert status == 200
    assert from_api["answers"] == from_cli["answers"] and from_api["summary"] == from_cli["summary"]


def test_an_uploaded_answers_file_fills_the_boxes_and_carried_errors_are_said(page):
    """Upload a file with a slip in prediction 1 and everything after computed from it."""
    path = ANSWERS / "carried_from_prediction.toml"
    given = _answers_file(path.name)
    page.find_element(By.ID, "upload").send_keys(str(path))
    until(page, lambda d: box(d, "prediction.1").get_attribute("value") == "2.5", "the upload never filled the boxes")
    for key, text in given.items():
        assert box(page, key).get_attribute("value") == typed(key, text), key
    clear_verdicts(page)
    click(page, "#check-all")
    shown = wait_verdicts(page, CORRECT)
    expected = cli_check(path)["answers"]
    assert {key: judged[0] for key, judged in shown.items()} == {key: a["verdict"] for key, a in expected.items()}
    assert shown["prediction.1"][:2] == ("incorrect", "")
    for key in ("loss", "gradient.w0", "updated.w4", "new_loss"):
        judged, mistake, text = shown[key]
        assert (judged, mistake) == ("incorrect", "carried-error"), (key, text)
        assert "right from your earlier answer" in text, (key, text)


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """A class folder of 3 variants for the roster ada, bob, cy, served."""
    folder = tmp_path_factory.mktemp("class")
    (folder / "roster.txt").write_text("ada\nbob\ncy\n", encoding="utf-8")
    made = subprocess.run([sys.executable, "-m", "chainrule", "variants", "--count", "3", "--seed", "7", "--out", "class",
                           "--no-pdf", "--students", "roster.txt", "--jobs", "1"],
                          capture_output=True, text=True, timeout=600, cwd=folder)
    assert made.returncode == 0, made.stderr
    running = Server(folder, folder / "class")
    running.key = json.loads((folder / "class" / "answer_key.json").read_text(encoding="utf-8"))
    yield running
    running.stop()


def load_variant(driver, given: str) -> None:
    driver.execute_script("document.body.dataset.ready = 'false';")
    field = driver.find_element(By.ID, "variant")
    field.clear()
    field.send_keys(given)
    click(driver, "#load-variant")
    wait_ready(driver)


def test_a_class_folder_student_loads_their_variant_by_roster_id(browser, class_server):
    browser.get(class_server.url)
    browser.execute_script("window.localStorage.clear();")
    browser.get(class_server.url)
    until(browser, lambda d: d.find_elements(By.ID, "variant"), "no variant field for a class folder")
    field = browser.find_element(By.ID, "variant")
    field.send_keys("nobody")
    click(browser, "#load-variant")
    until(browser, lambda d: d.find_element(By.ID, "variant-error").text, "no error for an unknown roster id")
    load_variant(browser, "bob")  # bob has variant 2
    status, problem = class_server.json("/api/problem?variant=bob")
    assert status == 200 and problem["variant"] == 2
    right = class_server.key[1]["answers"]
    assert class_server.key[1]["student"] == "bob"
    for key, text in right.items():
        paste(browser, key, text)
    clear_verdicts(browser)
    click(browser, "#check-all")
    shown = wait_verdicts(browser, right)
    assert {key: judged[0] for key, judged in shown.items()} == dict.fromkeys(right, "correct")
    storage = f"chainrule:{problem['name']}:2"
    until(browser, lambda d: d.execute_script("return window.localStorage.getItem(arguments[0])", storage),
          f"bob's answers never saved under {storage!r}")
    load_variant(browser, "ada")  # another variant: its own, empty boxes
    assert box(browser, "loss").get_attribute("value") == ""
    load_variant(browser, "2")  # back by number: bob's answers again
    assert box(browser, "loss").get_attribute("value") == right["loss"]
