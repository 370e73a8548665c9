"""Google Cloud Storage: the one module through which plait reads and writes ``gs://`` paths.

Built on ``google-cloud-storage`` (imported lazily, at first use, so importing the resource
library stays cheap). Every operation:

- retries transient errors (429, 5xx, connection errors) with the library's exponential
  backoff, for at most ``PLAIT_STORAGE_RETRY_DEADLINE`` seconds (default 120, the library's);
  uploads are retried too, since plait's uploads are deterministic overwrites;
- raises ``plait.exceptions.StorageUnavailable`` (a ``ServiceUnavailable``, so Cloud Functions
  triggers retry) when transient errors outlast that budget;
- streams: uploads go in ``UPLOAD_CHUNK_SIZE`` pieces and downloads are written chunk by chunk,
  so no file is ever read whole into memory;
- translates errors into ``plait.exceptions`` with messages that say what to change.

With ``STORAGE_EMULATOR_HOST`` set (tests, the local stack) the client talks to that emulator
with anonymous credentials. Otherwise it uses Application Default Credentials.

**Conditional writes and retries.** ``upload_from_string(..., if_generation_match=N)`` writes only
if the object's generation is ``N`` (0: only if absent), else raises
``plait.exceptions.PreconditionFailed``. Retrying such an upload after a transient error is safe
— the precondition means a retry can never overwrite anyone else's write, which is why
google-cloud-storage's ``DEFAULT_RETRY_IF_GENERATION_SPECIFIED`` retries exactly these calls —
but it is *ambiguous*: if the first attempt landed and only its response was lost, the retry
fails its precondition against our own write, turning a success into a spurious
``PreconditionFailed``. So conditional uploads are retried here (by the library's retry policy,
applied around the whole attempt so that attempts can be counted), and when an attempt that was
retried ends in a failed precondition the object is read back: if it holds exactly the bytes we
sent, our earlier attempt landed and the upload succeeds; otherwise ``PreconditionFailed`` stands.
Identical bytes written by someone else would pass that check too, so a caller that must tell
its write from another writer's puts something unique in the bytes (the question store's claims
carry a random token). ``delete(..., if_generation_match=N)`` has the same ambiguity in another
form: a retry after a delete that landed finds no object and raises ``CloudObjectNotFound`` —
the object is gone either way.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from plait.cloud.storage import path as storage_path
from plait.exceptions import (
    CloudCredentialsNotFound,
    CloudObjectNotFound,
    CloudStorageError,
    InvalidExpirationException,
    InvalidInputException,
    PreconditionFailed,
    StorageUnavailable,
)

#: Uploads are sent in pieces of this size (a multiple of 256 KiB, as GCS requires).
UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024

#: Signed URLs last this long unless asked otherwise, and never longer (the V4 maximum).
DEFAULT_SIGNED_URL_EXPIRATION = dt.timedelta(days=7)
MAXIMUM_SIGNED_URL_EXPIRATION = dt.timedelta(days=7)

#: Seconds to wait for a response to any single request.
REQUEST_TIMEOUT = 60

#: The environment variable bounding how long a failing request is retried, in seconds.
RETRY_DEADLINE_VARIABLE = "PLAIT_STORAGE_RETRY_DEADLINE"

#: How long a failing request is retried unless ``PLAIT_STORAGE_RETRY_DEADLINE`` says otherwise
#: (google-cloud-storage's own default).
DEFAULT_RETRY_DEADLINE = 120.0

_thread_local = threading.local()


@dataclass
class ObjectMetadata:
    """What plait needs to know about a cloud object, from one GET or one listing entry."""

    cloud_path: str
    size: int
    generation: int | None
    updated: dt.datetime | None
    content_type: str | None
    crc32c: str | None
    #: Custom metadata, with ``plait__*`` values JSON-decoded.
    custom_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_blob(cls, blob: Any) -> ObjectMetadata:
        return cls(
            cloud_path=storage_path.generate_gs_path(blob.bucket.name, blob.name),
            size=blob.size or 0,
            generation=blob.generation,
            updated=blob.updated,
            content_type=blob.content_type,
            crc32c=blob.crc32c,
            custom_metadata=decode_custom_metadata(blob.metadata or {}),
        )


def encode_custom_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """JSON-encode custom metadata values (GCS stores strings only)."""
    return {key: json.dumps(value, sort_keys=True, separators=(",", ":")) for key, value in metadata.items()}


def decode_custom_metadata(metadata: dict[str, str]) -> dict[str, Any]:
    """Decode JSON-encoded custom metadata values; values that are not JSON are kept as strings."""
    decoded = {}
    for key, value in metadata.items():
        if value is None:  # a deleted key, as some emulators report it
            continue
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def retry_deadline() -> float:
    """Seconds to keep retrying a failing request: ``PLAIT_STORAGE_RETRY_DEADLINE``, else 120.

    :raise plait.exceptions.InvalidInputException: if the variable is set but is not a number of seconds
    """
    value = os.environ.get(RETRY_DEADLINE_VARIABLE, "").strip()
    if not value:
        return DEFAULT_RETRY_DEADLINE
    try:
        deadline = float(value)
    except ValueError:
        deadline = -1.0
    if not deadline >= 0:  # also rejects NaN
        raise InvalidInputException(f"{RETRY_DEADLINE_VARIABLE} must be a number of seconds (e.g. 30), not {value!r}.")
    return deadline


def emulator_host() -> str | None:
    """The storage emulator's base URL if ``STORAGE_EMULATOR_HOST`` is set, else None."""
    host = os.environ.get("STORAGE_EMULATOR_HOST")
    if not host:
        return None
    return host if host.startswith("http") else f"http://{host}"


