"""Signed URLs: generation (V4, verified here against the key's public half, since the emulator does
not check signatures), read-only resources opened from them, and expiry limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import urllib.parse

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    CloudCredentialsNotFound,
    InvalidExpirationException,
    InvalidInputException,
    ReadOnlyResource,
)
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.resources.manifest import Manifest

FILES = {"a.txt": b"alpha", "b.csv": b"beta", "sub/c.txt": b"gamma", "sub/a.txt": b"nested alpha"}


def verify_v4_signature(url: str, public_key) -> None:
    """Check a V4 signed URL's signature with the signer's public key (raises InvalidSignature)."""
    parsed = urllib.parse.urlsplit(url)
    parameters = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    query = dict(parameters)
    signature = query.pop("X-Goog-Signature")

    def encode(text: str) -> str:
        return urllib.parse.quote(text, safe="-_.~")

    canonical_query = "&".join(f"{encode(key)}={encode(value)}" for key, value in sorted(query.items()))
    canonical_request = "\n".join(
        [
            "GET",
            parsed.path,
            canonical_query,
            f"host:{parsed.netloc}\n",
            query["X-Goog-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    credential_scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    public_key.verify(bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


@pytest.fixture
def cloud_datafile(cloud_root, tmp_path) -> Datafile:
    path = tmp_path / "reading.csv"
    path.write_bytes(b"t,v\n0,1.5\n")
    datafile = Datafile(str(path), tags={"sensor": "x1"}, labels="raw")
    datafile.upload(f"{cloud_root}/files/reading.csv")
    return datafile


@pytest.fixture
def cloud_dataset(cloud_root, tmp_path) -> Dataset:
    directory = tmp_path / "signed-dataset"
    for relative, content in FILES.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(content)
    dataset = Dataset(str(directory), recursive=True, tags={"project": "p"}, labels="shared")
    for file in dataset.files:
        file.add_tags(size=len(FILES[dataset.path_in_dataset(file)]))
    dataset.upload(f"{cloud_root}/datasets/signed-dataset")
    return dataset


# -- the signature --


def test_signed_url_has_a_valid_v4_signature(signing_credentials, cloud_datafile):
    key_path, private_key = signing_credentials
    with open(key_path) as file:
        client_email = json.load(file)["client_email"]
    url = cloud_datafile.generate_signed_url()

    query = query_of(url)
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert query["X-Goog-SignedHeaders"] == "host"
    assert query["X-Goog-Credential"].startswith(client_email + "/")
    assert query["X-Goog-Credential"].endswith("/auto/storage/goog4_request")
    verify_v4_signature(url, private_key.public_key())


def test_tampered_signed_url_fails_verification(signing_credentials, cloud_datafile):
    _, private_key = signing_credentials
    url = cloud_datafile.generate_signed_url()
    tampered = url.replace("/files/reading.csv", "/files/other.csv")
    assert tampered != url

    with pytest.raises(InvalidSignature):
        verify_v4_signature(tampered, private_key.public_key())


def test_signed_url_with_changed_expiry_fails_verification(signing_credentials, cloud_datafile):
    _, private_key = signing_credentials
    url = cloud_datafile.generate_signed_url(dt.timedelta(hours=1))
    assert "X-Goog-Expires=3600&" in url

    with pytest.raises(InvalidSignature):
        verify_v4_signature(url.replace("X-Goog-Expires=3600", "X-Goog-Expires=604800"), private_key.public_key())


def test_dataset_signed_url_and_its_file_urls_are_validly_signed(signing_credentials, cloud_dataset):
    _, private_key = signing_credentials
    url = cloud_dataset.generate_signed_url()
    verify_v4_signature(url, private_key.public_key())

    for file in Dataset(path=url).files:
        verify_v4_signature(file.signed_url, private_key.public_key())


# -- expiry --


def test_default_expiration_is_seven_days(signing_credentials, cloud_datafile):
    assert query_of(cloud_datafile.generate_signed_url())["X-Goog-Expires"] == "604800"


def test_expiration_can_be_a_future_datetime(signing_credentials, cloud_datafile):
    url = cloud_datafile.generate_signed_url(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert 86000 <= int(query_of(url)["X-Goog-Expires"]) <= 86400


@pytest.mark.parametrize(
    "expiration",
    [
        dt.timedelta(days=8),
        dt.timedelta(days=7, seconds=1),
        dt.timedelta(0),
        dt.timedelta(seconds=-5),
    ],
)
def test_expiration_beyond_seven_days_or_not_in_the_future_is_rejected(signing_credentials, cloud_datafile, expiration):
    with pytest.raises(InvalidExpirationException):
        cloud_datafile.generate_signed_url(expiration)


def test_past_datetime_expiration_is_rejected(signing_credentials, cloud_datafile, cloud_dataset):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with pytest.raises(InvalidExpirationException):
        cloud_datafile.generate_signed_url(past)
    with pytest.raises(InvalidExpirationException):
        cloud_dataset.generate_signed_url(past)
    with pytest.raises(InvalidExpirationException):
        cloud_datafile.generate_signed_url(dt.datetime.now() + dt.timedelta(days=8))


def test_expiration_of_the_wrong_type_is_rejected(signing_credentials, cloud_datafile):
    with pytest.raises(InvalidExpirationException):
        cloud_datafile.generate_signed_url(3600)


def test_signing_without_any_credentials_raises_cloud_credentials_not_found(
    storage_emulator, cloud_datafile, monkeypatch
):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    assert os.environ.get("STORAGE_EMULATOR_HOST")

    with pytest.raises(CloudCredentialsNotFound) as error:
        cloud_datafile.generate_signed_url()
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(error.value)


def test_unreadable_key_file_raises_cloud_credentials_not_found(cloud_datafile, monkeypatch, tmp_path):
    (tmp_path / "key.json").write_text("{}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "key.json"))

    with pytest.raises(CloudCredentialsNotFound) as error:
        cloud_datafile.generate_signed_url()
    assert str(tmp_path / "key.json") in str(error.value)


# -- datafiles from signed URLs --


def test_datafile_signed_url_returns_the_bytes(signing_credentials, cloud_datafile):
    response = requests.get(cloud_datafile.generate_signed_url(), timeout=10)
    assert response.status_code == 200
    assert response.content == b"t,v\n0,1.5\n"


def test_storage_client_signs_any_object(signing_credentials, cloud_root):
    client = GoogleCloudStorageClient()
    client.upload_from_string(b"direct", f"{cloud_root}/direct.bin")
    url = client.generate_signed_url(f"{cloud_root}/direct.bin")
    assert requests.get(url, timeout=10).content == b"direct"


def test_datafile_from_signed_url_reads_content_and_hash(signing_credentials, cloud_datafile):
    url = cloud_datafile.generate_signed_url()
    datafile = Datafile(url)

    assert datafile.path == url
    assert datafile.signed_url == url
    assert datafile.name == "reading.csv"
    assert datafile.extension == "csv"
    assert datafile.is_read_only is True
    with datafile.open() as file:
        assert file.read() == "t,v\n0,1.5\n"
    assert datafile.hash_value == cloud_datafile.hash_value
    assert datafile.generate_signed_url() == url


def test_datafile_from_signed_url_can_be_downloaded(signing_credentials, cloud_datafile, tmp_path):
    datafile = Datafile(cloud_datafile.generate_signed_url())
    target = str(tmp_path / "copy.csv")
    assert datafile.download(target) == target
    with open(target, "rb") as file:
        assert file.read() == b"t,v\n0,1.5\n"


def test_datafile_from_signed_url_is_read_only(signing_credentials, cloud_datafile):
    datafile = Datafile(cloud_datafile.generate_signed_url())

    for write in (
        lambda: datafile.open("w").__enter__(),
        lambda: datafile.open("a").__enter__(),
        datafile.update_metadata,
        datafile.update_local_metadata,
        datafile.update_cloud_metadata,
    ):
        with pytest.raises(ReadOnlyResource) as error:
            write()
        assert "signed URL" in str(error.value)
        assert "read-only" in str(error.value)
        assert "download" in str(error.value)
    assert isinstance(error.value, PermissionError)


def test_datafile_from_signed_url_can_be_copied_to_the_cloud(signing_credentials, cloud_datafile, cloud_root):
    datafile = Datafile(cloud_datafile.generate_signed_url())
    datafile.upload(f"{cloud_root}/copied.csv")
    assert GoogleCloudStorageClient().download_as_string(f"{cloud_root}/copied.csv") == "t,v\n0,1.5\n"


# -- datasets from signed URLs --


def test_dataset_from_signed_url_has_the_same_files_tags_and_hash(signing_credentials, cloud_dataset):
    url = cloud_dataset.generate_signed_url()
    signed = Dataset(path=url)

    assert signed.path == url
    assert signed.is_read_only is True
    assert signed.id == cloud_dataset.id
    assert signed.name == "signed-dataset"
    assert signed.tags == {"project": "p"}
    assert signed.labels == {"shared"}
    assert sorted(file.name for file in signed.files) == sorted(file.name for file in cloud_dataset.files)
    assert sorted(signed.path_in_dataset(file) for file in signed.files) == sorted(FILES)
    assert {signed.path_in_dataset(file): dict(file.tags) for file in signed.files} == {
        relative: {"size": len(content)} for relative, content in FILES.items()
    }
    assert {signed.path_in_dataset(file): file.size_bytes for file in signed.files} == {
        relative: len(content) for relative, content in FILES.items()
    }
    assert signed.hash_value == cloud_dataset.hash_value
    assert all(file.is_read_only for file in signed.files)


def test_dataset_signed_url_points_at_a_document_in_the_signed_metadata_directory(signing_credentials, cloud_dataset):
    url = cloud_dataset.generate_signed_url()
    path = urllib.parse.urlsplit(url).path
    bucket_and_dataset = cloud_dataset.cloud_path.removeprefix("gs://")

    assert path.startswith(f"/{bucket_and_dataset}/.signed_metadata_files/")
    assert path.endswith(".json")
    document = requests.get(url, timeout=10).json()
    assert document["type"] == "plait.signed_dataset"
    assert document["dataset"]["id"] == cloud_dataset.id
    assert sorted(entry["path_in_dataset"] for entry in document["files"]) == sorted(FILES)


def test_signed_url_of_an_object_with_special_characters(signing_credentials, cloud_root):
    _, private_key = signing_credentials
    cloud_path = f"{cloud_root}/dir with space/ü ñ+&=.txt"
    GoogleCloudStorageClient().upload_from_string(b"special", cloud_path)

    url = Datafile(cloud_path).generate_signed_url()

    verify_v4_signature(url, private_key.public_key())
    assert requests.get(url, timeout=10).content == b"special"
    assert Datafile(url).name == "ü ñ+&=.txt"


def test_signed_dataset_files_read_their_content(signing_credentials, cloud_dataset):
    signed = Dataset(path=cloud_dataset.generate_signed_url())
    contents = {}
    for file in signed.files:
        with file.open("rb") as opened:
            contents[signed.path_in_dataset(file)] = opened.read()
    assert contents == FILES


def test_signed_dataset_document_is_not_listed_as_a_dataset_file(signing_credentials, cloud_dataset):
    cloud_dataset.generate_signed_url()
    reopened = Dataset(cloud_dataset.cloud_path, recursive=True)
    assert sorted(reopened.path_in_dataset(file) for file in reopened.files) == sorted(FILES)


def test_dataset_from_signed_url_is_read_only(signing_credentials, cloud_dataset, tmp_path):
    signed = Dataset(path=cloud_dataset.generate_signed_url())
    (tmp_path / "new.txt").write_bytes(b"new")

    with pytest.raises(ReadOnlyResource) as error:
        signed.add(Datafile(str(tmp_path / "new.txt")))
    assert "read-only" in str(error.value)
    with pytest.raises(ReadOnlyResource):
        signed.update_metadata()
    with pytest.raises(ReadOnlyResource):
        signed.update_cloud_metadata()
    assert len(signed) == len(FILES)


def test_signed_dataset_downloads_keeping_subdirectories(signing_credentials, cloud_dataset, tmp_path):
    signed = Dataset(path=cloud_dataset.generate_signed_url())
    target = str(tmp_path / "downloaded")

    signed.download(target)

    for relative, content in FILES.items():
        with open(os.path.join(target, relative), "rb") as file:
            assert file.read() == content
    local = Dataset(target, recursive=True)
    assert local.hash_value == cloud_dataset.hash_value
    assert local.tags == {"project": "p"}


def test_a_signed_url_of_a_plain_file_is_not_a_dataset(signing_credentials, cloud_datafile):
    with pytest.raises(InvalidInputException) as error:
        Dataset(path=cloud_datafile.generate_signed_url())
    assert "Datafile(<signed URL>)" in str(error.value)


def test_manifest_uses_signed_urls_for_cloud_datasets_only(signing_credentials, cloud_dataset, tmp_path):
    local_directory = tmp_path / "local-dataset"
    local_directory.mkdir()
    (local_directory / "l.txt").write_bytes(b"local")
    local = Dataset(str(local_directory))
    manifest = Manifest(datasets={"cloud": Dataset(cloud_dataset.cloud_path, recursive=True), "local": local})
    hash_before = manifest.hash_value

    manifest.use_signed_urls_for_datasets()

    signed = manifest.get_dataset("cloud")
    assert signed.is_read_only is True
    assert signed.path.startswith(os.environ["STORAGE_EMULATOR_HOST"])
    assert "X-Goog-Signature=" in signed.path
    assert signed.hash_value == cloud_dataset.hash_value
    assert manifest.get_dataset("local") is local
    assert manifest.hash_value == hash_before
    assert Manifest.deserialise(manifest.serialise(), from_string=True).get_dataset("cloud").is_read_only
