"""An embedded Google Cloud Storage emulator (``gcp-storage-emulator``) on 127.0.0.1.

Used by the local stack and the test suite so that the real ``google-cloud-storage`` code path
runs without a cloud account. The emulator does not check signed-URL signatures and does not
enforce generation preconditions; code that relies on those is tested separately.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class StorageEmulator:
    """A storage emulator running in this process, in a background thread.

    :param buckets: buckets to create once the emulator is up
    :param port: the port to listen on (a free one if None)
    :param data_dir: keep objects in this directory instead of in memory
    """

    def __init__(self, buckets: tuple[str, ...] = (), port: int | None = None, data_dir: str | None = None) -> None:
        self.buckets = buckets
        self.port = port
        self.data_dir = data_dir
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> StorageEmulator:
        from gcp_storage_emulator.server import create_server

        # The emulator logs every request at INFO; keep it quiet unless something is wrong.
        logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
        attempts = 1 if self.port else 5
        for attempt in range(attempts):
            port = self.port or free_port()
            server = create_server(HOST, port, in_memory=self.data_dir is None, data_dir=self.data_dir)
            try:
                server.start()
            except OSError:
                if attempt == attempts - 1:
                    raise
                continue
            self._server, self.port = server, port
            break

        for bucket in self.buckets:
            self.create_bucket(bucket)
        return self

    def create_bucket(self, name: str) -> None:
        from google.api_core.exceptions import Conflict
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(
            project="plait-local", credentials=AnonymousCredentials(), client_options={"api_endpoint": self.url}
        )
        with contextlib.suppress(Conflict):
            client.create_bucket(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @contextlib.contextmanager
    def environment(self) -> Iterator[StorageEmulator]:
        """Point ``STORAGE_EMULATOR_HOST`` at this emulator for the duration of the block."""
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = self.url
        try:
            yield self
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous

    def __enter__(self) -> StorageEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
