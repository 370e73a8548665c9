"""Where experiments, extension registrations and task records are kept: a local directory or a
``gs://bucket/prefix``, with the same layout in both::

    experiments/<uuid>/.plait      the experiment: a plait dataset whose stored metadata holds it
    experiments/<uuid>/<file>      its files (the dataset's files)
    eids/<YYYYMMDD>/<N>            EID markers {"uuid", "created_at"}, created only if absent and never
                                   deleted, so an EID is never given twice (not even after a removal)
    eids/<YYYYMMDD>/next           a hint: the number to try first
    index/...                      the search index: local, one append-only JSON-lines file
                                   (``index/experiments.jsonl``); on GCS, one object per experiment
                                   (``index/experiments/<uuid>.json``) with its entry in custom metadata
    extensions/<name>.json         extension registrations
    tasks/<uuid>.json              task records (the question's UUID)

**Experiments are datasets.** ``experiments/<uuid>/`` is an ordinary plait dataset (``Dataset(path)``
opens it): its stored metadata's ``id`` is the experiment's UUID, its ``name`` the EID, and its
``tags`` hold ``eid``, ``title``, ``description``, ``experiment_tags`` (the spellings, in order),
``created_at``, ``updated_at`` (ISO 8601, UTC, microseconds) and ``revision`` (a counter bumped by
every change, which keeps the index from going back to an older state).

**Atomicity.**

- EIDs: each day's numbers are marker files/objects created only if absent — locally by writing a
  temporary file and hard-linking it into place (``link`` fails if the name exists, like
  ``O_CREAT|O_EXCL``, and the marker appears complete); on GCS with ``if_generation_match=0``.
  A creator tries the number the day's ``next`` hint gives (else one more than the day's
  highest marker); one that loses the race for a number tries the next one. So concurrent creators (threads, processes, machines) never share an EID,
  and numbers are only skipped if a creator dies between allocating and writing.
- Changes to an experiment are read-modify-writes of its ``.plait``: locally under the same
  ``flock`` as every other ``.plait`` update (``plait.resources.local_metadata``), and under the
  index lock, so index entries are appended in the order the changes were made; on GCS with a
  generation precondition, retried when another writer got there first; the index object is then
  replaced only if it holds an older ``revision``.

**The index is a cache** of the searchable fields (everything but the description); the
experiments' ``.plait`` files are the truth. ``rebuild_index()`` rebuilds it from them (e.g. after a
crash between writing an experiment and its index entry).

Cost model (requests per operation; N experiments, T task records, F files):

| operation | local directory | GCS |
|---|---|---|
| create | 1 hint read, 1 marker per attempt, 1 hint write, 1 ``.plait``, 1 index append (3 fsyncs) | 1 GET (hint) + 1 insert per attempt + 1 PUT (hint) + 1 ``.plait`` insert + 1 index insert |
| change title/description/tags | 1 ``.plait`` rewrite + 1 append | 1 GET + 1 conditional PUT for ``.plait``, 1 GET + 1 conditional PUT for the index object |
| get by EID / UUID | 1-2 small reads | 2 GETs / 1 GET |
| find | read the index (only the appended part after the first search in a process) | ceil(N / 1000) list requests, no GETs |
| files | 1 directory scan | 1 list |
| upload / download a file | 1 copy | 1 GET + the upload / 2 GETs |
| remove | 1 append + 1 rename + delete | 1 GET + 2 DELETEs + 1 list + F DELETEs |
| get_tasks | T reads | ceil(T / 1000) lists + one GET per task returned |
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plait import __version__
from plait.atomic_files import exclusive_lock, write_atomically
from plait.cloud.storage import path as storage_path
from plait.exceptions import (
    CloudObjectNotFound,
    CloudStorageError,
    ExperimentFileNotFound,
    ExperimentNotFound,
    FileNotFoundException,
    InvalidExperimentsLocation,
    InvalidPathException,
    PreconditionFailed,
    ServiceUnavailable,
)
from plait.experiments import rules
from plait.resources import local_metadata

logger = logging.getLogger(__name__)

EXPERIMENTS_DIRECTORY = "experiments"
EIDS_DIRECTORY = "eids"
INDEX_DIRECTORY = "index"
EXTENSIONS_DIRECTORY = "extensions"
TASKS_DIRECTORY = "tasks"

#: The label every experiment's dataset carries.
EXPERIMENT_LABEL = "experiment"

# How many numbers of one day a creator tries before giving up (only reached under absurd contention).
_EID_ATTEMPTS = 1000
# The name of each day's "next number" hint, and how many taken numbers in a row send a creator to list the day.
_EID_HINT = "next"
_EID_FAILURES_BEFORE_LISTING = 8
# How many times a conditional write on GCS is retried after losing to another writer.
_CONDITIONAL_ATTEMPTS = 50
# The local index is compacted when it has this many more lines than twice its live entries.
_COMPACTION_SLACK = 1000
# Index entries up to this size (JSON, bytes) go in custom metadata (GCS allows 8 KiB in all).
_METADATA_ENTRY_LIMIT = 6000
_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """One file of an experiment."""

    name: str
    #: When the file was last written (aware, UTC).
    modified: dt.datetime
    size: int


# -- the experiment record and its forms --


def to_dataset_metadata(record: dict[str, Any]) -> dict[str, Any]:
    """An experiment record as its dataset's stored metadata."""
    return {
        "id": record["uuid"],
        "name": record["eid"],
        "tags": {
            "eid": record["eid"],
            "title": record["title"],
            "description": record["description"],
            "experiment_tags": list(record["tags"]),
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "revision": record["revision"],
        },
        "labels": [EXPERIMENT_LABEL],
        "sdk_version": __version__,
    }


