"""The Moodle question bank of a variants folder: Moodle's structure, Cloze answers against the
answer key, one tolerance rule with `check`, mistakes, pictures, escaping, errors."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from chainrule.check.answers import answer_keys
from chainrule.check.mistakes import DESCRIPTIONS, EXPLANATIONS
from chainrule.classroom.moodle import quiz
from chainrule.classroom.moodle_numbers import moodle_interval
from chainrule.cli.main import main
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.spec import Tolerance, resolve_path
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError
from tests.moodle_format import cloze, validate

COUNT = 3
RATIONAL = re.compile(r"-?\d+(/\d+)?")
MISTAKE_IDS = re.compile(r"'([a-z0-9-]+)':")


def make_batch(spec: str, out: Path, count: int = COUNT) -> Path:
    assert main(["variants", spec, "--count", str(count), "--seed", "5", "--out", str(out), "--no-pdf",
                 "--jobs", "1"]) == 0
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    return make_batch("inf264_hw4", tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def xml_text(batch) -> str:
    return quiz(batch)


@pytest.fixture(scope="module")
def root(xml_text) -> ET.Element:
    return ET.fromstring(xml_text.encode("utf-8"))


@pytest.fixture(scope="module")
def key_rows(batch) -> dict[int, dict]:
    return {row["variant"]: row for row in json.loads((batch / "answer_key.json").read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def specs(batch, key_rows) -> dict:
    return {n: load(batch / row["spec"]) for n, row in key_rows.items()}


def of_type(root: ET.Element, kind: str) -> list[ET.Element]:
    return root.findall(f"question[@type='{kind}']")


def exact_value(row: dict, key: str) -> Fraction:
    """The answer key's exact value: a Fraction for rationals, else its 30-digit decimal."""
    text = row["answers"][key]
    return Fraction(text) if RATIONAL.fullmatch(text) else Fraction(Decimal(row["decimals"][key]))


def sigfigs_band(value: Fraction, sigfigs: int = 3) -> Fraction:
    """Half a unit in the `sigfigs`-th significant figure, found by counting powers of ten (0 for 0)."""
    value = abs(value)
    if value == 0:
        return Fraction(0)
    exponent = 0
    while value >= 10 ** (exponent + 1):
        exponent += 1
    while value < Fraction(10) ** exponent:
        exponent -= 1
    return Fraction(1, 2) * Fraction(10) ** (exponent - sigfigs + 1)


def widest(band: Fraction, exact: Fraction) -> Fraction:
    """The least tolerance that is "as wide as check's band": less only Moodle's 1e-14·max(1, |a|)
    (twice, for double rounding) and the tolerance's rounding down to 12 figures."""
    return band - Fraction(4, 10**14) * max(1, abs(exact)) - band / 10**11


def subquestions(question: ET.Element):
    return cloze(question.findtext("questiontext/text"))[1]


# ---------------------------------------------------------------- Moodle's structure

def test_the_xml_has_the_structure_moodles_importer_reads(xml_text, batch):
    assert validate(xml_text) == []
    assert validate(quiz(batch, by="question")) == []


def test_the_validator_finds_what_moodle_would_refuse():
    bad = ("<quiz><question type='cloze'><name><text>x</text></name><questiontext format='html'>"
           "<text>&lt;img src=\"@@PLUGINFILE@@/a.svg\"&gt; {1:NUMERICAL:2:0.1}</text></questiontext>"
           "<defaultgrade>1</defaultgrade></question>"
           "<question type='essay'><questiontext><text>y</text></questiontext><responseformat>html</responseformat>"
           "</question></quiz>")
    problems = validate(bad)
    assert any("not read by the importer" in p for p in problems)  # a Cloze question has no defaultgrade
    assert any("no such <file>" in p for p in problems)
    assert any("fractionsnomax" in p for p in problems)
    assert any("xmlimportnoname" in p for p in problems)
    assert any("responseformat" in p for p in problems)


def test_one_category_holds_every_variants_cloze_question_and_one_every_proofs_essay(root, specs):
    found = [(q.get("type"), q.findtext("category/text") or q.findtext("name/text")) for q in root]
    numbers = sorted(specs)
    assert found == [("category", "$course$/top/chainrule/inf264_hw4/variants"),
                     *(("cloze", f"v{n:03d} inf264_hw4") for n in numbers),
                     ("category", "$course$/top/chainrule/inf264_hw4/proofs"),
                     *(("essay", f"v{n:03d} inf264_hw4 proofs") for n in numbers)]


def test_idnumbers_are_unique_and_name_spec_variant_and_key(root, batch):
    ids = [q.findtext("idnumber") for q in root]
    assert len(ids) == len(set(ids))
    assert "chainrule-inf264_hw4-v002" in ids and "chainrule-inf264_hw4-v002-proofs" in ids
    by_question = ET.fromstring(quiz(batch, by="question").encode("utf-8"))
    numerical = [q.findtext("idnumber") for q in of_type(by_question, "numerical")]
    assert len(numerical) == len(set(numerical)) and "chainrule-inf264_hw4-v003-gradient.w4" in numerical


