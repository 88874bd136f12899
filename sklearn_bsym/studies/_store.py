"""Result sets on disk: one folder per set of result-changing options, one JSON file per fit.

A study writes each finished fit at once, atomically (temporary file, then ``os.replace``), with a
SHA-256 checksum of its payload. Reading a fit back checks the JSON syntax, the checksum and the
key; a file that fails any check is reported with a :class:`CorruptResultWarning` and treated as
unfinished, so it is redone rather than silently read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

__all__ = ["CorruptResultWarning", "ResultStore", "result_set_id", "payload_checksum"]

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._=+-]+$")


class CorruptResultWarning(UserWarning):
    """A stored fit result could not be trusted (bad JSON, checksum or key) and will be redone."""


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    """

    def __init__(self, folder):
        self.folder = Path(folder)

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

        An untrusted file (unreadable JSON, wrong checksum, other key) raises a
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
        else:
            if not isinstance(record, dict) or not {"key", "checksum", "payload"} <= set(record):
                reason = "it lacks the 'key', 'checksum' or 'payload' entry"
            elif record["key"] != key:
                reason = f"it holds fit {record['key']!r} instead"
            elif record["checksum"] != payload_checksum(record["payload"]):
                reason = "its checksum does not match its payload"
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
