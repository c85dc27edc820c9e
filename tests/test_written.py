"""An expression as written, printed back as LaTeX for the page's previews (check/written.py)."""

from __future__ import annotations

import pytest

from chainrule.check.notation import FreeVocabulary, parse
from chainrule.check.tokens import NotationError
from chainrule.check.written import name_latex, written_latex


@pytest.mark.parametrize("text, latex", [
    ("17/5", ("17 / 5",)),
    (r"\frac{17}{5}", (r"\frac{17}{5}",)),
    ("2^3^4", ("2^{3^{4}}",)),
    ("(2^3)^4", (r"\left(2^{3}\right)^{4}",)),
    ("-2(a+b)^2", (r"-2 \, \left(a + b\right)^{2}",)),
    ("a - -b", (r"a - \left(-b\right)",)),
    ("a*(b-c)", (r"a \cdot \left(b - c\right)",)),
    ("sqrt(2) + |x_1| + relu(z)", (r"\sqrt{2} + \left|x_{1}\right| + \operatorname{relu}\left(z\right)",)),
    (r"\exp x", (r"\exp x",)),
    ("dL/dw0 = delta_h * x[0]", (r"\mathrm{d}L / \mathrm{d}w_{0}", r"\delta_{h} \cdot x_{0}")),
    (r"\frac{\partial L}{\partial w_4} = \delta_{\hat{y}}", (r"\frac{\partial L}{\partial w_{4}}", r"\delta_{\hat{y}}")),
])
def test_written_latex(text, latex):
    assert written_latex(text) == latex


@pytest.mark.parametrize("name, latex", [
    ("w0", "w_{0}"), ("x", "x"), ("y_hat", r"\hat{y}"), ("delta_y_hat", r"\delta_{\hat{y}}"),
    ("delta_h", r"\delta_{h}"), ("eta", r"\eta"), ("dL", r"\mathrm{d}L"), ("relu", r"\mathrm{relu}"),
    ("exp", r"\exp"),
])
def test_name_latex(name, latex):
    assert name_latex(name) == latex


@pytest.mark.parametrize("text", ["2 *", r"\frac{1}{2", "(1", r"\input{x}"])
def test_it_refuses_what_the_grammar_refuses(text):
    with pytest.raises(NotationError):
        written_latex(text)
    with pytest.raises(NotationError):
        parse(text, FreeVocabulary())