def test_tags_name_the_spec_the_variant_and_the_questions(root):
    cloze_tags = [t.text for t in of_type(root, "cloze")[1].findall("tags/tag/text")]
    assert cloze_tags[:4] == ["chainrule", "inf264_hw4", "v002", "cloze"]
    assert {"question-1", "question-2", "question-4", "question-5", "question-6"} <= set(cloze_tags)
    essay_tags = [t.text for t in of_type(root, "essay")[0].findall("tags/tag/text")]
    assert essay_tags == ["chainrule", "inf264_hw4", "v001", "proofs", "question-3"]


# ---------------------------------------------------------------- a self-contained problem

def test_the_cloze_text_states_the_whole_problem(root, specs):
    for question, (n, spec) in zip(of_type(root, "cloze"), sorted(specs.items())):
        text = question.findtext("questiontext/text")
        assert html.escape(spec.title, quote=False) in text
        # which weight multiplies what: the definitions, as MathJax
        assert r"\(\begin{aligned}z &amp;= w_{0} \cdot \mathbf{x}[0] + w_{1} \cdot \mathbf{x}[1] + w_{2}" in text
        assert r"\widehat{y} &amp;= w_{3} \cdot h + w_{4}" in text
        assert r"\(L = \left(\widehat{y} - y\right)^2\)" in text and r"\eta = 0.01" in text
        for name, value in zip(("w_{0}", "w_{1}", "w_{2}", "w_{3}", "w_{4}"), spec.init):
            assert f"{name} = " in text
        assert '<img src="@@PLUGINFILE@@/network.svg"' in text


def test_the_network_picture_is_an_svg_with_every_weight(root):
    question = of_type(root, "cloze")[0]
    (file,) = question.findall("questiontext/file")
    assert (file.get("name"), file.get("path"), file.get("encoding")) == ("network.svg", "/", "base64")
    picture = ET.fromstring(base64.b64decode(file.text))
    assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    labels = ["".join(t.itertext()) for t in picture.iter("{http://www.w3.org/2000/svg}text")]
    assert sorted(label for label in labels if label.startswith("w")) == ["w0", "w1", "w2", "w3", "w4"]
    assert {"x[0]", "x[1]", "y\u0302", "z | h"} <= set(labels)  # ŷ: y and a combining hat
    assert len(picture.findall("{http://www.w3.org/2000/svg}circle")) == 4


def test_the_proofs_essay_asks_every_equality_and_tells_the_grader_the_worked_chain(root, specs):
    derivation = derive(build(specs[1]), symbolic=False)
    essay = of_type(root, "essay")[0]
    assert essay.findtext("defaultgrade") == str(len(derivation.chains))  # a point per proof, as in check
    asked = essay.findtext("questiontext/text")
    info = essay.findtext("graderinfo/text")
    for chain in derivation.chains:
        assert html.escape(rf"\({chain.steps[0].latex} = {chain.steps[-1].latex}\)", quote=False) in asked
        for step in chain.steps[1:]:
            assert html.escape(rf"\(= {step.latex}\)", quote=False) in info
    assert essay.find("graderinfo").get("format") == "html"


# ---------------------------------------------------------------- answers against the answer key

def test_every_cloze_subquestion_is_the_answer_key_with_checks_tolerance(root, key_rows, specs):
    """Moodle's own parsing of the Cloze text, compared with answer_key.json and the sigfigs band."""
    for question in of_type(root, "cloze"):
        n = int(question.findtext("name/text")[1:4])
        row, spec = key_rows[n], specs[n]
        subs = subquestions(question)
        keys = [k for k, _ in answer_keys(spec)]
        assert len(subs) == len(keys) == len(row["answers"])
        for key, sub in zip(keys, subs):
            right = sub.alternatives[0]
            assert (sub.kind, sub.weight, right.fraction, right.feedback) == ("numerical", 1, 1.0, "Correct.")
            exact = exact_value(row, key)
            band = sigfigs_band(exact)
            low, high = moodle_interval(right.answer, right.tolerance)
            if band:  # inside check's band, and as wide as it but for Moodle's 1e-14 and double rounding
                assert exact - band <= low and high <= exact + band, key
                assert Fraction(right.tolerance) >= widest(band, exact), key
            else:  # a correct zero: check wants exactly 0, Moodle adds its own 1e-14
                assert (Fraction(right.answer), right.tolerance) == (exact, "0")
                assert -Fraction(2, 10**14) <= low and high <= Fraction(2, 10**14)


