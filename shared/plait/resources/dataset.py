"""``Dataset``: a directory of files (local, in the cloud, or behind a signed URL) with metadata.

Decisions where the reference is silent or weak (also in ``docs/api.md``):

- Building a dataset reads one ``.plait`` file per directory (local) or one object listing
  (cloud): files' stored metadata comes from there, not from one request per file.
- ``path`` is the dataset's signed URL if it was opened from one, else its cloud path if it is
  cloud-based (opened from ``gs://`` or uploaded), else its local path.
- A dataset's signed URL points at a JSON document (``<dataset>/.signed_metadata_files/<uuid>.json``)
  holding the dataset's metadata and, for each file, its metadata, hash, size and own signed URL.
  ``Dataset(path=<that URL>)`` reopens it read-only.
- ``update_metadata``/``update_local_metadata``/``update_cloud_metadata`` take a keyword-only
  ``include_files`` (default False, as the reference): when True, every file's metadata is saved
  too, with one write per directory rather than one per file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import shutil
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from plait import __version__, hashing
from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import DEFAULT_SIGNED_URL_EXPIRATION, GoogleCloudStorageClient
from plait.exceptions import (
    CloudLocationNotSpecified,
    CloudObjectNotFound,
    FileNotFoundException,
    InvalidInputException,
    InvalidPathException,
    ReadOnlyResource,
)
from plait.resources import identity, local_metadata
from plait.resources.datafile import Datafile, _strip_namespace
from plait.resources.filter_containers import FilterSet
from plait.resources.label import LabelSet
from plait.resources.tag import TagDict

#: How many files are transferred at once by ``upload``, ``download`` and ``generate_signed_url``.
TRANSFER_THREADS = 8

#: Marks the JSON document a dataset's signed URL points at.
SIGNED_DATASET_TYPE = "plait.signed_dataset"


class Dataset:
    """A set of datafiles with metadata: id, name, tags and labels.

    :param path: the dataset's local directory, ``gs://`` directory or signed URL (defaults to the
        current working directory)
    :param files: the files belonging to the dataset (paths, serialised datafiles or Datafiles); if
        None, every file in the directory is included
    :param recursive: include the files of subdirectories too
    :param ignore_stored_metadata: ignore metadata stored for the dataset; use the arguments
    :param id: the dataset's UUID (generated if None)
    :param name: the dataset's name (defaults to the directory's name)
    :param tags: key-value pairs (see ``TagDict``)
    :param labels: labels (see ``LabelSet``)
    """

    def __init__(
        self,
        path: str | None = None,
        files: Iterable[str | dict | Datafile] | None = None,
        recursive: bool = False,
        ignore_stored_metadata: bool = False,
        id: str | None = None,
        name: str | None = None,
        tags: dict | TagDict | None = None,
        labels: Any = None,
    ) -> None:
        path = os.fspath(path) if path is not None else os.getcwd()
        self._signed_url: str | None = None
        self._cloud_path: str | None = None
        self._local_path: str | None = None
        self._cloud_based = False
        self._recursive = recursive

        if storage_path.is_url(path):
            self._signed_url = path
        elif storage_path.is_cloud_path(path):
            storage_path.split_bucket_name_from_cloud_path(path)
            self._cloud_path = path.rstrip("/")
            self._cloud_based = True
        else:
            self._local_path = os.path.abspath(path)

        self.id = identity.validate_id(id)
        self._name = name
        self._tags = TagDict(tags)
        self._labels = LabelSet(labels)

        stored: dict[str, Any] = {}
        if self._signed_url is not None:
            document = self._read_signed_document()
            stored = document.get("dataset", {})
            built_files = [_datafile_from_signed_entry(entry) for entry in document.get("files", [])]
        elif files is None:
            built_files, stored = self._files_from_storage(recursive, ignore_stored_metadata)
        else:
            built_files = [_to_datafile(file) for file in files]
            if not ignore_stored_metadata:
                stored = self._load_stored_metadata()

        self.files: FilterSet = FilterSet(built_files)
        if not ignore_stored_metadata or self._signed_url is not None:
            self._apply_stored_metadata(stored)

    # -- construction helpers --

    def _files_from_storage(self, recursive: bool, ignore_stored_metadata: bool) -> tuple[list[Datafile], dict]:
        if self._cloud_path is not None:
            return self._files_from_cloud(recursive, ignore_stored_metadata)

        if not os.path.isdir(self._local_path):
            if os.path.exists(self._local_path):
                raise InvalidPathException(
                    f"{self._local_path} is a file, not a directory: a dataset's path is a directory (or pass "
                    "files=[...])."
                )
            raise FileNotFoundException(
                f"The dataset directory {self._local_path} does not exist: correct the path, or pass files=[...] "
                "to build a dataset from particular files."
            )

        files: list[Datafile] = []
        dataset_metadata: dict[str, Any] = {}
        pending = [self._local_path]
        while pending:
            directory = pending.pop()
            stored = local_metadata.load(directory)
            if directory == self._local_path:
                dataset_metadata = stored.get("dataset", {})
            stored_files = stored.get("datafiles", {})
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir():
                        # Symbolic links to directories are not followed (a link loop would never end).
                        if (
                            recursive
                            and not entry.is_symlink()
                            and entry.name != storage_path.SIGNED_METADATA_DIRECTORY
                        ):
                            pending.append(entry.path)
                    elif not storage_path.is_metadata_object_name(entry.name) and ".plait-download-" not in entry.name:
                        files.append(
                            Datafile(
                                entry.path,
                                ignore_stored_metadata=ignore_stored_metadata,
                                _stored_metadata=stored_files.get(entry.name, {}),
                            )
                        )
        return files, dataset_metadata

    def _files_from_cloud(self, recursive: bool, ignore_stored_metadata: bool) -> tuple[list[Datafile], dict]:
        files = []
        for object_metadata in self._storage.list_objects(self._cloud_path, recursive=recursive):
            if storage_path.is_metadata_object_name(
                storage_path.relative_to(object_metadata.cloud_path, self._cloud_path)
            ):
                continue
            files.append(
                Datafile(
                    object_metadata.cloud_path,
                    ignore_stored_metadata=ignore_stored_metadata,
                    _object_metadata=object_metadata,
                    _stored_metadata=_strip_namespace(object_metadata.custom_metadata),
                )
            )
        return files, self._load_stored_metadata()

    def _load_stored_metadata(self) -> dict[str, Any]:
        if self._cloud_based:
            try:
                text = self._storage.download_as_string(self._metadata_cloud_path)
            except CloudObjectNotFound:
                return {}
            return local_metadata._parse(self._metadata_cloud_path, text.encode()).get("dataset", {})
        if self._local_path is not None and os.path.isdir(self._local_path):
            return local_metadata.load(self._local_path).get("dataset", {})
        return {}

    def _apply_stored_metadata(self, stored: dict[str, Any]) -> None:
        if stored.get("id") is not None:
            self.id = identity.validate_id(stored["id"])
        if stored.get("name") is not None:
            self._name = stored["name"]
        if stored.get("tags") is not None:
            self._tags = TagDict(stored["tags"])
        if stored.get("labels") is not None:
            self._labels = LabelSet(stored["labels"])

    def _read_signed_document(self) -> dict[str, Any]:
        from plait.cloud.storage import signed_url

        text = signed_url.read_text(self._signed_url)
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or document.get("type") != SIGNED_DATASET_TYPE:
            raise InvalidInputException(
                f"{self._signed_url.split('?')[0]} is not a signed dataset: a dataset's signed URL comes from "
                "Dataset.generate_signed_url(). For a single file, use Datafile(<signed URL>)."
            )
        return document

    @classmethod
    def deserialise(cls, serialised_dataset: dict | str, from_string: bool = False) -> Dataset:
        """Rebuild a Dataset from ``to_primitive()``'s dictionary or ``serialise()``'s JSON string."""
        primitive = identity.load_json(serialised_dataset, from_string)
        known = {"path", "files", "recursive", "id", "name", "tags", "labels"}
        return cls(**{key: value for key, value in primitive.items() if key in known})

    # -- identity and location --

    @property
    def name(self) -> str:
        """The dataset's name (by default, its directory's name)."""
        if self._name:
            return self._name
        return storage_path.basename(self._cloud_path or self._local_path or self._signed_url)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def path(self) -> str:
        """The dataset's signed URL, else its cloud path if it is cloud-based, else its local path."""
        if self._signed_url is not None:
            return self._signed_url
        if self._cloud_based:
            return self._cloud_path
        return self._local_path

    @property
    def cloud_path(self) -> str | None:
        return self._cloud_path

    @property
    def local_path(self) -> str | None:
        return self._local_path

    @property
    def is_read_only(self) -> bool:
        """True if the dataset was opened from a signed URL."""
        return self._signed_url is not None

    @property
    def exists_locally(self) -> bool:
        return self._local_path is not None and os.path.isdir(self._local_path)

    @property
    def exists_in_cloud(self) -> bool:
        """True if the dataset is cloud-based and every file is in the cloud."""
        return self._cloud_based and self.all_files_are_in_cloud

    @property
    def all_files_are_in_cloud(self) -> bool:
        """Do all the dataset's files exist in the cloud?"""
        return all(file.exists_in_cloud for file in self.files)

    @property
    def tags(self) -> TagDict:
        return self._tags

    @tags.setter
    def tags(self, tags: dict | TagDict | None) -> None:
        self._tags = TagDict(tags)

    @property
    def labels(self) -> LabelSet:
        return self._labels

    @labels.setter
    def labels(self, labels: Any) -> None:
        self._labels = LabelSet(labels)

    def add_tags(self, tags: dict | None = None, **kwargs: Any) -> None:
        self._tags.update({**(tags or {}), **kwargs})

    def add_labels(self, *args: str) -> None:
        self._labels.add(*args)

    def __iter__(self) -> Iterator[Datafile]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __contains__(self, datafile: object) -> bool:
        return datafile in self.files

    def __repr__(self) -> str:
        return f"<Dataset({self.name!r}, {len(self.files)} files)>"

    # -- files --

    def add(self, datafile: Datafile, path_in_dataset: str | None = None) -> None:
        """Add a datafile. If it lies outside the dataset (or ``path_in_dataset`` is given) it is copied
        into the dataset: to ``path_in_dataset`` if given, else to the dataset's root.

        :raise plait.exceptions.InvalidInputException: if ``datafile`` is not a Datafile
        :raise plait.exceptions.InvalidPathException: if ``path_in_dataset`` escapes the dataset
        """
        if not isinstance(datafile, Datafile):
            raise InvalidInputException(
                f"Only Datafiles can be added to a dataset, not {type(datafile).__name__}: wrap the path "
                "in Datafile(path) first."
            )
        self._check_writable()
        if path_in_dataset is not None:
            path_in_dataset = _validate_path_in_dataset(path_in_dataset)

        if self._cloud_based:
            inside = datafile.cloud_path is not None and _is_inside_cloud(datafile.cloud_path, self._cloud_path)
            if path_in_dataset is not None or not inside:
                datafile.upload(storage_path.cloud_join(self._cloud_path, path_in_dataset or datafile.name))
        else:
            inside = datafile._local_path is not None and _is_inside_local(datafile._local_path, self._local_path)
            if path_in_dataset is not None or not inside:
                target = os.path.join(self._local_path, path_in_dataset or datafile.name)
                if target != datafile._local_path:  # already there: copying a file onto itself fails
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(datafile.local_path, target)
                datafile._local_path = target
                datafile._local_path_is_temporary = False
                datafile._cloud_based = False

        # One location holds one file: the added datafile replaces any the dataset had there already.
        location = datafile.cloud_path if self._cloud_based else datafile._local_path
        for file in list(self.files):
            if file is not datafile and (file.cloud_path if self._cloud_based else file._local_path) == location:
                self.files.discard(file)
        self.files.add(datafile)

    def get_file_by_label(self, label: str) -> Datafile:
        """The one file with the given label.

        :raise plait.exceptions.UnexpectedNumberOfResultsException: if none or several have it
        """
        return self.files.one(labels__contains=label)

    def path_in_dataset(self, datafile: Datafile) -> str:
        """A file's path relative to the dataset's root ("/"-separated); its name if it lies outside."""
        if (
            self._cloud_path is not None
            and datafile.cloud_path
            and _is_inside_cloud(datafile.cloud_path, self._cloud_path)
        ):
            return storage_path.relative_to(datafile.cloud_path, self._cloud_path)
        if (
            self._local_path is not None
            and datafile._local_path
            and _is_inside_local(datafile._local_path, self._local_path)
        ):
            return os.path.relpath(datafile._local_path, self._local_path).replace(os.sep, "/")
        if datafile.signed_url is not None and datafile._signed_path_in_dataset:
            return datafile._signed_path_in_dataset
        return datafile.name

    # -- hashing and metadata --

    @property
    def hash_value(self) -> str:
        """BLAKE3 of the files' hash strings, sorted, joined with newlines (DESIGN.md)."""
        return hashing.hash_file_hashes(file.hash_value for file in self.files)

    def metadata(self, include_id: bool = True, include_sdk_version: bool = True, **kwargs: Any) -> dict[str, Any]:
        """The dataset's metadata as primitives: id, name, tags, labels and sdk_version."""
        metadata: dict[str, Any] = {}
        if include_id:
            metadata["id"] = self.id
        metadata["name"] = self.name
        metadata["tags"] = self._tags.to_primitive()
        metadata["labels"] = self._labels.to_primitive()
        if include_sdk_version:
            metadata["sdk_version"] = __version__
        return metadata

    @property
    def metadata_hash_value(self) -> str:
        """The hash of the dataset's metadata, not including its id."""
        return hashing.hash_json(self.metadata(include_id=False, include_sdk_version=False))

    def update_metadata(self, *, include_files: bool = False) -> None:
        """Save the in-memory metadata: to the cloud if the dataset is cloud-based, else locally."""
        if self._cloud_based:
            self.update_cloud_metadata(include_files=include_files)
        else:
            self.update_local_metadata(include_files=include_files)

    def update_cloud_metadata(self, *, include_files: bool = False) -> None:
        """Write the dataset's metadata to ``<cloud path>/.plait`` (and, if asked, each file's).

        :raise plait.exceptions.CloudLocationNotSpecified: if the dataset has no cloud path
        """
        self._check_writable()
        if self._cloud_path is None:
            raise CloudLocationNotSpecified(
                f"Dataset {self.name!r} has no cloud path: upload it first (dataset.upload('gs://bucket/path'))."
            )
        document = json.dumps({"dataset": self.metadata()}, sort_keys=True, indent=2)
        self._storage.upload_from_string(document, self._metadata_cloud_path)
        if include_files:
            self._parallel(lambda file: file.update_cloud_metadata(), self.files)

    def update_local_metadata(self, *, include_files: bool = False) -> None:
        """Write the dataset's metadata to its directory's ``.plait`` file (and, if asked, each file's,
        with one write per directory)."""
        self._check_writable()
        if not self.exists_locally:
            raise FileNotFoundException(
                f"Dataset {self.name!r} has no local directory ({self._local_path}): download it first."
            )
        if include_files:
            self._save_local_file_metadata(self.files)
        local_metadata.update_dataset(self._local_path, self.metadata())

    @staticmethod
    def _save_local_file_metadata(files: Iterable[Datafile]) -> None:
        """Save files' metadata to their directories' ``.plait`` files, with one write per directory."""
        by_directory: dict[str, dict[str, dict]] = defaultdict(dict)
        for file in files:
            if file._local_path is None or file._local_path_is_temporary:
                raise FileNotFoundException(
                    f"{file.name} has no local copy in the dataset's directory, so its metadata cannot be stored "
                    "there: download the dataset first (dataset.download(directory))."
                )
            directory, name = os.path.split(file._local_path)
            by_directory[directory][name] = file.stored_local_metadata()
        for directory, entries in by_directory.items():
            local_metadata.update_datafiles(directory, entries)

    @property
    def _metadata_cloud_path(self) -> str:
        return storage_path.cloud_join(self._cloud_path, storage_path.METADATA_FILENAME)

    # -- transfers --

    def upload(
        self, cloud_path: str | None = None, update_cloud_metadata: bool = True, progress: Callable | None = None
    ) -> str:
        """Upload every file to ``<cloud_path>/<path in dataset>`` (several at a time), then the
        dataset's metadata. The dataset is cloud-based afterwards.

        :param progress: an optional callable given the number of bytes sent as uploads proceed
        :raise plait.exceptions.CloudLocationNotSpecified: if no cloud path is given or known
        :return: the dataset's cloud path
        """
        cloud_path = (cloud_path or self._cloud_path or "").rstrip("/")
        if not cloud_path:
            raise CloudLocationNotSpecified(
                f"Where should dataset {self.name!r} be uploaded? Give a cloud path, e.g. "
                "dataset.upload('gs://bucket/datasets/name')."
            )
        storage_path.split_bucket_name_from_cloud_path(cloud_path)
        targets = {file: storage_path.cloud_join(cloud_path, self.path_in_dataset(file)) for file in self.files}
        self._parallel(
            lambda file: file.upload(targets[file], update_cloud_metadata=update_cloud_metadata, progress=progress),
            self.files,
        )
        name = self.name
        self._cloud_path = cloud_path
        self._cloud_based = True
        self._name = name
        if update_cloud_metadata:
            self.update_cloud_metadata()
        return cloud_path

    def download(self, local_directory: str | None = None, progress: Callable | None = None) -> str:
        """Download every file into ``local_directory`` (keeping their paths in the dataset), or into a
        new temporary directory, and save their metadata there.

        :return: the local directory
        """
        if self._cloud_path is None and self._signed_url is None:
            raise CloudLocationNotSpecified(
                f"Dataset {self.name!r} is not in the cloud, so there is nothing to download: it is at {self._local_path}."
            )
        local_directory = os.path.abspath(local_directory or tempfile.mkdtemp(prefix="plait-dataset-"))
        targets = {}
        for file in self.files:
            relative = _validate_path_in_dataset(self.path_in_dataset(file))
            targets[file] = os.path.join(local_directory, relative)
        self._parallel(lambda file: file.download(targets[file], progress=progress), self.files)

        name = self.name
        self._local_path = local_directory
        self._name = name
        self._save_local_file_metadata(self.files)
        local_metadata.update_dataset(local_directory, self.metadata())
        return local_directory

    def generate_signed_url(self, expiration: dt.timedelta | dt.datetime = DEFAULT_SIGNED_URL_EXPIRATION) -> str:
        """A signed URL for the dataset: it points at a JSON document of the dataset's metadata and a
        signed URL for each file, uploaded to ``<dataset>/.signed_metadata_files/``.

        :raise plait.exceptions.CloudLocationNotSpecified: if the dataset is not in the cloud
        """
        if self._signed_url is not None:
            return self._signed_url
        if not self._cloud_based:
            raise CloudLocationNotSpecified(
                f"Dataset {self.name!r} must be uploaded before it can be signed: call "
                "dataset.upload('gs://bucket/path') first."
            )

        def entry(file: Datafile) -> dict[str, Any]:
            return {
                **file.metadata(use_plait_namespace=False),
                "name": file.name,
                "path_in_dataset": self.path_in_dataset(file),
                "hash_value": file.hash_value,
                "size_bytes": file.size_bytes,
                "signed_url": file.generate_signed_url(expiration),
            }

        files = self._parallel(entry, sorted(self.files, key=self.path_in_dataset))
        document = {"type": SIGNED_DATASET_TYPE, "dataset": self.metadata(), "files": files}
        document_path = storage_path.cloud_join(
            self._cloud_path, storage_path.SIGNED_METADATA_DIRECTORY, f"{uuid.uuid4()}.json"
        )
        self._storage.upload_from_string(json.dumps(document), document_path)
        return self._storage.generate_signed_url(document_path, expiration)

    # -- serialisation --

    def to_primitive(self, include_files: bool = True) -> dict[str, Any]:
        """The dataset as primitives, its files given by their paths (a lightweight serialisation)."""
        primitive = {**self.metadata(), "path": self.path, "recursive": self._recursive}
        if include_files:
            primitive["files"] = sorted(file.path for file in self.files)
        return primitive

    def serialise(self, **kwargs: Any) -> str:
        return json.dumps(self.to_primitive(), **kwargs)

    def to_file(self, filename: str, **kwargs: Any) -> None:
        identity.write_json_file(filename, self.to_primitive(), **kwargs)

    # -- internals --

    def _check_writable(self) -> None:
        if self.is_read_only:
            raise ReadOnlyResource(
                f"Dataset {self.name!r} was opened from a signed URL and is read-only: download it "
                "(dataset.download(directory)) and work on the copy."
            )

    @staticmethod
    def _parallel(function: Callable, items: Iterable) -> list:
        items = list(items)
        if len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(TRANSFER_THREADS, len(items))) as executor:
            return list(executor.map(function, items))

    @property
    def _storage(self) -> GoogleCloudStorageClient:
        return GoogleCloudStorageClient()


