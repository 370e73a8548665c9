"""Reading what a signed URL points at, over plain HTTPS (no credentials needed).

Signed URLs are read with ``requests``, streamed, and retried on transient failures.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from plait.exceptions import CloudObjectNotFound, CloudStorageError

_CHUNK_SIZE = 1024 * 1024
_TIMEOUT = 60
_thread_local = threading.local()


def _session() -> Any:
    session = getattr(_thread_local, "session", None)
    if session is None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        retry = Retry(total=5, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=["GET"])
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        _thread_local.session = session
    return session


def _get(url: str, stream: bool) -> Any:
    import requests

    try:
        response = _session().get(url, stream=stream, timeout=_TIMEOUT)
    except requests.RequestException as error:
        raise CloudStorageError(f"Could not read the signed URL {_shorten(url)}: {error}") from error
    if response.status_code == 404:
        raise CloudObjectNotFound(f"The signed URL {_shorten(url)} points at nothing (404).")
    if response.status_code in (400, 401, 403):
        raise CloudStorageError(
            f"The signed URL {_shorten(url)} was refused ({response.status_code}): it may have expired; "
            "ask for a new one."
        )
    if response.status_code >= 300:
        raise CloudStorageError(f"Reading the signed URL {_shorten(url)} failed with HTTP {response.status_code}.")
    return response


def read_text(url: str) -> str:
    """Read a small text document (a signed dataset's metadata) from a signed URL."""
    response = _get(url, stream=False)
    return response.content.decode("utf-8")


def download_to_file(url: str, local_path: str, progress: Callable[[int], None] | None = None) -> None:
    """Download a signed URL's target to a local file, streamed; the file appears whole or not at all."""
    os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
    temporary_path = f"{local_path}.plait-download-{os.getpid()}-{threading.get_ident()}"
    try:
        with _get(url, stream=True) as response, open(temporary_path, "wb") as file:
            for chunk in response.iter_content(_CHUNK_SIZE):
                file.write(chunk)
                if progress:
                    progress(len(chunk))
        os.replace(temporary_path, local_path)
    finally:
        if os.path.exists(temporary_path):
            os.remove(temporary_path)


def _shorten(url: str) -> str:
    """A URL without its (long, secret-bearing) query string, for error messages."""
    return url.split("?", 1)[0]
