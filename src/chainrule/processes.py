"""Worker processes that never outlive the command that started them, and SIGTERM that unwinds.

On Ctrl-C, SIGTERM or any error a pool's workers are terminated, not left to finish (or to hang);
on Linux a worker is also killed by the kernel when its parent dies, even by SIGKILL. The pool
itself is `chainrule.pool` (one for untrusted answers files and for our own work); this module
holds what every command needs without loading multiprocessing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# ctypes is imported where used: every command imports this module for `terminate_unwinds`, and
# `solve` starts no workers.

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """A worker's first act: leave interrupts to the parent, and die when it dies.

    The kernel's "parent" is the thread that forked the worker: PR_SET_PDEATHSIG fires when that
    thread ends, even while the process lives on (see `chainrule.pool` on driving a pool from one
    long-lived thread).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols hold libc's prctl; no lookup
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C so pools and temporary files are cleaned up."""


def _terminate(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def terminate_unwinds():
    """While the block runs, SIGTERM raises Terminated in the main thread instead of killing at once."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
