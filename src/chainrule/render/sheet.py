"""The answer sheet's content: every formula and number, printed to LaTeX, for the templates to place."""

from __future__ import annotations

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.algebraic import exactly_less, minimal_polynomial
from chainrule.core.derivation import loss_latex, weighted_sum_latex
from chainrule.core.learning_rate import LearningRateAnalysis
from chainrule.core.model import Model, Unit
from chainrule.core.numerics import SampleValues
from chainrule.core.proof import Proof, Verdict
from chainrule.core.solution import CheckedChain, Solution
from chainrule.core.spec import Reduction
from chainrule.numbers import decimal, less
from chainrule.render.printer import escape_tex, polynomial_latex
from chainrule.render.sheet_figures import figures_context, network_picture
from chainrule.render.sheet_working import (
    STATE,
    activation_sentences,
    delta_working,
    established,
    function_name,
    gradient_working,
    loss_rows,
    named_regions,
    stepped_name,
    stepped_unit,
    split_sum,
    wrap_row,
)
from chainrule.render.sheet_working import number as working_number

CHAIN_BUDGET = 34  # characters of a chain step beside its reason column before it is broken into lines
VERDICT_MARK = {Verdict.PROVED: r"\checkmark", Verdict.REFUTED: r"\times", Verdict.UNKNOWN: "?"}


def problem_context(model: Model, p) -> dict:
    """The problem statement both the handout and the answer sheet print: network, data, θ and η."""
    spec = model.spec
    return {
        "title": spec.title,
        "name": spec.name,
        "n_samples": len(spec.x),
        "network": network_picture(model),
        "definitions": definitions(model),
        "activation": activation_text(model),
        "loss_definition": _loss_definition(model),
        "dataset_loss": dataset_loss_latex(spec),
        "reduction": str(spec.reduction_samples),  # the word the gradient table prints: "mean" or "sum"
        "options": option_sentences(model),
        "samples": [
            {"number": n, "x": _tuple_lines(p, x),
             "y": "(" + ", ".join(p.plain(sp.Rational(v)) for v in t) + ")" if len(t) > 1 else p.plain(sp.Rational(t[0]))}
            for n, (x, t) in enumerate(zip(spec.x, spec.targets), start=1)
        ],
        "theta": _vector(p, [sp.Rational(v) for v in spec.init]),
        "theta_rows": [] if len(model.parameters) <= 6 else [
            " & ".join(rf"{q.latex} &= {p.plain(sp.Rational(v))}" for q, v in zip(model.parameters[i:i + 4], spec.init[i:i + 4]))
            for i in range(0, len(model.parameters), 4)],
        "theta_names": ", ".join(q.latex for q in model.parameters),
        "learning_rate": p.plain(sp.Rational(spec.learning_rate)),
    }


def sheet_context(solution: Solution, p, written: bool = True) -> dict:
    """Everything the solution template inserts, already printed.

    `written=False` (the matrix-form sheet) leaves out the unit-by-unit working it does not print.
    """
    model = solution.model
    training = solution.training
    initial = training.initial.samples if written else ()
    after = training.after_first.samples if written else ()
    return {
        **problem_context(model, p),
        "handout": False,
        "forward": [forward_lines(model, s, p) for s in initial],
        "predictions": _predictions_sentence(model, training.initial.samples, p),
        "loss_rows": loss_rows(model, training.initial.samples, training.initial.loss, p),
        "loss": p.number(training.initial.loss),
        "delta_chains": [
            chain_context(c, p, rf"${u.delta.latex} = {c.chain.steps[0].latex}$", solution)
            for c, u in zip(solution.delta_proofs, reversed(model.units))
        ],
        "chains": [
            chain_context(c, p, rf"Equality ({i}): ${c.chain.steps[0].latex} = {c.chain.steps[-1].latex}$", solution)
            for i, c in enumerate(solution.identities, start=1)
        ],
        "all_proved": solution.all_proved,
        "appendix": appendix_context(solution, p),
        "backprop": [backward_lines(solution, s, p) for s in initial],
        "gradient": [
            {"name": q.latex, "samples": [p.plain(s.gradient[i]) for s in training.initial.samples],
             "mean": p.number(training.initial.gradient[i])}
            for i, q in enumerate(model.parameters)
        ],
        "updates": [
            wrap_row(rf"{q.latex} &\leftarrow {p.plain(old)} - {p.plain(training.learning_rate)} \cdot "
                     rf"{_paren(p.plain(g))} = {p.short(new)}") if q.name not in model.spec.frozen else
            rf"{q.latex} &= {p.plain(old)} \quad \text{{(frozen: not updated)}}"
            for q, old, g, new in zip(model.parameters, training.initial.theta, training.initial.gradient,
                                      training.after_first.theta)
        ],
        "new_forward": [forward_lines(model, s, p) for s in after],
        "new_predictions": _predictions_sentence(model, training.after_first.samples, p),
        "new_loss_rows": loss_rows(model, training.after_first.samples, training.after_first.loss, p),
        "new_loss": p.number(training.after_first.loss),
        "loss_decreased": less(training.after_first.loss, training.initial.loss),
        "steps": [
            {"step": k, "loss": p.number(e.loss)} for k, e in enumerate(training.evaluations)
        ] if len(training.evaluations) > 2 else [],
        "lr": learning_rate_context(solution.learning_rate, training, p),
        "figures": figures_context(solution, p),
    }


