"""The one check of an input file path (event files of the readers and of a study's config).

Standard library only: the command line's config imports it before anything heavy.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["event_file"]

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
