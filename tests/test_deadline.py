"""deadline.Deadline: a budget of the thread's own CPU time, with a wall-time cap for blocks that wait.

No wall-time assertions: each test asserts only whether the block was stopped.
"""

from __future__ import annotations

import time

import pytest

from chainrule.deadline import Deadline, OutOfTime


def _work(cpu_seconds: float) -> None:
    """Busy for about `cpu_seconds` of this thread's CPU time, however busy the machine is."""
    start = time.thread_time()
    while time.thread_time() - start < cpu_seconds:
        sum(range(1000))


def _wait(wall_seconds: float) -> None:
    """Waiting in short sleeps (the injected exception is delivered between them)."""
    end = time.monotonic() + wall_seconds
    while time.monotonic() < end:
        time.sleep(0.01)


@pytest.mark.parametrize("budget, block, stopped", [
    (0.2, lambda: _work(5.0), True),  # work past the budget is stopped
    (2.0, lambda: _work(0.05), False),  # work within it is not
    (0.5, lambda: _wait(1.0), False),  # waiting uses no CPU: a second of sleep within a 0.5 s budget ends normally
    (0.05, lambda: _wait(30.0), True),  # but a block that only waits is stopped at the wall cap (15 x 0.05 s)
    (0, lambda: None, True),  # no budget: out of time before any work
])
def test_the_budget_counts_work_not_waiting(budget, block, stopped):
    try:
        with Deadline(budget):
            block()
    except OutOfTime:
        assert stopped
    else:
        assert not stopped


def test_nothing_is_raised_after_the_block_ends():
    with Deadline(0.05):
        pass
    _work(0.3)  # past the old budget, outside the block: no OutOfTime may arrive here
