"""Transient storage errors are retried: a flaky proxy in front of the storage emulator answers
503 to the first requests, and every operation still succeeds through the real client."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests

from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import CloudObjectNotFound


class _FlakyProxy(http.server.ThreadingHTTPServer):
    """Forwards requests to the emulator, but answers 503 to the first ``failures`` of them."""

    def __init__(self, target: str, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.target = target
        self.failures_left = failures
        self.failed = 0
        self.forwarded_paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: _FlakyProxy = self.server
        with server.lock:
            fail = server.failures_left > 0
            if fail:
                server.failures_left -= 1
                server.failed += 1
            else:
                server.forwarded_paths.append(self.path)
        if fail:
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            payload = b'{"error": {"code": 503, "message": "try again"}}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return

        headers = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length")}
        response = requests.request(self.command, server.target + self.path, data=body, headers=headers, timeout=30)
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def flaky_storage(storage_emulator, monkeypatch):
    proxy = _FlakyProxy(storage_emulator.url, failures=0)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_uploads_and_downloads_succeed_after_transient_503s(flaky_storage, cloud_root, tmp_path):
    client = GoogleCloudStorageClient()
    local = tmp_path / "data.bin"
    local.write_bytes(b"x" * 1000)
    path = f"{cloud_root}/data.bin"

    flaky_storage.failures_left = 2
    client.upload_file(str(local), path, metadata={"plait__tags": {"a": 1}})
    assert flaky_storage.failed == 2

    flaky_storage.failures_left = 2
    client.download_to_file(path, str(tmp_path / "copy.bin"))
    assert flaky_storage.failed == 4
    assert (tmp_path / "copy.bin").read_bytes() == b"x" * 1000

    flaky_storage.failures_left = 1
    assert client.get_metadata(path).custom_metadata == {"plait__tags": {"a": 1}}
    assert flaky_storage.failed == 5


def test_a_missing_object_is_not_retried_but_reported(flaky_storage, cloud_root, tmp_path):
    client = GoogleCloudStorageClient()

    with pytest.raises(CloudObjectNotFound, match="does not exist"):
        client.download_to_file(f"{cloud_root}/missing.bin", str(tmp_path / "missing.bin"))

    # One request for the object (a 404 is permanent, not retried); the client may then look the bucket up.
    assert sum("missing.bin" in path for path in flaky_storage.forwarded_paths) == 1
    assert not (tmp_path / "missing.bin").exists()
