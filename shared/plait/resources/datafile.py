"""``Datafile``: one file, local, in the cloud, or behind a signed URL, with its metadata.

Decisions where the reference is silent or weak (also in ``docs/api.md``):

- ``path`` is where the file primarily lives (its signed URL, else its cloud path, else its
  local path) and never triggers a download; ``local_path`` downloads a cloud file on first use.
- ``timestamp`` is an aware UTC ``datetime`` (or None), so datetime filters work on it;
  ``posix_timestamp`` is the same moment in seconds.
- A Datafile may name a local file that does not exist yet (so it can be written with
  ``open("w")``); reading, hashing or uploading it raises ``FileNotFoundException``.
- A local file's hash is cached in its directory's ``.plait`` file with the file's size and
  modification time in nanoseconds; the cached hash is reused only while both still match (as
  git's index does), otherwise the file is hashed again.
- A Datafile opened from a signed URL is read-only: writing to it, or updating its stored
  metadata, raises ``ReadOnlyResource``. It can still be downloaded, or uploaded (copied) to a
  ``gs://`` path of your own.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import tempfile
import threading
import uuid
from typing import IO, Any

from plait import __version__, hashing
from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import DEFAULT_SIGNED_URL_EXPIRATION, GoogleCloudStorageClient, ObjectMetadata
from plait.exceptions import (
    CloudLocationNotSpecified,
    CloudObjectNotFound,
    FileNotFoundException,
    InvalidInputException,
    ReadOnlyResource,
)
from plait.resources import identity, local_metadata
from plait.resources.label import LabelSet
from plait.resources.tag import TagDict

#: The attributes a Datafile's metadata consists of (``hash`` is added in stored forms).
METADATA_ATTRIBUTES = ("id", "timestamp", "tags", "labels")

_WRITE_MODE_CHARACTERS = frozenset("wax+")

# Keys that a serialised Datafile carries and the constructor accepts without using (they are
# derived from the file itself).
_DERIVED_KEYS = frozenset(("name", "size_bytes", "sdk_version", "local_path_is_temporary"))


class Datafile:
    """A data file with metadata: id, timestamp, tags and labels.

    :param path: the file's local path, ``gs://`` cloud path, or signed URL
    :param local_path: if ``path`` is a cloud path, an existing local file known to be in sync with it
    :param cloud_path: if ``path`` is local, a cloud path to keep in sync with the local file
    :param timestamp: a time associated with the data (datetime, posix seconds or ISO 8601 text)
    :param mode: the mode to open the file in when the Datafile is used as a context manager
    :param update_metadata: when used as a context manager, update the stored metadata on exit
    :param ignore_stored_metadata: ignore metadata stored locally or in the cloud; use the arguments
    :param id: the file's UUID (validated; generated if None)
    :param tags: key-value pairs (see ``TagDict``)
    :param labels: labels (see ``LabelSet``): a space-separated string or any iterable of strings
    :param kwargs: ``hash_value`` (a known hash, e.g. from a serialisation); the derived keys
        ``name``, ``size_bytes`` and ``sdk_version`` of a serialisation are accepted and ignored
    """

    def __init__(
        self,
        path: str,
        local_path: str | None = None,
        cloud_path: str | None = None,
        timestamp: dt.datetime | int | float | str | None = None,
        mode: str = "r",
        update_metadata: bool = True,
        ignore_stored_metadata: bool = False,
        id: str | None = None,
        tags: dict | TagDict | None = None,
        labels: Any = None,
        **kwargs: Any,
    ) -> None:
        hash_value = kwargs.pop("hash_value", None)
        stored = kwargs.pop("_stored_metadata", None)
        object_metadata = kwargs.pop("_object_metadata", None)
        unknown = set(kwargs) - _DERIVED_KEYS
        if unknown:
            raise TypeError(f"Datafile() got unexpected keyword arguments: {', '.join(sorted(unknown))}")

        if not isinstance(path, str | os.PathLike) or not str(path):
            raise InvalidInputException(f"A Datafile needs a path (local, gs:// or a signed URL), not {path!r}.")
        path = os.fspath(path)

        self._signed_url: str | None = None
        self._cloud_path: str | None = None
        self._local_path: str | None = None
        self._local_path_is_temporary = False
        self._cloud_based = False
        self._object_metadata: ObjectMetadata | None = object_metadata

        if storage_path.is_url(path):
            self._signed_url = path
        elif storage_path.is_cloud_path(path):
            storage_path.split_bucket_name_from_cloud_path(path)
            self._cloud_path = path
            self._cloud_based = True
            if local_path is not None:
                self._local_path = os.path.abspath(local_path)
        else:
            self._local_path = os.path.abspath(path)
            if cloud_path is not None:
                storage_path.split_bucket_name_from_cloud_path(cloud_path)
                self._cloud_path = cloud_path

        self.id = identity.validate_id(id)
        self._timestamp = identity.parse_timestamp(timestamp)
        self._tags = TagDict(tags)
        self._labels = LabelSet(labels)
        self._hash_value: str | None = hash_value
        self._open_attributes = {"mode": mode, "update_metadata": update_metadata}
        self._open_context: _DatafileOpener | None = None

        if not ignore_stored_metadata:
            if stored is None:
                stored = self._load_stored_metadata()
            self._apply_stored_metadata(stored)

    # -- construction helpers --

    def _load_stored_metadata(self) -> dict[str, Any]:
        """This file's stored metadata in plain (un-namespaced) form, from its directory's .plait file
        or its cloud object's custom metadata."""
        if self._signed_url is not None:
            return {}
        if self._cloud_based:
            if self._object_metadata is None:
                self._object_metadata = self._storage.get_metadata(self._cloud_path)
            return _strip_namespace(self._object_metadata.custom_metadata) if self._object_metadata else {}
        directory, name = os.path.split(self._local_path)
        return local_metadata.load(directory).get("datafiles", {}).get(name, {})

    def _apply_stored_metadata(self, stored: dict[str, Any]) -> None:
        if not stored:
            return
        if stored.get("id") is not None:
            self.id = identity.validate_id(stored["id"])
        if stored.get("timestamp") is not None:
            self._timestamp = identity.parse_timestamp(stored["timestamp"])
        if stored.get("tags") is not None:
            self._tags = TagDict(stored["tags"])
        if stored.get("labels") is not None:
            self._labels = LabelSet(stored["labels"])
        if stored.get("hash") and self._hash_value is None:
            if self._is_cloud_based:
                self._hash_value = stored["hash"]
            else:
                self._cached_local_hash = (stored["hash"], stored.get("size_bytes"), stored.get("modified_ns"))

    @classmethod
    def deserialise(cls, serialised_datafile: dict | str, from_string: bool = False) -> Datafile:
        """Rebuild a Datafile from ``to_primitive()``'s dictionary or ``serialise()``'s JSON string.

        The serialised metadata (including the hash) is used as given: it is a record of the file
        as its sender saw it, so stored metadata is not consulted.
        """
        primitive = dict(identity.load_json(serialised_datafile, from_string))
        known = {"path", "local_path", "cloud_path", "timestamp", "id", "tags", "labels", "hash_value"}
        arguments = {key: value for key, value in primitive.items() if key in known}
        if "path" not in arguments:
            raise InvalidInputException("A serialised Datafile must have a 'path'.")
        if arguments.get("local_path") and not os.path.exists(arguments["local_path"]):
            arguments.pop("local_path")
        if arguments["path"] == arguments.get("cloud_path"):
            arguments.pop("cloud_path")
        return cls(**arguments, ignore_stored_metadata=True)

    # -- identity and location --

    @property
    def name(self) -> str:
        """The file's name (the last segment of its path)."""
        if self._signed_name:
            return self._signed_name
        return storage_path.basename(self._signed_url or self._cloud_path or self._local_path)

    @property
    def extension(self) -> str:
        """The file's extension, without the dot (empty if it has none)."""
        return os.path.splitext(self.name)[1].lstrip(".")

    @property
    def path(self) -> str:
        """Where the file primarily lives: its signed URL, else its cloud path, else its local path.

        Unlike ``local_path``, this never downloads anything.
        """
        if self._signed_url:
            return self._signed_url
        if self._is_cloud_based:
            return self._cloud_path
        return self._local_path

    @property
    def cloud_path(self) -> str | None:
        """The file's ``gs://`` path, if it has one."""
        return self._cloud_path

    @property
    def signed_url(self) -> str | None:
        """The signed URL the file was opened from, if it was."""
        return self._signed_url

    @property
    def local_path(self) -> str:
        """The file's local path, downloading it from the cloud to a temporary file on first use."""
        if self._local_path is None or (self._local_path_is_temporary and not os.path.exists(self._local_path)):
            self.download()
        return self._local_path

    @property
    def is_read_only(self) -> bool:
        """True if the file was opened from a signed URL."""
        return self._signed_url is not None

    @property
    def exists_locally(self) -> bool:
        return self._local_path is not None and os.path.isfile(self._local_path)

    @property
    def exists_in_cloud(self) -> bool:
        """True if the file has a cloud path and an object exists there."""
        if self._cloud_path is None:
            return False
        if self._object_metadata is None:
            self._object_metadata = self._storage.get_metadata(self._cloud_path)
        return self._object_metadata is not None

    @property
    def _is_cloud_based(self) -> bool:
        """A cloud-based file lives in the cloud (any local copy is a copy of it): it was opened from a
        ``gs://`` path, or uploaded."""
        return self._cloud_based

    # -- metadata --

    @property
    def timestamp(self) -> dt.datetime | None:
        """The time associated with the data, as an aware UTC datetime (None if none was given)."""
        return self._timestamp

    @timestamp.setter
    def timestamp(self, value: dt.datetime | int | float | str | None) -> None:
        self._timestamp = identity.parse_timestamp(value)

    @property
    def posix_timestamp(self) -> float | None:
        """The timestamp in seconds since the epoch (None if there is no timestamp)."""
        return self._timestamp.timestamp() if self._timestamp is not None else None

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
        """Add tags (validated; if any is invalid, none is added)."""
        self._tags.update({**(tags or {}), **kwargs})

    def add_labels(self, *args: str) -> None:
        """Add labels (validated; if any is invalid, none is added)."""
        self._labels.add(*args)

    @property
    def size_bytes(self) -> int | None:
        """The file's size in bytes (from the local file, else from the cloud object's metadata)."""
        if self.exists_locally:
            return os.path.getsize(self._local_path)
        if self._cloud_path is not None and self.exists_in_cloud:
            return self._object_metadata.size
        if self._signed_url is not None and self._signed_size is not None:
            return self._signed_size
        return None

    _signed_size: int | None = None
    _signed_name: str | None = None
    _signed_path_in_dataset: str | None = None
    _cached_local_hash: tuple[str, int | None, int | None] | None = None

    @property
    def cloud_hash_value(self) -> str | None:
        """The hash stored in the cloud object's metadata (None if there is none)."""
        if self._cloud_path is None or not self.exists_in_cloud:
            return None
        return self._object_metadata.custom_metadata.get("plait__hash")

    def metadata(
        self, include_id: bool = True, include_sdk_version: bool = True, use_plait_namespace: bool = True
    ) -> dict[str, Any]:
        """The file's metadata as primitives: id, timestamp, tags, labels and sdk_version.

        :param include_id: include the id
        :param include_sdk_version: include the version of plait that wrote the metadata
        :param use_plait_namespace: prefix each name with ``plait__``
        """
        metadata: dict[str, Any] = {}
        if include_id:
            metadata["id"] = self.id
        metadata["timestamp"] = identity.format_timestamp(self._timestamp)
        metadata["tags"] = self._tags.to_primitive()
        metadata["labels"] = self._labels.to_primitive()
        if include_sdk_version:
            metadata["sdk_version"] = __version__
        if use_plait_namespace:
            return {f"plait__{key}": value for key, value in metadata.items()}
        return metadata

    def update_metadata(self) -> None:
        """Save the in-memory metadata: to the cloud object for a cloud-based file, else to the local
        ``.plait`` file of the file's directory."""
        if self._is_cloud_based:
            self.update_cloud_metadata()
        else:
            self.update_local_metadata()

    def update_cloud_metadata(self) -> None:
        """Save the in-memory metadata (and hash) to the cloud object's ``plait__*`` custom metadata.

        :raise plait.exceptions.CloudLocationNotSpecified: if the file has no cloud path
        """
        self._check_writable()
        if self._cloud_path is None:
            raise CloudLocationNotSpecified(
                f"{self.name} has no cloud path, so its cloud metadata cannot be updated: upload it first "
                "(datafile.upload('gs://bucket/path')) or give cloud_path."
            )
        metadata = self._stored_cloud_metadata()
        self._storage.overwrite_custom_metadata(self._cloud_path, metadata)
        if self._object_metadata is not None:
            self._object_metadata.custom_metadata.update(metadata)

    def update_local_metadata(self) -> None:
        """Save the in-memory metadata (and hash) to the ``.plait`` file of the file's directory."""
        self._check_writable()
        if self._local_path is None or self._local_path_is_temporary:
            raise CloudLocationNotSpecified(
                f"{self.name} has no local path of its own, so it has no local metadata: download it to a "
                "path first (datafile.download('path/to/file'))."
            )
        directory, name = os.path.split(self._local_path)
        local_metadata.update_datafile(directory, name, self.stored_local_metadata())

    def stored_local_metadata(self) -> dict[str, Any]:
        """This file's entry for its directory's ``.plait`` file (hashing the file if needed)."""
        stat = self._stat_local()
        entry = self.metadata(use_plait_namespace=False)
        entry["hash"] = self._local_hash(stat)
        entry["size_bytes"] = stat.st_size
        entry["modified_ns"] = stat.st_mtime_ns
        return entry

    def _stored_cloud_metadata(self) -> dict[str, Any]:
        metadata = self.metadata()
        metadata["plait__hash"] = self.hash_value
        return metadata

    # -- hashing --

    @property
    def hash_value(self) -> str:
        """The BLAKE3 hash of the file's bytes (base64), computed once and then remembered.

        A local file is hashed locally; a cloud file uses the hash in its cloud metadata if it has
        one, else its bytes are streamed through the hasher (bounded memory, nothing kept).
        """
        if self._hash_value is None:
            self._hash_value = self._calculate_hash()
        return self._hash_value

    @hash_value.setter
    def hash_value(self, value: str) -> None:
        self._hash_value = value

    def reset_hash(self) -> None:
        """Forget any remembered or set hash and calculate it from the file's bytes again."""
        self._hash_value = None
        self._cached_local_hash = None
        self._hash_value = self._calculate_hash(use_cloud_metadata=False)

    def _calculate_hash(self, use_cloud_metadata: bool = True) -> str:
        if self.exists_locally:
            return self._local_hash(self._stat_local())
        if self._cloud_based:
            if use_cloud_metadata and self.cloud_hash_value:
                return self.cloud_hash_value
            hasher = hashing.StreamingHasher()
            self._storage.download_to_stream(self._cloud_path, hasher)
            return hasher.value()
        if self._signed_url is not None:
            return hashing.hash_file(self.local_path)  # downloads (again, if its copy was removed)
        return self._local_hash(self._stat_local())  # a local file that is missing: says so

    def _local_hash(self, stat: os.stat_result) -> str:
        cached = self._cached_local_hash
        if cached is not None and cached[1] == stat.st_size and cached[2] == stat.st_mtime_ns:
            return cached[0]
        value = hashing.hash_file(self._local_path, size=stat.st_size)
        self._cached_local_hash = (value, stat.st_size, stat.st_mtime_ns)
        return value

    def _stat_local(self) -> os.stat_result:
        try:
            return os.stat(self._local_path)
        except FileNotFoundError:
            raise FileNotFoundException(
                f"The local file {self._local_path} does not exist: correct the path, or write the file first "
                "(with datafile.open('w'))."
            ) from None

    # -- transfers --

    def upload(self, cloud_path: str | None = None, update_cloud_metadata: bool = True, progress: Any = None) -> str:
        """Upload the file to Google Cloud Storage (streamed), with its metadata.

        :param cloud_path: where to put it (e.g. ``gs://bucket/path/file.csv``); defaults to the
            file's own cloud path
        :param update_cloud_metadata: set the object's ``plait__*`` metadata in the same request
        :param progress: an optional callable given the number of bytes sent as the upload proceeds
        :raise plait.exceptions.CloudLocationNotSpecified: if no cloud path is given or known
        :return: the ``gs://`` path of the uploaded file
        """
        cloud_path = cloud_path or self._cloud_path
        if cloud_path is None:
            raise CloudLocationNotSpecified(
                f"Where should {self.name} be uploaded? Give a cloud path, e.g. datafile.upload('gs://bucket/path')."
            )
        storage_path.split_bucket_name_from_cloud_path(cloud_path)

        if self._local_path is None or not self.exists_locally:
            if self._local_path is not None and not self._is_cloud_based:
                self._stat_local()  # raises FileNotFoundException with the path
            self.download()  # a cloud or signed-URL file being copied elsewhere

        self._stat_local()
        metadata = self._stored_cloud_metadata() if update_cloud_metadata else None
        self._object_metadata = self._storage.upload_file(
            self._local_path, cloud_path, metadata=metadata, progress=progress
        )
        if metadata:
            self._object_metadata.custom_metadata.update(metadata)
        self._cloud_path = cloud_path
        self._cloud_based = True
        return cloud_path

    def download(self, local_path: str | None = None, progress: Any = None) -> str:
        """Download the file from the cloud (or its signed URL) to ``local_path``, or to a temporary
        file if none is given.

        :raise plait.exceptions.CloudLocationNotSpecified: if the file is not in the cloud
        :return: the local path of the downloaded file
        """
        if self._cloud_path is None and self._signed_url is None:
            raise CloudLocationNotSpecified(
                f"{self.name} has no cloud path or signed URL to download from: it is a local file at "
                f"{self._local_path}."
            )
        temporary = local_path is None
        target = os.path.abspath(local_path) if local_path else _temporary_path(self.name)

        if self._signed_url is not None:
            from plait.cloud.storage import signed_url

            signed_url.download_to_file(self._signed_url, target, progress=progress)
        else:
            self._storage.download_to_file(self._cloud_path, target, progress=progress)

        self._local_path = target
        self._local_path_is_temporary = temporary
        return target

    def generate_signed_url(self, expiration: dt.timedelta | dt.datetime = DEFAULT_SIGNED_URL_EXPIRATION) -> str:
        """A V4 signed URL that lets anyone holding it read the file until it expires (at most 7 days).

        :raise plait.exceptions.CloudLocationNotSpecified: if the file is not in the cloud
        """
        if self._signed_url is not None:
            return self._signed_url
        if self._cloud_path is None:
            raise CloudLocationNotSpecified(
                f"{self.name} must be uploaded before a signed URL can be made for it: call "
                "datafile.upload('gs://bucket/path') first."
            )
        if not self.exists_in_cloud:
            raise CloudObjectNotFound(f"{self._cloud_path} does not exist, so it cannot be signed: upload it first.")
        return self._storage.generate_signed_url(self._cloud_path, expiration)

    # -- opening --

    @property
    def open(self) -> _OpenerFactory:
        """Open the file like the built-in ``open``, as a context manager only::

            with datafile.open("w") as f:
                f.write("some data")

        A cloud file is downloaded before reading or appending, and uploaded after writing; so is a
        local file given a ``cloud_path`` to keep in sync with.
        """
        return _OpenerFactory(self)

    def __enter__(self) -> tuple[Datafile, IO]:
        self._open_context = _DatafileOpener(self, self._open_attributes["mode"])
        return self, self._open_context.__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        context, self._open_context = self._open_context, None
        context.__exit__(*exc_info)
        if exc_info[0] is None and self._open_attributes["update_metadata"] and not self.is_read_only:
            self.update_metadata()

    def _check_writable(self) -> None:
        if self.is_read_only:
            raise ReadOnlyResource(
                f"{self.name} was opened from a signed URL and is read-only: download it "
                "(datafile.download(path)) and work on the copy, or upload it to a cloud path of your own."
            )

    # -- serialisation --

    def to_primitive(self) -> dict[str, Any]:
        """The file as JSON-compatible primitives (its hash is calculated if not yet known)."""
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "cloud_path": self._cloud_path,
            "local_path": None if self._local_path_is_temporary else self._local_path,
            "timestamp": identity.format_timestamp(self._timestamp),
            "tags": self._tags.to_primitive(),
            "labels": self._labels.to_primitive(),
            "hash_value": self.hash_value,
            "sdk_version": __version__,
        }

    def serialise(self, **kwargs: Any) -> str:
        """``to_primitive()`` as a JSON string (keyword arguments go to ``json.dumps``)."""
        return json.dumps(self.to_primitive(), **kwargs)

    def to_file(self, filename: str, **kwargs: Any) -> None:
        """Write ``to_primitive()`` to a JSON file."""
        identity.write_json_file(filename, self.to_primitive(), **kwargs)

    @property
    def _storage(self) -> GoogleCloudStorageClient:
        return GoogleCloudStorageClient()

    def __repr__(self) -> str:
        return f"<Datafile({self.name!r})>"


