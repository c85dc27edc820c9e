"""The bounded worker pool: a job that hangs, eats memory, raises or kills its worker gets its own
Failure; every other job still runs, in order, and no worker outlives the pool."""

from __future__ import annotations

import faulthandler
import os
import sys
import time

import pytest

from chainrule.check.workers import BoundedPool, Failure, Limits, run

ON_LINUX = sys.platform.startswith("linux")


def job(kind):
    """A test job: 'ok:N' returns N squared; the other kinds misbehave on purpose."""
    if kind == "hang":
        while True:
            time.sleep(0.05)
    if kind == "spin":  # pure Python, never yields to a signal handler of ours
        while True:
            pass
    if kind == "memory":
        return len(bytearray(64 * 2**30))  # 64 GB: past any ceiling set below
    if kind == "raise":
        raise ValueError("a bug\nover two lines")
    if kind == "recursion":
        return job("recursion")
    if kind == "exit":
        os._exit(3)
    if kind == "abort":
        faulthandler.disable()  # pytest's would print the worker's stack
        os.abort()
    if kind == "pid":
        return os.getpid()
    return int(kind) ** 2


@pytest.mark.parametrize("kind, reason", [
    ("hang", "time limit of 5 s for the file"),
    ("spin", "time limit of 5 s for the file"),
    ("memory", "memory limit"),
    ("raise", "internal error: ValueError: a bug over two lines"),
    ("recursion", "internal error: nested too deeply (RecursionError)"),
    ("exit", "internal error: the worker process exited with code 3"),
    ("abort", "internal error: the worker process was ended by SIGABRT (likely the memory limit)"),
])
def test_a_bad_job_gets_its_own_failure_and_the_others_their_results(kind, reason):
    if kind == "memory" and not ON_LINUX:
        pytest.skip("RLIMIT_AS is enforced on Linux")
    # 5 s: the good jobs must not hit the limit on a starved machine; the bad ones always do
    outcomes = run(job, ["2", kind, "3", "4"], Limits(seconds=5, memory_mb=1024), workers=2)
    values = [o.value for o in outcomes]
    if kind == "recursion" and values[1] != Failure(reason):
        # CPython sometimes reports runaway recursion that ends inside C code as a SystemError
        assert isinstance(values[1], Failure) and values[1].reason.startswith("internal error: SystemError")
        values[1] = Failure(reason)
    assert values == [4, Failure(reason), 9, 16]


def test_a_worker_past_a_limit_is_replaced_and_a_good_one_is_reused():
    with BoundedPool(job, Limits(seconds=5, memory_mb=1024), workers=1) as pool:
        first, second = pool.map(["pid", "pid"])
        assert first.value == second.value  # one worker served both
        after = pool.map(["hang", "pid"])
        assert isinstance(after[0].value, Failure) and after[1].value not in (first.value, None)


def test_no_job_and_many_jobs():
    assert run(job, []) == []
    outcomes = run(job, [str(n) for n in range(40)], Limits(seconds=30), workers=2)
    assert [o.value for o in outcomes] == [n * n for n in range(40)]
    assert all(o.seconds >= 0 for o in outcomes)


def test_workers_are_gone_after_the_pool_even_when_a_job_hangs():
    with BoundedPool(job, Limits(seconds=0.5), workers=2) as pool:
        pool.map(["hang", "1"])
        processes = [w.process for w in pool._live]
        assert processes
    assert not any(p.is_alive() for p in processes)
    assert pool._live == []


def test_an_exception_in_the_parent_kills_the_workers():
    with pytest.raises(KeyboardInterrupt):
        with BoundedPool(job, Limits(seconds=30), workers=2) as pool:
            pool.map(["1", "2"])
            processes = [w.process for w in pool._live]
            raise KeyboardInterrupt
    assert processes and not any(p.is_alive() for p in processes)


def test_the_deadline_holds_without_fork():
    # where there is no fork (nor SIGALRM), workers are spawned; the parent still enforces the deadline
    with BoundedPool(job, Limits(seconds=5), workers=2, start_method="spawn") as pool:
        outcomes = pool.map(["spin", "5", "raise"])
    assert outcomes[0].value == Failure("time limit of 5 s for the file")
    assert outcomes[1].value == 25 and outcomes[2].value.reason.startswith("internal error: ValueError")
