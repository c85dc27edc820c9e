"""The exact pass in SymPy: node definitions, the δ recursion and the gradient evaluated by substitution.

Used where the compiled Fraction program cannot go (exp, tanh and log networks); a value whose exact
text would pass EXACT_TEXT_LIMIT is not built: the 60-digit pass gives it.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.add import _addsort
from sympy.core.mul import _keep_coeff
from sympy.core.mul import _mulsort

from chainrule.core import certify
from chainrule.core.derivation import Derivation
from chainrule.core.precise import precise_sample
from chainrule.numbers import EXACT_TEXT_LIMIT, estimated_size, exact, rational


def symbolic_pass(derivation: Derivation, theta, x, targets) -> dict:
    """One sample's nodes, δ's and gradient (keys as `numerics` uses them) by SymPy substitution, exactly,
    but for values whose text would pass EXACT_TEXT_LIMIT: those come from the 60-digit pass (named in
    "omitted"); after a decimal step, every value is a decimal."""
    model = derivation.model
    known: dict[sp.Symbol, sp.Expr] = {p.symbol: value for p, value in zip(model.parameters, theta)}
    known.update({node.symbol: rational(value) for node, value in zip(model.inputs, x)})
    known.update({node.symbol: rational(value) for node, value in zip(model.targets, targets)})
    decimal = all(v.is_Float for v in theta)  # a pass after a decimal step: decimals by design, nothing omitted
    sizes = {} if decimal else {symbol: len(exact(value)) for symbol, value in known.items()}
    omitted, precise = set(), {}

    def settle(symbol, name, formula) -> sp.Expr:
        """The exact value, or, when its text would pass the limit, the 60-digit one (nothing built)."""
        if decimal:
            return canonical(substitute(formula, known))
        size = estimated_size(formula, sizes)
        if symbol is not None:
            sizes[symbol] = size
        if size <= EXACT_TEXT_LIMIT:
            return canonical(substitute(formula, known))
        if not precise:
            precise.update(precise_sample(derivation, theta, x, targets))
        omitted.add(name)
        return precise[name]

    for node in model.nodes:
        if node.definition is not None:
            known[node.symbol] = settle(node.symbol, node.name, node.definition)
    for unit in reversed(model.units):
        known[unit.delta.symbol] = settle(unit.delta.symbol, unit.delta.name, derivation.delta_formula[unit.delta.name])
    result = {node.name: known[node.symbol] for node in (*model.nodes, *model.deltas)}
    for p in model.parameters:
        result[("gradient", p.name)] = settle(None, ("gradient", p.name), derivation.backprop[p.name])
    result["omitted"] = frozenset(omitted)
    return result


TRANSCENDENTAL = (sp.exp, sp.log, sp.tanh)


def substitute(expr: sp.Expr, known: dict) -> sp.Expr:
    """expr.xreplace(known), but exp, log and tanh of an argument that is not a number stay unevaluated.

    Evaluating exp(-(w·σ(z) + b)) makes SymPy ask whether the nested argument is positive, zero
    or real, which it settles by numeric evaluation at growing precision: seconds per node after
    one training step. The value stays exact; it is only left in the form it was built in.
    A product with a zero factor (a cross-entropy term whose target is 0 or 1) is 0 at once.
    A power of such a sum, 1/(1 + exp(-z)) say, is built as it stands: SymPy would only ask
    whether a term is infinite or the sum a complex a + b·i (again by numeric evaluation, half of
    the time of a sigmoid network's step) and, for a real finite sum, build the same power.
    """
    if expr in known:
        return known[expr]
    if not expr.args:
        return expr
    args = [substitute(arg, known) for arg in expr.args]
    if isinstance(expr, sp.Mul) and any(arg is sp.S.Zero for arg in args):
        return sp.S.Zero  # every value here is finite; SymPy would first ask whether log(...) is
    if isinstance(expr, sp.Mul) and any(isinstance(f, sp.exp) for arg in args for f in sp.Mul.make_args(arg)):
        return _product(args)
    if isinstance(expr, sp.Mul) and len(args) == 2:
        number, power = args if args[0].is_Rational else args[::-1]
        if number.is_Rational and number is not sp.S.One and isinstance(power, sp.Pow) \
                and _plain_power(power.base, power.exp):
            return sp.Mul(number, power, evaluate=False)  # ½·s², as Mul.flatten would build it
    if isinstance(expr, TRANSCENDENTAL) and not args[0].is_Number:
        return expr.func(*args, evaluate=False)
    if isinstance(expr, sp.Add):
        return _sum(args)
    if isinstance(expr, sp.Pow):
        base, exponent = args
        if _plain_power(base, exponent):
            return sp.Pow(base, exponent, evaluate=False)
        if isinstance(base, sp.Pow) and exponent.is_Integer and _plain_power(base.base, base.exp * exponent):
            return sp.Pow(base.base, base.exp * exponent, evaluate=False)  # (s^a)^n is s^(a·n), see Pow._eval_power
    return expr.func(*args)


def difference(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """a − b exactly as SymPy builds it, without the questions (see `_sum`): the grader's |x − a|."""
    return _sum([a, negative(b)])


def negative(b: sp.Expr) -> sp.Expr:
    """−b exactly as SymPy builds it: a sum term by term (Mul's distribution), a rational times a plain
    power with the rational negated (what Mul.flatten returns), anything else by SymPy."""
    if b.is_Rational:
        return -b
    if b.is_Add:
        return _sum([_keep_coeff(sp.S.NegativeOne, term) for term in b.args])
    if b.is_Mul and len(b.args) == 2 and b.args[0].is_Rational and b.args[1].is_Pow \
            and _plain_power(b.args[1].base, b.args[1].exp):
        return sp.Mul(-b.args[0], b.args[1], evaluate=False) if b.args[0] != -1 else b.args[1]
    return -b


def _sum(args: list) -> sp.Expr:
    """sp.Add(*args), but a rational times a plain power (the loss ½(ŷ₁ − y₁)² + ½(ŷ₂ − y₂)² of a sigmoid
    network) is built as it stands, without the questions SymPy's Mul asks to rebuild it.

    Add.flatten collects the terms c·s (c a number) and builds each as Mul(c, s): for a plain power s
    that costs seconds of numeric evaluation and returns Mul(c, s) unchanged (see `substitute`'s
    Mul case). Here the terms are collected, sorted and numbered as Add.flatten does; any argument
    Add.flatten treats specially (a Float, an infinity, a power of a number, a non-commuting
    factor) leaves the sum to SymPy.
    """
    seq = list(args)
    coefficient, terms, slow = sp.S.Zero, {}, False
    for o in seq:  # seq grows: a nested sum's terms join it, as in Add.flatten
        if o.is_Rational:
            coefficient += o
            continue
        if o.is_Number or o is sp.S.ComplexInfinity or o.is_Order or o.is_Matrix or not o.is_commutative \
                or (o.is_Pow and o.base.is_Number):
            return sp.Add(*args)
        if o.is_Add:
            seq.extend(o.args)
            continue
        c, s = o.as_coeff_Mul() if o.is_Mul else (sp.S.One, o)
        if not c.is_Rational:
            return sp.Add(*args)
        terms[s] = terms[s] + c if s in terms else c
    sequence = []
    for s, c in terms.items():
        if c.is_zero:
            continue
        if c is sp.S.One:
            sequence.append(s)
        elif s.is_Mul:
            sequence.append(s._new_rawargs(c, *s.args))
        elif s.is_Add or (s.is_Pow and _plain_power(s.base, s.exp)):
            slow = slow or s.is_Pow
            sequence.append(sp.Mul(c, s, evaluate=False))
        else:
            sequence.append(sp.Mul(c, s))
    if not slow:
        return sp.Add(*args)  # nothing to save: SymPy's own sum (and its cache)
    _addsort(sequence)
    if coefficient is not sp.S.Zero:
        sequence.insert(0, coefficient)
    return sp.Add._from_args(sequence)


def _product(args: list) -> sp.Expr:
    """sp.Mul(*args), but a product of sums, integer powers of sums and exps (σ′(z) = e^(−z)/(1 + e^(−z))²
    times a sum of δ's) is built as it stands, without the questions SymPy asks to rebuild it.

    Mul.flatten adds the exponents of equal bases and rebuilds each factor as base**exponent: e^t
    goes through exp(t)'s evaluation, which asks whether t and each of its terms is zero,
    comparable or a multiple of iπ (numeric evaluation of nested exps: most of a sigmoid network's
    exact step), and returns e^t unchanged when t holds no log, I, π or infinity and neither t nor a
    term is zero; a plain power comes back unchanged (`_plain_power`). Here the rationals are
    multiplied, the exponents added, the factors sorted as Mul.flatten sorts them and zero ruled out
    by a certified enclosure; any other product is left to SymPy.
    """
    seq, coefficient, powers, exponentials = list(args), sp.S.One, {}, {}
    for o in seq:  # seq grows: a product's factors join it, as in Mul.flatten
        if o.is_Rational:
            coefficient *= o
        elif o.is_Mul:
            seq.extend(o.args)
        elif isinstance(o, sp.exp) and o.args[0] not in exponentials and _quiet_exponent(o.args[0]):
            exponentials[o.args[0]] = o  # e^a·e^b stays two factors: Mul.flatten adds equal exponents only
        elif o.is_Add or (o.is_Pow and o.base.is_Add and o.exp.is_Integer):
            base, exponent = o.as_base_exp()
            powers[base] = powers.get(base, 0) + exponent
        else:
            return sp.Mul(*args)
    factors = list(exponentials.values())
    for base, exponent in powers.items():
        if exponent == 1:
            factors.append(base)
        elif exponent != 0 and _plain_power(base, exponent):
            factors.append(sp.Pow(base, exponent, evaluate=False))
        elif exponent != 0 or any(a in _SPECIAL for a in base.args):
            return sp.Mul(*args)
    if not exponentials or coefficient is sp.S.Zero or len(factors) < 2 or _two_arg_case(args):
        return sp.Mul(*args)
    _mulsort(factors)
    if coefficient is not sp.S.One:
        factors.insert(0, coefficient)
    return sp.Mul._from_args(factors)


def _two_arg_case(args: list) -> bool:
    """A rational times c·(sum): Mul.flatten's own two-factor shortcut distributes it."""
    if len(args) != 2 or not any(a.is_Rational for a in args):
        return False
    other = args[1] if args[0].is_Rational else args[0]
    return other.as_coeff_Mul()[1].is_Add


_SPECIAL = (sp.S.Infinity, sp.S.NegativeInfinity, sp.S.ComplexInfinity, sp.S.NaN)


def _quiet_exponent(t: sp.Expr) -> bool:
    """True where SymPy's exp(t) and Mul.flatten's E**t return exp(t) unchanged: t a sum or a power
    (not a product, which Mul.flatten would rebuild), exact, with no log, I, π, infinity or symbol in
    it, and neither t nor any of its terms zero."""
    if t.is_Number or t.is_Mul or not _exact_closed(t):
        return False
    return certify.nonzero(t) and all(certify.nonzero(term) for term in (t.args if t.is_Add else ()))


def _exact_closed(t: sp.Expr) -> bool:
    """No float, log, I, π, infinity, nan or symbol anywhere in t."""
    for expr in _distinct_subtrees(t):
        if expr.is_Float or expr.is_Symbol or isinstance(expr, sp.log) or expr in _ATOMS:
            return False
        if not expr.is_Atom and not isinstance(expr, (sp.Add, sp.Mul, sp.Pow, sp.exp, sp.tanh)):
            return False
    return True


_ATOMS = frozenset({sp.S.ImaginaryUnit, sp.pi, *_SPECIAL})


def _plain_power(base: sp.Expr, exponent: sp.Expr) -> bool:
    """True where SymPy's evaluation of base**exponent would return the power unchanged: a sum
    (not a number) with no infinity or i in it, to an integer other than 0 and 1 (see
    `Pow.__new__` and `Add._eval_power`). A rational times such a power is the same two factors in
    Mul.flatten, which would only rebuild the power, with the same questions."""
    return (isinstance(base, sp.Add) and exponent.is_Integer and exponent not in (sp.S.Zero, sp.S.One)
            and not base.has(*_SPECIAL, sp.S.ImaginaryUnit))


def canonical(value: sp.Expr) -> sp.Expr:
    """Keep rationals as they are; bring exact irrational values into one canonical form."""
    if value.is_Rational:
        return value
    if has_piecewise(value):
        raise ValueError(f"a branch could not be decided at this point: {value}")
    return value  # exact irrational values stay as built: simplifying them costs more than it gives


def has_piecewise(value: sp.Expr) -> bool:
    """value.has(sp.Piecewise), visiting each distinct subtree once (`_distinct_subtrees`)."""
    return any(isinstance(expr, sp.Piecewise) for expr in _distinct_subtrees(value))


def _distinct_subtrees(value: sp.Expr):
    """value and its subtrees, each distinct one once, parents before their arguments.

    Exact values in exp and tanh share their subtrees so heavily that a walk over every occurrence
    (SymPy's `has`) takes minutes on a network that evaluates in a second.
    """
    seen, stack = {value}, [value]
    while stack:
        expr = stack.pop()
        yield expr
        for arg in expr.args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
