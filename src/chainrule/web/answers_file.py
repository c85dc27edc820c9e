"""The page's answers object as an answers.toml that `chainrule check` accepts, and back."""

from __future__ import annotations

import tomli_w

from chainrule.check.answers import answers_from_bytes
from chainrule.web.preview import proof_chain, proof_lines
from chainrule.web.source import Problem

PROOF = "proofs."


def to_toml(problem: Problem, keys: list[str], answers: dict[str, str], class_folder: str | None = None) -> str:
    """Every key in the spec's order (blank ones as ""), proofs as chains `A = B = C`."""
    head = ["# Answers written by `chainrule serve`."]
    data: dict = {}
    if problem.reference is not None:
        data["spec"] = problem.reference
    if problem.variant is not None:
        head.append(f"# Check it with: chainrule check --variants {class_folder or 'CLASS_FOLDER'} answers.toml")
        data["variant"] = problem.variant
    data["answers"] = {k: answers.get(k, "") for k in keys if not k.startswith(PROOF)}
    data["proofs"] = {k[len(PROOF):]: proof_chain(answers.get(k, "")) for k in keys if k.startswith(PROOF)}
    return "\n".join(head) + "\n" + tomli_w.dumps(data)


def from_toml(raw: bytes, keys: list[str]) -> tuple[dict[str, str], list[str], int | None]:
    """(the boxes' texts by key, the file's keys this problem does not have, the file's variant)."""
    answers = answers_from_bytes(raw, "answers.toml")
    known = set(keys)
    filled, unknown = {}, []
    given = [(key, text) for key, text in answers.numbers]
    given += [(PROOF + name, proof_lines(chain)) for name, chain in answers.proofs]
    for key, text in given:
        if key in known:
            filled[key] = text
        else:
            unknown.append(key)
    return filled, unknown, answers.variant