def test_wrong_answers_never_overlap_the_right_one(root):
    named = 0
    for question in of_type(root, "cloze"):
        for sub in subquestions(question):
            right, *wrong = sub.alternatives
            low, high = moodle_interval(right.answer, right.tolerance)
            assert len(wrong) <= 4
            for answer in wrong:
                other_low, other_high = moodle_interval(answer.answer, answer.tolerance)
                assert other_high < low or high < other_low
                assert answer.fraction == 0 and answer.feedback.startswith("This matches the mistake")
                ids = MISTAKE_IDS.findall(answer.feedback)
                assert ids and all(mid in DESCRIPTIONS for mid in ids)
                assert all(f"<p>{html.escape(EXPLANATIONS[m], quote=False)}</p>" in answer.feedback for m in ids)
                named += 1
    assert named > 0


def test_missing_factor_2_halves_the_output_bias_gradient(root, specs):
    """An independent forward pass: h = relu(w0 x1 + w1 x2 + w2), ŷ = w3 h + w4, ∂L/∂w4 = mean 2(ŷ − y)."""
    keys = [k for k, _ in answer_keys(specs[1])]
    for question, (n, spec) in zip(of_type(root, "cloze"), sorted(specs.items())):
        w0, w1, w2, w3, w4 = spec.init
        residuals = [w3 * max(Fraction(0), w0 * x1 + w1 * x2 + w2) + w4 - y for (x1, x2), y in zip(spec.x, spec.y)]
        gradient = sum(2 * r for r in residuals) / len(residuals)
        right, *wrong = subquestions(question)[keys.index("gradient.w4")].alternatives
        halved = [a for a in wrong if "'missing-factor-2'" in a.feedback]
        assert Fraction(right.answer) == gradient
        assert len(halved) == 1 and Fraction(halved[0].answer) == gradient / 2


