"""The Moodle XML quiz of a variants folder: structure, exact answers, tolerances, mistakes, escaping, errors."""

from __future__ import annotations

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
from chainrule.classroom.moodle import choices, quiz, tolerance
from chainrule.cli.main import main
from chainrule.core.spec import Tolerance, resolve_path
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError

COUNT = 3
FIXED_FIELDS = [("defaultgrade", "1"), ("penalty", "0.3333333"), ("hidden", "0"), ("unitgradingtype", "0"),
                ("unitpenalty", "0.1"), ("showunits", "3"), ("unitsleft", "0")]
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


def numerical(root: ET.Element) -> list[ET.Element]:
    return root.findall("question[@type='numerical']")


def by_name(root: ET.Element) -> dict[str, ET.Element]:
    return {q.findtext("name/text"): q for q in numerical(root)}


def answers(question: ET.Element) -> list[ET.Element]:
    return question.findall("answer")


def value_of(answer: ET.Element) -> Fraction:
    return Fraction(Decimal(answer.findtext("text")))


def tolerance_of(answer: ET.Element) -> Fraction:
    return Fraction(Decimal(answer.findtext("tolerance")))


def exact_value(row: dict, key: str) -> Fraction:
    """The answer key's exact value: a Fraction for rationals, else its 30-digit decimal."""
    text = row["answers"][key]
    return Fraction(text) if RATIONAL.fullmatch(text) else Fraction(Decimal(row["decimals"][key]))


def sigfigs_tolerance(decimal_text: str, sigfigs: int = 3) -> Fraction:
    """Half a unit in the `sigfigs`-th significant figure, found by counting powers of ten."""
    value = abs(Fraction(Decimal(decimal_text)))
    if value == 0:
        return Fraction(1, 2) / 10 ** sigfigs
    exponent = 0
    while value >= 10 ** (exponent + 1):
        exponent += 1
    while value < Fraction(10) ** exponent:
        exponent -= 1
    return Fraction(1, 2) * Fraction(10) ** (exponent - sigfigs + 1)


# ---------------------------------------------------------------- structure

def test_the_root_is_a_quiz(root):
    assert root.tag == "quiz"


def test_each_variant_is_a_category_then_one_question_per_key(root, specs):
    expected = []
    for n, spec in sorted(specs.items()):
        expected.append(("category", f"$course$/top/chainrule/inf264_hw4/variant {n:03d}"))
        expected.extend(("numerical", f"v{n:03d} {key}") for key, _ in answer_keys(spec))
    found = [(q.get("type"), q.findtext("category/text") or q.findtext("name/text")) for q in root]
    assert found == expected
    assert len(numerical(root)) == COUNT * len(answer_keys(specs[1]))


@pytest.mark.parametrize("tag, text", FIXED_FIELDS)
def test_every_question_has_the_standard_numerical_fields(root, tag, text):
    assert {q.findtext(tag) for q in numerical(root)} == {text}


@pytest.mark.parametrize("element", ["questiontext", "generalfeedback"])
def test_texts_are_html(root, element):
    assert {q.find(element).get("format") for q in numerical(root)} == {"html"}


def test_question_text_has_the_variants_data_and_what_the_key_asks(root, specs):
    questions = by_name(root)
    for n, spec in specs.items():
        for key, asks in answer_keys(spec):
            text = questions[f"v{n:03d} {key}"].findtext("questiontext/text")
            assert html.escape(asks, quote=False) in text
            assert html.escape(spec.title, quote=False) in text
            assert "<table>" in text and "Learning rate η = 0.01" in text
            assert all(f"{name} = " in text for name in spec.parameter_names)


# ---------------------------------------------------------------- the correct answer

def test_the_correct_answer_comes_first_and_is_within_tolerance_of_the_exact_value(root, key_rows):
    questions = by_name(root)
    for n, row in key_rows.items():
        for key in row["answers"]:
            first = answers(questions[f"v{n:03d} {key}"])[0]
            assert first.get("fraction") == "100" and first.get("format") == "moodle_auto_format"
            assert first.findtext("feedback/text") == "Correct."
            assert tolerance_of(first) > 0
            assert abs(value_of(first) - exact_value(row, key)) <= tolerance_of(first) / 1000


