"""How `chainrule solve --no-pdf --json` scales, against naive SymPy, as whole processes.

Targets (issue "Any small network"): [2,4,4,1] ReLU with 4 samples <= 2 s; [2,16,16,1] ReLU with
8 samples <= 10 s; [4,8,3] tanh + softmax cross-entropy with 4 samples <= 10 s. The naive baseline
(composed loss, sympy.diff for every parameter, then subs per sample) runs on [2,4,4,1] in the same
run, under a time limit. Also prints how the cost grows with parameters and samples.
Usage: python benchmarks/scale.py [--runs N] [--naive-limit SECONDS]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAIVE = r'''
import sys, tomllib
from decimal import Decimal
import sympy as sp
spec = tomllib.loads(open(sys.argv[1]).read(), parse_float=Decimal)
sizes = spec["network"]["sizes"]
xs = [sp.Symbol(f"x{i}", real=True) for i in range(sizes[0])]
y = sp.Symbol("y", real=True)
count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
w = [sp.Symbol(f"w{i}", real=True) for i in range(count)]
it = iter(w)
a = xs
for layer, width in enumerate(sizes[1:], start=1):
    out = []
    for _ in range(width):
        z = sum(next(it) * s for s in a) + next(it)
        out.append(z if layer == len(sizes) - 1 else sp.Piecewise((0, z <= 0), (z, True)))
    a = out
loss = (a[0] - y) ** 2
grads = [sp.diff(loss, p) for p in w]
init = [sp.Rational(str(v)) for v in spec["parameters"]["init"]]
for x, t in zip(spec["data"]["x"], spec["data"]["y"]):
    point = {**dict(zip(w, init)), **{s: sp.Rational(str(v)) for s, v in zip(xs, x)}, y: sp.Rational(str(t))}
    [g.subs(point) for g in grads]
'''


def write_spec(folder: Path, name: str, sizes, activations, loss, samples, seed, classes=False) -> Path:
    rng = random.Random(seed)
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    x = [[rng.choice([-2, -1, -0.5, 0.5, 1, 1.5, 2]) for _ in range(sizes[0])] for _ in range(samples)]
    y = [rng.randrange(sizes[-1]) for _ in range(samples)] if classes else \
        [rng.choice([-1, 0.5, 1, 2]) for _ in range(samples)]
    init = [rng.choice([-0.5, -0.25, 0.25, 0.5, 0.75, 1]) for _ in range(count)]
    names = ", ".join(f'"{a}"' for a in activations)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\n[network]\nsizes = {list(sizes)}\nactivations = [{names}]\n'
                    f'[loss]\nkind = "{loss}"\n[data]\nx = {x}\ny = {y}\n[parameters]\ninit = {init}\n'
                    f'[training]\nlearning_rate = 0.01\n', encoding="utf-8")
    return path


def run(command: list[str], limit: float | None = None) -> tuple[float, float, bool]:
    """Wall seconds, peak memory of the child (MiB), and whether it finished in time."""
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.perf_counter() - start, peak, finished


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-limit", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cases = [
            ("relu [2,4,4,1], 4 samples", write_spec(root, "r2441", (2, 4, 4, 1), ["relu", "relu", "identity"],
                                                     "squared_error", 4, 1), 2.0),
            ("relu [2,16,16,1], 8 samples", write_spec(root, "r2_16_16_1", (2, 16, 16, 1),
                                                       ["relu", "relu", "identity"], "squared_error", 8, 2), 10.0),
            ("tanh+softmax [4,8,3], 4 samples", write_spec(root, "t483", (4, 8, 3), ["tanh", "softmax"],
                                                           "softmax_cross_entropy", 4, 3, classes=True), 10.0),
        ]
        out = root / "out"
        solve = lambda path: [sys.executable, "-m", "chainrule", "solve", str(path), "--no-pdf", "--json",  # noqa: E731
                              "--out", str(out)]
        results = {}
        print(f"{'case':34} {'median s':>9} {'target':>7}  peak MiB")
        for label, path, target in cases:
            times = [run(solve(path))[0] for _ in range(args.runs)]
            peak = run(solve(path))[1]
            results[label] = statistics.median(times)
            verdict = "met" if results[label] <= target else "NOT met"
            print(f"{label:34} {results[label]:9.2f} {target:7.1f}  {peak:8.0f}  {verdict}")
        naive_path = root / "naive.py"
        naive_path.write_text(NAIVE, encoding="utf-8")
        seconds, _, finished = run([sys.executable, str(naive_path), str(cases[0][1])], args.naive_limit)
        ours = results[cases[0][0]]
        shown = f"{seconds:.1f} s" if finished else f"> {args.naive_limit:.0f} s (stopped)"
        print(f"naive SymPy diff+subs on [2,4,4,1]: {shown}; chainrule is {seconds / ours:.0f}x faster"
              + ("" if finished else " (at least)"))
        print("\ngrowth (median of 3): parameters x samples -> seconds")
        for sizes, samples in (((2, 4, 1), 4), ((2, 8, 8, 1), 4), ((2, 16, 16, 1), 4), ((2, 16, 16, 1), 16),
                               ((2, 32, 32, 1), 8)):
            path = write_spec(root, "g" + "_".join(map(str, sizes)) + f"_{samples}", sizes,
                              ["relu"] * (len(sizes) - 2) + ["identity"], "squared_error", samples, 7)
            count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
            median = statistics.median(run(solve(path))[0] for _ in range(3))
            print(f"  {str(list(sizes)):16} {count:5d} parameters {samples:3d} samples  {median:6.2f} s")


if __name__ == "__main__":
    main()
