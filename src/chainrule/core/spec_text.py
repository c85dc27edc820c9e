"""The spec reader's plain helpers: TOML with exact decimals, sizes of numbers, line numbers, tolerance tables."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from chainrule.core.spec import (
    ABSOLUTE_TOLERANCE_RANGE,
    MAX_DIGITS,
    MAX_EXPONENT,
    NUMERIC_QUESTIONS,
    RELATIVE_TOLERANCE_RANGE,
    SAFE_CONTROL_WORDS,
    TOLERANCE_KEYS,
    TOLERANCE_TABLES,
    Tolerance,
)
from chainrule.errors import suggest


def read_toml(text: str, fail) -> dict:
    """TOML with exact decimals; a syntax error or too deep nesting is `fail(key, why, line)`."""
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        line = int(match.group(1)) if match else None
        raise fail("(syntax)", f"invalid TOML: {error}", line) from None
    except RecursionError:
        raise fail("(syntax)", "invalid TOML: arrays or tables nested too deeply") from None
    except ValueError as error:  # e.g. an integer longer than Python will convert
        raise fail("(syntax)", f"invalid TOML: {str(error)[:100]}") from None


def exact_number(value: Any) -> Fraction | None:
    """A TOML int or Decimal as a Fraction, size-checked first; None when non-finite or too big to hold."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:
            return None if not value.is_zero() else Fraction(0)
        return Fraction(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value) if abs(value) < 10 ** MAX_EXPONENT else None
    raise TypeError(type(value).__name__)


def read_tolerance(table, fail, keys: tuple[str, ...] | None = None, where: str = "tolerance") -> Tolerance:
    """A `[tolerance]` table; `fail(key, why)` builds the error.

    With `keys` (a spec's answers-file keys) it may hold `[tolerance.keys]` and
    `[tolerance.questions]`: a rule for one key or one question, each a table like the outer one.
    """
    if not isinstance(table, dict):
        raise fail(where, f"expected a table [{where}]")
    tables = TOLERANCE_TABLES if keys is not None and where == "tolerance" else ()
    allowed_keys = (*TOLERANCE_KEYS, *tables)
    for key in table:
        if key not in allowed_keys:
            raise fail(f"{where}.{key}", f"unknown key{suggest(key, allowed_keys)}; expected one of {', '.join(allowed_keys)}")
    sigfigs = table.get("sigfigs", 3)
    if isinstance(sigfigs, bool) or not isinstance(sigfigs, int) or not 1 <= sigfigs <= 30:
        raise fail(f"{where}.sigfigs", "expected an integer from 1 to 30")
    bounds = {}
    for key, allowed in (("relative", RELATIVE_TOLERANCE_RANGE), ("absolute", ABSOLUTE_TOLERANCE_RANGE)):
        value = table.get(key)
        if value is None:
            bounds[key] = None
            continue
        number = None if isinstance(value, bool) or not isinstance(value, (int, Decimal)) else exact_number(value)
        if number is None or not allowed.admits(number):
            raise fail(f"{where}.{key}", f"expected {allowed}, got {short_text(value)}")
        bounds[key] = Decimal(value)
    per_key, per_question = (), ()
    if tables:
        per_key = _rules(table.get("keys", {}), fail, "tolerance.keys", keys, str)
        questions = tuple(str(q) for q in NUMERIC_QUESTIONS)
        per_question = tuple((int(q), rule) for q, rule in
                             _rules(table.get("questions", {}), fail, "tolerance.questions", questions, int))
    return Tolerance(sigfigs, bounds["relative"], bounds["absolute"], per_key, per_question)


