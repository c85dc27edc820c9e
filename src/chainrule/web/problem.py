"""GET /api/problem: the handout's problem and questions as HTML with MathML, and the answer keys."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import answer_keys
from chainrule.core.spec import question_of
from chainrule.render.handout import handout_context
from chainrule.render.network_svg import svg as network_svg
from chainrule.render.printer import Printer
from chainrule.web.page import environment
from chainrule.web.source import Problem

QUESTIONS = 7
PROOF_QUESTION = 3
_QUESTION = re.compile(r"\s*\(question \d+\)\s*$")  # the suffix of what a key asks


def problem_json(problem: Problem) -> dict:
    """Everything the page shows of one spec (or variant); computed in the parent from trusted specs."""
    derivation = answer_key(problem.path).derivation
    context = handout_context(derivation, Printer(derivation.model), problem.variant)
    svg = network_svg(derivation.model)  # the picture Moodle embeds, inline
    module = environment().get_template("problem.html.j2").make_module({**context, "network_svg": Markup(svg)})
    keys: dict[int, list] = {n: [] for n in range(1, QUESTIONS + 1)}
    for key, what in answer_keys(problem.spec):
        label = _QUESTION.sub("", what)
        keys[question_of(key)].append({"key": key, "label_html": str(escape(f"{key}: {label}")), "kind": "number"})
    for name in problem.spec.trained_names:  # a frozen parameter's gradient is not asked for
        keys[PROOF_QUESTION].append({"key": f"proofs.{name}", "kind": "proof", "label_html": str(
            escape(f"proofs.{name}: the chain from dL/d{name} to its backpropagation form, one step per line"))})
    return {
        "name": problem.spec.name,
        "title": problem.spec.title,
        "variant": problem.variant,
        "statement_html": str(module.statement()).strip(),
        "network_svg": svg,
        "questions": [{"number": n, "text_html": str(module.question(n)).strip(), "keys": keys[n]}
                      for n in range(1, QUESTIONS + 1)],
    }
