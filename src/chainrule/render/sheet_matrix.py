"""The answer sheet of a bigger network in vector and matrix form.

The forward pass, the δ recursion and the update are written layer by layer with W^{(l)}, b^{(l)},
z^{(l)}, a^{(l)} and δ^{(l)}, and the numbers go into matrices and tables. The per-parameter
proofs are the same as in the written-out sheet; the template puts them in an appendix.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.losses import LOSSES
from chainrule.core.model import Model, Unit
from chainrule.core.solution import Solution
from chainrule.numbers import decimal_text, truncated
from chainrule.render.sheet import sheet_context

LONG = 24  # characters of LaTeX beyond which an entry is shown as its truncated decimal (exact in --json)


def matrix_problem_context(model: Model, p) -> dict:
    """The problem in matrix form (templates/problem_matrix.tex.j2): layers, shapes and initial W, b."""
    layers = _layers(model)
    last = len(layers)
    theta = [sp.Rational(v.numerator, v.denominator) for v in model.spec.init]
    g = model.spec.notation_for("activation", "g")
    return {
        "shapes": [{"l": l, "rows": len(units), "cols": len(units[0].weights)} for l, units in layers],
        "layers_count": last,
        "activations": [{"l": l, "name": units[0].activation, "g": _g(g, l, last, units[0]),
                         "words": "linear" if ACTIVATIONS[units[0].activation].linear else
                         ("the output layer applies the " if l == last else "") + ACTIVATIONS[units[0].activation].plain_name,
                         "definition": ACTIVATIONS[units[0].activation].definition_latex(dict(units[0].options))}
                        for l, units in layers],
        "initial": _matrices(model, p, theta),
        "output_delta": _output_delta(model),
        "parameter_count": model.spec.parameter_count,
    }


def matrix_context(solution: Solution, p) -> dict:
    """Everything templates/solution_matrix.tex.j2 inserts, on top of the written-out sheet's context."""
    model, training = solution.model, solution.training
    initial, after = training.initial, training.after_first
    layers = _layers(model)
    samples = []
    for sample in initial.samples:
        rows = []
        for l, units in layers:
            rows.append({"l": l,
                         "z": _column(p, [sample.values[u.pre.name] for u in units]),
                         "a": _column(p, [sample.values[u.out.name] for u in units]),
                         "delta": _column(p, [sample.values[u.delta.name] for u in units])})
        samples.append({"number": sample.number, "layers": rows})
    return {
        **sheet_context(solution, p, written=False),
        **matrix_problem_context(model, p),
        "updated": _matrices(model, p, after.theta),
        "matrix_samples": samples,
        "mean_gradient": _matrices(model, p, initial.gradient),  # the gradient is in θ's flat order too
        "new_forward": [", ".join(compact(p, v) for v in s.predictions) for s in after.samples],
        "new_loss": compact(p, after.loss),
    }


def _matrices(model: Model, p, theta) -> list[dict]:
    """W^{(l)} and b^{(l)} of every layer, filled with the values of θ (flat order)."""
    index = {q.name: i for i, q in enumerate(model.parameters)}
    return [{"l": l, "W": _matrix(p, [[theta[index[w.name]] for w in u.weights] for u in units]),
             "b": _column(p, [theta[index[u.bias.name]] for u in units])} for l, units in _layers(model)]


def _layers(model: Model) -> list[tuple[int, list[Unit]]]:
    layers: dict[int, list[Unit]] = {}
    for unit in model.units:
        layers.setdefault(unit.layer, []).append(unit)
    return sorted(layers.items())


def _g(g: str, layer: int, last: int, unit: Unit) -> str:
    fixed = ACTIVATIONS[unit.activation].layer_name
    if fixed is not None:
        return fixed
    return g if layer < last else rf"{g}_{{\mathrm{{out}}}}"


def _output_delta(model: Model) -> str:
    """δ^{(L)} in words of the loss: what the output layer's error is for this loss."""
    loss = LOSSES[model.spec.loss]
    output = ACTIVATIONS[model.output_units[0].activation]
    if loss.cancels_output:  # with the output activation the spec reader pairs it with
        return r"\widehat{\mathbf{y}} - \mathbf{y}"
    if loss.residual_factor is not None and output.linear:
        return (r"\widehat{\mathbf{y}} - \mathbf{y}" if loss.residual_factor == 1
                else rf"{loss.residual_factor}(\widehat{{\mathbf{{y}}}} - \mathbf{{y}})")
    return r"\nabla_{\widehat{\mathbf{y}}} L \odot g_{\mathrm{out}}'(\mathbf{z}^{(L)})"


def compact(p, value: sp.Expr) -> str:
    """An entry of a matrix: a terminating decimal in full, a short fraction, or its truncated expansion."""
    text = decimal_text(Fraction(int(value.p), int(value.q))) if value.is_Rational else None
    text = p.plain(value) if text is None else text
    return text if len(text) <= LONG else truncated(value)


WIDE = 10  # entries in a row beyond which a matrix is shown transposed (and a vector as a column)


def _matrix(p, rows) -> dict:
    """A matrix; one wider than WIDE columns and taller than wide is fine, a wider one is shown transposed."""
    transpose = len(rows[0]) > WIDE and len(rows) < len(rows[0])
    shown = [list(column) for column in zip(*rows)] if transpose else rows
    body = r" \\ ".join(" & ".join(compact(p, v) for v in row) for row in shown)
    return {"latex": rf"\begin{{pmatrix}} {body} \end{{pmatrix}}" + (r"^{\!\top}" if transpose else "")}


def _column(p, values) -> dict:
    """A column vector, written as a transposed row to save height; a long one as a real column."""
    if len(values) > WIDE:
        return {"latex": r"\begin{pmatrix} " + r" \\ ".join(compact(p, v) for v in values) + r" \end{pmatrix}"}
    return {"latex": r"\begin{pmatrix} " + " & ".join(compact(p, v) for v in values) + r" \end{pmatrix}^{\!\top}"}
