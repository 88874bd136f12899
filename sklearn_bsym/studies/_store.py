"""Result sets on disk: one folder per set of result-changing options, one JSON file per fit.

A study writes each finished fit at once, atomically (temporary file, then ``os.replace``), with a
SHA-256 checksum of its payload. Files get the permissions of any file the user creates (0666
less the umask), so a group can share a result folder. Reading a fit back checks the JSON
syntax, the checksum, the key and (with ``validate``) the payload's schema; a file that fails
any check is reported with a :class:`CorruptResultWarning` and treated as unfinished, so it is
redone rather than silently read.

Several processes may run the same study on one folder: :meth:`ResultStore.lock` is a per-fit
file lock, so each fit is computed once and the others read it.
"""

from __future__ import annotations

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
    "result_set_id",
    "payload_checksum",
]

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._=+-]+$")


class CorruptResultWarning(UserWarning):
    """A stored fit result could not be trusted (bad JSON, checksum, key or payload) and will be
    redone."""


class StoreNotWritableError(PermissionError):
    """The result folder cannot be written (read-only, not a folder, no permission)."""


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


def _atomic_write(path: Path, text: str) -> None:
    # The temporary file lives in the same folder so that os.replace is a same-filesystem rename:
    # a reader sees either the old file or the complete new one, never a partial one.
    # os.open with mode 0o666 (not mkstemp's 0o600) so that the umask decides, as for any file
    # the user writes: a group sharing the folder can read (and redo) the fits.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
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
        Called with each loaded payload; a ValueError it raises marks the file as corrupt
        (warned about by name, then redone), and what it returns is what :meth:`load` returns.
    """

    def __init__(self, folder, *, validate: Callable[[Any], Any] | None = None):
        self.folder = Path(folder)
        self.validate = validate

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
        path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: joblib may dispatch (acquire) and collect (release) in different
        # threads of this process.
        return FileLock(path, thread_local=False)

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

    def save(self, key: str, payload: dict[str, Any]) -> Path:
        """Write one fit's ``payload`` atomically and return its path."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "checksum": payload_checksum(payload), "payload": payload}
        _atomic_write(path, json.dumps(record, sort_keys=True, indent=1, allow_nan=False))
        return path

    def load(self, key: str) -> dict[str, Any] | None:
        """The payload of fit ``key``, or None when it is absent or cannot be trusted.

        An untrusted file (unreadable JSON, wrong checksum, other key, a payload ``validate``
        rejects) raises a
        :class:`CorruptResultWarning` naming the file and the reason, and is left in place to be
        overwritten when the fit is redone.
        """
        path = self.path(key)
        if not path.exists():
            return None
        reason = None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = f"it is not valid JSON ({exc})"
        except PermissionError:
            reason = "it cannot be read (permission denied)"
        else:
            if not isinstance(record, dict) or not {"key", "checksum", "payload"} <= set(record):
                reason = "it lacks the 'key', 'checksum' or 'payload' entry"
            elif record["key"] != key:
                reason = f"it holds fit {record['key']!r} instead"
            elif record["checksum"] != payload_checksum(record["payload"]):
                reason = "its checksum does not match its payload"
            elif self.validate is not None:
                try:
                    record["payload"] = self.validate(record["payload"])
                except ValueError as exc:
                    reason = str(exc)
        if reason is not None:
            warnings.warn(
                f"Ignoring stored result {path}: {reason}. The fit will be redone and the file "
                "overwritten.",
                CorruptResultWarning,
                stacklevel=2,
            )
            return None
        return record["payload"]

    def write_json(self, name: str, obj: Any) -> Path:
        """Write a set-level JSON file (such as ``summary.json``) atomically."""
        return self.write_text(name, json.dumps(obj, indent=1, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> Path:
        """Write a set-level text file atomically."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, text)
        return path
