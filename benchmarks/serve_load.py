"""Load on `chainrule serve` (issue 15): simulated students checking whole answers files.

Starts `chainrule serve SPEC --host 127.0.0.1 --port 0`, turns each answers file into the page's
answers with `POST /api/import`, asks `POST /api/check` once per file for the reference judgement,
then runs S simulated students (threads, all released at once), each POSTing a whole answers file
to `/api/check` R times in a bounded loop (a mix of the right answers and planted-mistake files).
Reports p50/p95/max latency, errors, peak memory of the server's process tree (RSS summed over the
server and its children, sampled from /proc) and the wall time. Every request goes to 127.0.0.1 only.

An error is a request that fails, times out, answers other than 200, or whose judgement differs from
the reference for the same file. The script exits 1 if there is any.
Usage: python benchmarks/serve_load.py [--students 50] [--runs 5] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
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


def load(url: str, bodies: list[bytes], expected: list[dict[str, str]], students: int, runs: int):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(students)

    def student(number: int) -> None:
        gate.wait()
        for run in range(runs):  # bounded: `runs` checks of a whole file per student
            which = (number + run) % len(bodies)
            start = time.perf_counter()
            try:
                status, content = post(url + "api/check", bodies[which])
                problem = None if status == 200 and judgement(content) == expected[which] else f"status {status}"
            except Exception as error:  # noqa: BLE001  (any failure is counted, not raised)
                problem = f"{type(error).__name__}: {error}"
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                if problem:
                    errors.append(f"student {number} run {run} ({FILES[which]}): {problem}")

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
    parser.add_argument("--spec", default=str(ROOT / "derivations" / "inf264_hw4.toml"))
    args = parser.parse_args()
    failed = False
    for repeat in range(args.repeat):
        process, url = start(args.spec)
        try:
            sampler = Sampler(process.pid)
            idle = tree_rss(process.pid)
            bodies, expected = [], []
            for name in FILES:
                status, content = post(url + "api/import", (ANSWERS / name).read_bytes(), "text/plain")
                if status != 200:
                    raise SystemExit(f"/api/import {name}: {status} {content[:200]!r}")
                bodies.append(json.dumps({"answers": json.loads(content)["answers"]}).encode("utf-8"))
                status, content = post(url + "api/check", bodies[-1])
                if status != 200:
                    raise SystemExit(f"/api/check {name}: {status} {content[:200]!r}")
                expected.append(judgement(content))
            warm = tree_rss(process.pid)
            sampler.start()
            latencies, errors, wall = load(url, bodies, expected, args.students, args.runs)
            sampler.done.set()
            sampler.join()
        finally:
            code = stop(process)
        requests = len(latencies)
        print(f"run {repeat + 1}: {args.students} students x {args.runs} whole-file checks = {requests} requests, "
              f"{len(FILES)} answers files, server pid tree on 127.0.0.1")
        print(f"  {'latency p50':<28}{statistics.median(latencies):8.3f} s")
        print(f"  {'latency p95':<28}{percentile(latencies, 0.95):8.3f} s")
        print(f"  {'latency max':<28}{max(latencies):8.3f} s")
        print(f"  {'throughput':<28}{requests / wall:8.1f} checks/s")
        print(f"  {'wall time':<28}{wall:8.2f} s")
        print(f"  {'server RSS idle / warm':<28}{idle / 2**20:8.1f} / {warm / 2**20:.1f} MB")
        print(f"  {'server RSS peak (tree)':<28}{sampler.peak / 2**20:8.1f} MB")
        print(f"  {'errors':<28}{len(errors):8d}  (must be 0)")
        print(f"  {'server exit on SIGTERM':<28}{code:8d}")
        for line in errors[:10]:
            print(f"    {line}")
        failed = failed or bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
