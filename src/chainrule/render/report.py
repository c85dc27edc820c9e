"""Plain-text and JSON views of a Solution, for the terminal and for other tools."""

from __future__ import annotations

import sympy as sp

from chainrule.core.algebraic import minimal_polynomial
from chainrule.core.model import NodeKind
from chainrule.core.solution import CheckedChain, Solution
from chainrule.core.spec import Reduction
from chainrule.numbers import decimal, exact, float_figures, less, significant

FORWARD_KINDS = (NodeKind.PREACTIVATION, NodeKind.HIDDEN, NodeKind.PREDICTION, NodeKind.LOSS)  # a forward pass's nodes


def _number(value: sp.Expr) -> str:
    """Exact and decimal, for the terminal; a long exact expression is left to --json."""
    return _shown(value)[1]


def _shown(value: sp.Expr) -> tuple[bool, str]:
    """(whether the exact value is shown, the text): a float or an exact form past 60 characters is
    shown as its decimal only."""
    approx = decimal(value)
    if value.is_Float:
        return False, f"≈ {approx}"
    text = exact(value)
    if len(text) > 60:
        return False, f"≈ {approx} (exact expression in --json)"
    return True, (text if text == approx else f"{text} ≈ {approx}")


def _equals(name: str, value: sp.Expr) -> str:
    """`w0 = 483/500 ≈ 0.966`, or `w0 ≈ 0.872518` when only a decimal is shown (never `= ≈`)."""
    with_exact, shown = _shown(value)
    return f"{name} = {shown}" if with_exact else f"{name} {shown}"


def _vector(values) -> str:
    texts = [exact(v) for v in values]
    if any(len(t) > 30 for t in texts):
        return "≈ (" + ", ".join(decimal(v) for v in values) + ")"
    return "(" + ", ".join(texts) + ")"


def solution_text(solution: Solution) -> str:
    """The answers, one question at a time, as a person reads them in a terminal."""
    spec, training = solution.spec, solution.training
    initial, after = training.initial, training.after_first
    names = spec.parameter_names
    lines = [spec.title, ""]
    shown = lambda s: "(" + ", ".join(map(_number, s.predictions)) + ")" if len(s.predictions) > 1 \
        else _number(s.prediction)  # noqa: E731
    lines.append("Q1 predictions: " + ", ".join((f"y_hat(x{s.number}) = {shown(s)}" if len(s.predictions) > 1
                                                   else _equals(f"y_hat(x{s.number})", s.prediction)) for s in initial.samples))
    lines.append(f"Q2 loss: {_number(initial.loss)}")
    lines.append("Q3 backpropagation identities (direct derivative == chain rule):")
    for checked in (*solution.delta_proofs, *solution.identities):
        lines.append(f"   {checked.chain.subject:>12}: {checked.verdict.value} ({checked.identity.method})"
                     + _problem(checked))
    if solution.relu_derivative_at_zero is not None:
        left = " (the left derivative)" if solution.relu_derivative_at_zero == 0 else ""
        lines.append(f"   g'(0) = {solution.relu_derivative_at_zero}{left}, from differentiating the ReLU Piecewise")
    lines.append("Q4 gradients:")
    for sample in initial.samples:
        lines.append(f"   sample {sample.number}: {_vector(sample.gradient)}")
    lines.append(f"   {spec.reduction_samples:<8}: {_vector(initial.gradient)}")
    lines.append(f"Q5 updated parameters (eta = {exact(training.learning_rate)}):")
    for name, value in zip(names, after.theta):
        lines.append(f"   {_equals(name, value)}" + (" (frozen: never updated)" if name in spec.frozen else ""))
    went = "decreased" if less(after.loss, initial.loss) else "did NOT decrease"
    lines.append(f"Q6 new loss: {_number(after.loss)} ({went} from {_number(initial.loss)})")
    if len(training.evaluations) > 2:
        for k, evaluation in enumerate(training.evaluations[2:], start=2):
            lines.append(f"   after step {k}: {_number(evaluation.loss)}")
    lines.append("Q7 learning rate:")
    lines.extend("   " + line for line in _learning_rate_lines(solution))
    return "\n".join(lines)


