"""BLAKE3 hashes, exactly as DESIGN.md defines them. The one place plait hashes anything.

Every hash is written as standard base64 of the 32-byte BLAKE3 digest, and each is defined on
bytes only, never on a Python ``repr``, so the same data gives the same hash in every process
and on every machine:

- a file: its bytes (not its name or metadata);
- a dataset: its files' hash strings, sorted, joined with ``\\n``;
- a manifest: its ``key=dataset_hash`` lines, sorted, joined with ``\\n``;
- a values strand (any JSON value): its canonical JSON,
  ``json.dumps(value, sort_keys=True, separators=(",", ":"))`` encoded as UTF-8.

Files are read in bounded chunks; files of at least ``MMAP_THRESHOLD`` bytes are hashed with
blake3's memory map and all available threads, which is as fast as blake3 itself goes.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from blake3 import blake3

#: Files at least this big are hashed with ``update_mmap`` and ``max_threads=blake3.AUTO``.
MMAP_THRESHOLD = 4 * 1024 * 1024

#: Chunk size for streamed hashing (cloud downloads, file-like objects).
CHUNK_SIZE = 1024 * 1024


def encode_digest(digest: bytes) -> str:
    """Write a 32-byte digest as standard base64 (the form of every plait hash)."""
    return base64.b64encode(digest).decode("ascii")


def hash_bytes(data: bytes) -> str:
    """Hash bytes held in memory."""
    return encode_digest(blake3(data).digest())


def hash_file(path: str | os.PathLike, size: int | None = None) -> str:
    """Hash a local file's bytes with bounded memory.

    :param path: the file to hash
    :param size: the file's size if already known (saves a ``stat``)
    """
    if size is None:
        size = os.stat(path).st_size

    if size >= MMAP_THRESHOLD:
        hasher = blake3(max_threads=blake3.AUTO)
        hasher.update_mmap(path)
        return encode_digest(hasher.digest())

    # Small files: one read is faster than a memory map and is bounded by the threshold.
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        if len(data) > size:  # the file grew since it was measured: hash it all, chunk by chunk
            hasher = blake3(data)
            while chunk := os.read(fd, CHUNK_SIZE):
                hasher.update(chunk)
            return encode_digest(hasher.digest())
    finally:
        os.close(fd)
    return encode_digest(blake3(data).digest())


def hash_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> str:
    """Hash a readable binary stream chunk by chunk (memory bounded by ``chunk_size``)."""
    hasher = blake3()
    while chunk := stream.read(chunk_size):
        hasher.update(chunk)
    return encode_digest(hasher.digest())


class StreamingHasher:
    """Incremental hashing for data that arrives in pieces (e.g. a download being written)."""

    def __init__(self) -> None:
        self._hasher = blake3()

    def update(self, data: bytes) -> None:
        self._hasher.update(data)

    def write(self, data: bytes) -> int:
        """Like ``update``, so a hasher can stand in for a writable file (e.g. as a download's target)."""
        self._hasher.update(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()

    def value(self) -> str:
        """The plait hash string of everything given so far."""
        return encode_digest(self._hasher.digest())


def hash_file_hashes(file_hashes: Iterable[str]) -> str:
    """A dataset's hash: its files' hash strings, sorted, joined with newlines."""
    return hash_bytes("\n".join(sorted(file_hashes)).encode("ascii"))


def hash_dataset_hashes(dataset_hashes: Mapping[str, str]) -> str:
    """A manifest's hash: its ``key=dataset_hash`` lines, sorted, joined with newlines."""
    lines = sorted(f"{key}={value}" for key, value in dataset_hashes.items())
    return hash_bytes("\n".join(lines).encode("utf-8"))


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a JSON value (sorted keys, no whitespace, NaN rejected).

    :raise plait.exceptions.InvalidInputException: if the value is not JSON (NaN, infinity, sets, objects...)
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        from plait.exceptions import InvalidInputException

        raise InvalidInputException(f"Only JSON values can be hashed, and this one is not JSON: {error}") from error


def hash_json(value: Any) -> str:
    """A values strand's hash: BLAKE3 of its canonical JSON."""
    return hash_bytes(canonical_json(value).encode("utf-8"))
