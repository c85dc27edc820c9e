"""Deadlines for bounded work on untrusted input.

Three time limits, each for what the others cannot do (none can go):
- `time_limit` (SIGALRM, wall time): one answer's cap in `check` and `equiv`; no thread to start,
  so it holds in a worker at its memory ceiling; the main thread only.
- `Deadline` (a watchdog thread, this thread's CPU time): the budgets inside an answer (a parse, a
  simplification, a certified sign), in any thread, and the same on a loaded machine as on an idle one.
- `chainrule.pool`'s wall deadline (the parent kills the worker): a whole answers file, and the one
  limit that also stops work stuck in C code or a worker that stopped answering.
The first two raise an exception the callers turn into `unknown`; `Deadline`'s is a BaseException
that SymPy's own `except Exception` clauses cannot swallow.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time


class OutOfTime(BaseException):
    """BaseException, so that SymPy's own `except Exception` clauses do not swallow it."""


class Deadline:
    """Raise OutOfTime in this thread once the block has used `seconds` of this thread's CPU time.

    CPU time, not wall time, so that a verdict does not depend on how busy the machine is: a parse
    that gives up after 2 s of work on an idle machine gives up after the same work on a loaded
    one. A block that waits instead of working is still stopped after WALL_FACTOR × `seconds` of
    wall time. Where the OS has no per-thread CPU clock, wall time is used.

    A watchdog thread injects the exception (PyThreadState_SetAsyncExc), so the normal case
    costs one timer thread and no tracing. The lock makes sure that nothing is injected after
    the block ends; one injected but not yet delivered is withdrawn before leaving.
    """

    WALL_FACTOR = 15

    def __init__(self, seconds: float):
        self.thread, self.lock, self.fired = threading.get_ident(), threading.Lock(), False
        self.done = not hasattr(ctypes, "pythonapi")  # not CPython: no deadline
        self.seconds = seconds
        self.clock = _thread_clock(self.thread)
        self.ended = threading.Event()
        self.watchdog = threading.Thread(target=self._watch, daemon=True)

    def _used(self) -> tuple[float, float]:
        """(CPU seconds this thread used, wall seconds) since the block began."""
        wall = time.monotonic() - self.wall_start
        if self.clock is None:
            return wall, wall
        return time.clock_gettime(self.clock) - self.cpu_start, wall

    def _watch(self) -> None:
        """One watchdog thread: sleep until the budget could be used up, look, and sleep again."""
        cap = self.WALL_FACTOR * self.seconds
        delay = self.seconds
        while not self.ended.wait(max(delay, 0.001)):
            with self.lock:
                if self.done:
                    return
                cpu, wall = self._used()
                if cpu >= self.seconds or wall >= cap:
                    self.fired = True
                    self._inject(OutOfTime)
                    return
            # at the earliest, the thread has the rest of its budget to use; never past the wall cap
            delay = min(self.seconds - cpu, cap - wall)

    def _inject(self, exception: type[BaseException] | None) -> None:
        # None (a NULL pointer) withdraws a pending exception.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.thread), None if exception is None else ctypes.py_object(exception))

    def __enter__(self) -> Deadline:
        self.wall_start = time.monotonic()
        self.cpu_start = time.clock_gettime(self.clock) if self.clock is not None else 0.0
        if not self.done:
            if self.seconds <= 0:  # no budget at all: out of time before any work
                self.done = True
                raise OutOfTime()
            try:
                self.watchdog.start()
            except RuntimeError:  # "can't start new thread": under a memory ceiling, out of memory
                self.done = True
                raise MemoryError("no memory left for a watchdog thread") from None
        return self

    def __exit__(self, *exc_info) -> None:
        with self.lock:
            self.done = True
        self.ended.set()
        if self.fired:
            self._inject(None)


def _thread_clock(thread: int) -> int | None:
    """The CPU-time clock of a thread (by `threading.get_ident()`), or None where there is none."""
    try:
        return time.pthread_getcpuclockid(thread)
    except (AttributeError, OSError):
        return None


class TimeLimit(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt pure-Python work after `seconds` (main thread only; elsewhere the provers' own deadlines apply)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TimeLimit()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
