"""The answer sheet of bigger networks: vector and matrix form, with the proofs in an appendix."""

from __future__ import annotations

import dataclasses

import pytest

from chainrule.core.solution import solve
from chainrule.core.spec import derivations_dir
from chainrule.core.spec_reader import load, parse
from chainrule.errors import SpecError
from chainrule.render.documents import compile_pdf, latexmk_available, render

HOMEWORK = (derivations_dir() / "inf264_hw4.toml").read_text()


@pytest.mark.parametrize("name, layout, matrix", [
    ("inf264_hw4", "auto", False),          # 5 parameters: written out, as the homework
    ("two_hidden_relu", "auto", False),     # 20: at the threshold, still written out
    ("deep_relu", "auto", True),            # 51: above it
    ("deep_relu", "written", False),        # the spec overrides the threshold either way
    ("inf264_hw4", "matrix", True),
])
def test_the_size_threshold_and_the_override_choose_the_layout(name, layout, matrix):
    spec = dataclasses.replace(load(name), layout=layout)
    assert spec.matrix_sheet is matrix
    tex = render(solve(spec))
    assert ("Appendix A" in tex) is matrix
    assert (r"\mathbf{z}^{(l)} = W^{(l)} \mathbf{a}^{(l-1)} + \mathbf{b}^{(l)}" in tex) is matrix


def test_matrix_threshold_is_configurable():
    spec = parse(HOMEWORK + "\n[sheet]\nmatrix_above = 4\n", "hw.toml")
    assert spec.matrix_sheet and spec.layout == "auto"


@pytest.mark.parametrize("table, key", [
    ('[sheet]\nlayout = "compact"\n', "sheet.layout"),
    ("[sheet]\nmatrix_above = -1\n", "sheet.matrix_above"),
    ("[sheet]\nlayuot = 'matrix'\n", "sheet.layuot"),
])
def test_bad_sheet_table(table, key):
    with pytest.raises(SpecError) as error:
        parse(HOMEWORK + "\n" + table, "hw.toml")
    assert error.value.key == key and error.value.line == len(HOMEWORK.splitlines()) + 3


def test_the_homework_in_matrix_form_has_the_hand_computed_numbers():
    """θ = (1, 1, 0, 1, 0); mean gradient (17/5, 17/10, 17/10, 51/10, -1/5); θ' = (0.966, 0.983, -0.017, 0.949, 0.002)."""
    tex = render(solve(dataclasses.replace(load("inf264_hw4"), layout="matrix")))
    assert r"W^{(1)} = \begin{pmatrix} 1 & 1 \end{pmatrix}, \quad \mathbf{b}^{(1)} = \begin{pmatrix} 0 \end{pmatrix}" in tex
    assert r"\frac{\partial \mathcal{L}}{\partial W^{(1)}} = \begin{pmatrix} 3.4 & 1.7 \end{pmatrix}" in tex
    assert r"\frac{\partial \mathcal{L}}{\partial \mathbf{b}^{(2)}} = \begin{pmatrix} -0.2 \end{pmatrix}" in tex
    assert r"W^{(1)} = \begin{pmatrix} 0.966 & 0.983 \end{pmatrix}, \quad \mathbf{b}^{(1)} = \begin{pmatrix} -0.017 \end{pmatrix}" in tex
    assert r"\mathbf{z}^{(1)} = \begin{pmatrix} 3 \end{pmatrix}^{\!\top}" in tex  # sample 1: z = 2 + 1 + 0
    assert r"\boldsymbol{\delta}^{(2)} &= 2(\widehat{\mathbf{y}} - \mathbf{y})" in tex
    assert tex.count(r"\paragraph{Equality") == 5  # every per-parameter proof, in the appendix
    assert tex.index("Appendix A") < tex.index(r"\paragraph{Equality (1)")


def test_matrix_sheet_is_deterministic():
    spec = load("deep_relu")
    assert render(solve(spec)) == render(solve(spec))


@pytest.mark.skipif(not latexmk_available(), reason="TeX Live is not installed")
def test_a_wide_layer_compiles(tmp_path):
    """[2, 12, 1]: the 12-column W^{(2)} and long fractions must still compile (shrunk to the line)."""
    init = ", ".join(str((i % 7 - 3) / 10) for i in range(49))
    spec = parse(f"""
[network]
sizes = [2, 12, 1]
activations = ["relu", "identity"]
[loss]
kind = "squared_error"
[data]
x = [[1, 2], [-1, 0.5], [0.3, -0.7]]
y = [1, -1, 0.25]
[parameters]
init = [{init}]
[training]
learning_rate = 0.03
[sheet]
layout = "matrix"
""", "wide.toml")
    pdf = compile_pdf(render(solve(spec)), tmp_path / "wide.pdf")
    assert pdf.stat().st_size > 10_000
