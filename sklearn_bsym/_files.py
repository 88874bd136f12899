"""The checks of a file before it is read: an input event file's path (the readers' and a
study's config's), and a small file read whole only when it is a regular file of bounded size
(a study's stored fits).

Standard library only: the command line's config imports it before anything heavy.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["event_file", "read_bounded"]

_KINDS = ".lhe, .lhe.gz, .parquet, .csv, .root"


def event_file(path) -> Path:
    """``path`` as a Path when it is a readable regular file; else one line saying what is
    there instead (nothing, a dangling or looping symbolic link, a folder) and the fix."""
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"Expected a file path (str or os.PathLike), got {type(path).__name__}.")
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(
                f"Event file {path} is a symbolic link that loops back on itself; point it at "
                "the event file."
            ) from None
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise OSError(exc.errno, f"Cannot read event file {path} ({exc.strerror})") from None
        dangling = path.is_symlink()
        what = f"a symbolic link to {os.readlink(path)}, which" if dangling else "it"
        raise FileNotFoundError(
            f"No event file at {path}: {what} does not exist (full path "
            f"{os.path.abspath(path)}). Check the path; relative paths are taken from the "
            "current working directory."
        ) from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(
            f"Event file {path} is a folder, not a file; pass one of the event files in it "
            f"({_KINDS})."
        )
    if not stat.S_ISREG(mode):
        raise ValueError(f"Event file {path} is not a regular file; pass an event file ({_KINDS}).")
    return path


def _kind(mode: int) -> str:
    """What a file of ``mode`` is, in words, for the messages."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_bounded(path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, read only after checking what is there: a
    symbolic link is not followed, and a folder, FIFO, device or socket, or a file of more than
    ``limit`` bytes, is a ValueError saying what it is (so that neither a FIFO nor
    ``/dev/zero`` can hang a reader or fill its memory). Other failures are the OSError of the
    read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if os.path.islink(path):  # also where O_NOFOLLOW is missing (Windows)
        raise ValueError(f"it is a symbolic link (to {os.readlink(path)}), not a file of its own")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a link since the check
            raise ValueError("it is a symbolic link, not a file of its own") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"it is {_kind(info.st_mode)}, not a regular file")
        # Up to one byte past the limit: a file still growing is caught as well.
        data = b""
        while info.st_size <= limit and len(data) <= limit:
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
        if info.st_size > limit or len(data) > limit:
            raise ValueError(f"it holds more than {limit:,} bytes, more than a file of its kind "
                             "ever does")
    finally:
        os.close(fd)
    return data
