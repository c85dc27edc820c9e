"""The spec's `[parameters]` table and `network.bias`: slots, names, ties, frozen parameters, init values.

A slot is one place a parameter is used: a unit's weight or bias, in flat order (layer by layer,
unit by unit, the unit's weights then its bias). `init` and `names` give one entry per slot; a
tie group makes several slots one parameter, named by the group's first name.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from chainrule.core.spec import VALUE_RANGE, parameter_count
from chainrule.core.spec_text import kind_of, plain
from chainrule.errors import suggest

PARAMETER_KEYS = ("init", "names", "tie", "frozen")
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,29}")
# Names the model gives its nodes (flat and layered styles) and words the notation reads: a
# parameter called `h` or `y_hat` would be two things in an answer or on the sheet.
RESERVED = re.compile(
    r"x\d+|y|y\d+|y_?hat\d*|z|z\d+|z\d+_\d+|z_?out\d*|h|h\d+|h\d+_\d+|a\d+_\d+|L|delta\w*|"
    r"eta|theta|g|sigma|pi|e|exp|log|ln|sqrt|max|min|relu|tanh|sigmoid|softmax|yhat|partial|d"
)


def read_bias(reader, network: dict, sizes: tuple[int, ...]) -> tuple[bool, ...]:
    """`network.bias`: true (default), false, or one bool per non-input layer; () when every layer has one."""
    value = network.get("bias", True)
    layers = len(sizes) - 1
    if isinstance(value, bool):
        flags = (value,) * layers
    elif isinstance(value, list) and len(value) == layers and all(isinstance(v, bool) for v in value):
        flags = tuple(value)
    else:
        raise reader.fail("network.bias", f"expected true, false or a list of {layers} booleans, one per "
                          f"non-input layer of sizes {list(sizes)}")
    return () if all(flags) else flags


def read_parameters(reader, table: dict, sizes: tuple[int, ...], bias: tuple[bool, ...]):
    """(init per parameter, slot names or (), tie groups, frozen names) from `[parameters]`."""
    for key in table:
        if key not in PARAMETER_KEYS:
            raise reader.fail(f"parameters.{key}", f"unknown key{suggest(key, PARAMETER_KEYS)}; expected one of "
                              f"{', '.join(PARAMETER_KEYS)}")
    count = parameter_count(sizes, bias)
    names = _names(reader, table.get("names"), count)
    slots = names or tuple(f"w{i}" for i in range(count))
    init = _init(reader, reader.get(table, "parameters.init"), slots, sizes, explicit=bool(names))
    ties = _ties(reader, table.get("tie"), slots, sizes, bias)
    owner = {name: group[0] for group in ties for name in group}
    for group in ties:
        values = {init[slots.index(name)] for name in group}
        if len(values) > 1:
            raise reader.fail("parameters.tie", f"tied slots {', '.join(group)} need equal init values, got "
                              f"{', '.join(plain(init[slots.index(n)]) for n in group)}")
    parameters = tuple(dict.fromkeys(owner.get(name, name) for name in slots))
    frozen = _frozen(reader, table.get("frozen"), parameters, owner)
    values = tuple(init[slots.index(name)] for name in parameters)
    return values, names, ties, frozen


def _names(reader, value: Any, count: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) != count:
        got = f"{len(value)}" if isinstance(value, list) else "something else"
        raise reader.fail("parameters.names", f"expected a list of {count} names, one per slot (weights and "
                          f"biases in flat order), got {got}")
    seen = set()
    for i, name in enumerate(value):
        key = f"parameters.names[{i}]"
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            raise reader.fail(key, "expected an identifier: a letter, then letters, digits or '_' (at most 30), "
                              f"got {name!r}"[:160])
        if RESERVED.fullmatch(name) or RESERVED.fullmatch(name.replace("_", "")):  # answers may write h_1 for h1
            raise reader.fail(key, f"'{name}' is a node or notation name (x0, y, y_hat, z, h, a1_1, L, delta, "
                              "eta, sigma, ...); choose another")
        if name in seen:
            raise reader.fail(key, f"duplicate name '{name}' (tie slots with `tie` instead)")
        seen.add(name)
    return tuple(value)


def _init(reader, value: Any, slots: tuple[str, ...], sizes, explicit: bool) -> tuple[Fraction, ...]:
    count = len(slots)
    if isinstance(value, dict):
        shown = ", ".join(slots) if explicit else f"w0..w{count - 1}"
        unknown = sorted(set(value) - set(slots))
        if unknown:
            raise reader.fail("parameters.init", f"unknown parameter '{unknown[0]}'; expected {shown}")
        missing = [n for n in slots if n not in value]
        if missing:
            raise reader.fail("parameters.init", f"missing parameter '{missing[0]}' (expected {shown})")
        return tuple(reader.number(value[n], f"parameters.init.{n}", VALUE_RANGE) for n in slots)
    if not isinstance(value, list):
        raise reader.fail("parameters.init", f"expected a list or a table of numbers, got {kind_of(value)}")
    if len(value) != count:
        raise reader.fail("parameters.init", f"expected {count} numbers for sizes {list(sizes)}, got {len(value)}")
    return reader.numbers(value, "parameters.init", count)


def _ties(reader, value: Any, slots: tuple[str, ...], sizes, bias) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(g, list) for g in value):
        raise reader.fail("parameters.tie", 'expected a list of groups of slot names, like [["b1", "b1_2"]]')
    units = _unit_of_slot(sizes, bias)
    seen: set[str] = set()
    groups = []
    for i, group in enumerate(value):
        key = f"parameters.tie[{i}]"
        if len(group) < 2:
            raise reader.fail(key, "expected at least two slot names in a tie group")
        for name in group:
            if not isinstance(name, str) or name not in slots:
                raise reader.fail(key, f"unknown slot{suggest(str(name), slots)}; expected names from "
                                  f"{'parameters.names' if slots[0] != 'w0' else 'w0, w1, ...'}")
            if name in seen:
                raise reader.fail(key, f"'{name}' is in more than one tie group (or twice in one)")
            seen.add(name)
        used = [units[slots.index(n)] for n in group]
        if len(set(used)) != len(used):
            raise reader.fail(key, "a tie group may use each unit only once (tie slots of different units)")
        groups.append(tuple(group))
    return tuple(groups)


def _frozen(reader, value: Any, parameters: tuple[str, ...], owner: dict) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise reader.fail("parameters.frozen", "expected a list of parameter names")
    frozen = []
    for name in value:
        if not isinstance(name, str) or name not in parameters:
            tied = f"; '{name}' is tied: freeze its group's first name '{owner[name]}'" \
                if isinstance(name, str) and name in owner else ""
            raise reader.fail("parameters.frozen", f"unknown parameter{suggest(str(name), parameters)}{tied}")
        if name in frozen:
            raise reader.fail("parameters.frozen", f"'{name}' is listed twice")
        frozen.append(name)
    if len(frozen) == len(parameters):
        raise reader.fail("parameters.frozen", "every parameter is frozen: nothing would be trained")
    return tuple(n for n in parameters if n in frozen)  # θ's order


def _unit_of_slot(sizes, bias) -> list[tuple[int, int]]:
    units = []
    for layer, (fan_in, width) in enumerate(zip(sizes, sizes[1:]), start=1):
        with_bias = bias[layer - 1] if bias else True
        for j in range(width):
            units += [(layer, j)] * (fan_in + int(with_bias))
    return units
