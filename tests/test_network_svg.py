"""The network picture's nodes and edges, as TikZ (sheet_figures) and SVG (network_svg) draw them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chainrule.core.model import build
from chainrule.core.spec_reader import load
from chainrule.render.network_svg import SVG, svg
from chainrule.render.sheet_figures import NodeStyle, network_picture


# (spec, nodes of each style, edges from a bias box): counted by hand from the spec's sizes and biases
@pytest.mark.parametrize("name, styles, bias_edges", [
    ("inf264_hw4", {NodeStyle.INPUT: 2, NodeStyle.HIDDEN: 1, NodeStyle.OUTPUT: 1, NodeStyle.BIAS: 2}, 2),
    ("two_hidden_units", {NodeStyle.INPUT: 3, NodeStyle.HIDDEN: 2, NodeStyle.OUTPUT: 1, NodeStyle.BIAS: 2}, 3),
    ("schiendorfer_2_2_2", {NodeStyle.INPUT: 2, NodeStyle.HIDDEN: 2, NodeStyle.OUTPUT: 2, NodeStyle.BIAS: 0}, 0),
])
def test_bias_boxes_and_their_edges_are_flagged_not_named(name, styles, bias_edges):
    model = build(load(name))
    picture = network_picture(model)
    counted = {style: sum(1 for n in picture["nodes"] if n["style"] is style) for style in NodeStyle}
    assert counted == styles
    assert sum(e["from_bias"] for e in picture["edges"]) == bias_edges
    root = ET.fromstring(svg(model))
    assert len(root.findall(f"{{{SVG}}}rect")) == styles[NodeStyle.BIAS]  # a bias is a box, a unit a circle
    assert len(root.findall(f"{{{SVG}}}circle")) == sum(styles.values()) - styles[NodeStyle.BIAS]


def test_the_tikz_picture_prints_each_style_as_its_word():
    from chainrule.render.documents import templates_dir

    text = (templates_dir() / "network.tex.j2").read_text(encoding="utf-8")
    for style in NodeStyle:
        assert f"  {style.value}/.style=" in text  # every member is a style the template defines
