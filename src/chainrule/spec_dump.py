"""Write a `Spec` back as TOML: a variant's spec file, which `spec.parse` reads to the same values."""

from __future__ import annotations

import json
from fractions import Fraction

from .spec import MATRIX_ABOVE, Spec, decimal_text


def dump(spec: Spec) -> str:
    """The spec as TOML that `parse` reads back to the same values (a variant's spec file).

    Decimals that terminate are written as TOML numbers, other rationals as "p/q" strings; the
    `[variants]` table is not written, since a variant is not drawn from again.
    """
    lines = [f"name = {_string(spec.name)}", f"title = {_string(spec.title)}", "", "[network]",
             f"sizes = [{', '.join(str(n) for n in spec.sizes)}]"]
    activations = []
    for layer, name in enumerate(spec.activations, start=1):
        options = spec.options(layer)
        if options:
            inner = ", ".join(f"{k} = {_number(v)}" for k, v in sorted(options.items()))
            activations.append(f"{{name = {_string(name)}, {inner}}}")
        else:
            activations.append(_string(name))
    lines += [f"activations = [{', '.join(activations)}]", "", "[loss]", f"kind = {_string(spec.loss)}"]
    lines += [f"{k} = {_number(v)}" for k, v in spec.loss_options]
    lines += ["", "[data]", f"x = [{', '.join(_numbers(row) for row in spec.x)}]", f"y = {_targets(spec)}",
              "", "[parameters]", f"init = {_numbers(spec.init)}",
              "", "[training]", f"learning_rate = {_number(spec.learning_rate)}", f"steps = {spec.steps}"]
    if spec.notation:
        lines += ["", "[notation]"] + [f"{k} = {_string(v)}" for k, v in spec.notation]
    if (spec.layout, spec.matrix_above) != ("auto", MATRIX_ABOVE):
        lines += ["", "[sheet]", f"layout = {_string(spec.layout)}", f"matrix_above = {spec.matrix_above}"]
    if spec.tolerance is not None:
        t = spec.tolerance
        lines += ["", "[tolerance]", f"sigfigs = {t.sigfigs}"]
        lines += [f"{k} = {_number(Fraction(v))}" for k, v in (("relative", t.relative), ("absolute", t.absolute))
                  if v is not None]
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _number(value: Fraction) -> str:
    """A TOML number when the decimal ends, else a "p/q" string the spec reader accepts."""
    value = Fraction(value)
    text = decimal_text(value)
    return f'"{value.numerator}/{value.denominator}"' if text is None else text


def _numbers(values) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


def _targets(spec: Spec) -> str:
    if spec.outputs == 1:
        return _numbers(spec.y)
    if spec.loss == "softmax_cross_entropy" and all(sorted(t) == [0] * (len(t) - 1) + [1] for t in spec.y):
        return "[" + ", ".join(str(t.index(1)) for t in spec.y) + "]"  # class indices
    return "[" + ", ".join(_numbers(t) for t in spec.y) + "]"
