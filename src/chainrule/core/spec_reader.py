"""Read a spec file (TOML) into a `Spec`: exact numbers, documented ranges, errors naming file, key and line."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from chainrule.core.spec import (
    DEFAULT_SPEC,
    LEARNING_RATE_RANGE,
    MATRIX_ABOVE,
    MAX_ABS_ANSWER_RANGE,
    MAX_PARAMETERS,
    MAX_SAMPLES,
    MAX_SPEC_BYTES,
    MAX_STEPS,
    NOTATION_KEYS,
    OPTION_RANGE,
    SHEET_KEYS,
    TOP_LEVEL,
    VALUE_RANGE,
    VARIANT_KEYS,
    VARIANT_SWITCHES,
    Layout,
    Range,
    Reduction,
    Spec,
    Style,
    VariantRules,
    answer_keys,
    parameter_count,
    resolve_path,
)
from chainrule.core.spec_parameters import read_bias, read_parameters
from chainrule.core.spec_text import (  # noqa: F401 - read_tolerance, line_of, read_toml: the public readers
    check_notation_latex,
    exact_number,
    kind_of,
    line_of,
    read_tolerance,
    read_toml,
    short_text,
)
from chainrule.errors import SpecError, suggest
from chainrule.intake import read_regular


REDUCTIONS = {"reduction_samples": Reduction.MEAN, "reduction_outputs": Reduction.SUM}  # each one's default


def load(name_or_path: str | Path = DEFAULT_SPEC) -> Spec:
    """Load and validate a spec. `load("inf264_hw4")` reads `derivations/inf264_hw4.toml`."""
    path = resolve_path(name_or_path)
    shown = str(path)
    raw = read_regular(path, MAX_SPEC_BYTES, lambda why: SpecError(shown, "(file)", why))
    return from_bytes(raw, shown, path.stem)


def from_bytes(raw: bytes, shown: str, default_name: str = "spec") -> Spec:
    """A spec from the bytes of a file (or of standard input, shown as `<stdin>`)."""
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark at the start is allowed
    except UnicodeDecodeError:
        raise SpecError(shown, "(file)", "expected UTF-8 text") from None
    return parse(text, shown, default_name=default_name)


def parse(text: str, path: str = "<spec>", default_name: str = "spec") -> Spec:
    """Validate TOML text as a spec; decimals are read exactly."""
    text = text.removeprefix("\ufeff")
    data = read_toml(text, lambda key, why, line=None: SpecError(path, key, why, line))
    return Reader(text, path).spec(data, default_name)


class Reader:
    """Validates one parsed TOML document, knowing its text so errors can give line numbers."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path

    def fail(self, key: str, expected: str) -> SpecError:
        return SpecError(self.path, key, expected, line_of(self.text, key))

    def table(self, data: dict, key: str, required: bool = True) -> dict:
        value = data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            return_what = "missing" if value is None else f"got {kind_of(value)}"
            raise self.fail(key, f"expected a table [{key}] ({return_what})")
        return value

    def get(self, table: dict, dotted: str, required: bool = True) -> Any:
        key = dotted.rsplit(".", 1)[-1]
        if key not in table:
            if required:
                raise self.fail(dotted, "missing")
            return None
        return table[key]

    def string(self, table: dict, dotted: str, default: str | None = None) -> str:
        value = self.get(table, dotted, required=default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(dotted, f"expected a non-empty string, got {kind_of(value)}")
        return value

    def number(self, value: Any, dotted: str, allowed: Range | None = None) -> Fraction:
        """A number, size-checked before conversion, then checked against its documented range."""
        expected = f"expected {allowed}" if allowed else "expected a finite number"
        if isinstance(value, bool):
            raise self.fail(dotted, f"{expected}, got a boolean")
        if isinstance(value, Decimal) and not value.is_finite():
            raise self.fail(dotted, f"expected a finite number, got {value}")
        if isinstance(value, (int, Decimal)):
            number = exact_number(value)
            if number is None:
                raise self.fail(dotted, f"{expected}, got {short_text(value)}")
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,30}(\s*/\s*\d{1,30})?\s*", value):
            try:
                number = Fraction(value.replace(" ", ""))
            except ZeroDivisionError:
                raise self.fail(dotted, "division by zero") from None
        else:
            raise self.fail(dotted, f"expected a number (or a fraction string like \"13/10\"), got {kind_of(value)}")
        if allowed is not None and not allowed.admits(number):
            raise self.fail(dotted, f"{expected}, got {short_text(value)}")
        return number

    def option(self, option, value: Any, dotted: str) -> Fraction:
        """An activation's or a loss's option: a bounded number, then the range its record allows."""
        if not (isinstance(value, Decimal) and value.is_finite()):
            number = self.number(value, dotted)  # not a finite number at all: say so
        else:
            try:
                number = self.number(value, dotted, OPTION_RANGE)
            except SpecError:  # finite but huge, or too many places: the option's own range says it
                number = None
        if number is None or not option.allowed(number):
            raise self.fail(dotted, f"{option.expected}, got {short_text(value)}")
        return number

    def numbers(self, value: Any, dotted: str, length: int | None = None,
                allowed: Range | None = VALUE_RANGE) -> tuple[Fraction, ...]:
        if not isinstance(value, list):
            raise self.fail(dotted, f"expected a list of numbers, got {kind_of(value)}")
        if length is not None and len(value) != length:
            raise self.fail(dotted, f"expected {length} numbers, got {len(value)}")
        return tuple(self.number(item, f"{dotted}[{i}]", allowed) for i, item in enumerate(value))

    def spec(self, data: dict, default_name: str) -> Spec:
        name = self.string(data, "name", default_name)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", name):
            raise self.fail("name", "expected letters, digits, '_', '-' or '.' only (it names output files)")
        title = self.string(data, "title", name)
        network = self.table(data, "network")
        sizes = self.sizes(network)
        activations, options = self.activations(network, sizes)
        loss_table = self.table(data, "loss")
        loss = self.string(loss_table, "loss.kind")
        from chainrule.core.losses import (
            LOSSES,  # the registries need SymPy: only load it for a spec
        )

        if loss not in LOSSES:
            raise self.fail("loss.kind", f"unknown loss '{loss}'{suggest(loss, LOSSES)}; expected one of "
                            f"{', '.join(LOSSES)}")
        loss_options = self.loss_options(loss_table, loss)
        reductions = {key: self.choice(loss_table, f"loss.{key}", default)
                      for key, default in REDUCTIONS.items()}
        self.check_pairing(activations, loss, sizes)
        x, y = self.data(self.table(data, "data"), sizes, loss)
        bias = read_bias(self, network, sizes)
        init, names, ties, frozen = read_parameters(self, self.table(data, "parameters"), sizes, bias)
        training = self.table(data, "training")
        rate = self.number(self.get(training, "training.learning_rate"), "training.learning_rate",
                           LEARNING_RATE_RANGE)
        steps = self.get(training, "training.steps", required=False)
        steps = 1 if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise self.fail("training.steps", f"expected an integer from 1 to {MAX_STEPS}")
        notation = self.notation(self.table(data, "notation", required=False))
        for key in data:
            if key not in TOP_LEVEL:
                raise self.fail(key, f"unknown key{suggest(key, TOP_LEVEL)}; expected one of {', '.join(TOP_LEVEL)}")
        variants = self.variants(self.table(data, "variants", required=False), x, y, init)
        layout, above = self.sheet(self.table(data, "sheet", required=False))
        if layout is Layout.MATRIX and (bias or ties):
            raise self.fail("sheet.layout", "the matrix sheet needs a bias in every layer and no tied "
                            "parameters; expected written or auto")
        spec = Spec(name, title, sizes, activations, loss, x, y, init, rate, steps, notation, self.path,
                    options, loss_options, variants, None, layout, above, **reductions, bias=bias, names=names,
                    ties=ties, frozen=frozen)
        if "tolerance" in data:
            keys = tuple(key for key, _ in answer_keys(spec))
            tolerance = read_tolerance(self.table(data, "tolerance"), self.fail, keys)
            spec = dataclasses.replace(spec, tolerance=tolerance)
        return spec

    def choice(self, table: dict, dotted: str, default: StrEnum) -> StrEnum:
        """One of an enum's words, read as its member; `default` when the key is absent."""
        kind = type(default)
        value = table.get(dotted.rsplit(".", 1)[-1], default)
        if value not in kind.__members__.values():
            allowed = [default, *(member for member in kind if member is not default)]  # the default first
            raise self.fail(dotted, f"expected one of {', '.join(repr(str(c)) for c in allowed)}, got "
                            f"{short_text(value) if isinstance(value, str) else kind_of(value)}")
        return kind(value)

    def sheet(self, table: dict) -> tuple[Layout, int]:
        for key in table:
            if key not in SHEET_KEYS:
                raise self.fail(f"sheet.{key}", f"unknown key{suggest(key, SHEET_KEYS)}; expected one of "
                                f"{', '.join(SHEET_KEYS)}")
        layout = self.choice(table, "sheet.layout", Layout.AUTO)
        above = table.get("matrix_above", MATRIX_ABOVE)
        if isinstance(above, bool) or not isinstance(above, int) or not 0 <= above <= MAX_PARAMETERS:
            raise self.fail("sheet.matrix_above", f"expected a parameter count from 0 to {MAX_PARAMETERS}")
        return layout, above

    def variants(self, table: dict, x, y, init) -> VariantRules:
        """The `[variants]` table; ranges default to ±(the spec's largest magnitude, at least 1)."""
        for key in table:
            if key not in VARIANT_KEYS:
                raise self.fail(f"variants.{key}", f"unknown key{suggest(key, VARIANT_KEYS)}; expected one of {', '.join(VARIANT_KEYS)}")
        targets = [v for t in y for v in (t if isinstance(t, tuple) else (t,))]
        ranges = {}
        for key, values in (("x", [v for row in x for v in row]), ("y", targets), ("parameters", init)):
            if key in table:
                low, high = self.numbers(table[key], f"variants.{key}", 2)
                if low > high:
                    raise self.fail(f"variants.{key}", "expected [low, high] with low <= high")
                ranges[key] = (low, high)
            else:
                bound = Fraction(max(1, -(-max(abs(v) for v in values) // 1)))
                ranges[key] = (-bound, bound)
        decimals = table.get("decimals", 1)
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
            raise self.fail("variants.decimals", "expected an integer from 0 to 6")
        switches = {}
        for key in VARIANT_SWITCHES:
            value = table.get(key, True)
            if not isinstance(value, bool):
                raise self.fail(f"variants.{key}", "expected true or false")
            switches[key] = value
        bound = self.number(table.get("max_abs_answer", 100), "variants.max_abs_answer", MAX_ABS_ANSWER_RANGE)
        draws = table.get("max_draws", 1000)
        if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 1_000_000:
            raise self.fail("variants.max_draws", "expected an integer from 1 to 1000000")
        return VariantRules(ranges["x"], ranges["y"], ranges["parameters"], decimals, **switches,
                            max_abs_answer=bound, max_draws=draws)

    def sizes(self, network: dict) -> tuple[int, ...]:
        sizes = self.get(network, "network.sizes")
        if (
            not isinstance(sizes, list)
            or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes)
        ):
            raise self.fail("network.sizes", "expected a list of at least two positive integers (inputs, ..., outputs)")
        if parameter_count(tuple(sizes)) > MAX_PARAMETERS:
            raise self.fail("network.sizes", f"expected at most {MAX_PARAMETERS} parameters")
        return tuple(sizes)

    def activations(self, network: dict, sizes: tuple[int, ...]):
        """Names, one per non-input layer; an entry may be a table such as {name = "leaky_relu", alpha = 0.1}."""
        entries = self.get(network, "network.activations")
        if not isinstance(entries, list):
            raise self.fail("network.activations", "expected a list of activation names")
        if len(entries) != len(sizes) - 1:
            raise self.fail(
                "network.activations",
                f"expected {len(sizes) - 1} names, one per non-input layer of sizes {list(sizes)}, got {len(entries)}",
            )
        from chainrule.core.activations import ACTIVATIONS

        shared = {k: network[k] for k in ("relu_derivative_at_zero", "alpha") if k in network}
        names, options = [], []
        for i, entry in enumerate(entries):
            key = f"network.activations[{i}]"
            table = dict(entry) if isinstance(entry, dict) else {"name": entry}
            activation = table.pop("name", None)
            if not isinstance(activation, str):
                raise self.fail(key, "expected an activation name, or a table with a 'name'")
            record = ACTIVATIONS.get(activation)
            if record is None:
                raise self.fail(key, f"unknown activation '{activation}'{suggest(activation, ACTIVATIONS)}; "
                                f"expected one of {', '.join(ACTIVATIONS)}")
            if record.output_only and i != len(entries) - 1:
                raise self.fail(key, f"{activation} is only allowed on the output layer")
            allowed = {o.name: o for o in record.options}
            if activation == "relu" and "relu_derivative_at_zero" in shared:
                table.setdefault("derivative_at_zero", shared["relu_derivative_at_zero"])
            if "alpha" in allowed and "alpha" in shared:
                table.setdefault("alpha", shared["alpha"])
            chosen = dict(sorted((o.name, o.default) for o in record.options if o.name != "derivative_at_zero"))
            for name, value in sorted(table.items()):
                option = allowed.get(name)
                if option is None:
                    raise self.fail(f"{key}.{name}", f"unknown option for {activation}; expected one of "
                                    f"{', '.join(sorted(allowed)) or 'none'}")
                chosen[name] = self.option(option, value, f"{key}.{name}")
            names.append(activation)
            options.append(tuple(sorted(chosen.items())))
        return tuple(names), tuple(options)

    def loss_options(self, table: dict, loss: str) -> tuple[tuple[str, Fraction], ...]:
        from chainrule.core.losses import LOSSES

        allowed = {o.name: o for o in LOSSES[loss].options}
        chosen = []
        for name, value in sorted(table.items()):
            if name == "kind" or name in REDUCTIONS:
                continue
            option = allowed.get(name)
            if option is None:
                raise self.fail(f"loss.{name}", f"unknown option for {loss}; expected "
                                f"{', '.join(['kind', *REDUCTIONS, *sorted(allowed)])}")
            chosen.append((name, self.option(option, value, f"loss.{name}")))
        return tuple(chosen)

    def check_pairing(self, activations: tuple[str, ...], loss: str, sizes: tuple[int, ...]) -> None:
        from chainrule.core.activations import ACTIVATIONS
        from chainrule.core.losses import LOSSES

        record, output, outputs = LOSSES[loss], activations[-1], sizes[-1]
        if record.output_activation is not None and output != record.output_activation:
            raise self.fail("loss.kind", f"{loss} expects a {record.output_activation} output layer")
        if outputs < record.min_outputs or (record.max_outputs is not None and outputs > record.max_outputs):
            count = f"{record.min_outputs} or more" if record.max_outputs is None else \
                (str(record.max_outputs) if record.min_outputs == record.max_outputs else
                 f"{record.min_outputs} to {record.max_outputs}")
            raise self.fail("loss.kind", f"{loss} expects {count} output units, got {outputs}")
        if ACTIVATIONS[output].output_only and record.output_activation != output:
            paired = next(name for name, r in LOSSES.items() if r.output_activation == output)
            raise self.fail("network.activations", f"a {output} output goes with loss kind {paired}")

    def data(self, table: dict, sizes: tuple[int, ...], loss: str):
        rows = self.get(table, "data.x")
        if not isinstance(rows, list) or not rows:
            raise self.fail("data.x", "expected a non-empty list of samples")
        if len(rows) > MAX_SAMPLES:
            raise self.fail("data.x", f"expected at most {MAX_SAMPLES} samples")
        x = tuple(self.numbers(row, f"data.x[{n}]", sizes[0]) for n, row in enumerate(rows))
        targets = self.get(table, "data.y")
        if not isinstance(targets, list) or len(targets) != len(x):
            raise self.fail("data.y", f"expected a list of {len(x)} targets, one per sample")
        from chainrule.core.losses import LOSSES, Targets

        outputs, target_kind = sizes[-1], LOSSES[loss].targets
        if outputs == 1:
            y = self.numbers(targets, "data.y", len(x))
            if target_kind is Targets.PROBABILITY and any(not 0 <= t <= 1 for t in y):
                raise self.fail("data.y", f"{loss} targets must lie in [0, 1]")
            return x, y
        y = []
        for n, target in enumerate(targets):
            key = f"data.y[{n}]"
            if isinstance(target, int) and not isinstance(target, bool) and target_kind is Targets.DISTRIBUTION:
                if not 0 <= target < outputs:
                    raise self.fail(key, f"expected a class index from 0 to {outputs - 1}")
                y.append(tuple(Fraction(int(k == target)) for k in range(outputs)))
                continue
            vector = self.numbers(target, key, outputs)
            if target_kind is Targets.DISTRIBUTION and (sum(vector) != 1 or any(v < 0 for v in vector)):
                raise self.fail(key, f"a {loss} target is one-hot (or a distribution summing to 1)")
            y.append(vector)
        return x, tuple(y)

    def notation(self, table: dict) -> tuple[tuple[str, str], ...]:
        pairs = []
        for key, value in sorted(table.items()):
            dotted = f"notation.{key}"
            if key not in NOTATION_KEYS:
                raise self.fail(dotted, f"unknown notation key; expected one of {', '.join(NOTATION_KEYS)}")
            if not isinstance(value, str) or not value.strip():
                raise self.fail(dotted, "expected a non-empty LaTeX string")
            if key == "style":  # a word, not LaTeX
                pairs.append((key, self.choice(table, dotted, Style.AUTO)))
                continue
            check_notation_latex(value, lambda why, dotted=dotted: self.fail(dotted, why))
            pairs.append((key, value))
        return tuple(pairs)