BUNDLED = sorted(p.stem for p in Path(resolve_path("inf264_hw4")).parent.glob("*.toml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_over_every_bundled_spec_answers_fit_their_bands_and_mistakes_stay_apart(name, tmp_path):
    folder = make_batch(name, tmp_path / "batch", count=2)
    xml_text = quiz(folder)
    assert validate(xml_text) == []
    rows = {row["variant"]: row for row in json.loads((folder / "answer_key.json").read_text(encoding="utf-8"))}
    for question in of_type(ET.fromstring(xml_text.encode("utf-8")), "cloze"):
        row = rows[int(question.findtext("name/text")[1:4])]
        subs = subquestions(question)
        assert len(subs) == len(row["answers"])
        for key, sub in zip(row["answers"], subs):
            right, *wrong = sub.alternatives
            low, high = moodle_interval(right.answer, right.tolerance)
            exact = exact_value(row, key)
            band = sigfigs_band(exact)  # the bundled specs keep the default rule
            moodles_own = Fraction(2, 10**14) * max(1, abs(exact))  # only where the band is narrower (zero)
            assert exact - band - moodles_own <= low and high <= exact + band + moodles_own, key
            for answer in wrong:
                other_low, other_high = moodle_interval(answer.answer, answer.tolerance)
                assert other_high < low or high < other_low, key


# ---------------------------------------------------------------- --by question

def test_by_question_groups_every_variants_version_of_a_question(batch, specs):
    grouped = ET.fromstring(quiz(batch, by="question").encode("utf-8"))
    keys = [k for k, _ in answer_keys(load("inf264_hw4"))]
    categories, members, current = [], {}, None
    for question in grouped:
        if question.get("type") == "category":
            current = question.findtext("category/text").rsplit("/", 1)[1]
            categories.append(current)
            members[current] = []
        else:
            members[current].append(question.findtext("name/text"))
    assert categories == keys
    assert members["loss"] == [f"v{n:03d} loss" for n in sorted(specs)]


def test_by_question_answers_equal_the_cloze_ones(root, batch):
    grouped = {q.findtext("name/text"): q for q in of_type(ET.fromstring(quiz(batch, by="question").encode()),
                                                           "numerical")}
    keys = [k for k, _ in answer_keys(load("inf264_hw4"))]
    for question in of_type(root, "cloze"):
        prefix = question.findtext("name/text").split(" ")[0]
        for key, sub in zip(keys, subquestions(question)):
            answers = grouped[f"{prefix} {key}"].findall("answer")
            assert [(a.findtext("text"), a.findtext("tolerance")) for a in answers] == \
                [(a.answer, a.tolerance) for a in sub.alternatives]


def test_an_unknown_grouping_is_an_error(batch):
    with pytest.raises(ChainruleError, match="--by"):
        quiz(batch, by="student")


# ---------------------------------------------------------------- determinism, escaping, errors, CLI

def test_the_same_folder_gives_identical_xml(batch, xml_text):
    assert quiz(batch) == xml_text
    assert xml_text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<quiz>")


def test_a_title_with_markup_is_escaped(tmp_path):
    title = 'A <b>bold</b> & "quoted" ]]> {1:NUMERICAL:=1} title'
    text = resolve_path("inf264_hw4").read_text(encoding="utf-8")
    spec = tmp_path / "tricky.toml"
    spec.write_text(re.sub(r"(?m)^title = .*$", lambda _: f"title = {json.dumps(title)}", text), encoding="utf-8")
    folder = make_batch(str(spec), tmp_path / "batch", count=1)
    xml_text = quiz(folder)
    assert "]]>" not in xml_text and "<b>" not in xml_text
    question = of_type(ET.fromstring(xml_text.encode("utf-8")), "cloze")[0]
    shown = question.findtext("questiontext/text")
    assert title in html.unescape(shown) and "<b>" not in shown
    assert len(subquestions(question)) == 24  # the title's "{1:NUMERICAL:=1}" is text, not a sub-question


def broken_copy(batch: Path, tmp_path: Path, name: str, content: str | None) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(batch, folder)
    if content is None:
        (folder / name).unlink()
    else:
        (folder / name).write_text(content, encoding="utf-8")
    return folder


@pytest.mark.parametrize("name, content, message", [
    ("answer_key.json", None, r"answer_key.json: cannot read the answer key"),
    ("answer_key.json", "[{", r"answer_key.json: not a valid answer key"),
    ("answer_key.json", "{}", r"answer_key.json: not a valid answer key \(expected a list"),
    ("answer_key.json", '[{"variant": "1"}]', r"answer_key.json: row 1: key 'variant'"),
    ("answer_key.json", '[{"variant": 1, "answers": {}, "decimals": {"loss": "x"}}]', r"row 1: key 'decimals.loss'"),
    ("answer_key.json", "[]", r"answer_key.json: no row for variant 1"),
    ("answer_key.json", '[{"variant": 1, "answers": {}, "decimals": {}}, {"variant": 2, "answers": {}, '
     '"decimals": {}}, {"variant": 3, "answers": {}, "decimals": {}}]', r"variant 1: key 'prediction.1' is missing"),
    ("manifest.json", None, r"manifest.json: cannot read the manifest"),
    ("manifest.json", "[", r"manifest.json: not a valid manifest"),
])
def test_a_broken_folder_is_a_chainrule_error(batch, tmp_path, name, content, message):
    with pytest.raises(ChainruleError, match=message):
        quiz(broken_copy(batch, tmp_path, name, content))


def test_an_answer_key_that_disagrees_with_the_spec_is_an_error(batch, tmp_path, key_rows):
    rows = [dict(row, decimals={**row["decimals"], "loss": "123.456"}) for _, row in sorted(key_rows.items())]
    folder = broken_copy(batch, tmp_path, "answer_key.json", json.dumps(rows))
    with pytest.raises(ChainruleError, match=r"variant 1: key 'loss': 123.456 disagrees"):
        quiz(folder)


def test_the_cli_writes_moodle_xml(batch, tmp_path, xml_text, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(batch, folder)
    assert main(["moodle", str(folder)]) == 0
    assert (folder / "moodle.xml").read_text(encoding="utf-8") == xml_text
    assert "moodle.xml" in capsys.readouterr().out


# ---------------------------------------------------------------- per-key tolerance rules

@pytest.fixture(scope="module")
def ruled(tmp_path_factory) -> ET.Element:
    """One variant of a spec with tolerance rules per key and per question (tests/answers/hw4_tolerance.toml)."""
    spec = Path(__file__).parent / "answers" / "hw4_tolerance.toml"
    folder = make_batch(str(spec), tmp_path_factory.mktemp("ruled"), 1)
    return of_type(ET.fromstring(quiz(folder).encode("utf-8")), "cloze")[0], \
        json.loads((folder / "answer_key.json").read_text(encoding="utf-8"))[0]


@pytest.mark.parametrize("key, rule", [
    ("new_loss", Tolerance(sigfigs=4)),  # [tolerance.keys]
    ("gradient.w0", Tolerance(relative=Decimal("0.01"))),  # [tolerance.questions] 4
    ("gradient.w4", Tolerance(relative=Decimal("0.01"))),
    ("loss", Tolerance(sigfigs=2)),  # [tolerance]
])
def test_each_subquestion_takes_its_own_tolerance_rule(ruled, key, rule):
    question, row = ruled
    keys = list(row["answers"])
    right = subquestions(question)[keys.index(key)].alternatives[0]
    exact = exact_value(row, key)
    band = sigfigs_band(exact, rule.sigfigs) if rule.relative is None else Fraction(rule.relative) * abs(exact)
    low, high = moodle_interval(right.answer, right.tolerance)
    assert exact - band <= low and high <= exact + band
    assert Fraction(right.tolerance) >= widest(band, exact)
