"""The `equiv`, `eval`, `template` and `check` commands: argument handling, output and exit codes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
import time
from fractions import Fraction

import sympy as sp

from .answers import answer_keys, load_answers
from .batch import read_batch
from .checking import FileReport, TimeLimit, answer_key, check as check_file, decide, time_limit
from .errors import ChainruleError
from .notation import NotationError, canonical_names, parse
from .numerics import decimal
from .processes import worker_pool
from .report import exact
from .safe_io import write_text
from .spec import decimal_text, load, resolve_path
from .untrusted import cell, json_text, shown

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN = 0, 1, 2, 3
MARK = {"correct": "✓", "incorrect": "✗", "unparseable": "?", "missing": "·", "unknown": "?"}


def _expression(text: str, label: str, vocabulary) -> sp.Expr:
    try:
        return parse(text, vocabulary)
    except NotationError as error:
        raise ChainruleError(f"{label}: {error}") from None


def equiv(args) -> int:
    key = answer_key(args.spec)
    a, b = _expression(args.a, "A", key.vocabulary), _expression(args.b, "B", key.vocabulary)
    local = (_expression(args.a, "A", key.local), _expression(args.b, "B", key.local))
    deadline = time.monotonic() + args.time_limit
    try:
        with time_limit(args.time_limit + 0.5):
            proof = decide(local, (a, b), key, lambda: max(0.05, deadline - time.monotonic()))
        verdict, reason, point = proof.verdict.value, proof.reason, proof.counterexample
    except (TimeLimit, RecursionError):
        verdict, reason, point = "unknown", "time limit", None
    words = {"proved": "equivalent", "refuted": "not equivalent", "unknown": "unknown"}[verdict]
    result = {"verdict": words, "method": None if verdict == "unknown" else proof.method, "reason": reason}
    if point:
        values = dict(point)
        result["counterexample"] = {str(v): exact(x) for v, x in point}
        result["values"] = {"A": exact(sp.simplify(a.xreplace(values))), "B": exact(sp.simplify(b.xreplace(values)))}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        line = words
        if point:
            line += " — counterexample: " + ", ".join(f"{k} = {v}" for k, v in result["counterexample"].items())
            line += f"; there A = {result['values']['A']} and B = {result['values']['B']}"
        elif reason:
            line += f" — {reason}"
        print(line)
    return {"equivalent": EXIT_OK, "not equivalent": EXIT_FAILED, "unknown": EXIT_UNKNOWN}[words]


def evaluate(args) -> int:
    key = answer_key(args.spec)
    spec, model = key.spec, key.derivation.model
    expr = _expression(args.expr, "EXPR", key.vocabulary)
    values = {p.symbol: sp.Rational(v.numerator, v.denominator) for p, v in zip(model.parameters, spec.init)}
    if args.sample is not None:
        if not 1 <= args.sample <= len(spec.x):
            raise ChainruleError(f"--sample {args.sample}: expected 1 to {len(spec.x)} for {spec.name}")
        x, targets = spec.x[args.sample - 1], spec.targets[args.sample - 1]
        values.update({n.symbol: sp.Rational(v.numerator, v.denominator) for n, v in zip(model.inputs, x)})
        values.update({n.symbol: sp.Rational(v.numerator, v.denominator) for n, v in zip(model.targets, targets)})
    leaves = key.vocabulary.leaves()
    for assignment in args.set:
        name, _, text = assignment.partition("=")
        try:
            canonical = canonical_names(name)
            value = parse(text, _NoNames())
        except NotationError as error:
            raise ChainruleError(f"--set {assignment}: {error}") from None
        if len(canonical) != 1 or value.free_symbols:
            raise ChainruleError(f"--set {assignment}: expected NAME=NUMBER")
        symbol = leaves.get(canonical[0])
        if symbol is None:
            symbol = next((s for s in expr.free_symbols if s.name == canonical[0]), None)
        if symbol is None:
            raise ChainruleError(f"--set {assignment}: '{canonical[0]}' is not a variable of the expression or the spec")
        values[symbol] = value
    result = expr.xreplace(values)
    missing = sorted(str(s) for s in result.free_symbols)
    if missing:
        hint = " (use --sample N)" if any(s.startswith("x") or s == "y" for s in missing) else ""
        raise ChainruleError(f"EXPR: no value for {', '.join(missing)}{hint}")
    if result.has(sp.Piecewise):
        result = sp.piecewise_fold(result)
    result = sp.nsimplify(result) if result.is_Float else result
    if args.json:
        print(json.dumps({"exact": exact(result), "decimal": decimal(result, 12)}))
    else:
        approx = decimal(result)
        print(exact(result) if exact(result) == approx else f"{exact(result)} = {approx}"
              if result.is_Rational and decimal_text(Fraction(int(result.p), int(result.q))) is not None else f"{exact(result)} ≈ {approx}")
    return EXIT_OK


class _NoNames:
    def lookup(self, name):
        return None

    def derivative(self, a, b):
        return None

    def function(self, name):
        return None

    def known_names(self):
        return ()


def learning_rate(args) -> int:
    from . import report
    from .solution import solve

    solution = solve(load(args.spec))
    if args.json:
        print(json.dumps({"name": solution.spec.name, **report.solution_json(solution)["learning_rate"]}, indent=2))
    else:
        print(report.learning_rate_text(solution))
    return EXIT_OK


def template(args) -> int:
    spec = load(args.spec)
    lines = [f"# Answers for {spec.title}", "# Values are strings: \"17/5\", \"3.4\", \"\\\\frac{17}{5}\" or an expression.",
             f'spec = "{_spec_reference(args.spec, spec)}"',
             "# variant = 17   # in a class batch: the number of your variant", "", "[answers]"]
    for key, what in answer_keys(spec):
        lines.append(f'# {what}')
        lines.append(f'"{key}" = ""')
    lines += ["", "[proofs]", "# a chain of equalities from dL/dw_i to the backpropagation form, e.g.",
              "# w0 = '\\frac{\\partial L}{\\partial w_0} = \\frac{\\partial L}{\\partial z} \\cdot \\frac{\\partial z}{\\partial w_0} = \\delta_h \\cdot x[0]'"]
    for name in spec.parameter_names:
        lines.append(f"{name} = ''")
    lines += ["", "# [tolerance]", "# sigfigs = 3   # or relative = 0.001, or absolute = 0.0005"]
    print("\n".join(lines))
    return EXIT_OK


def _spec_reference(given: str, spec) -> str:
    """How an answers file names its spec: the bundled name, or the path it was given as."""
    if resolve_path(given) == resolve_path(spec.name):
        return spec.name
    return str(given).replace("\\", "/")


def _check_one(job: tuple[str, str | None, float, str | None]) -> FileReport | str:
    path, spec, seconds, variants = job
    try:
        answers = load_answers(path)
        number = None
        if variants is not None:  # the student's own variant, from `variant = N` or the roster
            batch = read_batch(variants)
            number = batch.variant_of(answers.variant, answers.student, path)
            spec = batch.spec_for(number, answers.student, path)
        if spec is not None:
            answers = dataclasses.replace(answers, spec=spec)
        return dataclasses.replace(check_file(answers, seconds), variant=number)
    except ChainruleError as error:
        return str(error)
    except (RecursionError, MemoryError):
        return f"{path}: too large to check"


def check(args) -> int:
    jobs = [(path, args.spec, args.time_limit, args.variants) for path in args.files]
    if args.spec is not None and args.variants is not None:
        raise ChainruleError("--spec and --variants: give one; with --variants each file is graded against its variant")
    if args.csv is not None and os.path.isdir(args.csv):
        raise ChainruleError(f"--csv {args.csv}: is a folder, expected a file")
    if args.variants is not None:
        read_batch(args.variants)  # a bad folder is a usage error before any file is read
    if args.spec is not None:
        answer_key(args.spec)  # a bad --spec is a usage error before any file is read
    if len(jobs) == 1:
        results = [_check_one(jobs[0])]
    else:
        workers = args.jobs or os.cpu_count() or 1
        with worker_pool(min(workers, len(jobs))) as pool:
            results = list(pool.map(_check_one, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    unreadable = [r for r in results if isinstance(r, str)]
    reports = [r for r in results if not isinstance(r, str)]
    for message in unreadable:
        print(f"chainrule: {shown(message)}", file=sys.stderr)
    if args.json:
        data = [_report_json(r) for r in reports]
        print(json_text(data[0] if len(jobs) == 1 and data else data))
    else:
        for report in reports:
            print(_report_text(report, verbose=len(jobs) == 1))
    if args.csv:
        _gradebook(args.csv, jobs, results)
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(r.all_correct for r in reports) else EXIT_FAILED


def _summary(report: FileReport) -> dict:
    counts = {v: report.count(v) for v in ("correct", "incorrect", "unparseable", "missing", "unknown")}
    return {**counts, "total": len(report.judgements)}


def _report_json(report: FileReport) -> dict:
    return {
        "file": report.path, "student": report.student, "variant": report.variant, "spec": report.spec,
        "summary": _summary(report),
        "unknown_keys": [{"key": k, "message": m} for k, m in report.problems],
        "answers": {j.key: {"verdict": j.verdict, "expected": j.expected, "given": j.given,
                            "mistakes": list(j.mistakes), "feedback": j.feedback} for j in report.judgements},
    }


def _report_text(report: FileReport, verbose: bool) -> str:
    s = _summary(report)
    head = (f"{shown(report.path)} ({shown(report.student)}, {shown(report.spec)}): {s['correct']}/{s['total']} correct, "
            f"{s['incorrect']} incorrect, {s['unparseable']} unparseable, {s['unknown']} unknown, {s['missing']} missing")
    lines = [head]
    for key, message in report.problems:
        lines.append(f"  ! {shown(key)}: {shown(message)}")
    for j in report.judgements:
        if j.verdict == "missing" and not verbose:
            continue
        if j.verdict == "correct" and not verbose:
            continue
        given = "" if j.given is None else f" {shown(f'{j.given!s:.60}')}"
        detail = "" if j.verdict == "correct" else f"  — {shown(j.feedback)}"
        lines.append(f"  {MARK[j.verdict]} {shown(j.key)}{given}{detail}")
    return "\n".join(lines)


def _gradebook(path: str, jobs, results) -> None:
    """The CSV gradebook, written whole; text cells cannot run as spreadsheet formulas."""
    graded = [r for r in results if not isinstance(r, str)]
    keys = [j.key for j in graded[0].judgements] if graded else []
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["file", "student", "variant", "spec", "correct", "incorrect", "unparseable",
                     "unknown", "missing", "total", "mistakes", "error", *(cell(k) for k in keys)])
    for (file, *_), result in zip(jobs, results):
        if isinstance(result, str):
            writer.writerow([cell(file), *[""] * 10, cell(result), *[""] * len(keys)])
            continue
        s = _summary(result)
        mistakes = sorted({m for j in result.judgements for m in j.mistakes})
        verdicts = {j.key: j.verdict for j in result.judgements}
        writer.writerow([cell(file), cell(result.student), "" if result.variant is None else result.variant,
                         cell(result.spec), s["correct"], s["incorrect"], s["unparseable"], s["unknown"],
                         s["missing"], s["total"], cell(" ".join(mistakes)), "",
                         *(cell(verdicts.get(k, "")) for k in keys)])
    write_text(path, buffer.getvalue())
