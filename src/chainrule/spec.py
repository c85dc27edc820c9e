"""Read a network spec (TOML) into an immutable `Spec`, exactly and with errors a person can act on."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import SpecError, suggest

DEFAULT_SPEC = "inf264_hw4"
MAX_SPEC_BYTES = 1_000_000
MAX_PARAMETERS = 20_000
MAX_SAMPLES = 1_000

ACTIVATIONS = ("relu", "leaky_relu", "identity", "sigmoid", "tanh", "softplus", "softmax")
LOSSES = ("squared_error", "half_squared_error", "absolute_error", "binary_cross_entropy", "softmax_cross_entropy")
# Options an activation (as an inline table) or a loss may carry, with their allowed values.
ACTIVATION_OPTIONS = {"relu": {"derivative_at_zero"}, "leaky_relu": {"alpha"}}
KINK_CONVENTIONS = (Fraction(0), Fraction(1), Fraction(1, 2))
STYLES = ("auto", "flat", "layered")
TOLERANCE_KEYS = ("sigfigs", "relative", "absolute")
# The `[variants]` table: how per-student variants are drawn, and what keeps them instructive.
VARIANT_RANGES = ("x", "y", "parameters")
VARIANT_SWITCHES = ("dead_and_active", "avoid_kinks", "loss_decreases", "gradient_nonzero")
VARIANT_KEYS = (*VARIANT_RANGES, "decimals", *VARIANT_SWITCHES, "max_abs_answer", "max_draws")
# Names a `[notation]` table may rename, with what each one prints.
TOP_LEVEL = ("name", "title", "network", "loss", "data", "parameters", "training", "notation", "sheet",
             "variants", "tolerance")
LAYOUTS = ("auto", "written", "matrix")
SHEET_KEYS = ("layout", "matrix_above")
MATRIX_ABOVE = 20  # `auto` layout: more parameters than this get the vector and matrix sheet
NOTATION_KEYS = {
    "input": "the input vector, printed as input[i]",
    "target": "the target",
    "prediction": "the network's output",
    "parameter": "the parameter letter, printed with a subscript",
    "preactivation": "a hidden unit's input",
    "hidden": "a hidden unit's output",
    "activation": "the activation function",
    "loss": "the per-sample loss",
    "dataset_loss": "the loss on the dataset",
    "delta": "the error symbol",
    "learning_rate": "the learning rate",
    "style": "parameter names: auto, flat (w_0, w_1, ...) or layered (w^{(l)}_{jk}, b^{(l)}_j)",
}
# LaTeX control words a notation value may use; anything else could run TeX code.
SAFE_CONTROL_WORDS = frozenset(
    "hat widehat tilde bar vec mathbf mathcal mathrm mathit boldsymbol operatorname prime "
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega ell".split()
)


@dataclass(frozen=True)
class Tolerance:
    """How close a decimal answer must be: correctly rounded to `sigfigs`, or within a bound."""

    sigfigs: int = 3  # the fewest significant figures a decimal answer may have
    relative: Decimal | None = None
    absolute: Decimal | None = None


@dataclass(frozen=True)
class VariantRules:
    """The `[variants]` table: ranges to draw from and the constraints every variant must meet."""

    x: tuple[Fraction, Fraction]  # every input is drawn from this closed range
    y: tuple[Fraction, Fraction]  # every regression target
    parameters: tuple[Fraction, Fraction]  # every initial parameter
    decimals: int = 1  # values have at most this many decimal places
    dead_and_active: bool = True  # each ReLU unit: some sample with z <= 0 and some with z > 0
    avoid_kinks: bool = True  # no pre-activation (or absolute-error residual) exactly at a kink
    loss_decreases: bool = True  # the step at the spec's learning rate lowers the loss
    gradient_nonzero: bool = True  # no gradient component is zero for every sample
    max_abs_answer: Fraction = Fraction(100)  # every numeric answer stays within ±this
    max_draws: int = 1000  # draws per variant before giving up


@dataclass(frozen=True)
class Spec:
    """A small network, its data and its training step, exactly as the spec file states them."""

    name: str
    title: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    x: tuple[tuple[Fraction, ...], ...]
    y: tuple  # one number per sample, or one vector per sample for several outputs
    init: tuple[Fraction, ...]
    learning_rate: Fraction
    steps: int
    notation: tuple[tuple[str, str], ...]
    path: str
    activation_options: tuple[tuple[tuple[str, Fraction], ...], ...] = ()  # per layer, e.g. (("alpha", 1/10),)
    loss_options: tuple[tuple[str, Fraction], ...] = ()  # e.g. (("derivative_at_zero", 0),) for absolute_error
    variants: VariantRules | None = None  # None only for specs built by hand; `parse` always fills it
    tolerance: Tolerance | None = None  # the instructor's `[tolerance]`; it overrides an answers file's
    layout: str = "auto"  # the answer sheet: "written" out unit by unit, "matrix" form, or by size
    matrix_above: int = MATRIX_ABOVE  # `auto`: the matrix form above this many parameters

    @property
    def matrix_sheet(self) -> bool:
        """Does the answer sheet use vector and matrix notation (the layout, or the size threshold)?"""
        return self.layout == "matrix" or (self.layout == "auto" and self.parameter_count > self.matrix_above)

    @property
    def outputs(self) -> int:
        return self.sizes[-1]

    @property
    def targets(self) -> tuple[tuple[Fraction, ...], ...]:
        """Every sample's target as a vector, whatever the number of outputs."""
        return tuple(t if isinstance(t, tuple) else (t,) for t in self.y)

    def options(self, layer: int) -> dict[str, Fraction]:
        """The activation options of a 1-based layer."""
        return dict(self.activation_options[layer - 1]) if self.activation_options else {}

    @property
    def parameter_count(self) -> int:
        return parameter_count(self.sizes)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(f"w{i}" for i in range(self.parameter_count))

    def notation_for(self, key: str, default: str) -> str:
        return dict(self.notation).get(key, default)


