"""Reading network specs: exact numbers, and errors that name the file, the key and the line."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from pathlib import Path

import pytest

from chainrule.classroom.moodle import Grouping
from chainrule.core.losses import Targets
from chainrule.core.spec import Layout, Reduction, Spec, Style, derivations_dir
from chainrule.core.spec_dump import dump
from chainrule.core.spec_reader import load, parse
from chainrule.errors import ChainruleError, SpecError
from chainrule.render.sheet_figures import NodeStyle

HOMEWORK = derivations_dir() / "inf264_hw4.toml"
HOMEWORK_TEXT = HOMEWORK.read_text(encoding="utf-8")


def line_containing(text: str, needle: str) -> int:
    """1-based number of the only line of `text` that contains `needle`."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(numbers) == 1, f"{needle!r} is on lines {numbers}"
    return numbers[0]


def homework_with(old: str, new: str) -> str:
    assert HOMEWORK_TEXT.count(old) == 1, old
    return HOMEWORK_TEXT.replace(old, new)


# --- the homework, exactly -------------------------------------------------------------------------


def test_homework_spec_loads_exactly():
    spec = load("inf264_hw4")

    assert spec.name == "inf264_hw4"
    assert spec.sizes == (2, 1, 1)
    assert spec.activations == ("relu", "identity")
    assert spec.loss == "squared_error"
    assert spec.x == ((Fraction(2), Fraction(1)), (Fraction(-3), Fraction(2)))
    assert spec.y == (Fraction(13, 10), Fraction(19, 10))
    assert all(type(v) is Fraction for v in (*spec.y, *spec.init, spec.learning_rate))
    assert spec.init == (1, 1, 0, 1, 0)
    assert spec.learning_rate == Fraction(1, 100)
    assert spec.steps == 1
    assert spec.notation == ()
    assert spec.parameter_count == 5
    assert spec.parameter_names == ("w0", "w1", "w2", "w3", "w4")


def test_load_by_name_and_by_path_agree():
    assert load("inf264_hw4") == load(HOMEWORK) == load(str(HOMEWORK))


def test_spec_is_frozen():
    spec = load("inf264_hw4")
    with pytest.raises(AttributeError):
        spec.steps = 2  # type: ignore[misc]


def test_init_as_a_table_keyed_by_name_gives_the_same_spec():
    as_table = homework_with(
        "init = [1, 1, 0, 1, 0]", 'init = { w4 = 0, w3 = 1, w2 = 0, w1 = 1, w0 = 1 }'
    )
    assert parse(as_table, "hw.toml") == parse(HOMEWORK_TEXT, "hw.toml")


@pytest.mark.parametrize(
    "written, exact",
    [
        ("1.3", Fraction(13, 10)),
        ('"13/10"', Fraction(13, 10)),
        ('" 13 / 10 "', Fraction(13, 10)),
        ("13e-1", Fraction(13, 10)),
        ("0.13E1", Fraction(13, 10)),
        ('"-26/20"', Fraction(-13, 10)),
        ("0.1", Fraction(1, 10)),
        ("7", Fraction(7)),
        ("0.3333333333333333333333", Fraction(3333333333333333333333, 10**22)),
    ],
)
def test_numbers_are_read_exactly(written, exact):
    spec = parse(homework_with("y = [1.3, 1.9]", f"y = [{written}, 1.9]"))
    assert spec.y[0] == exact


def test_optional_keys_take_their_defaults():
    text = homework_with('name = "inf264_hw4"\n', "").replace("steps = 1\n", "")
    text = text.replace('title = "INF264 Homework 4: gradient descent and backpropagation"\n', "")
    spec = parse(text, "x.toml", default_name="from_stem")
    assert (spec.name, spec.title, spec.steps) == ("from_stem", "from_stem", 1)


def test_notation_is_kept_when_safe():
    spec = parse(HOMEWORK_TEXT + '\n[notation]\nprediction = "\\\\hat{y}"\nparameter = "\\\\theta"\n')
    assert spec.notation_for("prediction", "?") == r"\hat{y}"
    assert spec.notation_for("parameter", "?") == r"\theta"
    assert spec.notation_for("loss", "L") == "L"


