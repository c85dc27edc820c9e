"""The network as an SVG picture, without TeX: the handout's figure for web pages (Moodle).

The layout is the handout's (sheet.network_picture): inputs on the left, one column per layer,
a bias box under each column, each edge labelled with its weight where the labels cannot
collide. Labels are the spec's notation turned from LaTeX into text with sub- and superscripts
(`w_{0}` → w₀ as an SVG subscript, `\\widehat{y}` → ŷ). The same model gives the same bytes.

    svg(build(load("inf264_hw4")))  # '<svg xmlns="http://www.w3.org/2000/svg" ...'
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from chainrule.core.model import Model
from chainrule.numbers import position
from chainrule.render.sheet_figures import NodeStyle, network_picture

SCALE = 70  # pixels per centimetre of the handout's layout
MARGIN = 50  # pixels around the picture
RADIUS = 24  # pixels: a unit's circle
FONT = 15  # pixels
STYLE = {NodeStyle.INPUT: "#e8f0fe", NodeStyle.HIDDEN: "#fff4e0", NodeStyle.OUTPUT: "#e6f4ea", NodeStyle.BIAS: "#f1f3f4"}
SVG = "http://www.w3.org/2000/svg"

_GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5), ("eta", 0x3B7),
    ("theta", 0x3B8), ("lambda", 0x3BB), ("mu", 0x3BC), ("sigma", 0x3C3), ("tau", 0x3C4), ("phi", 0x3C6),
    ("psi", 0x3C8), ("omega", 0x3C9), ("Delta", 0x394), ("Sigma", 0x3A3), ("Theta", 0x398))}
_SYMBOLS = {"mid": " | ", "cdot": "·", "ell": "ℓ", "prime": "′", ",": " ", ";": " ", "quad": " "}
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "bar": "\u0304",
            "overline": "\u0305", "vec": "\u20d7", "dot": "\u0307"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([{}_^])|([^\\{}_^]+)")


def svg(model: Model) -> str:
    """The SVG document of the model's network (UTF-8 text)."""
    picture = network_picture(model)
    place = {n["id"]: (float(n["x"]), float(n["y"])) for n in picture["nodes"]}
    xs = [x for x, _ in place.values()]
    ys = [y for _, y in place.values()]
    width = round((max(xs) - min(xs)) * SCALE + 2 * MARGIN + 40)
    height = round((max(ys) - min(ys)) * SCALE + 2 * MARGIN)
    at = lambda ident: (round((place[ident][0] - min(xs)) * SCALE + MARGIN + 20, 1),  # noqa: E731
                        round((max(ys) - place[ident][1]) * SCALE + MARGIN, 1))
    root = ET.Element("svg", xmlns=SVG, width=str(width), height=str(height), viewBox=f"0 0 {width} {height}",
                      role="img", **{"font-family": "serif", "font-size": str(FONT)})
    ET.SubElement(root, "title").text = f"The network of {model.spec.name}"
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(defs, "marker", id="arrow", markerWidth="8", markerHeight="8", refX="7", refY="4",
                           orient="auto")
    ET.SubElement(marker, "path", d="M0,0 L8,4 L0,8 z", fill="#444")
    for edge in picture["edges"]:
        _edge(root, at(edge["src"]), at(edge["dst"]), edge["label"], edge["from_bias"])
    for node in picture["nodes"]:
        _node(root, at(node["id"]), node["label"], node["style"])
    return ET.tostring(root, encoding="unicode") + "\n"  # not indented: whitespace inside <text> would show


def _edge(root: ET.Element, start, end, label: str | None, from_bias: bool) -> None:
    (x1, y1), (x2, y2) = start, end
    length = max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    gap = 16 if from_bias else RADIUS
    ET.SubElement(root, "line", x1=position(x1 + ux * gap), y1=position(y1 + uy * gap), x2=position(x2 - ux * (RADIUS + 2)),
                  y2=position(y2 - uy * (RADIUS + 2)), stroke="#444", **{"stroke-width": "1.3", "marker-end": "url(#arrow)"})
    if label:
        # at 60 % of the way, lifted off the line, so labels of edges into one unit stay apart
        mx, my = x1 + (x2 - x1) * 0.6, y1 + (y2 - y1) * 0.6
        text = ET.SubElement(root, "text", x=position(mx - uy * 12), y=position(my + ux * -12 + 5), fill="#a0310b",
                             **{"text-anchor": "middle"})
        _label(text, label)