def parameter_count(sizes: tuple[int, ...]) -> int:
    """Weights plus biases of a fully connected network."""
    return sum((fan_in + 1) * width for fan_in, width in zip(sizes, sizes[1:]))


def derivations_dir() -> Path:
    """The folder of bundled specs: inside the wheel, or the repository's `derivations/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "derivations", here.parent.parent / "derivations"):
        if candidate.is_dir():
            return candidate
    return here / "derivations"


def resolve_path(name_or_path: str | Path) -> Path:
    """A spec given as a path, or as a name in `derivations/`."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or len(path.parts) > 1:
        return path
    return derivations_dir() / f"{name_or_path}.toml"


def load(name_or_path: str | Path = DEFAULT_SPEC) -> Spec:
    """Load and validate a spec. `load("inf264_hw4")` reads `derivations/inf264_hw4.toml`."""
    path = resolve_path(name_or_path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(shown, "(file)", f"cannot read the file ({error.strerror})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(shown, "(file)", f"larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(shown, "(file)", "expected UTF-8 text") from None
    return parse(text, shown, default_name=path.stem)


def parse(text: str, path: str = "<spec>", default_name: str = "spec") -> Spec:
    """Validate TOML text as a spec; decimals are read exactly."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        line = int(match.group(1)) if match else None
        raise SpecError(path, "(syntax)", f"invalid TOML: {error}", line) from None
    return _Reader(text, path).spec(data, default_name)


class _Reader:
    """Validates one parsed TOML document, knowing its text so errors can give line numbers."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path

    def fail(self, key: str, expected: str) -> SpecError:
        return SpecError(self.path, key, expected, _line_of(self.text, key))

    def table(self, data: dict, key: str, required: bool = True) -> dict:
        value = data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            return_what = "missing" if value is None else f"got {_kind(value)}"
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
            raise self.fail(dotted, f"expected a non-empty string, got {_kind(value)}")
        return value

    def number(self, value: Any, dotted: str) -> Fraction:
        if isinstance(value, bool):
            raise self.fail(dotted, "expected a number, got a boolean")
        if isinstance(value, (int, Decimal)):
            if isinstance(value, Decimal) and not value.is_finite():
                raise self.fail(dotted, "expected a finite number")
            return Fraction(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,60}(\s*/\s*\d{1,60})?\s*", value):
            try:
                return Fraction(value.replace(" ", ""))
            except ZeroDivisionError:
                raise self.fail(dotted, "division by zero") from None
        raise self.fail(dotted, f"expected a number (or a fraction string like \"13/10\"), got {_kind(value)}")

    def numbers(self, value: Any, dotted: str, length: int | None = None) -> tuple[Fraction, ...]:
        if not isinstance(value, list):
            raise self.fail(dotted, f"expected a list of numbers, got {_kind(value)}")
        if length is not None and len(value) != length:
            raise self.fail(dotted, f"expected {length} numbers, got {len(value)}")
        return tuple(self.number(item, f"{dotted}[{i}]") for i, item in enumerate(value))

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
        if loss not in LOSSES:
            raise self.fail("loss.kind", f"unknown loss '{loss}'; expected one of {', '.join(LOSSES)}")
        loss_options = self.loss_options(loss_table, loss)
        self.check_pairing(activations, loss, sizes)
        x, y = self.data(self.table(data, "data"), sizes, loss)
        init = self.init(self.table(data, "parameters"), sizes)
        training = self.table(data, "training")
        rate = self.number(self.get(training, "training.learning_rate"), "training.learning_rate")
        if rate <= 0:
            raise self.fail("training.learning_rate", "expected a positive number")
        steps = self.get(training, "training.steps", required=False)
        steps = 1 if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
            raise self.fail("training.steps", "expected an integer from 1 to 10000")
        notation = self.notation(self.table(data, "notation", required=False))
        for key in data:
            if key not in TOP_LEVEL:
                raise self.fail(key, f"unknown key{suggest(key, TOP_LEVEL)}; expected one of {', '.join(TOP_LEVEL)}")
        variants = self.variants(self.table(data, "variants", required=False), x, y, init)
        tolerance = None
        if "tolerance" in data:
            tolerance = read_tolerance(self.table(data, "tolerance"), self.fail)
        layout, above = self.sheet(self.table(data, "sheet", required=False))
        return Spec(name, title, sizes, activations, loss, x, y, init, rate, steps, notation, self.path,
                    options, loss_options, variants, tolerance, layout, above)

    def sheet(self, table: dict) -> tuple[str, int]:
        for key in table:
            if key not in SHEET_KEYS:
                raise self.fail(f"sheet.{key}", f"unknown key{suggest(key, SHEET_KEYS)}; expected one of "
                                f"{', '.join(SHEET_KEYS)}")
        layout = table.get("layout", "auto")
        if layout not in LAYOUTS:
            raise self.fail("sheet.layout", f"expected one of {', '.join(LAYOUTS)}")
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
        bound = self.number(table.get("max_abs_answer", 100), "variants.max_abs_answer")
        if bound <= 0:
            raise self.fail("variants.max_abs_answer", "expected a positive number")
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
        shared = {k: network[k] for k in ("relu_derivative_at_zero", "alpha") if k in network}
        names, options = [], []
        for i, entry in enumerate(entries):
            key = f"network.activations[{i}]"
            table = dict(entry) if isinstance(entry, dict) else {"name": entry}
            activation = table.pop("name", None)
            if not isinstance(activation, str):
                raise self.fail(key, "expected an activation name, or a table with a 'name'")
            if activation not in ACTIVATIONS:
                raise self.fail(key, f"unknown activation '{activation}'; expected one of {', '.join(ACTIVATIONS)}")
            if activation == "softmax" and i != len(entries) - 1:
                raise self.fail(key, "softmax is only allowed on the output layer")
            allowed = ACTIVATION_OPTIONS.get(activation, set())
            if activation == "relu" and "relu_derivative_at_zero" in shared:
                table.setdefault("derivative_at_zero", shared["relu_derivative_at_zero"])
            if activation == "leaky_relu" and "alpha" in shared:
                table.setdefault("alpha", shared["alpha"])
            chosen = []
            for option, value in sorted(table.items()):
                if option not in allowed:
                    raise self.fail(f"{key}.{option}", f"unknown option for {activation}; expected one of "
                                    f"{', '.join(sorted(allowed)) or 'none'}")
                number = self.number(value, f"{key}.{option}")
                if option == "derivative_at_zero" and number not in KINK_CONVENTIONS:
                    raise self.fail(f"{key}.{option}", "expected 0, 1 or 1/2")
                if option == "alpha" and not 0 <= number < 1:
                    raise self.fail(f"{key}.{option}", "expected a slope from 0 up to (not including) 1")
                chosen.append((option, number))
            if activation == "leaky_relu" and "alpha" not in dict(chosen):
                chosen.append(("alpha", Fraction(1, 100)))
            names.append(activation)
            options.append(tuple(sorted(chosen)))
        return tuple(names), tuple(options)

    def loss_options(self, table: dict, loss: str) -> tuple[tuple[str, Fraction], ...]:
        allowed = {"absolute_error": {"derivative_at_zero"}}.get(loss, set())
        chosen = []
        for option, value in sorted(table.items()):
            if option == "kind":
                continue
            if option not in allowed:
                raise self.fail(f"loss.{option}", f"unknown option for {loss}; expected "
                                f"{', '.join(sorted(allowed)) or 'only kind'}")
            number = self.number(value, f"loss.{option}")
            if number not in (Fraction(-1), Fraction(0), Fraction(1)):
                raise self.fail(f"loss.{option}", "expected -1, 0 or 1 (the sign's value at zero)")
            chosen.append((option, number))
        return tuple(chosen)

    def check_pairing(self, activations: tuple[str, ...], loss: str, sizes: tuple[int, ...]) -> None:
        output = activations[-1]
        if loss == "binary_cross_entropy" and (output != "sigmoid" or sizes[-1] != 1):
            raise self.fail("loss.kind", "binary_cross_entropy expects one sigmoid output unit")
        if loss == "softmax_cross_entropy" and (output != "softmax" or sizes[-1] < 2):
            raise self.fail("loss.kind", "softmax_cross_entropy expects a softmax output layer of 2 or more units")
        if output == "softmax" and loss != "softmax_cross_entropy":
            raise self.fail("network.activations", "a softmax output goes with loss kind softmax_cross_entropy")
        for i, activation in enumerate(activations[:-1]):
            if activation == "softmax":
                raise self.fail(f"network.activations[{i}]", "softmax is only allowed on the output layer")

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
        outputs = sizes[-1]
        if outputs == 1:
            y = self.numbers(targets, "data.y", len(x))
            if loss == "binary_cross_entropy" and any(not 0 <= t <= 1 for t in y):
                raise self.fail("data.y", "binary cross-entropy targets must lie in [0, 1]")
            return x, y
        y = []
        for n, target in enumerate(targets):
            key = f"data.y[{n}]"
            if isinstance(target, int) and not isinstance(target, bool) and loss == "softmax_cross_entropy":
                if not 0 <= target < outputs:
                    raise self.fail(key, f"expected a class index from 0 to {outputs - 1}")
                y.append(tuple(Fraction(int(k == target)) for k in range(outputs)))
                continue
            vector = self.numbers(target, key, outputs)
            if loss == "softmax_cross_entropy" and (sum(vector) != 1 or any(v < 0 for v in vector)):
                raise self.fail(key, "a softmax cross-entropy target is one-hot (or a distribution summing to 1)")
            y.append(vector)
        return x, tuple(y)

    def init(self, table: dict, sizes: tuple[int, ...]) -> tuple[Fraction, ...]:
        count = parameter_count(sizes)
        init = self.get(table, "parameters.init")
        if isinstance(init, dict):
            names = [f"w{i}" for i in range(count)]
            unknown = sorted(set(init) - set(names))
            if unknown:
                raise self.fail("parameters.init", f"unknown parameter '{unknown[0]}'; expected w0..w{count - 1}")
            missing = [n for n in names if n not in init]
            if missing:
                raise self.fail("parameters.init", f"missing parameter '{missing[0]}' (expected w0..w{count - 1})")
            return tuple(self.number(init[n], f"parameters.init.{n}") for n in names)
        if not isinstance(init, list):
            raise self.fail("parameters.init", f"expected a list or a table of numbers, got {_kind(init)}")
        if len(init) != count:
            raise self.fail(
                "parameters.init", f"expected {count} numbers for sizes {list(sizes)}, got {len(init)}"
            )
        return self.numbers(init, "parameters.init", count)

    def notation(self, table: dict) -> tuple[tuple[str, str], ...]:
        pairs = []
        for key, value in sorted(table.items()):
            dotted = f"notation.{key}"
            if key not in NOTATION_KEYS:
                raise self.fail(dotted, f"unknown notation key; expected one of {', '.join(NOTATION_KEYS)}")
            if not isinstance(value, str) or not value.strip():
                raise self.fail(dotted, "expected a non-empty LaTeX string")
            if key == "style":
                allowed = STYLES
                if value not in allowed:
                    raise self.fail(dotted, f"expected one of {', '.join(allowed)}")
                pairs.append((key, value))
                continue
            check_notation_latex(value, lambda why, dotted=dotted: self.fail(dotted, why))
            pairs.append((key, value))
        return tuple(pairs)


def read_tolerance(table, fail) -> Tolerance:
    """A `[tolerance]` table (in a spec or an answers file); `fail(key, why)` builds the error."""
    if not isinstance(table, dict):
        raise fail("tolerance", "expected a table [tolerance]")
    for key in table:
        if key not in TOLERANCE_KEYS:
            raise fail(f"tolerance.{key}", f"unknown key{suggest(key, TOLERANCE_KEYS)}; expected one of {', '.join(TOLERANCE_KEYS)}")
    sigfigs = table.get("sigfigs", 3)
    if isinstance(sigfigs, bool) or not isinstance(sigfigs, int) or not 1 <= sigfigs <= 30:
        raise fail("tolerance.sigfigs", "expected an integer from 1 to 30")
    bounds = {}
    for key in ("relative", "absolute"):
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0):
            raise fail(f"tolerance.{key}", "expected a non-negative number")
        bounds[key] = None if value is None else Decimal(value)
    return Tolerance(sigfigs, bounds["relative"], bounds["absolute"])


def decimal_text(value: Fraction) -> str | None:
    """The exact decimal of a fraction whose expansion ends (`0.01`, `-3`, `2.5`), else None (1/3)."""
    value = Fraction(value)
    q, twos, fives = value.denominator, 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q != 1:
        return None
    places = max(twos, fives)
    digits = value.numerator * 2 ** (places - twos) * 5 ** (places - fives)  # value × 10^places, exactly
    text = format(Decimal(digits).scaleb(-places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_notation_latex(value: str, fail) -> None:
    """Allow only harmless math LaTeX in notation: letters, digits, braces and whitelisted commands."""
    if len(value) > 80:
        raise fail("expected at most 80 characters")
    if not re.fullmatch(r"[A-Za-z0-9\\{}_^' ]+", value):
        raise fail("expected letters, digits, braces, '_', '^', ''' and LaTeX commands only")
    for word in re.findall(r"\\([A-Za-z]+|.)", value):
        if word not in SAFE_CONTROL_WORDS:
            raise fail(f"LaTeX command '\\{word}' is not allowed in notation")
    depth = 0
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise fail("unbalanced braces")


def _kind(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", Decimal: "a number", str: "a string",
        list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


def _line_of(text: str, dotted: str) -> int | None:
    """Best-effort line number of a dotted key such as `network.sizes` or `data.x[1]`."""
    parts = re.sub(r"\[\d+\]", "", dotted).split(".")
    if parts[0].startswith("("):
        return None
    table, key = (".".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", parts[0])
    if len(parts) > 2:  # e.g. parameters.init.w3 or notation.key: find the key inside [parameters] first
        table, key = parts[0], parts[1]
    current = ""
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([A-Za-z0-9_.\"-]+)\s*\]", stripped)
        if header:
            current = header.group(1)
            if current == table:
                header_line = number
            continue
        if current == table and re.match(rf"['\"]?{re.escape(key)}['\"]?\s*=", stripped):
            return number
    if header_line is None and len(parts) == 1:  # a top-level table: its [header]
        for number, line in enumerate(text.splitlines(), start=1):
            if re.match(rf"\[\s*{re.escape(key)}\s*\]", line.strip()):
                return number
    return header_line
