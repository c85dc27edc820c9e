"""The instructor's commands: `handout`, `variants` (and its stress test), `moodle` and `prairielearn`."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chainrule.cli.codes import EXIT_FAILED, EXIT_OK
from chainrule.cli.progress import bar
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError

MAX_STUDENTS_BYTES = 1_000_000


NO_LATEXMK = ("latexmk not found: install TeX Live (apt-get install latexmk texlive-latex-extra texlive-pictures) "
              "to get PDFs; the .tex files are written")


def _compile_all(sources: list[Path], jobs: int = 0) -> list[Path] | None:
    """Compile .tex files to PDFs next to them, in parallel; the PDFs, or None without latexmk."""
    from chainrule.render.documents import compile_pdf, latexmk_available

    if not sources:
        return []
    if not latexmk_available():
        return None
    workers = min(jobs or os.cpu_count() or 1, len(sources))
    pdfs = []
    with ThreadPoolExecutor(max_workers=workers) as pool, bar(len(sources), "compiling PDFs", " PDFs") as advance:
        # each job is a latexmk process
        for pdf in pool.map(lambda s: compile_pdf(s.read_text(encoding="utf-8"), s.with_suffix(".pdf")), sources):
            pdfs.append(pdf)
            advance()
    return pdfs


def handout(args) -> int:
    from chainrule.core.derivation import derive
    from chainrule.core.model import build
    from chainrule.render.documents import render_handout, user_templates
    from chainrule.safe_io import folder, write_text

    spec = load(args.spec)
    tex = render_handout(derive(build(spec), symbolic=False), user_templates(args.templates))
    path = write_text(folder(args.out) / f"{spec.name}-handout.tex", tex)
    print(f"wrote {path}")
    if not args.no_pdf:
        pdfs = _compile_all([path])
        print(NO_LATEXMK if pdfs is None else f"wrote {pdfs[0]}")
    return EXIT_OK


def read_students(path: str) -> tuple[str, ...]:
    """A roster: one student id per line; blank lines and # comments are skipped."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ChainruleError(f"--students {path}: cannot read the file ({error.strerror})") from None
    if len(raw) > MAX_STUDENTS_BYTES:
        raise ChainruleError(f"--students {path}: larger than {MAX_STUDENTS_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ChainruleError(f"--students {path}: expected UTF-8 text") from None
    ids, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        student = line.split("#", 1)[0].strip()
        if not student:
            continue
        if len(student) > 200 or not student.isprintable():
            raise ChainruleError(f"--students {path}:{number}: expected a printable id of at most 200 characters")
        if student in seen:
            raise ChainruleError(f"--students {path}:{number}: '{student}' appears twice")
        seen.add(student)
        ids.append(student)
    if not ids:
        raise ChainruleError(f"--students {path}: no student ids in the file")
    return tuple(ids)


def variants(args) -> int:
    if args.check is not None:
        return stress(args)
    from chainrule.classroom.batch import check_replaceable, generate, staged, write
    from chainrule.safe_io import reporting

    spec = load(args.spec)
    students = read_students(args.students) if args.students else ()
    count = args.count if args.count is not None else len(students)
    if not count:
        raise ChainruleError("variants: give --count N (or --students FILE, one variant per student)")
    if len(students) > count:
        raise ChainruleError(f"--count {count}: fewer variants than the {len(students)} students in --students")
    started = time.perf_counter()
    out = Path(args.out)
    check_replaceable(out)
    pdfs: list[Path] | None = []
    with staged(out) as staging:  # locked; the previous batch stays until this one is complete
        check_replaceable(out)
        with bar(count, "drawing variants", " variants") as advance:
            files = generate(spec, count, args.seed, jobs=args.jobs, done=advance)
        with reporting(f"--out {out}", "cannot write the batch"):
            sources = write(spec, files, args.seed, staging, students)
            if not args.no_pdf:
                pdfs = _compile_all(sources, args.jobs)
    elapsed = time.perf_counter() - started
    draws = sorted(f.draws for f in files)
    print(f"wrote {count} variants of {spec.name} (seed {args.seed}) to {out}/ in {elapsed:.1f} s; "
          f"draws per variant: median {draws[len(draws) // 2]}, max {draws[-1]}, total {sum(draws)}")
    print(f"wrote {out / 'answer_key.csv'}, {out / 'answer_key.json'} and {out / 'manifest.json'}")
    if pdfs is None:
        print(NO_LATEXMK)
    elif pdfs:
        print(f"wrote {len(pdfs)} PDFs")
    return EXIT_OK


def stress(args) -> int:
    """`variants --check N`: generate N variants and verify each one completely (R/exams' stresstest)."""
    from chainrule.classroom.batch import MAX_VARIANTS
    from chainrule.classroom.stress import run, text

    if args.check > MAX_VARIANTS:
        raise ChainruleError(f"--check {args.check}: expected at most {MAX_VARIANTS} variants")
    spec = load(args.spec)
    with bar(args.check, "verifying variants", " variants") as advance:
        report = run(spec, args.check, args.seed, pdf=not args.no_pdf, jobs=args.jobs, done=advance)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(text(report))
    return EXIT_OK if not report["failures"] else EXIT_FAILED


def moodle(args) -> int:
    from chainrule.classroom.moodle import quiz
    from chainrule.safe_io import write_text

    folder = Path(args.folder)
    xml = quiz(folder, args.by)
    out = write_text(Path(args.output) if args.output else folder / "moodle.xml", xml)
    print(f"wrote {out}")
    return EXIT_OK



def prairielearn(args) -> int:
    """`prairielearn SPEC --out DIR`: a PrairieLearn question folder (and, with --wheel, chainrule for the course)."""
    from chainrule.classroom.gradescope import wheel
    from chainrule.classroom.prairielearn import FILES, question_files
    from chainrule.safe_io import folder, write_bytes, write_text

    spec = load(args.spec)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ChainruleError(f"--out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise ChainruleError(f"--out {out}: the folder is not empty; give --force to replace its "
                             f"{', '.join(FILES)}")
    files = question_files(spec)  # a spec whose [variants] rules give no variant fails here, before writing
    target = folder(out)
    for name in FILES:
        write_text(target / name, files[name])
    print(f"wrote {', '.join(FILES)} to {target}/: copy the folder under the course's questions/")
    if args.wheel is not None:
        name, data = wheel()
        path = write_bytes(folder(args.wheel, "--wheel") / name, data)
        print(f"wrote {path}: install it into the course's serverFilesCourse (README, \"PrairieLearn\")")
    return EXIT_OK
