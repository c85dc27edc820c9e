"""Benchmark a PrairieLearn question's server.py calls against PrairieLearn's 10 s limit, as whole processes.

PrairieLearn forks a fresh worker for a call and stops it after `questionTimeoutMilliseconds`
(10 s by default), chainrule's import included. For each spec this writes the question, then runs
`generate` and `grade` (with the answer panel's values and proofs submitted) each in a new
process, as the worker would, and prints the import time, the call time and their ratio to 10 s.
Target: import + call below 10 s for every spec (below 0.5 of it for the homework).
Usage: python benchmarks/prairielearn_calls.py [SPEC ...]   (default: inf264_hw4 two_hidden_units deep_relu)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

LIMIT = 10.0  # seconds: PrairieLearn's default questionTimeoutMilliseconds

CALL = """
import json, sys, time
started = time.perf_counter()
from chainrule.classroom import prairielearn
imported = time.perf_counter()
question, phase, state = sys.argv[1:]
if phase == "generate":
    data = {"params": {}, "correct_answers": {}, "variant_seed": "42", "options": {"question_path": question}}
    prairielearn.generate(data)
else:
    data = json.loads(open(state, encoding="utf-8").read())
    data.update(submitted_answers=dict(data["correct_answers"]), partial_scores={}, feedback={}, format_errors={})
    prairielearn.grade(data)
done = time.perf_counter()
open(state, "w", encoding="utf-8").write(json.dumps(data))
print(json.dumps({"import": imported - started, "call": done - imported, "summary": data.get("feedback", {}).get("summary")}))
"""


def run(spec: str, folder: Path) -> list[str]:
    question = folder / spec
    subprocess.run([sys.executable, "-m", "chainrule", "prairielearn", spec, "--out", str(question)],
                   check=True, capture_output=True)
    state = folder / f"{spec}.json"
    lines = []
    for phase in ("generate", "grade"):
        done = subprocess.run([sys.executable, "-c", CALL, str(question), phase, str(state)],
                              check=True, capture_output=True, text=True)
        times = json.loads(done.stdout)
        total = times["import"] + times["call"]
        summary = f"  {times['summary']}" if times["summary"] else ""
        lines.append(f"{spec:18} {phase:8} import {times['import']:5.2f} s  call {times['call']:5.2f} s  "
                     f"total/limit {total / LIMIT:4.2f}{summary}")
    return lines


def main() -> None:
    specs = sys.argv[1:] or ["inf264_hw4", "two_hidden_units", "deep_relu"]
    with tempfile.TemporaryDirectory() as folder:
        for spec in specs:
            print("\n".join(run(spec, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
