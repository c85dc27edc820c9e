"""One worker pool: every job runs in a worker process, with an optional deadline and memory ceiling.

Both kinds of parallel work use it. Untrusted answers files (`check/workers.BoundedPool`: check,
gradescope, serve) get a deadline and a memory ceiling, and every failure becomes that one file's
`Failure`; our own work (`results`: drawing variants, `variants --check`) gets neither, and an
exception of a type the caller names reaches the parent with its type (a VariantError is one line
and exit 2).

The parent enforces the deadline itself, so it needs no SIGALRM: it waits on the workers' pipes
with `multiprocessing.connection.wait` and a timeout, and kills a worker that is past its job's
deadline. Each worker caps its own address space (RLIMIT_AS, where the OS has it). A worker that
runs out of time or memory, or dies, is replaced; its job gets a `Failure` with a one-line reason
and every other job still runs. Workers never outlive the pool: leaving the `with` block, an
exception, Ctrl-C or SIGTERM kills them, and on Linux they also die with the parent.

Threads: on Linux a worker dies with the *thread* that forked it, not only with the process
(PR_SET_PDEATHSIG is per thread). Drive a pool from one long-lived thread, as the server does
(web/jobs.py: one single-thread executor per pool). A worker whose forking thread has ended is
never handed a job: it is replaced first, so another thread gets a result, at the cost of a fresh
worker.

The wall deadline here is one of three time limits (deadline.py says why each exists): the only
one that stops a job stuck in C code or a worker that stopped answering, at the cost of a process.

    with BoundedPool(grade, Limits(seconds=30, memory_mb=2048), workers=2) as pool:
        outcomes = pool.map(jobs)   # one Outcome per job, in job order
    values = results(draw, chunks, workers=2, raises=(ChainruleError,))
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import wait

from chainrule.processes import die_with_parent, terminate_unwinds

try:
    import resource
except ImportError:  # Windows: no RLIMIT_AS; the deadline still holds
    resource = None

STARTUP_SECONDS = 120.0  # a spawned worker imports the package before it says it is ready


@dataclass(frozen=True)
class Limits:
    seconds: float | None = 30.0  # wall clock for one job, from the moment it is handed to a worker; None: none
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


class Reply(StrEnum):
    """What a worker sends the parent: first READY, then one of the others per job."""

    READY = "ready"
    OK = "ok"  # the function's value
    RAISED = "raised"  # an exception of a type the caller asked to get back
    MEMORY = "memory"  # MemoryError: the worker then ends
    ERROR = "error"  # any other exception, as a one-line reason


class WorkerFailed(RuntimeError):
    """`results`: a job of our own work failed in a way that is not one of the caller's exceptions."""


@dataclass(frozen=True)
class _Raised:
    error: BaseException


# ---------------------------------------------------------------- the worker side

def _serve(function, connection, memory_mb: int | None, parent: int, raises: tuple) -> None:
    die_with_parent(parent)  # Ctrl-C reaches the parent, which ends us; SIGTERM is not the parent's handler
    _limit_memory(memory_mb)
    connection.send((Reply.READY, None, None))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            reply, value = Reply.OK, function(job)
        except raises as error:
            reply, value = _returnable(error)
        except MemoryError:
            reply, value = Reply.MEMORY, None
        except RecursionError:
            reply, value = Reply.ERROR, "internal error: nested too deeply (RecursionError)"
        except Exception as error:  # noqa: BLE001 - any bug in a job is that job's row, not the batch's end
            reply, value = Reply.ERROR, f"internal error: {_one_line(error)}"
        try:
            connection.send((reply, value, _peak_mb()))
        except MemoryError:
            return  # the parent sees the worker gone
        except Exception as error:  # noqa: BLE001 - a result that cannot be pickled
            connection.send((Reply.ERROR, f"internal error: result not sendable: {_one_line(error)}", _peak_mb()))
        if reply is Reply.MEMORY:
            return  # a heap that hit its ceiling is not trusted with the next job


