"""Untrusted files in: bounded reads of regular files, and which spec a student's file may name.

A path from an answers file is never opened as given. Only a regular file is read (no device,
FIFO or terminal), it is opened without blocking and without following a final symlink, and at
most `limit + 1` bytes are read, so `/dev/zero`, a FIFO or `/dev/stdin` is refused at once.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

BUNDLED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def read_regular(path: str | Path, limit: int, fail) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; otherwise `fail(why)` is raised."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise fail(f"cannot read the file ({error.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise fail("not a regular file")
    if info.st_size > limit:
        raise fail(f"larger than {limit} bytes")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise fail(f"cannot read the file ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped after the first look
            raise fail("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise fail(f"larger than {limit} bytes")
    return data


STDIN = "<stdin>"  # how standard input is named in messages


def read_stdin(limit: int, fail) -> bytes:
    """At most `limit` bytes of standard input (`-` on the command line); more is `fail(why)`."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise fail("standard input is not available")
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise fail(f"larger than {limit} bytes")
    return data


def student_spec(reference: str, answers_path: str | Path, bundled: Path, fail) -> str:
    """Where an answers file's `spec = "..."` points: a bundled spec's name, or a file beside it.

    A bare name of a spec in `bundled` (derivations/) is that spec. Anything else must be a
    relative path to a regular file inside the answers file's own folder: no absolute path, no
    `..`, no symlink leading out. `fail(why)` builds the error.
    """
    names = sorted(p.stem for p in bundled.glob("*.toml"))
    if BUNDLED_NAME.fullmatch(reference) and reference in names:
        return str(bundled / f"{reference}.toml")
    allowed = f"a bundled spec ({', '.join(names)}) or a .toml file in the answers file's folder"
    relative = Path(reference.replace("\\", "/"))
    if relative.is_absolute() or relative.drive or ".." in relative.parts or reference.startswith("~"):
        raise fail(f"'{reference}': expected {allowed}; the grader can set one with --spec")
    folder = Path(answers_path).resolve().parent
    target = folder / relative
    try:
        inside = target.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise fail(f"'{reference}': leaves the answers file's folder; expected {allowed}")
    try:
        regular = stat.S_ISREG(os.stat(target).st_mode)
    except OSError:
        raise fail(f"'{reference}': no such bundled spec or file; expected {allowed}") from None
    if not regular:
        raise fail(f"'{reference}': not a regular file; expected {allowed}")
    return str(target)

