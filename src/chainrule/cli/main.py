"""The command line: a thin layer over the Python API. Only this module knows about exit codes."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import signal
import sys

from chainrule.cli.codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from chainrule.errors import ChainruleError
from chainrule.processes import Terminated, terminate_unwinds
from chainrule.untrusted import shown

MAX_DIGITS = 1000  # `eval --digits`: enough for any check by hand, small enough to stay instant


def _count(low: int, high: int | None = None):
    """An argparse type: an integer of at least `low` (and at most `high`, if given)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {value}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected more than 0 and at most 3600 seconds, got {text}")
    return value


def _tolerance(text: str):
    """An argparse type: `sigfigs=3`, `relative=0.001`, `absolute=0.0005`, or several, comma-separated."""
    from decimal import Decimal, InvalidOperation

    from chainrule.core.spec_reader import read_tolerance

    table = {}
    for part in text.split(","):
        key, equals, value = (p.strip() for p in part.partition("="))
        if not equals or not value:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE (sigfigs=3, relative=0.001, absolute=0.0005), got {part!r}")
        try:
            number = int(value) if key == "sigfigs" else Decimal(value)
        except (ValueError, InvalidOperation):
            raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(number, Decimal) and not number.is_finite():
            raise argparse.ArgumentTypeError(f"{key}: expected a finite number, got {value!r}")
        table[key] = number

    def fail(key, why):
        return argparse.ArgumentTypeError(f"{key}: {why}")
    return read_tolerance(table, fail)


SPEC_HELP = "a spec: a path to a .toml file, or a name in derivations/ (default: inf264_hw4)"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