def from_dataset_metadata(metadata: Any) -> dict[str, Any] | None:
    """The experiment record in a dataset's stored metadata (None if it is not an experiment)."""
    if not isinstance(metadata, dict):
        return None
    tags = metadata.get("tags") or {}
    if not isinstance(tags, dict) or "eid" not in tags or not metadata.get("id"):
        return None
    return {
        "uuid": metadata["id"],
        "eid": tags["eid"],
        "title": tags.get("title", ""),
        "description": tags.get("description", ""),
        "tags": list(tags.get("experiment_tags") or []),
        "created_at": tags["created_at"],
        "updated_at": tags.get("updated_at") or tags["created_at"],
        "revision": int(tags.get("revision") or 1),
    }


def index_entry(record: dict[str, Any]) -> dict[str, Any]:
    """What the index keeps of an experiment: everything but the description."""
    return {key: value for key, value in record.items() if key != "description"}


def format_moment(moment: dt.datetime) -> str:
    """A fixed-width UTC ISO 8601 form, so that stored moments compare correctly as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def open_store(location: str) -> ExperimentStore:
    """The store for a location: ``gs://bucket/prefix`` or a local directory.

    :raise plait.exceptions.InvalidExperimentsLocation: for a URL, or a local path that is a file
    """
    if not isinstance(location, str | os.PathLike) or not str(location):
        raise InvalidExperimentsLocation(
            f"An experiments location is a local directory or a gs://bucket/prefix, not {location!r}."
        )
    location = os.fspath(location)
    if storage_path.is_url(location):
        raise InvalidExperimentsLocation(
            f"{location!r} is a URL: experiments live in a local directory or under a gs://bucket/prefix."
        )
    if storage_path.is_cloud_path(location):
        return CloudStore(location)
    return LocalStore(location)


class ExperimentStore(abc.ABC):
    """Persistence for the experiments API: one implementation per kind of location."""

    #: The location, as given (a ``gs://`` prefix or an absolute local directory).
    location: str

    # -- EIDs (shared: both backends offer "list names" and "create only if absent") --

    def allocate_eid(self, experiment_uuid: str, created_at: dt.datetime) -> str:
        """Allocate the next EID of ``created_at``'s UTC day for the experiment.

        The day's ``next`` document is a hint of where to start (so a day with many experiments
        is not listed on every creation); the markers decide. The hint is only ever written after
        its number's predecessor was taken, so it never skips a free number; a stale (low) hint
        costs failed attempts, and after a few the day's markers are listed instead.
        """
        day = created_at.astimezone(dt.UTC).date()
        directory = f"{EIDS_DIRECTORY}/{day:%Y%m%d}"
        hint = self.read_document(f"{directory}/{_EID_HINT}")
        number = hint.get("next") if isinstance(hint, dict) else None
        if not isinstance(number, int) or number < 1:
            number = None
        marker = {"uuid": experiment_uuid, "created_at": format_moment(created_at)}
        for failures in range(_EID_ATTEMPTS):  # the loop goes round only when a number was taken
            if number is None or failures == _EID_FAILURES_BEFORE_LISTING:
                numbers = [int(name) for name in self.list_names(directory) if name.isdigit()]
                number = max(numbers, default=0) + 1
            if self.create_document(f"{directory}/{number}", marker):
                try:
                    self.write_document(f"{directory}/{_EID_HINT}", {"next": number + 1})
                except (OSError, CloudStorageError) as error:  # only a hint: the EID is allocated
                    logger.debug("The EID hint of %s was not updated: %s", day, error)
                return rules.make_eid(day, number)
            number += 1
        raise ServiceUnavailable(f"Could not allocate an EID for {day:%Y-%m-%d} after {_EID_ATTEMPTS} tries: retry.")

    def eid_owner(self, eid: str) -> str | None:
        """The UUID of the experiment an EID was given to (even if it was removed since), or None."""
        day, _, number = eid.partition("-")
        marker = self.read_document(f"{EIDS_DIRECTORY}/{day}/{number}")
        return marker.get("uuid") if marker else None

    # -- experiments --

    @abc.abstractmethod
    def create_experiment(self, record: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def read_experiment(self, experiment_uuid: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def update_experiment(self, experiment_uuid: str, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Apply ``change`` to the stored record atomically; it returns False if it changed nothing.

        :raise plait.exceptions.ExperimentNotFound: if there is no such experiment
        :return: the record as stored afterwards
        """

    @abc.abstractmethod
    def remove_experiment(self, experiment_uuid: str) -> None: ...

    @abc.abstractmethod
    def index_entries(self) -> list[dict[str, Any]]:
        """Every experiment's index entry (in no particular order)."""

    @abc.abstractmethod
    def rebuild_index(self) -> int:
        """Rebuild the index from the experiments themselves; return how many it holds."""

    @abc.abstractmethod
    def experiment_path(self, experiment_uuid: str) -> str: ...

    # -- files --

    @abc.abstractmethod
    def list_files(self, experiment_uuid: str) -> list[FileInfo]: ...

    @abc.abstractmethod
    def upload_file(
        self, experiment_uuid: str, local_path: str, name: str, progress: Callable[[int], None] | None
    ) -> None: ...

    @abc.abstractmethod
    def download_file(
        self, experiment_uuid: str, name: str, local_path: str, progress: Callable[[int], None] | None
    ) -> None: ...

    @abc.abstractmethod
    def delete_files(self, experiment_uuid: str, names: list[str]) -> None:
        """Delete the files, all or none: if any is missing, nothing is deleted.

        :raise plait.exceptions.ExperimentFileNotFound: naming every missing file
        """

    @abc.abstractmethod
    def file_size(self, experiment_uuid: str, name: str) -> int | None: ...

    # -- small JSON documents (EID markers, extension registrations, task records) --

    @abc.abstractmethod
    def read_document(self, relative: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def create_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> bool:
        """Write the document only if there is none at ``relative``; return whether it was written."""

    @abc.abstractmethod
    def write_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> None: ...

    @abc.abstractmethod
    def update_document(
        self, relative: str, change: Callable[[dict[str, Any]], None], summary: Callable[[dict], dict] | None = None
    ) -> dict[str, Any] | None:
        """Apply ``change`` to the document atomically; None if there is no document."""

    @abc.abstractmethod
    def delete_document(self, relative: str) -> bool: ...

    @abc.abstractmethod
    def list_documents(self, directory: str) -> list[tuple[str, dict[str, Any]]]:
        """``(name without .json, summary)`` for each document of a directory; the summary is what
        was given when it was written, or the whole document if no summary was."""

    @abc.abstractmethod
    def list_names(self, directory: str) -> list[str]: ...

    def _missing_files(self, experiment_uuid: str, names: list[str], consequence: str = "nothing was removed") -> None:
        """Raise ``ExperimentFileNotFound`` naming every one of ``names`` the experiment does not have."""
        existing = {file.name for file in self.list_files(experiment_uuid)}
        missing = [name for name in names if name not in existing]
        if missing:
            raise ExperimentFileNotFound(
                f"there is no file {', '.join(map(repr, missing))} in the experiment, so {consequence}. "
                f"Its files are: {', '.join(sorted(existing)) or 'none'}.",
                missing=tuple(missing),
            )


# -- a local directory --


class LocalStore(ExperimentStore):
    """Experiments in a local directory (created if missing)."""

    def __init__(self, directory: str) -> None:
        self.location = self.root = os.path.abspath(os.path.expanduser(directory))
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise InvalidExperimentsLocation(f"The experiments location {self.root} is a file, not a directory.")
        os.makedirs(self.root, exist_ok=True)
        self._cache_lock = threading.Lock()
        self._cache: _IndexCache | None = None

    def _path(self, relative: str) -> str:
        return os.path.join(self.root, *relative.split("/"))

    # -- experiments --

    def experiment_path(self, experiment_uuid: str) -> str:
        return self._path(f"{EXPERIMENTS_DIRECTORY}/{experiment_uuid}")

    def _existing_directory(self, experiment_uuid: str) -> str:
        directory = self.experiment_path(experiment_uuid)
        if not os.path.isfile(local_metadata.metadata_path(directory)):
            raise ExperimentNotFound(f"There is no experiment {experiment_uuid} in {self.root} (was it removed?).")
        return directory

    def create_experiment(self, record: dict[str, Any]) -> None:
        directory = self.experiment_path(record["uuid"])
        os.makedirs(directory)
        local_metadata.update(directory, lambda metadata: metadata.__setitem__("dataset", to_dataset_metadata(record)))
        with self._index_lock():
            self._append_index([index_entry(record)])

    def read_experiment(self, experiment_uuid: str) -> dict[str, Any] | None:
        directory = self.experiment_path(experiment_uuid)
        if not os.path.isfile(local_metadata.metadata_path(directory)):
            return None
        return from_dataset_metadata(local_metadata.load(directory).get("dataset"))

    def update_experiment(self, experiment_uuid: str, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        outcome: dict[str, Any] = {}

        def apply(metadata: dict[str, Any]) -> None:
            record = from_dataset_metadata(metadata.get("dataset"))
            if record is None:
                raise ExperimentNotFound(f"{self.experiment_path(experiment_uuid)} does not hold an experiment.")
            outcome["changed"] = change(record)
            if outcome["changed"]:
                record["revision"] += 1
                metadata["dataset"] = to_dataset_metadata(record)
            outcome["record"] = record

        # Under the index lock, so index entries are appended in the order the changes were made.
        with self._index_lock():
            local_metadata.update(self._existing_directory(experiment_uuid), apply)
            if outcome["changed"]:
                self._append_index([index_entry(outcome["record"])])
        return outcome["record"]

    def remove_experiment(self, experiment_uuid: str) -> None:
        with self._index_lock():
            directory = self._existing_directory(experiment_uuid)
            self._append_index([{"uuid": experiment_uuid, "removed": True}])
            # Renamed first, so the experiment disappears at once even if deleting its files takes a while.
            doomed = self._path(f"{EXPERIMENTS_DIRECTORY}/.removed-{experiment_uuid}-{uuid.uuid4().hex[:8]}")
            os.rename(directory, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    # -- the index: an append-only JSON-lines file; the last line about an experiment wins --

    @property
    def _index_path(self) -> str:
        return self._path(f"{INDEX_DIRECTORY}/experiments.jsonl")

    def _index_lock(self) -> contextlib.AbstractContextManager:
        return _file_lock(self._path(f"{INDEX_DIRECTORY}/experiments.lock"))

    def _append_index(self, lines: list[dict[str, Any]]) -> None:
        """Append index lines (the caller holds the index lock)."""
        data = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
        with open(self._index_path, "a+b") as file:
            # A previous append cut short (a crash) must not swallow this one: start on a new line.
            if file.seek(0, os.SEEK_END) > 0:
                file.seek(-1, os.SEEK_END)
                if file.read(1) != b"\n":
                    data = "\n" + data
            file.write(data.encode("utf-8"))

    def index_entries(self) -> list[dict[str, Any]]:
        with self._cache_lock:
            try:
                file = open(self._index_path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                return []
            with file:
                inode = os.fstat(file.fileno()).st_ino
                cache = self._cache
                if cache is None or cache.inode != inode:
                    cache = _IndexCache(inode)
                file.seek(cache.offset)
                data = file.read()
            # Only complete lines: an append may be under way.
            end = data.rfind(b"\n") + 1
            cache.apply(data[:end], self._index_path)
            cache.offset += end
            self._cache = cache
            entries = list(cache.entries.values())
            compact = cache.lines > 2 * len(cache.entries) + _COMPACTION_SLACK
        if compact:
            self._compact_index()
        return entries

    def _compact_index(self) -> None:
        with self._index_lock():
            with open(self._index_path, "rb") as file:
                cache = _IndexCache(0)
                cache.apply(file.read(), self._index_path)
            _write_atomically(self._index_path, _jsonl(cache.entries.values()))
        with self._cache_lock:
            self._cache = None

    def rebuild_index(self) -> int:
        root = self._path(EXPERIMENTS_DIRECTORY)
        with self._index_lock():
            entries = []
            for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
                record = None if name.startswith(".") else self.read_experiment(name)
                if record is not None:
                    entries.append(index_entry(record))
            os.makedirs(os.path.dirname(self._index_path), exist_ok=True)
            _write_atomically(self._index_path, _jsonl(entries))
        with self._cache_lock:
            self._cache = None
        return len(entries)

    # -- files --

    def list_files(self, experiment_uuid: str) -> list[FileInfo]:
        directory = self._existing_directory(experiment_uuid)
        files = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith(".plait"):
                    stat = entry.stat()
                    modified = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.UTC)
                    files.append(FileInfo(entry.name, modified, stat.st_size))
        return sorted(files, key=lambda file: file.name)

    def file_size(self, experiment_uuid: str, name: str) -> int | None:
        path = os.path.join(self._existing_directory(experiment_uuid), name)
        return os.path.getsize(path) if os.path.isfile(path) else None

    def upload_file(
        self, experiment_uuid: str, local_path: str, name: str, progress: Callable[[int], None] | None
    ) -> None:
        directory = self._existing_directory(experiment_uuid)
        # Copied under a hidden name, then renamed over any file of the same name: readers see the old
        # file or the new one, never half of one.
        _copy_atomically(local_path, os.path.join(directory, name), progress)

    def download_file(
        self, experiment_uuid: str, name: str, local_path: str, progress: Callable[[int], None] | None
    ) -> None:
        source = os.path.join(self._existing_directory(experiment_uuid), name)
        if not os.path.isfile(source):
            self._missing_files(experiment_uuid, [name], "nothing was downloaded")
        _copy_atomically(source, local_path, progress)

    def delete_files(self, experiment_uuid: str, names: list[str]) -> None:
        directory = self._existing_directory(experiment_uuid)
        self._missing_files(experiment_uuid, names)
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, name))

    # -- documents --

    def read_document(self, relative: str) -> dict[str, Any] | None:
        try:
            with open(self._path(relative), "rb") as file:
                content = file.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return local_metadata._parse(self._path(relative), content)

    def create_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> bool:
        path = self._path(relative)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(json.dumps(document, sort_keys=True).encode("utf-8"))
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            try:
                os.link(temporary, path)  # fails if the name exists: only one creator wins
            except FileExistsError:
                return False
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)

    def write_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> None:
        path = self._path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_atomically(path, json.dumps(document, sort_keys=True, indent=2))

    def update_document(
        self, relative: str, change: Callable[[dict[str, Any]], None], summary: Callable[[dict], dict] | None = None
    ) -> dict[str, Any] | None:
        path = self._path(relative)
        if not os.path.isdir(os.path.dirname(path)):
            return None
        with _file_lock(os.path.join(os.path.dirname(path), ".lock")):
            document = self.read_document(relative)
            if document is None:
                return None
            change(document)
            _write_atomically(path, json.dumps(document, sort_keys=True, indent=2))
        return document

    def delete_document(self, relative: str) -> bool:
        try:
            os.remove(self._path(relative))
        except FileNotFoundError:
            return False
        return True

    def list_documents(self, directory: str) -> list[tuple[str, dict[str, Any]]]:
        documents = []
        for name in self.list_names(directory):
            if name.endswith(".json") and not name.startswith("."):
                document = self.read_document(f"{directory}/{name}")
                if document is not None:
                    documents.append((name[: -len(".json")], document))
        return documents

    def list_names(self, directory: str) -> list[str]:
        try:
            return os.listdir(self._path(directory))
        except FileNotFoundError:
            return []


