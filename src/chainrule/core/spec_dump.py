"""Write a `Spec` back as TOML: a variant's spec file, which `spec.parse` reads to the same values."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

import tomli_w

from chainrule.core.spec import MATRIX_ABOVE, VARIANT_RANGES, VARIANT_SWITCHES, Layout, Spec, VariantRules
from chainrule.core.spec_reader import REDUCTIONS, parse
from chainrule.errors import ChainruleError
from chainrule.numbers import decimal_text


def dump(spec: Spec, with_variants: bool = False) -> str:
    """The spec as TOML that `parse` reads back to the same values (a variant's spec file).

    Written by a TOML library (so any title, control characters included, is a valid string) and
    read back before it is returned. Decimals that terminate are written as TOML numbers, other
    rationals as "p/q" strings; the `[variants]` table is written only `with_variants` (a variant
    is not drawn from again; a PrairieLearn question draws from it).
    """
    document = _document(spec)
    if with_variants and spec.variants is not None:
        document["variants"] = _variants(spec.variants)
    text = tomli_w.dumps(document)
    _check(spec, text, with_variants)
    return text


def _document(spec: Spec) -> dict:
    activations = []
    for layer, name in enumerate(spec.activations, start=1):
        options = spec.options(layer)
        activations.append({"name": name, **{k: _number(v) for k, v in sorted(options.items())}} if options else name)
    document = {
        "name": spec.name,
        "title": spec.title,
        "network": {"sizes": list(spec.sizes), "activations": activations},
        "loss": {"kind": spec.loss, **{k: _number(v) for k, v in spec.loss_options}},
        "data": {"x": [_numbers(row) for row in spec.x], "y": _targets(spec)},
        "parameters": _parameters(spec),
        "training": {"learning_rate": _number(spec.learning_rate), "steps": spec.steps},
    }
    if spec.bias:
        document["network"]["bias"] = list(spec.bias)
    for key, default in REDUCTIONS.items():
        if getattr(spec, key) is not default:
            document["loss"][key] = str(getattr(spec, key))  # TOML holds the word, not the member
    if spec.notation:
        document["notation"] = {key: str(value) for key, value in spec.notation}
    if (spec.layout, spec.matrix_above) != (Layout.AUTO, MATRIX_ABOVE):
        document["sheet"] = {"layout": str(spec.layout), "matrix_above": spec.matrix_above}
    if spec.tolerance is not None:
        t = spec.tolerance
        document["tolerance"] = _tolerance(t)
        if t.keys:
            document["tolerance"]["keys"] = {key: _tolerance(rule) for key, rule in t.keys}
        if t.questions:
            document["tolerance"]["questions"] = {str(q): _tolerance(rule) for q, rule in t.questions}
    return document


def _parameters(spec: Spec) -> dict:
    """One init value per slot (a tied parameter's value in each of its slots), then the names."""
    value = dict(zip(spec.parameter_names, spec.init))
    table = {"init": _numbers(value[name] for name in spec.slot_parameters)}
    if spec.names:
        table["names"] = list(spec.names)
    if spec.ties:
        table["tie"] = [list(group) for group in spec.ties]
    if spec.frozen:
        table["frozen"] = list(spec.frozen)
    return table


def _check(spec: Spec, text: str, with_variants: bool = False) -> None:
    """The written text must read back to the same spec (apart from the rules it does not hold)."""
    try:
        again = parse(text, spec.path)
    except ChainruleError as error:
        raise ChainruleError(f"{spec.path}: the spec cannot be written as a file that reads back ({error})") from None
    if (again if with_variants else dataclasses.replace(again, variants=spec.variants)) != spec:
        raise ChainruleError(f"{spec.path}: the spec, written as TOML, reads back to different values")


def _variants(rules: VariantRules) -> dict:
    table = {name: _numbers(getattr(rules, name)) for name in VARIANT_RANGES}
    table.update({name: getattr(rules, name) for name in ("decimals", *VARIANT_SWITCHES, "max_draws")})
    table["max_abs_answer"] = _number(rules.max_abs_answer)
    return table


def _tolerance(t) -> dict:
    return {"sigfigs": t.sigfigs, **{k: _number(Fraction(v)) for k, v in
                                     (("relative", t.relative), ("absolute", t.absolute)) if v is not None}}


def _number(value: Fraction) -> int | Decimal | str:
    """A TOML number when the decimal ends, else a "p/q" string the spec reader accepts."""
    value = Fraction(value)
    if value.denominator == 1:
        return value.numerator
    text = decimal_text(value)
    return f"{value.numerator}/{value.denominator}" if text is None else Decimal(text)


def _numbers(values) -> list:
    return [_number(v) for v in values]


def _targets(spec: Spec) -> list:
    if spec.outputs == 1:
        return _numbers(spec.y)
    from chainrule.core.losses import LOSSES, Targets  # as the reader: the registries need SymPy

    if LOSSES[spec.loss].targets is Targets.DISTRIBUTION and all(sorted(t) == [0] * (len(t) - 1) + [1] for t in spec.y):
        return [t.index(1) for t in spec.y]  # class indices
    return [_numbers(t) for t in spec.y]
