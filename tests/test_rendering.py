"""The answer sheet: golden files, escaping, determinism, template override and a real PDF build."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import sympy as sp

from chainrule.core.solution import solve
from chainrule.core.spec_reader import load
from chainrule.errors import TemplateError
from chainrule.render.documents import (
    compile_pdf,
    latexmk_available,
    render,
    templates_dir,
)
from chainrule.render.printer import escape_tex, polynomial_latex

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def homework():
    return solve("inf264_hw4")


@pytest.mark.parametrize("name", ["inf264_hw4", "two_hidden_units"])
def test_sheet_matches_golden_file(name):
    # Regenerate with `make golden` only after reviewing the change.
    expected = (GOLDEN / f"{name}-solution.tex").read_text(encoding="utf-8")
    assert render(solve(name)) == expected


def test_sheet_is_deterministic(homework):
    assert render(homework) == render(solve("inf264_hw4"))


@pytest.mark.parametrize("needle", [
    r"\mathbf{x}[0]", r"\widehat{y}", r"\delta_{\widehat{y}}", r"\delta_{h}", "g'(z)",  # the homework's notation
    r"\begin{tikzpicture}", r"\checkmark",
    r"\frac{1427823662201}{500000000000}", "3.25",
    # working shown once, with its substitution (issue 12)
    r"\delta_{\widehat{y}} &= 2 \left(\widehat{y} - y\right) = 2 \left(3 - 1.3\right) = 3.4",
    r"\delta_{h} &= \delta_{\widehat{y}} \cdot w_{3} \cdot g'(z) = 3.4 \cdot 1 \cdot 1 = 3.4",
    r"w_{0} &\leftarrow 1 - 0.01 \cdot 3.4 = 0.966",
    r"\widehat{y}(\mathbf{x}_{1}) = 3$ and $\widehat{y}(\mathbf{x}_{2}) = 0$",
    r"\widehat{y} &= 0.949 \cdot 2.898 + 0.002 = 2.752202",  # Q6: the new prediction, worked
])
def test_sheet_answers_in_homework_notation(homework, needle):
    assert needle in render(homework)


@pytest.mark.parametrize("text, expected", [
    ("plain", "plain"),
    (r"\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
    ("50% & $x$ #1 a_b ^ ~", r"50\% \& \$x\$ \#1 a\_b \textasciicircum{} \textasciitilde{}"),
])
def test_escape_tex(text, expected):
    assert escape_tex(text) == expected


def test_title_is_escaped(homework):
    spec = dataclasses.replace(homework.spec, title=r"\input{/etc/passwd} 100%")
    evil = dataclasses.replace(homework, spec=spec, model=dataclasses.replace(homework.model, spec=spec))
    tex = render(evil)
    assert r"\input{/etc/passwd}" not in tex
    assert r"\textbackslash{}input\{/etc/passwd\} 100\%" in tex


def test_templates_can_be_overridden(homework, tmp_path):
    for path in templates_dir().iterdir():
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "solution.tex.j2").write_text(r"custom \VAR{loss}", encoding="utf-8")
    assert render(homework, tmp_path) == r"custom \frac{13}{4} = 3.25"


def test_missing_template_is_a_clear_error(homework, tmp_path):
    with pytest.raises(TemplateError, match="solution.tex.j2"):
        render(homework, tmp_path)


SPECS = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "derivations").glob("*.toml"))


# test_sheet_layout.py compiles every bundled sheet with compile_pdf's own command and environment
# (and reads its log); here compile_pdf itself builds one sheet of each layout, flat and matrix.
COMPILED = ["deep_relu", "inf264_hw4"] if shutil.which("pdftotext") else SPECS


@pytest.mark.skipif(not latexmk_available(), reason="latexmk is not installed")
@pytest.mark.parametrize("name", COMPILED)
def test_pdf_compiles(name, tmp_path):
    pdf = compile_pdf(render(solve(load(name))), tmp_path / f"{name}.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.pdf"]  # no auxiliary files left here


@pytest.mark.parametrize("needle", [
    r"\begin{axis}", r"\begin{semilogyaxis}", "fill=green!15",  # one-step loss with the decrease interval shaded
    r"\addlegendentry{the given $\eta$}", r"\addlegendentry{best one-step $\eta^\star$}",
    r"$\eta = 0.01$ (the spec's, decreases)", "(past the edge, diverges)",
])
def test_golden_sheet_includes_the_learning_rate_plots(needle):
    assert needle in (GOLDEN / "inf264_hw4-solution.tex").read_text(encoding="utf-8")


def test_question_7_prose_follows_the_numbers(homework):
    tex = render(homework)
    assert r"0 < \eta < 0.319091\ldots" in tex  # the decrease interval, computed
    assert r"\eta^\star \approx 0.081859\ldots" in tex  # the best one-step rate, computed
    assert "inside the interval where the step helps" in tex  # η = 0.01 placed on that picture


@pytest.mark.parametrize("value, text", [
    (sp.E, r"2.718281\ldots"),                       # cut, not rounded (2.7182818...)
    (sp.Rational(-2, 3), r"-0.666666\ldots"),        # rounding would give -0.666667
    (sp.exp(-20), r"2.061153\ldots \times 10^{-9}"),
    (sp.exp(30), r"1.068647\ldots \times 10^{13}"),
])
def test_long_values_are_truncated_expansions(value, text):
    from chainrule.numbers import truncated

    assert truncated(value) == text


@pytest.mark.skipif(not latexmk_available(), reason="TeX Live is not installed")
def test_pdfs_are_byte_identical_across_builds(homework, tmp_path):
    """Same spec and seed, same files: the PDF's dates and ID come from a fixed SOURCE_DATE_EPOCH."""
    import time

    tex = render(homework)
    first = compile_pdf(tex, tmp_path / "a.pdf").read_bytes()
    time.sleep(1.1)  # a different wall-clock second
    assert compile_pdf(tex, tmp_path / "b.pdf").read_bytes() == first


