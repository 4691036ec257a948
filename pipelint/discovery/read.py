"""Reading a source file without hanging or exhausting memory.

Only regular files are read. A FIFO named ``pipe.py`` would block the run forever, a
link to ``/dev/zero`` would fill the memory, and opening some devices has side
effects: anything that is not a regular file is refused before it is opened (and
checked again on the open file, opened without blocking). Files larger than a hard
limit are not read at all. The refusals are ``OSError``s, so every caller that
already copes with an unreadable file copes with them too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["read_regular", "NotRegularFileError", "FileTooLargeError", "HARD_LIMIT", "kind"]

#: Larger files are never read (``max-file-size``, far lower, decides what is parsed).
HARD_LIMIT = 256 * 1024 * 1024

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class NotRegularFileError(OSError):
    """A FIFO, a device, a socket, a directory: not read."""


class FileTooLargeError(OSError):
    """Above ``HARD_LIMIT``: not read."""


def kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse(path: str | Path, st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(
            errno.EINVAL, f"not a regular file ({kind(st.st_mode)})", str(path)
        )
    if st.st_size > limit:
        mb = st.st_size / 1_000_000
        raise FileTooLargeError(errno.EFBIG, f"file too large to read ({mb:.0f} MB)", str(path))


def read_regular(path: str | Path, limit: int = HARD_LIMIT) -> bytes:
    """The bytes of the regular file ``path`` (symbolic links followed)."""
    _refuse(path, os.stat(path), limit)
    fd = os.open(path, _FLAGS)
    try:
        _refuse(path, os.fstat(fd), limit)  # replaced between the stat and the open?
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = fh.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise FileTooLargeError(errno.EFBIG, "file too large to read", str(path))
    return data
