"""Progress bars on stderr for long work, and nothing at all when stderr is not a terminal.

The stages below the CLI never print: they take a `done` callback, and this module turns the calls
into a tqdm bar, so a pipe, a file or a test sees exactly the output it saw before.
"""

from __future__ import annotations

import contextlib
import sys


def wanted(stream=None) -> bool:
    """A bar is drawn only on a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed stream
        return False


@contextlib.contextmanager
def bar(total: int, what: str, unit: str = "it"):
    """Yield `advance(n=1)`; on a terminal a bar `what: k/total` is drawn on stderr and cleared at the end."""
    if not wanted() or total < 2:
        yield lambda n=1: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=what, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True,
              ascii=not _unicode(sys.stderr)) as meter:
        yield lambda n=1: meter.update(n)


def _unicode(stream) -> bool:
    """Whether the stream can show tqdm's block characters (a cp1252 terminal cannot)."""
    try:
        "█▏".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