def _predictions_sentence(model: Model, samples, p) -> dict:
    """`$\\widehat{y}(\\mathbf{x}_1) = 3$ and $\\widehat{y}(\\mathbf{x}_2) = 0$`: each sample's prediction named."""
    y_hat = model.spec.notation_for("prediction", r"\widehat{y}")
    parts = [rf"${y_hat}(\mathbf{{x}}_{{{s.number}}}) = {_outputs(p, s.predictions)}$" for s in samples]
    if model.spec.outputs > 1 or len(parts) > 3:
        return {"inline": None,
                "rows": [rf"{y_hat}(\mathbf{{x}}_{{{s.number}}}) &= {_outputs(p, s.predictions)}" for s in samples]}
    return {"inline": parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1], "rows": []}


def _outputs(p, predictions) -> str:
    """A prediction, or the vector of a sample's predictions when there are several outputs."""
    if len(predictions) == 1:
        return p.number(predictions[0])
    return r"\left(" + ", ".join(p.short(v) for v in predictions) + r"\right)"


def _tuple_lines(p, values, per_line: int = 8) -> str:
    """An input vector's entries, `per_line` to a line in an align (a wide input layer still fits)."""
    texts = [p.plain(sp.Rational(v)) for v in values]
    lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
    return ", \\\\ &\\qquad ".join(lines)


def _vector(p, values) -> str:
    return r"\left(" + ", ".join(p.plain(v) for v in values) + r"\right)"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _loss_definition(model: Model) -> str:
    return loss_latex(model)


def dataset_loss_latex(spec) -> str:
    """`𝓛(D) = 1/N Σ L(x_n, y_n)`, or the plain sum when the spec sums over the samples."""
    mean = r"\frac{1}{N}" if spec.reduction_samples is Reduction.MEAN else ""
    return rf"\mathcal{{L}}(\mathcal{{D}}) = {mean}\sum_{{n=1}}^{{N}} L(\mathbf{{x}}_n, y_n)"


def option_sentences(model: Model) -> list[str]:
    """Issue 13's options in words, for the problem statement: biases, the outputs' mean, ties, frozen."""
    spec, sentences = model.spec, []
    if spec.bias:
        without = [str(layer) for layer, has in enumerate(spec.bias, start=1) if not has]
        sentences.append("No unit has a bias." if len(without) == len(spec.bias) else
                         f"The units of layer{'s' if len(without) > 1 else ''} {', '.join(without)} have no bias.")
    if spec.reduction_outputs is Reduction.MEAN and spec.outputs > 1:
        sentences.append(f"A sample's loss is the mean of its {spec.outputs} outputs' terms.")
    latex = {q.name: q.latex for q in model.parameters}
    for q in model.parameters:
        uses = model.uses(q)
        if len(uses) > 1:
            units = ", ".join(f"${u.pre.latex}$" for u, _ in uses)
            sentences.append(rf"One parameter ${q.latex}$ is shared by {units}; its gradient is the sum over "
                             "the places it is used.")
    if spec.frozen:
        names = ", ".join(f"${latex[n]}$" for n in spec.frozen)
        sentences.append(f"{names} {'is' if len(spec.frozen) == 1 else 'are'} frozen: held at the initial "
                         "value and never updated; no gradient is asked for "
                         f"{'it' if len(spec.frozen) == 1 else 'them'}.")
    return sentences


