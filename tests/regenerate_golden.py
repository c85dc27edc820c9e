"""Regenerate tests/golden/ on purpose: `make golden` (review the diff before committing)."""

from pathlib import Path

from chainrule.core.solution import solve
from chainrule.render.documents import render
from chainrule.render.textplot import bars, lines

GOLDEN = Path(__file__).parent / "golden"
SPECS = ("inf264_hw4", "two_hidden_units")


def bars_example() -> str:
    xs = [k / 10 for k in range(11)]
    ys = [(x - 0.4) ** 2 for x in xs]
    return bars(xs, ys, height=4, marks={4: "*"}, shade=[y < 0.1 for y in ys], x_label="x", y_label="(x-0.4)^2")


def lines_example() -> str:
    series = [("halving", [2.0 ** -k for k in range(9)]), ("growing", [3.0 ** k for k in range(5)])]
    return lines(series, width=17, height=5, log=True)


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    outputs = {f"{name}-solution.tex": render(solve(name)) for name in SPECS}
    outputs.update({"bars.txt": bars_example(), "lines.txt": lines_example()})
    for filename, text in outputs.items():
        (GOLDEN / filename).write_text(text, encoding="utf-8")
        print(f"wrote {GOLDEN / filename}")


if __name__ == "__main__":
    main()
