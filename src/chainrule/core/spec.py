"""Read a network spec (TOML) into an immutable `Spec`, exactly and with errors a person can act on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

DEFAULT_SPEC = "inf264_hw4"
MAX_SPEC_BYTES = 1_000_000
MAX_PARAMETERS = 20_000
MAX_SAMPLES = 1_000
MAX_STEPS = 100  # measured: 100 steps solve in 4 s (homework) to 15 s (deep_relu, 51 parameters)
# Every number is size-checked before it is converted (Fraction(Decimal("1e999999999")) would
# build a billion-digit integer): at most this many significant digits and this decimal exponent.
MAX_DIGITS = 30
MAX_EXPONENT = 30


class Reduction(StrEnum):
    """How terms combine: over the samples (`loss.reduction_samples`) or one sample's outputs."""

    MEAN = "mean"
    SUM = "sum"

    def divisor(self, count: int) -> int:
        """What the sum of `count` terms is divided by: `count` for the mean, 1 for the sum."""
        return count if self is Reduction.MEAN else 1

    @property
    def adjective(self) -> str:
        """The word before "gradient" or "loss": "mean" or "summed"."""
        return "mean" if self is Reduction.MEAN else "summed"


class Layout(StrEnum):
    """`[sheet] layout`: the answer sheet written out unit by unit, in matrix form, or by size."""

    AUTO = "auto"
    WRITTEN = "written"
    MATRIX = "matrix"


class Style(StrEnum):
    """`[notation] style`: parameter names w_0, w_1, ... (flat) or w^{(l)}_{jk}, b^{(l)}_j (layered)."""

    AUTO = "auto"
    FLAT = "flat"
    LAYERED = "layered"


TOLERANCE_KEYS = ("sigfigs", "relative", "absolute")
TOLERANCE_TABLES = ("keys", "questions")  # [tolerance.keys], [tolerance.questions]: rules per key or question
# The `[variants]` table: how per-student variants are drawn, and what keeps them instructive.
VARIANT_RANGES = ("x", "y", "parameters")
VARIANT_SWITCHES = ("dead_and_active", "avoid_kinks", "loss_decreases", "gradient_nonzero")
VARIANT_KEYS = (*VARIANT_RANGES, "decimals", *VARIANT_SWITCHES, "max_abs_answer", "max_draws")
# Names a `[notation]` table may rename, with what each one prints.
TOP_LEVEL = ("name", "title", "network", "loss", "data", "parameters", "training", "notation", "sheet",
             "variants", "tolerance")
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
class Range:
    """Where a spec number must lie; `places` bounds its decimal places (its denominator's size)."""

    low: Fraction
    high: Fraction
    low_open: bool = False
    high_open: bool = False
    places: int = 6

    def admits(self, value: Fraction) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below and value.denominator <= 10 ** self.places

    def __str__(self) -> str:
        if self.low_open and self.low == 0:
            what = "a positive number"
        else:
            what = f"a number {'above' if self.low_open else 'from'} {_plain(self.low)}"
        high = f"below {_plain(self.high)}" if self.high_open else f"up to {_plain(self.high)}"
        return f"{what} {high} (at most {self.places} decimal places, or a fraction with " \
               f"a denominator up to 10^{self.places})"


