"""A class's batch of variants on disk: spec files, handouts, answer sheets, the answer key, the manifest.

    DIR/manifest.json           seed, spec hash, chainrule version, constraints, variant → files
    DIR/answer_key.csv, .json   one row per variant; columns are the answers-file keys
    DIR/v017/NAME-v017.toml     the variant's spec
    DIR/v017/NAME-v017-handout.tex (.pdf), NAME-v017-solution.tex (.pdf)

The manifest is what a regrade needs: the same seed and spec give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from chainrule import __version__
from chainrule.check.answers import answer_keys
from chainrule.classroom.variants import CONSTRAINTS, Variant, make_variant, spec_hash
from chainrule.core.derivation import derive, rebind
from chainrule.core.model import build
from chainrule.core.spec import Spec
from chainrule.core.spec_dump import dump
from chainrule.errors import ChainruleError
from chainrule.numbers import exact, significant
from chainrule.safe_io import reporting, staged_folder, write_new
from chainrule.untrusted import cell

MANIFEST = "manifest.json"
KEY_CSV, KEY_JSON = "answer_key.csv", "answer_key.json"
MAX_VARIANTS = 10_000


@dataclass(frozen=True)
class Files:
    """One variant, as written: its spec text, the answers, and the LaTeX sources."""

    number: int
    name: str
    draws: int
    spec_text: str
    answers: tuple[tuple[str, str, str], ...]  # (key, exact, 30-digit decimal) in answers-file order
    handout: str | None
    solution: str | None


def folder_of(number: int) -> str:
    return f"v{number:03d}"


def _files(variant: Variant, base, like, tex: bool) -> Files:
    from chainrule.core.solution import solve
    from chainrule.render.documents import render, render_handout

    keys = [k for k, _ in answer_keys(variant.spec)]
    answers = tuple((k, exact(variant.answers[k]), significant(variant.answers[k])) for k in keys)
    handout = solution = None
    if tex:
        handout = render_handout(rebind(base, variant.spec), variant=variant.number)
        solution = render(solve(variant.spec, like=like))
    return Files(variant.number, variant.spec.name, variant.draws, variant.spec_text, answers, handout, solution)


_ORIGINALS: dict = {}  # per worker process: the spec's derivation and solution, made once


def _work(job: tuple[Spec, str, tuple[int, ...], bool]) -> list[Files]:
    from chainrule.core.solution import solve

    spec, seed, numbers, tex = job
    if (spec, tex) not in _ORIGINALS:
        # its symbolic proofs hold for every variant; its derivation serves every draw
        _ORIGINALS[(spec, tex)] = (derive(build(spec), symbolic=False), solve(spec) if tex else None)
    base, like = _ORIGINALS[(spec, tex)]
    return [_files(make_variant(spec, seed, n, base), base, like, tex) for n in numbers]


def generate(spec: Spec, count: int, seed: str, *, tex: bool = True, jobs: int = 0, first: int = 1,
             done=None) -> list[Files]:
    """Variants first..first+count-1, drawn in parallel; the result does not depend on `jobs`.

    `done(n)`, if given, is told as each n variants are drawn (for a progress bar).
    """
    done = done or (lambda n: None)
    if not 1 <= count <= MAX_VARIANTS:
        raise ChainruleError(f"--count {count}: expected 1 to {MAX_VARIANTS}")
    numbers = list(range(first, first + count))
    workers = min(jobs or os.cpu_count() or 1, count)
    size = 1 if workers == 1 else max(1, min(25, count // (4 * workers)))
    chunks = [tuple(numbers[i:i + size]) for i in range(0, count, size)]
    if workers == 1:
        return [f for c in chunks for f in _done(_work((spec, seed, c, tex)), done)]
    from chainrule.pool import results

    sizes = iter(len(c) for c in chunks)  # done() is told a chunk's size as some chunk finishes: the sum is right
    parts = results(_work, [(spec, seed, c, tex) for c in chunks], workers, raises=(ChainruleError,),
                    done=lambda: done(next(sizes)))
    return [f for part in parts for f in part]


def _done(part: list[Files], done) -> list[Files]:
    done(len(part))
    return part


def write(spec: Spec, files: list[Files], seed: str, out: Path, students: tuple[str, ...] = ()) -> list[Path]:
    """Write every variant's files, the answer key and the manifest into `out` (a staging folder, see
    `staged`); returns the LaTeX sources written. OS errors are the caller's to report."""
    sources = []
    entries = []
    for f, student in zip(files, (*students, *[None] * len(files))):
        folder = out / folder_of(f.number)
        folder.mkdir(exist_ok=True)
        write_new(folder / f"{f.name}.toml", f.spec_text)
        for kind, text in (("handout", f.handout), ("solution", f.solution)):
            if text is not None:
                path = folder / f"{f.name}-{kind}.tex"
                write_new(path, text)
                sources.append(path)
        entry = {"variant": f.number, "name": f.name, "spec": f"{folder_of(f.number)}/{f.name}.toml",
                 "sha256": _sha256(f.spec_text), "draws": f.draws}
        if student is not None:
            entry["student"] = student
        entries.append(entry)
    write_new(out / KEY_CSV, answer_key_csv(files, students))
    write_new(out / KEY_JSON, json.dumps(answer_key_json(files, students), indent=2, ensure_ascii=False) + "\n")
    write_new(out / MANIFEST, json.dumps(manifest(spec, seed, entries), indent=2, ensure_ascii=False) + "\n")
    return sources


