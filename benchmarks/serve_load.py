"""Load on `chainrule serve` (issue 15): simulated students checking whole answers files.

Starts `chainrule serve SPEC --host 127.0.0.1 --port 0`, turns each answers file into the page's
answers with `POST /api/import`, then runs S simulated students (threads, all released at once),
each POSTing a whole answers file to `/api/check` R times in a bounded loop. The files are either
the hand-made ones in tests/answers/ (the right answers and planted mistakes; student n's run r
sends file n + r), or with `--generated N` N varied files from benchmarks/check.py's generator
(student n sends file n mod N every time, as a student re-checks their own work). The reference
judgement of every file comes from one `chainrule check FILES --json` process, not from the server.
Reports p50/p95/max latency, errors, peak memory of the server's process tree (RSS summed over the
server and its children, sampled from /proc) and the wall time. Every request goes to 127.0.0.1 only.

An error is a request that fails, times out, answers other than 200, or whose judgement differs from
the reference for the same file. The script exits 1 if there is any.
Usage: python benchmarks/serve_load.py [--students 50] [--runs 5] [--generated N] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "answers"
FILES = ["correct.toml", "residual_sign.toml", "forgot_activation.toml", "wrong_learning_rate.toml",
         "update_sign.toml", "wrong_proofs.toml", "carried_from_prediction.toml"]
TIMEOUT = 300.0  # seconds for one request: a bound on a hang


def start(spec: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "serve", spec, "--host", "127.0.0.1", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    line = process.stdout.readline().decode("utf-8", "replace").strip()
    if not line.startswith("chainrule serve: http://127.0.0.1:"):
        stop(process)
        raise SystemExit(f"chainrule serve did not start: first line {line!r}")
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # keep the pipe drained
    return process, line.removeprefix("chainrule serve: ")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def post(url: str, body: bytes, kind: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/statm", "rb") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.done.wait(0.05)


def judgement(content: bytes) -> dict[str, str]:
    return {key: answer["verdict"] for key, answer in json.loads(content)["answers"].items()}


def reference(paths: list[Path]) -> list[dict[str, str]]:
    """`chainrule check --json` on every file in one process: each file's verdicts by key."""
    result = subprocess.run([sys.executable, "-m", "chainrule", "check", *map(str, paths), "--json"],
                            capture_output=True, text=True, cwd=ROOT)
    if result.returncode not in (0, 1):
        raise SystemExit(f"chainrule check failed: {result.stderr}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return [{key: answer["verdict"] for key, answer in report["answers"].items()} for report in reports]


def load(url: str, bodies: list[bytes], expected: list[dict[str, str]], students: int, runs: int,
         pick, names: list[str]):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(students)

    def student(number: int) -> None:
        gate.wait()
        for run in range(runs):  # bounded: `runs` checks of a whole file per student
            which = pick(number, run)
            start = time.perf_counter()
            try:
                status, content = post(url + "api/check", bodies[which])
                problem = (f"status {status}" if status != 200 else
                           None if judgement(content) == expected[which] else "judged unlike `chainrule check`")
            except Exception as error:  # noqa: BLE001  (any failure is counted, not raised)
                problem = f"{type(error).__name__}: {error}"
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                if problem:
                    errors.append(f"student {number} run {run} ({names[which]}): {problem}")

    threads = [threading.Thread(target=student, args=(n,)) for n in range(students)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5, help="whole-file checks per student")
    parser.add_argument("--repeat", type=int, default=1, help="whole load runs, each on a fresh server")
    parser.add_argument("--generated", type=int, default=0,
                        help="N varied generated answers files instead of tests/answers/ (one per student)")
    parser.add_argument("--spec", default=str(ROOT / "derivations" / "inf264_hw4.toml"))
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    if args.generated:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from check import generate  # the class generator of benchmarks/check.py

        paths = generate(Path(folder.name), args.generated)

        def pick(number: int, run: int) -> int:
            return number % len(paths)
    else:
        paths = [ANSWERS / name for name in FILES]

        def pick(number: int, run: int) -> int:
            return (number + run) % len(paths)
    names = [path.name for path in paths]
    expected = reference(paths)
    failed = False
    for repeat in range(args.repeat):
        process, url = start(args.spec)
        try:
            sampler = Sampler(process.pid)
            idle = tree_rss(process.pid)
            bodies = []
            for path in paths:
                status, content = post(url + "api/import", path.read_bytes(), "text/plain")
                if status != 200:
                    raise SystemExit(f"/api/import {path.name}: {status} {content[:200]!r}")
                bodies.append(json.dumps({"answers": json.loads(content)["answers"]}).encode("utf-8"))
            sampler.start()
            latencies, errors, wall = load(url, bodies, expected, args.students, args.runs, pick, names)
            sampler.done.set()
            sampler.join()
        finally:
            code = stop(process)
        requests = len(latencies)
        print(f"run {repeat + 1}: {args.students} students x {args.runs} whole-file checks = {requests} requests, "
              f"{len(paths)} {'generated' if args.generated else 'hand-made'} answers files, server on 127.0.0.1")
        print(f"  {'latency p50':<28}{statistics.median(latencies):8.3f} s")
        print(f"  {'latency p95':<28}{percentile(latencies, 0.95):8.3f} s")
        print(f"  {'latency max':<28}{max(latencies):8.3f} s")
        print(f"  {'throughput':<28}{requests / wall:8.1f} checks/s")
        print(f"  {'wall time':<28}{wall:8.2f} s")
        print(f"  {'server RSS at start (tree)':<28}{idle / 2**20:8.1f} MB")
        print(f"  {'server RSS peak (tree)':<28}{sampler.peak / 2**20:8.1f} MB")
        print(f"  {'errors':<28}{len(errors):8d}  (must be 0)")
        print(f"  {'server exit on SIGTERM':<28}{code:8d}")
        for line in errors[:10]:
            print(f"    {line}")
        failed = failed or bool(errors)
    folder.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
