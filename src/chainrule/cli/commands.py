"""The `equiv`, `eval`, `template` and `check` commands: argument handling, output and exit codes."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from chainrule.check.answer_key import FileReport, answer_key
from chainrule.check.answers import (
    MAX_ANSWERS_BYTES,
    AnswersError,
    answer_keys,
    answers_from_bytes,
    load_answers,
)
from chainrule.check.gradebook import IGNORED, FileError, gradebook
from chainrule.check.grading import check as check_file
from chainrule.check.mistakes import EXPLANATIONS
from chainrule.check.notation import canonical_names, parse
from chainrule.check.proofs import decide
from chainrule.check.tokens import NotationError
from chainrule.check.workers import Failure, Limits
from chainrule.check.workers import run as run_bounded
from chainrule.classroom.batch import read_batch
from chainrule.cli.codes import EXIT_FAILED, EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE
from chainrule.cli.progress import bar
from chainrule.cli.spec_input import load_spec  # noqa: F401  (instructor and tests use it from here)
from chainrule.core import certify
from chainrule.core.spec import Tolerance, derivations_dir, resolve_path
from chainrule.core.spec_reader import line_of, load
from chainrule.deadline import TimeLimit, time_limit
from chainrule.errors import ChainruleError
from chainrule.intake import STDIN, read_regular, read_stdin, student_spec
from chainrule.numbers import decimal, exact, significant_text
from chainrule.safe_io import write_text
from chainrule.untrusted import json_text, shown

DIGITS_SECONDS = 10.0  # `eval --digits`: time to certify the digits before saying they are undecided
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
    except (ArithmeticError, ValueError) as error:  # SymPy or mpmath gave up on a number (an overflow)
        verdict, reason, point = "unknown", f"could not evaluate ({str(error)[:80]})", None
    words = {"proved": "equivalent", "refuted": "not equivalent", "unknown": "unknown"}[verdict]
    result = {"verdict": words, "method": None if verdict == "unknown" else proof.method, "reason": reason}
    if point:
        values = dict(point)
        result["counterexample"] = {str(v): exact(x) for v, x in point}
        result["values"] = {"A": exact(_simplified(a.xreplace(values))), "B": exact(_simplified(b.xreplace(values)))}
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


def _simplified(value: sp.Expr) -> sp.Expr:
    """A counterexample's value, simplified within a second (else as it stands)."""
    from chainrule.deadline import Deadline, OutOfTime

    try:
        with Deadline(1.0):
            return sp.simplify(value)
    except (OutOfTime, ArithmeticError, ValueError):  # out of time, or SymPy's evaluation overflowed
        return value


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
    if result.has(sp.I, sp.nan, sp.zoo) or result in (sp.oo, -sp.oo):
        raise ChainruleError(f"EXPR: its value {exact(result)} is not a real number")
    if args.digits is not None:
        return _print_digits(result, args.digits, args.json)
    if args.json:
        print(json.dumps({"exact": exact(result), "decimal": decimal(result, 12)}))
    else:
        _print_value(result, decimal(result), _is(result, decimal(result)))
    return EXIT_OK


def _is(value: sp.Expr, approx: str) -> bool:
    """Is the decimal the value itself, not a rounding of it? (Decided exactly, for rationals.)"""
    return value.is_Rational and Fraction(Decimal(approx)) == Fraction(int(value.p), int(value.q))


def _print_value(value: sp.Expr, approx: str, equal: bool) -> None:
    """`51/5 = 10.2` when the decimal is the value, `1/3 ≈ 0.333333` when it is rounded."""
    text = exact(value)
    if text == approx:
        print(text)
    else:
        print(f"{text} {'=' if equal else '≈'} {approx}")


def _print_digits(value: sp.Expr, digits: int, as_json: bool) -> int:
    """`eval --digits N`: the decimal correctly rounded to N significant digits, or exit 3 if undecided."""
    found = certify.rounded(value, digits, seconds=DIGITS_SECONDS)
    approx = None if found is None else significant_text(found, digits)
    if as_json:
        print(json.dumps({"exact": exact(value), "decimal": approx, "digits": digits}))
    elif approx is None:
        print(f"{exact(value)} (its first {digits} significant digits could not be certified: interval "
              f"arithmetic did not decide them within {DIGITS_SECONDS:g} s — the value is too large, or "
              "sits on a rounding boundary, or may be 0 where no bounded simplification shows it)")
    else:
        _print_value(value, approx, found == 0 or _is(value, approx))  # found is 0 only when proved 0
    return EXIT_UNKNOWN if approx is None else EXIT_OK


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
    from chainrule.core.solution import solve
    from chainrule.render import report

    solution = solve(load_spec(args.spec))
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
    print("\n".join(lines))
    return EXIT_OK


