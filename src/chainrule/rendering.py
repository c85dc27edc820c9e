"""Typeset a Solution as a LaTeX answer sheet through Jinja2 templates, and compile it to PDF.

All mathematics is printed here, in Python; templates only place pieces, loop and branch.
"""

from __future__ import annotations

import functools
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import mpmath
import sympy as sp

from .errors import LatexError, TemplateError
from .numerics import decimal, numeric_value
from .model import Model
from .spec import decimal_text
from .solution import Solution

LATEX_TIMEOUT = 180
SHEET_TEMPLATE = "solution.tex.j2"
LONG_RATIONAL = 28  # characters of p/q beyond which the sheet shows a fraction as its decimal
LONG_EXPRESSION = 24  # characters of LaTeX beyond which an irrational exact value is shown as its decimal
MATRIX_TEMPLATE = "solution_matrix.tex.j2"  # bigger networks: vector and matrix form

_TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}


def escape_tex(text: str) -> str:
    """Make arbitrary user text safe to typeset: no command, group or comment survives."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in str(text) if ch.isprintable())


def templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent.parent / "templates"):
        if (candidate / SHEET_TEMPLATE).is_file():
            return candidate
    raise TemplateError(f"templates folder not found next to {here}")


def user_templates(folder: str | None) -> Path | None:
    """The `--templates` folder a user gave (checked), or None for the bundled templates."""
    if not folder:
        return None
    if not Path(folder).is_dir():
        raise TemplateError(f"--templates {folder}: not a folder")
    return Path(folder)


@functools.lru_cache(maxsize=8)
def environment(folder: Path) -> jinja2.Environment:
    """Jinja with delimiters that do not clash with LaTeX braces (one per folder: templates compile once)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.filters["e"] = escape_tex
    return env


class Printer:
    """LaTeX for the model's expressions and exact numbers, in the spec's notation."""

    def __init__(self, model: Model):
        self.names = model.latex_names()
        self._key = tuple(sorted((s.name, text) for s, text in self.names.items()))

    def expr(self, value: sp.Expr) -> str:
        return _latex(value, self._key)

    def number(self, value: sp.Expr) -> str:
        """An exact value, with a decimal when the exact form is not already one.

        An exact expression too long to read (nested exp and tanh) is shown as its decimal;
        the exact form is in `--json`.
        """
        if value.is_Float or too_long(value) or self._unreadable(value):
            return truncated(value)
        exact = self.expr(value)
        if value.is_Integer:
            return exact
        if _terminates(value):
            return rf"{exact} = {decimal(value)}"
        return rf"{exact} \approx {decimal(value)}"

    def short(self, value: sp.Expr) -> str:
        """A short decimal when that is exact, else the exact value with a decimal."""
        return self.plain(value) if _terminates(value) else self.number(value)

    def plain(self, value: sp.Expr) -> str:
        """A number as a short decimal when exact, else exact (for compact tables)."""
        if value.is_Float or too_long(value) or self._unreadable(value):
            return truncated(value)
        return decimal(value) if _terminates(value) else self.expr(value)

    def _unreadable(self, value: sp.Expr) -> bool:
        """An exact form too long for a line of working: shown as its cut decimal (exact in --json)."""
        if value.is_Rational:
            return len(str(value)) > LONG_RATIONAL
        return len(self.expr(value)) > LONG_EXPRESSION


@functools.lru_cache(maxsize=16384)
def _latex(value: sp.Expr, names: tuple[tuple[str, str], ...]) -> str:
    """sp.latex, remembered: variants of one spec print the same proofs and formulas many times."""
    return sp.latex(value, symbol_names=_symbol_names(names))


@functools.lru_cache(maxsize=16)
def _symbol_names(names: tuple[tuple[str, str], ...]) -> dict[sp.Symbol, str]:
    return {sp.Symbol(name, real=True): text for name, text in names}


def truncated(value: sp.Expr, digits: int = 6) -> str:
    """`1.286699\\ldots`: the value's decimal expansion cut (not rounded) after `digits` places.

    Used where an exact value is too long to print; the dots say the digits shown are exact
    digits of the expansion, so it can follow an equals sign. `--json` has the exact form.
    """
    number = Decimal(mpmath.nstr(numeric_value(value), 50, strip_zeros=False, min_fixed=-60, max_fixed=60))
    if number == 0:
        return "0"
    if abs(number) >= Decimal("1e9") or abs(number) < Decimal("1e-4"):
        exponent = number.adjusted()
        mantissa = (number.scaleb(-exponent)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
        return rf"{mantissa}\ldots \times 10^{{{exponent}}}"
    text = format(number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN), "f")
    return rf"{text}\ldots"


def too_long(value: sp.Expr, limit: int = 40) -> bool:
    """More than `limit` nodes in the expression tree: not worth printing exactly in the sheet."""
    if value.is_Atom:
        return False
    for count, _ in enumerate(sp.preorder_traversal(value)):
        if count > limit:
            return True
    return False


def _terminates(value: sp.Expr) -> bool:
    """A short terminating decimal (denominator of at most six digits): printed as a decimal."""
    return value.is_Rational and len(str(value.q)) <= 6 and \
        decimal_text(Fraction(int(value.p), int(value.q))) is not None


def render(solution: Solution, folder: Path | None = None) -> str:
    """The answer sheet's LaTeX source."""
    from .sheet import sheet_context  # the context builders are long; keep this module about I/O
    from .sheet_matrix import matrix_context

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
    except jinja2.TemplateError as error:
        raise TemplateError(f"{folder}: template error: {error}") from None


def summary_latex(solution: Solution) -> str:
    """A short LaTeX summary for Jupyter's `_repr_latex_`."""
    p = Printer(solution.model)
    gradient = ", ".join(p.expr(g) for g in solution.training.initial.gradient)
    return rf"$\mathcal{{L}} = {p.expr(solution.loss)},\quad \nabla_\theta \mathcal{{L}} = \left({gradient}\right)$"


def latexmk_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def compile_pdf(tex: str, pdf_path: Path, timeout: int = LATEX_TIMEOUT) -> Path:
    """Build a PDF in a private temporary folder: no shell escape, no rc files, a time limit."""
    with tempfile.TemporaryDirectory(prefix="chainrule-tex-") as work:
        source = Path(work) / "sheet.tex"
        source.write_text(tex, encoding="utf-8")
        command = [
            "latexmk", "-pdf", "-norc", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            "-pdflatex=pdflatex -no-shell-escape %O %S", "sheet.tex",
        ]
        env = {**os.environ, "openout_any": "p", "openin_any": "p", "shell_escape": "f",
               # reproducible PDFs: pdfTeX takes its dates and document ID from this fixed epoch
               "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
        try:
            result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=timeout, env=env,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LatexError(f"latexmk took longer than {timeout} s; the .tex is kept for inspection") from None
        built = Path(work) / "sheet.pdf"
        if result.returncode != 0 or not built.is_file():
            log = (Path(work) / "sheet.log")
            first_error = _first_error(log.read_text(errors="replace") if log.is_file() else result.stdout)
            raise LatexError(f"latexmk failed: {first_error}")
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, pdf_path)
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
    from .handout import handout_context

    return _render(HANDOUT_TEMPLATE, lambda: handout_context(derivation, Printer(derivation.model), variant), folder)
