"""One graded answers file as Gradescope's `results.json`: one test per answers-file key and per proof.

The format is Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"): a top-level
`score` and `output`, and `tests`, each with `name`, `score`, `max_score`, `status` (`passed` or
`failed`), `output` and `output_format`. Points are the gradebook's: 1 per key, earned only when
correct. An `unknown` earns 0 but is not called wrong: its output says it is undecided, why, and
that it will be checked by hand. Student text is shown with control characters escaped, and every
output is declared plain text, so Gradescope shows it rather than rendering it as HTML or Markdown.
"""

from __future__ import annotations

import json

from chainrule.check.answer_key import FileReport, Judgement, Mark
from chainrule.check.gradebook import IGNORED, FileError, points
from chainrule.untrusted import shown

VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's four settings
WORDS = {Mark.CORRECT: "correct", Mark.INCORRECT: "incorrect", Mark.UNPARSEABLE: "could not be read",
         Mark.MISSING: "missing (no answer given)", Mark.UNKNOWN: "undecided: not counted as right or wrong, "
         "to be checked by hand"}


def _test(judgement: Judgement, visibility: str) -> dict:
    correct = judgement.verdict is Mark.CORRECT
    lines = [f"{WORDS[judgement.verdict]}"]
    if judgement.given is not None and judgement.verdict is not Mark.MISSING:
        lines.append(f"your answer: {shown(judgement.given)}")
    if judgement.feedback and not correct:
        lines.append(shown(judgement.feedback))
    return {"name": judgement.key, "score": 1 if correct else 0, "max_score": 1,
            "status": "passed" if correct else "failed", "output": "\n".join(lines),
            "output_format": "text", "visibility": visibility}


def results(result: FileReport | FileError, visibility: str = "visible") -> dict:
    """The results.json object of one submission (a graded file, or one that could not be graded)."""
    if visibility not in VISIBILITY:
        raise ValueError(f"visibility {visibility!r}: expected one of {', '.join(VISIBILITY)}")
    if isinstance(result, FileError):
        return {"score": 0, "output": f"Not graded: {shown(result.reason)}", "output_format": "text",
                "visibility": visibility, "tests": []}
    earned, possible = points(result)
    unknown = result.count(Mark.UNKNOWN)
    head = f"{earned}/{possible} correct"
    if result.variant is not None:
        head += f" (variant {result.variant})"
    lines = [head + (f"; {unknown} undecided, to be checked by hand" if unknown else "")]
    lines += [IGNORED[key] for key in result.ignored]
    lines += [f"unknown key {shown(key)}: {shown(message)}" for key, message in result.problems]
    return {"score": earned, "output": "\n".join(lines), "output_format": "text", "visibility": visibility,
            "tests": [_test(j, visibility) for j in result.judgements]}


def results_text(result: FileReport | FileError, visibility: str = "visible") -> str:
    """results.json's text: ASCII JSON (every non-ASCII character escaped), sorted keys, one trailing newline."""
    return json.dumps(results(result, visibility), indent=2, sort_keys=True) + "\n"
