"""The command line: argument parsing and exit codes, in one place."""

from chainrule.cli.main import main

__all__ = ["main"]
