"""The bounded pool for untrusted answers files: `pool.Pool` with a deadline and a memory ceiling per file.

Every failure (a deadline, the memory ceiling, an exception, a worker that died) is that one
file's `Failure`; the pool itself, its limits and its threads are described in `chainrule.pool`.

    with BoundedPool(grade, Limits(seconds=30, memory_mb=2048), workers=2) as pool:
        outcomes = pool.map(jobs)   # one Outcome per job, in job order
"""

from __future__ import annotations

from chainrule.pool import Failure, Limits, Outcome, Pool

__all__ = ["BoundedPool", "Failure", "Limits", "Outcome", "run"]


class BoundedPool(Pool):
    """Up to `workers` processes grading one answers file each at a time; no exception reaches the parent."""

    def __init__(self, function, limits: Limits = Limits(), workers: int = 1, start_method: str | None = None):
        super().__init__(function, limits, workers, start_method, job_name="the file")


def run(function, jobs, limits: Limits = Limits(), workers: int = 1, done=None) -> list[Outcome]:
    """`BoundedPool(function, limits, workers).map(jobs, done)`, with the pool closed afterwards."""
    with BoundedPool(function, limits, workers) as pool:
        return pool.map(jobs, done)
