"""Time `chainrule solve --no-pdf` on the homework against the import floor, as whole processes.

Baseline (from the issue): `python -c "import sympy, jinja2"`. Both run alternately, several times,
in the same run; the script prints each median and the median ratio. Target: ratio <= 2.5.
Usage: python benchmarks/solve.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        floor_cmd = [sys.executable, "-c", "import sympy, jinja2"]
        solve_cmd = [sys.executable, "-m", "chainrule", "solve", "inf264_hw4", "--no-pdf", "--out", out]
        wall(floor_cmd), wall(solve_cmd)  # warm the file cache
        floors, solves, ratios = [], [], []
        for _ in range(args.runs):
            floor, solve = wall(floor_cmd), wall(solve_cmd)
            floors.append(floor)
            solves.append(solve)
            ratios.append(solve / floor)
    print(f"import sympy, jinja2     median {statistics.median(floors):.3f} s over {args.runs} runs")
    print(f"chainrule solve --no-pdf median {statistics.median(solves):.3f} s")
    ratio = statistics.median(ratios)
    print(f"median ratio {ratio:.2f} (target <= 2.5): {'met' if ratio <= 2.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
