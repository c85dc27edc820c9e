"""Reading the spec a command names: a file, a bundled name, or `-` for standard input.

Its own module so that `solve` loads nothing of the answer checker.
"""

from __future__ import annotations

from chainrule.core.spec_reader import load
from chainrule.intake import STDIN, read_stdin


def load_spec(given: str):
    """`load(given)`, or for `-` the spec read from standard input (named <stdin> in messages)."""
    if given != "-":
        return load(given)
    from chainrule.core.spec import MAX_SPEC_BYTES
    from chainrule.core.spec_reader import from_bytes
    from chainrule.errors import SpecError

    raw = read_stdin(MAX_SPEC_BYTES, lambda why: SpecError(STDIN, "(file)", why))
    return from_bytes(raw, STDIN, default_name="stdin")
