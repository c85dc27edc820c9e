"""Time `chainrule solve --no-pdf` on the homework against the import floor, as whole processes.

Baseline (from the issue): `python -c "import sympy, jinja2"`. Both run alternately, several times,
in the same run; the script prints each median and the median ratio. Target: ratio <= 1.6 (issue 11).
`--baseline-src DIR` also times another source tree (e.g. `git archive` of an older commit, its
`src/` folder) in the same run, for a before/after ratio on a noisy machine.
Usage: python benchmarks/solve.py [--runs N] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 1.6


def wall(command: list[str], source: str | None = None) -> float:
    env = dict(os.environ, PYTHONPATH=source) if source else None
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--baseline-src", help="another checkout's src/ folder, timed in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        floor_cmd = [sys.executable, "-c", "import sympy, jinja2"]
        solve_cmd = [sys.executable, "-m", "chainrule", "solve", "inf264_hw4", "--no-pdf", "--out", out]
        wall(floor_cmd), wall(solve_cmd)  # warm the file cache
        floors, solves, ratios, olds, old_ratios = [], [], [], [], []
        for _ in range(args.runs):
            floor, solve = wall(floor_cmd), wall(solve_cmd)
            floors.append(floor)
            solves.append(solve)
            ratios.append(solve / floor)
            if args.baseline_src:
                olds.append(wall(solve_cmd, args.baseline_src))
                old_ratios.append(olds[-1] / floor)
    print(f"import sympy, jinja2     median {statistics.median(floors):.3f} s over {args.runs} runs")
    print(f"chainrule solve --no-pdf median {statistics.median(solves):.3f} s")
    if olds:
        print(f"baseline source tree     median {statistics.median(olds):.3f} s, "
              f"median ratio {statistics.median(old_ratios):.2f}")
    ratio = statistics.median(ratios)
    print(f"median ratio {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