class GoogleCloudStorageClient:
    """A client for Google Cloud Storage.

    :param credentials: google-auth credentials to use; found automatically if None
    :param project_name: the Google Cloud project to bill; found automatically if None
    """

    def __init__(self, credentials: Any = None, project_name: str | None = None) -> None:
        self._credentials = credentials
        self._project_name = project_name

    # -- the underlying google-cloud-storage client (one per thread: it is not thread-safe) --

    @property
    def client(self) -> Any:
        key = (id(self._credentials), self._project_name, emulator_host())
        clients = getattr(_thread_local, "clients", None)
        if clients is None:
            clients = _thread_local.clients = {}
        if key not in clients:
            clients[key] = self._make_client()
        return clients[key]

    def _make_client(self) -> Any:
        from google.cloud import storage

        if emulator_host():
            from google.auth.credentials import AnonymousCredentials

            project = self._project_name or os.environ.get("GOOGLE_CLOUD_PROJECT") or "plait-local"
            return storage.Client(project=project, credentials=self._credentials or AnonymousCredentials())

        credentials, project = self._credentials, self._project_name
        if credentials is None:
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError

            try:
                credentials, default_project = google.auth.default()
            except DefaultCredentialsError as error:
                raise CloudCredentialsNotFound(
                    "No Google Cloud credentials were found. Set GOOGLE_APPLICATION_CREDENTIALS to the "
                    "path of a service-account key file, run `gcloud auth application-default login`, "
                    "or set STORAGE_EMULATOR_HOST to use a storage emulator."
                ) from error
            project = project or default_project
        return storage.Client(project=project, credentials=credentials)

    def _blob(self, cloud_path: str) -> Any:
        bucket_name, name = storage_path.split_bucket_name_from_cloud_path(cloud_path)
        if not name:
            from plait.exceptions import InvalidPathException

            raise InvalidPathException(f"{cloud_path!r} names a bucket, not an object: add the object's path.")
        return self.client.bucket(bucket_name).blob(name)

    # -- writing --

    def upload_file(
        self,
        local_path: str,
        cloud_path: str,
        metadata: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ObjectMetadata:
        """Upload a local file, streamed in chunks, setting its custom metadata in the same request.

        :param progress: called with the number of bytes sent since the last call
        """
        blob = self._blob(cloud_path)
        blob.chunk_size = UPLOAD_CHUNK_SIZE
        if metadata:
            blob.metadata = encode_custom_metadata(metadata)

        with open(local_path, "rb") as file:
            stream = _ProgressReader(file, progress) if progress else file
            self._call(
                cloud_path,
                blob.upload_from_file,
                stream,
                size=os.fstat(file.fileno()).st_size,
                retry=self._retry,
                timeout=REQUEST_TIMEOUT,
            )
        return ObjectMetadata.from_blob(blob)

    def upload_from_string(
        self,
        data: str | bytes,
        cloud_path: str,
        metadata: dict[str, Any] | None = None,
        content_type: str | None = None,
        if_generation_match: int | None = None,
    ) -> ObjectMetadata:
        """Upload a small in-memory payload (metadata documents, manifests, records).

        :param if_generation_match: write only if the object's generation is this (0: only if it
            does not exist); see the module docstring for how retries are made safe
        :raise plait.exceptions.PreconditionFailed: if ``if_generation_match`` is not met
        """
        blob = self._blob(cloud_path)
        if metadata:
            blob.metadata = encode_custom_metadata(metadata)
        if content_type is None and isinstance(data, str):
            content_type = "application/json" if cloud_path.endswith((".json", "/.plait")) else "text/plain"
        content_type = content_type or "application/octet-stream"

        if if_generation_match is not None:
            return self._upload_if_generation_matches(cloud_path, blob, data, content_type, if_generation_match)

        self._call(
            cloud_path,
            blob.upload_from_string,
            data,
            content_type=content_type,
            retry=self._retry,
            timeout=REQUEST_TIMEOUT,
        )
        return ObjectMetadata.from_blob(blob)

    def _upload_if_generation_matches(
        self, cloud_path: str, blob: Any, data: str | bytes, content_type: str, if_generation_match: int
    ) -> ObjectMetadata:
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=if_generation_match,
                retry=None,
                timeout=REQUEST_TIMEOUT,
            )

        try:
            self._call(cloud_path, self._retry(attempt))
        except PreconditionFailed:
            if attempts > 1:  # ambiguous: perhaps an earlier attempt landed and only its response was lost
                landed = self._metadata_if_holding(cloud_path, data.encode("utf-8") if isinstance(data, str) else data)
                if landed is not None:
                    return landed
            raise
        return ObjectMetadata.from_blob(blob)

    def _metadata_if_holding(self, cloud_path: str, data: bytes) -> ObjectMetadata | None:
        """The object's metadata if it holds exactly ``data``, else None."""
        try:
            current, generation = self._download_bytes_with_generation(cloud_path)
        except CloudObjectNotFound:
            return None
        if current != data:
            return None
        metadata = self.get_metadata(cloud_path)
        return metadata if metadata is not None and metadata.generation == generation else None

    def overwrite_custom_metadata(
        self, cloud_path: str, metadata: dict[str, Any], if_generation_match: int | None = None
    ) -> None:
        """Replace the object's ``plait__*`` custom metadata with ``metadata`` (values JSON-encoded).

        :param if_generation_match: change the metadata only if the object's generation is this
            (a patch keeps the generation, so retrying it is unambiguous)
        :raise plait.exceptions.PreconditionFailed: if ``if_generation_match`` is not met
        """
        blob = self._blob(cloud_path)
        conditions = {} if if_generation_match is None else {"if_generation_match": if_generation_match}
        self._call(cloud_path, blob.reload, retry=self._retry, timeout=REQUEST_TIMEOUT, **conditions)
        # Keep any custom metadata that is not ours; replace ours whole. A patch merges keys, so ours
        # that are not in ``metadata`` are removed explicitly (GCS deletes keys patched to None).
        existing = blob.metadata or {}
        removed = {key: None for key in existing if key.startswith("plait__")}
        kept = {key: value for key, value in existing.items() if not key.startswith("plait__")}
        blob.metadata = {**removed, **kept, **encode_custom_metadata(metadata)}
        self._call(cloud_path, blob.patch, retry=self._retry, timeout=REQUEST_TIMEOUT, **conditions)

    def delete(self, cloud_path: str, if_generation_match: int | None = None) -> None:
        """Delete an object.

        :param if_generation_match: delete only if the object's generation is this
        :raise plait.exceptions.CloudObjectNotFound: if there is no such object
        :raise plait.exceptions.PreconditionFailed: if ``if_generation_match`` is not met
        """
        blob = self._blob(cloud_path)
        self._call(
            cloud_path,
            blob.delete,
            if_generation_match=if_generation_match,
            retry=self._retry,
            timeout=REQUEST_TIMEOUT,
        )

    # -- reading --

    def get_metadata(self, cloud_path: str) -> ObjectMetadata | None:
        """The object's metadata, or None if it does not exist."""
        blob = self._blob(cloud_path)
        try:
            found = self._call(cloud_path, blob.bucket.get_blob, blob.name, retry=self._retry, timeout=REQUEST_TIMEOUT)
        except CloudObjectNotFound:
            return None
        return ObjectMetadata.from_blob(found) if found is not None else None

    def exists(self, cloud_path: str) -> bool:
        return self.get_metadata(cloud_path) is not None

    def download_to_file(self, cloud_path: str, local_path: str, progress: Callable[[int], None] | None = None) -> None:
        """Download an object to a local file, streamed; the file appears whole or not at all."""
        directory = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(directory, exist_ok=True)
        temporary_path = f"{local_path}.plait-download-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(temporary_path, "wb") as file:
                self.download_to_stream(cloud_path, _ProgressWriter(file, progress) if progress else file)
            os.replace(temporary_path, local_path)
        finally:
            if os.path.exists(temporary_path):
                os.remove(temporary_path)

    def download_to_stream(self, cloud_path: str, stream: Any, generation: int | None = None) -> None:
        """Write an object's bytes into any object with a ``write`` method, chunk by chunk.

        :param generation: download this generation of the object (the live one if None)
        :raise plait.exceptions.CloudObjectNotFound: if the object (or that generation of it) does not exist
        """
        blob = self._blob(cloud_path)
        if generation is not None:
            blob = blob.bucket.blob(blob.name, generation=generation)
        self._call(cloud_path, blob.download_to_file, stream, retry=self._retry, timeout=REQUEST_TIMEOUT)

    def download_as_string(self, cloud_path: str) -> str:
        """Download a small text object (metadata documents, manifests)."""
        blob = self._blob(cloud_path)
        data = self._call(cloud_path, blob.download_as_bytes, retry=self._retry, timeout=REQUEST_TIMEOUT)
        return data.decode("utf-8")

    def download_as_string_with_generation(self, cloud_path: str) -> tuple[str, int]:
        """Download a small text object and the generation those bytes belong to.

        The generation is what a later ``if_generation_match`` compares with, so a
        read-modify-write built on it cannot overwrite a change made in between.

        :raise plait.exceptions.CloudObjectNotFound: if there is no such object
        """
        data, generation = self._download_bytes_with_generation(cloud_path)
        return data.decode("utf-8"), generation

    def _download_bytes_with_generation(self, cloud_path: str) -> tuple[bytes, int]:
        blob = self._blob(cloud_path)
        data = self._call(cloud_path, blob.download_as_bytes, retry=self._retry, timeout=REQUEST_TIMEOUT)
        if blob.generation is not None:  # from the response's x-goog-generation header
            return data, blob.generation

        # A server that does not send the header: read the live generation, then exactly its bytes.
        metadata = self.get_metadata(cloud_path)
        if metadata is None or metadata.generation is None:
            raise CloudObjectNotFound(f"{cloud_path} does not exist (check the bucket's name too).")
        data = self._call(
            cloud_path,
            blob.download_as_bytes,
            if_generation_match=metadata.generation,
            retry=self._retry,
            timeout=REQUEST_TIMEOUT,
        )
        return data, metadata.generation

    def list_objects(self, cloud_path: str, recursive: bool = False) -> Iterator[ObjectMetadata]:
        """The objects under a "directory" (its direct children, or all descendants if recursive)."""
        bucket_name, prefix = storage_path.split_bucket_name_from_cloud_path(cloud_path)
        prefix = f"{prefix}/" if prefix else ""
        blobs = self._call(
            cloud_path,
            self.client.list_blobs,
            bucket_name,
            prefix=prefix,
            delimiter=None if recursive else "/",
            retry=self._retry,
            timeout=REQUEST_TIMEOUT,
        )
        for blob in self._iterate(cloud_path, blobs):
            relative_name = blob.name[len(prefix) :]
            # Some emulators ignore the delimiter; apply it here as well.
            if not relative_name or (not recursive and "/" in relative_name):
                continue
            yield ObjectMetadata.from_blob(blob)

    # -- signed URLs --

    def generate_signed_url(
        self,
        cloud_path: str,
        expiration: dt.timedelta | dt.datetime = DEFAULT_SIGNED_URL_EXPIRATION,
        method: str = "GET",
    ) -> str:
        """Generate a V4 signed URL for an object.

        Signing credentials, in order: the service-account key file named by
        ``GOOGLE_APPLICATION_CREDENTIALS``; credentials that can sign by themselves; otherwise
        (on Cloud Functions, where there is no private key) the IAM signBlob API, acting as the
        runtime service account.

        :raise plait.exceptions.InvalidExpirationException: if the expiry is not in the next 7 days
        :raise plait.exceptions.CloudCredentialsNotFound: if there is nothing to sign with
        """
        expiration = validate_expiration(expiration)
        blob = self._blob(cloud_path)
        kwargs: dict[str, Any] = {"version": "v4", "expiration": expiration, "method": method}
        if emulator_host():
            kwargs["api_access_endpoint"] = emulator_host()
        kwargs.update(_signing_arguments())
        return self._call(cloud_path, blob.generate_signed_url, **kwargs)

    # -- internals --

    @property
    def _retry(self) -> Any:
        """google-cloud-storage's retry policy, bounded by ``retry_deadline()``."""
        from google.cloud.storage.retry import DEFAULT_RETRY

        return DEFAULT_RETRY.with_timeout(retry_deadline())

    def _call(self, cloud_path: str, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call the storage library, translating its errors into plait's."""
        try:
            return function(*args, **kwargs)
        except Exception as error:
            translated = _translate_error(cloud_path, error)
            if translated is None:
                raise
            raise translated from error

    def _iterate(self, cloud_path: str, iterator: Any) -> Iterator[Any]:
        try:
            yield from iterator
        except Exception as error:
            translated = _translate_error(cloud_path, error, listing=True)
            if translated is None:
                raise
            raise translated from error


def _translate_error(cloud_path: str, error: Exception, listing: bool = False) -> Exception | None:
    """The plait exception for an error from the storage library (None: not the library's, re-raise it)."""
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    if isinstance(error, api_exceptions.NotFound):
        if listing:
            return CloudObjectNotFound(f"The bucket of {cloud_path} does not exist: {error.message}")
        return CloudObjectNotFound(f"{cloud_path} does not exist (check the bucket's name too): {error.message}")
    if isinstance(error, api_exceptions.PreconditionFailed):
        return PreconditionFailed(
            f"{cloud_path} was not written: it changed (or was created) since the generation the write was "
            f"conditional on. {error.message}"
        )
    if isinstance(error, api_exceptions.Forbidden | api_exceptions.Unauthorized):
        return CloudStorageError(
            f"Access to {cloud_path} was refused ({error.code}): check that your credentials' "
            f"service account has permission for this bucket. {error.message}"
        )
    transient = isinstance(error, api_exceptions.RetryError) or (
        isinstance(error, api_exceptions.GoogleAPICallError) and (error.code == 429 or (error.code or 0) >= 500)
    )
    if transient or isinstance(
        error, requests.ConnectionError | requests.Timeout | ConnectionError | auth_exceptions.TransportError
    ):
        cause = getattr(error, "cause", None) or error
        return StorageUnavailable(
            f"Cloud storage is unavailable for {cloud_path} (retried for up to {retry_deadline():g} s; "
            f"{RETRY_DEADLINE_VARIABLE} sets how long): {cause}"
        )
    if isinstance(error, api_exceptions.GoogleAPICallError):
        action = "Listing" if listing else "Cloud storage request for"
        return CloudStorageError(f"{action} {cloud_path} failed: {error}")
    return None


def validate_expiration(expiration: dt.timedelta | dt.datetime) -> dt.timedelta:
    """Turn an expiry (duration or moment) into a duration, rejecting anything beyond 7 days."""
    if isinstance(expiration, dt.datetime):
        moment = expiration if expiration.tzinfo else expiration.replace(tzinfo=dt.UTC)
        expiration = moment - dt.datetime.now(dt.UTC)
    if not isinstance(expiration, dt.timedelta):
        raise InvalidExpirationException(
            f"A signed URL's expiration must be a datetime.timedelta or datetime.datetime, not {expiration!r}."
        )
    if expiration <= dt.timedelta(0):
        raise InvalidExpirationException(f"A signed URL's expiration must be in the future (got {expiration}).")
    if expiration > MAXIMUM_SIGNED_URL_EXPIRATION:
        raise InvalidExpirationException(
            f"A signed URL can last at most 7 days (V4 signing limit), not {expiration}: choose a shorter expiration."
        )
    return expiration


@functools.lru_cache(maxsize=8)
def _key_file_credentials(key_file: str, modified_ns: int) -> Any:
    """Service-account credentials from a key file (cached by path and modification time)."""
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(key_file)


def _signing_arguments() -> dict[str, Any]:
    """The credentials (or signBlob details) to sign URLs with; see ``generate_signed_url``."""
    key_file = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file:
        try:
            # Loading a private key takes ~30 ms: load each key file once (again only if it changes).
            return {"credentials": _key_file_credentials(key_file, os.stat(key_file).st_mtime_ns)}
        except (OSError, ValueError, KeyError) as error:
            raise CloudCredentialsNotFound(
                f"GOOGLE_APPLICATION_CREDENTIALS names {key_file!r}, which is not a readable service-account "
                f"key file ({error}); signing URLs locally needs one."
            ) from error

    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError as error:
        raise CloudCredentialsNotFound(
            "Signing a URL needs credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key "
            "file, or run where a service account is attached (e.g. Cloud Functions)."
        ) from error

    from google.auth import credentials as auth_credentials

    if isinstance(credentials, auth_credentials.Signing):
        return {"credentials": credentials}

    # No private key (Cloud Functions, Cloud Run, GCE): sign through IAM signBlob as ourselves.
    import google.auth.transport.requests

    credentials.refresh(google.auth.transport.requests.Request())
    email = getattr(credentials, "service_account_email", None)
    if not email or email == "default":
        raise CloudCredentialsNotFound(
            "These credentials cannot sign URLs: use a service-account key file "
            "(GOOGLE_APPLICATION_CREDENTIALS) or a runtime service account with "
            "roles/iam.serviceAccountTokenCreator on itself."
        )
    return {"service_account_email": email, "access_token": credentials.token}


class _ProgressReader:
    """A read-only file wrapper that reports bytes read (for upload progress bars)."""

    def __init__(self, file: BinaryIO, progress: Callable[[int], None]) -> None:
        self._file = file
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._progress(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class _ProgressWriter:
    """A write-only file wrapper that reports bytes written (for download progress bars)."""

    def __init__(self, file: BinaryIO, progress: Callable[[int], None] | None) -> None:
        self._file = file
        self._progress = progress

    def write(self, data: bytes) -> int:
        written = self._file.write(data)
        if self._progress:
            self._progress(len(data))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)
