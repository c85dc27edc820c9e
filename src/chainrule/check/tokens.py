"""The notation's tokenizer: LaTeX and plain spellings into one token stream, and its error."""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import NoReturn

from lark import Token
from lark.lexer import Lexer

from chainrule.errors import ChainruleError

MAX_DEPTH = 200


class NotationError(ChainruleError):
    """The expression cannot be read; `position` is the 0-based column (the message counts from 1)."""

    def __init__(self, message: str, text: str = "", position: int | None = None,
                 suggestion: str | None = None):
        self.text, self.position, self.suggestion = text, position, suggestion
        where = f" at column {position + 1}" if position is not None else ""
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        super().__init__(f"{message}{where}{hint}")


GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split())


# LaTeX control words: anything not listed here is refused, so `\input`, `\def`... never pass.
_COMMANDS: dict[str, tuple[str, str]] = {
    **{g: ("NAME", g) for g in GREEK},
    **{f: ("FUNC", f) for f in "sqrt exp log ln sin cos tan tanh max min".split()},
    **{f: ("_FRAC", f) for f in ("frac", "dfrac", "tfrac")},
    "partial": ("_PARTIAL", "partial"), "cdot": ("MULOP", "*"), "times": ("MULOP", "*"),
    "div": ("MULOP", "/"),
}


_SPACING = frozenset({",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle"})


# A wrapper takes one name in braces and becomes a NAME: \hat{y} -> y_hat, \mathbf{x} -> x.
_WRAPPERS = {"hat": "{}_hat", "widehat": "{}_hat", "mathcal": "dataset_{}", **{
    w: "{}" for w in ("mathbf", "boldsymbol", "bm", "mathrm", "mathit", "operatorname", "text")}}


_UNICODE = {"∂": ("_PARTIAL", "partial"), "·": ("MULOP", "*"), "⋅": ("MULOP", "*"),
            "×": ("MULOP", "*"), "÷": ("MULOP", "/"), "−": ("ADDOP", "-"), "ŷ": ("NAME", "y_hat")}