def _to_datafile(file: str | dict | Datafile) -> Datafile:
    if isinstance(file, Datafile):
        return file
    if isinstance(file, dict):
        return Datafile.deserialise(file)
    if isinstance(file, str | os.PathLike):
        return Datafile(os.fspath(file))
    raise InvalidInputException(
        f"A dataset's files must be paths, serialised datafiles or Datafiles, not {type(file).__name__}."
    )


def _datafile_from_signed_entry(entry: dict[str, Any]) -> Datafile:
    datafile = Datafile(
        entry["signed_url"],
        id=entry.get("id"),
        timestamp=entry.get("timestamp"),
        tags=entry.get("tags"),
        labels=entry.get("labels"),
        hash_value=entry.get("hash_value"),
        ignore_stored_metadata=True,
    )
    datafile._signed_size = entry.get("size_bytes")
    datafile._signed_name = entry.get("name")
    datafile._signed_path_in_dataset = entry.get("path_in_dataset")
    return datafile


def _validate_path_in_dataset(path_in_dataset: str) -> str:
    """A relative, normalised, "/"-separated path that stays inside the dataset."""
    if not isinstance(path_in_dataset, str) or not path_in_dataset.strip():
        raise InvalidPathException(f"path_in_dataset must be a non-empty relative path, not {path_in_dataset!r}.")
    candidate = path_in_dataset.replace("\\", "/")
    normalised = posixpath.normpath(candidate)
    if candidate.startswith("/") or normalised == ".." or normalised.startswith("../") or normalised == ".":
        raise InvalidPathException(
            f"path_in_dataset {path_in_dataset!r} escapes the dataset: give a path relative to the dataset's "
            "root, without '..' segments or a leading '/' (e.g. 'raw/measurements.csv')."
        )
    if storage_path.is_metadata_object_name(normalised):
        raise InvalidPathException(f"path_in_dataset {path_in_dataset!r} is reserved for plait's metadata files.")
    return normalised


