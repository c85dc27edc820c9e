"""Figures of the answer sheet: the TikZ picture of the network and the pgfplots data of question 7."""

from __future__ import annotations

import math
from enum import StrEnum

from chainrule.core.learning_rate import Trend
from chainrule.core.model import Model
from chainrule.core.solution import Solution
from chainrule.numbers import plot_number, position, to_float
from chainrule.render.printer import escape_tex

SPACING = 1.6  # cm between the units of a column
COLUMN_GAP = 3.6  # cm between the layers


class NodeStyle(StrEnum):
    """A node of the network picture; the value is its TikZ style in templates/network.tex.j2."""

    INPUT = "input"
    HIDDEN = "hidden"
    OUTPUT = "output"
    BIAS = "bias"


def network_picture(model: Model) -> dict:
    """Node positions and labelled edges for the TikZ figure of the network."""
    g = model.spec.notation_for("activation", "g")
    columns = [[(f"in{i}", node.latex, NodeStyle.INPUT) for i, node in enumerate(model.inputs)]]
    layers = sorted({u.layer for u in model.units})
    for layer in layers:
        column = []
        for unit in (u for u in model.units if u.layer == layer):
            label = (rf"{unit.out.latex}" if unit.is_output and unit.out == unit.pre
                     else rf"{unit.pre.latex} \mid {unit.out.latex}")
            column.append((f"u{layer}_{unit.index}", label, NodeStyle.OUTPUT if unit.is_output else NodeStyle.HIDDEN))
        columns.append(column)
    nodes, edges = [], []
    for c, column in enumerate(columns):
        top = (len(column) - 1) / 2 * SPACING
        for r, (ident, label, style) in enumerate(column):
            nodes.append({"id": ident, "x": position(COLUMN_GAP * c), "y": position(top - r * SPACING),
                          "label": label, "style": style})
        if c < len(columns) - 1 and model.spec.has_bias(c + 1):  # the bias box: below the column, a little right
            nodes.append({"id": f"bias{c}", "x": position(COLUMN_GAP * c + 1.0), "y": position(-top - SPACING * 0.8),
                          "label": "1", "style": NodeStyle.BIAS})
    ids = {node.symbol: f"in{i}" for i, node in enumerate(model.inputs)}
    targets_in_layer = {layer: sum(1 for u in model.units if u.layer == layer) for layer in layers}
    for unit in model.units:
        target = f"u{unit.layer}_{unit.index}"
        ids[unit.out.symbol] = target
        # labels on the edges only where they cannot collide: every edge of the layer ends in one unit
        labelled = targets_in_layer[unit.layer] == 1
        for weight, source in zip(unit.weights, unit.sources):
            edges.append({"src": ids[source.symbol], "dst": target, "label": weight.latex if labelled else None,
                          "from_bias": False})
        if unit.bias is not None:
            edges.append({"src": f"bias{unit.layer - 1}", "dst": target, "label": unit.bias.latex if labelled else None,
                          "from_bias": True})
    unlabelled = any(e["label"] is None for e in edges)
    return {"nodes": nodes, "edges": edges, "g": g, "dense": model.spec.parameter_count > 12,
            "unlabelled": unlabelled}


def _g(value, cap=None) -> str:
    """A plot coordinate: 6 significant digits, deterministic."""
    number = to_float(value)
    if cap is not None:
        number = min(number, cap)
    return plot_number(number)


# One colour and one dash pattern per training curve, so they read apart in print and in grey.
CURVE_STYLES = ("blue, solid", "red, dashed", "black, dotted", "orange!85!black, dashdotted",
                "teal, densely dashed", "violet, loosely dotted", "brown, densely dotted")
DIVERGED = 1e6  # a curve is drawn up to the first loss past this multiple of its start


def _pow10_floor(value: float) -> float:
    return 10.0 ** math.floor(math.log10(value)) if value > 0 else 1e-12


def _pow10_ceil(value: float) -> float:
    return 10.0 ** math.ceil(math.log10(value)) if value > 0 else 1.0


def _curve(curve, style: str, p, steps: int) -> dict:
    """A training curve's points, cut where it diverges (with a marker and a label there)."""
    values, end = [], None
    start = to_float(curve.losses[0])
    for k, loss in enumerate(curve.losses):
        number = to_float(loss)
        if not math.isfinite(number) or number > max(start, 1e-300) * DIVERGED:
            end = {"step": k - 1, "label": f"diverges at step {k}"}
            break
        values.append(max(number, 1e-12))
    if end is None and curve.outcome is Trend.DIVERGES:
        end = {"step": len(values) - 1, "label": "diverging"}
    if end is not None:
        end["loss"] = plot_number(values[-1])
        # the label goes on the side with room: right of an early end, left of a late one
        early = end["step"] < steps / 2
        end["anchor"], end["xshift"] = ("west", "4pt") if early else ("east", "-4pt")
    return {"legend": rf"$\eta = {p.plain(curve.eta)}$ ({escape_tex(curve.label)}, {curve.outcome})",
            "coordinates": " ".join(f"({k},{plot_number(v)})" for k, v in enumerate(values)),
            "values": values, "style": style, "end": end}


def figures_context(solution: Solution, p) -> dict | None:
    """pgfplots data for question 7: the one-step loss against η, and training curves."""
    from chainrule.render.plots import one_step_plot

    analysis, training = solution.learning_rate, solution.training
    if not analysis.available:
        return None
    plot = one_step_plot(analysis, training.learning_rate)
    y_max = float(plot.y_max)
    clip = y_max * 1.05
    steps = max(len(c.losses) for c in solution.curves) - 1 if solution.curves else 0
    curves = [_curve(curve, style, p, steps) for curve, style in zip(solution.curves, CURVE_STYLES)]
    drawn = [float(v) for c in curves for v in c["values"]]
    return {
        "x_max": _g(plot.x_max), "y_max": _g(y_max),
        "coordinates": " ".join(f"({_g(e)},{_g(v, clip)})" for e, v in zip(plot.etas, plot.losses)),
        "shaded": [{"a": _g(a), "b": _g(b)} for a, b in plot.shaded],
        "spec": {"eta": _g(plot.spec[0]), "loss": _g(plot.spec[1], clip)},
        "best": None if plot.best is None else {"eta": _g(plot.best[0]), "loss": _g(plot.best[1], clip)},
        "initial": _g(analysis.initial_loss),
        "curves": curves,
        "steps": max(len(c.losses) for c in solution.curves) - 1 if solution.curves else 0,
        "curve_y_min": plot_number(_pow10_floor(min(drawn))) if drawn else "1",
        "curve_y_max": plot_number(_pow10_ceil(max(drawn))) if drawn else "10",
    }
