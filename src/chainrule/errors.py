"""Errors a person can act on: every one names where the problem is."""

from __future__ import annotations



class ChainruleError(Exception):
    """Base class for problems with the user's input; the CLI prints one line and exits 2.

    `path` is the file the message begins by naming, when it names one (a caller that reports the
    error against a file then knows not to name it twice, without reading the message).
    """

    path: str | None = None

    def __init__(self, *args, path: str | None = None):
        super().__init__(*args)
        self.path = path


class SpecError(ChainruleError):
    """A spec file is malformed: names the file, the key, the line and what was expected."""

    def __init__(self, path: str, key: str, expected: str, line: int | None = None):
        self.key, self.expected, self.line = key, expected, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: key '{key}': {expected}", path=path)


class TemplateError(ChainruleError):
    """The templates folder is missing a template or a template fails to render."""


class LatexError(ChainruleError):
    """latexmk failed or ran out of time; the message points at the log."""


def suggest(word: str, choices) -> str:
    """" 'word'; did you mean 'ward'?" when a choice is close, else " 'word'"."""
    import difflib  # only when a word is not known: not worth loading on every run

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" '{word}'; did you mean '{close[0]}'?" if close else f" '{word}'"