_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n~$]+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*(?:'|\^\s*\\prime(?![A-Za-z])|\^\s*\{\s*\\prime\s*\})*)
  | (?P<command>\\(?:[A-Za-z]+|[^A-Za-z]))
  | (?P<op>\*\*|[-+*/^=,()\[\]{}|_])
""", re.VERBOSE)


_PRIME = re.compile(r"\^\s*\\prime|\^\s*\{\s*\\prime\s*\}")


# A layer superscript and unit subscript, as the sheets print them: w^{(1)}_{12}, b^{(2)}_{1},
# a^{(1)}_{2}, \delta^{(1)}_{3}, w^{(1)}_{10,2}. The name becomes one NAME such as wL1j1k2.
_LAYER = re.compile(r"\s*\^\s*\{\s*\(\s*(\d{1,3})\s*\)\s*\}\s*"
                    r"(?:_\s*(?:\{\s*(\d{1,3})\s*(?:,\s*(\d{1,3})\s*)?\}|(\d)))?")


_CALL_AHEAD = re.compile(r"\s*(?:\(|\\left\s*\()")


_WRAPPED = re.compile(r"\s*\{\s*([A-Za-z]+)\s*\}|\s*([A-Za-z])")


_DELIMITER = re.compile(r"\s*(\(|\)|\[|\]|\||\\\|)")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


_OPS = {"**": "_POW", "^": "_POW", "+": "ADDOP", "-": "ADDOP", "*": "MULOP", "/": "MULOP",
        "=": "_EQ", ",": "_COMMA", "_": "_SUB", "(": "_LPAR", ")": "_RPAR", "{": "_LBRACE",
        "}": "_RBRACE"}


_OPENERS = {"_LPAR", "_LBRACE", "_LGRP", "_LBRACK", "_ABSO"}


_CLOSER = {"_RPAR": "_LPAR", "_RBRACE": "_LBRACE", "_RGRP": "_LGRP", "_RBRACK": "_LBRACK",
           "_ABSC": "_ABSO"}


_OPERAND_END = {"NUMBER", "NAME", "_RPAR", "_RBRACE", "_RGRP", "_RBRACK", "_ABSC"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    stack: list[str] = []  # open brackets: bounds nesting, and tells ']' and '|' what they close

    def fail(message: str, pos: int, suggestion: str | None = None) -> NoReturn:
        raise NotationError(message, text, pos, suggestion)

    def emit(kind: str, value: str, start: int, end: int) -> None:
        if kind in _CLOSER and stack and stack[-1] == _CLOSER[kind]:
            stack.pop()
        tokens.append(Token(kind, value, start, 1, start + 1, 1, end + 1, end))
        if kind in _OPENERS:
            stack.append(kind)
            if len(stack) > MAX_DEPTH:
                fail(f"brackets are nested more than {MAX_DEPTH} deep", start)

    def name_kind(end: int) -> str:
        return "CALLNAME" if _CALL_AHEAD.match(text, end) else "NAME"

    def layered(base: str, start: int, end: int) -> int | None:
        """Emit `base^{(l)}_{j}` as one NAME; the end of what was read, or None if it is not one."""
        match = _LAYER.match(text, end)
        if match is None:
            return None
        layer, first, second, single = match.groups()
        index = first or single
        if base in ("w", "dw") and index and second is None and len(index) == 2:
            index, second = index[0], index[1]  # w^{(1)}_{12}: unit 1, input 2
        value = f"{base}L{int(layer)}" + (f"j{int(index)}" if index else "") + (f"k{int(second)}" if second else "")
        emit(name_kind(match.end()), value, start, match.end())
        return match.end()

    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in _UNICODE:
            emit(*_UNICODE[char], pos, pos + 1)
            pos += 1
            continue
        if ord(char) > 127:
            kind, _, letter = unicodedata.name(char, "").partition(" LETTER ")
            if kind.startswith("GREEK") and letter.lower() in GREEK:
                emit("NAME", letter.lower() if char.islower() else letter.capitalize(), pos, pos + 1)
                pos += 1
                continue
        match = _TOKEN.match(text, pos)
        if match is None:
            fail(f"unexpected character {char!r}", pos)
        kind, lexeme, end = match.lastgroup, match.group(), match.end()
        prev = tokens[-1].type if tokens else None
        if kind == "number":
            if end < len(text) and text[end] == ".":
                fail(f"malformed number '{lexeme}.'", pos)
            emit("NUMBER", lexeme, pos, end)
        elif kind == "name":
            after = layered(lexeme, pos, end) if "^" not in lexeme else None
            if after is not None:
                pos = after
                continue
            emit(name_kind(end), _PRIME.sub("'", lexeme), pos, end)
        elif kind == "op":
            if lexeme == "[":
                emit("_LBRACK" if prev == "NAME" else "_LGRP", lexeme, pos, end)
            elif lexeme == "]":
                emit("_RBRACK" if stack and stack[-1] == "_LBRACK" else "_RGRP", lexeme, pos, end)
            elif lexeme == "|":
                closes = stack and stack[-1] == "_ABSO" and prev in _OPERAND_END
                emit("_ABSC" if closes else "_ABSO", lexeme, pos, end)
            else:
                emit(_OPS[lexeme], lexeme, pos, end)
        elif kind == "command":
            word = lexeme[1:]
            if word in ("left", "right"):
                delim = _DELIMITER.match(text, end)
                if delim is None:
                    fail(f"'\\{word}' must be followed by (, ), [, ] or |", pos)
                end, d = delim.end(), delim.group(1).lstrip("\\")
                kinds = ({"(": "_LPAR", "[": "_LGRP", "|": "_ABSO"} if word == "left"
                         else {")": "_RPAR", "]": "_RGRP", "|": "_ABSC"})
                if d not in kinds:
                    fail(f"'\\{word}{d}' is not a matching bracket", pos)
                emit(kinds[d], text[pos:end], pos, end)
            elif word in _WRAPPERS:
                inner = _WRAPPED.match(text, end)
                if inner is None:
                    fail(f"'\\{word}' needs a name in braces, like \\{word}{{y}}", pos)
                end = inner.end()
                emit(name_kind(end), _WRAPPERS[word].format(inner.group(1) or inner.group(2)),
                     pos, end)
            elif word in GREEK:
                after = layered(word, pos, end)
                if after is not None:
                    pos = after
                    continue
                emit(name_kind(end), word, pos, end)  # \sigma(z) may be a model's function
            elif word in _COMMANDS:
                emit(*_COMMANDS[word], pos, end)
            elif word not in _SPACING:
                close = difflib.get_close_matches(word, list(_COMMANDS) + list(_WRAPPERS), 1, 0.75)
                fail(f"unknown LaTeX command '{lexeme}'", pos, "\\" + close[0] if close else None)
        pos = end
    return tokens


class TokenList(Lexer):
    """The tokens are made before parsing (so bad input fails early); lark just reads them."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, data):
        return iter(data)
