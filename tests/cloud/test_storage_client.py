"""The storage client against the storage emulator: streaming, listing, metadata and errors."""

from __future__ import annotations

import json
import os
import threading

import pytest

from plait.cloud.storage import client as client_module
from plait.cloud.storage.client import (
    UPLOAD_CHUNK_SIZE,
    GoogleCloudStorageClient,
    decode_custom_metadata,
    encode_custom_metadata,
)
from plait.exceptions import CloudCredentialsNotFound, CloudObjectNotFound, InvalidPathException


@pytest.fixture
def client(storage_emulator) -> GoogleCloudStorageClient:
    return GoogleCloudStorageClient()


def test_large_file_upload_and_download_round_trip_byte_identical(client, cloud_root, tmp_path):
    data = os.urandom(20 * 1024 * 1024 + 1234)
    assert len(data) > 2 * UPLOAD_CHUNK_SIZE
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    sent = []

    uploaded = client.upload_file(str(source), f"{cloud_root}/big.bin", metadata={"plait__n": 1}, progress=sent.append)

    assert uploaded.size == len(data)
    assert sum(sent) == len(data)
    received = []
    target = tmp_path / "out" / "big.bin"
    client.download_to_file(f"{cloud_root}/big.bin", str(target), progress=received.append)
    assert target.read_bytes() == data
    assert sum(received) == len(data)
    assert client.get_metadata(f"{cloud_root}/big.bin").custom_metadata == {"plait__n": 1}
    assert sorted(os.listdir(target.parent)) == ["big.bin"]  # no temporary file left


def test_upload_from_string_and_download_as_string(client, cloud_root):
    metadata = client.upload_from_string('{"a": "ü"}', f"{cloud_root}/doc.json", metadata={"plait__x": [1]})

    assert metadata.content_type == "application/json"
    assert metadata.size == len('{"a": "ü"}'.encode())
    assert client.download_as_string(f"{cloud_root}/doc.json") == '{"a": "ü"}'
    assert client.get_metadata(f"{cloud_root}/doc.json").custom_metadata == {"plait__x": [1]}


def test_download_to_stream_writes_every_chunk(client, cloud_root):
    client.upload_from_string(b"streamed bytes", f"{cloud_root}/s.bin")

    class Collector:
        def __init__(self):
            self.parts = []

        def write(self, data):
            self.parts.append(bytes(data))
            return len(data)

    collector = Collector()
    client.download_to_stream(f"{cloud_root}/s.bin", collector)
    assert b"".join(collector.parts) == b"streamed bytes"


def test_get_metadata_exists_and_delete(client, cloud_root):
    path = f"{cloud_root}/x.txt"
    assert client.get_metadata(path) is None
    assert client.exists(path) is False

    client.upload_from_string("x", path)
    metadata = client.get_metadata(path)
    assert metadata.cloud_path == path
    assert metadata.size == 1
    assert metadata.generation is not None
    assert client.exists(path) is True

    client.delete(path)
    assert client.exists(path) is False


def test_list_objects_is_direct_children_unless_recursive(client, cloud_root):
    for name in ["a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt"]:
        client.upload_from_string(name, f"{cloud_root}/dataset/{name}")
    client.upload_from_string("outside", f"{cloud_root}/dataset-sibling/e.txt")

    flat = sorted(item.cloud_path for item in client.list_objects(f"{cloud_root}/dataset"))
    nested = sorted(item.cloud_path for item in client.list_objects(f"{cloud_root}/dataset/", recursive=True))

    assert flat == [f"{cloud_root}/dataset/a.txt", f"{cloud_root}/dataset/b.txt"]
    assert nested == [
        f"{cloud_root}/dataset/a.txt",
        f"{cloud_root}/dataset/b.txt",
        f"{cloud_root}/dataset/sub/c.txt",
        f"{cloud_root}/dataset/sub/deeper/d.txt",
    ]


def test_list_objects_of_an_empty_prefix_is_empty(client, cloud_root):
    assert list(client.list_objects(f"{cloud_root}/nothing")) == []


def test_overwrite_custom_metadata_replaces_plait_keys_and_keeps_others(client, cloud_root):
    path = f"{cloud_root}/meta.txt"
    client.upload_from_string("x", path, metadata={"owner": "someone", "plait__tags": {"a": 1}, "plait__id": "x"})

    client.overwrite_custom_metadata(path, {"plait__labels": ["new"]})

    assert client.get_metadata(path).custom_metadata == {"owner": "someone", "plait__labels": ["new"]}


