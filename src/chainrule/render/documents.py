"""Typeset a Solution as a LaTeX answer sheet through Jinja2 templates, and compile it to PDF.

All mathematics is printed here, in Python; templates only place pieces, loop and branch.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import jinja2.sandbox

from chainrule.core.solution import Solution
from chainrule.errors import LatexError, TemplateError
from chainrule.render.handout import handout_context
from chainrule.render.printer import Printer, escape_tex
from chainrule.render.sheet import sheet_context
from chainrule.render.sheet_matrix import matrix_context

LATEX_TIMEOUT = 180
SHEET_TEMPLATE = "solution.tex.j2"
MATRIX_TEMPLATE = "solution_matrix.tex.j2"  # bigger networks: vector and matrix form


def templates_dir() -> Path:
    package = Path(__file__).resolve().parents[1]  # src/chainrule (or chainrule in a wheel)
    for candidate in (package / "templates", package.parent.parent / "templates"):
        if (candidate / SHEET_TEMPLATE).is_file():
            return candidate
    raise TemplateError(f"templates folder not found next to {package}")


def user_templates(folder: str | None) -> Path | None:
    """The `--templates` folder a user gave (checked), or None for the bundled templates."""
    if not folder:
        return None
    if not Path(folder).is_dir():
        raise TemplateError(f"--templates {folder}: not a folder")
    return Path(folder)


@functools.lru_cache(maxsize=8)
def environment(folder: Path) -> jinja2.Environment:
    """Jinja with delimiters that do not clash with LaTeX braces (one per folder: templates compile once).

    Sandboxed: a user's `--templates` cannot reach Python internals (`__class__`, `__globals__`, ...);
    the bundled templates render byte-identically in the sandbox, so they use it too.
    """
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(folder)),
        bytecode_cache=_bytecode_cache() if folder == templates_dir() else None,
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.filters["e"] = escape_tex
    return env


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own per-user cache folder (created 0700, checked to be ours), under chainrule's own file
    names; a cache that cannot be written is no error, the template is compiled again next time."""

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """The bundled templates' compiled code, kept between runs (compiling them costs about 70 ms,
    a quarter of `solve`'s own work on the homework). Checked against each template's source."""
    try:
        return _QuietBytecodeCache(pattern="__chainrule_%s.cache")
    except (OSError, RuntimeError):  # no safe folder: compile every time
        return None


def render(solution: Solution, folder: Path | None = None) -> str:
    """The answer sheet's LaTeX source."""
    if solution.spec.matrix_sheet:
        return _render(MATRIX_TEMPLATE, lambda: matrix_context(solution, Printer(solution.model)), folder)
    return _render(SHEET_TEMPLATE, lambda: sheet_context(solution, Printer(solution.model)), folder)


def _render(name: str, context, folder: Path | None) -> str:
    folder = folder or templates_dir()
    try:
        template = environment(Path(folder)).get_template(name)
        return template.render(**context())
    except jinja2.TemplateNotFound as missing:
        raise TemplateError(f"{folder}: template '{missing.name}' not found") from None
    except jinja2.sandbox.SecurityError as error:
        raise TemplateError(f"{folder}: template '{name}' does something templates may not: {error}") from None
    except jinja2.TemplateError as error:
        raise TemplateError(f"{folder}: template error: {error}") from None


def latexmk_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


LATEXMK = ("latexmk", "-pdf", "-norc", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           "-pdflatex=pdflatex -no-shell-escape %O %S")  # then the .tex file's name


def latex_environment() -> dict[str, str]:
    """TeX may neither read nor write outside its folder nor run programs; dates come from a fixed epoch."""
    return {**os.environ, "openout_any": "p", "openin_any": "p", "shell_escape": "f",
            # reproducible PDFs: pdfTeX takes its dates and document ID from this fixed epoch
            "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}


def compile_pdf(tex: str, pdf_path: Path, timeout: int = LATEX_TIMEOUT) -> Path:
    """Build a PDF in a private temporary folder: no shell escape, no rc files, a time limit."""
    from chainrule.safe_io import copy_file, reporting

    with reporting(tempfile.gettempdir(), "cannot make a folder to run LaTeX in"):
        work_folder = tempfile.TemporaryDirectory(prefix="chainrule-tex-")
    with work_folder as work:
        source = Path(work) / "sheet.tex"
        with reporting(source):
            source.write_text(tex, encoding="utf-8")
        try:
            result = subprocess.run([*LATEXMK, "sheet.tex"], cwd=work, capture_output=True, text=True,
                                    timeout=timeout, env=latex_environment(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LatexError(f"latexmk took longer than {timeout} s; the .tex is kept for inspection") from None
        built = Path(work) / "sheet.pdf"
        if result.returncode != 0 or not built.is_file():
            log = (Path(work) / "sheet.log")
            first_error = _first_error(log.read_text(errors="replace") if log.is_file() else result.stdout)
            raise LatexError(f"latexmk failed: {first_error}")
        copy_file(built, pdf_path)
    return pdf_path


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if line.startswith("!") or re.match(r".*:\d+: ", line):
            return line.strip()
    return "see the LaTeX log (no error line found)"


HANDOUT_TEMPLATE = "handout.tex.j2"


def render_handout(derivation, folder: Path | None = None, variant: int | None = None) -> str:
    """The handout's LaTeX source: the problem and the questions, with no answers.

    `variant`: the number of a class variant, which the handout tells the student to hand in with.
    """
    return _render(HANDOUT_TEMPLATE, lambda: handout_context(derivation, Printer(derivation.model), variant), folder)