def _problem(checked: CheckedChain) -> str:
    identity = checked.identity
    if identity.counterexample:
        return " counterexample: " + ", ".join(f"{v}={x}" for v, x in identity.counterexample)
    return f" reason: {identity.reason}" if identity.reason else ""


def _learning_rate_lines(solution: Solution) -> list[str]:
    analysis = solution.learning_rate
    if not analysis.available:
        return [f"exact analysis unavailable: {analysis.reason}"]
    lines = [f"slope of the loss at eta = 0: {_number(analysis.slope_at_zero)} (= -|grad|^2)"]
    for change in analysis.region_changes:
        lines.append(f"sample {change.sample}'s unit {change.unit} becomes {change.becomes} at eta = {_number(change.eta)}")
    for a, b in analysis.decrease:
        lines.append(f"one step lowers the loss for {decimal(a)} < eta < {'oo' if b is sp.oo else decimal(b)}")
    if analysis.best is not None:
        lines.append(f"best one-step eta ≈ {decimal(analysis.best.eta)}, loss ≈ {decimal(analysis.best.loss)}")
    return lines


def _options_json(spec) -> dict:
    """Issue 13's options, only when a spec uses them (every other spec's JSON stays as it was)."""
    options = {}
    if spec.frozen:
        options["frozen"] = list(spec.frozen)
    if spec.ties:
        options["ties"] = [list(group) for group in spec.ties]
    if spec.bias:
        options["bias"] = list(spec.bias)
    if (spec.reduction_samples, spec.reduction_outputs) != (Reduction.MEAN, Reduction.SUM):
        options["reduction"] = {"samples": str(spec.reduction_samples), "outputs": str(spec.reduction_outputs)}
    return options
class _Omitted:
    """Where an exact value was not built (its text would pass EXACT_TEXT_LIMIT): JSON null."""


_OMITTED = _Omitted()


def _exact_or_omitted(value: sp.Expr, key, omitted: frozenset):
    return _OMITTED if key in omitted else exact(value)


def solution_json(solution: Solution) -> dict:
    """Every number as an exact string; keys are a contract (see README).

    An exact value too long to build is null, its path (a JSON Pointer) listed under
    "omitted_exact", and its decimal is under "decimals" as for every other value.
    """
    spec, training = solution.spec, solution.training
    initial, after = training.initial, training.after_first
    names = list(spec.parameter_names)
    keyed = lambda values, omitted=frozenset(), kind="theta": {  # noqa: E731
        n: _exact_or_omitted(v, (kind, n), omitted) for n, v in zip(names, values)}
    predicted = lambda s: _per_output([_exact_or_omitted(s.values[p.name], p.name, s.omitted)  # noqa: E731
                                       for p in solution.model.predictions], lambda v: v)
    data = {
        "name": spec.name,
        "title": spec.title,
        "parameters": names,
        **_options_json(spec),
        "units": _units_json(solution),
        "initial_parameters": keyed(initial.theta, initial.omitted),
        "predictions": [predicted(s) for s in initial.samples],
        "loss": _exact_or_omitted(initial.loss, "loss", initial.omitted),
        "forward_pass": _forward_pass(solution, initial, exact, hide=True),
        "deltas": [{u.delta.name: _exact_or_omitted(s.values[u.delta.name], u.delta.name, s.omitted)
                    for u in solution.model.units} for s in initial.samples],
        "sample_gradients": [keyed(s.gradient, s.omitted, "gradient") for s in initial.samples],
        "gradient": keyed(initial.gradient, initial.omitted, "gradient"),
        "updated_parameters": keyed(after.theta, after.omitted),
        "new_predictions": [predicted(s) for s in after.samples],
        "new_forward_pass": _forward_pass(solution, after, exact, hide=True),
        "new_loss": _exact_or_omitted(after.loss, "loss", after.omitted),
        "loss_decreased": less(after.loss, initial.loss),
        "training": [
            {"step": k, "parameters": keyed(e.theta, e.omitted), "loss": _exact_or_omitted(e.loss, "loss", e.omitted)}
            for k, e in enumerate(training.evaluations)
        ],
        "relu_derivative_at_zero": None if solution.relu_derivative_at_zero is None
        else exact(solution.relu_derivative_at_zero),
        "identities": [_identity_json(c, "parameter") for c in solution.identities],
        "delta_identities": [_identity_json(c, "delta") for c in solution.delta_proofs],
        "learning_rate": _learning_rate_json(solution),
        "exact_steps": min(training.exact_steps, len(training.evaluations) - 1),
        "decimals": _decimals(solution),
    }
    if not any(e.omitted or any(s.omitted for s in e.samples) for e in training.evaluations):
        return data  # no value was left out, so no placeholder to turn into null
    omitted: list[str] = []
    data = _nulls(data, "", omitted)
    if omitted:
        data["omitted_exact"] = omitted
    return data