def test_overwrite_custom_metadata_deletes_stale_plait_keys_explicitly(client, cloud_root, monkeypatch):
    # Real GCS merges a patch's metadata keys into the object's (a key is deleted only when patched to
    # None); the emulator replaces the whole dictionary, so check what the patch sends as well.
    from google.cloud.storage.blob import Blob

    path = f"{cloud_root}/meta.txt"
    client.upload_from_string("x", path, metadata={"owner": "someone", "plait__tags": {"a": 1}})
    sent = []
    real_patch = Blob.patch

    def recording_patch(self, *args, **kwargs):
        sent.append(self.metadata)
        return real_patch(self, *args, **kwargs)

    monkeypatch.setattr(Blob, "patch", recording_patch)
    client.overwrite_custom_metadata(path, {"plait__labels": ["new"]})

    assert sent == [{"owner": '"someone"', "plait__tags": None, "plait__labels": '["new"]'}]
    assert client.get_metadata(path).custom_metadata == {"owner": "someone", "plait__labels": ["new"]}


def test_custom_metadata_values_are_json_encoded_and_decoded():
    encoded = encode_custom_metadata({"plait__tags": {"b": 1, "a": None}, "plait__id": "abc"})
    assert encoded == {"plait__tags": '{"a":null,"b":1}', "plait__id": '"abc"'}
    assert decode_custom_metadata(encoded) == {"plait__tags": {"a": None, "b": 1}, "plait__id": "abc"}
    assert decode_custom_metadata({"other": "not json"}) == {"other": "not json"}
    assert decode_custom_metadata({"plait__deleted": None, "plait__id": '"x"'}) == {"plait__id": "x"}


def test_missing_object_raises_cloud_object_not_found(client, cloud_root, tmp_path):
    path = f"{cloud_root}/missing.txt"
    with pytest.raises(CloudObjectNotFound) as error:
        client.download_as_string(path)
    assert path in str(error.value)
    with pytest.raises(CloudObjectNotFound):
        client.download_to_file(path, str(tmp_path / "missing.txt"))
    assert os.listdir(tmp_path) == []
    with pytest.raises(CloudObjectNotFound):
        client.overwrite_custom_metadata(path, {"plait__x": 1})


def test_missing_bucket_raises_cloud_object_not_found(client, tmp_path):
    path = "gs://no-such-bucket-for-plait/x.txt"
    with pytest.raises(CloudObjectNotFound) as error:
        client.upload_from_string("x", path)
    assert "no-such-bucket-for-plait" in str(error.value)
    with pytest.raises(CloudObjectNotFound):
        client.download_as_string(path)
    with pytest.raises(CloudObjectNotFound) as error:
        list(client.list_objects("gs://no-such-bucket-for-plait/dir"))
    assert "bucket" in str(error.value)
    assert client.exists(path) is False


@pytest.mark.parametrize("path", ["gs://plait-test-bucket", "gs://plait-test-bucket/"])
def test_bare_bucket_path_is_not_an_object(client, path, tmp_path):
    for operation in (client.download_as_string, client.get_metadata, client.delete):
        with pytest.raises(InvalidPathException) as error:
            operation(path)
        assert "names a bucket, not an object" in str(error.value)
    with pytest.raises(InvalidPathException):
        client.upload_from_string("x", path)


def test_invalid_cloud_path_is_rejected_before_any_request(client):
    with pytest.raises(InvalidPathException):
        client.download_as_string("gs://Bad_Bucket/x")
    with pytest.raises(InvalidPathException):
        client.download_as_string("/local/path")


def test_clients_are_cached_per_thread(client):
    assert client.client is GoogleCloudStorageClient().client
    other = []
    thread = threading.Thread(target=lambda: other.append(GoogleCloudStorageClient().client))
    thread.start()
    thread.join()
    assert other[0] is not client.client


def test_no_emulator_and_no_credentials_raises_cloud_credentials_not_found(monkeypatch):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # do not probe a metadata server
    monkeypatch.setattr(client_module, "_thread_local", threading.local())
    errors = []

    def run():
        try:
            GoogleCloudStorageClient().exists("gs://plait-test-bucket/x.txt")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()

    assert len(errors) == 1
    assert isinstance(errors[0], CloudCredentialsNotFound)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(errors[0])
    assert "STORAGE_EMULATOR_HOST" in str(errors[0])


def test_json_documents_get_a_json_content_type(client, cloud_root):
    client.upload_from_string(json.dumps({"dataset": {}}), f"{cloud_root}/ds/.plait")
    client.upload_from_string("plain", f"{cloud_root}/notes.txt")
    client.upload_from_string(b"\x00\x01", f"{cloud_root}/raw.bin")

    assert client.get_metadata(f"{cloud_root}/ds/.plait").content_type == "application/json"
    assert client.get_metadata(f"{cloud_root}/notes.txt").content_type == "text/plain"
    assert client.get_metadata(f"{cloud_root}/raw.bin").content_type == "application/octet-stream"
