"""Path kinds (cloud, signed URL, local) and ``gs://`` path arithmetic."""

from __future__ import annotations

import pytest

from plait.cloud.storage import path as storage_path
from plait.exceptions import InvalidPathException


@pytest.mark.parametrize(
    ("path", "cloud", "url"),
    [
        ("gs://bucket/a/b.csv", True, False),
        ("gs://bucket", True, False),
        ("https://storage.googleapis.com/bucket/a.csv?X-Goog-Signature=abc", False, True),
        ("http://127.0.0.1:9023/bucket/a.csv", False, True),
        ("/home/user/data/a.csv", False, False),
        ("relative/a.csv", False, False),
        ("a.csv", False, False),
        ("gs:/bucket/a.csv", False, False),
        ("s3://bucket/a.csv", False, False),
        ("ftp://host/a.csv", False, False),
        ("C:\\data\\a.csv", False, False),
    ],
)
def test_paths_are_classified_as_cloud_url_or_local(path, cloud, url):
    assert storage_path.is_cloud_path(path) is cloud
    assert storage_path.is_url(path) is url


def test_non_strings_are_neither_cloud_paths_nor_urls():
    assert storage_path.is_cloud_path(None) is False
    assert storage_path.is_url(None) is False
    assert storage_path.is_cloud_path(b"gs://bucket/a") is False


@pytest.mark.parametrize(
    ("path", "bucket", "name"),
    [
        ("gs://my-bucket/a/b/c.csv", "my-bucket", "a/b/c.csv"),
        ("gs://my-bucket/a/b/", "my-bucket", "a/b"),
        ("gs://my_bucket.example/file", "my_bucket.example", "file"),
        ("gs://abc", "abc", ""),
        ("gs://abc/", "abc", ""),
        ("gs://" + "a" * 63 + "/x", "a" * 63, "x"),
    ],
)
def test_cloud_paths_split_into_bucket_and_object_name(path, bucket, name):
    assert storage_path.split_bucket_name_from_cloud_path(path) == (bucket, name)


@pytest.mark.parametrize(
    "path",
    [
        "gs://",
        "gs:///object",
        "gs://ab/object",
        "gs://" + "a" * 64 + "/object",
        "gs://Bucket/object",
        "gs://-bucket/object",
        "gs://bucket-/object",
        "gs://buck et/object",
        "gs://bucket!/object",
    ],
)
def test_invalid_bucket_names_are_rejected(path):
    with pytest.raises(InvalidPathException) as error:
        storage_path.split_bucket_name_from_cloud_path(path)
    assert "bucket name" in str(error.value)


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "x" * 1025])
def test_invalid_object_names_are_rejected(name):
    with pytest.raises(InvalidPathException) as error:
        storage_path.split_bucket_name_from_cloud_path(f"gs://bucket/{name}")
    assert "object name" in str(error.value)


def test_splitting_a_local_path_is_rejected_with_the_expected_form():
    with pytest.raises(InvalidPathException) as error:
        storage_path.split_bucket_name_from_cloud_path("/local/file.csv")
    assert "gs://bucket/path" in str(error.value)


def test_invalid_path_exception_is_a_value_error():
    with pytest.raises(ValueError):
        storage_path.split_bucket_name_from_cloud_path("gs://")


def test_gs_paths_are_generated_and_joined_with_single_slashes():
    assert storage_path.generate_gs_path("bucket", "a/", "/b", "c.csv") == "gs://bucket/a/b/c.csv"
    assert storage_path.generate_gs_path("bucket") == "gs://bucket"
    assert storage_path.cloud_join("gs://bucket/dir/", "/sub/", "file.txt") == "gs://bucket/dir/sub/file.txt"
    assert storage_path.cloud_join("gs://bucket/dir", "", "file.txt") == "gs://bucket/dir/file.txt"
    assert storage_path.join("a", "", "/b/") == "a/b"


def test_protocol_is_stripped_only_from_cloud_paths():
    assert storage_path.strip_protocol("gs://bucket/a") == "bucket/a"
    assert storage_path.strip_protocol("/local/a") == "/local/a"


def test_basename_of_cloud_local_and_url_paths():
    assert storage_path.basename("gs://bucket/dir/file.csv") == "file.csv"
    assert storage_path.basename("gs://bucket/dir/") == "dir"
    assert storage_path.basename("/local/dir/file.csv") == "file.csv"
    assert storage_path.basename("https://host/bucket/a%20b.csv?X-Goog-Signature=abc/def") == "a b.csv"


def test_relative_to_gives_path_inside_a_cloud_directory():
    assert storage_path.relative_to("gs://bucket/dataset/sub/file.csv", "gs://bucket/dataset") == "sub/file.csv"
    assert storage_path.relative_to("gs://bucket/dataset/file.csv", "gs://bucket/dataset/") == "file.csv"
    with pytest.raises(ValueError):
        storage_path.relative_to("gs://bucket/datasets2/file.csv", "gs://bucket/datasets")


@pytest.mark.parametrize(
    ("name", "is_metadata"),
    [
        (".plait", True),
        ("dataset/.plait", True),
        ("dataset/sub/.plait", True),
        (".plait.lock", True),
        ("dataset/.plait.lock", True),
        (".plait.tmp-abc123", True),
        ("dataset/.signed_metadata_files/0e3c.json", True),
        ("dataset\\.plait", True),
        ("data.plait", False),
        (".plaited", False),
        ("plait", False),
        ("dataset/file.csv", False),
        ("dataset/.signed_metadata_files", False),
        (".signed_metadata_files.json", False),
        ("dataset/.plait/file.csv", False),
    ],
)
def test_metadata_object_names_are_recognised(name, is_metadata):
    assert storage_path.is_metadata_object_name(name) is is_metadata
