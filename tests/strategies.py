"""Hypothesis strategies shared by the tests: small random networks written as spec text."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from chainrule.core.spec import Spec
from chainrule.core.spec_reader import parse

small_rationals = st.builds(Fraction, st.integers(-3, 3), st.sampled_from([1, 2]))


def toml_list(values) -> str:
    return "[" + ", ".join(f'"{v.numerator}/{v.denominator}"' for v in values) + "]"


@st.composite
def network_specs(draw, *, hidden_layers=(1, 2), widths=(1, 3), inputs=(1, 3),
                  activations=("relu", "identity"), learning_rates=("1/10", "1/4", "1/2")) -> Spec:
    """[n_in, hidden..., 1] with the given choices; small rationals hit ReLU kinks exactly."""
    hidden = draw(st.lists(st.integers(*widths), min_size=hidden_layers[0], max_size=hidden_layers[1]))
    sizes = [draw(st.integers(*inputs)), *hidden, 1]
    chosen = [draw(st.sampled_from(activations)) for _ in hidden] + ["identity"]
    samples = draw(st.integers(1, 3))
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    rows = [draw(st.lists(small_rationals, min_size=sizes[0], max_size=sizes[0])) for _ in range(samples)]
    text = f"""
[network]
sizes = {sizes}
activations = {chosen!r}
[loss]
kind = "{draw(st.sampled_from(["squared_error", "half_squared_error"]))}"
[data]
x = [{", ".join(toml_list(row) for row in rows)}]
y = {toml_list(draw(st.lists(small_rationals, min_size=samples, max_size=samples)))}
[parameters]
init = {toml_list(draw(st.lists(small_rationals, min_size=count, max_size=count)))}
[training]
learning_rate = "{draw(st.sampled_from(learning_rates))}"
"""
    return parse(text.replace("'", '"'))
