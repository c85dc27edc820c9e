"""Benchmark `chainrule check` against the import floor, as whole processes.

1. One complete, correct answers file for the homework (24 numbers and 5 proofs) against
   `python -c "import sympy, jinja2, lark"`: median ratio, target <= 2.5.
2. A class of 200 generated answers files (right answers, catalogue mistakes, rounding, missing
   keys, proofs in LaTeX and plain spellings, some wrong steps) checked in one call on all cores:
   files per second, target >= 50.
Usage: python benchmarks/check.py [--runs N] [--files N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "tests" / "answers" / "correct.toml"

PROOFS = {
    "w0": [r"\frac{\partial L}{\partial w_0} = \frac{\partial L}{\partial z}\cdot\frac{\partial z}{\partial w_0} = \delta_h \cdot x[0]",
           "dL/dw0 = dL/dz * dz/dw0 = delta_h * x0",
           "dL/dw0 = delta_h * x0 = 2*(yhat - y)*w3*x0"],
    "w1": [r"\frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial z}\cdot\frac{\partial z}{\partial w_1} = \delta_h \cdot x[1]",
           "dL/dw1 = dL/dz * dz/dw1 = delta_h * x1",
           "dL/dw1 = dL/dz * dz/dw1 = delta_h * x0"],
    "w2": ["dL/dw2 = dL/dz * dz/dw2 = delta_h", r"\partial L / \partial w_2 = \delta_h \cdot 1"],
    "w3": [r"\frac{\partial L}{\partial w_3} = \frac{\partial L}{\partial \hat{y}} \cdot \frac{\partial \hat{y}}{\partial w_3} = \delta_{\hat{y}} \cdot h",
           "dL/dw3 = dL/dyhat * dyhat/dw3 = delta_yhat * h"],
    "w4": ["dL/dw4 = dL/dyhat * dyhat/dw4 = delta_yhat", "dL/dw4 = dL/dyhat = delta_yhat"],
}


def generate(folder: Path, count: int) -> list[Path]:
    """A varied class: each file draws, per key, the right value, a catalogue mistake, a coarse
    rounding or nothing, and a proof spelling (some with a wrong step)."""
    sys.path.insert(0, str(ROOT / "src"))
    from chainrule.check.answer_key import answer_key
    from chainrule.check.answers import answer_keys

    key = answer_key("inf264_hw4")
    rng = random.Random(264)
    paths = []
    for n in range(count):
        lines = ['spec = "inf264_hw4"', f'student = "student {n:03d}"', "[answers]"]
        for name, _ in answer_keys(key.spec):
            roll = rng.random()
            if roll < 0.08:
                continue
            if roll < 0.25:
                value = rng.choice(key.variants)[1][name]
            else:
                value = key.values[name]
            text = str(value) if rng.random() < 0.4 else f"{float(value):.{rng.choice([2, 4, 6])}f}"
            lines.append(f'"{name}" = "{text}"')
        lines.append("[proofs]")
        for parameter, options in PROOFS.items():
            if rng.random() < 0.9:
                lines.append(f"{parameter} = '''{rng.choice(options)}'''")
        path = folder / f"student{n:03d}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def wall(command: list[str], ok=(0, 1)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode not in ok:
        raise SystemExit(f"{command[:4]} failed: {result.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    chainrule = [sys.executable, "-m", "chainrule"]
    floor_cmd = [sys.executable, "-c", "import sympy, jinja2, lark"]
    one_cmd = [*chainrule, "check", str(CORRECT)]
    wall(floor_cmd), wall(one_cmd, ok=(0,))
    floors, ones, ratios = [], [], []
    for _ in range(args.runs):
        floor, one = wall(floor_cmd), wall(one_cmd, ok=(0,))
        floors.append(floor)
        ones.append(one)
        ratios.append(one / floor)
    print(f"import sympy, jinja2, lark   median {statistics.median(floors):.3f} s over {args.runs} runs")
    print(f"check one correct file       median {statistics.median(ones):.3f} s")
    ratio = statistics.median(ratios)
    print(f"median ratio {ratio:.2f} (target <= 2.5): {'met' if ratio <= 2.5 else 'NOT met'}")
    with tempfile.TemporaryDirectory() as folder:
        paths = generate(Path(folder), args.files)
        csv = Path(folder) / "grades.csv"
        times = [wall([*chainrule, "check", *map(str, paths), "--csv", str(csv)]) for _ in range(3)]
        rows = csv.read_text(encoding="utf-8").count("\n") - 1
    best = statistics.median(times)
    rate = args.files / best
    print(f"check {args.files} files (one process, all cores)  median {best:.2f} s over 3 runs, {rows} gradebook rows")
    print(f"{rate:.0f} files/s (target >= 50): {'met' if rate >= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
