"""A model file's zip archive, read within bounds before anything in it is believed.

The file is read once, whole, through :func:`~sklearn_bsym._files.read_bounded` (a regular
file of at most :data:`MAX_MODEL_BYTES`, or a link to one: never a FIFO or device), and every
member is checked before it is inflated: its name (the manifest, skops' ``schema.json`` or a
``.npy`` array), its compression (stored or deflated, not encrypted), its declared size against
the caps below and its compression ratio. Each member is then inflated no further than its
declared size (a member that would inflate further fails its CRC check), a ``.npy`` header
must declare a non-object dtype and a shape whose bytes are exactly those that follow, and the
members are handed to skops repacked without compression, so that skops' own reads are bounded
by the same sizes. Every refusal is one line: ``Cannot load <file>: <what was found>.``
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._files import read_bounded

__all__ = [
    "MAX_MODEL_BYTES",
    "MAX_INFLATED_BYTES",
    "MAX_SCHEMA_BYTES",
    "MAX_MANIFEST_BYTES",
    "ModelFileError",
    "ModelArchive",
    "read_archive",
]

#: Largest model file read, in bytes (a default hybrid is 0.2 MB, the paper's 0.8 MB, a
#: gradient-boosted tree of 1,000 iterations about 10 MB).
MAX_MODEL_BYTES = 256 * 2**20
#: Largest total of the members once inflated.
MAX_INFLATED_BYTES = 1024 * 2**20
#: Largest ``schema.json`` (skops' description of the objects; 7 kB per tree of a
#: gradient-boosted tree): skops takes about 0.3 s per MB to read it.
MAX_SCHEMA_BYTES = 16 * 2**20
#: Largest manifest (its metadata included).
MAX_MANIFEST_BYTES = 4 * 2**20
#: Largest zip central directory (about 100 bytes per member).
_MAX_DIRECTORY_BYTES = 16 * 2**20
#: Largest compression ratio of a member that inflates to more than _RATIO_FLOOR bytes (the
#: schema of a tree compresses 25 times, weights barely).
_MAX_RATIO = 200
_RATIO_FLOOR = 2**20

MANIFEST = "sklearn_bsym.json"
SCHEMA = "schema.json"
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.npy$")
# The first byte of a pickle of protocol 2 or newer (protocols 0 and 1 are text).
_PICKLE_PROTO = b"\x80"
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


class ModelFileError(ValueError):
    """A file that :func:`~sklearn_bsym.deploy.load_model` refuses: not a model file, damaged,
    of a newer format, larger than a model file is, holding a type or payload that could run
    code, or arrays that do not fit the model they belong to. The message is one line naming
    the file and what was found."""


def shown(text, limit: int = 80) -> str:
    """``text`` (from a file: a name, a value) as it goes into a one-line message: its repr,
    cut to ``limit`` characters."""
    text = repr(text)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def one_line(exc: BaseException) -> str:
    """An exception's type and message on one line, cut to 300 characters."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 300 else f"{text[:297]}..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ModelArchive:
    """The checked members of a model file: ``manifest`` (bytes), and the bytes skops reads
    (:meth:`skops_bytes`: the schema and the arrays, repacked without compression)."""

    def __init__(self, path: Path, members: dict[str, bytes]):
        self.path, self.members = path, members

    @property
    def manifest(self) -> bytes:
        return self.members[MANIFEST]

    def skops_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, data in self.members.items():
                if name != MANIFEST:
                    archive.writestr(name, data)
        return buffer.getvalue()


def refuse(path, reason: str) -> ModelFileError:
    """The one-line error of a refused model file."""
    return ModelFileError(f"Cannot load {path}: {reason}.")


def read_archive(path, *, manifest_only: bool = False) -> ModelArchive:
    """The members of the model file ``path``, read within the bounds of the module notes
    (only the manifest with ``manifest_only``); a ModelFileError says what is wrong."""
    path = Path(path)
    try:
        # A link is followed to what it points to, which must be a regular file.
        data = read_bounded(path, MAX_MODEL_BYTES, follow_links=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"Model file {path} does not exist.") from None
    except ValueError as exc:  # a folder, FIFO, device, or a file larger than a model file
        raise refuse(path, str(exc)) from None
    except OSError as exc:
        raise OSError(exc.errno, f"Cannot read model file {path} ({exc.strerror})") from None
    if data[:1] == _PICKLE_PROTO and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise refuse(path, "it is a pickle, which runs code when loaded, so it is refused "
                           "(nothing in it was run). Save models with sklearn_bsym.deploy."
                           "save_model, and load only files written so")
    _check_directory(path, data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error,
            OverflowError, NotImplementedError) as exc:
        raise refuse(path, f"it is not a model file (not a zip archive as save_model writes: "
                           f"{one_line(exc)})") from None
    with archive:
        infos = _checked_infos(path, archive)
        wanted = [i for i in infos if not manifest_only or i.filename == MANIFEST]
        members = {info.filename: _inflate(path, archive, info) for info in wanted}
    return ModelArchive(path, members)