def test_the_correct_answers_tolerance_follows_the_sigfigs_rule(root, key_rows):
    questions = by_name(root)
    for n, row in key_rows.items():
        for key, decimal_text in row["decimals"].items():
            first = answers(questions[f"v{n:03d} {key}"])[0]
            assert tolerance_of(first) == sigfigs_tolerance(decimal_text), key


@pytest.mark.parametrize("value, rule, expected", [
    ("2.855647", Tolerance(), "0.005"),
    ("-0.0171", Tolerance(), "0.00005"),
    ("123.4", Tolerance(sigfigs=2), "5"),
    ("9.996", Tolerance(), "0.005"),
    ("0", Tolerance(), "0.0005"),
    ("3.2E-7", Tolerance(sigfigs=4), "5E-11"),
    ("2.5", Tolerance(absolute=Decimal("0.01")), "0.01"),
    ("-4", Tolerance(relative=Decimal("0.001")), "0.004"),
    ("-4", Tolerance(relative=Decimal("0.001"), absolute=Decimal("0.2")), "0.2"),  # absolute wins
])
def test_tolerance_rules(value, rule, expected):
    assert tolerance(Decimal(value), rule) == Decimal(expected)


# ---------------------------------------------------------------- mistakes

def test_mistake_answers_score_zero_and_name_catalogue_mistakes(root):
    named = 0
    for question in numerical(root):
        first, *wrong = answers(question)
        assert len(wrong) <= 4
        ids = [tuple(MISTAKE_IDS.findall(a.findtext("feedback/text"))) for a in wrong]
        assert ids == sorted(ids)
        assert len({value_of(a) for a in wrong}) == len(wrong)  # duplicates merged
        for answer, mistake_ids in zip(wrong, ids):
            assert answer.get("fraction") == "0"
            assert answer.findtext("feedback/text").startswith("This matches the mistake")
            assert mistake_ids and all(mid in DESCRIPTIONS for mid in mistake_ids)
            # each named mistake's explanation follows, one paragraph each
            assert all(f"<p>{html.escape(EXPLANATIONS[mid], quote=False)}</p>" in answer.findtext("feedback/text")
                       for mid in mistake_ids)
            assert abs(value_of(answer) - value_of(first)) > tolerance_of(first)
            assert tolerance_of(answer) > 0
            named += 1
    assert named > 0


def test_missing_factor_2_halves_the_output_bias_gradient(root, specs):
    """An independent forward pass: h = relu(w0 x1 + w1 x2 + w2), ŷ = w3 h + w4, ∂L/∂w4 = mean 2(ŷ − y)."""
    questions = by_name(root)
    for n, spec in specs.items():
        w0, w1, w2, w3, w4 = spec.init
        residuals = [w3 * max(Fraction(0), w0 * x1 + w1 * x2 + w2) + w4 - y for (x1, x2), y in zip(spec.x, spec.y)]
        gradient = sum(2 * r for r in residuals) / len(residuals)
        first, *wrong = answers(questions[f"v{n:03d} gradient.w4"])
        halved = [a for a in wrong if "'missing-factor-2'" in a.findtext("feedback/text")]
        assert value_of(first) == gradient
        assert len(halved) == 1 and value_of(halved[0]) == gradient / 2


