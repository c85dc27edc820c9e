"""`chainrule check --json` for one file: the object the command prints and `serve`'s /api/check returns."""

from __future__ import annotations

from chainrule.check.answer_key import FileReport
from chainrule.check.gradebook import IGNORED, FileError
from chainrule.check.mistakes import EXPLANATIONS

VERDICT_COUNTS = ("correct", "incorrect", "unparseable", "missing", "unknown")


def summary(report: FileReport) -> dict:
    counts = {v: report.count(v) for v in VERDICT_COUNTS}
    return {**counts, "total": len(report.judgements)}


def report_json(report: FileReport) -> dict:
    return {
        "file": report.path, "student": report.student, "variant": report.variant, "spec": report.spec,
        "summary": summary(report), "ignored": [IGNORED[k] for k in report.ignored],
        "unknown_keys": [{"key": k, "message": m} for k, m in report.problems],
        "answers": {j.key: {"verdict": j.verdict, "expected": j.expected, "given": j.given,
                            "mistakes": list(j.mistakes), "explanations": {m: EXPLANATIONS[m] for m in j.mistakes},
                            "feedback": j.feedback} for j in report.judgements},
    }


def error_json(error: FileError) -> dict:
    return {"file": error.path, "verdict": "error", "error": error.reason}
