"""Local stored metadata: the ``.plait`` file a directory keeps for itself and its files.

Format (JSON)::

    {
      "dataset": {"id": ..., "name": ..., "tags": {...}, "labels": [...], "sdk_version": ...},
      "datafiles": {
        "<file name>": {"id": ..., "timestamp": ..., "tags": {...}, "labels": [...],
                        "hash": ..., "sdk_version": ...}
      }
    }

One file per directory, keyed by the file's name within that directory, so a dataset's
metadata is read with one file read however many files it has.

Updates are read-modify-write under an exclusive lock (``fcntl.flock`` on a sibling
``.plait.lock`` file, which serialises processes, plus a per-directory ``threading.Lock``), so
many threads and processes updating files of one directory at once lose no update. The new
content is written to a temporary file, flushed to disk and renamed over ``.plait``: an
interrupted update leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

from plait.atomic_files import exclusive_lock, write_atomically
from plait.cloud.storage.path import METADATA_FILENAME
from plait.exceptions import InvalidInputException

_LOCK_SUFFIX = ".lock"


def metadata_path(directory: str) -> str:
    return os.path.join(directory, METADATA_FILENAME)


def load(directory: str) -> dict[str, Any]:
    """The stored metadata of a directory (empty if it has none).

    :raise plait.exceptions.InvalidInputException: if the ``.plait`` file is not valid JSON
    """
    path = metadata_path(directory)
    try:
        with open(path, "rb") as file:
            content = file.read()
    except FileNotFoundError:
        return {}
    return _parse(path, content)


def update(directory: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply ``change`` to the directory's stored metadata (in place) and save it atomically.

    :param change: a function that mutates the metadata dictionary it is given
    :return: the saved metadata
    """
    with _locked(directory):
        metadata = load(directory)
        change(metadata)
        _write_atomically(metadata_path(directory), metadata)
    return metadata


def update_datafile(directory: str, name: str, datafile_metadata: dict[str, Any]) -> None:
    """Store one file's metadata in its directory's ``.plait`` file."""

    def change(metadata: dict[str, Any]) -> None:
        metadata.setdefault("datafiles", {})[name] = datafile_metadata

    update(directory, change)


def update_datafiles(directory: str, datafiles_metadata: dict[str, dict[str, Any]]) -> None:
    """Store many files' metadata in their (shared) directory's ``.plait`` file in one write."""

    def change(metadata: dict[str, Any]) -> None:
        metadata.setdefault("datafiles", {}).update(datafiles_metadata)

    update(directory, change)


def update_dataset(directory: str, dataset_metadata: dict[str, Any]) -> None:
    """Store a dataset's own metadata in its directory's ``.plait`` file."""

    def change(metadata: dict[str, Any]) -> None:
        metadata["dataset"] = dataset_metadata

    update(directory, change)


def _parse(path: str, content: bytes) -> dict[str, Any]:
    try:
        metadata = json.loads(content)
    except ValueError as error:
        raise InvalidInputException(
            f"The metadata file {path} is not valid JSON ({error}): restore it from a backup or delete it "
            "(the files' tags, labels and ids stored in it will be lost)."
        ) from error
    if not isinstance(metadata, dict):
        raise InvalidInputException(f"The metadata file {path} should hold a JSON object; delete or fix it.")
    return metadata


def _locked(directory: str) -> contextlib.AbstractContextManager[None]:
    return exclusive_lock(metadata_path(directory) + _LOCK_SUFFIX)


def _write_atomically(path: str, metadata: dict[str, Any]) -> None:
    write_atomically(
        path,
        lambda file: json.dump(metadata, file, sort_keys=True, indent=2),
        temporary_prefix=METADATA_FILENAME + ".tmp-",
    )
