"""Local files that are never half-written and never lose a concurrent update.

- ``exclusive_lock(lock_path)``: an exclusive lock across threads (one ``threading.Lock`` per path)
  and processes (``fcntl.flock`` on the lock file), for read-modify-write updates;
- ``write_atomically(path, write)``: the new content goes to a temporary file in the same
  directory, is flushed to disk, and is renamed over ``path``, so an interrupted write leaves
  the previous file intact (and no temporary file behind).

Used by the ``.plait`` metadata files and the experiments store.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextlib.contextmanager
def exclusive_lock(lock_path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the duration of the block."""
    os.makedirs(os.path.dirname(lock_path) or ".", exist_ok=True)
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(os.path.realpath(lock_path), threading.Lock())
    with thread_lock:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def write_atomically(path: str, write: Callable[[IO[str]], None], temporary_prefix: str | None = None) -> None:
    """Replace ``path`` with what ``write`` writes to the (text) file it is given, all or nothing.

    :param temporary_prefix: the temporary file's name prefix (default ``.<name>.tmp-``)
    """
    directory = os.path.dirname(path) or "."
    prefix = temporary_prefix or f".{os.path.basename(path)}.tmp-"
    fd, temporary_path = tempfile.mkstemp(dir=directory, prefix=prefix)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes files private; ours are as readable as the data they describe
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary_path)
        raise