def _batch_item(name: str) -> bool:
    """A file or folder that a batch consists of (replaced by a new batch; anything else is kept)."""
    return bool(re.fullmatch(r"v\d{3,}", name)) or name in (MANIFEST, KEY_CSV, KEY_JSON, "moodle.xml")


def check_replaceable(out: Path) -> None:
    """`out` may take a new batch: it is missing, empty, or a batch written before."""
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: not a folder")
    with reporting(f"--out {out}", "cannot read the folder"):
        if not out.is_dir() or not any(out.iterdir()):
            return
    if not (out / MANIFEST).is_file():
        raise ChainruleError(f"--out {out}: the folder is not empty and is not a batch (no {MANIFEST}); "
                             "choose an empty or new folder")


def staged(out: Path):
    """Lock `out`, build the batch in a folder next to it, swap it in at the end (see safe_io).

    The previous batch stays whole until the new one is complete; files of the folder that are not
    part of a batch are carried over.
    """
    return staged_folder(out, keep=lambda name: not _batch_item(name))


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(spec: Spec, seed: str, entries: list[dict]) -> dict:
    rules = spec.variants
    return {
        "chainrule": __version__,
        "spec": {"name": spec.name, "sha256": spec_hash(spec), "text": dump(spec)},
        "seed": seed,
        "count": len(entries),
        "constraints": {
            "ranges": {k: [str(v) for v in getattr(rules, k)] for k in ("x", "y", "parameters")},
            "decimals": rules.decimals,
            **{k: getattr(rules, k) for k in CONSTRAINTS if k != "max_abs_answer"},
            "max_abs_answer": str(rules.max_abs_answer),
            "max_draws": rules.max_draws,
        },
        "variants": entries,
    }


def answer_key_csv(files: list[Files], students: tuple[str, ...] = ()) -> str:
    """One row per variant; the columns are the answers-file keys, with exact values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = [k for k, _, _ in files[0].answers] if files else []
    writer.writerow(["variant", "name", "student", *keys])
    for f, student in zip(files, (*students, *[""] * len(files))):
        writer.writerow([f.number, cell(f.name), cell(student), *(value for _, value, _ in f.answers)])
    return buffer.getvalue()


def answer_key_json(files: list[Files], students: tuple[str, ...] = ()) -> list[dict]:
    rows = []
    for f, student in zip(files, (*students, *[None] * len(files))):
        row = {"variant": f.number, "name": f.name, "spec": f"{folder_of(f.number)}/{f.name}.toml"}
        if student is not None:
            row["student"] = student
        row["answers"] = {k: value for k, value, _ in f.answers}
        row["decimals"] = {k: approx for k, _, approx in f.answers}
        rows.append(row)
    return rows


# ---------------------------------------------------------------- reading a batch back

@dataclass(frozen=True)
class Batch:
    """A variants folder, read back from its manifest, for grading."""

    folder: Path
    seed: str
    version: str
    specs: dict  # variant number -> spec path
    hashes: dict  # variant number -> sha256 of the spec file
    students: dict  # student id -> variant number

    def variant_of(self, variant: int | None, student: str, where: str) -> int:
        """The answers file's variant: the one it names, or its student's in the roster."""
        assigned = self.students.get(student)
        if variant is not None and assigned is not None and variant != assigned:
            raise ChainruleError(f"{where}: key 'variant': {variant}, but {self.folder / MANIFEST} assigns student "
                                 f"'{student}' variant {assigned}", path=where)
        if variant is None:
            variant = assigned
            if variant is None:
                raise ChainruleError(f"{where}: key 'variant': missing, and student '{student}' is not in "
                                     f"{self.folder / MANIFEST}; add variant = N to the answers file", path=where)
        if variant not in self.specs:
            raise ChainruleError(f"{where}: key 'variant': {variant} is not in {self.folder / MANIFEST} "
                                 f"(it has variants {min(self.specs)} to {max(self.specs)})", path=where)
        return variant

    def spec_for(self, variant: int | None, student: str, where: str) -> str:
        """The spec path of the answers file's variant (named, or looked up by student id)."""
        variant = self.variant_of(variant, student, where)
        path = self.folder / self.specs[variant]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ChainruleError(f"{path}: cannot read the variant's spec ({error.strerror})", path=str(path)) from None
        if _sha256(text) != self.hashes[variant]:
            raise ChainruleError(f"{path}: the file differs from the one the manifest records (sha256); "
                                 "regenerate the batch with its seed rather than edit a variant", path=str(path))
        return str(path)


def read_json(path: Path, what: str):
    """A JSON file of a batch folder, or a ChainruleError naming the file and what it should be."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ChainruleError(f"{path}: cannot read the {what} ({error.strerror}); is {path.parent} a folder "
                             "written by `chainrule variants`?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ChainruleError(f"{path}: not a valid {what} ({error})") from None


def read_batch(folder: str | Path) -> Batch:
    folder = Path(folder)
    path = folder / MANIFEST
    data = read_json(path, "manifest")
    try:
        specs, hashes, students = {}, {}, {}
        for entry in data["variants"]:
            number, spec = int(entry["variant"]), str(entry["spec"])
            if Path(spec).is_absolute() or ".." in Path(spec).parts:
                raise ValueError(f"variant {number}: spec path {spec!r} leaves the folder")
            specs[number], hashes[number] = spec, str(entry["sha256"])
            if "student" in entry:
                students[str(entry["student"])] = number
        return Batch(folder, str(data["seed"]), str(data["chainrule"]), specs, hashes, students)
    except (KeyError, TypeError, ValueError) as error:
        raise ChainruleError(f"{path}: not a valid manifest ({error})") from None
