"""How `chainrule solve --no-pdf --json` scales, against naive SymPy, as whole processes.

Targets (issue 11): [2,32,32,1] ReLU with 8 samples <= 2 s; [8,32,32,4] tanh + softmax cross-entropy
with 8 samples <= 5 s; [2,64,64,1] ReLU with 8 samples <= 10 s; growth close to linear in
parameters x samples. Earlier targets ([2,4,4,1] <= 2 s, [2,16,16,1] <= 10 s, [4,8,3] tanh + softmax
<= 10 s) are still timed. The naive baseline (composed loss, sympy.diff for every parameter, then
subs per sample) runs on [2,4,4,1] in the same run, under a time limit. Each case prints the wall
median and the child's CPU seconds (user + system, median): on a shared machine the CPU figure is
the steadier one. A case that runs past --limit is stopped and reported as such.
`--baseline-src DIR` also times another source tree (its `src/` folder) in the same run.
Usage: python benchmarks/scale.py [--runs N] [--naive-limit SECONDS] [--limit SECONDS] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import os
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


def run(command: list[str], limit: float | None = None, source: str | None = None) -> tuple[float, float, bool, float]:
    """Wall seconds, peak memory of the children so far (MiB), whether it finished in time, and its CPU seconds."""
    env = dict(os.environ, PYTHONPATH=source) if source else dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, not at every run
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit,
                       env=env)
        finished = True
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError):  # too slow, or refused (an older cap)
        finished = False
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, after.ru_maxrss / 1024, finished, cpu


def timed(command: list[str], runs: int, limit: float, source: str | None = None) -> tuple[float, float, bool]:
    """Median wall and CPU seconds over `runs`; stops at the first run past the limit."""
    walls, cpus = [], []
    for _ in range(runs):
        seconds, _, finished, cpu = run(command, limit, source)
        if not finished:
            return seconds, cpu, False
        walls.append(seconds)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus), True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-limit", type=float, default=120.0)
    parser.add_argument("--limit", type=float, default=300.0, help="stop a case after this many seconds")
    parser.add_argument("--baseline-src", help="another checkout's src/ folder, timed in the same run")
    parser.add_argument("--deep-tanh", action="store_true",
                        help="also run [8,32,32,4] tanh + softmax: its exact JSON strings run to gigabytes (see README)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        relu = lambda sizes: ["relu"] * (len(sizes) - 2) + ["identity"]  # noqa: E731
        cases = [
            ("relu [2,32,32,1], 8 samples", write_spec(root, "r2_32_32_1", (2, 32, 32, 1), relu((2, 32, 32, 1)),
                                                       "squared_error", 8, 7), 2.0),
            ("tanh+softmax [8,32,32,4], 8 samples", write_spec(root, "t8_32_32_4", (8, 32, 32, 4),
                                                               ["tanh", "tanh", "softmax"], "softmax_cross_entropy",
                                                               8, 5, classes=True), 5.0),
            ("relu [2,64,64,1], 8 samples", write_spec(root, "r2_64_64_1", (2, 64, 64, 1), relu((2, 64, 64, 1)),
                                                       "squared_error", 8, 9), 10.0),
            ("relu [2,4,4,1], 4 samples", write_spec(root, "r2441", (2, 4, 4, 1), relu((2, 4, 4, 1)),
                                                     "squared_error", 4, 1), 2.0),
            ("relu [2,16,16,1], 8 samples", write_spec(root, "r2_16_16_1", (2, 16, 16, 1), relu((2, 16, 16, 1)),
                                                       "squared_error", 8, 2), 10.0),
            ("tanh+softmax [4,8,3], 4 samples", write_spec(root, "t483", (4, 8, 3), ["tanh", "softmax"],
                                                           "softmax_cross_entropy", 4, 3, classes=True), 10.0),
        ]
        out = root / "out"
        solve = lambda path: [sys.executable, "-m", "chainrule", "solve", str(path), "--no-pdf", "--json",  # noqa: E731
                              "--out", str(out)]
        floor_wall, floor_cpu, _ = timed([sys.executable, "-c", "import sympy, jinja2"], args.runs, args.limit)
        print(f"floor: import sympy, jinja2 {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU (median of {args.runs})")
        print(f"{'case':38} {'wall s':>7} {'CPU s':>6} {'target':>6}")
        for label, path, target in cases:
            if "[8,32,32,4]" in label and not args.deep_tanh:
                print(f"{label:38} not run (pass --deep-tanh): the exact values in --json grow past gigabytes")
                continue
            wall, cpu, finished = timed(solve(path), args.runs, args.limit)
            verdict = ("met" if wall <= target else f"wall NOT met{', CPU met' if cpu <= target else ''}") \
                if finished else f"stopped after {args.limit:.0f} s or failed"
            line = f"{label:38} {wall:7.2f} {cpu:6.2f} {target:6.1f}  {verdict}"
            if args.baseline_src:
                old_wall, old_cpu, old_finished = timed(solve(path), 1, args.limit, args.baseline_src)
                line += f"   baseline {old_wall:.2f} s wall, {old_cpu:.2f} s CPU" + ("" if old_finished else " (stopped or refused)")
            print(line, flush=True)
        naive_path = root / "naive.py"
        naive_path.write_text(NAIVE, encoding="utf-8")
        seconds, _, finished, _ = run([sys.executable, str(naive_path), str(cases[3][1])], args.naive_limit)
        ours = timed(solve(cases[3][1]), 1, args.limit)[0]
        shown = f"{seconds:.1f} s" if finished else f"> {args.naive_limit:.0f} s (stopped)"
        print(f"naive SymPy diff+subs on [2,4,4,1]: {shown}; chainrule is {seconds / ours:.0f}x faster"
              + ("" if finished else " (at least)"))
        print(f"\ngrowth (ReLU, median of {args.runs}): parameters x samples -> seconds (CPU per parameter x sample)")
        for sizes, samples in (((2, 4, 1), 4), ((2, 8, 8, 1), 4), ((2, 16, 16, 1), 4), ((2, 16, 16, 1), 16),
                               ((2, 32, 32, 1), 8), ((2, 64, 64, 1), 8)):
            path = write_spec(root, "g" + "_".join(map(str, sizes)) + f"_{samples}", sizes, relu(sizes),
                              "squared_error", samples, 7)
            count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
            wall, cpu, _ = timed(solve(path), args.runs, args.limit)
            above = max(cpu - floor_cpu, 0) / (count * samples) * 1e6
            print(f"  {str(list(sizes)):16} {count:5d} parameters {samples:3d} samples  {wall:6.2f} s wall "
                  f"{cpu:6.2f} s CPU  {above:6.1f} µs CPU above the floor per parameter x sample", flush=True)


if __name__ == "__main__":
    main()
