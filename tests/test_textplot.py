"""Terminal pictures: golden text for fixed inputs, and the `chainrule lr` command's pictures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.render.textplot import bars

from .regenerate_golden import bars_example, lines_example

GOLDEN = Path(__file__).parent / "golden"


def test_bars_golden():
    assert bars_example() == (GOLDEN / "bars.txt").read_text(encoding="utf-8")


def test_lines_golden():
    assert lines_example() == (GOLDEN / "lines.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("ys", [[1.0, 1.0, 1.0], [0.0, 0.0], [5.0]])
def test_flat_data_does_not_divide_by_zero(ys):
    assert bars(list(range(len(ys))), ys)


def test_chainrule_lr_draws_both_pictures():
    result = subprocess.run([sys.executable, "-m", "chainrule", "lr"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sample 2's unit h becomes active at eta = 10/51" in out
    assert "best one-step eta ≈ 0.081859, loss ≈ 1.77428" in out
    assert "█" in out and "░" in out  # the one-step loss picture, with the decrease interval shaded
    assert "(log scale)" in out and "diverges" in out  # the training curves, one of them past the edge
