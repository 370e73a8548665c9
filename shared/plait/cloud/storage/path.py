"""Paths: which kind a path is, and ``gs://`` path arithmetic.

A path is one of three kinds (DESIGN.md, "Paths"): ``gs://bucket/name`` is a cloud path, an
``http(s)://`` URL is a signed URL (read-only), anything else is local.
"""

from __future__ import annotations

import posixpath
import re

CLOUD_STORAGE_PROTOCOL = "gs://"

#: The name of the metadata file/object a dataset directory keeps (DESIGN.md, "Stored metadata").
METADATA_FILENAME = ".plait"

#: Where a cloud dataset keeps the JSON documents behind its signed URLs.
SIGNED_METADATA_DIRECTORY = ".signed_metadata_files"

# Bucket names: 3-63 characters of lowercase letters, digits, "-", "_" and "."; starting and
# ending with a letter or digit (the rules GCS applies to names without dots; longer dotted
# names are rare enough that we do not special-case them).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")


def is_cloud_path(path: object) -> bool:
    return isinstance(path, str) and path.startswith(CLOUD_STORAGE_PROTOCOL)


def is_url(path: object) -> bool:
    return isinstance(path, str) and (path.startswith("https://") or path.startswith("http://"))


def split_bucket_name_from_cloud_path(path: str) -> tuple[str, str]:
    """Split ``gs://bucket/a/b`` into ``("bucket", "a/b")``, validating both parts.

    :raise plait.exceptions.InvalidPathException: if the path is not a valid ``gs://`` path
    """
    from plait.exceptions import InvalidPathException

    if not is_cloud_path(path):
        raise InvalidPathException(f"{path!r} is not a cloud path: cloud paths look like 'gs://bucket/path'.")

    bucket_name, _, name = path[len(CLOUD_STORAGE_PROTOCOL) :].partition("/")

    if not _BUCKET_NAME.match(bucket_name):
        raise InvalidPathException(
            f"{path!r} has an invalid bucket name {bucket_name!r}: bucket names are 3-63 lowercase "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit."
        )

    if "\n" in name or "\r" in name or len(name.encode("utf-8")) > 1024:
        raise InvalidPathException(
            f"{path!r} has an invalid object name: names are at most 1024 bytes with no line breaks."
        )

    return bucket_name, name.strip("/")


def generate_gs_path(bucket_name: str, *paths: str) -> str:
    """Join a bucket name and path segments into a ``gs://`` path."""
    return CLOUD_STORAGE_PROTOCOL + join(bucket_name, *paths)


def join(*paths: str) -> str:
    """Join cloud path segments with single slashes (no leading or trailing slash)."""
    return "/".join(part.strip("/") for part in paths if part and part.strip("/"))


def strip_protocol(path: str) -> str:
    return path[len(CLOUD_STORAGE_PROTOCOL) :] if is_cloud_path(path) else path


def cloud_join(cloud_path: str, *paths: str) -> str:
    """Join a ``gs://`` path and relative segments."""
    return CLOUD_STORAGE_PROTOCOL + join(strip_protocol(cloud_path), *paths)


def basename(path: str) -> str:
    """The last segment of a cloud path, local path or URL (without its query string)."""
    if is_url(path):
        from urllib.parse import unquote

        path = unquote(path.split("?", 1)[0])
    return posixpath.basename(path.rstrip("/"))


def relative_to(path: str, start: str) -> str:
    """``path`` relative to ``start`` for two cloud paths (``path`` must be inside ``start``)."""
    prefix = strip_protocol(start).rstrip("/") + "/"
    stripped = strip_protocol(path)
    if not stripped.startswith(prefix):
        raise ValueError(f"{path!r} is not inside {start!r}")
    return stripped[len(prefix) :]


def is_metadata_object_name(name: str) -> bool:
    """Is this object or file name one of plait's own metadata files?

    True for ``.plait`` files (and their lock and temporary files) and anything under a
    ``.signed_metadata_files`` directory. Such files are never listed as dataset files, and
    dataset finalisation never hashes them (so writing them never triggers a loop).
    """
    segments = name.replace("\\", "/").split("/")
    last = segments[-1]
    if last == METADATA_FILENAME or last.startswith(METADATA_FILENAME + "."):
        return True
    return SIGNED_METADATA_DIRECTORY in segments[:-1]