def _check_directory(path: Path, data: bytes) -> None:
    """Refuse a zip whose central directory is larger than a model file's, before zipfile
    reads it (zipfile makes an object of every entry)."""
    end = data.rfind(_EOCD, max(0, len(data) - 22 - 65535))
    if end < 0 or len(data) < end + 22:
        return  # not a zip: zipfile says so
    size = struct.unpack_from("<L", data, end + 12)[0]
    locator = end - 20
    if locator >= 0 and data[locator:locator + 4] == _EOCD64_LOCATOR:
        offset = struct.unpack_from("<Q", data, locator + 8)[0]
        if data[offset:offset + 4] == _EOCD64 and offset + 56 <= len(data):
            size = struct.unpack_from("<Q", data, offset + 40)[0]
    if size > _MAX_DIRECTORY_BYTES:
        raise refuse(path, f"its zip directory is {size:,} bytes, more than a model file's "
                           f"{_MAX_DIRECTORY_BYTES:,}")


def _checked_infos(path: Path, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    names: set[str] = set()
    for info in infos:
        if info.filename in names:
            raise refuse(path, f"it holds the member {shown(info.filename)} twice")
        names.add(info.filename)
    total = 0
    for info in infos:
        name = info.filename
        if name.endswith((".pkl", ".pickle")):
            raise refuse(path, f"it carries a pickle payload ({shown(name)}); it is refused "
                               "and nothing in it was run. Load only files written by "
                               "sklearn_bsym.deploy.save_model")
        if name not in (MANIFEST, SCHEMA) and not _ARRAY_NAME.match(name):
            raise refuse(path, f"it carries a member that no model file has ({shown(name)}); "
                               "it is refused and nothing in it was run. Load only files "
                               "written by sklearn_bsym.deploy.save_model")
        if info.flag_bits & 0x1:
            raise refuse(path, f"its member {shown(name)} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(path, f"its member {shown(name)} is compressed with method "
                               f"{info.compress_type}; save_model writes stored or deflated "
                               "members only")
        cap = {MANIFEST: MAX_MANIFEST_BYTES, SCHEMA: MAX_SCHEMA_BYTES}.get(name,
                                                                          MAX_INFLATED_BYTES)
        if info.file_size > cap:
            raise refuse(path, f"its member {shown(name)} declares {info.file_size:,} bytes, "
                               f"more than a model file's {cap:,}")
        if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_RATIO * info.compress_size:
            raise refuse(path, f"its member {shown(name)} inflates {info.compress_size:,} "
                               f"bytes to {info.file_size:,}, a ratio no model file has")
        total += info.file_size
    if MANIFEST not in names:
        raise refuse(path, f"it has no {MANIFEST}, so it was not written by "
                           "sklearn_bsym.deploy.save_model")
    if total > MAX_INFLATED_BYTES:
        raise refuse(path, f"its members inflate to {total:,} bytes, more than a model file's "
                           f"{MAX_INFLATED_BYTES:,}")
    return infos


def _inflate(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflated no further than its declared size, then checked: its CRC,
    no pickle, and a ``.npy`` array's header against its bytes."""
    name = info.filename
    try:
        with archive.open(info) as fh:
            # read(n) inflates at most n bytes (read() would inflate a whole bomb at once), and
            # the CRC check at the declared end refuses a member that goes on.
            data = fh.read(info.file_size)
            if len(data) != info.file_size or fh.read(1):
                raise zipfile.BadZipFile("its size is not the one declared")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
            NotImplementedError) as exc:
        raise refuse(path, f"its member {shown(name)} is damaged ({one_line(exc)})") from None
    if data[:1] == _PICKLE_PROTO:
        raise refuse(path, f"it carries a pickle payload ({shown(name)}); it is refused and "
                           "nothing in it was run. Load only files written by "
                           "sklearn_bsym.deploy.save_model")
    if name.endswith(".npy"):
        reason = _array_problem(data)
        if reason:
            raise refuse(path, f"its array {shown(name)} {reason}")
    return data


def _array_problem(data: bytes) -> str | None:
    """Why the ``.npy`` bytes ``data`` are not an array a model file holds (None if they
    are): its header must parse, declare no Python objects, and a shape whose bytes are
    exactly those after the header (so that reading it allocates no more than the file
    holds)."""
    fh = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            return f"is in .npy version {version}, which save_model does not write"
    except (ValueError, SyntaxError, TypeError, EOFError, OverflowError, MemoryError,
            RecursionError) as exc:
        return f"has no valid .npy header ({one_line(exc)})"
    if dtype.hasobject:
        return "holds Python objects, which a model file never holds"
    if any(not isinstance(n, int) or n < 0 for n in shape):
        return f"declares the shape {shown(shape)}"
    count = 1
    for n in shape:
        count *= n
    if fh.tell() + count * dtype.itemsize != len(data):
        return (f"declares {count:,} values of {dtype.itemsize} bytes but holds "
                f"{len(data) - fh.tell():,} bytes")
    return None
