"""Progress bars: drawn on a terminal's stderr, silent anywhere else; the stages report through `done`."""

from __future__ import annotations

import io

import pytest

from chainrule.check.workers import Limits, run
from chainrule.cli import progress


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self):
        return True


class Closed(io.StringIO):
    def isatty(self):
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize("stream, expected", [
    (Terminal(), True), (io.StringIO(), False), (Closed(), False), (object(), False),
])
def test_a_bar_is_wanted_only_on_a_terminal(stream, expected):
    assert progress.wanted(stream) is expected


@pytest.mark.parametrize("stream, total, drawn", [
    (Terminal(), 3, True),
    (io.StringIO(), 3, False),  # a pipe or a file: nothing
    (Terminal(), 1, False),  # one item is not long work
])
def test_bar_draws_on_a_terminal_only(monkeypatch, stream, total, drawn):
    monkeypatch.setattr("sys.stderr", stream)
    with progress.bar(total, "grading") as advance:
        for _ in range(total):
            advance()
    assert ("grading" in stream.getvalue()) is drawn


def square(n):
    return n * n


@pytest.mark.parametrize("workers", [1, 2])
def test_the_worker_pool_reports_each_finished_job(workers):
    ticks = []
    outcomes = run(square, [1, 2, 3, 4, 5], Limits(seconds=30), workers, done=lambda: ticks.append(1))
    assert [o.value for o in outcomes] == [1, 4, 9, 16, 25] and len(ticks) == 5


def test_generate_reports_every_variant_once():
    from chainrule.classroom.batch import generate
    from chainrule.core.spec_reader import load

    seen = []
    files = generate(load("inf264_hw4"), 3, "7", tex=False, jobs=1, done=seen.append)
    assert sum(seen) == 3 == len(files)
