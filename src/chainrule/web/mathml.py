"""LaTeX (our own printer's, never a student's) to MathML, which browsers render without a network.

latex2mathml is pure Python and maintained; Chromium and Firefox render MathML Core natively, so
the page needs no KaTeX or MathJax copy and no JavaScript to show mathematics.
"""

from __future__ import annotations

import html

from latex2mathml.converter import convert


def mathml(latex: str, display: bool = False) -> str:
    """`<math>…</math>`; LaTeX the converter does not know is shown as escaped source in `<code>`."""
    # one formula, not an alignment: `a &= 1 & b &= 2` (a row of columns) reads `a = 1, b = 2`
    flat = latex.replace("\\\\", " ").replace("&=", "=").replace(" & ", ", \\quad ").replace("&", "")
    try:
        return convert(flat, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - the converter raises many kinds; the page must still show something
        return f"<code>{html.escape(latex)}</code>"
