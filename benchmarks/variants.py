"""Benchmark `chainrule variants`, as whole processes, against the import floor in the same run.

1. 200 variants of the homework without PDFs (each: spec file, handout .tex, solution .tex with
   its proofs and question-7 analysis; plus the answer key and manifest), on all cores:
   variants per second, target >= 20.
2. The cost of the PDFs: 4 variants with PDFs (handout and solution each) minus 4 without,
   per variant, on all cores.
3. The stress test, `variants --check 50 --no-pdf`: fully verified variants per second.
Usage: python benchmarks/variants.py [--runs N] [--count N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])} failed: {result.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    chainrule = [sys.executable, "-m", "chainrule"]
    floor_cmd = [sys.executable, "-c", "import sympy, jinja2, lark"]
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "batch"
        batch_cmd = [*chainrule, "variants", "--count", str(args.count), "--seed", "1", "--out", str(out), "--no-pdf"]
        wall(floor_cmd)
        floors, batches = [], []
        for _ in range(args.runs):
            floors.append(wall(floor_cmd))
            shutil.rmtree(out, ignore_errors=True)
            batches.append(wall(batch_cmd))
        floor, batch = statistics.median(floors), statistics.median(batches)
        rate = args.count / batch
        print(f"import sympy, jinja2, lark          median {floor:.3f} s over {args.runs} runs")
        print(f"variants --count {args.count} --no-pdf      median {batch:.2f} s ({batch / floor:.1f}x the floor)")
        print(f"{rate:.1f} variants/s (target >= 20): {'met' if rate >= 20 else 'NOT met'}")

        small = [*chainrule, "variants", "--count", "4", "--seed", "1", "--out", str(out)]
        if shutil.which("latexmk"):
            shutil.rmtree(out, ignore_errors=True)
            with_pdf = wall(small)
            shutil.rmtree(out, ignore_errors=True)
            without = wall([*small, "--no-pdf"])
            print(f"PDFs: 4 variants {with_pdf:.1f} s with PDFs, {without:.1f} s without: "
                  f"{(with_pdf - without) / 4:.2f} s per variant (handout + solution, all cores)")
        else:
            print("PDFs: latexmk not found, not measured")

        stress = wall([*chainrule, "variants", "--check", "50", "--seed", "1", "--no-pdf"])
        print(f"variants --check 50 --no-pdf         {stress:.2f} s: {50 / stress:.1f} verified variants/s")


if __name__ == "__main__":
    main()