class _OpenerFactory:
    """What ``Datafile.open`` returns: call it like ``open`` to get the context manager."""

    def __init__(self, datafile: Datafile) -> None:
        self._datafile = datafile

    def __call__(self, mode: str = "r", **kwargs: Any) -> _DatafileOpener:
        return _DatafileOpener(self._datafile, mode, **kwargs)


class _DatafileOpener:
    """Context manager behind ``Datafile.open``: fetches before, uploads after, as needed."""

    def __init__(self, datafile: Datafile, mode: str = "r", **kwargs: Any) -> None:
        self.datafile = datafile
        self.mode = mode
        self.kwargs = kwargs
        self.writing = bool(_WRITE_MODE_CHARACTERS.intersection(mode))
        self._file: IO | None = None

    def __enter__(self) -> IO:
        datafile = self.datafile
        if self.writing:
            datafile._check_writable()

        if datafile._local_path is None or (datafile._is_cloud_based and not datafile.exists_locally):
            # Reading, appending or updating a cloud file needs its current bytes; a fresh write does not.
            if self.writing and "w" in self.mode and "+" not in self.mode:
                datafile._local_path = _temporary_path(datafile.name)
                datafile._local_path_is_temporary = True
            else:
                datafile.download()

        if self.writing:
            os.makedirs(os.path.dirname(datafile._local_path), exist_ok=True)
        elif not datafile.exists_locally:
            datafile._stat_local()

        self._file = open(datafile._local_path, self.mode, **self.kwargs)
        return self._file

    def __exit__(self, *exc_info: Any) -> None:
        self._file.close()
        if not self.writing or exc_info[0] is not None:
            return
        datafile = self.datafile
        datafile._hash_value = None
        datafile._cached_local_hash = None
        # A cloud file, or a local file kept in sync with a cloud path, is uploaded once written.
        if datafile._is_cloud_based or datafile._cloud_path is not None:
            datafile.upload()


# -- helpers --


def _strip_namespace(custom_metadata: dict[str, Any]) -> dict[str, Any]:
    prefix = "plait__"
    return {key[len(prefix) :]: value for key, value in custom_metadata.items() if key.startswith(prefix)}


_temporary_root: str | None = None
_temporary_root_lock = threading.Lock()


def _temporary_path(name: str) -> str:
    """A fresh path (keeping the file's name) in this process's temporary download directory,
    which is removed when the process exits. Set ``PLAIT_TEMPORARY_FILES_LOCATION`` to choose
    where that directory is made."""
    global _temporary_root
    with _temporary_root_lock:
        if _temporary_root is None:
            base = os.environ.get("PLAIT_TEMPORARY_FILES_LOCATION") or None
            if base:
                os.makedirs(base, exist_ok=True)
            _temporary_root = tempfile.mkdtemp(prefix="plait-", dir=base)
            atexit.register(shutil.rmtree, _temporary_root, ignore_errors=True)
    directory = os.path.join(_temporary_root, uuid.uuid4().hex)
    os.makedirs(directory)
    return os.path.join(directory, name)
