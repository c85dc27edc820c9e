"""Outputs written whole or not at all, and OS errors as one line that names the path.

Every output file is written to a temporary sibling, fsynced and renamed into place, so a full
disk, a kill or a crash leaves the previous file as it was. A folder of outputs (a batch) is built
in a temporary sibling folder and swapped in at the end, under a lock that refuses a second writer.
Leftovers of a crashed run (temporary files and folders whose process is gone) are cleaned on the
next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from chainrule.errors import ChainruleError

_TAG = ".chainrule-"  # temporary siblings are named .NAME.chainrule-KIND-PID-RANDOM
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class OutputError(ChainruleError):
    """An output could not be written: names the path and what the system said."""


def describe(error: OSError) -> str:
    """The system's reason in words a person can act on."""
    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"the disk is full or the file is too large ({error.strerror})"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"not writable ({error.strerror})"
    if error.errno == errno.ENOTDIR:
        return "a file is in the way where a folder is needed"
    if error.errno == errno.EISDIR:
        return "is a folder, expected a file"
    return error.strerror or str(error)


@contextlib.contextmanager
def reporting(path: str | Path, what: str = "cannot write"):
    """Turn an OSError inside the block into one OutputError line naming `path`."""
    try:
        yield
    except OSError as error:
        raise OutputError(f"{path}: {what}: {describe(error)}") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(parent: Path, name: str, kind: str, only_dead: bool = True) -> list[Path]:
    """Temporary siblings of `name` of this kind whose writing process is gone (or all of them)."""
    pattern = re.compile(re.escape(f".{name}{_TAG}{kind}-") + r"(\d+)-")
    stale = []
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            match = pattern.match(child.name)
            if match and not (only_dead and _alive(int(match.group(1)))):
                stale.append(child)
    return stale


def _sibling(path: Path, kind: str) -> str:
    return f".{path.name}{_TAG}{kind}-{os.getpid()}-"


def folder(path: str | Path, flag: str = "--out") -> Path:
    """`path` as an existing folder, made if missing; a file in the way is an OutputError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path}: not a folder")
    with reporting(f"{flag} {path}", "cannot make the folder"):
        path.mkdir(parents=True, exist_ok=True)
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` whole: a temporary sibling, fsynced, then renamed over `path`."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file")
    parent = path.parent
    for leftover in _stale(parent, path.name, "tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
    temporary = None
    with reporting(path):
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=_sibling(path, "tmp"), dir=parent)
            with os.fdopen(descriptor, "wb") as handle:
                os.fchmod(handle.fileno(), 0o666 & ~_UMASK)  # as an ordinary new file, not mkstemp's 0600
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            temporary = None
            _sync_folder(parent)
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text whole (see write_bytes); newlines are written as given."""
    return write_bytes(path, text.encode("utf-8"))


def copy_file(source: Path, target: str | Path) -> Path:
    """Copy a file (a built PDF) into place whole."""
    with reporting(source, "cannot read"):
        data = Path(source).read_bytes()
    return write_bytes(target, data)


def write_new(path: Path, text: str) -> None:
    """Write a file inside a staging folder (already temporary, so no rename is needed).

    Not fsynced one by one (that costs ~6 ms a file); `staged_folder` syncs the whole folder's file
    system once before the swap.
    """
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))


def _sync_tree(root: Path) -> None:
    """Make every file under `root` durable: one syncfs(2) on Linux, else fsync file by file."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes  # only for staged folders: not loaded by a plain write
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            descriptor = os.open(root, os.O_RDONLY)
            try:
                if libc.syncfs(descriptor) == 0:
                    return
            finally:
                os.close(descriptor)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _sync_folder(path: Path) -> None:
    """Make a rename durable; some file systems cannot open folders, which is fine."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# ---------------------------------------------------------------- folders built aside and swapped in

@contextlib.contextmanager
def locked(out: Path, flag: str = "--out", shown_as: str | Path | None = None):
    """Hold the lock of `out` (a file next to it): a second writer gets one line, not a race."""
    shown_as = out if shown_as is None else shown_as
    parent = out.parent
    lock_path = parent / f".{out.name}{_TAG}lock"
    while True:
        with reporting(f"{flag} {shown_as}", "cannot take the lock"):
            handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise OutputError(f"{flag} {shown_as}: another chainrule run (pid {owner}) is writing there; "
                              "wait for it to finish or choose another folder") from None
        # the file may have been removed by the holder we waited for: lock the one on disk
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        handle.close()  # releases the lock; a crash releases it too, so a lock is never stale


def recover(out: Path) -> None:
    """Undo a crashed swap (restore the old folder) and remove a crashed run's temporary folders.

    Called with the lock held, so no temporary folder of `out` belongs to a running writer, even
    one whose pid has been reused since.
    """
    old = _stale(out.parent, out.name, "old", only_dead=False)
    if not out.exists():
        for leftover in old:
            if (leftover / "previous").is_dir():
                os.replace(leftover / "previous", out)
                break
    for leftover in (*old, *_stale(out.parent, out.name, "new", only_dead=False)):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out: str | Path, keep=lambda name: False, flag: str = "--out"):
    """Build a folder aside and swap it in for `out` when the block ends without an error.

    Yields the staging folder. Until the swap, `out` keeps its previous contents; children of the
    old folder for which `keep(name)` is true are carried over into the new one. Callers decide
    beforehand whether `out` may be replaced at all.
    """
    shown_as, out = out, Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {shown_as}: not a folder")
    if not out.name:
        raise OutputError(f"{flag} {shown_as}: expected a folder inside another one")
    folder(out.parent, flag)
    with locked(out, flag, shown_as):
        with reporting(f"{flag} {shown_as}", "cannot clean up a previous run's leftovers"):
            recover(out)
        with reporting(f"{flag} {shown_as}", "cannot make a temporary folder next to it"):
            staging = Path(tempfile.mkdtemp(prefix=_sibling(out, "new"), dir=out.parent))
            os.chmod(staging, 0o777 & ~_UMASK)
        try:
            yield staging
            with reporting(f"{flag} {shown_as}", "cannot replace the folder"):
                _sync_tree(staging)
                _swap(staging, out, keep)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, out: Path, keep) -> None:
    if not out.exists():
        os.replace(staging, out)
        _sync_folder(out.parent)
        return
    for child in out.iterdir():
        if keep(child.name) and not (staging / child.name).exists():
            if child.is_dir():
                shutil.copytree(child, staging / child.name, symlinks=True)
            else:
                shutil.copy2(child, staging / child.name, follow_symlinks=False)
    old = Path(tempfile.mkdtemp(prefix=_sibling(out, "old"), dir=out.parent))
    os.replace(out, old / "previous")  # if we die between these two renames, `recover` restores it
    os.replace(staging, out)
    _sync_folder(out.parent)
    shutil.rmtree(old, ignore_errors=True)
