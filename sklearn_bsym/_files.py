"""Files read and written safely: the checks of a file before it is read (an input event
file's path, the readers' and a study's config's; a file read whole only when it is a regular
file of bounded size: a study's stored fits, a model file, a column mapping), the checks of an
output path before any work, and the one way a final file is written (:func:`atomic_output`:
a temporary file unique to the run, created exclusively, never followed through a link, then
renamed into place).

Standard library only: the command line's config imports it before anything heavy.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "event_file",
    "read_bounded",
    "same_file",
    "check_output",
    "atomic_output",
    "replace_atomically",
    "temporary_path",
    "is_stale_temporary",
    "remove_stale_temporaries",
    "STALE_TMP_SECONDS",
]

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


def read_bounded(path, limit: int, *, follow_links: bool = False) -> bytes:
    """The bytes of the regular file ``path``, read only after checking what is there: a
    symbolic link is not followed (unless ``follow_links``: then what it points to is checked
    instead), and a folder, FIFO, device or socket, or a file of more than ``limit`` bytes, is a
    ValueError saying what it is (so that neither a FIFO nor ``/dev/zero`` can hang a reader or
    fill its memory). Other failures are the OSError of the read."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer (fstat then refuses it).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if os.path.islink(path):  # also where O_NOFOLLOW is missing (Windows)
            raise ValueError(f"it is a symbolic link (to {os.readlink(path)}), not a file of "
                             "its own")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:  # made a link since the check
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


def same_file(a, b) -> bool:
    """Whether the paths ``a`` and ``b`` name one file: the same path once resolved, or the
    same file reached through a symbolic or hard link (its device and inode)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        first, second = os.stat(a), os.stat(b)
    except (OSError, RuntimeError):  # a path that does not exist, or a loop of links
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def check_output(path, *, inputs=(), what="output") -> Path:
    """``path`` as a Path once it can be written as a new final file: its folder exists and
    takes a new file (tried with a temporary file, removed at once), it is not a folder, and it
    is none of ``inputs`` (:func:`same_file`). Else one line naming ``what`` and the fix: so
    that a command checks its output before any work, never after."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        kind = "is not a folder" if os.path.lexists(folder) else "does not exist"
        raise FileNotFoundError(f"Cannot write the {what} {path}: the folder {folder} {kind}; "
                                "create it or choose another path.")
    if path.is_dir():
        raise IsADirectoryError(f"Cannot write the {what} {path}: it is a folder; give a file "
                                "name in it.")
    for source in inputs:
        if same_file(path, source):
            raise ValueError(f"The {what} {path} is one of the inputs ({source}); writing it "
                             "would destroy that input: choose another path.")
    try:
        tmp, fd = _create_exclusive(folder, path.name)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise PermissionError(f"Cannot write the {what} {path}: its folder {folder} takes no "
                              f"new file ({exc.strerror or exc}); choose a writable "
                              "folder.") from None
    return path


# -- writing a final file -------------------------------------------------------------------
#: A temporary file this old is abandoned by its writer, whatever machine wrote it (a write of a
#: record or a figure takes milliseconds).
STALE_TMP_SECONDS = 3600

# Temporary files are named ".<name>.<host>-<pid>.<token>.tmp": unique to the run and the call,
# and a later run on the same machine can tell that its writer is gone (killed during the
# write) and remove it at once.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TMP_PATTERN = re.compile(r"^\..+\.(?:(?P<host>[0-9a-f]{8})-)?(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
# O_EXCL refuses any existing name, a symbolic link included (POSIX); O_NOFOLLOW says so again
# where O_EXCL is not enough (old NFS).
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_NAME_TRIES = 16


def temporary_path(folder, name: str) -> Path:
    """A fresh temporary file name in ``folder`` for the final file ``name``; see
    :func:`is_stale_temporary`."""
    return Path(folder) / f".{name}.{_HOST}-{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _create_exclusive(folder: Path, name: str) -> tuple[Path, int]:
    """A new temporary file of :func:`temporary_path`, created by this call alone (a name that
    exists, however it got there, is never opened: another is drawn), as ``(path, fd)``."""
    for _ in range(_NAME_TRIES):
        tmp = temporary_path(folder, name)
        try:
            # 0o666, not mkstemp's 0o600, so that the umask decides, as for any file the user
            # writes: a group sharing the folder can read the output.
            return tmp, os.open(tmp, _CREATE, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name in {folder}", str(folder))


def is_stale_temporary(path, now: float | None = None) -> bool:
    """Whether the temporary file ``path`` is abandoned: written on this machine by a process
    that is gone, or older than :data:`STALE_TMP_SECONDS`."""
    path = Path(path)
    match = _TMP_PATTERN.match(path.name)
    if match is None:
        return False
    if match["host"] == _HOST and not _alive(int(match["pid"])):
        return True
    try:
        return (time.time() if now is None else now) - path.lstat().st_mtime > STALE_TMP_SECONDS
    except OSError:
        return False


def remove_stale_temporaries(path) -> None:
    """Remove the temporary files of the final file ``path`` that killed runs left behind
    (:func:`is_stale_temporary`); one that cannot be removed (another user's) stays."""
    path = Path(path)
    now = time.time()
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            if is_stale_temporary(tmp, now):
                with contextlib.suppress(OSError):
                    tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def atomic_output(path) -> Iterator[BinaryIO]:
    """A binary file (readable, writable, seekable) whose content becomes the file ``path`` when
    the block ends without an exception, else is discarded, Ctrl-C included.

    It is a temporary file in ``path``'s folder, unique to this run and call, created
    exclusively (never an existing name, never through a symbolic link someone planted), with
    the permissions of any file the user creates (0666 less the umask); at the end it is
    flushed to disk and renamed over ``path`` (``os.replace``, atomic on one filesystem). So a
    reader sees the old file or the whole new one, two runs writing one output each write a
    whole file of their own (the last rename wins, never a mix), and nothing but ``path``
    changes: a link at ``path`` is replaced, its target left untouched. The block may close the
    file itself (a writer that owns it).
    """
    path = Path(path)
    tmp, fd = _create_exclusive(path.parent, path.name)
    try:
        with os.fdopen(os.dup(fd), "w+b") as fh:
            yield fh
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def replace_atomically(path, data: bytes) -> None:
    """Write ``data`` as the file ``path`` through :func:`atomic_output`."""
    with atomic_output(path) as fh:
        fh.write(data)
