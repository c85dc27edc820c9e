"""A bounded worker pool: every job runs in a worker process under a deadline and a memory ceiling.

The parent enforces the deadline itself, so it needs no SIGALRM: it waits on the workers' pipes
with `multiprocessing.connection.wait` and a timeout, and kills a worker that is past its job's
deadline. Each worker caps its own address space (RLIMIT_AS, where the OS has it). A worker that
runs out of time or memory, or dies, is replaced; its job gets a `Failure` with a one-line reason
and every other job still runs. Workers never outlive the pool: leaving the `with` block, an
exception, Ctrl-C or SIGTERM kills them, and on Linux they also die with the parent.

    with BoundedPool(grade, Limits(seconds=30, memory_mb=2048), workers=2) as pool:
        outcomes = pool.map(jobs)   # one Outcome per job, in job order
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait

from chainrule.processes import die_with_parent

try:
    import resource
except ImportError:  # Windows: no RLIMIT_AS; the deadline still holds
    resource = None

STARTUP_SECONDS = 120.0  # a spawned worker imports the package before it says it is ready


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0  # wall clock for one job, from the moment it is handed to a worker
    memory_mb: int | None = 2048  # address-space ceiling of a worker; None: no ceiling


@dataclass(frozen=True)
class Failure:
    """A job that produced no result: 'time limit of 30 s for the file', 'memory limit', 'internal error: …'."""

    reason: str


@dataclass(frozen=True)
class Outcome:
    value: object  # what the function returned, or a Failure
    seconds: float  # wall time from hand-over to answer
    peak_mb: float | None  # the worker's peak resident memory so far, when known


# ---------------------------------------------------------------- the worker side

def _serve(function, connection, memory_mb: int | None, parent: int) -> None:
    die_with_parent(parent)  # Ctrl-C reaches the parent, which ends us; SIGTERM is not the parent's handler
    _limit_memory(memory_mb)
    connection.send(("ready", None, None))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            kind, value = "ok", function(job)
        except MemoryError:
            kind, value = "memory", None
        except RecursionError:
            kind, value = "error", "internal error: nested too deeply (RecursionError)"
        except Exception as error:  # noqa: BLE001 - any bug in a job is that job's row, not the batch's end
            kind, value = "error", f"internal error: {_one_line(error)}"
        try:
            connection.send((kind, value, _peak_mb()))
        except MemoryError:
            return  # the parent sees the worker gone
        except Exception as error:  # noqa: BLE001 - a result that cannot be pickled
            connection.send(("error", f"internal error: result not sendable: {_one_line(error)}", _peak_mb()))
        if kind == "memory":
            return  # a heap that hit its ceiling is not trusted with the next job


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__


def _limit_memory(memory_mb: int | None) -> None:
    if memory_mb is None or resource is None or not hasattr(resource, "RLIMIT_AS"):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _peak_mb() -> float | None:
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


# ---------------------------------------------------------------- the parent side

@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object


class BoundedPool:
    """Up to `workers` processes running `function` (a module-level function) on one job each at a time."""

    def __init__(self, function, limits: Limits = Limits(), workers: int = 1, start_method: str | None = None):
        self.function, self.limits, self.workers = function, limits, max(1, workers)
        if start_method is None:  # fork: a worker starts in milliseconds with the parent's caches
            start_method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._context = multiprocessing.get_context(start_method)
        self._idle: list[_Worker] = []
        self._live: list[_Worker] = []
        self._previous_sigterm = None

    def __enter__(self) -> BoundedPool:
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _terminate)
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def close(self) -> None:
        """Kill every worker and wait for it: none outlives the pool."""
        while self._live:
            self._discard(self._live[-1])
        self._idle.clear()

    def map(self, jobs, done=None) -> list[Outcome]:
        """One Outcome per job, in job order; a job past a limit or raising gets a Failure.

        `done()`, if given, is called as each job finishes (for a progress bar).
        """
        done = done or (lambda: None)
        jobs = list(jobs)
        outcomes: list[Outcome | None] = [None] * len(jobs)
        pending = deque(enumerate(jobs))
        busy: dict[int, tuple[_Worker, int, float]] = {}  # id(worker) -> (worker, job index, start)
        while pending or busy:
            while pending and len(busy) < self.workers:
                index, job = pending.popleft()
                worker = self._hand_over(job)
                if worker is None:
                    outcomes[index] = Outcome(Failure("internal error: a worker process could not start"), 0.0, None)
                    done()
                    continue
                busy[id(worker)] = (worker, index, time.monotonic())
            if not busy:
                continue
            first_deadline = min(start for _, _, start in busy.values()) + self.limits.seconds
            ready = set(wait([w.connection for w, _, _ in busy.values()] + [w.process.sentinel for w, _, _ in busy.values()],
                             timeout=max(0.0, first_deadline - time.monotonic())))
            now = time.monotonic()
            for key, (worker, index, start) in list(busy.items()):
                if worker.connection in ready or worker.process.sentinel in ready:
                    outcomes[index] = self._collect(worker, now - start)
                elif now - start >= self.limits.seconds:
                    self._discard(worker)
                    outcomes[index] = Outcome(Failure(f"time limit of {self.limits.seconds:g} s for the file"),
                                              now - start, None)
                else:
                    continue
                del busy[key]
                done()
        return outcomes  # type: ignore[return-value]

    def _hand_over(self, job) -> _Worker | None:
        for _ in range(2):  # an idle worker may have died meanwhile; then one fresh one
            worker = self._idle.pop() if self._idle else self._start()
            if worker is None:
                return None
            try:
                worker.connection.send(job)
                return worker
            except (OSError, EOFError):
                self._discard(worker)
        return None

    def _collect(self, worker: _Worker, seconds: float) -> Outcome:
        try:
            kind, value, peak = worker.connection.recv() if worker.connection.poll() else (None, None, None)
        except (EOFError, OSError):
            kind, value, peak = None, None, None
        if kind == "ok":
            self._idle.append(worker)
            return Outcome(value, seconds, peak)
        if kind == "error":
            self._idle.append(worker)
            return Outcome(Failure(value), seconds, peak)
        self._discard(worker)
        if kind == "memory":
            return Outcome(Failure("memory limit"), seconds, peak)
        return Outcome(Failure(_death(worker.process.exitcode, self.limits.memory_mb)), seconds, peak)

    def _start(self) -> _Worker | None:
        mine, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, daemon=True,
                                        args=(self.function, theirs, self.limits.memory_mb, os.getpid()))
        if self._context.get_start_method() == "fork":
            gc.freeze()  # the child's collector then leaves the inherited heap alone: fewer copied pages
        process.start()
        theirs.close()
        worker = _Worker(process, mine)
        self._live.append(worker)
        if not mine.poll(STARTUP_SECONDS):
            self._discard(worker)
            return None
        try:
            mine.recv()  # ("ready", ...)
        except (EOFError, OSError):
            self._discard(worker)
            return None
        return worker

    def _discard(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.connection.close()
        if worker in self._live:
            self._live.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)


def _death(exitcode: int | None, memory_mb: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else str(-exitcode)
        likely = " (likely the memory limit)" if memory_mb is not None and name in ("SIGABRT", "SIGSEGV", "SIGKILL") else ""
        return f"internal error: the worker process was ended by {name}{likely}"
    return f"internal error: the worker process exited with code {exitcode}"


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the pool's `with`, which kills the workers


def run(function, jobs, limits: Limits = Limits(), workers: int = 1, done=None) -> list[Outcome]:
    """`BoundedPool(function, limits, workers).map(jobs, done)`, with the pool closed afterwards."""
    with BoundedPool(function, limits, workers) as pool:
        return pool.map(jobs, done)