def _spec_reference(given: str, spec) -> str:
    """How an answers file names its spec: the bundled name, or the path it was given as."""
    if resolve_path(given) == resolve_path(spec.name):
        return spec.name
    return str(given).replace("\\", "/")


@dataclass(frozen=True)
class CheckJob:
    """One answers file to grade, and everything the grader decided about it."""

    path: str
    spec: str | None  # --spec; None: the file's own `spec` key (bundled name or a file beside it)
    seconds: float  # per answer
    variants: str | None  # --variants DIR
    tolerance: Tolerance | None  # --tolerance; None: the spec's
    stdin: bytes | None = None  # the file was `-`: standard input, read once by the parent


def _check_one(job: CheckJob) -> FileReport | FileError:
    """Grade one file (in a worker process); a bad file is a FileError, never an exception."""
    path = job.path
    try:
        answers = load_answers(path) if job.stdin is None else answers_from_bytes(job.stdin, path)
        number, spec, shown = None, job.spec, job.spec
        if job.variants is not None:  # the student's own variant, from `variant = N` or the roster
            batch = read_batch(job.variants)
            number = batch.variant_of(answers.variant, answers.student, path)
            spec = shown = batch.spec_for(number, answers.student, path)
        if spec is None:
            shown = answers.spec
            spec = student_spec(answers.spec, path, derivations_dir(),
                                lambda why: AnswersError(path, "spec", why, _line_of_key(job, "spec")))
        report = check_file(dataclasses.replace(answers, spec=spec), job.seconds, job.tolerance)
        return dataclasses.replace(report, variant=number, spec=shown)
    except ChainruleError as error:
        return FileError(path, str(error))
    except RecursionError:
        return FileError(path, f"{path}: too large to check")
    # MemoryError is left to the worker: the file's row says "memory limit" and the worker is replaced


def _line_of_key(job: CheckJob, key: str) -> int | None:
    with contextlib.suppress(OSError, UnicodeDecodeError, ChainruleError):
        raw = job.stdin if job.stdin is not None else read_regular(job.path, MAX_ANSWERS_BYTES, ChainruleError)
        return line_of(raw.decode("utf-8-sig"), key)
    return None


def check(args) -> int:
    if args.spec is not None and args.variants is not None:
        raise ChainruleError("--spec and --variants: give one; with --variants each file is graded against its variant")
    if args.lms is not None and args.csv is None:
        raise ChainruleError(f"--lms {args.lms}: also give --csv FILE, the gradebook to write")
    if args.csv is not None and os.path.isdir(args.csv):
        raise ChainruleError(f"--csv {args.csv}: is a folder, expected a file")
    if args.variants is not None:
        read_batch(args.variants)  # a bad folder is a usage error before any file is read
    if args.spec is not None:
        answer_key(args.spec)  # a bad --spec is a usage error before any file is read; workers inherit it
    if args.files.count("-") > 1:
        raise ChainruleError("-: standard input can be read once; give `-` at most once")
    stdin = read_stdin(MAX_ANSWERS_BYTES, lambda why: ChainruleError(f"{STDIN}: {why}")) if "-" in args.files else None
    jobs = [CheckJob(STDIN, args.spec, args.time_limit, args.variants, args.tolerance, stdin) if path == "-"
            else CheckJob(path, args.spec, args.time_limit, args.variants, args.tolerance) for path in args.files]
    limits = Limits(seconds=args.file_time_limit, memory_mb=args.memory_limit or None)
    workers = min(args.jobs or os.cpu_count() or 1, len(jobs))
    started = time.monotonic()
    with bar(len(jobs), "grading", " files") as advance:
        outcomes = run_bounded(_check_one, jobs, limits, workers, done=advance)
    results = [o.value if not isinstance(o.value, Failure) else FileError(job.path, o.value.reason)
               for job, o in zip(jobs, outcomes)]
    failed = [r for r in results if isinstance(r, FileError)]
    for error in failed:
        print(f"chainrule: {shown(_error_line(error))}", file=sys.stderr)
    if args.json:
        data = [_error_json(r) if isinstance(r, FileError) else _report_json(r) for r in results]
        print(json_text(data[0] if len(jobs) == 1 else data))
    else:
        for report in results:
            if not isinstance(report, FileError):
                print(_report_text(report, verbose=len(jobs) == 1))
    if args.csv:
        write_text(args.csv, gradebook(results, args.lms, args.assignment))
    specs = collections.Counter(r.spec for r in results if not isinstance(r, FileError))
    if len(specs) > 1 and args.spec is None and args.variants is None:
        counts = ", ".join(f"{name}: {n}" for name, n in sorted(specs.items()))
        print(f"chainrule: note: the files chose different specs ({counts}); use --spec to grade all against one",
              file=sys.stderr)
    if args.stats:
        print(_stats_line(jobs, outcomes, workers, time.monotonic() - started), file=sys.stderr)
    if failed:
        return EXIT_USAGE
    return EXIT_OK if all(r.all_correct for r in results) else EXIT_FAILED


