"""The pieces of a variant's Moodle questions: its problem statement, Cloze text and proofs essay.

Everything here is HTML for Moodle's editor. Mathematics is MathJax `\\( … \\)` printed by the
LaTeX printer the handout uses (render/sheet.py), so the definitions say which weight
multiplies what; the network is `network.svg` (render/network_svg.py). Untrusted text (titles)
is HTML-escaped here; the XML layer is ElementTree's.

A Cloze sub-question's feedback is decoded once more by Moodle (`html_entity_decode` in
qtype_multianswer_extract_question), and ends at a bare `~` or `}`: `cloze_feedback` escapes for that.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import sympy as sp

from chainrule.check.answers import answer_keys
from chainrule.core.derivation import Chain, Derivation
from chainrule.core.spec import Tolerance, question_of
from chainrule.numbers import plain_decimal
from chainrule.render.network_svg import label_text
from chainrule.render.network_svg import svg as network_svg
from chainrule.render.printer import Printer
from chainrule.render.sheet import problem_context
from chainrule.render.sheet_figures import network_picture

QUESTION_TITLES = {1: "Forward pass", 2: "Loss", 4: "Gradient", 5: "Gradient-descent step", 6: "Loss after the step"}
ETA = r"\eta = "
_MARKER_START = re.compile(r"\{(?=[0-9]*:)")
_ASKS_SUFFIX = re.compile(r" \(question \d+\)$")


@dataclass(frozen=True)
class SubQuestion:
    """One NUMERICAL sub-question: the answers-file key, what it asks, and its Cloze marker."""

    key: str
    asks: str
    marker: str  # {1:NUMERICAL:=…}


def escape(text: str) -> str:
    """Text as HTML element content, where no `{` may start a Cloze marker (`{1:NUMERICAL:…`).

    Such a brace becomes `&#123;`, which shows (and reaches MathJax) as `{`.
    """
    return _MARKER_START.sub("&#123;", html.escape(text, quote=False))


def math(latex: str) -> str:
    """Inline MathJax, escaped for HTML (`&` of an aligned row becomes `&amp;`)."""
    return escape(rf"\({latex}\)")


def prose(text: str) -> str:
    """A sentence with inline `$…$` LaTeX (the derivation's reasons) as HTML with `\\( … \\)`."""
    pieces = text.split("$")
    return "".join(math(piece) if k % 2 else escape(piece) for k, piece in enumerate(pieces))


def cloze_feedback(html_text: str) -> str:
    """HTML feedback as it must stand inside a Cloze marker: escaped once more, no bare `}` `~` `\\`."""
    once_more = escape(html_text)
    return once_more.replace("\\", "&#92;").replace("}", "&#125;").replace("~", "&#126;")


def precision(rule: Tolerance) -> str:
    """What the rule accepts, in words."""
    if rule.absolute is not None:
        return f"within ±{plain_decimal(rule.absolute)} of the exact value"
    if rule.relative is not None:
        return f"within a relative error of {plain_decimal(rule.relative)} of the exact value"
    return (f"to {rule.sigfigs} significant figures (within half a unit in the {_ordinal(rule.sigfigs)} "
            "significant figure of the exact value)")


def statement(derivation: Derivation, number: int | None, image: tuple[int, int] | None = None) -> str:
    """The variant's problem: network picture, equations, data, initial parameters and learning rate.

    With `image` (its width and height) the picture is Moodle's embedded `network.svg`; without it,
    the SVG is inline (PrairieLearn). Without `number` the title is the spec's own.
    """
    model = derivation.model
    spec = model.spec
    p = Printer(model)
    context = problem_context(model, p)
    if image is None:
        picture = network_svg(model)
    else:
        width, height = image
        picture = (f'<img src="@@PLUGINFILE@@/network.svg" alt="{html.escape(_picture_alt(model))}" '
                   f'width="{width}" height="{height}">')
    title = spec.title if number is None else _titled(spec.title, number)
    rows = "".join(f"<tr><td>{s['number']}</td><td>{math(_tuple(s['x']))}</td><td>{math(_tuple(s['y']))}</td></tr>"
                   for s in context["samples"])
    theta = ", ".join(f"{q.latex} = {p.plain(_rational(v))}" for q, v in zip(model.parameters, spec.init))
    return "".join([
        f"<p><strong>{escape(title)}</strong></p>",
        f"<p>{picture}</p>",
        "<p>The network computes, for one sample:</p>",
        f"<p>{aligned(context['definitions'])}</p>",
        *(f"<p>{prose(sentence)}</p>" for sentence in context["activation"]["definitions"]),
        f"<p>The loss of one sample is {math(context['loss_definition'])}; the loss on the dataset is its "
        f"{spec.reduction_samples} over the {len(spec.x)} samples.</p>",
        *(f"<p>{prose(sentence)}</p>" for sentence in context["options"]),
        "<table><thead><tr><th>sample</th><th>input</th><th>target</th></tr></thead>",
        f"<tbody>{rows}</tbody></table>",
        f"<p>Initial parameters: {math(theta)}. Learning rate {math(ETA + context['learning_rate'])}; "
        f"one step of gradient descent on the {spec.reduction_samples.adjective} loss.</p>",
    ])


def aligned(rows: list[str]) -> str:
    """Rows `lhs &= rhs` as one MathJax aligned block."""
    return math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def cloze_body(spec, markers: dict[str, str], rule: Tolerance) -> tuple[str, tuple[SubQuestion, ...]]:
    """The questions, grouped as the homework numbers them, each answer a Cloze marker."""
    default = rule.for_key("")
    parts = [f"<p>Give every answer as a decimal, {escape(precision(default))}.</p>"]
    subs = []
    current = None
    for key, asks in answer_keys(spec):
        question = question_of(key)
        if question != current:
            if current is not None:
                parts.append("</ul>")
            current = question
            parts.append(f"<p><strong>Question {question}: {escape(QUESTION_TITLES.get(question, ''))}</strong></p><ul>")
        own = rule.for_key(key)
        note = "" if own == default else f" ({escape(precision(own))})"
        text = _ASKS_SUFFIX.sub("", asks)
        shown = "The" + text[3:] if text.startswith("the ") else text  # "dL/dw0 …" and "w0 after …" stay as named
        parts.append(f"<li>{escape(shown)}{note}: {markers[key]}</li>")
        subs.append(SubQuestion(key, text, markers[key]))
    parts.append("</ul>")
    return "".join(parts), tuple(subs)


def marker(position: int, choices) -> str:
    """`{1:NUMERICAL:=3.616002:0.00499999999992#Correct.~3.7:0.005#…}`: the first choice is right."""
    alternatives = []
    for choice in choices:
        prefix = "=" if choice.fraction == 100 else ""
        alternatives.append(f"{prefix}{choice.answer}:{choice.tolerance}#{cloze_feedback(choice.feedback)}")
    return "{" + f"1:NUMERICAL:{'~'.join(alternatives)}" + "}"


def proofs_text(derivation: Derivation, number: int) -> str:
    """The essay's question: the definitions, then every backpropagation equality to prove."""
    model = derivation.model
    context = problem_context(model, Printer(model))
    items = "".join(f"<li>{math(chain.steps[0].latex + ' = ' + chain.steps[-1].latex)}</li>"
                    for chain in derivation.chains if chain.subject not in model.spec.frozen)
    deltas = ", ".join(f"{u.delta.latex} = \\frac{{\\partial {model.loss.latex}}}{{\\partial {u.pre.latex}}}"
                       for u in reversed(model.units))
    return "".join([
        f"<p><strong>{escape(_titled(model.spec.title, number))}</strong>: question 3</p>",
        "<p>The network computes, for one sample:</p>",
        f"<p>{aligned(context['definitions'])}</p>",
        f"<p>with the loss {math(context['loss_definition'])} and the deltas {math(deltas)}.</p>",
        "<p>Prove each backpropagation equality with the chain rule: one step per line, each with its reason.</p>",
        f"<ol>{items}</ol>",
    ])


def grader_info(derivation: Derivation) -> str:
    """The worked chains, step by step with reasons: what the grader compares the essay with."""
    parts = ["<p>The deltas:</p>", *map(_chain_html, derivation.delta_chains),
             "<p>The equalities, in the order asked:</p>", *(_chain_html(c) for c in derivation.chains if c.subject not in derivation.model.spec.frozen)]
    return "".join(parts)


def _chain_html(chain: Chain) -> str:
    first, *rest = chain.steps
    steps = "".join(f"<li>{math('= ' + step.latex)} ({prose(step.reason)})</li>" for step in rest)
    return f"<p>{math(first.latex)}</p><ul>{steps}</ul><p><em>{prose(chain.justification)}</em></p>"


def _titled(title: str, number: int) -> str:
    """The title with its variant number (`chainrule variants` already adds it to the spec's title)."""
    return title if f"variant {number}" in title else f"{title} (variant {number})"


def _tuple(latex: str) -> str:
    return rf"\left({latex}\right)" if "," in latex and not latex.startswith("(") else latex


def _picture_alt(model) -> str:
    picture = network_picture(model)
    labels = {n["id"]: label_text(n["label"]) for n in picture["nodes"]}
    edges = "; ".join(f"{labels[e['src']]} to {labels[e['dst']]}" + (f" with weight {label_text(e['label'])}"
                                                                       if e["label"] else "")
                      for e in picture["edges"])
    return f"The network: {edges}."


def _rational(value) -> sp.Rational:
    return sp.Rational(value.numerator, value.denominator)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
