"""Result sets on disk: one folder per set of result-changing options, one JSON file per fit.

A study writes each finished fit at once, atomically (temporary file, then ``os.replace``), with a
SHA-256 checksum of its payload and the id of its result set. Files get the permissions of any
file the user creates (0666 less the umask), so a group can share a result folder. Reading a fit
back checks that it can be read at all (a folder, an unreadable or malformed file, NaN literals,
absurd nesting), the checksum, the key, the set and (with ``validate``) the payload's schema and
its place in the set; a file that fails any check is reported once with a
:class:`CorruptResultWarning` and treated as unfinished, so it is redone rather than silently read.
Every write goes through one guard: a failure (disk full, a folder made unwritable) raises a
one-line :class:`StoreWriteError` naming the file.

Several processes may run the same study on one folder: :meth:`ResultStore.lock` is a per-fit
file lock, so each fit is computed once and the others read it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "CorruptResultWarning",
    "ResultStore",
    "StoreNotWritableError",
    "StoreWriteError",
    "result_set_id",
    "payload_checksum",
]

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._=+-]+$")


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
    :class:`StoreWriteError` naming ``path``."""
    try:
        yield
    except (StoreWriteError, TimeoutError):
        raise
    except OSError as exc:
        raise StoreWriteError(f"Cannot write {path} ({exc.strerror or exc})") from None


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


def _atomic_write(path: Path, data: str | bytes) -> None:
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            # An empty folder in the way holds nothing: replace it; a full one is the user's.
            try:
                path.rmdir()
            except OSError:
                raise StoreWriteError(
                    f"Cannot write {path}: a folder with files stands there; move it away and "
                    "run again"
                ) from None
        _replace_atomically(path, data if isinstance(data, bytes) else data.encode("utf-8"))


def _replace_atomically(path: Path, data: bytes) -> None:
    # The temporary file lives in the same folder so that os.replace is a same-filesystem rename:
    # a reader sees either the old file or the complete new one, never a partial one.
    # os.open with mode 0o666 (not mkstemp's 0o600) so that the umask decides, as for any file
    # the user writes: a group sharing the folder can read (and redo) the fits.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        and the fix) unless files can be written in it."""
        try:
            self.fits_dir.mkdir(parents=True, exist_ok=True)
            probe = self.fits_dir / f".write-test.{os.getpid()}.{secrets.token_hex(4)}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreNotWritableError(
                f"Cannot write results to {self.folder} ({exc.strerror or exc}); choose a "
                "writable --output folder or fix its permissions."
            ) from None

    def is_writable(self) -> bool:
        """Whether :meth:`check_writable` passes."""
        try:
            self.check_writable()
        except StoreNotWritableError:
            return False
        return True

    def lock(self, key: str):
        """A file lock (``filelock.FileLock``) for fit ``key``: hold it while computing the fit
        so that another process on the same folder waits for it instead of repeating it."""
        from filelock import FileLock

        path = self.folder / "locks" / f"{self.path(key).stem}.lock"
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: joblib may dispatch (acquire) and collect (release) in different
        # threads of this process.
        return FileLock(path, thread_local=False)

    def remove_lock_folder(self) -> None:
        """Remove the folder of the locks once it is empty (locks remove their own files)."""
        with contextlib.suppress(OSError):
            (self.folder / "locks").rmdir()

    @property
    def fits_dir(self) -> Path:
        return self.folder / "fits"

    def path(self, key: str) -> Path:
        """The file that holds fit ``key``."""
        if not _KEY_PATTERN.match(key):
            raise ValueError(
                f"Fit key {key!r} is not a safe file name; use letters, digits and ._=+- only."
            )
        return self.fits_dir / f"{key}.json"

    def keys(self) -> list[str]:
        """The keys of every fit file in the store (trusted or not), sorted."""
        if not self.fits_dir.is_dir():
            return []
        stems = (p.name[: -len(".json")] for p in self.fits_dir.glob("*.json"))
        return sorted(k for k in stems if _KEY_PATTERN.match(k) and not k.startswith("."))

    def save(self, key: str, payload: dict[str, Any]) -> Path:
        """Write one fit's ``payload`` atomically and return its path."""
        path = self.path(key)
        record = {"key": key, "checksum": payload_checksum(payload), "payload": payload}
        if self.set_id is not None:
            record["set"] = self.set_id
        _atomic_write(path, json.dumps(record, sort_keys=True, indent=1, allow_nan=False))
        return path

    def load(self, key: str) -> dict[str, Any] | None:
        """The payload of fit ``key``, or None when it is absent or cannot be trusted.

        An untrusted file (a folder, unreadable, not JSON, wrong checksum, other key or set, a
        payload ``validate`` rejects) raises one :class:`CorruptResultWarning` naming the file
        and the reason (once per key and store), and is left in place to be overwritten when
        the fit is redone.
        """
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
        if path.is_dir():
            raise ValueError("it is a folder, not a fit file")
        text = path.read_text(encoding="utf-8")
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
        _atomic_write(path, data)
        return path
