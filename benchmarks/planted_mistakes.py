"""How many planted mistakes does `chainrule check` name correctly? (issue 13)

Every variant of the mistake catalogue (check/mistakes.py of this tree) is planted into the
correct homework answers file (tests/answers/correct.toml) in two ways:

* `consistent`: the student makes the mistake and carries it through: every key whose value the
  mistake changes gets the mistaken value (the way a student who makes it would write the file);
* `first-only`: only the first key the mistake changes is wrong, the rest stay right.

Each planted file is checked with `chainrule check --json`, run from the source tree given by
`--src` (default: this tree), so the same planted files can be judged by older code:

    git archive <commit> src derivations templates | tar -x -C /tmp/before
    python benchmarks/planted_mistakes.py --baseline /tmp/before/src

A planted key counts as *named* when the planted mistake's id is among the key's mistakes, and as
*accounted for* when it is named or called `carried-error`. Mistakes that change no number of the
homework (none of its z is 0, say) plant nothing and are listed as such.
Usage: python benchmarks/planted_mistakes.py [--src DIR] [--baseline DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "tests" / "answers" / "correct.toml"
SPEC = "inf264_hw4"


def plant(folder: Path) -> list[dict]:
    """One answers file per catalogue variant and planting mode; returns what was planted where."""
    sys.path.insert(0, str(ROOT / "src"))
    from chainrule.check.answer_key import answer_key
    from chainrule.check.answers import answer_keys

    key = answer_key(SPEC)
    order = [name for name, _ in answer_keys(key.spec)]
    correct = CORRECT.read_text(encoding="utf-8")
    planted = []
    seen: dict[str, int] = {}
    for mistake, values in key.variants:
        seen[mistake] = seen.get(mistake, 0) + 1
        changed = [name for name in order if values[name] != key.values[name]]
        label = f"{mistake}#{seen[mistake]}"
        if not changed:
            planted.append({"label": label, "mistake": mistake, "mode": None, "file": None, "keys": []})
            continue
        for mode, keys in (("consistent", changed), ("first-only", changed[:1])):
            path = folder / f"{label.replace('#', '-')}-{mode}.toml"
            path.write_text(_replace(correct, {name: _text(values[name]) for name in keys}), encoding="utf-8")
            planted.append({"label": label, "mistake": mistake, "mode": mode, "file": str(path), "keys": keys})
    return planted


def _text(value) -> str:
    """An exact answer as a student may write it: an integer or p/q."""
    return str(value) if value.is_Rational else str(value.evalf(30))


def _replace(answers: str, new: dict[str, str]) -> str:
    lines = []
    for line in answers.splitlines():
        name = line.split("=", 1)[0].strip().strip('"')
        lines.append(f'"{name}" = "{new[name]}"' if name in new and line.startswith('"') else line)
    return "\n".join(lines) + "\n"


def judge(src: Path, files: list[str]) -> dict[str, dict]:
    """`chainrule check --json` on every file, run from the source tree `src`: file -> report."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    result = subprocess.run([sys.executable, "-m", "chainrule", "check", "--json", *files],
                            capture_output=True, text=True, env=env, cwd=src.parent)
    if result.returncode not in (0, 1):
        raise SystemExit(f"chainrule check failed ({result.returncode}): {result.stderr.strip()}")
    data = json.loads(result.stdout)
    reports = data if isinstance(data, list) else data.get("files", [data])
    return {report["file"]: report for report in reports}


def count(planted: list[dict], reports: dict[str, dict]) -> dict:
    rows, totals = [], {"consistent": [0, 0, 0, 0], "first-only": [0, 0, 0, 0]}
    for p in planted:
        if p["file"] is None:
            rows.append((p["label"], "-", 0, 0, 0, 0))
            continue
        answers = reports[p["file"]]["answers"]
        named = sum(1 for k in p["keys"] if p["mistake"] in answers[k]["mistakes"])
        accounted = sum(1 for k in p["keys"]
                        if p["mistake"] in answers[k]["mistakes"] or "carried-error" in answers[k]["mistakes"])
        carried = sum(1 for k in p["keys"][1:] if "carried-error" in answers[k]["mistakes"])
        rows.append((p["label"], p["mode"], len(p["keys"]), named, accounted, carried))
        total = totals[p["mode"]]
        for i, n in enumerate((len(p["keys"]), named, accounted, carried)):
            total[i] += n
    return {"rows": rows, "totals": totals}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the source tree whose checker judges")
    parser.add_argument("--baseline", type=Path, help="a second source tree judging the same files, e.g. before a change")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args()
    trees = [args.src] + ([args.baseline] if args.baseline else [])
    with tempfile.TemporaryDirectory() as folder:
        planted = plant(Path(folder))
        files = [p["file"] for p in planted if p["file"]]
        results = [count(planted, judge(tree.resolve(), files)) for tree in trees]
    if args.json:
        print(json.dumps({str(tree): result for tree, result in zip(trees, results)}, indent=1))
        return 0
    for tree, result in zip(trees, results):
        _print(tree, result)
    if args.baseline:
        (keys, named, _, _), (_, before, _, _) = results[0]["totals"]["consistent"], results[1]["totals"]["consistent"]
        print(f"named correctly (consistent planting): {named}/{keys} with {args.src} against {before}/{keys} "
              f"with {args.baseline}")
    return 0


def _print(src: Path, result: dict) -> None:
    print(f"checker: {src}")
    print(f"{'variant':30} {'mode':11} {'planted':>7} {'named':>6} {'named or carried':>17} {'later keys carried':>19}")
    for label, mode, keys, named, accounted, carried in result["rows"]:
        print(f"{label:30} {mode:11} {keys:7} {named:6} {accounted:17} {carried:19}")
    for mode, (keys, named, accounted, carried) in result["totals"].items():
        print(f"total {mode:11}: {named}/{keys} planted keys named correctly, {accounted}/{keys} named or "
              f"carried-error; {carried} keys after the first also called carried-error")


if __name__ == "__main__":
    raise SystemExit(main())