def _plain(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


# The documented range of every number in a spec (README, "The spec").
VALUE_RANGE = Range(Fraction(-1000), Fraction(1000), places=24)  # data.x, data.y, parameters.init, [variants]
LEARNING_RATE_RANGE = Range(Fraction(0), Fraction(10), low_open=True, places=12)
OPTION_RANGE = Range(Fraction(-1000), Fraction(1000), places=12)  # an activation or loss option; its record narrows it
MAX_ABS_ANSWER_RANGE = Range(Fraction(0), Fraction(10**6), low_open=True)
RELATIVE_TOLERANCE_RANGE = Range(Fraction(0), Fraction(1), places=MAX_DIGITS)
ABSOLUTE_TOLERANCE_RANGE = Range(Fraction(0), Fraction(1000), places=MAX_DIGITS)


@dataclass(frozen=True)
class Tolerance:
    """How close a decimal answer must be: correctly rounded to `sigfigs`, or within a bound.

    `keys` and `questions` hold rules for one answers-file key or one question; the most specific
    rule wins, whole (key, then question, then this one): `for_key` picks it.
    """

    sigfigs: int = 3  # the fewest significant figures a decimal answer may have
    relative: Decimal | None = None
    absolute: Decimal | None = None
    keys: tuple[tuple[str, Tolerance], ...] = ()  # ("new_loss", Tolerance(sigfigs=4)), sorted
    questions: tuple[tuple[int, Tolerance], ...] = ()  # (4, Tolerance(relative=...)), sorted

    def for_key(self, key: str) -> Tolerance:
        """The rule for one answers-file key: its own, else its question's, else this one."""
        for name, rule in self.keys:
            if name == key:
                return rule
        question = question_of(key)
        for number, rule in self.questions:
            if number == question:
                return rule
        return dataclasses.replace(self, keys=(), questions=())


QUESTIONS = {"prediction": 1, "loss": 2, "gradient": 4, "sample_gradient": 4, "updated": 5, "new_loss": 6}
NUMERIC_QUESTIONS = (1, 2, 4, 5, 6)  # question 3 is the proofs


def question_of(key: str) -> int | None:
    """The homework question an answers-file key belongs to: 'updated.w0' -> 5."""
    return QUESTIONS.get(key.split(".", 1)[0])


def prediction_keys(spec: Spec, sample: int) -> list[str]:
    """`prediction.2` for one output; `prediction.2.1`, `prediction.2.2`, ... for several."""
    if spec.outputs == 1:
        return [f"prediction.{sample}"]
    return [f"prediction.{sample}.{k}" for k in range(1, spec.outputs + 1)]


def answer_keys(spec: Spec) -> tuple[tuple[str, str], ...]:
    """Every numeric key an answers file may have for this spec, with what it asks."""
    keys = []
    for n in range(1, len(spec.x) + 1):
        for k, key in enumerate(prediction_keys(spec, n), start=1):
            output = "" if spec.outputs == 1 else f" of output {k}"
            keys.append((key, f"the prediction{output} for sample {n} (question 1)"))
    keys.append(("loss", "the loss on the dataset (question 2)"))
    total = spec.reduction_samples.adjective
    for name in spec.trained_names:
        keys.append((f"gradient.{name}", f"the {total} gradient's component for {name} (question 4)"))
    for n in range(1, len(spec.x) + 1):
        for name in spec.trained_names:
            keys.append((f"sample_gradient.{n}.{name}", f"dL/d{name} for sample {n} alone (question 4)"))
    for name in spec.trained_names:
        keys.append((f"updated.{name}", f"{name} after one gradient-descent step (question 5)"))
    keys.append(("new_loss", "the loss after the step (question 6)"))
    return tuple(keys)


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
    init: tuple[Fraction, ...]  # one per parameter, in `parameter_names` order (tied slots share one)
    learning_rate: Fraction
    steps: int
    notation: tuple[tuple[str, str], ...]
    path: str
    activation_options: tuple[tuple[tuple[str, Fraction], ...], ...] = ()  # per layer, e.g. (("alpha", 1/10),)
    loss_options: tuple[tuple[str, Fraction], ...] = ()  # e.g. (("derivative_at_zero", 0),) for absolute_error
    variants: VariantRules | None = None  # None only for specs built by hand; `parse` always fills it
    tolerance: Tolerance | None = None  # the instructor's `[tolerance]`; it overrides an answers file's
    layout: Layout = Layout.AUTO  # the answer sheet
    matrix_above: int = MATRIX_ABOVE  # `auto`: the matrix form above this many parameters
    # Issue 13's options; the defaults are the homework's network (every spec before them reads the same).
    reduction_samples: Reduction = Reduction.MEAN  # the dataset loss from the per-sample losses
    reduction_outputs: Reduction = Reduction.SUM  # one sample's loss from its per-output terms
    bias: tuple[bool, ...] = ()  # one per non-input layer; () means every layer has biases
    names: tuple[str, ...] = ()  # one per slot as `[parameters] names` gives them; () means w0, w1, ...
    ties: tuple[tuple[str, ...], ...] = ()  # groups of slot names that are one parameter (the first names it)
    frozen: tuple[str, ...] = ()  # parameter names held at their initial value

    def __post_init__(self) -> None:
        # The reader gives members; a Spec built by hand (tests, `dataclasses.replace`) may give the
        # words, and every comparison elsewhere is by member.
        for field, kind in (("layout", Layout), ("reduction_samples", Reduction), ("reduction_outputs", Reduction)):
            object.__setattr__(self, field, kind(getattr(self, field)))

    @property
    def matrix_sheet(self) -> bool:
        """Does the answer sheet use vector and matrix notation (the layout, or the size threshold)?"""
        if self.bias or self.ties:  # the matrix form writes W a + b with one entry per slot: the written sheet
            return False
        return self.layout is Layout.MATRIX or (self.layout is Layout.AUTO and self.parameter_count > self.matrix_above)

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

    def has_bias(self, layer: int) -> bool:
        """Whether the units of a 1-based layer have a bias."""
        return self.bias[layer - 1] if self.bias else True

    @property
    def slot_count(self) -> int:
        """Weights plus biases: the places a parameter is used (tied ones count each place)."""
        return parameter_count(self.sizes, self.bias)

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Each slot's name as the spec gives it, in flat order."""
        return self.names or tuple(f"w{i}" for i in range(self.slot_count))

    @property
    def slot_parameters(self) -> tuple[str, ...]:
        """The parameter each slot uses: its own name, or its tie group's first name."""
        owner = {name: group[0] for group in self.ties for name in group}
        return tuple(owner.get(name, name) for name in self.slot_names)

    @property
    def parameter_count(self) -> int:
        return len(self.parameter_names)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameters in flat order of their first slot (θ's order everywhere)."""
        return tuple(dict.fromkeys(self.slot_parameters))

    @property
    def trained_names(self) -> tuple[str, ...]:
        """The parameters gradient descent updates (and answers ask about): all but the frozen ones."""
        return tuple(n for n in self.parameter_names if n not in self.frozen)

    @property
    def step_mask(self) -> tuple[int, ...]:
        """1 for a parameter a step updates, 0 for a frozen one, in θ's order."""
        return tuple(int(n not in self.frozen) for n in self.parameter_names)

    def notation_for(self, key: str, default: str) -> str:
        return dict(self.notation).get(key, default)

    @property
    def style(self) -> Style:
        """`[notation] style` as the spec states it (`auto` unless given)."""
        return Style(self.notation_for("style", Style.AUTO))


def parameter_count(sizes: tuple[int, ...], bias: tuple[bool, ...] = ()) -> int:
    """Weights plus biases (slots) of a fully connected network; `bias` as `Spec.bias`."""
    with_bias = bias or (True,) * (len(sizes) - 1)
    return sum((fan_in + int(b)) * width for fan_in, width, b in zip(sizes, sizes[1:], with_bias))


def derivations_dir() -> Path:
    """The folder of bundled specs: inside the wheel, or the repository's `derivations/`."""
    package = Path(__file__).resolve().parents[1]  # src/chainrule (or chainrule in a wheel)
    for candidate in (package / "derivations", package.parent.parent / "derivations"):
        if candidate.is_dir():
            return candidate
    return package / "derivations"


def resolve_path(name_or_path: str | Path) -> Path:
    """A spec given as a path, or as a name in `derivations/`."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or len(path.parts) > 1:
        return path
    return derivations_dir() / f"{name_or_path}.toml"


