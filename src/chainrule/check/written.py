"""A student's expression as they wrote it, in LaTeX: for showing what was read, never for judging.

The parse tree of `notation` (the same grammar, so the same errors) is printed back with the
names in their canonical spelling (`delta_yhat` → δ_ŷ, `x[0]` → x_0), the operators as written
and brackets only where the structure needs them. Judging uses `notation.parse_chain`, which
gives the tree its meaning; this only gives it a face.

    >>> written_latex("dL/dw0 = delta_h * x[0]")
    ('\\\\mathrm{d}L / \\\\mathrm{d}w_{0}', '\\\\delta_{h} \\\\cdot x_{0}')
"""

from __future__ import annotations

import re

from lark import Token, Tree

from chainrule.check.notation import _canon, _tree
from chainrule.check.tokens import GREEK

_SUM, _PRODUCT, _POWER, _ATOM = 1, 2, 3, 4
_FUNCTIONS = {"exp", "log", "ln", "sin", "cos", "tan", "tanh", "max", "min"}
_BASE = re.compile(r"([A-Za-z]+?)(\d*)")


def written_latex(text: str, max_length: int = 10_000) -> tuple[str, ...]:
    """Each side of a chain `A = B = …`, as LaTeX of what was written."""
    tree = _tree(text, max_length)
    return tuple(_print(child)[0] for child in tree.children)


def name_latex(name: str) -> str:
    """A canonical name in LaTeX: w0 → w_{0}, delta_y_hat → \\delta_{\\hat{y}}, dL → \\mathrm{d}L."""
    parts = name.split("_")
    head = parts[0]
    found = _BASE.fullmatch(head)
    letters, digits = (found.group(1), found.group(2)) if found else (head, "")
    if letters in GREEK or (letters in _FUNCTIONS and not digits and len(parts) == 1):
        base = "\\" + letters
    elif len(letters) == 1:
        base = letters
    elif letters[0] == "d" and (letters[1:] in GREEK or len(letters) == 2):
        base = r"\mathrm{d}" + name_latex(letters[1:])
    else:
        base = r"\mathrm{" + letters + "}"
    rest = parts[1:]
    if rest[:1] == ["hat"]:
        base, rest = r"\hat{" + base + "}", rest[1:]
    subscripts = ([digits] if digits else []) + ([name_latex("_".join(rest))] if rest else [])
    return base + "".join("_{" + s + "}" for s in subscripts[:1]) + "".join(
        "{}_{" + s + "}" for s in subscripts[1:])


def _wrap(printed: tuple[str, int], level: int) -> str:
    text, own = printed
    return text if own >= level else r"\left(" + text + r"\right)"


def _print(node) -> tuple[str, int]:
    """(LaTeX, precedence) of a tree node."""
    if isinstance(node, Token):
        if node.type == "NUMBER":
            return str(node), _ATOM
        return _function(str(node)), _ATOM
    kind = node.data
    children = node.children
    if kind == "number":
        return str(children[0]), _ATOM
    if kind == "name":
        return name_latex(_canon(node)), _ATOM
    if kind == "expr":
        parts = [_wrap(_print(children[0]), _SUM)]
        for op, term in zip(children[1::2], children[2::2]):
            parts.append(f" {op} " + _wrap(_print(term), _PRODUCT if _is(term, "neg") else _SUM))
        return "".join(parts), _SUM
    if kind == "neg":
        signs = "".join(str(c) for c in children[:-1])
        return signs + _wrap(_print(children[-1]), _PRODUCT), _SUM
    if kind == "product":
        parts = []
        for child in children:
            if isinstance(child, Token) and child.type == "MULOP":
                parts.append({"*": r" \cdot ", "/": " / "}.get(str(child), " " + str(child) + " "))
            else:
                if parts and not parts[-1].endswith(" "):
                    parts.append(r" \, ")
                parts.append(_wrap(_print(child), _POWER))
        return "".join(parts), _PRODUCT
    if kind in ("power", "npow") and len(children) == 1:
        return _print(children[0])
    if kind in ("power", "npow"):
        text = _print(children[-1])[0]
        for child in reversed(children[:-1]):
            text = _wrap(_print(child), _ATOM) + "^{" + text + "}"
        return text, _POWER
    if kind == "call":
        head, args = children
        if str(head) == "sqrt" and len(args.children) == 1:
            return r"\sqrt{" + _print(args.children[0])[0] + "}", _ATOM
        return _function(str(head)) + r"\left(" + ", ".join(_print(a)[0] for a in args.children) + r"\right)", _ATOM
    if kind == "bare_call":
        head, argument = children
        return _function(str(head)) + " " + _wrap(_print(argument), _ATOM), _PRODUCT
    if kind == "abs":
        return r"\left|" + _print(children[0])[0] + r"\right|", _ATOM
    if kind == "frac":
        return r"\frac{" + _print(children[0])[0] + "}{" + _print(children[1])[0] + "}", _ATOM
    if kind == "partial":
        return r"\partial " + _print(children[0])[0], _PRODUCT
    return " ".join(_print(c)[0] for c in children), _SUM


def _function(name: str) -> str:
    if name == "sqrt":
        return r"\sqrt"
    return "\\" + name if name in _FUNCTIONS else r"\operatorname{" + name + "}"


def _is(node, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data