class _IndexCache:
    """The local index as folded so far, and how far into the file that is."""

    def __init__(self, inode: int) -> None:
        self.inode = inode
        self.offset = 0
        self.lines = 0
        self.entries: dict[str, dict[str, Any]] = {}

    def apply(self, data: bytes, path: str) -> None:
        for line in data.splitlines():
            if not line.strip():
                continue
            self.lines += 1
            try:
                item = json.loads(line)
                experiment_uuid = item["uuid"]
            except (ValueError, KeyError, TypeError):
                logger.warning("Skipped a damaged line of the experiments index %s (rebuild_index() repairs it).", path)
                continue
            if item.get("removed"):
                self.entries.pop(experiment_uuid, None)
            else:
                self.entries[experiment_uuid] = item


def _jsonl(entries: Any) -> str:
    return "".join(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n" for entry in entries)


def _file_lock(path: str) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock across threads and processes (see ``plait.atomic_files``)."""
    return exclusive_lock(path)


def _write_atomically(path: str, text: str) -> None:
    write_atomically(path, lambda file: file.write(text))


def _copy_atomically(source: str, target: str, progress: Callable[[int], None] | None) -> None:
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".plait.upload-")
    try:
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(_COPY_CHUNK):
                writer.write(chunk)
                if progress:
                    progress(len(chunk))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


# -- a gs:// prefix --


class CloudStore(ExperimentStore):
    """Experiments under a ``gs://bucket/prefix``."""

    def __init__(self, prefix: str) -> None:
        from plait.cloud.storage.client import GoogleCloudStorageClient

        try:
            bucket, name = storage_path.split_bucket_name_from_cloud_path(prefix)
        except InvalidPathException as error:
            raise InvalidExperimentsLocation(str(error)) from error
        self.location = self.root = storage_path.generate_gs_path(bucket, name)
        self._storage = GoogleCloudStorageClient()

    def _path(self, relative: str) -> str:
        return storage_path.cloud_join(self.root, relative)

    # -- experiments --

    def experiment_path(self, experiment_uuid: str) -> str:
        return self._path(f"{EXPERIMENTS_DIRECTORY}/{experiment_uuid}")

    def _metadata_path(self, experiment_uuid: str) -> str:
        return f"{EXPERIMENTS_DIRECTORY}/{experiment_uuid}/{storage_path.METADATA_FILENAME}"

    def _index_path(self, experiment_uuid: str) -> str:
        return f"{INDEX_DIRECTORY}/{EXPERIMENTS_DIRECTORY}/{experiment_uuid}.json"

    def create_experiment(self, record: dict[str, Any]) -> None:
        if not self.create_document(self._metadata_path(record["uuid"]), {"dataset": to_dataset_metadata(record)}):
            raise ServiceUnavailable(f"Experiment {record['uuid']} already exists: retry (a new UUID will be used).")
        self._put_index_entry(index_entry(record), new=True)

    def read_experiment(self, experiment_uuid: str) -> dict[str, Any] | None:
        document = self.read_document(self._metadata_path(experiment_uuid))
        return from_dataset_metadata(document.get("dataset")) if document else None

    def update_experiment(self, experiment_uuid: str, change: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        path = self._metadata_path(experiment_uuid)
        for _ in range(_CONDITIONAL_ATTEMPTS):
            found = self._read_with_generation(path)
            record = from_dataset_metadata(found[0].get("dataset")) if found else None
            if record is None:
                raise ExperimentNotFound(
                    f"There is no experiment {experiment_uuid} under {self.root} (was it removed?)."
                )
            if not change(record):
                return record
            record["revision"] += 1
            document = {**found[0], "dataset": to_dataset_metadata(record)}
            if self._write_if_generation(path, document, found[1]):
                self._put_index_entry(index_entry(record))
                return record
        raise ServiceUnavailable(f"Experiment {experiment_uuid} kept changing while it was being updated: retry.")

    def _put_index_entry(self, entry: dict[str, Any], new: bool = False) -> None:
        """Write the entry, unless the index already holds the same or a later revision."""
        path = self._index_path(entry["uuid"])
        for _ in range(_CONDITIONAL_ATTEMPTS):
            generation = 0
            if not new:
                found = self._read_with_generation(path)
                if found and found[0].get("revision", 0) >= entry["revision"]:
                    return
                generation = found[1] if found else 0
            try:
                self._write_index_entry(entry, if_generation_match=generation)
                return
            except PreconditionFailed:
                new = False
        raise ServiceUnavailable(f"The index entry of experiment {entry['uuid']} kept changing: retry.")

    def _write_index_entry(self, entry: dict[str, Any], if_generation_match: int | None = None) -> None:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        metadata = {"experiment": entry} if len(text.encode("utf-8")) <= _METADATA_ENTRY_LIMIT else {"in_body": True}
        self._storage.upload_from_string(
            text,
            self._path(self._index_path(entry["uuid"])),
            metadata=metadata,
            content_type="application/json",
            if_generation_match=if_generation_match,
        )

    def remove_experiment(self, experiment_uuid: str) -> None:
        if self.read_document(self._metadata_path(experiment_uuid)) is None:
            raise ExperimentNotFound(f"There is no experiment {experiment_uuid} under {self.root} (was it removed?).")
        # The index entry first (the experiment leaves searches), then its metadata (it no longer
        # exists), then its files.
        self.delete_document(self._index_path(experiment_uuid))
        self.delete_document(self._metadata_path(experiment_uuid))
        for item in self._storage.list_objects(self.experiment_path(experiment_uuid), recursive=True):
            with contextlib.suppress(CloudObjectNotFound):
                self._storage.delete(item.cloud_path)

    def index_entries(self) -> list[dict[str, Any]]:
        entries = []
        for item in self._storage.list_objects(self._path(f"{INDEX_DIRECTORY}/{EXPERIMENTS_DIRECTORY}")):
            entry = item.custom_metadata.get("experiment")
            if not isinstance(entry, dict):  # too large for custom metadata: it is in the body
                try:
                    entry = json.loads(self._storage.download_as_string(item.cloud_path))
                except (CloudObjectNotFound, ValueError):
                    continue
            entries.append(entry)
        return entries

    def rebuild_index(self) -> int:
        found = set()
        for item in self._storage.list_objects(self._path(EXPERIMENTS_DIRECTORY), recursive=True):
            relative = storage_path.relative_to(item.cloud_path, self.root)
            parts = relative.split("/")
            if len(parts) == 3 and parts[2] == storage_path.METADATA_FILENAME:
                record = self.read_experiment(parts[1])
                if record is not None:
                    self._write_index_entry(index_entry(record))
                    found.add(record["uuid"])
        for name in self.list_names(f"{INDEX_DIRECTORY}/{EXPERIMENTS_DIRECTORY}"):
            if name.removesuffix(".json") not in found:
                self.delete_document(f"{INDEX_DIRECTORY}/{EXPERIMENTS_DIRECTORY}/{name}")
        return len(found)

    # -- files --

    def list_files(self, experiment_uuid: str) -> list[FileInfo]:
        files, has_metadata = [], False
        for item in self._storage.list_objects(self.experiment_path(experiment_uuid)):
            name = storage_path.basename(item.cloud_path)
            if name == storage_path.METADATA_FILENAME:
                has_metadata = True
            elif not name.startswith(".plait"):
                files.append(FileInfo(name, item.updated or dt.datetime.now(dt.UTC), item.size))
        if not has_metadata:
            raise ExperimentNotFound(f"There is no experiment {experiment_uuid} under {self.root} (was it removed?).")
        return sorted(files, key=lambda file: file.name)

    def _require(self, experiment_uuid: str) -> None:
        if not self._storage.exists(self._path(self._metadata_path(experiment_uuid))):
            raise ExperimentNotFound(f"There is no experiment {experiment_uuid} under {self.root} (was it removed?).")

    def file_size(self, experiment_uuid: str, name: str) -> int | None:
        metadata = self._storage.get_metadata(storage_path.cloud_join(self.experiment_path(experiment_uuid), name))
        if metadata is None:
            self._require(experiment_uuid)  # no such file; or no such experiment?
            return None
        return metadata.size

    def upload_file(
        self, experiment_uuid: str, local_path: str, name: str, progress: Callable[[int], None] | None
    ) -> None:
        from plait.resources.datafile import Datafile

        self._require(experiment_uuid)
        target = storage_path.cloud_join(self.experiment_path(experiment_uuid), name)
        # Through Datafile, so the object gets its plait__* metadata (hash included) like any dataset file.
        Datafile(local_path, ignore_stored_metadata=True).upload(target, progress=progress)

    def download_file(
        self, experiment_uuid: str, name: str, local_path: str, progress: Callable[[int], None] | None
    ) -> None:
        source = storage_path.cloud_join(self.experiment_path(experiment_uuid), name)
        try:
            self._storage.download_to_file(source, local_path, progress=progress)
        except CloudObjectNotFound:
            self._missing_files(
                experiment_uuid, [name], "nothing was downloaded"
            )  # raises ExperimentNotFound or ExperimentFileNotFound
            raise

    def delete_files(self, experiment_uuid: str, names: list[str]) -> None:
        self._missing_files(experiment_uuid, names)
        for name in names:
            with contextlib.suppress(CloudObjectNotFound):
                self._storage.delete(storage_path.cloud_join(self.experiment_path(experiment_uuid), name))

    # -- documents --

    def _read_with_generation(self, relative: str) -> tuple[dict[str, Any], int] | None:
        try:
            text, generation = self._storage.download_as_string_with_generation(self._path(relative))
        except CloudObjectNotFound:
            return None
        return local_metadata._parse(self._path(relative), text.encode("utf-8")), generation

    def _write_if_generation(
        self, relative: str, document: dict[str, Any], generation: int, summary: dict | None = None
    ) -> bool:
        try:
            self._storage.upload_from_string(
                json.dumps(document, sort_keys=True),
                self._path(relative),
                metadata={"summary": summary} if summary else None,
                content_type="application/json",
                if_generation_match=generation,
            )
        except PreconditionFailed:
            return False
        return True

    def read_document(self, relative: str) -> dict[str, Any] | None:
        found = self._read_with_generation(relative)
        return found[0] if found else None

    def create_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> bool:
        return self._write_if_generation(relative, document, 0, summary)

    def write_document(self, relative: str, document: dict[str, Any], summary: dict | None = None) -> None:
        self._storage.upload_from_string(
            json.dumps(document, sort_keys=True),
            self._path(relative),
            metadata={"summary": summary} if summary else None,
            content_type="application/json",
        )

    def update_document(
        self, relative: str, change: Callable[[dict[str, Any]], None], summary: Callable[[dict], dict] | None = None
    ) -> dict[str, Any] | None:
        for _ in range(_CONDITIONAL_ATTEMPTS):
            found = self._read_with_generation(relative)
            if found is None:
                return None
            document, generation = found
            change(document)
            if self._write_if_generation(relative, document, generation, summary(document) if summary else None):
                return document
        raise ServiceUnavailable(f"{self._path(relative)} kept changing while it was being updated: retry.")

    def delete_document(self, relative: str) -> bool:
        try:
            self._storage.delete(self._path(relative))
        except CloudObjectNotFound:
            return False
        return True

    def list_documents(self, directory: str) -> list[tuple[str, dict[str, Any]]]:
        documents = []
        for item in self._storage.list_objects(self._path(directory)):
            name = storage_path.basename(item.cloud_path)
            if not name.endswith(".json"):
                continue
            summary = item.custom_metadata.get("summary")
            if not isinstance(summary, dict):
                summary = self.read_document(f"{directory}/{name}")
            if summary is not None:
                documents.append((name[: -len(".json")], summary))
        return documents

    def list_names(self, directory: str) -> list[str]:
        return [storage_path.basename(item.cloud_path) for item in self._storage.list_objects(self._path(directory))]


def require_local_file(path: str) -> str:
    """The absolute path of an existing regular file to upload."""
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise FileNotFoundException(
            f"{path} is not a file that can be uploaded: give the path of an existing file."
            if os.path.exists(path)
            else f"{path} does not exist: give the path of an existing file."
        )
    return path
