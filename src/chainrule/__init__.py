"""chainrule: derive, prove and check backpropagation by hand.

>>> import chainrule
>>> spec = chainrule.load("inf264_hw4")
>>> solution = chainrule.solve(spec)
>>> str(solution.loss)
'13/4'
"""

from __future__ import annotations

from importlib import metadata

from chainrule.errors import ChainruleError, SpecError

try:
    __version__ = metadata.version("chainrule")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
from chainrule.core.spec import Spec
from chainrule.core.spec_reader import load

__all__ = ["ChainruleError", "Spec", "SpecError", "load", "solve", "Solution"]


def __getattr__(name: str):
    # Lazy: importing the package must not pay for SymPy until a solve is asked for.
    if name in ("solve", "Solution"):
        from chainrule.core import solution as _solution

        return getattr(_solution, name)
    raise AttributeError(name)
