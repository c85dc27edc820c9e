"""The handout: the problem and its questions, without a single answer, for any spec.

The questions are built from the model (its predictions, parameters, δ's and chain-rule steps),
so they fit any network the spec describes; the template only words and places them.
"""

from __future__ import annotations

from chainrule.core.derivation import Derivation
from chainrule.render.sheet import problem_context
from chainrule.render.sheet_matrix import matrix_problem_context

SHORT_THETA = 8  # up to this many parameters, question 5 lists them by name


def handout_context(derivation: Derivation, p, variant: int | None = None) -> dict:
    """What templates/handout.tex.j2 inserts: the problem statement and the questions' pieces."""
    model = derivation.model
    spec = model.spec
    samples = range(1, len(spec.x) + 1)
    predictions = [node.latex for node in model.predictions]
    equalities = [
        {"number": i, "lhs": chain.steps[0].latex, "rhs": chain.steps[-1].latex}
        for i, chain in enumerate(derivation.chains, start=1)
    ]
    hints = []
    tied = [q for q in model.parameters if len(model.uses(q)) > 1]
    for unit in model.units:
        names = [q for q in model.parameters if model.unit_of(q)[0] == unit and q not in tied]
        if not names:
            continue
        numbers = [i for i, q in enumerate(model.parameters, start=1) if q in names]
        hints.append({
            "parameters": ", ".join(q.latex for q in names),
            "equalities": ", ".join(f"({n})" for n in numbers),
            "rule": rf"\frac{{\partial {model.loss.latex}}}{{\partial \theta_i}} = \frac{{\partial {model.loss.latex}}}"
                    rf"{{\partial {unit.pre.latex}}} \cdot \frac{{\partial {unit.pre.latex}}}{{\partial \theta_i}}",
        })
    for q in tied:  # a shared parameter: one term per unit that uses it
        number = model.parameters.index(q) + 1
        terms = " + ".join(rf"\frac{{\partial {model.loss.latex}}}{{\partial {u.pre.latex}}} \cdot "
                           rf"\frac{{\partial {u.pre.latex}}}{{\partial \theta_i}}" for u, _ in model.uses(q))
        hints.append({"parameters": q.latex, "equalities": f"({number})",
                      "rule": rf"\frac{{\partial {model.loss.latex}}}{{\partial \theta_i}} = {terms}"})
    context = {
        **problem_context(model, p),
        "handout": True,
        "variant": variant,
        "matrix": spec.matrix_sheet,
        "short_theta": spec.parameter_count <= SHORT_THETA,
        "theta_count": spec.parameter_count,
        "predictions": [
            {"sample": n, "outputs": ", ".join(rf"{y}(\mathbf{{x}}_{{{n}}})" for y in predictions)} for n in samples
        ],
        "deltas": [{"symbol": u.delta.latex, "of": u.pre.latex} for u in reversed(model.units)],
        "loss_symbol": model.loss.latex,
        "equalities": equalities,
        "hints": hints,
        "steps": spec.steps,
    }
    if spec.matrix_sheet:
        context.update(matrix_problem_context(model, p))
    return context
