"""Result sets on disk: one folder per set of result-changing options, one JSON file per fit.

A study writes each finished fit at once, atomically (temporary file, then ``os.replace``), with a
SHA-256 checksum of its payload and the id of its result set. Files get the permissions of any
file the user creates (0666 less the umask), so a group can share a result folder. Reading a fit
back checks that it can be read at all (a folder, an unreadable or malformed file, NaN literals,
absurd nesting), the checksum, the key, the set and (with ``validate``) the payload's schema and
its place in the set; a file that fails any check is reported once with a
:class:`CorruptResultWarning` and treated as unfinished, so it is redone rather than silently read.
Every write goes through one guard: a failure (disk full, a folder made unwritable, a file where
a folder goes) raises a one-line :class:`StoreWriteError` naming the file and the fix for that
cause.

Nothing outside the set's own folder is read or written through it: a fit file is read only
when it is a regular file of bounded size (not a link, FIFO or device), and a set folder,
``fits/`` or ``locks/`` that is a symbolic link is replaced by a folder of its own (a warning
names it; its target is left untouched), as a linked file is replaced by the atomic write.
Temporary files and lock files left behind by a killed run are removed by the next run.

Several processes may run the same study on one folder: :meth:`ResultStore.acquire` takes a
per-fit file lock, so each fit is computed once and the others read it; a run that finishes
removes the empty ``locks/`` folder, and a lock taken meanwhile by another run makes it again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._files import is_stale_temporary as _stale
from .._files import read_bounded
from .._files import replace_atomically as _replace_atomically
from .._files import temporary_path as _temporary

__all__ = [
    "MAX_RECORD_BYTES",
    "CorruptResultWarning",
    "ResultStore",
    "StoreNotWritableError",
    "StoreWriteError",
    "result_set_id",
    "payload_checksum",
]

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._=+-]+$")

#: Largest fit file read, in bytes: a record (its validation AUC per epoch, the symmetry table)
#: is a few KB; anything far larger is not one, and is not read into memory.
MAX_RECORD_BYTES = 16 * 2**20

#: Attempts to take a lock while other runs that finish remove the empty ``locks/`` folder.
_LOCK_TRIES = 100


class CorruptResultWarning(UserWarning):
    """A stored fit result could not be trusted (bad JSON, checksum, key or payload) and will be
    redone."""


class StoreNotWritableError(PermissionError):
    """The result folder cannot be written (read-only, not a folder, no permission)."""


class StoreWriteError(OSError):
    """Writing a result file failed (disk full, folder made unwritable); the message is one line
    naming the file and the reason."""


@contextlib.contextmanager
def writing(path: Path):
    """Turn any OSError of the writes inside (a lock's timeout aside) into one
    :class:`StoreWriteError` naming ``path``, the reason and the fix for that reason."""
    try:
        yield
    except (StoreWriteError, TimeoutError):
        raise
    except OSError as exc:
        raise StoreWriteError(
            f"Cannot write {path} ({exc.strerror or exc}): {_fix(exc, path)}"
        ) from None


def _fix(exc: OSError, path: Path) -> str:
    """What the user does about a failed write, by its cause."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "free disk space"
    if code == errno.EFBIG:
        return "raise the file-size limit (ulimit -f) or free disk space"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "fix the folder's permissions or choose a writable --output"
    if code in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
        culprit = _in_the_way(Path(exc.filename or path))
        if culprit.is_dir() and not culprit.is_symlink():
            return f"{culprit} is a folder where a file goes; move it away"
        return f"{culprit} is a file where a folder goes; move it away"
    if code == errno.ELOOP:
        return f"{exc.filename or path} is a symbolic link; remove it"
    if code == errno.ENOENT:
        return "its folder was removed while the run wrote in it; keep the result folder in place"
    return "check the result folder"


def _in_the_way(path: Path) -> Path:
    """The deepest existing part of ``path`` (itself or a parent): what stands in the way."""
    for part in (path, *path.parents):
        if os.path.lexists(part):
            return part
    return path


def _no_nan(text: str):
    raise ValueError(f"it holds the non-JSON number {text}")


def _canonical(obj: Any) -> str:
    # allow_nan=False: NaN has no JSON spelling, and a payload must read back exactly as written.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def payload_checksum(payload: Any) -> str:
    """SHA-256 hex digest of the canonical JSON form of ``payload``.

    >>> payload_checksum({"b": 1, "a": 2}) == payload_checksum({"a": 2, "b": 1})
    True
    """
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def result_set_id(options: dict[str, Any], *, length: int = 12) -> str:
    """Short, stable id of the result-changing ``options`` (a JSON-serializable dict).

    Equal options give the same id in any process and any key order; any change gives another.

    >>> result_set_id({"n_events": 1000, "resolution": 0.1})
    'cf3bb13df3c1'
    >>> result_set_id({"resolution": 0.1, "n_events": 1000})
    'cf3bb13df3c1'
    """
    return payload_checksum(options)[:length]


def _remove_non_file(path: Path) -> None:
    """Remove a symbolic link, FIFO or other non-file at lock ``path`` (a lock file holds
    nothing; opening a link would truncate its target on some filelock versions); a folder there
    is a one-line :class:`StoreWriteError`."""
    with contextlib.suppress(FileNotFoundError):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            raise StoreWriteError(
                f"Cannot write {path}: a folder stands where the lock file goes; move it away"
            )
        if not stat.S_ISREG(mode):
            path.unlink(missing_ok=True)


class ResultStore:
    """Fit results of one result set, each in ``<folder>/fits/<key>.json``.

    Parameters
    ----------
    folder : path-like
        The result-set folder, ``<output>/<set_id>``; created on first write.
    validate : callable, optional
        Called as ``validate(key, payload)`` with each loaded payload; a ValueError it raises
        marks the file as corrupt (warned about by name, then redone), and what it returns is
        what :meth:`load` returns.
    set_id : str, optional
        The id of the result set: written into every fit file, and a file that names another
        set (copied from elsewhere) is not trusted.
    """

    def __init__(
        self,
        folder,
        *,
        validate: Callable[[str, Any], Any] | None = None,
        set_id: str | None = None,
    ):
        self.folder = Path(folder)
        self.validate = validate
        self.set_id = set_id
        self._warned: set[str] = set()

    def check_writable(self) -> None:
        """Create the folder and raise :class:`StoreNotWritableError` (one line naming the folder
        and the fix) unless files can be written in it; then remove what a killed run left
        behind (see :meth:`clean`)."""
        try:
            fits = self._own_folder(self.fits_dir)
            probe = _temporary(fits, "write-test")
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreNotWritableError(
                f"Cannot write results to {self.folder} ({exc.strerror or exc}): "
                f"{_fix(exc, self.fits_dir)}."
            ) from None
        self.clean()

    def is_writable(self) -> bool:
        """Whether :meth:`check_writable` passes."""
        try:
            self.check_writable()
        except StoreNotWritableError:
            return False
        return True

    def clean(self) -> None:
        """Remove what a killed run left behind: its temporary files (:func:`_stale`) in the set
        folder and ``fits/``, and lock files no process holds."""
        if self._linked() is not None:
            return  # nothing is removed through a link
        now = time.time()
        for folder in (self.folder, self.fits_dir):
            if folder.is_dir():
                for path in folder.glob(".*.tmp"):
                    if _stale(path, now):
                        path.unlink(missing_ok=True)
        locks = self.folder / "locks"
        if locks.is_dir() and not locks.is_symlink():
            for path in locks.glob("*.lock"):
                with contextlib.suppress(OSError, StoreWriteError):
                    _remove_non_file(path)
                if not path.is_file():
                    continue
                lock = self._file_lock(path)
                with contextlib.suppress(OSError, TimeoutError):
                    lock.acquire(timeout=0)
                    release([lock])
            self.remove_lock_folder()

    def acquire(self, key: str, *, blocking: bool):
        """The file lock (``filelock.FileLock``) of fit ``key``, taken; None when another
        process holds it and ``blocking`` is False (else this waits for it). Hold it while
        computing the fit, so that another process on the same folder waits for it instead of
        repeating it, and hand it to :func:`release`.

        The ``locks/`` folder is made here; another run that finishes may remove it (when
        empty) at any time, so the lock is retried in the folder made again. A symbolic link,
        FIFO or other non-file at the lock's path is removed first (a lock file holds nothing);
        a failure is a one-line :class:`StoreWriteError`.
        """
        path = self._lock_path(key)
        lock = self._file_lock(path)
        with writing(path):
            for _ in range(_LOCK_TRIES):
                self._own_folder(path.parent)
                _remove_non_file(path)
                try:
                    lock.acquire(timeout=-1 if blocking else 0)
                except TimeoutError:
                    return None
                except FileNotFoundError:
                    continue  # locks/ was removed by a run that finished: make it again
                return lock
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))

    def lock(self, key: str):
        """The file lock (``filelock.FileLock``) of fit ``key``, not taken (see
        :meth:`acquire`)."""
        path = self._lock_path(key)
        with writing(path):
            self._own_folder(path.parent)
        return self._file_lock(path)

    def _lock_path(self, key: str) -> Path:
        return self.folder / "locks" / f"{self.path(key).stem}.lock"

    @staticmethod
    def _file_lock(path: Path):
        from filelock import FileLock

        # thread_local=False: joblib may dispatch (acquire) and collect (release) in different
        # threads of this process.
        return FileLock(path, thread_local=False)

    def remove_lock_folder(self) -> None:
        """Remove the folder of the locks once it is empty (locks remove their own files)."""
        if self._linked() is None:
            with contextlib.suppress(OSError):
                (self.folder / "locks").rmdir()

    @property
    def fits_dir(self) -> Path:
        return self.folder / "fits"

    def _linked(self) -> Path | None:
        """The set folder or ``fits/`` when it is a symbolic link (not followed), else None."""
        return next((p for p in (self.folder, self.fits_dir) if p.is_symlink()), None)

    def _own_folder(self, folder: Path) -> Path:
        """Make ``folder`` (the set folder or one in it) and the set folder real folders, not
        symbolic links: a link is replaced (warned about once), its target left untouched."""
        for part in dict.fromkeys((self.folder, folder)):
            if part.is_symlink():
                with contextlib.suppress(FileNotFoundError):  # another run replaced it first
                    self._warn_link(part, os.readlink(part))
                    part.unlink()
            part.mkdir(parents=True, exist_ok=True)
        return folder

    def _warn_link(self, link: Path, target: str) -> None:
        """One warning per link: what a run does about a linked set folder or ``fits/``."""
        if str(link) in self._warned:
            return
        self._warned.add(str(link))
        warnings.warn(
            f"Ignoring {link}: it is a symbolic link to {target}, and a result set is read and "
            "written only in folders of its own; the link is replaced by a folder, where the "
            f"fits are redone, and {target} is left untouched (to use results there, pass "
            "their own --output).",
            CorruptResultWarning,
            stacklevel=4,
        )

    def path(self, key: str) -> Path:
        """The file that holds fit ``key``."""
        if not _KEY_PATTERN.match(key):
            raise ValueError(
                f"Fit key {key!r} is not a safe file name; use letters, digits and ._=+- only."
            )
        return self.fits_dir / f"{key}.json"

    def keys(self) -> list[str]:
        """The keys of every fit file in the store (trusted or not), sorted; none when the set
        folder or ``fits/`` is a symbolic link."""
        if self._linked() is not None or not self.fits_dir.is_dir():
            return []
        stems = (p.name[: -len(".json")] for p in self.fits_dir.glob("*.json"))
        return sorted(k for k in stems if _KEY_PATTERN.match(k) and not k.startswith("."))

    def count(self, keys) -> int:
        """How many of ``keys`` are stored and trusted now (by any run on the folder)."""
        return sum(self.load(key) is not None for key in keys)

    def save(self, key: str, payload: dict[str, Any]) -> Path:
        """Write one fit's ``payload`` atomically and return its path."""
        path = self.path(key)
        record = {"key": key, "checksum": payload_checksum(payload), "payload": payload}
        if self.set_id is not None:
            record["set"] = self.set_id
        self._write(path, json.dumps(record, sort_keys=True, indent=1, allow_nan=False))
        return path

    def load(self, key: str) -> dict[str, Any] | None:
        """The payload of fit ``key``, or None when it is absent or cannot be trusted.

        An untrusted file (a folder, link, FIFO or device, larger than
        :data:`MAX_RECORD_BYTES`, unreadable, not JSON, wrong checksum, other key or set, a
        payload ``validate`` rejects) raises one :class:`CorruptResultWarning` naming the file
        and the reason (once per key and store), and is left in place to be overwritten when
        the fit is redone. Nothing is read through a set folder or ``fits/`` that is a
        symbolic link (warned about once).
        """
        linked = self._linked()
        if linked is not None:
            with contextlib.suppress(OSError):  # another run may have replaced it meanwhile
                self._warn_link(linked, os.readlink(linked))
            return None
        path = self.path(key)
        if not os.path.lexists(path):
            return None
        try:
            return self._trusted(key, path)
        except OSError as exc:
            reason = f"it cannot be read ({exc.strerror or exc})"
        except RecursionError:
            reason = "it is nested too deeply to be a fit record"
        except (ValueError, TypeError) as exc:
            reason = " ".join(str(exc).split())
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(
                f"Ignoring stored result {path}: {reason}. The fit will be redone and the file "
                "overwritten.",
                CorruptResultWarning,
                stacklevel=2,
            )
        return None

    def _trusted(self, key: str, path: Path) -> dict[str, Any]:
        """The payload of the file at ``path``; a ValueError (or OSError) says why not."""
        text = read_bounded(path, MAX_RECORD_BYTES).decode("utf-8")
        try:
            record = json.loads(text, parse_constant=_no_nan)
        except json.JSONDecodeError as exc:
            raise ValueError(f"it is not valid JSON ({exc})") from None
        if not isinstance(record, dict) or not {"key", "checksum", "payload"} <= set(record):
            raise ValueError("it lacks the 'key', 'checksum' or 'payload' entry")
        if record["key"] != key:
            raise ValueError(f"it holds fit {record['key']!r} instead")
        if record["checksum"] != payload_checksum(record["payload"]):
            raise ValueError("its checksum does not match its payload")
        if self.set_id is not None and record.get("set", self.set_id) != self.set_id:
            raise ValueError(
                f"it belongs to result set {record['set']!r}, not {self.set_id!r} (copied from "
                "another set?)"
            )
        if self.validate is not None:
            return self.validate(key, record["payload"])
        return record["payload"]

    def write_json(self, name: str, obj: Any) -> Path:
        """Write a set-level JSON file (such as ``summary.json``) atomically."""
        return self.write_text(name, json.dumps(obj, indent=1, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> Path:
        """Write a set-level text file atomically."""
        return self.write_bytes(name, text.encode("utf-8"))

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write a set-level file (a figure, a table) atomically."""
        path = self.folder / name
        self._write(path, data)
        return path

    def _write(self, path: Path, data: str | bytes) -> None:
        with writing(path):
            self._own_folder(path.parent)
            if path.is_dir() and not path.is_symlink():
                # An empty folder in the way holds nothing: replace it; a full one is the user's.
                try:
                    path.rmdir()
                except OSError:
                    raise StoreWriteError(
                        f"Cannot write {path}: a folder with files stands there; move it away "
                        "and run again"
                    ) from None
            _replace_atomically(path, data if isinstance(data, bytes) else data.encode("utf-8"))


def release(locks) -> None:
    """Release ``locks`` and remove their files, so that none stay behind. A process that
    waited on a removed file then holds a lock nobody else can see: it only ever reads the
    fit back (it is stored), or at worst computes it a second time, never a different result."""
    for lock in locks:
        Path(lock.lock_file).unlink(missing_ok=True)
        lock.release()