def _node(root: ET.Element, centre, label: str, style: NodeStyle) -> None:
    x, y = centre
    fill = STYLE[style]
    if style is NodeStyle.BIAS:
        ET.SubElement(root, "rect", x=position(x - 14), y=position(y - 14), width="28", height="28", fill=fill, stroke="#444")
    else:
        ET.SubElement(root, "circle", cx=position(x), cy=position(y), r=str(RADIUS), fill=fill, stroke="#444",
                      **{"stroke-width": "1.5"})
    text = ET.SubElement(root, "text", x=position(x), y=position(y + 5), **{"text-anchor": "middle"})
    if style is not NodeStyle.BIAS and len(label_text(label)) > 4:  # a long label sits beside its circle
        text.set("y", position(y - RADIUS - 8))
    _label(text, label)


def _label(text: ET.Element, latex: str) -> None:
    """Fill an SVG <text> with the label: plain runs, and <tspan>s shifted for sub- and superscripts."""
    for run, shift in label_runs(latex):
        if not shift and len(text) == 0:
            text.text = (text.text or "") + run
            continue
        span = ET.SubElement(text, "tspan")
        span.text = run
        if shift:
            span.set("baseline-shift", shift)
            span.set("font-size", str(FONT - 4))


def label_text(latex: str) -> str:
    """The label as one plain string (for alt text and widths): `w_{0}` → 'w0'."""
    return "".join(run for run, _ in label_runs(latex))


def label_runs(latex: str) -> list[tuple[str, str]]:
    """LaTeX of a notation label as (text, shift) runs, shift '' or 'sub' or 'super'."""
    runs: list[tuple[str, str]] = []
    tokens = _TOKEN.findall(latex)
    _group(tokens, 0, "", runs, accent=None)
    merged: list[tuple[str, str]] = []
    for run, shift in runs:
        if merged and merged[-1][1] == shift:
            merged[-1] = (merged[-1][0] + run, shift)
        elif run:
            merged.append((run, shift))
    return [(re.sub(r" {2,}", " ", run), shift) for run, shift in merged]


def _group(tokens, i: int, shift: str, runs: list, accent: str | None) -> int:
    """Read tokens from i to the end of the current group; return the index after it."""
    while i < len(tokens):
        command, brace, text = tokens[i]
        i += 1
        if brace == "}":
            return i
        if brace == "{":
            i = _group(tokens, i, shift, runs, accent)
        elif brace in ("_", "^"):
            inner = "sub" if brace == "_" else "super"
            if i < len(tokens) and tokens[i][1] == "{":
                i = _group(tokens, i + 1, inner, runs, None)
            elif i < len(tokens):
                single = tokens[i][2][:1] or _command(tokens[i][0])
                runs.append((single, inner))
                if tokens[i][2][1:]:
                    runs.append((tokens[i][2][1:], shift))
                i += 1
        elif command in _ACCENTS:
            mark = _ACCENTS[command]
            if i < len(tokens) and tokens[i][1] == "{":
                start = len(runs)
                i = _group(tokens, i + 1, shift, runs, None)
                if len(runs) > start:
                    last, where = runs[-1]
                    runs[-1] = (last + mark, where)
        elif command:
            runs.append((_command(command), shift))
        else:
            runs.append((text.replace("~", " "), shift))
    return i


def _command(name: str) -> str:
    if name in _GREEK:
        return _GREEK[name]
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    if name in ("mathbf", "mathrm", "mathit", "boldsymbol", "operatorname", "text", "left", "right"):
        return ""
    return name if len(name) == 1 else ""
