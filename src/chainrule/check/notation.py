"""Read a student's expression, in LaTeX or plain text, straight into SymPy: no eval, no sympify.

The text is untrusted. A small hand-written tokenizer turns both spellings into one token stream
(`\\hat{y}`, `yhat` and `y_hat` are the same NAME by the time the grammar sees them, and unknown
LaTeX commands never get past it); a LALR grammar (`grammar`) knows only structure; `_Builder` gives the tree
its meaning through the caller's `Vocabulary`, building SymPy objects one checked step at a time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import NoReturn, Protocol

import sympy
from lark import Token, Tree

from chainrule.check.grammar import canon, canon_plain, first_column, is_node, syntax_tree
from chainrule.check.tokens import GREEK, NotationError
from chainrule.core.activations import ACTIVATIONS
from chainrule.deadline import Deadline, OutOfTime

MAX_NUMERAL_DIGITS = 1000
MAX_EXPONENT = 1000
# SymPy's own work grows steeply with some shapes: a relu of a sum of ten relus, 24 nested
# relus, or a tower of 200 symbolic powers each take seconds. Homework never needs any of them.
MAX_CALL_DEPTH = 10
MAX_PIECEWISE_IN_ARGUMENT = 4
MAX_POWER_HEIGHT = 20
# Numbers allowed under exp, log, trig functions and roots: any comparison with exp(10^999)
# makes mpmath work for seconds, and a root of a big number sends SymPy hunting for perfect
# powers by trial division, in C, where the time budget below cannot interrupt it.
MAX_IRRATIONAL_BITS = 1000
# The limits above stop every slow shape we know of; this stops the ones we don't (a relu of a
# relu of a tan sends SymPy's inequality solver off for seconds).
TIME_BUDGET_SECONDS = 2.0
# ~4000 decimal digits: Python 3.11 refuses to print an int longer than 4300 digits.
MAX_NUMBER_BITS = 13_300


class Vocabulary(Protocol):
    def lookup(self, name: str) -> sympy.Expr | None: ...
    def derivative(self, numerator: str, denominator: str) -> sympy.Expr | None: ...
    def function(self, name: str) -> Callable[[sympy.Expr], sympy.Expr] | None: ...
    def known_names(self) -> Iterable[str]: ...


class FreeVocabulary:
    """No model: every identifier must be a free variable (one letter, or a Greek letter)."""

    def lookup(self, name: str) -> sympy.Expr | None:
        return None

    def derivative(self, numerator: str, denominator: str) -> sympy.Expr | None:
        return None

    def function(self, name: str) -> Callable[[sympy.Expr], sympy.Expr] | None:
        return None

    def known_names(self) -> Iterable[str]:
        return ()


# Activations are read by the words their registry records give, with their default options.
BUILTINS: dict[str, Callable[..., sympy.Expr]] = {
    "sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sin": sympy.sin,
    "cos": sympy.cos, "tan": sympy.tan, "abs": sympy.Abs, "max": sympy.Max, "min": sympy.Min,
    **{word: record.function() for record in ACTIVATIONS.values() if record.define for word in record.words},
}
# pi (\pi) and e (\mathrm{e}) are the constants, unless the vocabulary uses the letter itself
# (a spec whose notation prints some quantity as \pi or e): see `letters`.
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
_VARIADIC = frozenset({"max", "min"})
_IRRATIONAL = frozenset({"exp", "log", "ln", "sin", "cos", "tan", "sqrt", *(
    word for record in ACTIVATIONS.values() if not record.piecewise_polynomial for word in record.words)})
_PIECEWISE = frozenset(word for record in ACTIVATIONS.values() if record.kinked for word in record.words)
_FREE = re.compile(r"(?:[A-Za-z]|%s)\d{0,4}" % "|".join(sorted(GREEK, key=len, reverse=True)))



def _bits(expr: sympy.Expr) -> int:
    """Size of the numbers in `expr`, which is what an integer power multiplies."""
    return sum(max(abs(r.p).bit_length(), r.q.bit_length()) for r in expr.atoms(sympy.Rational))


def _nestable(arg: sympy.Expr) -> bool:
    """May a Piecewise be built on `arg`? If `arg` holds a Piecewise, SymPy folds and simplifies
    the condition (`simplify`, inequality solving), which is unbounded on anything but small
    polynomial-like arguments."""
    if not arg.has(sympy.Piecewise):
        return True
    small = all(max(abs(r.p), r.q) <= 2**64 for r in arg.atoms(sympy.Rational))
    powers = all(e.is_Rational and max(abs(e.p), e.q) <= 16
                 for e in (p.exp for p in arg.atoms(sympy.Pow)))
    return small and powers and not arg.has(sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan)


class _Builder:
    def __init__(self, text: str, vocabulary: Vocabulary):
        self.text, self.vocab = text, vocabulary
        self.call_depth = self.power_height = 0

    def fail(self, message: str, at: Tree | Token | int | None,
             suggestion: str | None = None) -> NoReturn:
        pos = at if at is None or isinstance(at, int) else first_column(at)
        raise NotationError(message, self.text, pos, suggestion)

    def suggest(self, word: str) -> str | None:
        known = list(self.vocab.known_names())
        pool = known + [k.replace("_hat", "hat") for k in known if "_hat" in k] + list(BUILTINS)
        close = difflib.get_close_matches(word, pool, 1, 0.6)
        return close[0] if close else None

    def build(self, node: Tree | Token) -> sympy.Expr:
        if isinstance(node, Token):  # the NUMBER of a bare call: \ln 2
            return self.number(node)
        return getattr(self, "_" + node.data)(node)

    def _start(self, node: Tree) -> tuple[sympy.Expr, ...]:
        return tuple(self.build(c) for c in node.children)

    def _expr(self, node: Tree) -> sympy.Expr:
        terms, sign = [], "+"
        for child in node.children:
            if isinstance(child, Token) and child.type == "ADDOP":
                sign = child.value
            else:
                value = self.build(child)
                terms.append(-value if sign == "-" else value)
        return sympy.Add(*terms)

    def _neg(self, node: Tree) -> sympy.Expr:
        value = self.build(node.children[-1])
        return -value if [t.value for t in node.children[:-1]].count("-") % 2 else value

    def _number(self, node: Tree) -> sympy.Expr:
        return self.number(node.children[0])

    def number(self, token: Token) -> sympy.Rational:
        mantissa, _, exponent = token.value.lower().partition("e")
        whole, _, fraction = mantissa.partition(".")
        if (len(whole) + len(fraction) > MAX_NUMERAL_DIGITS or len(exponent) > 5
                or abs(int(exponent or 0)) > MAX_EXPONENT):
            self.fail("number too long", token)
        value = sympy.Rational(int(whole + fraction or "0"), 10 ** len(fraction))
        return value * sympy.Rational(10) ** int(exponent or 0)

    def _name(self, node: Tree) -> sympy.Expr:
        name = canon(node)
        value = self.vocab.lookup(name)
        if value is not None:
            return value
        if name in CONSTANTS and name not in getattr(self.vocab, "letters", lambda: ())():
            return CONSTANTS[name]
        if _FREE.fullmatch(name):
            return sympy.Symbol(name, real=True)
        if name.lower() in BUILTINS:
            self.fail(f"'{name}' is a function: write {name}(...)", node)
        self.fail(f"unknown name '{name}'", node, self.suggest(name))

    def known(self, name: str) -> bool:
        return (self.vocab.lookup(name) is not None or _FREE.fullmatch(name) is not None
                or name in set(self.vocab.known_names()))

    def d_operand(self, items: list, i: int) -> tuple[str, int] | None:
        """The name and the next index if items[i:] starts with `∂A`, `dA` or `d A`."""
        node = items[i][1]
        if is_node(node, "partial"):
            return canon(node.children[0]), i + 1
        if not is_node(node, "name"):
            return None
        name = canon(node)
        if name == "d" and i + 1 < len(items) and items[i + 1][0] == "" and is_node(items[i + 1][1], "name"):
            return canon(items[i + 1][1]), i + 2
        rest = canon_plain(name[1:])
        if len(name) > 1 and name[0] == "d" and not self.known(name) and self.known(rest):
            return rest, i + 1
        return None

    def derivative(self, top: str, bottom: str, at: Tree) -> sympy.Expr:
        value = self.vocab.derivative(top, bottom)
        if value is None:
            self.fail(f"the derivative d{top}/d{bottom} is not defined in this model", at)
        return value

    def items(self, node: Tree | Token) -> list[tuple[str, Tree | Token]]:
        """A product as (operator, factor) pairs; '' is implicit multiplication."""
        if not is_node(node, "product"):
            return [("*", node)]
        items, op = [], "*"
        for child in node.children:
            if isinstance(child, Token) and child.type == "MULOP":
                op = child.value
            else:
                if op == "" and is_node(items[-1][1], "bare_call"):
                    self.fail("ambiguous product after a function without parentheses; "
                              "write e.g. \\sin(x)y or \\sin(xy)", child)
                items.append((op, child))
                op = ""
        return items

    def _product(self, node: Tree) -> sympy.Expr:
        items, factors, i = self.items(node), [], 0
        while i < len(items):
            op, child = items[i]
            top = self.d_operand(items, i)
            bottom = (self.d_operand(items, top[1])
                      if top and top[1] < len(items) and items[top[1]][0] == "/" else None)
            if top and bottom:
                value, i = self.derivative(top[0], bottom[0], child), bottom[1]
            else:
                value, i = self.build(child), i + 1
            factors.append(self.reciprocal(value, child) if op == "/" else value)
        return self.checked(sympy.Mul(*factors), node)

    def _frac(self, node: Tree) -> sympy.Expr:
        top, bottom = node.children
        whole = [(self.d_operand(its, 0), len(its)) for its in (self.items(top), self.items(bottom))]
        if all(d and d[1] == n for d, n in whole):
            return self.derivative(whole[0][0][0], whole[1][0][0], node)
        return self.checked(self.build(top) * self.reciprocal(self.build(bottom), bottom), node)

    def _partial(self, node: Tree) -> NoReturn:
        self.fail("'\\partial' belongs in a derivative such as \\partial L / \\partial w_0", node)

    def reciprocal(self, value: sympy.Expr, at: Tree | Token) -> sympy.Expr:
        if value.is_zero:
            self.fail("division by zero", at)
        return sympy.Pow(value, -1)

    def checked(self, value: sympy.Expr, at: Tree | Token) -> sympy.Expr:
        coefficient = value.as_coeff_Mul()[0] if value.is_Mul else value
        if coefficient.is_Rational and _bits(coefficient) > MAX_NUMBER_BITS:
            self.fail("number too large", at)
        return value

    def _power(self, node: Tree) -> sympy.Expr:
        children = node.children
        self.power_height += len(children) - 1
        if self.power_height > MAX_POWER_HEIGHT:
            self.fail(f"powers are stacked more than {MAX_POWER_HEIGHT} high", node)
        value = self.build(children[-1])
        for i in range(len(children) - 2, -1, -1):
            value = self.power(self.build(children[i]), value, children[i + 1])
        self.power_height -= len(children) - 1
        return value

    _npow = _power

    def power(self, base: sympy.Expr, exponent: sympy.Expr, at: Tree | Token) -> sympy.Expr:
        # Every number in the exponent counts, not just a numeric exponent: SymPy rewrites
        # 2**(k*x) as (2**k)**x when it factors terms, and computes 2**k in C, uninterruptibly.
        for r in exponent.atoms(sympy.Rational) | {sympy.Integer(1)}:
            p, q = abs(r.p), r.q
            if p > MAX_EXPONENT * q or q > MAX_EXPONENT:
                self.fail("exponent too large", at)
            if _bits(base) * p > MAX_NUMBER_BITS * q or (q > 1 and _bits(base) > MAX_IRRATIONAL_BITS):
                self.fail("number too large", at)
        if base.is_zero and exponent.is_negative:
            self.fail("division by zero", at)
        return self.checked(self.sympy("the power", sympy.Pow, [base, exponent], at), at)

    def sympy(self, what: str, function: Callable, args: list, at: Tree | Token) -> sympy.Expr:
        try:
            return function(*args)
        # Comparing complex values or nan, an inequality SymPy cannot solve, and SymPy bugs
        # (an AttributeError inside Max) all mean the same to the student.
        except (TypeError, ValueError, AttributeError, ArithmeticError, NotImplementedError) as exc:
            self.fail(f"cannot evaluate {what} here ({str(exc)[:80]})", at)

    def _abs(self, node: Tree) -> sympy.Expr:
        return self.apply(Token("FUNC", "abs"), self.arguments(node.children, node), node)

    def _call(self, node: Tree) -> sympy.Expr:
        head, args = node.children
        return self.apply(head, self.arguments(args.children, node), node)

    def _bare_call(self, node: Tree) -> sympy.Expr:
        head, arg = node.children
        return self.apply(head, self.arguments([arg], node), node)

    def arguments(self, nodes: list, at: Tree) -> list[sympy.Expr]:
        self.call_depth += 1
        if self.call_depth > MAX_CALL_DEPTH:
            self.fail(f"functions are nested more than {MAX_CALL_DEPTH} deep", at)
        values = [self.build(n) for n in nodes]
        self.call_depth -= 1
        if sum(len(v.atoms(sympy.Piecewise)) for v in values) > MAX_PIECEWISE_IN_ARGUMENT:
            self.fail(f"more than {MAX_PIECEWISE_IN_ARGUMENT} piecewise functions (relu, g) "
                      "inside one function's arguments", at)
        return values

    def apply(self, head: Token, args: list[sympy.Expr], at: Tree) -> sympy.Expr:
        name = canon_plain(head.value)
        builtin = BUILTINS.get(name.lower())
        function = None if builtin else self.vocab.function(name)
        if builtin or function:
            variadic = name.lower() in _VARIADIC
            if (len(args) < 2) if variadic else (len(args) != 1):
                wanted = "at least 2 arguments" if variadic else "1 argument"
                self.fail(f"{name} takes {wanted}, got {len(args)}", at)
            if name.lower() in _IRRATIONAL and _bits(args[0]) > MAX_IRRATIONAL_BITS:
                self.fail(f"number too large inside {name}", at)
            if (function or name.lower() in _PIECEWISE) and not all(map(_nestable, args)):
                self.fail(f"{name} of an expression containing relu or g may use only small "
                          "numbers, + - * / and small powers", at)
            return self.checked(self.sympy(name, builtin or function, args, at), at)
        if head.type == "CALLNAME" and len(args) == 1 and (
                self.vocab.lookup(name) is not None or _FREE.fullmatch(name)):
            return self.checked(self._name(Tree("name", [head])) * args[0], at)
        self.fail(f"unknown function '{name}'", at, self.suggest(name))



def parse_chain(text: str, vocabulary: Vocabulary, *,
                max_length: int = 10_000) -> tuple[sympy.Expr, ...]:
    """`A = B = C` -> (A, B, C); a single expression -> (A,)."""
    tree = syntax_tree(text, max_length)
    try:
        with Deadline(TIME_BUDGET_SECONDS):
            values = _Builder(text, vocabulary).build(tree)
    except RecursionError:
        raise NotationError("expression is nested too deeply", text) from None
    except OutOfTime:
        raise NotationError(f"expression too complex: SymPy gave up after "
                            f"{TIME_BUDGET_SECONDS:g} s", text) from None
    for value in values:
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise NotationError("expression is undefined (infinite, or like 0/0)", text)
    return values


def parse(text: str, vocabulary: Vocabulary, *, max_length: int = 10_000) -> sympy.Expr:
    """One expression; an `=` is an error (use `parse_chain` for chains)."""
    parts = parse_chain(text, vocabulary, max_length=max_length)
    if len(parts) != 1:
        raise NotationError("expected one expression, found '='", text, text.find("="))
    return parts[0]


def canonical_names(text: str, *, max_length: int = 10_000) -> tuple[str, ...]:
    """The canonical names written in `text`, in order, without resolving them (`dL` stays `dL`)."""
    names = sorted(syntax_tree(text, max_length).find_data("name"), key=first_column)
    return tuple(dict.fromkeys(canon(n) for n in names))