def _error_line(error: FileError) -> str:
    return error.reason if error.reason.startswith(error.path) else f"{error.path}: {error.reason}"


def _error_json(error: FileError) -> dict:
    return {"file": error.path, "verdict": "error", "error": error.reason}


def _stats_line(jobs, outcomes, workers: int, seconds: float) -> str:
    """For the grader and benchmarks/hostile_class.py: where the time and memory went."""
    slowest = max(range(len(jobs)), key=lambda i: outcomes[i].seconds)
    peaks = [o.peak_mb for o in outcomes if o.peak_mb is not None]
    peak = f"{max(peaks):.0f} MB" if peaks else "unknown"
    return (f"chainrule: stats: {len(jobs)} files in {seconds:.2f} s on {workers} workers; slowest "
            f"{jobs[slowest].path} ({outcomes[slowest].seconds:.2f} s); peak worker memory {peak}")


def _summary(report: FileReport) -> dict:
    counts = {v: report.count(v) for v in ("correct", "incorrect", "unparseable", "missing", "unknown")}
    return {**counts, "total": len(report.judgements)}


def _report_json(report: FileReport) -> dict:
    return {
        "file": report.path, "student": report.student, "variant": report.variant, "spec": report.spec,
        "summary": _summary(report), "ignored": [IGNORED[k] for k in report.ignored],
        "unknown_keys": [{"key": k, "message": m} for k, m in report.problems],
        "answers": {j.key: {"verdict": j.verdict, "expected": j.expected, "given": j.given,
                            "mistakes": list(j.mistakes), "explanations": {m: EXPLANATIONS[m] for m in j.mistakes},
                            "feedback": j.feedback} for j in report.judgements},
    }


def _report_text(report: FileReport, verbose: bool) -> str:
    s = _summary(report)
    head = (f"{shown(report.path)} ({shown(report.student)}, {shown(report.spec)}): {s['correct']}/{s['total']} correct, "
            f"{s['incorrect']} incorrect, {s['unparseable']} unparseable, {s['unknown']} unknown, {s['missing']} missing")
    lines = [head]
    for key in report.ignored:
        lines.append(f"  ! {IGNORED[key]}")
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


def gradescope(args) -> int:
    """`gradescope SOURCE --out ZIP` builds the autograder; `gradescope --run` is what it runs on Gradescope."""
    if args.run:
        if args.source is not None:
            raise ChainruleError("gradescope --run: takes no SOURCE; it grades $AUTOGRADER_ROOT/submission")
        return _gradescope_run()
    if args.source is None:
        raise ChainruleError("gradescope: give a spec or a variants folder (or --run inside the autograder)")
    from chainrule.classroom.gradescope import autograder
    from chainrule.safe_io import write_bytes

    if os.path.isdir(args.out):
        raise ChainruleError(f"--out {args.out}: is a folder, expected a file")
    path = write_bytes(args.out, autograder(args.source, args.time_limit, args.visibility))
    print(f"wrote {path}: upload it as the assignment's autograder (Gradescope: Configure Autograder, "
          "Ubuntu 24.04 base image)")
    return EXIT_OK


def _gradescope_run() -> int:
    """Grade the one submission and write results.json; a submission that cannot be graded gets a score of 0 and the reason."""
    from chainrule.check.gradescope_results import results_text
    from chainrule.classroom.gradescope import places, read_config, submitted_file
    from chainrule.safe_io import folder

    where = places()
    config = read_config(where)  # a broken autograder is the instructor's error: one line, exit 2
    try:
        path = submitted_file(where)
        job = CheckJob(str(path), config.spec, config.time_limit, config.variants, None)
        outcome = run_bounded(_check_one, [job], Limits(), 1)[0]
        result = outcome.value if not isinstance(outcome.value, Failure) else FileError(job.path, outcome.value.reason)
    except ChainruleError as error:
        result = FileError(str(where.submission), str(error))
    folder(where.results.parent, "results")
    write_text(where.results, results_text(result, config.visibility))
    if isinstance(result, FileError):
        print(f"chainrule: {shown(_error_line(result))}", file=sys.stderr)
    else:
        print(_report_text(result, verbose=True))
    print(f"wrote {where.results}")
    return EXIT_OK
