"""Gradebooks: one row per answers file, as chainrule's own CSV or as Moodle's or Canvas's grade import.

Points: every numeric answer and every proof of the file's spec is worth 1 point; `correct` earns
it and every other verdict (incorrect, unparseable, missing, unknown) earns 0. An `unknown` is not
called wrong: it keeps its own column and its own word in the per-key columns, so a grader sees
which answers to look at by hand. A file that could not be graded has no points (an empty cell).

    >>> percent(2, 3)
    '66.67'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from chainrule.check.answer_key import FileReport, Mark
from chainrule.numbers import percent
from chainrule.untrusted import cell

VERDICTS = (Mark.CORRECT, Mark.INCORRECT, Mark.UNPARSEABLE, Mark.UNKNOWN, Mark.MISSING)  # the CSV column order
IGNORED = {"tolerance": "[tolerance] in the answers file ignored: the grader sets the tolerance"}
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class FileError:
    """A file that has no grade: unreadable, or past its time or memory limit, or an internal error."""

    path: str
    reason: str  # one line
    names_file: bool = False  # the reason begins by naming `path` (a message from the file's reader)


Result = FileReport | FileError


def points(report: FileReport) -> tuple[int, int]:
    """(points earned, points possible): 1 per numeric answer and per proof, earned only if correct."""
    return report.count(Mark.CORRECT), len(report.judgements)


def answer_columns(results: Sequence[Result]) -> list[str]:
    """Every key of every graded file: the first file's in its spec's order, then new keys as they appear."""
    seen: dict[str, None] = {}
    for result in results:
        if isinstance(result, FileReport):
            seen.update((j.key, None) for j in result.judgements)
    return list(seen)


def gradebook(results: Sequence[Result], lms: str | None = None, assignment: str = "chainrule") -> str:
    """The CSV text of a gradebook: chainrule's own (`lms=None`), or `moodle` or `canvas`."""
    rows = {None: _plain, "moodle": _moodle, "canvas": _canvas}[lms](results, assignment)
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([[cell(value) for value in row] for row in rows])
    return buffer.getvalue()


def _plain(results: Sequence[Result], assignment: str) -> list[list]:
    keys = answer_columns(results)
    rows = [["file", "student", "variant", "spec", "points", "possible", "percent", *VERDICTS, "total",
             "mistakes", "error", "ignored", *keys]]
    for result in results:
        if isinstance(result, FileError):
            # the file name stands in for the student: an error row is never anonymous
            rows.append([result.path, result.path, "", "", "", "", "", *[""] * len(VERDICTS), "",
                         "", result.reason, "", *["error"] * len(keys)])
            continue
        earned, possible = points(result)
        verdicts = {j.key: j.verdict for j in result.judgements}
        mistakes = sorted({m for j in result.judgements for m in j.mistakes})
        rows.append([result.path, result.student, "" if result.variant is None else result.variant, result.spec,
                     earned, possible, percent(earned, possible), *(result.count(v) for v in VERDICTS),
                     len(result.judgements), " ".join(mistakes), "",
                     "; ".join(IGNORED[k] for k in result.ignored), *(verdicts.get(k, "") for k in keys)])
    return rows


def identifier(result: Result) -> str:
    """Who a row is about, for an LMS: the student id, or for a file without a grade its file name."""
    return result.path if isinstance(result, FileError) else result.student


def moodle_identity(results: Sequence[Result]) -> str:
    """The Moodle user field the ids match: `email` if every id has an @, `idnumber` if all are digits, else `username`."""
    students = [r.student for r in results if isinstance(r, FileReport)]
    if students and all("@" in s for s in students):
        return "email"
    if students and all(s.isdigit() for s in students):
        return "idnumber"
    return "username"


def _feedback(result: Result) -> str:
    if isinstance(result, FileError):
        return f"not graded: {result.reason}"
    earned, possible = points(result)
    unknown = result.count(Mark.UNKNOWN)
    extra = f"; {unknown} undecided, to be checked by hand" if unknown else ""
    return f"{earned}/{possible} correct{extra}"


def _grade(result: Result) -> int | str:
    return "" if isinstance(result, FileError) else points(result)[0]


def _moodle(results: Sequence[Result], assignment: str) -> list[list]:
    """Moodle's CSV grade import: map the first column to the user field it names, the second to the grade item."""
    rows = [[moodle_identity(results), assignment, f"{assignment} feedback"]]
    rows += [[identifier(r), _grade(r), _feedback(r)] for r in results]
    return rows


def _canvas(results: Sequence[Result], assignment: str) -> list[list]:
    """Canvas's gradebook import: the five student columns, then one assignment column of points."""
    rows = [[*CANVAS_COLUMNS, assignment]]
    rows += [[identifier(r), "", "", identifier(r), "", _grade(r)] for r in results]
    return rows
