"""The server's bounded work: previews and checks of a student's text, in isolated worker processes.

Each request borrows one `BoundedPool` (one worker process, a deadline per request and a memory
ceiling) and returns it; the worker keeps its caches (answer keys, proofs) between requests. A
job never raises: what it could not do is the result's error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass

from concurrent.futures import ThreadPoolExecutor

from chainrule.check.answers import answers_from_bytes
from chainrule.check.gradebook import FileError
from chainrule.check.report_json import error_json, report_json
from chainrule.check.workers import BoundedPool, Failure, Limits
from chainrule.errors import ChainruleError

ANSWERS_FILE = "answers.toml"  # how a report names the answers a request sent (as `check` names a file)


@dataclass(frozen=True)
class CheckJob:
    toml: str  # the answers as the answers.toml the page would export
    spec_path: str
    shown: str  # the report's "spec"
    variant: int | None
    seconds: float  # per answer
    keys: tuple[str, ...] | None  # only these keys' judgements; None: all


@dataclass(frozen=True)
class PreviewJob:
    spec_path: str
    proof: bool  # the box of a proof (a chain of steps), else of a number
    text: str


@dataclass(frozen=True)
class WarmJob:
    spec_path: str


def run_job(job):
    """In a worker: one job, dispatched by its type."""
    if isinstance(job, CheckJob):
        return _check(job)
    if isinstance(job, PreviewJob):
        from chainrule.web.preview import preview

        return preview(job.spec_path, job.proof, job.text)
    if isinstance(job, WarmJob):
        from chainrule.check.answer_key import answer_key

        answer_key(job.spec_path)
        return None
    raise TypeError(f"unknown job {type(job).__name__}")


def _check(job: CheckJob) -> dict:
    from chainrule.check.grading import check as check_file

    try:
        answers = answers_from_bytes(job.toml.encode("utf-8"), ANSWERS_FILE)
        report = check_file(dataclasses.replace(answers, spec=job.spec_path), job.seconds, None)
    except ChainruleError as error:
        return error_json(FileError(ANSWERS_FILE, str(error), names_file=error.path == ANSWERS_FILE))
    except RecursionError:
        return error_json(FileError(ANSWERS_FILE, f"{ANSWERS_FILE}: too large to check", names_file=True))
    report = dataclasses.replace(report, variant=job.variant, spec=job.shown)
    if job.keys is not None:
        wanted = set(job.keys)
        report = dataclasses.replace(report, judgements=tuple(j for j in report.judgements if j.key in wanted))
    return report_json(report)


class Busy(Exception):
    """Every worker stayed busy for the whole wait: the request is refused (HTTP 503)."""


class Workers:
    """`count` one-process pools, lent to one request at a time.

    Each pool is driven from its own long-lived thread: a worker process is forked by the thread
    that runs `map`, and Linux ends it when that thread ends (PR_SET_PDEATHSIG is per thread), so
    a short-lived thread of a thread pool would take a replacement worker (and its warm caches)
    with it. The pool replaces a worker whose thread has ended before handing it a job, so that
    would cost a cold start, never a wrong result; the one thread per pool avoids even that.
    """

    def __init__(self, count: int, limits: Limits, wait_seconds: float = 30.0, function=run_job):
        self.limits, self.wait_seconds = limits, wait_seconds
        self.pools = [BoundedPool(function, limits, workers=1) for _ in range(max(1, count))]
        self.threads = {id(pool): ThreadPoolExecutor(1, thread_name_prefix="chainrule-pool") for pool in self.pools}
        self._free: asyncio.Queue | None = None

    def warm(self, spec_path: str) -> None:
        """Start every worker now, with the answer key already computed (inherited through fork)."""
        from chainrule.check.answer_key import answer_key

        answer_key(spec_path)
        for future in [self.threads[id(pool)].submit(pool.map, [WarmJob(spec_path)]) for pool in self.pools]:
            reason = failure_reason(future.result()[0].value)
            if reason is not None:
                raise ChainruleError(f"a checking process could not start ({reason}); "
                                     "is --memory-limit too small?")

    async def run(self, job, seconds: float | None = None, job_name: str | None = "the file") -> object:
        """The job's result, or a Failure (time limit, memory limit, a crash) within `seconds`.

        `job_name` is what a time limit's reason names: 'time limit of 1 s for the file'; None: nothing.
        """
        if self._free is None:
            self._free = asyncio.Queue()
            for pool in self.pools:
                self._free.put_nowait(pool)
        try:
            pool = await asyncio.wait_for(self._free.get(), self.wait_seconds)
        except asyncio.TimeoutError:
            raise Busy("every worker is busy; try again in a moment") from None
        # a pool serves one request at a time, so its deadline can be this request's
        pool.limits = dataclasses.replace(self.limits, seconds=seconds or self.limits.seconds)
        pool.job_name = job_name
        try:
            loop = asyncio.get_running_loop()
            outcome = (await loop.run_in_executor(self.threads[id(pool)], pool.map, [job]))[0]
        finally:
            self._free.put_nowait(pool)
        return outcome.value

    def close(self) -> None:
        """Kill every worker now, even one still busy (its request gets a Failure), then the threads."""
        for pool in self.pools:
            pool.close()
            self.threads[id(pool)].shutdown(wait=False)


def default_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def failure_reason(value: object) -> str | None:
    return value.reason if isinstance(value, Failure) else None
