"""Student-written text shown safely: never a terminal escape, never a spreadsheet formula.

    >>> shown("Ann\\x1b[2J")
    'Ann\\\\x1b[2J'
    >>> cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
"""

from __future__ import annotations

import json
import re

# C0 controls (newline and tab too: a shown value stays on its line), DEL and C1 controls
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escaped(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def shown(text: object) -> str:
    """`text` with every control character written as an escape (`\\x1b`), for a terminal."""
    return _CONTROL.sub(_escaped, str(text))


def cell(value: object) -> object:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading quote (OWASP).

    Control characters in text are escaped as on the terminal (a gradebook gets `cat` too).
    Numbers (int, float, Fraction) are not text and stay as they are, so -0.5 stays numeric.
    """
    if not isinstance(value, str):
        return value
    return "'" + shown(value) if value.startswith(_FORMULA_START) else shown(value)


def json_text(data, indent: int | None = 2) -> str:
    """JSON for a terminal: non-ASCII text kept, but DEL and C1 controls escaped like C0 ones."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text)
