"""The mistake catalogue: each mistake named on a hand-made wrong answers file, with its explanation;
errors carried forward from earlier answers (predictions included); the catalogue on other networks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import sympy as sp

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import load_answers
from chainrule.check.grading import check
from chainrule.check.mistakes import CATALOGUE, EXPLANATIONS, _learning_rates
from tests.test_cli import run

ANSWERS = Path(__file__).parent / "answers"


@pytest.fixture(scope="module")
def judgements():
    """file stem -> key -> judgement, for every hand-made wrong answers file."""
    stems = ("forgot_activation", "wrong_learning_rate", "used_target_as_prediction", "relu_derivative_at_kink",
             "carried_from_prediction")
    found = {}
    for stem in stems:
        answers = load_answers(ANSWERS / f"{stem}.toml")
        if answers.spec.endswith(".toml"):  # a spec beside the file: the CLI resolves it the same way
            answers = dataclasses.replace(answers, spec=str(ANSWERS / answers.spec))
        found[stem] = {j.key: j for j in check(answers).judgements}
    return found


# Every value in these files was worked out by hand (see the comments in each file).
@pytest.mark.parametrize("stem, key, mistake", [
    ("forgot_activation", "prediction.2", "forgot-activation"),  # ŷ₂ = −1: the issue's own example
    ("forgot_activation", "loss", "forgot-activation"),
    ("forgot_activation", "sample_gradient.2.w0", "forgot-activation"),
    ("forgot_activation", "sample_gradient.2.w3", "forgot-activation"),
    ("forgot_activation", "gradient.w0", "forgot-activation"),
    ("forgot_activation", "updated.w0", "forgot-activation"),
    ("wrong_learning_rate", "updated.w0", "wrong-learning-rate"),  # 10η
    ("wrong_learning_rate", "updated.w1", "wrong-learning-rate"),  # η/10
    ("wrong_learning_rate", "updated.w3", "wrong-learning-rate"),  # η left out
    ("used_target_as_prediction", "loss", "used-target-as-prediction"),
    ("used_target_as_prediction", "sample_gradient.1.w3", "used-target-as-prediction"),
    ("used_target_as_prediction", "gradient.w4", "used-target-as-prediction"),  # "0" is not a rounding of −0.2
    ("relu_derivative_at_kink", "sample_gradient.2.w0", "relu-derivative-at-kink"),
    ("relu_derivative_at_kink", "sample_gradient.2.w2", "relu-derivative-at-kink"),
    ("relu_derivative_at_kink", "gradient.w0", "relu-derivative-at-kink"),
])
def test_hand_made_wrong_answers_name_the_mistake_and_explain_it(judgements, stem, key, mistake):
    judgement = judgements[stem][key]
    assert judgement.verdict == "incorrect"
    assert mistake in judgement.mistakes
    assert EXPLANATIONS[mistake] in judgement.feedback


@pytest.mark.parametrize("stem, key, wrong_guess", [
    # g'(0) = 1 only at the kink gives 4.8; g' = 1 for every sample would give 8.6
    ("relu_derivative_at_kink", "gradient.w0", "relu-derivative"),
    # the right gradients with a wrong η: nothing but the update is wrong
    ("wrong_learning_rate", "updated.w0", "carried-error"),
    ("used_target_as_prediction", "gradient.w4", "rounding"),
])
def test_the_mistake_is_not_confused_with_another(judgements, stem, key, wrong_guess):
    assert wrong_guess not in judgements[stem][key].mistakes


@pytest.mark.parametrize("key", [
    "loss", "sample_gradient.1.w0", "sample_gradient.1.w3", "sample_gradient.1.w4",  # backward pass rerun with ŷ₁ = 2.5
    "gradient.w0", "gradient.w3", "gradient.w4", "updated.w0", "updated.w1", "updated.w2", "updated.w3", "updated.w4",
    "new_loss",
])
def test_an_error_in_a_prediction_is_carried_through_the_whole_chain(judgements, key):
    judgement = judgements["carried_from_prediction"][key]
    assert judgement.verdict == "incorrect" and judgement.mistakes == ("carried-error",)
    assert EXPLANATIONS["carried-error"] in judgement.feedback


def test_the_slip_itself_matches_no_mistake(judgements):
    judgement = judgements["carried_from_prediction"]["prediction.1"]
    assert judgement.mistakes == () and "does not match any known mistake" in judgement.feedback


def test_a_prediction_carried_into_a_per_sample_gradient_needs_the_rest_of_the_forward_pass_right(tmp_path):
    # ŷ₂ = −1 (forgot the ReLU) with h₂ = 0 kept: δŷ = −5.8 reaches w4, but not w3 (= δŷ · h = 0)
    path = tmp_path / "a.toml"
    path.write_text('[answers]\n"prediction.2" = "-1"\n"sample_gradient.2.w4" = "-5.8"\n'
                    '"sample_gradient.2.w3" = "5.8"\n', encoding="utf-8")
    found = {j.key: j for j in check(load_answers(path)).judgements}
    assert "carried-error" in found["sample_gradient.2.w4"].mistakes
    assert "carried-error" not in found["sample_gradient.2.w3"].mistakes


def test_every_mistake_has_an_explanation_to_act_on():
    for mistake in CATALOGUE:
        assert mistake.explanation.count(". ") >= 2, mistake.id  # what went wrong, how to see it, how to fix it
        assert mistake.description not in mistake.explanation


def test_the_common_wrong_learning_rates():
    assert _learning_rates(sp.Rational(1, 100)) == (sp.Rational(1, 10), sp.Rational(1, 1000), 1)
    assert _learning_rates(sp.Integer(1)) == (10, sp.Rational(1, 10))


@pytest.mark.parametrize("spec, present, absent", [
    ("inf264_hw4", {"forgot-activation", "wrong-learning-rate", "used-target-as-prediction",
                    "relu-derivative-at-kink"}, set()),
    ("two_hidden_units", {"forgot-activation", "wrong-learning-rate", "used-target-as-prediction"}, set()),
    # a sigmoid output with cross-entropy: y in the logs has no finite value for a 0/1 target
    ("sigmoid_bce", {"forgot-activation", "wrong-learning-rate"}, {"relu-derivative-at-kink"}),
])
def test_the_new_mistakes_are_built_for_other_networks(spec, present, absent):
    key = answer_key(spec)
    ids = {mistake for mistake, _ in key.variants}
    assert present <= ids and not absent & ids
    right = key.values
    for mistake, values in key.variants:
        if mistake == "forgot-activation":
            assert any(values[k] != right[k] for k in right if k.startswith("prediction."))


def test_check_json_carries_the_explanations():
    result = run("check", str(ANSWERS / "forgot_activation.toml"), "--json")
    answer = json.loads(result.stdout)["answers"]["prediction.2"]
    assert answer["mistakes"] == ["forgot-activation"]
    assert answer["explanations"] == {"forgot-activation": EXPLANATIONS["forgot-activation"]}
