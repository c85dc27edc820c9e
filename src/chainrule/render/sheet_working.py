"""What the answer sheet says in words and working: each layer's activation, the loss with its
numbers substituted, δ and gradient lines with their substitution, and how each identity was
established. Everything is computed from what a Solution already holds."""

from __future__ import annotations

import bisect
import functools
import re

import sympy as sp

from chainrule.core.activations import ACTIVATIONS
from chainrule.core.kinks import Side
from chainrule.core.losses import LOSSES
from chainrule.core.model import Model, Unit
from chainrule.core.numerics import SampleValues
from chainrule.core.proof import Basis, Proof, Verdict
from chainrule.core.solution import CheckedChain, ProofMode, Solution
from chainrule.core.spec import Reduction
from chainrule.numbers import truncated


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 sample`, `2 samples`, `1 local identity`, `3 local identities`."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def function_name(model: Model, unit: Unit) -> str | None:
    """How the sheet writes this unit's activation: g for hidden units (as the chain rule does), the
    output layer's own name (σ, tanh, …) for an output activation; None for a linear unit."""
    if ACTIVATIONS[unit.activation].linear:
        return None
    if not unit.is_output:
        return model.spec.notation_for("activation", "g")
    return ACTIVATIONS[unit.activation].latex_name


def _layers(model: Model) -> list[tuple[int, Unit]]:
    seen: dict[int, Unit] = {}
    for unit in model.units:
        seen.setdefault(unit.layer, unit)
    return sorted(seen.items())


def _definition(kind: str, options: dict, name: str) -> str:
    return rf"${name}(t) = {ACTIVATIONS[kind].definition_latex(options)}$"


def activation_sentences(model: Model) -> list[str]:
    """One sentence per layer kind, true to the model: which function each layer applies."""
    hidden = [(layer, unit) for layer, unit in _layers(model) if not unit.is_output]
    sentences = []
    kinds = {(u.activation, tuple(sorted(dict(u.options).items()))) for _, u in hidden}
    g = model.spec.notation_for("activation", "g")
    if len(kinds) == 1:
        _, unit = hidden[0]
        layers, verb = ("hidden layer", "applies") if len(hidden) == 1 else ("hidden layers", "apply")
        if ACTIVATIONS[unit.activation].linear:
            sentences.append(f"The {layers} {'is' if len(hidden) == 1 else 'are'} linear: ${g}(t) = t$.")
        else:
            sentences.append(f"The {layers} {verb} the {ACTIVATIONS[unit.activation].plain_name} activation "
                             f"{_definition(unit.activation, dict(unit.options), g)}.")
    else:
        for layer, unit in hidden:
            sentences.append(f"Hidden layer {layer} applies the {ACTIVATIONS[unit.activation].plain_name} activation "
                             f"{_definition(unit.activation, dict(unit.options), g)}.")
    output = model.units[-1]
    record = ACTIVATIONS[output.activation]
    if record.linear:
        sentences.append("The output layer is linear (no activation).")
    elif record.layer_definition is not None:
        k = model.spec.outputs
        sentences.append(f"The output layer applies the {record.plain_name} to its {k} pre-activations: "
                         f"{record.layer_definition(k)}.")
    else:
        sentences.append(f"The output layer applies the {ACTIVATIONS[output.activation].plain_name} "
                         f"{_definition(output.activation, dict(output.options), function_name(model, output))}.")
    return sentences


def stepped_unit(model: Model) -> Unit | None:
    """The first unit whose activation's derivative is a step (ReLU): the sheet states its kink's convention."""
    return next((u for u in model.units if ACTIVATIONS[u.activation].step_derivative), None)


def stepped_name(model: Model) -> str | None:
    """How the sheet writes that unit's activation (g), or None."""
    unit = stepped_unit(model)
    return None if unit is None else function_name(model, unit)


def number(p, value: sp.Expr) -> str:
    """A number as substituted into a formula: short decimal, fraction or cut decimal; negatives in parentheses."""
    short = value.is_Rational and len(str(value)) <= 12  # 101/240 stays a fraction; 31205788471/58593750000 does not
    text = p.plain(value) if short else truncated(value)
    return f"({text})" if text.startswith("-") else text


def substitute(latex: str, values: dict[str, str]) -> str:
    """`2 \\left(\\widehat{y} - y\\right)` with each name replaced by its number, longest names first.

    A name is only replaced where it stands alone: never inside a longer name or a command.
    """
    pattern = _names_pattern(tuple(sorted(values)))
    return pattern.sub(lambda match: values[match.group(0)], latex)


@functools.lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern:
    """One regular expression matching any of the names, the longest first, each only where it stands alone."""
    alternatives = []
    for name in sorted(names, key=len, reverse=True):
        pattern = re.escape(name)
        if name[0].isalpha():
            pattern = r"(?<![\\A-Za-z])" + pattern
        if name[-1].isalpha():
            pattern += r"(?![A-Za-z_^])"
        elif name[-1] == "}":
            pattern += r"(?![_^])"
        alternatives.append(pattern)
    return re.compile("|".join(alternatives))


def sample_names(model: Model, sample: SampleValues, p) -> dict[str, str]:
    """LaTeX name -> this sample's number, for every node with a value; g'(z) for each unit."""
    names = {text: number(p, sample.values[symbol.name])
             for symbol, text in model.latex_names().items() if symbol.name in sample.values}
    g = model.spec.notation_for("activation", "g")
    for unit in model.units:
        if unit.pre.name in sample.values and ACTIVATIONS[unit.activation].define is not None:  # elementwise
            slope = ACTIVATIONS[unit.activation].derivative(dict(unit.options))(sample.values[unit.pre.name])
            names[rf"{g}'({unit.pre.latex})"] = number(p, sp.nsimplify(slope) if slope.is_Float else slope)
    return names


def delta_working(solution: Solution, sample: SampleValues, p) -> list[str]:
    """`δ_ŷ &= 2(ŷ − y) = 2(3 − 1.3) = 3.4`, one align row per unit, output first."""
    model = solution.model
    names = sample_names(model, sample, p)
    rows = []
    for checked, unit in zip(solution.delta_proofs, reversed(model.units)):
        formula = checked.chain.steps[-1].latex
        value = sample.values[unit.delta.name]
        filled = substitute(formula, names)
        rows.append(rf"{unit.delta.latex} &= {formula}{_then(filled, formula, value, p)}")
    return rows


def _then(filled: str, formula: str, value: sp.Expr, p) -> str:
    """` = 2(3 - 1.3) = 3.4`, without repeating a step that is already the number."""
    result = p.plain(value)
    if filled == formula or filled.strip("()") == result:
        return f" = {result}"
    return f" = {filled} = {result}"


def gradient_working(solution: Solution, sample: SampleValues, p) -> list[str]:
    """`∂L/∂w_0 &= δ_h · x[0] = 3.4 · 2 = 6.8`, one align row per parameter."""
    model = solution.model
    names = sample_names(model, sample, p)
    rows = []
    for checked, value in zip(solution.identities, sample.gradient):
        steps = checked.chain.steps
        formula = steps[-1].latex
        filled = substitute(formula, names)
        rows.append(rf"{steps[0].latex} &= {formula}{_then(filled, formula, value, p)}")
    return rows


def loss_terms(model: Model, sample: SampleValues, p) -> str:
    """One sample's loss with its predictions and targets substituted (÷ outputs when the spec means them)."""
    body = _loss_terms(model, sample, p)
    count = len(model.predictions)
    if model.spec.reduction_outputs is Reduction.MEAN and count > 1:
        return rf"\tfrac{{1}}{{{count}}}\Bigl[{body}\Bigr]"
    return body


def _loss_terms(model: Model, sample: SampleValues, p) -> str:
    """One sample's loss with its predictions and targets substituted, in the loss's own function names."""
    filled = [(number(p, sample.values[q.name]), sample.values[t.name], number(p, sample.values[t.name]))
              for q, t in zip(model.predictions, model.targets)]
    return LOSSES[model.spec.loss].working(filled)


def loss_rows(model: Model, samples, total, p) -> list[str]:
    """`𝓛(D) = 1/N [ … ] = value` as align rows, broken between terms so it fits the page."""
    n = len(samples)
    terms = [loss_terms(model, s, p) for s in samples]
    terms = [rf"\bigl({t}\bigr)" if n > 1 and " + " in t else t for t in terms]
    body = "".join(t if i == 0 else (f" {t}" if t.startswith("-") else f" + {t}") for i, t in enumerate(terms))
    if model.spec.reduction_samples is Reduction.SUM:
        return [wrap_row(rf"\mathcal{{L}}(\mathcal{{D}}) &= {body} = {p.number(total)}")]
    return [wrap_row(rf"\mathcal{{L}}(\mathcal{{D}}) &= \frac{{1}}{{{n}}}\Bigl[{body}\Bigr] = {p.number(total)}")]


def _pre_names(solution: Solution) -> dict[sp.Expr, str]:
    """Each kink polynomial (a pre-activation written out in x and θ) -> the name it has on the sheet."""
    names = {}
    for unit in solution.model.units:
        try:
            names[sp.expand(solution.derivation.compose(unit.pre.symbol))] = unit.pre.latex
        except Exception:  # noqa: BLE001 - a name is only a nicety; the polynomial is shown instead
            continue
    return names


def established(checked: CheckedChain, solution: Solution) -> str:
    """One line saying how this identity was established: proved symbolically for all real values,
    or verified by exact / 45-digit evaluation at each sample."""
    proof = checked.identity
    if proof.verdict is Verdict.REFUTED:
        return ""
    if proof.verdict is Verdict.UNKNOWN:
        return ""
    n = len(solution.spec.x)
    if solution.proof_mode is ProofMode.STRUCTURAL:
        local = sum(1 for s in checked.steps if s.basis is not Basis.CHAIN_RULE)
        how = ("by 45-digit evaluation (in 60-digit arithmetic)" if proof.basis is Basis.DIGITS_45
               else "by exact evaluation")
        each = "at the sample" if n == 1 else f"at each of the {n} samples"
        parts = (f"{plural(local, 'local identity', 'local identities')} proved symbolically for all real values "
                 "and composed by the chain rule") if local else "the chain rule alone (no local identity to prove)"
        return (f"Established in two parts: {parts}; the whole identity verified {how} "
                f"against forward-mode differentiation {each}.")
    return f"Proved symbolically for all real inputs, targets and parameters, {regions_text(proof, solution)}."


def regions_text(proof: Proof, solution: Solution) -> str:
    regions = proof.regions
    if len(regions) <= 1:
        return "decided exactly by expanding both sides"
    names = _pre_names(solution)
    kinks = []
    for poly, _ in regions[0].signs:
        kinks.append(names.get(sp.expand(poly), None))
    if all(kinks) and len(kinks) == 1:
        return f"region by region: checked on both sides of the kink, ${kinks[0]} \\le 0$ and ${kinks[0]} > 0$ (see the appendix)"
    if all(kinks):
        signs = ", ".join(f"${k}$" for k in kinks)
        return (f"region by region: checked on each of the {len(regions)} regions of the signs of {signs} "
                f"(see the appendix)")
    return f"region by region: checked on each of the {len(regions)} regions of its kinks (see the appendix)"


STATE = {Side.LE: r"\le 0", Side.GT: "> 0", Side.LT: "< 0", Side.GE: r"\ge 0", Side.EQ: "= 0"}


def named_regions(proof: Proof, solution: Solution, p) -> list[dict]:
    """Each proved region's condition, with a kink written as its pre-activation's name where it is one."""
    names = _pre_names(solution)
    regions = []
    for region in proof.regions:
        if region.value is None:
            continue
        condition = r",\ ".join(f"{names.get(sp.expand(poly)) or p.expr(poly)} {STATE[s]}" for poly, s in region.signs)
        regions.append({"condition": condition, "value": p.expr(region.value)})
    return regions


def visible_length(latex: str) -> int:
    """A rough width of printed LaTeX in characters: a command counts as one, braces and scripts as none.

    It overestimates a fraction (both numerator and denominator count), which only breaks lines sooner.
    """
    text = _SIZING.sub("", latex)
    text = _COMMAND.sub("x", text)
    return len(_INVISIBLE.sub("", text))


_SIZING = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr|mathbf|mathrm|operatorname|widehat|hat)\b")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_INVISIBLE = re.compile(r"[{}_^\s]")


def split_sum(latex: str, budget: int) -> list[str]:
    """Break a long sum at its top-level + and − signs into pieces of about `budget` characters each.

    The first piece is the start of the sum, the others begin with their sign.
    """
    if visible_length(latex) <= budget:
        return [latex]
    pieces, widest = _split(latex, budget)
    if widest > budget and r"\left(" in latex:
        # a long bracket: \bigl( … \bigr) need not be closed on the same line, so break inside it
        pieces, _ = _split(latex.replace(r"\left(", r"\bigl(").replace(r"\right)", r"\bigr)"), budget)
    return pieces


def _split(latex: str, budget: int) -> tuple[list[str], int]:
    """The pieces, and the visible length of the longest.

    Lengths add up over pieces joined by a space (a space ends every command and is not counted),
    so each term is measured once rather than each growing piece again.
    """
    terms, start = [], 0
    for i in _outside(latex, _SIGN):
        if i > start + 1:
            terms.append(latex[start:i].rstrip())
            start = i
    terms.append(latex[start:].strip())
    pieces, lengths = [terms[0]], [visible_length(terms[0])]
    for term in terms[1:]:
        length = visible_length(term)
        if lengths[-1] + length <= budget:
            pieces[-1] = f"{pieces[-1]} {term}"
            lengths[-1] += length
        else:
            pieces.append(term)
            lengths.append(length)
    return pieces, max(lengths)


def _top_level(text: str, separator: str) -> list[str]:
    """`text` split at `separator` where no brace or \\left…\\right is open."""
    parts, start = [], 0
    for i in _outside(text, re.compile(f"(?={re.escape(separator)})")):
        if i >= start:
            parts.append(text[start:i])
            start = i + len(separator)
    parts.append(text[start:])
    return parts


_BRACKETS = re.compile(r"\\left|\\begin|\{|\\right|\\end|\}")
_OPENING = {r"\left", r"\begin", "{"}
_SIGN = re.compile(r"(?<= )[+-]")  # a + or − after a space: where a sum may break


def _outside(text: str, pattern: re.Pattern) -> list[int]:
    """Where `pattern` matches in `text` outside every brace, \\left…\\right and \\begin…\\end.

    A bracket counts from its first character (the rest of `\\right` is outside again). One scan
    finds the brackets, one the matches, and each match is placed among the outside stretches by
    bisection, rather than every character being visited.
    """
    stretches, depth, start = [], 0, 0
    for bracket in _BRACKETS.finditer(text):
        if depth == 0:
            stretches.append((start, bracket.start()))
        depth += 1 if bracket.group() in _OPENING else -1
        start = bracket.start() + 1
    if depth == 0:
        stretches.append((start, len(text)))
    starts = [a for a, _ in stretches]
    found = []
    for match in pattern.finditer(text):
        k = bisect.bisect_right(starts, match.start()) - 1
        if k >= 0 and match.start() < stretches[k][1]:
            found.append(match.start())
    return found


def wrap_row(row: str, budget: int = 58) -> str:
    """An align row `lhs &= a = b = c` broken into lines that fit: a new line at an `=` or,
    inside a long sum, at a + or −. Rows that fit are returned unchanged."""
    if "&" not in row or visible_length(row) <= budget + 8:
        return row
    lhs, _, rest = row.partition("&")
    relation, body = ("=", rest[1:]) if rest.startswith("=") else ("", rest)
    if not relation:
        for arrow in (r"\leftarrow",):
            if rest.startswith(arrow):
                relation, body = arrow, rest[len(arrow):]
    segments = [seg.strip() for seg in _top_level(body, " = ")]
    lines: list[str] = []
    for k, segment in enumerate(segments):
        head = relation if k == 0 else "="
        pieces = split_sum(segment, budget)
        first = f"&{head} {pieces[0]}"
        if lines and k > 0 and visible_length(lines[-1]) + visible_length(pieces[0]) + 2 <= budget \
                and len(pieces) == 1:
            lines[-1] = f"{lines[-1]} = {pieces[0]}"
        else:
            lines.append(first)
        lines.extend(rf"&\qquad {piece}" for piece in pieces[1:])
    lines[0] = lhs + lines[0]
    return " \\\\\n".join(lines)
