"""`check` and `gradescope`: grade answers files in bounded worker processes; text, JSON and gradebooks."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import dataclass

from chainrule.check.answer_key import FileReport, Mark, answer_key
from chainrule.check.answers import MAX_ANSWERS_BYTES, AnswersError, answers_from_bytes, load_answers
from chainrule.check.gradebook import IGNORED, FileError, gradebook
from chainrule.check.grading import check as check_file
from chainrule.check.report_json import error_json as _error_json
from chainrule.check.report_json import report_json as _report_json
from chainrule.check.report_json import summary as _summary
from chainrule.check.workers import Failure, Limits
from chainrule.check.workers import run as run_bounded
from chainrule.cli.codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from chainrule.cli.progress import bar
from chainrule.core.spec import Tolerance, derivations_dir
from chainrule.core.spec_reader import line_of
from chainrule.errors import ChainruleError
from chainrule.intake import STDIN, read_regular, read_stdin, student_spec
from chainrule.safe_io import write_text
from chainrule.untrusted import json_text, shown

SYMBOL = {Mark.CORRECT: "✓", Mark.INCORRECT: "✗", Mark.UNPARSEABLE: "?", Mark.MISSING: "·", Mark.UNKNOWN: "?"}


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
            from chainrule.classroom.batch import read_batch  # only with --variants

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
        return FileError(path, str(error), names_file=error.path == path)
    except RecursionError:
        return FileError(path, f"{path}: too large to check", names_file=True)
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
        from chainrule.classroom.batch import read_batch  # only with --variants

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
    return error.reason if error.names_file else f"{error.path}: {error.reason}"


def _stats_line(jobs, outcomes, workers: int, seconds: float) -> str:
    """For the grader and benchmarks/hostile_class.py: where the time and memory went."""
    slowest = max(range(len(jobs)), key=lambda i: outcomes[i].seconds)
    peaks = [o.peak_mb for o in outcomes if o.peak_mb is not None]
    peak = f"{max(peaks):.0f} MB" if peaks else "unknown"
    return (f"chainrule: stats: {len(jobs)} files in {seconds:.2f} s on {workers} workers; slowest "
            f"{jobs[slowest].path} ({outcomes[slowest].seconds:.2f} s); peak worker memory {peak}")


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
        if j.verdict is Mark.MISSING and not verbose:
            continue
        if j.verdict is Mark.CORRECT and not verbose:
            continue
        given = "" if j.given is None else f" {shown(f'{j.given!s:.60}')}"
        detail = "" if j.verdict is Mark.CORRECT else f"  — {shown(j.feedback)}"
        lines.append(f"  {SYMBOL[j.verdict]} {shown(j.key)}{given}{detail}")
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
        result = FileError(str(where.submission), str(error), names_file=error.path == str(where.submission))
    folder(where.results.parent, "results")
    write_text(where.results, results_text(result, config.visibility))
    if isinstance(result, FileError):
        print(f"chainrule: {shown(_error_line(result))}", file=sys.stderr)
    else:
        print(_report_text(result, verbose=True))
    print(f"wrote {where.results}")
    return EXIT_OK
