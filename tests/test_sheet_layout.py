"""Every sheet fits the page: compile the bundled specs and fixed generated ones with latexmk, read the
log (overfull boxes over 1 pt, undefined references, missing characters) and the PDF's text
(each layer's activation, how each identity was established)."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chainrule import solve
from chainrule.core.proof import Verdict
from chainrule.core.spec_reader import load
from chainrule.render.documents import LATEXMK, latex_environment, render

from .layout_specs import CASES, layout_spec

pytestmark = pytest.mark.skipif(
    not (shutil.which("latexmk") and shutil.which("pdflatex") and shutil.which("pdftotext")),
    reason="needs latexmk, pdflatex (TeX Live) and pdftotext (poppler-utils) to compile and read the sheets")

BUNDLED = ["inf264_hw4", "two_hidden_units", "two_hidden_relu", "sigmoid_bce", "softmax_classifier",
           "tanh_five_steps", "deep_relu"]
OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\)")


def _spec(name: str):
    return load(name) if name in BUNDLED else layout_spec(name)


def _compile(folder: Path, name: str) -> dict:
    """Build one sheet; return its log, its PDF text and the solution it came from."""
    solution = solve(_spec(name))
    work = folder / name
    work.mkdir()
    (work / "sheet.tex").write_text(render(solution), encoding="utf-8")
    # the command and environment `compile_pdf` uses, so these compiles stand for the product's own
    subprocess.run([*LATEXMK, "sheet.tex"], cwd=work, capture_output=True, stdin=subprocess.DEVNULL,
                   env=latex_environment(), check=False)
    log = (work / "sheet.log").read_text(errors="replace") if (work / "sheet.log").is_file() else ""
    text = ""
    if (work / "sheet.pdf").is_file():
        text = subprocess.run(["pdftotext", "sheet.pdf", "-"], cwd=work, capture_output=True,
                              text=True, check=False).stdout
    return {"log": log, "text": " ".join(text.split()), "solution": solution, "pdf": (work / "sheet.pdf").is_file(),
            "tex": (work / "sheet.tex").read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """All sheets, compiled two at a time (the machine's two cores)."""
    folder = tmp_path_factory.mktemp("layout")
    names = [*BUNDLED, *CASES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(lambda name: _compile(folder, name), names)))


ALL = [*BUNDLED, *CASES]


@pytest.mark.parametrize("name", ALL)
def test_sheet_compiles_and_fits_the_page(sheets, name):
    sheet = sheets[name]
    assert sheet["pdf"], f"{name}: no PDF; see the log"
    too_wide = [float(w) for w in OVERFULL.findall(sheet["log"]) if float(w) > 1]
    assert too_wide == [], f"{name}: overfull boxes of {too_wide} pt"
    assert not re.search(r"undefined references|Reference `[^']*' on page \d+ undefined", sheet["log"]), name
    assert "Missing character" not in sheet["log"], name
    assert "Undefined control sequence" not in sheet["log"], name


ACTIVATION_WORDS = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "sigmoid", "tanh": "tanh",
                    "softplus": "softplus", "softmax": "softmax"}


@pytest.mark.parametrize("name", ALL)
def test_sheet_names_each_layers_activation(sheets, name):
    sheet = sheets[name]
    spec = sheet["solution"].spec
    text = sheet["text"]
    for kind in set(spec.activations):
        if kind == "identity":
            assert "linear" in text, f"{name}: a linear layer is not called linear"
        else:
            assert ACTIVATION_WORDS[kind] in text, f"{name}: the {kind} layer is not named"
    if spec.activations[-1] == "softmax":
        # (pdftotext may slip a raised letter of the formula that follows in between)
        assert re.search(r"output layer applies the (?:\w )?softmax", text), f"{name}: the softmax output is not named"
    if "relu" not in spec.activations:
        assert "max(0" not in text, f"{name}: a ReLU is stated but the network has none"


def test_the_homework_states_the_relu_and_a_linear_output(sheets):
    text = sheets["inf264_hw4"]["text"]
    assert "The hidden layer applies the ReLU activation g(t) = max(0, t)." in text
    assert "The output layer is linear (no activation)." in text


@pytest.mark.parametrize("name", ALL)
def test_each_identity_says_how_it_was_established(sheets, name):
    sheet = sheets[name]
    solution = sheet["solution"]
    text = sheet["text"]
    checked = (*solution.identities, *solution.delta_proofs)
    count = sum(1 for c in checked if c.identity.verdict is Verdict.PROVED)
    undecided = sum(1 for c in checked if c.identity.verdict is Verdict.UNKNOWN)
    assert text.count("Unknown: chainrule could not decide this identity") == undecided, name
    symbolic = text.count("Proved symbolically for all real inputs, targets and parameters")
    structural = text.count("Established in two parts")
    assert symbolic + structural == count, f"{name}: {symbolic} + {structural} wordings for {count} identities"
    if solution.proof_mode == "structural":
        rational = all(v.is_Rational for s in solution.training.initial.samples for v in s.gradient)
        wording = "verified by exact evaluation" if rational else "verified by 45-digit evaluation"
        assert text.count(wording) == count, f"{name}: expected '{wording}' for every identity"
    else:
        assert "45-digit" not in text and structural == 0
    assert "for all real inputs" not in text.replace("Proved symbolically for all real inputs", ""), \
        f"{name}: a blanket 'for all real inputs' claim"


@pytest.mark.parametrize("name", ALL)
def test_the_loss_uses_its_own_function_names(sheets, name):
    text = sheets[name]["text"]
    assert " log" not in text and "log(" not in text, f"{name}: 'log' where the loss is defined with ln"


@pytest.mark.parametrize("name", ALL)
def test_generated_english(sheets, name):
    text, tex = sheets[name]["text"], sheets[name]["tex"]
    assert not re.search(r"=\s*\\approx", tex), f"{name}: '= ≈'"
    assert not re.search(r"\b1 (samples|regions|local identities)\b", text)
