"""Time `chainrule solve --no-pdf` on the homework against the import floor, as whole processes.

Baseline (from the issue): `python -c "import sympy, jinja2"`. Both run alternately, several times,
in the same run; the script prints each median and the median ratio. Target: ratio <= 1.6 (issue 11).
`--baseline-src DIR` also times another source tree (e.g. `git archive` of an older commit, its
`src/` folder) in the same run, for a before/after ratio on a noisy machine.
Each run also records the child's CPU seconds (user + system): on a shared, loaded machine the CPU
ratio is the steadier one. Python's bytecode cache is left on for the children (it is how an
installed chainrule runs; PYTHONDONTWRITEBYTECODE would make every run compile chainrule's sources
while SymPy's stay compiled), and the warm-up run writes it.
Usage: python benchmarks/solve.py [--runs N] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 1.6


def wall(command: list[str], source: str | None = None) -> float:
    """Wall seconds of one run; its CPU seconds are left in wall.cpu."""
    env = dict(os.environ, PYTHONPATH=source) if source else dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--baseline-src", help="another checkout's src/ folder, timed in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        floor_cmd = [sys.executable, "-c", "import sympy, jinja2"]
        solve_cmd = [sys.executable, "-m", "chainrule", "solve", "inf264_hw4", "--no-pdf", "--out", out]
        wall(floor_cmd), wall(solve_cmd)  # warm the file cache (and write the bytecode cache)
        if args.baseline_src:
            wall(solve_cmd, args.baseline_src)
        floors, solves, ratios, olds, old_ratios = [], [], [], [], []
        cpu = {"floor": [], "solve": [], "old": []}
        for _ in range(args.runs):
            floor = wall(floor_cmd)
            cpu["floor"].append(wall.cpu)
            solve = wall(solve_cmd)
            cpu["solve"].append(wall.cpu)
            floors.append(floor)
            solves.append(solve)
            ratios.append(solve / floor)
            if args.baseline_src:
                olds.append(wall(solve_cmd, args.baseline_src))
                cpu["old"].append(wall.cpu)
                old_ratios.append(olds[-1] / floor)
    median = {k: statistics.median(v) for k, v in cpu.items() if v}
    print(f"import sympy, jinja2     median {statistics.median(floors):.3f} s over {args.runs} runs "
          f"(CPU {median['floor']:.3f} s)")
    print(f"chainrule solve --no-pdf median {statistics.median(solves):.3f} s (CPU {median['solve']:.3f} s, "
          f"CPU ratio {median['solve'] / median['floor']:.2f})")
    if olds:
        print(f"baseline source tree     median {statistics.median(olds):.3f} s, "
              f"median ratio {statistics.median(old_ratios):.2f} (CPU {median['old']:.3f} s, "
              f"CPU ratio {median['old'] / median['floor']:.2f})")
    ratio = statistics.median(ratios)
    print(f"median ratio {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'NOT met'}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
