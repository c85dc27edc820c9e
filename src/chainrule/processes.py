"""Worker processes that never outlive the command that started them.

On Ctrl-C, SIGTERM or any error the pool's workers are terminated, not left to finish (or to hang);
on Linux a worker is also killed by the kernel when its parent dies, even by SIGKILL.

Two schedulers share `die_with_parent`: `worker_pool` here, for our own work (drawing variants,
`variants --check`), whose exceptions must reach the parent with their type (a VariantError is one
line and exit 2); and `check/workers.BoundedPool`, for untrusted answers files, which turns every
exception, deadline and memory ceiling into that one file's row and replaces the worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# ctypes and concurrent.futures (multiprocessing, socket) are imported where used: every command
# imports this module for `terminate_unwinds`, and `solve` starts no workers.

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """A worker's first act (both pools): leave interrupts to the parent, and die when it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols hold libc's prctl; no lookup
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@contextlib.contextmanager
def worker_pool(workers: int):
    """A ProcessPoolExecutor whose workers are terminated if the block is left by an exception."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)
        raise
    pool.shutdown(wait=True)


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