def _nulls(tree, path: str, omitted: list[str]):
    """The tree with every omitted exact value as None, its JSON Pointer appended to `omitted`."""
    if tree is _OMITTED:
        omitted.append(path)
        return None
    if isinstance(tree, dict):
        return {k: _nulls(v, f"{path}/{str(k).replace('~', '~0').replace('/', '~1')}", omitted)
                for k, v in tree.items()}
    if isinstance(tree, list):
        return [_nulls(v, f"{path}/{i}", omitted) for i, v in enumerate(tree)]
    return tree


def _units_json(solution: Solution) -> list[dict]:
    """Each unit, layer by layer: where its z, its output a and its δ are in the per-sample values."""
    return [{"layer": u.layer, "unit": u.index + 1, "activation": u.activation,
             "z": u.pre.name, "a": u.out.name, "delta": u.delta.name} for u in solution.model.units]


def _forward_pass(solution: Solution, evaluation, show, hide: bool = False) -> list[dict]:
    """Per sample, every computed node of the forward pass by name, in the order it is computed:
    each unit's z and a (h, ŷ; an identity output's z is ŷ itself), then the sample's loss L.
    `hide`: an omitted exact value is marked as such rather than shown."""
    nodes = [n.name for n in solution.model.nodes if n.kind in FORWARD_KINDS]
    return [{name: _OMITTED if hide and name in s.omitted else show(s.values[name]) for name in nodes}
            for s in evaluation.samples]


def _per_output(predictions, show):
    """One output: the value; several: the list, one per output."""
    return show(predictions[0]) if len(predictions) == 1 else [show(v) for v in predictions]


def _decimals(solution: Solution) -> dict:
    """Every number of the solution mirrored as a 30-significant-digit decimal string."""
    training = solution.training
    initial, after = training.initial, training.after_first
    names = list(solution.spec.parameter_names)
    keyed = lambda values: {n: significant(v) for n, v in zip(names, values)}  # noqa: E731
    return {
        "initial_parameters": keyed(initial.theta),
        "predictions": [_per_output(s.predictions, significant) for s in initial.samples],
        "loss": significant(initial.loss),
        "forward_pass": _forward_pass(solution, initial, significant),
        "deltas": [{u.delta.name: significant(s.values[u.delta.name]) for u in solution.model.units}
                   for s in initial.samples],
        "sample_gradients": [keyed(s.gradient) for s in initial.samples],
        "gradient": keyed(initial.gradient),
        "updated_parameters": keyed(after.theta),
        "new_predictions": [_per_output(s.predictions, significant) for s in after.samples],
        "new_forward_pass": _forward_pass(solution, after, significant),
        "new_loss": significant(after.loss),
        "training": [{"step": k, "parameters": keyed(e.theta), "loss": significant(e.loss)}
                     for k, e in enumerate(training.evaluations)],
        "learning_rate": _learning_rate_decimals(solution),
    }