def activation_text(model: Model) -> dict:
    """Each layer's activation in a sentence; `g` names the ReLU when there is one, and its derivative
    is stated side by side with the convention at the kink (`relu_at_zero`: g'(0), or None)."""
    unit = stepped_unit(model)
    g = stepped_name(model) or model.spec.notation_for("activation", "g")
    text = {"g": g, "definitions": activation_sentences(model), "relu_at_zero": None, "left_derivative": False}
    if unit is None:
        return text
    record, options = ACTIVATIONS[unit.activation], dict(unit.options)
    derivative = record.derivative(options)
    at_zero = derivative(sp.Integer(0))
    sides = [rf"${value}$ for ${where}$" for value, where in record.step_derivative]
    return {**text, "relu_at_zero": sp.latex(at_zero),
            "left_derivative": at_zero == derivative(sp.Integer(-1)),  # the homework's convention
            "kinked_name": record.plain_name, "kinked_definition": record.definition_latex(options),
            "derivative_sides": [f"${g}'(t) = {sides[0][1:]}", *sides[1:]]}


def definitions(model: Model) -> list[str]:
    lines = []
    outputs = [u for u in model.units if u.is_output]
    for unit in model.units:
        lines.append(wrap_row(rf"{unit.pre.latex} &= {weighted_sum_latex(unit)}"))
        if unit.out == unit.pre:
            continue
        layer_formula = ACTIVATIONS[unit.activation].layer_formula
        if layer_formula is not None:
            lines.append(rf"{unit.out.latex} &= {layer_formula(unit.pre.latex, [u.pre.latex for u in outputs])}")
        else:
            lines.append(rf"{unit.out.latex} &= {function_name(model, unit)}({unit.pre.latex})")
    return lines


def _fill(unit: Unit, sample: SampleValues, p) -> str:
    """The weighted sum with this sample's numbers in place."""
    value = lambda node: working_number(p, sample.values[node.name])  # noqa: E731
    terms = [rf"{value(w)} \cdot {value(s)}" for w, s in zip(unit.weights, unit.sources)]
    return " + ".join([*terms, *([value(unit.bias)] if unit.bias is not None else [])])


def forward_lines(model: Model, sample: SampleValues, p) -> dict:
    lines = []
    outputs = [u for u in model.units if u.is_output]
    for unit in model.units:
        lines.append(wrap_row(rf"{unit.pre.latex} &= {_fill(unit, sample, p)} = {p.plain(sample.values[unit.pre.name])}"))
        if unit.out != unit.pre:
            inner = p.plain(sample.values[unit.pre.name])
            layer_formula = ACTIVATIONS[unit.activation].layer_formula
            if layer_formula is not None:
                applied = layer_formula(inner, [p.plain(sample.values[u.pre.name]) for u in outputs])
            else:
                applied = f"{function_name(model, unit)}({inner})"
            out = sample.values[unit.out.name]
            lines.append(wrap_row(rf"{unit.out.latex} &= {applied} = {p.plain(out) if out.is_Rational else p.number(out)}"))
    return {"number": sample.number, "lines": lines, "prediction": p.number(sample.prediction)}


def backward_lines(solution: Solution, sample: SampleValues, p) -> dict:
    """The backward pass of one sample, each δ and each gradient entry with its numbers substituted."""
    model = solution.model
    g = stepped_name(model)
    lines = []
    for unit in model.units:
        if ACTIVATIONS[unit.activation].step_derivative:  # the record's own derivative: the kink follows the convention
            z = sample.values[unit.pre.name]
            slope = ACTIVATIONS[unit.activation].derivative(dict(unit.options))(z)
            lines.append(rf"{g}'({unit.pre.latex}) &= {g}'({p.plain(z)}) = {p.plain(slope)}")
    lines.extend(map(wrap_row, delta_working(solution, sample, p)))
    return {"number": sample.number, "lines": lines,
            "gradient_lines": list(map(wrap_row, gradient_working(solution, sample, p))),
            "show_vector": len(sample.gradient) <= 6,
            "gradient": r"\left(" + ", ".join(p.plain(v) for v in sample.gradient) + r"\right)"}