class _Version(argparse.Action):
    """`--version`: like argparse's own, but the version is looked up only when asked for
    (importlib.metadata costs more than the rest of the parser)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(f"chainrule {_version()}\n", sys.stdout)
        parser.exit()


class _Unused:
    """A command line that names another command does not need this one's arguments defined."""

    def add_argument(self, *args, **kwargs) -> None:
        pass


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (a command the line names), only that command's arguments
    are defined: what parsing the line needs, without defining the other eleven (a few ms a run)."""
    from chainrule.check.lms import LMS

    parser = argparse.ArgumentParser(prog="chainrule", description="Derive, prove and check backpropagation by hand.")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       help="what to do; `chainrule COMMAND --help` describes its arguments")

    def command(name: str, **kwargs):
        return subparsers.add_parser(name, **kwargs) if only in (None, name) else _Unused()

    solve = command("solve", help="derive, prove and compute the homework; write the answer sheet")
    solve.add_argument("spec", nargs="?", default="inf264_hw4", help=SPEC_HELP + "; - reads it from standard input")
    solve.add_argument("--out", default="out", help="output folder (default: out)")
    solve.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    solve.add_argument("--json", action="store_true", help="print one JSON object with exact values")
    solve.add_argument("--templates", help="a folder of templates overriding the bundled ones")

    equiv = command("equiv", help="are two expressions equal as identities? (exit 0 yes, 1 no, 3 unknown)")
    equiv.add_argument("a", help="an expression in LaTeX or plain notation, e.g. 'dL/dw0' or '\\delta_h \\cdot x[0]'")
    equiv.add_argument("b", help="the expression to compare it with")
    equiv.add_argument("--spec", default="inf264_hw4", help="whose names (w0, z, delta_h, ...) the expressions use")
    equiv.add_argument("--json", action="store_true", help="print one JSON object: verdict, method, reason, "
                       "counterexample")
    equiv.add_argument("--time-limit", type=_seconds, default=5.0, help="seconds (default 5)")

    evaluate = command("eval", help="substitute values into an expression; exact value and decimal")
    evaluate.add_argument("expr", help="an expression in LaTeX or plain notation, e.g. 'dL/dw3'")
    evaluate.add_argument("--spec", default="inf264_hw4", help="whose names and values the expression uses "
                          "(default: inf264_hw4)")
    evaluate.add_argument("--sample", type=int, help="use sample N's x and y (1-based)")
    evaluate.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a variable")
    evaluate.add_argument("--digits", type=_count(1, MAX_DIGITS), metavar="N",
                          help=f"print the decimal correctly rounded to N significant digits (1 to {MAX_DIGITS}; "
                          "exit 3 if they cannot be certified); default: 6 decimal places, 12 with --json")
    evaluate.add_argument("--json", action="store_true", help="print {\"exact\": ..., \"decimal\": ...} "
                          "(with --digits, also \"digits\": N)")

    lr = command("lr", help="question 7: the loss after one step as a function of η, and training curves")
    lr.add_argument("spec", nargs="?", default="inf264_hw4", help=SPEC_HELP + "; - reads it from standard input")
    lr.add_argument("--json", action="store_true", help="print one JSON object with exact values")

    template = command("template", help="print a blank answers file for a spec")
    template.add_argument("spec", nargs="?", default="inf264_hw4", help=SPEC_HELP)

    check = command("check", help="grade answers files (exit 0 all correct, 1 not, 2 unreadable)")
    check.add_argument("files", nargs="+", metavar="FILE", help="answers files (TOML); - reads one from standard input")
    check.add_argument("--spec", help="grade every file against this spec (a path or a name in derivations/) "
                       "instead of the one each file names")
    check.add_argument("--json", action="store_true", help="print the reports as JSON (one object for one file)")
    check.add_argument("--csv", metavar="OUT", help="write a gradebook, one row per file, with points and percent")
    check.add_argument("--lms", choices=LMS, help="with --csv: write the gradebook as this LMS's grade import "
                       "(moodle: identifier, grade, feedback; canvas: Student, ID, SIS User ID, SIS Login ID, "
                       "Section, then the assignment's points)")
    check.add_argument("--assignment", default="chainrule", metavar="NAME",
                       help="with --lms: the grade column's name, e.g. 'Homework 4 (1234)' for Canvas's "
                            "assignment 1234 (default: chainrule)")
    check.add_argument("--time-limit", type=_seconds, default=5.0, help="seconds per answer (default 5)")
    check.add_argument("--file-time-limit", type=_seconds, default=30.0, metavar="SECONDS",
                       help="wall-clock seconds for a whole file; past it the file's row is an error (default 30)")
    check.add_argument("--memory-limit", type=_count(0), default=2048, metavar="MB",
                       help="memory ceiling of each grading process, where the OS allows one (default 2048; 0: none)")
    check.add_argument("--tolerance", type=_tolerance, metavar="RULE",
                       help="the grader's tolerance for decimals, e.g. sigfigs=3, relative=0.001, absolute=0.0005 "
                            "(comma-separated to combine); default: the spec's. An answers file's is ignored")
    check.add_argument("--stats", action="store_true",
                       help="print one line on stderr: files, total time, slowest file, peak worker memory")
    check.add_argument("--jobs", type=_count(0), default=0, help="worker processes (default: all cores)")
    check.add_argument("--variants", metavar="DIR", help="grade each file against its own variant in DIR "
                       "(from `variant = N`, or its student id in DIR/manifest.json)")

    handout = command("handout", help="the problem sheet: network, data and questions, no answers")
    handout.add_argument("spec", nargs="?", default="inf264_hw4", help=SPEC_HELP)
    handout.add_argument("--out", default="out", help="output folder (default: out)")
    handout.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    handout.add_argument("--templates", help="a folder of templates overriding the bundled ones")

    variants = command("variants", help="per-student variants with answer key and manifest; "
                                   "--check N verifies N variants completely")
    variants.add_argument("spec", nargs="?", default="inf264_hw4", help=SPEC_HELP + " (its [variants] table "
                          "sets the ranges)")
    variants.add_argument("--count", type=_count(1), help="how many variants (default: one per student)")
    variants.add_argument("--seed", default="1", help="the same seed gives byte-identical files (default: 1)")
    variants.add_argument("--out", default="variants", help="output folder (default: variants)")
    variants.add_argument("--students", metavar="FILE", help="a roster, one student id per line: "
                          "student k gets variant k")
    variants.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    variants.add_argument("--jobs", type=_count(0), default=0, help="worker processes (default: all cores)")
    variants.add_argument("--check", type=_count(1), metavar="N", help="stress test: generate and fully verify N variants")
    variants.add_argument("--json", action="store_true", help="with --check: print the report as JSON")

    moodle = command("moodle", help="a Moodle XML question bank from a variants folder: one Cloze "
                                 "question per variant (the whole problem) and a proofs essay per variant")
    moodle.add_argument("folder", help="a folder written by `chainrule variants`")
    moodle.add_argument("--output", help="the XML file (default: FOLDER/moodle.xml)")
    moodle.add_argument("--by", choices=("variant", "question"), default="variant",
                        help="variant (default): one category with every variant's Cloze question, so a random "
                             "question gives each student one whole variant, and one with the proofs essays; "
                             "question: one category per answers-file key with every variant's numerical "
                             "question for it")

    prairie = command("prairielearn", help="a PrairieLearn question folder for a spec: info.json, "
                                  "question.html, server.py (variants from its [variants] rules, graded by chainrule)")
    prairie.add_argument("spec", help=SPEC_HELP)
    prairie.add_argument("--out", required=True, metavar="DIR", help="the question folder to write, e.g. "
                         "COURSE/questions/backprop/hw4")
    prairie.add_argument("--force", action="store_true", help="write into a folder that is not empty (its "
                         "info.json, question.html, server.py and spec.toml are replaced)")
    prairie.add_argument("--wheel", metavar="DIR", help="also write chainrule's wheel into DIR, to install into "
                         "the course's serverFilesCourse")

    gradescope = command("gradescope", help="a Gradescope autograder zip for a spec or a variants folder")
    gradescope.add_argument("source", nargs="?", help="a folder written by `chainrule variants` (each submission "
                            "is graded against its variant), or " + SPEC_HELP)
    gradescope.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    gradescope.add_argument("--time-limit", type=_seconds, default=5.0, help="seconds per answer (default 5)")
    gradescope.add_argument("--visibility", choices=("visible", "after_due_date", "after_published", "hidden"),
                            default="visible", help="when students see the results (Gradescope's setting; "
                            "default visible)")
    gradescope.add_argument("--run", action="store_true", help="inside the autograder: grade the submission in "
                            "$AUTOGRADER_ROOT/submission (default /autograder) and write results/results.json")
    serve = command("serve", help="a local web page for students: the problem, live previews of "
                                "their answers, and the checks of `chainrule check`")
    serve.add_argument("source", nargs="?", default="inf264_hw4", help="a class folder written by `chainrule "
                       "variants` (students pick their variant), or " + SPEC_HELP)
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                       "computer only)")
    serve.add_argument("--port", type=_count(0, 65535), default=8000, help="the port (default 8000; 0: a free one)")
    serve.add_argument("--time-limit", type=_seconds, default=5.0, help="seconds per answer (default 5)")
    serve.add_argument("--memory-limit", type=_count(0), default=2048, metavar="MB",
                       help="memory ceiling of each checking process (default 2048; 0: none)")
    serve.add_argument("--jobs", type=_count(0), default=0, help="checking processes (default: the cores, at most 4)")
    serve.add_argument("--show-expected", action="store_true", help="the page's feedback shows the expected "
                       "values (by default it names the mistake without giving the answer away; the JSON API "
                       "always has them, as `check --json` does)")
    return parser


COMMANDS = ("solve", "equiv", "eval", "lr", "template", "check", "handout", "variants", "moodle", "prairielearn",
            "gradescope", "serve")


def _named_command(argv: list[str]) -> str | None:
    """The command a line names in its first word, or None (`--help`, `--version`, a typo: the whole parser)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _tolerant_output() -> None:
    """Text the terminal's encoding cannot show is written as backslash escapes, never a traceback."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not a TextIOWrapper, or closed
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _tolerant_output()
    try:
        args = _parser(_named_command(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit: a write fails with EFBIG, not a silent kill
        with contextlib.suppress(ValueError):  # ValueError: not the main thread
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with terminate_unwinds():
            return _run(args)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return EXIT_OK
    except ChainruleError as error:
        print(f"chainrule: {shown(error)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # a last resort: the commands name their paths themselves
        from chainrule.safe_io import describe

        where = f"{error.filename}: " if error.filename else ""
        print(f"chainrule: {shown(where)}{describe(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated:
        return 128 + signal.SIGTERM


def _run(args) -> int:
    if args.command == "solve":
        return _solve(args)
    if args.command == "serve":
        from chainrule.cli.serve import serve

        return serve(args)
    from chainrule.cli import commands, grade, instructor

    handler = {"equiv": commands.equiv, "eval": commands.evaluate, "template": commands.template,
               "check": grade.check, "lr": commands.learning_rate, "handout": instructor.handout,
               "variants": instructor.variants, "moodle": instructor.moodle,
               "prairielearn": instructor.prairielearn,
               "gradescope": grade.gradescope}[args.command]
    return handler(args)


def _solve(args) -> int:
    # A solve allocates SymPy trees by the hundred thousand and frees few of them: the default
    # collector runs a young collection every 700 allocations, rescanning the survivors (a tenth of
    # a big network's time). Collections are rarer from here on, for this one short process.
    gc.set_threshold(50_000, 20, 100)
    from chainrule.cli.spec_input import load_spec
    from chainrule.core.solution import solve
    from chainrule.render import report
    from chainrule.render.documents import (
        compile_pdf,
        latexmk_available,
        render,
        user_templates,
    )
    from chainrule.safe_io import folder, write_text

    solution = solve(load_spec(args.spec))
    tex = render(solution, user_templates(args.templates))
    out = folder(args.out)
    tex_path = write_text(out / f"{solution.spec.name}-solution.tex", tex)
    notes = [f"wrote {tex_path}"]
    if not args.no_pdf:
        if latexmk_available():
            pdf = compile_pdf(tex, tex_path.with_suffix(".pdf"))
            notes.append(f"wrote {pdf}")
        else:
            notes.append("latexmk not found: install TeX Live (apt-get install latexmk texlive-latex-extra "
                         f"texlive-pictures), then run: latexmk -pdf {tex_path}")
    if args.json:
        print(json.dumps(report.solution_json(solution), indent=2))
        for note in notes:
            print(note, file=sys.stderr)
    else:
        print(report.solution_text(solution))
        print("\n".join(notes))
    return EXIT_OK if solution.all_proved else EXIT_FAILED

