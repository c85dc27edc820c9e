"""Deadlines for bounded work on untrusted input: the one home for timeouts.

`Deadline` interrupts pure-Python work in this thread from a watchdog thread (any thread, any OS
with CPython); `time_limit` uses SIGALRM where the OS has it (the main thread only). Both raise an
exception the work cannot swallow by accident; the callers turn it into `unknown`.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading


class OutOfTime(BaseException):
    """BaseException, so that SymPy's own `except Exception` clauses do not swallow it."""


class Deadline:
    """Raise OutOfTime in this thread if the block runs longer than `seconds`.

    A watchdog thread injects the exception (PyThreadState_SetAsyncExc), so the normal case
    costs one timer thread and no tracing. The lock makes sure that nothing is injected after
    the block ends; one injected but not yet delivered is withdrawn before leaving.
    """

    def __init__(self, seconds: float):
        self.thread, self.lock, self.fired = threading.get_ident(), threading.Lock(), False
        self.done = not hasattr(ctypes, "pythonapi")  # not CPython: no deadline
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        with self.lock:
            if not self.done:
                self.fired = True
                self._inject(OutOfTime)

    def _inject(self, exception: type[BaseException] | None) -> None:
        # None (a NULL pointer) withdraws a pending exception.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.thread), None if exception is None else ctypes.py_object(exception))

    def __enter__(self) -> Deadline:
        if not self.done:
            self.timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self.lock:
            self.done = True
        self.timer.cancel()
        if self.fired:
            self._inject(None)


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