def chain_context(checked: CheckedChain, p, heading: str, solution: Solution) -> dict:
    steps = checked.chain.steps
    return {
        "subject": checked.chain.subject,
        "heading": heading,
        "lhs": steps[0].latex,
        "steps": [
            {"latex": step.latex, "pieces": split_sum(step.latex, CHAIN_BUDGET), "reason": step.reason,
             "mark": VERDICT_MARK[proof.verdict],
             "verdict": proof.verdict.value}
            for step, proof in zip(steps[1:], checked.steps)
        ],
        "justification": checked.chain.justification,
        "verdict": checked.verdict.value,
        "identity": proof_context(checked.identity, p),
        "established": established(checked, solution),
    }


def appendix_context(solution: Solution, p) -> list[dict]:
    """The region-by-region detail of every identity proved on more than one region (Appendix A)."""
    entries = []
    headings = [rf"The regions of ${u.delta.latex}$" for u in reversed(solution.model.units)] + \
        [f"The regions of equality ({i})" for i in range(1, len(solution.identities) + 1)]
    for heading, checked in zip(headings, (*solution.delta_proofs, *solution.identities)):
        proof = checked.identity
        if proof.verdict is Verdict.PROVED and len(proof.regions) > 1:
            entries.append({"heading": heading, "regions": named_regions(proof, solution, p)})
    return entries


def proof_context(proof: Proof, p) -> dict:
    regions = [
        {"condition": r",\ ".join(f"{p.expr(poly)} {STATE[s]}" for poly, s in region.signs),
         "value": None if region.value is None else p.expr(region.value)}
        for region in proof.regions
    ]
    counterexample = None
    if proof.counterexample:
        counterexample = ", ".join(f"{p.expr(v)} = {p.expr(x)}" for v, x in proof.counterexample)
    return {"verdict": proof.verdict.value, "proved": proof.verdict is Verdict.PROVED,
            "refuted": proof.verdict is Verdict.REFUTED, "method": proof.method, "regions": regions,
            "counterexample": counterexample, "reason": proof.reason}


def _root_polynomial(value) -> str:
    """`p(η) = 0` for the minimal polynomial of an algebraic η, with integer coefficients."""
    return polynomial_latex(minimal_polynomial(value).clear_denoms()[1]) + " = 0"


def learning_rate_context(analysis: LearningRateAnalysis, training, p) -> dict:
    eta_spec = training.learning_rate
    if not analysis.available:
        return {"available": False, "reason": escape_tex(analysis.reason).replace("η", r"$\eta$")}
    pieces = []
    for piece in analysis.pieces:
        end = r"\infty" if piece.end is sp.oo else _short(piece.end, p)
        pieces.append({"interval": rf"{_short(piece.start, p)} < \eta < {end}",
                       "loss": split_sum(polynomial_latex(piece.loss), 34)})
    unit_latex = {symbol.name: text for symbol, text in p.names.items()}
    changes = [
        {"sample": c.sample, "unit": unit_latex.get(c.unit, c.unit), "eta": p.number(c.eta), "becomes": c.becomes}
        for c in analysis.region_changes
    ]
    decrease = [
        {"start": _short(a, p), "end": r"\infty" if b is sp.oo else _short(b, p), "bounded": b is not sp.oo,
         "end_polynomial": None if b is sp.oo or b.is_Rational else _root_polynomial(b)}
        for a, b in analysis.decrease
    ]
    best = analysis.best
    spec_loss = analysis.loss_at(eta_spec)
    inside = any(exactly_less(a, eta_spec) and exactly_less(eta_spec, b) for a, b in analysis.decrease)
    last = analysis.pieces[-1].loss
    return {
        "available": True,
        "grows": last.degree() > 0 and last.LC() > 0,
        "pieces": pieces,
        "changes": changes,
        "decrease": decrease,
        "slope": p.number(analysis.slope_at_zero),
        "initial_loss": p.number(analysis.initial_loss),
        "spec_eta": p.plain(eta_spec),
        "spec_loss": p.number(spec_loss),
        "spec_inside": inside,
        "best": None if best is None else {
            "eta": _short(best.eta, p),
            "polynomial": None if best.eta.is_Rational else _root_polynomial(best.eta),
            "loss": decimal(best.loss),
            "ratio": decimal(best.eta / eta_spec, 3),
        },
    }


def _short(value, p) -> str:
    if value.is_Rational:
        return p.number(value) if not _is_simple(value) else p.plain(value)
    return rf"{decimal(value)}\ldots"


def _is_simple(value) -> bool:
    return value.is_Integer or len(str(value)) <= 4