@pytest.mark.parametrize("mistakes, expected", [
    # the same value from two mistakes is one answer naming both, and answers follow the ids
    ((("update-sign", "2"), ("residual-sign", "-1"), ("relu-derivative", "2")),
     [("1", ()), ("2", ("relu-derivative", "update-sign")), ("-1", ("residual-sign",))]),
    # a mistake within the correct answer's tolerance earns the mark anyway: not named
    ((("rounding", "1.004"), ("update-sign", "1.006")), [("1", ()), ("1.006", ("update-sign",))]),
    # at most four: the catalogue's first (most common) mistakes are kept
    ((("update-sign", "7"), ("loss-sum-not-mean", "6"), ("missing-downstream-weight", "5"),
      ("relu-derivative", "4"), ("residual-sign", "3"), ("missing-factor-2", "2")),
     [("1", ()), ("5", ("missing-downstream-weight",)), ("2", ("missing-factor-2",)), ("4", ("relu-derivative",)),
      ("3", ("residual-sign",))]),
])
def test_choices(mistakes, expected):
    found = choices(Decimal(1), tuple((mid, Decimal(v)) for mid, v in mistakes), Tolerance())
    assert [(c.answer, tuple(MISTAKE_IDS.findall(c.feedback))) for c in found] == expected
    assert [c.fraction for c in found] == [100] + [0] * (len(expected) - 1)


# ---------------------------------------------------------------- determinism, escaping, errors, CLI

def test_the_same_folder_gives_identical_xml(batch, xml_text):
    assert quiz(batch) == xml_text
    assert xml_text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<quiz>")


def test_a_title_with_markup_is_escaped(tmp_path):
    title = 'A <b>bold</b> & "quoted" ]]> title'
    text = resolve_path("inf264_hw4").read_text(encoding="utf-8")
    spec = tmp_path / "tricky.toml"
    spec.write_text(re.sub(r"(?m)^title = .*$", lambda _: f"title = {json.dumps(title)}", text), encoding="utf-8")
    folder = make_batch(str(spec), tmp_path / "batch", count=1)
    xml_text = quiz(folder)
    assert "]]>" not in xml_text and "<b>" not in xml_text
    question = numerical(ET.fromstring(xml_text.encode("utf-8")))[0]
    shown = question.findtext("questiontext/text")
    assert html.escape(title, quote=False) in shown and "<b>" not in shown


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


def test_by_question_groups_every_variants_version_of_a_question(batch, xml_text):
    """For Moodle's random questions: one category per key, each holding that question of every variant."""
    grouped = ET.fromstring(quiz(batch, by="question").encode("utf-8"))
    keys = [k for k, _ in answer_keys(load("inf264_hw4"))]
    categories, current, members = [], None, {}
    for question in grouped:
        if question.get("type") == "category":
            current = question.find("category/text").text.rsplit("/", 1)[1]
            categories.append(current)
            members[current] = []
        else:
            members[current].append(question.find("name/text").text)
    assert categories == keys
    variants = sorted({int(v) for v in json.loads((batch / "answer_key.json").read_text())
                       for v in [v["variant"]]})
    assert members["loss"] == [f"v{n:03d} loss" for n in variants]
    # the same questions as the per-variant layout, only regrouped
    plain = ET.fromstring(xml_text.encode("utf-8"))
    names = lambda root: sorted(q.find("name/text").text for q in root if q.get("type") == "numerical")  # noqa: E731
    assert names(grouped) == names(plain)


def test_an_unknown_grouping_is_an_error(batch):
    with pytest.raises(ChainruleError, match="--by"):
        quiz(batch, by="student")



@pytest.fixture(scope="module")
def ruled(tmp_path_factory) -> dict[str, ET.Element]:
    """One variant of a spec with tolerance rules per key and per question (tests/answers/hw4_tolerance.toml)."""
    spec = Path(__file__).parent / "answers" / "hw4_tolerance.toml"
    return by_name(ET.fromstring(quiz(make_batch(str(spec), tmp_path_factory.mktemp("ruled"), 1)).encode("utf-8")))


@pytest.mark.parametrize("key, precision", [
    ("new_loss", "as a decimal with at least 4 significant figures"),  # [tolerance.keys]
    ("gradient.w0", "within a relative error of 0.01"),  # [tolerance.questions] 4
    ("sample_gradient.1.w3", "within a relative error of 0.01"),
    ("loss", "as a decimal with at least 2 significant figures"),  # [tolerance]
])
def test_each_question_takes_its_own_tolerance_rule(ruled, key, precision):
    assert f", {precision}.</p>" in ruled[f"v001 {key}"].findtext("questiontext/text")