def test_templates_compile_once_per_folder(homework):
    """A class's 200 sheets must not recompile the templates 200 times (a regression seen once)."""
    from chainrule.render.documents import environment

    render(homework)
    assert environment(templates_dir()) is environment(templates_dir())
    loaded = environment(templates_dir()).get_template("solution.tex.j2")
    render(homework)
    assert environment(templates_dir()).get_template("solution.tex.j2") is loaded


TEMPLATE_FOLDERS = (Path(__file__).parent.parent / "templates",
                    Path(__file__).parent.parent / "src" / "chainrule" / "web" / "templates")


def _text_conditions(template: str) -> list[str]:
    """The template's if/elif conditions that compare with a string literal."""
    import re

    conditions = re.findall(r"(?:\\BLOCK\{|\{%-?)\s*(?:el)?if\b(.*?)(?:\}|-?%\})", template)
    return [c for c in conditions if re.search(r"""(==|!=|\bin\b)\s*[(\[]?\s*["']|["']\s*(==|!=|\bin\b)""", c)]


def test_a_condition_on_text_is_found():
    assert _text_conditions(r'xshift=\BLOCK{if c.end.anchor == "west"}4pt\BLOCK{else}-4pt\BLOCK{endif}')
    assert _text_conditions('{% if kind in ("relu", "elu") %}x{% endif %}')
    assert not _text_conditions(r"\BLOCK{if c.end}x\BLOCK{endif}{% if n == 1 %}y{% endif %}")


@pytest.mark.parametrize("template", sorted(p for folder in TEMPLATE_FOLDERS for p in folder.glob("*.j2")),
                         ids=lambda p: p.name)
def test_templates_branch_on_flags_not_on_text(template):
    # a condition comparing with a string literal branches on printed text (LaTeX, prose, a TikZ
    # keyword): Python decides and hands the template a flag or the finished piece
    assert _text_conditions(template.read_text(encoding="utf-8")) == []


_ETA = sp.Symbol("eta", positive=True)


def _sympy_latex(coefficients) -> str:
    """What SymPy's own printer makes of the polynomial's expression, with η named \\eta."""
    poly = sp.Poly(coefficients, _ETA, domain="QQ")
    return sp.latex(poly.as_expr().xreplace({_ETA: sp.Symbol(r"\eta")}))


@pytest.mark.parametrize(
    ("coefficients", "expected"),
    [
        ([sp.Rational(6765201, 5000), sp.Rational(-658053, 500), sp.Rational(408499, 1000), sp.Rational(-4339, 100),
          sp.Rational(13, 4)],
         r"\frac{6765201 \eta^{4}}{5000} - \frac{658053 \eta^{3}}{500} + \frac{408499 \eta^{2}}{1000} - "
         r"\frac{4339 \eta}{100} + \frac{13}{4}"),
        ([13530402, -9870795, 2042495, -108475], r"13530402 \eta^{3} - 9870795 \eta^{2} + 2042495 \eta - 108475"),
        ([-1, 0, 0], r"- \eta^{2}"),
        ([-5], "-5"),
        ([sp.Rational(-13, 4)], r"- \frac{13}{4}"),
        ([0], "0"),
        ([sp.Rational(1, 7), 0, 0], r"\frac{\eta^{2}}{7}"),
        ([-1, 1], r"1 - \eta"),  # SymPy's one exception to highest power first
        ([sp.Rational(-1, 7), 0, 1], r"1 - \frac{\eta^{2}}{7}"),
        ([-1, -1], r"- \eta - 1"),
        ([-1, 0, 1, 1], r"- \eta^{3} + \eta + 1"),
    ],
)
def test_polynomial_latex_prints_as_sympy_does(coefficients, expected):
    poly = sp.Poly(coefficients, _ETA, domain="QQ")
    assert polynomial_latex(poly) == expected == _sympy_latex(coefficients)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.just(0), st.sampled_from([1, -1]), st.integers(-10**12, 10**12),
                          st.fractions(max_denominator=10**6).map(lambda f: sp.Rational(f.numerator, f.denominator))),
                min_size=1, max_size=8))
def test_polynomial_latex_agrees_with_sympy_on_any_rational_polynomial(coefficients):
    assert polynomial_latex(sp.Poly(coefficients, _ETA, domain="QQ")) == _sympy_latex(coefficients)
