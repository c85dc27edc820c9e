"""Benchmark `chainrule check` on a class with hostile files in it, against a clean class, as whole processes.

A clean class of N generated answers files (benchmarks/check.py's generator) and the same class
with 5% of its files replaced by hostile ones (answers that hang, overflow or raise, a student
tolerance, spec paths to /dev/zero and /etc/shadow, deep and huge TOML) are checked in one call
each, on all cores. Printed: whether every good file was graded, the slowest file, the total
times and their ratio (medians over --runs), and the peak memory of a worker (`check --stats`).
Usage: python benchmarks/hostile_class.py [--files N] [--runs N] [--file-time-limit S]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import generate  # noqa: E402


def tower(depth: int, inner: str) -> str:
    for _ in range(depth):
        inner = f"exp({inner})"
    return inner


HOSTILE = [
    ("hang", f'[answers]\nloss = "{tower(10, "1")}"\n'),
    ("overflow", f'[answers]\nloss = "{tower(5, "9")}"\n'),
    ("relu-step", '[proofs]\nw2 = "dL/dw2 = delta_h + relu(sin(1)^2+cos(1)^2-1)"\n'),
    ("nan-tolerance", '[answers]\nloss = "0"\n[tolerance]\nabsolute = nan\n'),
    ("wide-tolerance", '[answers]\nloss = "0"\n"gradient.w0" = "0"\n[tolerance]\nabsolute = 1000000\n'),
    ("dev-zero", 'spec = "/dev/zero"\n'),
    ("shadow", 'spec = "/etc/shadow"\n'),
    ("deep", "x = " + "[" * 50_000 + "]" * 50_000 + "\n"),
    ("huge", "#" * 2_000_000 + "\n"),
    ("parent", 'spec = "../../etc/passwd"\n'),
]


def make_class(folder: Path, count: int, hostile_share: float) -> tuple[list[Path], set[str]]:
    paths = generate(folder, count)
    bad = set()
    every = round(1 / hostile_share) if hostile_share else 0
    for n, path in enumerate(paths):
        if every and n % every == every // 2:
            kind, text = HOSTILE[len(bad) % len(HOSTILE)]
            path.write_text(text, encoding="utf-8")
            bad.add(str(path))
    return paths, bad


def check(paths: list[Path], csv_path: Path, limit: float) -> tuple[float, int, str, list[dict]]:
    command = [sys.executable, "-m", "chainrule", "check", *map(str, paths), "--csv", str(csv_path),
               "--stats", "--file-time-limit", str(limit)]
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    stats = next((line for line in result.stderr.splitlines() if line.startswith("chainrule: stats:")), "")
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr or not stats:
        raise SystemExit(f"check failed (exit {result.returncode}): {result.stderr[-2000:]}")
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    return seconds, result.returncode, stats, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--share", type=float, default=0.05, help="hostile share (default 0.05)")
    parser.add_argument("--file-time-limit", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        clean_dir, hostile_dir = Path(root, "clean"), Path(root, "hostile")
        clean_dir.mkdir(), hostile_dir.mkdir()
        clean, _ = make_class(clean_dir, args.files, 0)
        hostile, bad = make_class(hostile_dir, args.files, args.share)
        cleans, hostiles = [], []
        for _ in range(args.runs):
            cleans.append(check(clean, clean_dir / "grades.csv", args.file_time_limit))
            hostiles.append(check(hostile, hostile_dir / "grades.csv", args.file_time_limit))
    clean_time = statistics.median(r[0] for r in cleans)
    hostile_time = statistics.median(r[0] for r in hostiles)
    seconds, code, stats, rows = hostiles[-1]
    good = [r for r in rows if r["file"] not in bad]
    graded = [r for r in good if not r["error"] and r["total"] == "29"]
    errors = [r for r in rows if r["file"] in bad and r["error"]]
    ignored = [r for r in rows if r["file"] in bad and not r["error"] and r["ignored"]]
    print(f"clean class of {args.files}:    median {clean_time:.1f} s over {args.runs} run(s); {cleans[-1][2][18:]}")
    print(f"hostile class of {args.files} ({len(bad)} hostile): median {hostile_time:.1f} s; {stats[18:]}")
    print(f"gradebook rows {len(rows)}/{args.files}; good files graded {len(graded)}/{len(good)}; "
          f"hostile files: {len(errors)} error rows, {len(ignored)} graded with their [tolerance] ignored, "
          f"of {len(bad)}; exit code {code}")
    reasons = sorted({re.sub(r"^.*?: key", "key", r["error"])[:60] for r in errors})
    print("hostile reasons: " + " | ".join(reasons))
    print(f"ratio hostile/clean {hostile_time / clean_time:.2f} "
          f"(file time limit {args.file_time_limit:g} s, {sum('time limit' in r['error'] for r in errors)} files hit it)")
    if len(graded) != len(good) or len(rows) != args.files:
        raise SystemExit("NOT every good file was graded")


if __name__ == "__main__":
    main()