def _is_inside_local(path: str, directory: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(directory)]) == os.path.abspath(directory)


def _is_inside_cloud(path: str, directory: str) -> bool:
    return storage_path.strip_protocol(path).startswith(storage_path.strip_protocol(directory).rstrip("/") + "/")


def copy_dataset(dataset: Dataset, destination: str) -> Dataset:
    """Copy a dataset's files and metadata to ``destination`` (a local directory or ``gs://`` path),
    keeping each file's path in the dataset, without changing ``dataset`` itself.

    :return: the copy, opened from its new location
    """
    if storage_path.is_url(destination):
        raise InvalidPathException(f"Cannot copy a dataset to {destination}: signed URLs are read-only.")
    to_cloud = storage_path.is_cloud_path(destination)
    destination = destination.rstrip("/") if to_cloud else os.path.abspath(destination)
    storage = GoogleCloudStorageClient()
    copies: list[Datafile] = []

    def copy(file: Datafile) -> None:
        relative = _validate_path_in_dataset(dataset.path_in_dataset(file))
        if to_cloud:
            metadata = {**file.metadata(), "plait__hash": file.hash_value}
            storage.upload_file(file.local_path, storage_path.cloud_join(destination, relative), metadata=metadata)
            return
        target = os.path.join(destination, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(file.local_path, target)
        copies.append(
            Datafile(
                target,
                id=file.id,
                timestamp=file.timestamp,
                tags=file.tags,
                labels=file.labels,
                hash_value=file.hash_value,
                ignore_stored_metadata=True,
            )
        )

    Dataset._parallel(copy, dataset.files)
    metadata = dataset.metadata()
    if to_cloud:
        document = json.dumps({"dataset": metadata}, sort_keys=True, indent=2)
        storage.upload_from_string(document, storage_path.cloud_join(destination, storage_path.METADATA_FILENAME))
    else:
        os.makedirs(destination, exist_ok=True)
        Dataset._save_local_file_metadata(copies)
        local_metadata.update_dataset(destination, metadata)
    return Dataset(path=destination, recursive=True)
