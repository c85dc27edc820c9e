"""What `chainrule serve` serves: one spec, or a class folder of variants (`chainrule variants`).

A client names a variant by its number or its roster id, never by a path: both are looked up in
the folder's manifest, and the spec file of the variant is the manifest's (hash-checked) one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chainrule.check.answers import answer_keys
from chainrule.classroom.batch import MANIFEST, Batch, read_batch
from chainrule.core.spec import Spec, derivations_dir, resolve_path
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError

MAX_VARIANT_TEXT = 200  # a roster id longer than this is no one's


class VariantError(ChainruleError):
    """A variant the client asked for that the class folder does not have (HTTP 400 or 404)."""


@dataclass(frozen=True)
class Problem:
    """One spec a student may answer: where it is, how answers files name it, which variant it is."""

    path: str  # the spec file (the key of check's answer-key cache)
    reference: str | None  # what an exported answers file says in `spec = ...`; None in a class
    shown: str  # the report's "spec", as `chainrule check --json` gives it
    variant: int | None
    spec: Spec


@dataclass(frozen=True)
class Source:
    """A spec (`batch` None) or a class folder (`batch` its manifest)."""

    given: str
    batch: Batch | None
    single: Problem | None

    @property
    def is_class(self) -> bool:
        return self.batch is not None

    def problem(self, variant: str | int | None) -> Problem:
        """The spec to show and check for this request: the one spec, or the class's variant."""
        if self.batch is None:
            return self.single
        if variant is None or str(variant).strip() == "":
            raise VariantError("this is a class folder: give your variant number or your student id")
        number = self.variant_number(str(variant))
        path = self.batch.spec_for(number, "", "variant")
        return Problem(path, None, path, number, load(path))

    def variant_number(self, given: str) -> int:
        text = given.strip()
        if len(text) > MAX_VARIANT_TEXT:
            raise VariantError("variant: too long; give your variant number or your student id")
        if text in self.batch.students:
            return self.batch.students[text]
        if text.isdigit() and int(text) in self.batch.specs:
            return int(text)
        raise VariantError(f"variant '{text}': no such variant number or student id in this class "
                           f"(variants {min(self.batch.specs)} to {max(self.batch.specs)})")

    def key_names(self, problem: Problem) -> list[str]:
        """Every key of the answers object: the numeric answers, then one proof per trained parameter."""
        return [k for k, _ in answer_keys(problem.spec)] + [f"proofs.{n}" for n in problem.spec.trained_names]


def open_source(given: str) -> Source:
    """A spec (a path or a name in derivations/) or a class folder; a bad one is one ChainruleError."""
    if Path(given).is_dir():
        if not (Path(given) / MANIFEST).is_file():
            raise ChainruleError(f"{given}: a folder without {MANIFEST}; expected a spec or a class folder "
                                 "written by `chainrule variants`")
        batch = read_batch(given)
        if not batch.specs:
            raise ChainruleError(f"{Path(given) / MANIFEST}: the class has no variants")
        first = min(batch.specs)
        load(batch.spec_for(first, "", "variant"))  # a broken batch is an error at start-up
        return Source(given, batch, None)
    spec = load(given)
    path = resolve_path(given)
    bundled = derivations_dir() / f"{path.stem}.toml"
    if path.resolve() == bundled.resolve():  # a bundled name: answers files say its name, as `chainrule template` does
        return Source(given, None, Problem(str(bundled), path.stem, path.stem, None, spec))
    return Source(given, None, Problem(str(path), path.name, path.name, None, spec))
