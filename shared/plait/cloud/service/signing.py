"""The signed-URL function: signed URLs for a datafile, a dataset or a manifest, within limits.

Request: ``GET ?path=gs://...&kind=datafile|dataset|manifest&expiration=<seconds>`` or a ``POST``
of the same fields as JSON. ``kind`` defaults to ``datafile``; ``expiration`` to 7 days.

Response: 200 with ``{"path", "kind", "url", "expires_in"}`` (a manifest also gets ``manifest``:
the manifest with each dataset replaced by its signed URL). Every error is JSON,
``{"error": {"code", "message"}}``: 400 for a malformed request (bad JSON, a path that is not a
``gs://`` path, ``..`` segments, an expiration that is not 1 second to 7 days), 403 for a path
outside the configured prefixes (``PLAIT_SIGNING_ALLOWED_PREFIXES``; for a manifest, also any of
its datasets), 404 for an object or dataset that does not exist, 405 for other methods.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import posixpath
from dataclasses import dataclass
from typing import Any

from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import MAXIMUM_SIGNED_URL_EXPIRATION, GoogleCloudStorageClient
from plait.exceptions import CloudObjectNotFound, InvalidInputException, PlaitException

logger = logging.getLogger(__name__)

KINDS = ("datafile", "dataset", "manifest")
MAXIMUM_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.body)


def error(status: int, message: str) -> Response:
    return Response(status, {"error": {"code": status, "message": message}})


def handle_signing_request(
    method: str, query: dict[str, str], body: bytes, allowed_prefixes: tuple[str, ...]
) -> Response:
    """Answer one request (see the module docstring); never raises for bad input."""
    if method not in ("GET", "POST"):
        return error(405, f"Use GET or POST, not {method}.")
    if method == "POST":
        if len(body) > MAXIMUM_REQUEST_BYTES:
            return error(400, f"The request body is larger than {MAXIMUM_REQUEST_BYTES} bytes.")
        try:
            fields = json.loads(body or b"{}")
        except (UnicodeDecodeError, ValueError):
            return error(400, 'The request body is not JSON: send {"path": "gs://bucket/path"}.')
        if not isinstance(fields, dict):
            return error(400, "The request body must be a JSON object with a 'path'.")
    else:
        fields = dict(query)

    path, kind, expiration = fields.get("path"), fields.get("kind", "datafile"), fields.get("expiration")
    if not isinstance(path, str) or not path:
        return error(400, "Give the 'path' to sign, e.g. ?path=gs://bucket/datasets/name.")
    if kind not in KINDS:
        return error(400, f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}.")
    problem = _path_problem(path)
    if problem:
        return error(400, problem)
    try:
        lifetime = _expiration(expiration)
    except InvalidInputException as problem:
        return error(400, str(problem))
    if not is_allowed(path, allowed_prefixes):
        return error(403, f"{path} is outside the locations this service signs: {', '.join(allowed_prefixes)}.")

    try:
        return _sign(path.rstrip("/") if kind != "datafile" else path, kind, lifetime, allowed_prefixes)
    except CloudObjectNotFound as problem:
        return error(404, str(problem))
    except PlaitException as problem:
        if isinstance(problem, InvalidInputException):
            return error(400, str(problem))
        raise


def is_allowed(path: str, allowed_prefixes: tuple[str, ...]) -> bool:
    """Is a (normalised) ``gs://`` path inside one of the prefixes? A prefix is a directory: ``gs://b/data``
    allows ``gs://b/data`` and ``gs://b/data/...`` but not ``gs://b/database``."""
    for prefix in allowed_prefixes:
        directory = prefix.rstrip("/")
        if path == directory or path.startswith(directory + "/"):
            return True
    return False


def _path_problem(path: str) -> str | None:
    if not storage_path.is_cloud_path(path):
        return f"{path!r} is not a gs:// path."
    try:
        bucket, name = storage_path.split_bucket_name_from_cloud_path(path)
    except InvalidInputException as problem:
        return str(problem)
    if not name:
        return f"{path!r} names a whole bucket; give a path inside it."
    raw = path[len("gs://") + len(bucket) + 1 :]
    segments = raw.split("/")
    if (
        ".." in segments
        or "." in segments
        or "" in segments[:-1]
        or "\\" in raw
        or posixpath.normpath(raw) != raw.rstrip("/")
    ):
        return f"{path!r} is not a normalised path: remove '.', '..' and empty segments."
    if any(ord(character) < 32 for character in raw):
        return f"{path!r} contains control characters."
    return None


def _expiration(value: Any) -> dt.timedelta:
    if value is None or value == "":
        return MAXIMUM_SIGNED_URL_EXPIRATION
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInputException(f"'expiration' must be a number of seconds, not {value!r}.") from None
    maximum = MAXIMUM_SIGNED_URL_EXPIRATION.total_seconds()
    if not 1 <= seconds <= maximum:
        raise InvalidInputException(f"'expiration' must be between 1 and {maximum:.0f} seconds (7 days), not {value}.")
    return dt.timedelta(seconds=seconds)


def _sign(path: str, kind: str, lifetime: dt.timedelta, allowed_prefixes: tuple[str, ...]) -> Response:
    from plait.resources import Dataset, Manifest, identity

    body: dict[str, Any] = {"path": path, "kind": kind, "expires_in": int(lifetime.total_seconds())}
    if kind == "datafile":
        if storage_path.is_metadata_object_name(path):
            return error(403, f"{path} is plait metadata, which is not signed.")
        if GoogleCloudStorageClient().get_metadata(path) is None:
            return error(404, f"{path} does not exist.")
        body["url"] = GoogleCloudStorageClient().generate_signed_url(path, lifetime)
    elif kind == "dataset":
        dataset = Dataset(path=path, recursive=True)
        if not len(dataset):
            return error(404, f"There is no dataset at {path} (no files under it).")
        body["url"] = dataset.generate_signed_url(lifetime)
    else:
        try:
            text = GoogleCloudStorageClient().download_as_string(path)
        except UnicodeDecodeError:
            return error(400, f"{path} is not a manifest: it is not JSON text.")
        primitive = identity.load_json(text, from_string=True)
        # Check every location the manifest names before opening any of it: a dataset given as a local
        # path or a URL would make this function read its own disk or fetch an arbitrary URL.
        datasets = primitive.get("datasets")
        for key, dataset in (datasets if isinstance(datasets, dict) else {}).items():
            outside = [location for location in _locations(dataset) if not _is_signable(location, allowed_prefixes)]
            if outside:
                return error(
                    403, f"The manifest's dataset {key!r} ({outside[0]}) is outside the locations this service signs."
                )
        manifest = Manifest.deserialise(primitive)
        signed = {key: dataset.generate_signed_url(lifetime) for key, dataset in manifest.datasets.items()}
        body["manifest"] = {**manifest.to_primitive(), "datasets": signed}
        body["url"] = GoogleCloudStorageClient().generate_signed_url(path, lifetime)
    return Response(200, body)


def _is_signable(location: Any, allowed_prefixes: tuple[str, ...]) -> bool:
    return isinstance(location, str) and not _path_problem(location) and is_allowed(location, allowed_prefixes)


def _locations(dataset: Any) -> list[Any]:
    """Every path a manifest's serialised dataset names: its own, and its files' if it lists them."""
    if not isinstance(dataset, dict):
        return [dataset]
    files = dataset.get("files") or []
    return [dataset.get("path")] + [
        file.get("path") if isinstance(file, dict) else file for file in (files if isinstance(files, list) else [files])
    ]
