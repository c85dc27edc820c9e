"""The notation's grammar: a student's token stream to a lark tree, with errors that point at a column.

`notation` gives the tree its meaning; this module knows only structure.
"""

from __future__ import annotations

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from chainrule.check.tokens import _CONTROL, NotationError, TokenList, tokenize

# Every repetition is a flat list, not left or right recursion, so a 10,000-term sum gives a
# shallow tree. Power is right-associative: `_Builder` folds `power` from the right.
_GRAMMAR = r"""
start: expr (_EQ expr)*
?expr: term (ADDOP term)*
?term: ADDOP+ product -> neg
     | product
?product: power (MULOP unary | power)*
?unary: ADDOP+ power -> neg
      | power
?power: primary (_POW exponent)*
      | FUNC npow -> bare_call
?exponent: ADDOP+ primary -> neg
         | primary
npow: (NUMBER | name) (_POW exponent)*
?primary: NUMBER -> number
        | name
        | (CALLNAME | FUNC) args -> call
        | _LPAR expr _RPAR
        | _LBRACE expr _RBRACE
        | _LGRP expr _RGRP
        | _ABSO expr _ABSC -> abs
        | _FRAC _LBRACE expr _RBRACE _LBRACE expr _RBRACE -> frac
        | _PARTIAL name -> partial
args: _LPAR expr (_COMMA expr)* _RPAR
    | _LBRACE expr _RBRACE
name: NAME (_SUB sub)? (_LBRACK NUMBER _RBRACK)?
sub: NAME | NUMBER | _LBRACE NAME (_SUB sub)? _RBRACE | _LBRACE NUMBER _RBRACE
%declare NUMBER NAME CALLNAME FUNC ADDOP MULOP _POW _EQ _COMMA _SUB _LPAR _RPAR _LBRACE _RBRACE
%declare _LGRP _RGRP _LBRACK _RBRACK _ABSO _ABSC _FRAC _PARTIAL
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer=TokenList, strict=True)
_READABLE = {"NUMBER": "a number", "NAME": "a name", "_RPAR": "')'", "_RBRACE": "'}'",
             "_RGRP": "']'", "_RBRACK": "']'", "_ABSC": "'|'", "_LBRACE": "'{'", "_LPAR": "'('"}


def canon_plain(name: str) -> str:
    """x_0 -> x0, yhat -> y_hat, delta_yhat -> delta_y_hat, delta_h_1 -> delta_h1."""
    out: list[str] = []
    for part in name.split("_"):
        if part.isdigit() and out:
            out[-1] += part
        elif len(part) == 4 and part.endswith("hat"):
            out += [part[0], "hat"]
        else:
            out.append(part)
    return "_".join(out)


def canon(node: Tree) -> str:
    return canon_plain("_".join(c.value if isinstance(c, Token) else canon(c)
                                 for c in node.children))


def first_column(node: Tree | Token) -> int:
    """Column of the first token kept in the tree (cheaper than lark's propagate_positions)."""
    while isinstance(node, Tree):
        node = node.children[0]
    return node.start_pos


def is_node(node: Tree | Token, data: str) -> bool:
    return isinstance(node, Tree) and node.data == data


def _describe(text: str, token: Token) -> str:
    source = text[token.start_pos:token.end_pos]
    if token.type == "NUMBER":
        return f"number {source}"
    if token.type in ("NAME", "CALLNAME"):
        return f"name '{source}'"
    return f"'{source}'"


def syntax_tree(text: str, max_length: int) -> Tree:
    if not isinstance(text, str):
        raise NotationError(f"expected text, got {type(text).__name__}")
    if len(text) > max_length:
        raise NotationError(f"expression is {len(text)} characters long; the limit is {max_length}",
                            text)
    bad = _CONTROL.search(text)
    if bad:
        raise NotationError(f"control character U+{ord(bad.group()):04X} is not allowed", text,
                            bad.start())
    tokens = tokenize(text)
    if not tokens:
        raise NotationError("empty expression", text, 0)
    try:
        return _PARSER.parse(tokens)
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        expected = sorted({_READABLE.get(e, "") for e in getattr(exc, "expected", ())} - {""})
        hint = f"; expected {' or '.join(expected)}" if 0 < len(expected) <= 2 else ""
        if token is None or token.type == "$END":
            raise NotationError(f"unexpected end of expression{hint}", text, len(text)) from None
        raise NotationError(f"unexpected {_describe(text, token)}{hint}", text,
                            token.start_pos) from None
    except LarkError as exc:
        raise NotationError(f"cannot parse expression: {exc}", text) from None
