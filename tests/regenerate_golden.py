"""Regenerate tests/golden/*.tex on purpose: `make golden` (review the diff before committing)."""

from pathlib import Path

from chainrule.rendering import render
from chainrule.solution import solve

GOLDEN = Path(__file__).parent / "golden"
SPECS = ("inf264_hw4", "two_hidden_units")


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in SPECS:
        path = GOLDEN / f"{name}-solution.tex"
        path.write_text(render(solve(name)), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
