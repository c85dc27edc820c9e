"""chainrule: derive, prove and check backpropagation by hand.

>>> import chainrule
>>> spec = chainrule.load("inf264_hw4")
>>> solution = chainrule.solve(spec)
>>> str(solution.loss)
'13/4'
"""

from __future__ import annotations

from chainrule.core.spec import Spec
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError, SpecError

__all__ = ["ChainruleError", "Spec", "SpecError", "load", "solve", "Solution"]


def __getattr__(name: str):
    # Lazy: importing the package must not pay for SymPy until a solve is asked for, nor for
    # importlib.metadata (tens of milliseconds) until someone asks for the version.
    if name == "__version__":
        return _version()
    if name in ("solve", "Solution"):
        from chainrule.core import solution as _solution

        return getattr(_solution, name)
    raise AttributeError(name)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"