def _rules(table, fail, where: str, allowed: tuple[str, ...], order) -> tuple:
    """`[tolerance.keys]` or `[tolerance.questions]`: name -> a tolerance table, sorted by name."""
    if not isinstance(table, dict):
        raise fail(where, f"expected a table [{where}]")
    rules = []
    for name, rule in table.items():
        if name not in allowed:
            if where == "tolerance.questions" and name == "3":
                raise fail(f"{where}.3", "question 3 is the proofs, which have no tolerance; expected one of "
                           f"{', '.join(allowed)}")
            shown = ", ".join(allowed) if len(allowed) <= 8 else f"{', '.join(allowed[:6])}, …"
            raise fail(f"{where}.{name}", f"unknown{suggest(name, allowed)}; expected one of {shown}")
        rules.append((name, read_tolerance(rule, fail, None, f"{where}.{name}")))
    return tuple(sorted(rules, key=lambda pair: order(pair[0])))


def check_notation_latex(value: str, fail) -> None:
    """Allow only harmless math LaTeX in notation: letters, digits, braces and whitelisted commands."""
    if len(value) > 80:
        raise fail("expected at most 80 characters")
    if not re.fullmatch(r"[A-Za-z0-9\\{}_^' ]+", value):
        raise fail("expected letters, digits, braces, '_', '^', ''' and LaTeX commands only")
    if "^^" in value or value.endswith(("^", "_")):
        # TeX reads ^^5c as a backslash (and `w^` next to a template's ^{...} as ^^{): a way round the whitelist
        raise fail("'^^' and a trailing '^' or '_' are not allowed in notation (TeX reads ^^ as a character code)")
    for word in re.findall(r"\\([A-Za-z]+|.)", value):
        if word not in SAFE_CONTROL_WORDS:
            raise fail(f"LaTeX command '\\{word}' is not allowed in notation")
    depth = 0
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise fail("unbalanced braces")


def short_text(value: Any) -> str:
    """A value as the file wrote it, cut short (a number may be written with a million digits)."""
    if isinstance(value, int) and value.bit_length() > 256:
        return "a very large integer"
    text = str(value) if isinstance(value, (int, Decimal, str)) else kind_of(value)
    return text if len(text) <= 40 else text[:37] + "..."


def plain(value: Fraction) -> str:
    """A fraction as a spec may write it: `3` or `3/10`."""
    return str(value.numerator) if value.denominator == 1 else str(value)


def kind_of(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", Decimal: "a number", str: "a string",
        list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


def _line_in_subtable(text: str, parts: list[str]) -> int | None:
    """A key in a [a.b] table whose own name may hold dots: tolerance.keys.gradient.w0.sigfigs."""
    table, rest = ".".join(parts[:2]), parts[2:]
    lines = list(enumerate(text.splitlines(), start=1))
    for n in range(len(rest), 0, -1):
        key, current = ".".join(rest[:n]), ""
        for number, line in lines:
            stripped = line.strip()
            header = re.match(r"\[\s*([A-Za-z0-9_.\"-]+)\s*\]", stripped)
            if header:
                current = header.group(1)
            elif current == table and re.match(rf"['\"]?{re.escape(key)}['\"]?\s*=", stripped):
                return number
    return None


def line_of(text: str, dotted: str) -> int | None:
    """Best-effort line number of a dotted key such as `network.sizes` or `data.x[1]`."""
    parts = re.sub(r"\[\d+\]", "", dotted).split(".")
    if parts[0].startswith("("):
        return None
    if len(parts) > 2 and (nested := _line_in_subtable(text, parts)) is not None:
        return nested
    table, key = (".".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", parts[0])
    if len(parts) > 2:  # e.g. parameters.init.w3 or notation.key: find the key inside [parameters] first
        table, key = parts[0], parts[1]
    current = ""
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([A-Za-z0-9_.\"-]+)\s*\]", stripped)
        if header:
            current = header.group(1)
            if current == table:
                header_line = number
            continue
        if current == table and re.match(rf"['\"]?{re.escape(key)}['\"]?\s*=", stripped):
            return number
    if header_line is None and len(parts) == 1:  # a top-level table: its [header]
        for number, line in enumerate(text.splitlines(), start=1):
            if re.match(rf"\[\s*{re.escape(key)}\s*\]", line.strip()):
                return number
    return header_line