def _learning_rate_decimals(solution: Solution) -> dict:
    """The learning-rate numbers of the JSON, as decimals (floats past a curve's exact steps keep 15 digits)."""
    analysis, eta = solution.learning_rate, solution.training.learning_rate
    if not analysis.available:
        return {"eta": significant(eta)}
    show = lambda v: "oo" if v is sp.oo else significant(v)  # noqa: E731
    best = analysis.best
    return {
        "eta": show(eta),
        "loss_at_eta": show(analysis.loss_at(eta)),
        "slope_at_zero": show(analysis.slope_at_zero),
        "region_changes": [show(c.eta) for c in analysis.region_changes],
        "decrease_interval": [{"from": show(a), "to": show(b)} for a, b in analysis.decrease],
        "best": None if best is None else {"eta": show(best.eta), "loss": show(best.loss)},
        "curves": [{"eta": show(c.eta), "losses": [float_figures(v, 15) if v.is_Float else show(v)
                                                  for v in c.losses]} for c in solution.curves],
    }


def _identity_json(checked: CheckedChain, key: str) -> dict:
    identity = checked.identity
    return {
        key: checked.chain.subject,
        "verdict": checked.verdict.value,
        "method": identity.method,
        "steps": [p.verdict.value for p in checked.steps],
        "counterexample": None if identity.counterexample is None
        else {str(v): exact(x) for v, x in identity.counterexample},
        "reason": identity.reason,
    }


def _algebraic(value: sp.Expr) -> dict:
    entry = {"exact": exact(value), "decimal": decimal(value, 12) if value is not sp.oo else "oo"}
    if not value.is_Rational and value is not sp.oo:
        entry["polynomial"] = str(minimal_polynomial(value).clear_denoms()[1].as_expr())
    return entry


def _learning_rate_json(solution: Solution) -> dict:
    analysis, eta = solution.learning_rate, solution.training.learning_rate
    if not analysis.available:
        return {"eta": exact(eta), "available": False, "reason": analysis.reason}
    best = analysis.best
    return {
        "eta": exact(eta),
        "available": True,
        "loss_at_eta": exact(analysis.loss_at(eta)),
        "slope_at_zero": exact(analysis.slope_at_zero),
        "loss_after_one_step": [
            {"from": exact(p.start), "to": exact(p.end), "polynomial": str(p.loss.as_expr())}
            for p in analysis.pieces
        ],
        "region_changes": [
            {"sample": c.sample, "unit": c.unit, "eta": exact(c.eta), "becomes": c.becomes}
            for c in analysis.region_changes
        ],
        "decrease_interval": [{"from": _algebraic(a), "to": _algebraic(b)} for a, b in analysis.decrease],
        "best": None if best is None else {"eta": _algebraic(best.eta), "loss": {
            "exact": exact(best.loss), "decimal": decimal(best.loss, 12)}},
        "spec_eta_inside_decrease": any(a < eta and (b is sp.oo or eta < b) for a, b in analysis.decrease),
        "curves": [curve_json(c) for c in solution.curves],
    }


def curve_json(curve) -> dict:
    """A training curve: exact strings for the exact steps, then decimals marked as such."""
    return {
        "label": curve.label,
        "eta": exact(curve.eta),
        "outcome": curve.outcome,
        "exact_steps": curve.exact_steps,
        "losses": [
            {"step": k, "loss": exact(v) if k <= curve.exact_steps else decimal(v, 12), "exact": k <= curve.exact_steps}
            for k, v in enumerate(curve.losses)
        ],
    }


def learning_rate_text(solution: Solution) -> str:
    """`chainrule lr`: the analysis in words, then both pictures as text."""
    from chainrule.render.plots import one_step_plot, text_pictures

    lines = [f"{solution.spec.title}: the learning rate (question 7)", ""]
    lines += _learning_rate_lines(solution)
    analysis = solution.learning_rate
    if not analysis.available:
        return "\n".join(lines)
    eta = solution.training.learning_rate
    lines.append(f"the spec's eta = {exact(eta)} brings the loss to {_number(analysis.loss_at(eta))}")
    for curve in solution.curves:
        lines.append(f"eta = {exact(curve.eta)} ({curve.label}): after {len(curve.losses) - 1} steps "
                     f"loss ≈ {decimal(curve.losses[-1])}, {curve.outcome}")
    lines += ["", text_pictures(one_step_plot(analysis, eta), solution.curves)]
    return "\n".join(lines)
