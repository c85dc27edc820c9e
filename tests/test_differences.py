"""What a refuted proof step gets wrong, found symbolically (check/differences.py), and in the feedback."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import load_answers
from chainrule.check.differences import describe
from chainrule.check.grading import check
from chainrule.check.proofs import _chain, derivative_names, judge_proof

ANSWERS = Path(__file__).parent / "answers"


@pytest.fixture(scope="module")
def key():
    return answer_key("inf264_hw4")


# One row per kind of difference: a step `left = right` of the homework, and what is said about it.
@pytest.mark.parametrize("step, said", [
    ("delta_h*x0 = 2*delta_h*x0", "the right side is twice the left"),
    ("delta_yhat = yhat - y", "the right side is half the left"),
    ("delta_yhat*h = delta_yhat*h/3", "the right side is a third of the left"),
    ("delta_yhat*h = 5*delta_yhat*h", "the right side is 5 times the left"),
    ("delta_h*x0 = -delta_h*x0", "the sign is flipped: the right side is minus the left"),
    ("delta_h*x0 = delta_yhat*x0", "the factor w3·g′(z) is missing"),
    ("delta_h*x0 = 2*(yhat - y)*w3*x0", "the factor g′(z) is missing"),
    ("delta_yhat*h = delta_yhat*h*w3^2", "the right side has an extra factor w3^2"),
    ("delta_yhat*h = delta_yhat*h*w3/x0", "the right side is the left times w3/x0"),
    ("delta_yhat*h = delta_yhat*h + delta_yhat", "the right side has an extra term 2·(ŷ − y)"),
    ("delta_h*x0 + x1 = delta_h*x0", "the term x1 is missing on the right side"),
    ("delta_h*x0 = delta_h*x1", "x0 is replaced by x1"),
    ("delta_yhat*h = delta_yhat*z", "h is replaced by z"),
    ("delta_yhat = 0", "the right side is 0, the left side is not"),
    ("delta_h*x0 = (yhat - y)^3*x1 + w3^5*h^2*x0 + z^7", None),  # nothing short to say
])
def test_the_difference_is_named(key, step, said):
    left, right = _chain(step, "inf264_hw4", local=True)
    assert describe(left, right, derivative_names(key)) == said


def test_no_description_when_out_of_time(key):
    left, right = _chain("delta_h*x0 = delta_yhat*x0", "inf264_hw4", local=True)
    assert describe(left, right, derivative_names(key), seconds=0) is None


@pytest.mark.parametrize("parameter, feedback", [
    ("w0", "Step 2 (between expression 2 and 3) is wrong: the factor w3·g′(z) is missing. The two sides differ at "),
    ("w1", "Step 2 (between expression 2 and 3) is wrong: the sign is flipped: the right side is minus the left. "
           "The two sides differ at "),
    ("w2", "Step 2 (between expression 2 and 3) is wrong: the right side is twice the left. The two sides differ at "),
    ("w3", "Step 2 (between expression 2 and 3) is wrong: h is replaced by z. The two sides differ at "),
    ("w4", "Step 2 (between expression 2 and 3) is wrong: the right side is half the left. The two sides differ at "),
])
def test_a_wrong_proof_says_what_is_wrong_then_where(parameter, feedback):
    report = check(load_answers(ANSWERS / "wrong_proofs.toml"))
    judgement = next(j for j in report.judgements if j.key == f"proofs.{parameter}")
    assert judgement.verdict == "incorrect"
    assert judgement.feedback.startswith(feedback)
    assert "where the left side is" in judgement.feedback  # the counterexample is still given


def test_the_wrong_region_is_still_named(key):
    result = judge_proof("w0", "dL/dw0 = delta_h * x0 = 2*(yhat - y)*w3*x0", key, 5)
    assert result.feedback.startswith("Step 2 (between expression 2 and 3) is wrong: the factor g′(z) is missing.")
    assert result.feedback.endswith("It holds only where z > 0, not where z ≤ 0.")


def test_a_deeper_network_names_its_units_derivative():
    key = answer_key("two_hidden_units")
    names = derivative_names(key)
    assert names and all(isinstance(p, sp.Piecewise) or p.is_Function for p in names)
    assert all(name.startswith("g′(") for name in names.values())
