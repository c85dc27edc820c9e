"""The problem as HTML: Jinja2 with autoescape, formulas as MathML, the network as inline SVG."""

from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from chainrule.web.mathml import mathml

_INLINE_MATH = re.compile(r"\$([^$]+)\$")


def _mixed(text: str) -> Markup:
    """A sentence of our own with `$…$` formulas: the text escaped, the formulas as MathML."""
    parts, last = [], 0
    for found in _INLINE_MATH.finditer(text):
        parts.append(escape(text[last:found.start()]))
        parts.append(Markup(mathml(found.group(1))))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("chainrule.web", "templates"), autoescape=select_autoescape(
        enabled_extensions=("html", "j2"), default_for_string=True, default=True), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True)
    env.filters["m"] = lambda latex: Markup(mathml(str(latex)))
    env.filters["dm"] = lambda latex: Markup(mathml(str(latex), display=True))
    env.filters["mixed"] = _mixed
    return env


def render_page(title: str, is_class: bool, show_expected: bool = False) -> str:
    """The page's shell; the problem itself is fetched from /api/problem by app.js."""
    return environment().get_template("page.html.j2").render(title=title, is_class=is_class,
                                                             show_expected=show_expected)
