"""Significant figures as the digits state them, and tolerances per key or question (check/grading.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sympy as sp

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import Answers, load_answers
from chainrule.check.grading import check, judge_number, literal, match, read_number
from chainrule.cli.grade import CheckJob, _check_one
from chainrule.core.spec import Tolerance
from chainrule.core.spec_reader import parse
from chainrule.errors import SpecError

ANSWERS = Path(__file__).parent / "answers"
R = sp.Rational
SMALL = R(10493, 10**7)  # 0.0010493
LARGE = R(11743, 10)  # 1174.3


@pytest.fixture(scope="module")
def key():
    return answer_key("inf264_hw4")


# One row per case: what the digits state, and whether that is right, too coarse or wrong.
@pytest.mark.parametrize("text, target, tolerance, kind", [
    ("1.05e-3", SMALL, Tolerance(), "rounded"),
    ("1.05E-3", SMALL, Tolerance(), "rounded"),
    (r"1.05 \times 10^{-3}", SMALL, Tolerance(), "rounded"),
    (r"1.05\cdot 10^{-3}", SMALL, Tolerance(), "rounded"),
    ("1.05·10^-3", SMALL, Tolerance(), "rounded"),
    ("1.049e-3", SMALL, Tolerance(), "rounded"),
    ("1.05e-3", SMALL, Tolerance(sigfigs=4), "too-few-digits"),
    ("1.0e-3", SMALL, Tolerance(), "too-few-digits"),
    ("1.04e-3", SMALL, Tolerance(), None),  # off by one in the last stated digit
    ("1.05e-2", SMALL, Tolerance(), None),  # wrong power of ten
    ("1170", LARGE, Tolerance(), "rounded"),  # 3 figures: 1170 ± 5
    ("1174", LARGE, Tolerance(sigfigs=4), "rounded"),
    ("1170", LARGE, Tolerance(sigfigs=4), "too-few-digits"),  # right to 3 figures, 4 asked
    ("1200", LARGE, Tolerance(), "too-few-digits"),  # 1200 is 1174.3 to 2 figures only
    ("1180", LARGE, Tolerance(), None),
    ("1.17e3", LARGE, Tolerance(), "rounded"),
    ("0.6666666666666666", R(2, 3), Tolerance(), "rounded"),  # repr(2/3): 16 digits, 1 ulp off
    ("0.6666666666666667", R(2, 3), Tolerance(sigfigs=17), "rounded"),
    ("0.30000000000000004", R(3, 10), Tolerance(), "rounded"),  # repr(0.1 + 0.2)
    ("-0.10518770232556676", R(-10518770232556676, 10**17) + R(3, 10**18), Tolerance(), "rounded"),
    ("1.4142135623730951", sp.sqrt(2), Tolerance(), "rounded"),  # repr(math.sqrt(2)), irrational key
    ("2.718281828459045", sp.E, Tolerance(), "rounded"),
    ("1.4142135623730961", sp.sqrt(2), Tolerance(sigfigs=17), None),  # 45 ulps off: a wrong 16th digit
    ("0.6666666666666650", R(2, 3), Tolerance(sigfigs=17), None),
    # the band depends on the exact value, not on the digits stated (the rule Moodle shares)
    ("1.4142135623730961", sp.sqrt(2), Tolerance(), "rounded"),  # within ± 0.005
    ("3.612", R(3616002, 10**6), Tolerance(), "rounded"),  # the loss: Moodle's ± 0.005 accepts it
    ("3.62", R(3616002, 10**6), Tolerance(), "rounded"),
    ("3.6110", R(3616002, 10**6), Tolerance(), None),  # 0.005002 off
    ("3.621002", R(3616002, 10**6), Tolerance(), "rounded"),  # the band's end
    ("3.6210021", R(3616002, 10**6), Tolerance(), None),
    ("1.00", R(996, 1000), Tolerance(), None),  # 0.996 to 3 figures is 0.996: ± 0.0005
    ("3.6", R(36000001, 10**7), Tolerance(), "rounded"),  # 2 figures stated, but within ± 0.005
    ("0", R(0), Tolerance(), "exact"),
    ("1e-20", R(0), Tolerance(), None),  # a correct zero has a band of zero
    ("0.30000000000000004", R(3, 10) + sp.exp(-200), Tolerance(), "rounded"),  # certified, not close enough
    ("1.059e-3", SMALL, Tolerance(relative=Decimal("0.01")), "rounded"),
    ("1.07e-3", SMALL, Tolerance(relative=Decimal("0.01")), None),
])
def test_the_digits_state_the_precision(text, target, tolerance, kind):
    assert match(text, read_number(text), target, tolerance) == kind


@pytest.mark.parametrize("text, digits, zeros, last", [
    ("1.05e-3", 3, 0, -5), ("1170", 4, 1, 0), ("0.00105", 3, 0, -5), ("-2.50", 3, 0, -2), ("1.2 \\times 10^{4}", 2, 0, 3),
])
def test_literal_precision(text, digits, zeros, last):
    stated = literal(text)
    assert (stated.digits, stated.zeros, stated.last) == (digits, zeros, last)


@pytest.mark.parametrize("text", ["w0", "1/3", "2*1.5", "1e", "1.05 \\times 11^{-3}", "e-3"])
def test_only_plain_decimals_are_literals(text):
    assert literal(text) is None


# new_loss = 2.855647324402 exactly
@pytest.mark.parametrize("text, verdict, feedback", [
    ("2.86e0", "correct", "Correct."),
    ("285.6E-2", "correct", "Correct."),
    (r"2.856 \times 10^{0}", "correct", "Correct."),
    ("2.8556473244020004", "correct", "Correct."),  # a float64 printout, 1 ulp off
    ("2.8556473244020104", "correct", "Correct."),  # a wrong 16th digit, but within ± 0.005
    ("2.850", "incorrect", "Expected 1427823662201/500000000000 ≈ 2.855647; your answer "
                           "2.850 does not match any known mistake."),
    ("2.9e0", "incorrect", "Expected 1427823662201/500000000000 ≈ 2.855647; give at least 3 significant figures"),
])
def test_judged_with_feedback(key, text, verdict, feedback):
    result = judge_number("new_loss", text, key, {}, Tolerance())
    assert result.verdict == verdict and result.feedback.startswith(feedback)


# ---------------------------------------------------------------- per key and per question

def test_a_key_rule_beats_a_question_rule_beats_the_spec_rule():
    rule = parse(_homework() + _TABLES).tolerance
    assert rule.for_key("new_loss") == Tolerance(sigfigs=4)
    assert rule.for_key("gradient.w0") == Tolerance(relative=Decimal("0.01"))
    assert rule.for_key("sample_gradient.2.w4") == Tolerance(relative=Decimal("0.01"))
    assert rule.for_key("loss") == Tolerance(sigfigs=2)


_TABLES = '\n[tolerance]\nsigfigs = 2\n[tolerance.keys]\n"new_loss" = {sigfigs = 4}\n' \
          '[tolerance.questions]\n4 = {relative = 0.01}\n'


def _homework() -> str:
    return (Path(__file__).parent.parent / "derivations" / "inf264_hw4.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("table, message", [
    ('[tolerance.keys]\n"new_los" = {sigfigs = 4}\n', "tolerance.keys.new_los': unknown 'new_los'; did you mean 'new_loss'"),
    ('[tolerance.keys]\n"gradient.w9" = {sigfigs = 4}\n', "tolerance.keys.gradient.w9': unknown"),
    ('[tolerance.questions]\n3 = {sigfigs = 4}\n', "tolerance.questions.3': question 3 is the proofs, which have no tolerance; expected one of 1, 2, 4, 5, 6"),
    ('[tolerance.questions]\n7 = {sigfigs = 4}\n', "tolerance.questions.7': unknown '7'; expected one of 1, 2, 4, 5, 6"),
    ('[tolerance.keys]\nloss = {sigfigs = 0}\n', "tolerance.keys.loss.sigfigs': expected an integer from 1 to 30"),
    ('[tolerance.keys]\nloss = 3\n', "tolerance.keys.loss': expected a table"),
    ('[tolerance.keys]\nloss = {keys = {}}\n', "tolerance.keys.loss.keys': unknown key 'keys'"),
    ('[tolerance.questions]\n4 = {relative = 2}\n', "tolerance.questions.4.relative': expected"),
])
def test_bad_tolerance_tables_are_one_clear_error(table, message):
    with pytest.raises(SpecError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse(_homework() + "\n" + table)


@pytest.mark.parametrize("table, where", [
    ('[tolerance.keys]\n"new_los" = {sigfigs = 4}\n', "key 'tolerance.keys.new_los'"),
    ('[tolerance.keys]\n"gradient.w0" = {sigfigs = 0}\n', "key 'tolerance.keys.gradient.w0.sigfigs'"),
    ('[tolerance.questions]\n4 = {relative = 2}\n', "key 'tolerance.questions.4.relative'"),
])
def test_a_bad_rule_names_its_line(table, where):
    text = _homework() + "\n" + table
    line = len(text.splitlines())
    with pytest.raises(SpecError, match=f"^<spec>:{line}: {where}"):
        parse(text)


def test_the_spec_rules_grade_a_file():
    """tests/answers/sigfigs.toml against tests/answers/hw4_tolerance.toml (sigfigs 2, new_loss 4, question 4 ±1%)."""
    report = _check_one(CheckJob(str(ANSWERS / "sigfigs.toml"), None, 5.0, None, None))
    verdicts = {j.key: j.verdict for j in report.judgements if j.given is not None}
    assert verdicts == {
        "loss": "correct",  # 3.3: two figures are enough here
        "gradient.w0": "correct",  # 3.38 is within 1% of 3.4
        "gradient.w3": "incorrect",  # 5.2 is 2% off
        "sample_gradient.1.w3": "correct",  # 1.02e1
        "updated.w0": "correct",  # 9.66e-1
        "updated.w1": "correct",  # 0.98: two figures
        "new_loss": "incorrect",  # 2.86: four figures asked
    }
    assert "at least 4 significant figures" in next(j.feedback for j in report.judgements if j.key == "new_loss")


def test_the_graders_option_replaces_the_spec_rules():
    report = _check_one(CheckJob(str(ANSWERS / "sigfigs.toml"), None, 5.0, None, Tolerance(sigfigs=3)))
    verdicts = {j.key: j.verdict for j in report.judgements if j.given is not None}
    assert verdicts["new_loss"] == "correct" and verdicts["loss"] == "incorrect" and verdicts["gradient.w0"] == "incorrect"


def test_tolerance_tables_survive_a_dump():
    from chainrule.core.spec_dump import dump

    spec = parse(_homework() + _TABLES)
    assert parse(dump(spec)).tolerance == spec.tolerance


# ---------------------------------------------------------------- the student's other answers pick the mistake

_FROM_FILES = {}


def _judged(name: str, key: str):
    if name not in _FROM_FILES:
        report = check(load_answers(ANSWERS / f"{name}.toml"))
        _FROM_FILES[name] = {j.key: j for j in report.judgements}
    return _FROM_FILES[name][key]


@pytest.mark.parametrize("file, key, mistakes, feedback", [
    # right gradients, wrong-signed update: residual-sign would have flipped the gradients
    ("update_sign", "updated.w0", ("update-sign",),
     "Not 'residual-sign': it would make gradient.w0 -17/5 ≈ -3.4, but yours is 3.4, which is right."),
    ("update_sign", "updated.w3", ("update-sign",),
     "Not 'residual-sign': it would make gradient.w3 -51/10 ≈ -5.1, but yours is 5.1, which is right."),
    # flipped gradients, updates that follow from them: not update-sign, which leaves the gradients alone
    ("residual_sign", "updated.w1", ("residual-sign", "carried-error"),
     "Not 'update-sign': it would make gradient.w1 17/10 ≈ 1.7, but yours is -1.7."),
    ("residual_sign", "gradient.w0", ("residual-sign", "carried-error"),
     "your answer matches the mistake 'residual-sign' (δŷ taken as 2(y − ŷ): the residual's sign is flipped) "
     "or 'carried-error'"),
])
def test_the_other_answers_pick_the_mistake(file, key, mistakes, feedback):
    judgement = _judged(file, key)
    assert judgement.verdict == "incorrect" and judgement.mistakes == mistakes
    assert feedback in judgement.feedback


@pytest.mark.parametrize("given, mistakes", [
    ({}, ("residual-sign", "update-sign")),  # nothing else to go by: both stay
    ({"gradient.w0": "3.4"}, ("update-sign",)),
    ({"gradient.w0": "-3.4"}, ("residual-sign", "carried-error")),
    ({"gradient.w0": "7"}, ("residual-sign", "update-sign")),  # a gradient neither explains rules out neither
])
def test_evidence_from_one_earlier_answer(key, given, mistakes):
    values = {k: read_number(t) for k, t in given.items()}
    assert judge_number("updated.w0", "1.034", key, values, Tolerance(), given).mistakes == mistakes


@pytest.mark.parametrize("budget, verdicts", [
    (None, {"correct"}),
    (60.0, {"correct"}),
    (0.0, {"unknown"}),  # spent before the first answer: undecided, never wrong
])
def test_a_files_budget_leaves_the_rest_unknown(budget, verdicts):
    report = check(load_answers(ANSWERS / "correct.toml"), budget=budget)
    assert {j.verdict for j in report.judgements} == verdicts
    if budget == 0.0:
        assert all(j.feedback == "Could not check this answer: time limit." for j in report.judgements)


def test_a_spent_budget_still_reports_missing_answers():
    report = check(Answers("a.toml", "inf264_hw4", "s", (("loss", "3.25"),), ()), budget=0.0)
    verdicts = {j.key: j.verdict for j in report.judgements}
    assert verdicts["loss"] == "unknown" and verdicts["new_loss"] == "missing" and verdicts["proofs.w0"] == "missing"
