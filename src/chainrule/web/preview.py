"""What chainrule read from a box, as MathML, or why it could not read it (runs in a worker).

A number box is read as `check` reads an answer, and shown as written and, if that differs, as
the value read; a proof box (one step per line) is read as `check` reads a chain and shown as
written. The MathML is printed from the parse tree and SymPy's values, never copied from the
student's text.
"""

from __future__ import annotations

import sympy as sp

from chainrule.web.mathml import mathml


def proof_chain(text: str) -> str:
    """The lines of a proof box as one chain, `A = B = C`, the form answers files hold."""
    steps = [line.strip().strip("=").strip() for line in text.splitlines()]
    return " = ".join(step for step in steps if step)


def proof_lines(chain: str) -> str:
    """An answers file's chain as the proof box shows it, one step per line."""
    return "\n".join(step.strip() for step in chain.split("=") if step.strip())


def preview(spec_path: str, proof: bool, text: str) -> dict:
    """What the box's text reads as: a proof's chain (`proof`) or a number; an error with its column."""
    from chainrule.check.answer_key import answer_key
    from chainrule.check.grading import read_number
    from chainrule.check.notation import parse_chain
    from chainrule.check.tokens import NotationError
    from chainrule.check.written import written_latex
    from chainrule.numbers import exact

    try:
        if proof:
            chain = proof_chain(text)
            if not chain:
                raise NotationError("empty proof", chain, 0)
            parse_chain(chain, answer_key(spec_path).vocabulary)  # as `check` reads it: every name known
            latex, read = " = ".join(written_latex(chain)), chain
        else:
            value = read_number(text)
            written, latex = written_latex(text)[0], sp.latex(value)
            latex, read = (latex if written == latex else f"{written} = {latex}"), exact(value)
    except NotationError as error:
        return {"ok": False, "error": str(error), "position": _position(error, proof, text),
                "suggestion": getattr(error, "suggestion", None)}
    except (RecursionError, ArithmeticError, ValueError, MemoryError):
        return {"ok": False, "error": "too large to read", "position": None, "suggestion": None}
    return {"ok": True, "mathml": mathml(latex, display=True), "read": read}


def _position(error, proof: bool, text: str) -> int | None:
    """The column in the box's own text (a proof's chain joins its lines, so map back)."""
    position = getattr(error, "position", None)
    if position is None or not proof:
        return position
    # the chain is the box's non-empty steps joined by " = "; find the step and its offset
    chain_offset = 0
    box_offset = 0
    for line in text.splitlines(keepends=True):
        body = line.strip().strip("=").strip()
        if body:
            start = line.find(body)
            if position <= chain_offset + len(body):
                return box_offset + start + (position - chain_offset)
            chain_offset += len(body) + 3
        box_offset += len(line)
    return len(text)