def _returnable(error: BaseException) -> tuple[Reply, object]:
    """The caller's own exception, if it survives the trip to the parent; else its one-line reason."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - an exception whose constructor does not take its args back
        return Reply.ERROR, f"internal error: {_one_line(error)}"
    return Reply.RAISED, error


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
    forker: threading.Thread  # on Linux the worker dies when this thread ends (PR_SET_PDEATHSIG)


class Pool:
    """Up to `workers` processes running `function` (a module-level function) on one job each at a time.

    An exception of a type in `raises` is raised again in the parent by `map`, the first in job
    order once every job before it is done; any other exception is its job's Failure.
    `job_name` is what a time limit names: 'time limit of 30 s for the file' (None: 'time limit of 30 s').
    """

    def __init__(self, function, limits: Limits = Limits(), workers: int = 1, start_method: str | None = None,
                 *, raises: tuple[type[BaseException], ...] = (), job_name: str | None = "the job"):
        self.function, self.limits, self.workers = function, limits, max(1, workers)
        self.raises, self.job_name = tuple(raises), job_name
        if start_method is None:  # fork: a worker starts in milliseconds with the parent's caches
            start_method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._context = multiprocessing.get_context(start_method)
        self._idle: list[_Worker] = []
        self._live: list[_Worker] = []
        self._unwinding = None

    def __enter__(self) -> Pool:
        self._unwinding = terminate_unwinds()  # SIGTERM raises Terminated (main thread), which kills the workers
        self._unwinding.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        finally:
            if self._unwinding is not None:
                self._unwinding.__exit__(None, None, None)
                self._unwinding = None

    def close(self) -> None:
        """Kill every worker and wait for it: none outlives the pool."""
        while self._live:
            self._discard(self._live[-1])
        self._idle.clear()

    def map(self, jobs, done=None) -> list[Outcome]:
        """One Outcome per job, in job order; a job past a limit or raising gets a Failure (an
        exception of a type in `raises` is raised here instead, once the jobs before it are done).

        `done()`, if given, is called as each job finishes (for a progress bar).
        """
        done = done or (lambda: None)
        jobs = list(jobs)
        outcomes: list[Outcome | None] = [None] * len(jobs)
        pending = deque(enumerate(jobs))
        busy: dict[int, tuple[_Worker, int, float]] = {}  # id(worker) -> (worker, job index, start)
        settled = 0  # outcomes[:settled] are known and none of them is to be raised
        seconds = self.limits.seconds
        while pending or busy:
            while pending and len(busy) < self.workers:
                index, job = pending.popleft()
                worker = self._hand_over(job)
                if worker is None:
                    outcomes[index] = Outcome(Failure("internal error: a worker process could not start"), 0.0, None)
                    done()
                    continue
                busy[id(worker)] = (worker, index, time.monotonic())
            if busy:
                timeout = None
                if seconds is not None:
                    timeout = max(0.0, min(start for _, _, start in busy.values()) + seconds - time.monotonic())
                ready = set(wait([w.connection for w, _, _ in busy.values()]
                                 + [w.process.sentinel for w, _, _ in busy.values()], timeout=timeout))
                now = time.monotonic()
                for key, (worker, index, start) in list(busy.items()):
                    if worker.connection in ready or worker.process.sentinel in ready:
                        outcomes[index] = self._collect(worker, now - start)
                    elif seconds is not None and now - start >= seconds:
                        self._discard(worker)
                        for_whom = f" for {self.job_name}" if self.job_name else ""
                        outcomes[index] = Outcome(Failure(f"time limit of {seconds:g} s{for_whom}"), now - start, None)
                    else:
                        continue
                    del busy[key]
                    done()
            while settled < len(jobs) and outcomes[settled] is not None:
                if isinstance(outcomes[settled].value, _Raised):
                    for worker, _, _ in busy.values():  # their answers would wait in the pipes
                        self._discard(worker)
                    raise outcomes[settled].value.error
                settled += 1
        return outcomes  # type: ignore[return-value]

    def _hand_over(self, job) -> _Worker | None:
        for _ in range(2):  # an idle worker may have died meanwhile; then one fresh one
            while self._idle and not self._idle[-1].forker.is_alive():  # doomed: it dies with that thread
                self._discard(self._idle[-1])
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
            reply, value, peak = worker.connection.recv() if worker.connection.poll() else (None, None, None)
        except (EOFError, OSError):
            reply, value, peak = None, None, None
        if reply is Reply.OK:
            self._idle.append(worker)
            return Outcome(value, seconds, peak)
        if reply is Reply.RAISED:
            self._idle.append(worker)
            return Outcome(_Raised(value), seconds, peak)
        if reply is Reply.ERROR:
            self._idle.append(worker)
            return Outcome(Failure(value), seconds, peak)
        self._discard(worker)
        if reply is Reply.MEMORY:
            return Outcome(Failure("memory limit"), seconds, peak)
        return Outcome(Failure(_death(worker.process.exitcode, self.limits.memory_mb)), seconds, peak)

    def _start(self) -> _Worker | None:
        mine, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, daemon=True,
                                        args=(self.function, theirs, self.limits.memory_mb, os.getpid(), self.raises))
        if self._context.get_start_method() == "fork":
            gc.freeze()  # the child's collector then leaves the inherited heap alone: fewer copied pages
        process.start()
        theirs.close()
        worker = _Worker(process, mine, threading.current_thread())
        self._live.append(worker)
        if not mine.poll(STARTUP_SECONDS):
            self._discard(worker)
            return None
        try:
            mine.recv()  # (Reply.READY, ...)
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


_OUT_OF_MEMORY = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGKILL})  # how a worker at its ceiling may end


def _death(exitcode: int | None, memory_mb: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            ending = signal.Signals(-exitcode)
        except ValueError:
            ending = None
        name = ending.name if ending is not None else str(-exitcode)
        likely = " (likely the memory limit)" if memory_mb is not None and ending in _OUT_OF_MEMORY else ""
        return f"internal error: the worker process was ended by {name}{likely}"
    return f"internal error: the worker process exited with code {exitcode}"


OWN_WORK = Limits(seconds=None, memory_mb=None)  # our own computations: no deadline, no ceiling


def results(function, jobs, workers: int, *, raises: tuple[type[BaseException], ...] = (), done=None) -> list:
    """Our own work: every job's value, in job order.

    An exception of a type in `raises` is raised here with its type; any other failure (a bug, a
    worker that died) is a WorkerFailed naming the job's reason.
    """
    with Pool(function, OWN_WORK, workers, raises=raises) as pool:
        outcomes = pool.map(jobs, done)
    for outcome in outcomes:
        if isinstance(outcome.value, Failure):
            raise WorkerFailed(outcome.value.reason)
    return [outcome.value for outcome in outcomes]