@pytest.mark.parametrize("path", sorted(derivations_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_spec_loads(path: Path):
    spec = load(path)
    assert isinstance(spec, Spec)
    assert len(spec.init) == spec.parameter_count
    assert all(len(row) == spec.sizes[0] for row in spec.x)
    assert len(spec.y) == len(spec.x)


def test_two_hidden_units_spec():
    spec = load("two_hidden_units")
    assert spec.sizes == (3, 2, 1)
    assert spec.parameter_count == 11
    assert spec.x[2] == (Fraction(1, 2), Fraction(-1), Fraction(1))
    assert spec.y == (2, Fraction(1, 2), -1)
    assert spec.learning_rate == Fraction(1, 20)


# --- bad specs ---------------------------------------------------------------------------------------
# (id, old text, new text, key the error names, a needle on the line it should point at (or None),
#  fragments the message must contain)

BAD_SPECS = [
    ("toml-syntax", "sizes = [2, 1, 1]", "sizes = [2, 1, 1]]", "(syntax)", "sizes =", ["invalid TOML"]),
    ("toml-duplicate-key", "kind = \"squared_error\"", 'kind = "squared_error"\nkind = "x"', "(syntax)",
     'kind = "x"', ["invalid TOML"]),
    ("missing-network", '[network]\nsizes = [2, 1, 1]', "sizes_gone = 0", "network", None,
     ["expected a table [network]", "missing"]),
    ("network-not-a-table", '[network]\nsizes = [2, 1, 1]', 'network = 3\n[net]\nsizes = [2, 1, 1]',
     "network", "network = 3", ["got an integer"]),
    ("missing-sizes", "sizes = [2, 1, 1]", "", "network.sizes", "[network]", ["missing"]),
    ("sizes-a-string", "sizes = [2, 1, 1]", 'sizes = "2, 1, 1"', "network.sizes", "sizes =",
     ["positive integers"]),
    ("sizes-a-float", "sizes = [2, 1, 1]", "sizes = [2, 1.5, 1]", "network.sizes", "sizes =",
     ["positive integers"]),
    ("sizes-zero-width", "sizes = [2, 1, 1]", "sizes = [2, 0, 1]", "network.sizes", "sizes =",
     ["positive integers"]),
    ("two-outputs-scalar-targets", "sizes = [2, 1, 1]", "sizes = [2, 1, 2]", "data.y[0]", "y = [",
     ["expected a list"]),
    ("activations-too-short", 'activations = ["relu", "identity"]', 'activations = ["relu"]',
     "network.activations", "activations =", ["expected 2 names", "got 1"]),
    ("unknown-activation", 'activations = ["relu", "identity"]', 'activations = ["relu", "swish"]',
     "network.activations[1]", "activations =",
     ["swish", "relu", "identity", "sigmoid", "tanh", "softplus", "leaky_relu"]),
    ("softmax-without-its-loss", 'activations = ["relu", "identity"]', 'activations = ["relu", "softmax"]',
     "network.activations", "activations =", ["softmax_cross_entropy"]),
    ("bad-kink-convention", 'activations = ["relu", "identity"]',
     'activations = [{name = "relu", derivative_at_zero = 2}, "identity"]',
     "network.activations[0].derivative_at_zero", "activations =", ["0, 1 or 1/2"]),
    ("unknown-activation-option", 'activations = ["relu", "identity"]',
     'activations = [{name = "relu", alpha = 0.1}, "identity"]',
     "network.activations[0].alpha", "activations =", ["derivative_at_zero"]),
    ("cross-entropy-needs-sigmoid", 'kind = "squared_error"', 'kind = "binary_cross_entropy"', "loss.kind",
     "kind =", ["sigmoid"]),
    ("unknown-loss", 'kind = "squared_error"', 'kind = "hinge"', "loss.kind", "kind =",
     ["hinge", "squared_error", "half_squared_error"]),
    ("x-row-wrong-length", "x = [[2, 1], [-3, 2]]", "x = [[2, 1], [-3, 2, 5]]", "data.x[1]", "x = [[",
     ["expected 2 numbers", "got 3"]),
    ("x-empty", "x = [[2, 1], [-3, 2]]", "x = []", "data.x", "x = [", ["non-empty"]),
    ("y-length-mismatch", "y = [1.3, 1.9]", "y = [1.3]", "data.y", "y = [", ["2 targets"]),
    ("y-division-by-zero", "y = [1.3, 1.9]", 'y = [1.3, "1/0"]', "data.y[1]", "y = [", ["division by zero"]),
    ("y-nan", "y = [1.3, 1.9]", "y = [nan, 1.9]", "data.y[0]", "y = [", ["finite"]),
    ("init-wrong-length", "init = [1, 1, 0, 1, 0]", "init = [1, 1, 0, 1]", "parameters.init", "init =",
     ["expected 5 numbers", "got 4"]),
    ("init-table-unknown-name", "init = [1, 1, 0, 1, 0]", "init = {w0=1, w1=1, w2=0, w3=1, w4=0, w5=2}",
     "parameters.init", "init =", ["unknown parameter 'w5'", "w0..w4"]),
    ("init-table-missing-name", "init = [1, 1, 0, 1, 0]", "init = {w0=1, w1=1, w2=0, w3=1}",
     "parameters.init", "init =", ["missing parameter 'w4'"]),
    ("init-table-bad-value", "init = [1, 1, 0, 1, 0]", 'init = {w0=1, w1=1, w2=0, w3="one", w4=0}',
     "parameters.init.w3", "init =", ["expected a number"]),
    ("negative-learning-rate", "learning_rate = 0.01", "learning_rate = -0.01", "training.learning_rate",
     "learning_rate =", ["positive"]),
    ("zero-learning-rate", "learning_rate = 0.01", "learning_rate = 0", "training.learning_rate",
     "learning_rate =", ["positive"]),
    ("infinite-learning-rate", "learning_rate = 0.01", "learning_rate = inf", "training.learning_rate",
     "learning_rate =", ["finite"]),
    ("steps-zero", "steps = 1", "steps = 0", "training.steps", "steps =", ["integer from 1 to 100"]),
    ("steps-float", "steps = 1", "steps = 1.0", "training.steps", "steps =", ["integer"]),
    ("steps-too-many", "steps = 1", "steps = 101", "training.steps", "steps =", ["integer from 1 to 100"]),
    ("huge-learning-rate", "learning_rate = 0.01", "learning_rate = 1e999999999", "training.learning_rate",
     "learning_rate =", ["positive number up to 10", "got 1E+999999999"]),
    ("huge-input", "x = [[2, 1],", "x = [[1e99999999, 1],", "data.x[0][0]", "x = [", ["-1000 up to 1000"]),
    ("long-fraction", "y = [1.3, 1.9]", 'y = [1.3, "1/3000000000000000000000000000"]', "data.y[1]", "y = [",
     ["24 decimal places"]),
    ("nan-tolerance", "steps = 1", "steps = 1\n[tolerance]\nabsolute = nan", "tolerance.absolute",
     "absolute =", ["up to 1000", "got NaN"]),
    ("boolean-learning-rate", "learning_rate = 0.01", "learning_rate = true", "training.learning_rate",
     "learning_rate =", ["got a boolean"]),
    ("boolean-target", "y = [1.3, 1.9]", "y = [1.3, false]", "data.y[1]", "y = [", ["got a boolean"]),
    ("boolean-steps", "steps = 1", "steps = true", "training.steps", "steps =", ["integer"]),
    ("notation-runs-tex", "steps = 1", 'steps = 1\n\n[notation]\ninput = "\\\\input{x}"', "notation.input",
     "input = ", ["\\input", "not allowed"]),
    ("notation-unknown-key", "steps = 1", 'steps = 1\n\n[notation]\nweights = "W"', "notation.weights",
     "weights = ", ["unknown notation key", "prediction"]),
    ("notation-unbalanced", "steps = 1", 'steps = 1\n\n[notation]\nhidden = "h_{1"', "notation.hidden",
     "hidden = ", ["unbalanced"]),
    ("bad-name", 'name = "inf264_hw4"', 'name = "../../etc/passwd"', "name", "name =", ["letters, digits"]),
    # a word from a fixed list: every allowed word, the default first, and what was given
    ("unknown-reduction", 'kind = "squared_error"', 'kind = "squared_error"\nreduction_samples = "avg"',
     "loss.reduction_samples", "reduction_samples", ["expected one of 'mean', 'sum', got avg"]),
    ("reduction-not-a-word", 'kind = "squared_error"', 'kind = "squared_error"\nreduction_outputs = ["sum"]',
     "loss.reduction_outputs", "reduction_outputs", ["expected one of 'sum', 'mean', got a list"]),
    ("unknown-layout", "steps = 1", 'steps = 1\n[sheet]\nlayout = "compact"', "sheet.layout", "layout =",
     ["expected one of 'auto', 'written', 'matrix', got compact"]),
    ("layout-case", "steps = 1", 'steps = 1\n[sheet]\nlayout = "Matrix"', "sheet.layout", "layout =",
     ["expected one of 'auto', 'written', 'matrix', got Matrix"]),
    ("unknown-style", "steps = 1", 'steps = 1\n[notation]\nstyle = "nested"', "notation.style", "style =",
     ["expected one of 'auto', 'flat', 'layered', got nested"]),
]


@pytest.mark.parametrize(
    "old, new, key, line_needle, fragments",
    [case[1:] for case in BAD_SPECS],
    ids=[case[0] for case in BAD_SPECS],
)
def test_bad_spec_names_key_and_line(tmp_path, old, new, key, line_needle, fragments):
    text = homework_with(old, new)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SpecError) as caught:
        load(path)

    error = caught.value
    message = str(error)
    assert error.key == key
    assert error.path == str(path)
    assert f"key '{key}'" in message
    expected_line = None if line_needle is None else line_containing(text, line_needle)
    assert error.line == expected_line
    where = str(path) if expected_line is None else f"{path}:{expected_line}"
    assert message.startswith(f"{where}: key '{key}': ")
    for fragment in fragments:
        assert fragment in message


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(HOMEWORK_TEXT.replace("INF264", "INF264 \u00e9t\u00e9").encode("latin-1"))
    with pytest.raises(SpecError) as caught:
        load(path)
    assert caught.value.key == "(file)"
    assert "UTF-8" in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("missing", ["no_such_spec", "nowhere/at/all.toml"])
def test_missing_file(missing):
    with pytest.raises(SpecError) as caught:
        load(missing)
    assert caught.value.key == "(file)"
    assert "cannot read" in str(caught.value)
    assert Path(missing).stem in str(caught.value)


def test_spec_error_is_a_chainrule_error():
    with pytest.raises(ChainruleError):
        parse("[network]\n")


@pytest.mark.parametrize("value, text", [
    (Fraction(1, 100), "0.01"), (Fraction(-3), "-3"), (Fraction(5, 2), "2.5"), (Fraction(100), "100"),
    (Fraction(0), "0"), (Fraction(-17, 1000), "-0.017"), (Fraction(1, 3), None), (Fraction(7, 6), None),
    (Fraction(1, 2**40), "0.0000000000009094947017729282379150390625"),  # exact, past 28 digits
])
def test_decimal_text_is_exact_or_none(value, text):
    from chainrule.numbers import decimal_text

    assert decimal_text(value) == text


# --- words from a fixed list are read once, as enum members ----------------------------------------


@pytest.mark.parametrize("old, new, attribute, member", [
    ('kind = "squared_error"', 'kind = "squared_error"\nreduction_samples = "sum"', "reduction_samples",
     Reduction.SUM),
    ('kind = "squared_error"', 'kind = "squared_error"\nreduction_outputs = "mean"', "reduction_outputs",
     Reduction.MEAN),
    ("steps = 1", 'steps = 1\n[sheet]\nlayout = "written"', "layout", Layout.WRITTEN),
    ("steps = 1", 'steps = 1\n[sheet]\nlayout = "matrix"', "layout", Layout.MATRIX),
    ("steps = 1", 'steps = 1\n[notation]\nstyle = "layered"', "style", Style.LAYERED),
    ("steps = 1", "steps = 1", "reduction_samples", Reduction.MEAN),  # the defaults are members too
    ("steps = 1", "steps = 1", "reduction_outputs", Reduction.SUM),
    ("steps = 1", "steps = 1", "layout", Layout.AUTO),
    ("steps = 1", "steps = 1", "style", Style.AUTO),
])
def test_a_word_is_read_as_its_member_and_written_back_as_the_word(old, new, attribute, member):
    spec = parse(homework_with(old, new))
    assert getattr(spec, attribute) is member
    text = dump(spec)
    if member is not type(member)("auto" if attribute in ("layout", "style") else
                                  {"reduction_samples": "mean", "reduction_outputs": "sum"}[attribute]):
        assert f'{attribute} = "{member.value}"\n' in text  # a plain TOML string, not the member's repr
    assert "<" not in text and getattr(parse(text), attribute) is member


def test_a_spec_built_by_hand_with_words_holds_members():
    spec = dataclasses.replace(load("inf264_hw4"), layout="matrix", reduction_samples="sum", reduction_outputs="mean")
    assert (spec.layout, spec.reduction_samples, spec.reduction_outputs) == \
        (Layout.MATRIX, Reduction.SUM, Reduction.MEAN)
    assert spec.layout is Layout.MATRIX and spec.reduction_samples is Reduction.SUM
    with pytest.raises(ValueError):
        dataclasses.replace(spec, layout="compact")


@pytest.mark.parametrize("reduction, count, divisor, adjective", [
    (Reduction.MEAN, 4, 4, "mean"),
    (Reduction.SUM, 4, 1, "summed"),
    (Reduction.MEAN, 1, 1, "mean"),
])
def test_a_reduction_divides_by_the_count_or_by_one(reduction, count, divisor, adjective):
    assert reduction.divisor(count) == divisor and reduction.adjective == adjective


# Words that are kinds (an enum's values) and the modules that define them. Compared as strings
# anywhere else (`== "mean"`, `in ("sum", ...)`, `!= "matrix"`), they fail this test: compare the
# member (`spec.reduction_samples is Reduction.MEAN`) instead.
KIND_WORDS = {word: module for module, kinds in (("core/spec.py", (Reduction, Layout, Style)),
                                                 ("core/losses.py", (Targets,)),
                                                 ("render/sheet_figures.py", (NodeStyle,)),
                                                 ("classroom/moodle.py", (Grouping,)))
              for kind in kinds for word in kind.__members__.values()}


def kind_comparisons(text: str) -> list[str]:
    """The kind words `text` compares as strings: `== "mean"`, `in ("sum", ...)`, `"matrix" != x`."""
    words = "|".join(sorted(KIND_WORDS, key=len, reverse=True))
    literal = rf"""["']({words})["']"""
    after = rf"""(?:==|!=|\bin|\bis(?:\s+not)?)\s*[(\[{{]?\s*{literal}"""
    before = rf"""{literal}\s*(?:==|!=)"""
    return [m.group(1) or m.group(2) for m in re.finditer(f"{after}|{before}", text)]


@pytest.mark.parametrize("text, words", [
    ('if spec.reduction_samples == "mean":', ["mean"]),
    ("x if layout in ('matrix', 'auto') else y", ["matrix"]),
    ('"sum" != spec.reduction_outputs', ["sum"]),
    ("if style is not 'flat'", ["flat"]),
    ("LOSSES[loss].targets == 'distribution'", ["distribution"]),
    ('{"mean": 1}', []),
    ("spec.reduction_samples is Reduction.MEAN", []),
    ('print("mean")', []),
])
def test_the_guard_sees_a_comparison(text, words):
    assert kind_comparisons(text) == words


def test_no_code_outside_the_spec_compares_a_kind_s_word_as_a_string():
    import chainrule

    root = Path(chainrule.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        where = path.relative_to(root).as_posix()
        found |= {(where, word) for word in kind_comparisons(path.read_text(encoding="utf-8"))
                  if where != KIND_WORDS[word]}
    for folder in (root.parents[1] / "templates", root / "web" / "templates"):
        assert folder.is_dir(), folder
        for path in folder.glob("*.j2"):  # templates get flags from the context, never compare words
            found |= {(path.name, word) for word in kind_comparisons(path.read_text(encoding="utf-8"))}
    assert found == set()
