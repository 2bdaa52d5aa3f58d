"""Open a data file by its content, as `datasets` does: compression and JSON layout are read, not guessed.

The name says which family a file belongs to (`.jsonl`/`.ndjson`/`.json`, `.csv`, `.parquet`, each
optionally `.gz`, `.bz2`, `.xz` or `.zst`); the bytes decide the rest. Compression is recognised by
its magic number, so `rows.jsonl` that is really gzip, or `rows.jsonl.gz` already decompressed by a
download tool, both read. A JSON-family file is a JSON array when its first character is `[`, JSON
Lines when a `{` value is followed by more values, and otherwise one object: a row, or an object
holding the rows under one key (`{"data": [...]}`, as `datasets.load_dataset("json", field=...)`
reads). Parquet is recognised by its `PAR1` magic whatever the name.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

from memgap.errors import MemgapError

COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
FORMAT_SUFFIXES = {".jsonl": "json", ".ndjson": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# Magic numbers of the compressions (bzip2's "BZh" is followed by a block-size digit).
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class DataBytes:
    """A data file's bytes after decompression, and how to read them.

    `format`: "json" (array, JSON Lines or object: see `memgap.data.io`), "csv" or "parquet".
    `compression`: "gzip", "bz2", "xz", "zstd", or None for a plain file.
    """

    path: Path
    data: bytes
    format: str
    compression: str | None


def supported_names() -> str:
    """The accepted file names, for messages and help texts."""
    return f"{', '.join(FORMAT_SUFFIXES)} (optionally compressed: {', '.join(COMPRESSION_SUFFIXES)})"


def format_of_name(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """(format, compression) that the file's name announces; raises MemgapError for an unknown name."""
    suffix, compression = name_suffixes(path)
    return FORMAT_SUFFIXES[suffix], compression


def name_suffixes(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """(format suffix, compression) of a file name: `rows.JSONL.gz` -> (".jsonl", "gzip").

    Raises MemgapError naming the file when the format suffix is not one of FORMAT_SUFFIXES.
    """
    path = Path(path)
    suffixes = [suffix.lower() for suffix in path.suffixes]
    compression = COMPRESSION_SUFFIXES.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in FORMAT_SUFFIXES:
        raise MemgapError(f"unsupported file type '{suffix or '(none)'}'; use one of {supported_names()}", where=str(path))
    return suffix, compression


def read_data_bytes(path: str | os.PathLike[str]) -> DataBytes:
    """The decompressed bytes of a data file and its format, read from its content where the name can mislead.

    Raises MemgapError (naming the file) for a missing file, a folder, an unsupported name, an empty
    file, or compressed bytes that do not decompress.
    """
    path = Path(path)
    if not path.exists():
        raise MemgapError("no such file", where=str(path))
    if path.is_dir():
        raise MemgapError("is a folder, not a data file", where=str(path))
    data_format, _ = format_of_name(path)
    raw = path.read_bytes()
    if not raw:
        raise MemgapError("file is empty", where=str(path))
    compression = compression_of(raw)
    data = decompress(raw, compression, path) if compression else raw
    if not data:
        raise MemgapError(f"file is empty once decompressed ({compression})", where=str(path))
    if data.startswith(_PARQUET_MAGIC):
        data_format = "parquet"
    return DataBytes(path, data, data_format, compression)


def compression_of(data: bytes) -> str | None:
    """The compression whose magic number `data` starts with, or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:3] == b"BZh" and data[3:4].isdigit() and data[3:4] != b"0":
        return "bz2"
    return None


def decompress(data: bytes, compression: str, path: Path) -> bytes:
    """Decompress with the standard library (zstd with the `zstandard` package); a bad stream is a MemgapError."""
    try:
        if compression == "gzip":
            return gzip.decompress(data)
        if compression == "bz2":
            return bz2.decompress(data)
        if compression == "xz":
            return lzma.decompress(data)
        return _zstd_decompress(data, path)
    except MemgapError:
        raise
    except Exception as error:  # gzip.BadGzipFile, EOFError, OSError, lzma.LZMAError, zstd.ZstdError
        reason = " ".join(str(error).split()) or type(error).__name__
        raise MemgapError(f"not a readable {compression} file ({reason})", where=str(path)) from None


def compress(data: bytes, compression: str | None) -> bytes:
    """`data` compressed for a file name ending in .gz, .bz2, .xz or .zst (gzip without a timestamp,
    so equal data gives byte-identical files)."""
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "bz2":
        return bz2.compress(data)
    if compression == "xz":
        return lzma.compress(data)
    zstandard = _zstandard()
    return zstandard.ZstdCompressor().compress(data)


def _zstd_decompress(data: bytes, path: Path) -> bytes:
    zstandard = _zstandard(path)
    # A stream written without its content size in the header needs the streaming reader.
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        return reader.read()


def _zstandard(path: Path | None = None):
    try:
        import zstandard
    except ImportError:
        raise MemgapError("Zstandard files need the zstandard package (pip install zstandard), or decompress "
                          "the file first", where=str(path) if path else None) from None
    return zstandard
