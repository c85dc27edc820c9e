"""The network as inline SVG, from the same node and edge layout the handout's TikZ figure uses."""

from __future__ import annotations

from markupsafe import escape

from chainrule.web.mathml import mathml

SCALE = 60  # pixels per TikZ centimetre
RADIUS = {"input": 22, "hidden": 28, "output": 26, "bias": 13}
LABEL_BOX = (90, 40)


def network_svg(network: dict) -> str:
    """`<svg>` with circles and arrows; labels are MathML in foreignObject (rendered natively)."""
    nodes = {n["id"]: (float(n["x"]) * SCALE, -float(n["y"]) * SCALE, n) for n in network["nodes"]}
    xs = [x for x, _, _ in nodes.values()]
    ys = [y for _, y, _ in nodes.values()]
    pad = 50
    left, top = min(xs) - pad, min(ys) - pad
    width, height = max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network-svg" role="img" '
             f'aria-label="the network" viewBox="{left:.0f} {top:.0f} {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>']
    for edge in network["edges"]:
        (x1, y1, a), (x2, y2, b) = nodes[edge["src"]][:3], nodes[edge["dst"]][:3]
        length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        r1, r2 = _radius(a), _radius(b) + 2
        parts.append(f'<line x1="{x1 + ux * r1:.1f}" y1="{y1 + uy * r1:.1f}" x2="{x2 - ux * r2:.1f}" '
                     f'y2="{y2 - uy * r2:.1f}" stroke="black" marker-end="url(#arrow)"/>')
        if edge.get("label") is not None:
            lx, ly = x1 + (x2 - x1) * 0.4, y1 + (y2 - y1) * 0.4
            parts.append(_label(lx, ly, edge["label"], "edge-label"))
    for x, y, node in nodes.values():
        style = node["style"]
        if style == "bias":
            size = RADIUS["bias"]
            parts.append(f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size}" height="{2 * size}" '
                         'fill="white" stroke="black"/>')
        else:
            extra = ' stroke-width="2"' if style == "hidden" else ""
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_radius(node)}" fill="white" stroke="black"{extra}/>')
            if style == "output":
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_radius(node) - 4}" fill="none" stroke="black"/>')
        parts.append(_label(x, y, node["label"], f"node-label {escape(style)}"))
    parts.append("</svg>")
    return "".join(parts)


def _radius(node: dict) -> int:
    """A unit that shows both its z and its a (`z | h`) gets a wider circle."""
    return RADIUS[node["style"]] + (8 if "\\mid" in node["label"] else 0)


def _label(x: float, y: float, latex: str, css: str) -> str:
    w, h = LABEL_BOX
    return (f'<foreignObject x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w}" height="{h}">'
            f'<div xmlns="http://www.w3.org/1999/xhtml" class="{css}">{mathml(latex)}</div></foreignObject>')
