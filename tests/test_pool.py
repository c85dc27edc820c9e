"""The one worker pool as our own work uses it: the caller's exceptions come back with their type,
the first in job order; anything else is a WorkerFailed; and a pool survives being driven from a
thread that ends (PR_SET_PDEATHSIG is per thread)."""

from __future__ import annotations

import os
import threading

import pytest

from chainrule.classroom.variants import VariantError
from chainrule.errors import ChainruleError
from chainrule.pool import Failure, Limits, Pool, WorkerFailed, results


class Unpicklable(ChainruleError):
    def __init__(self, a, b):  # pickle calls cls(*args) with one arg: it cannot come back
        super().__init__(f"{a} and {b}")


def job(kind):
    if kind.startswith("variant"):
        raise VariantError(f"{kind}: no draw satisfies the constraints")
    if kind == "bug":
        raise KeyError("a bug")
    if kind == "unpicklable":
        raise Unpicklable("one", "two")
    if kind == "exit":
        os._exit(4)
    if kind == "pid":
        return os.getpid()
    return int(kind) * 10


@pytest.mark.parametrize("jobs, workers", [
    (["1", "variant 2", "3", "variant 4"], 2),
    (["1", "variant 2", "3", "variant 4"], 1),
    (["variant 2", "variant 4", "5"], 2),
])
def test_the_callers_exception_is_raised_with_its_type_the_first_in_job_order(jobs, workers):
    with pytest.raises(VariantError, match="^variant 2: no draw"):
        results(job, jobs, workers, raises=(ChainruleError,))


@pytest.mark.parametrize("kind, reason", [
    ("bug", "internal error: KeyError: 'a bug'"),
    ("unpicklable", "internal error: Unpicklable: one and two"),
    ("exit", "internal error: the worker process exited with code 4"),
])
def test_any_other_failure_of_our_own_work_is_a_worker_failure(kind, reason):
    with pytest.raises(WorkerFailed) as caught:
        results(job, ["1", kind, "2"], 2, raises=(ChainruleError,))
    assert str(caught.value) == reason


def test_own_work_has_no_deadline_and_returns_values_in_order():
    ticks = []
    assert results(job, [str(n) for n in range(12)], 2, done=lambda: ticks.append(1)) == [10 * n for n in range(12)]
    assert len(ticks) == 12


def test_without_raises_the_callers_exception_is_its_jobs_failure():
    with Pool(job, Limits(seconds=30, memory_mb=None), 2, job_name="the file") as pool:
        outcomes = pool.map(["1", "variant 9"])
    assert [o.value for o in outcomes] == [10, Failure("internal error: VariantError: variant 9: no draw satisfies "
                                                       "the constraints")]


def test_a_worker_whose_thread_ended_is_replaced_before_it_gets_a_job():
    pool = Pool(job, Limits(seconds=60, memory_mb=None), 1)
    seen = []
    try:
        for _ in range(2):  # two short-lived threads: the first one's worker dies with it (on Linux)
            thread = threading.Thread(target=lambda: seen.append(pool.map(["pid", "7"])))
            thread.start()
            thread.join()
    finally:
        pool.close()
    (first_pid, first_seven), (second_pid, second_seven) = [[o.value for o in outcomes] for outcomes in seen]
    assert first_seven == second_seven == 70
    assert isinstance(first_pid, int) and isinstance(second_pid, int) and first_pid != second_pid


def test_after_a_raised_exception_the_pool_still_serves_and_no_worker_is_left_busy():
    pool = Pool(job, Limits(seconds=60, memory_mb=None), 2, raises=(ChainruleError,))
    try:
        with pytest.raises(VariantError):
            pool.map(["variant 1", "2", "3", "4"])
        assert [o.value for o in pool.map(["5", "6"])] == [50, 60]
        assert len(pool._live) <= 2
    finally:
        pool.close()
    assert pool._live == []
