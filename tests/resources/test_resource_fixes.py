"""Behaviour settled after review: re-downloading signed files, syncing local files to their cloud
path, clear errors for files with no local copy, symlink loops, metadata file permissions, and
manifest files with relative dataset paths."""

from __future__ import annotations

import json
import os
import stat

import pytest

from plait.exceptions import FileNotFoundException, InvalidInputException
from plait.hashing import hash_bytes, hash_json
from plait.resources import Datafile, Dataset, Manifest


def test_signed_datafile_is_downloaded_again_if_its_copy_was_removed(cloud_root, signing_credentials, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"signed content")
    uploaded = Datafile(str(tmp_path / "a.txt"))
    uploaded.upload(f"{cloud_root}/a.txt")
    signed = Datafile(uploaded.generate_signed_url())

    first_copy = signed.local_path
    os.remove(first_copy)
    signed.reset_hash()

    assert signed.hash_value == hash_bytes(b"signed content")
    with open(signed.local_path, "rb") as file:
        assert file.read() == b"signed content"


def test_local_file_with_a_cloud_path_is_uploaded_when_written(cloud_root, tmp_path):
    datafile = Datafile(str(tmp_path / "synced.txt"), cloud_path=f"{cloud_root}/synced.txt", tags={"a": 1})

    with datafile.open("w") as file:
        file.write("first version")

    in_cloud = Datafile(f"{cloud_root}/synced.txt")
    assert in_cloud.cloud_hash_value == hash_bytes(b"first version")
    assert in_cloud.tags == {"a": 1}


def test_storing_local_metadata_of_a_cloud_only_file_says_to_download_first(cloud_root, tmp_path):
    (tmp_path / "remote.txt").write_text("x")
    remote = Datafile(str(tmp_path / "remote.txt"))
    remote.upload(f"{cloud_root}/remote.txt")
    directory = tmp_path / "local-dataset"
    directory.mkdir()
    dataset = Dataset(path=str(directory), files=[Datafile(f"{cloud_root}/remote.txt")])

    with pytest.raises(FileNotFoundException, match="download the dataset first"):
        dataset.update_local_metadata(include_files=True)


def test_recursive_dataset_does_not_follow_a_symbolic_link_loop(tmp_path):
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "sub" / "a.txt").write_text("a")
    os.symlink(tmp_path / "data", tmp_path / "data" / "sub" / "loop")

    dataset = Dataset(path=str(tmp_path / "data"), recursive=True)

    assert [file.name for file in dataset.files] == ["a.txt"]


def test_metadata_file_is_readable_by_others_like_the_data(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    Datafile(str(tmp_path / "a.txt"), tags={"x": 1}).update_local_metadata()

    mode = stat.S_IMODE(os.stat(tmp_path / ".plait").st_mode)

    assert mode == 0o644


def test_hashing_a_value_that_is_not_json_names_the_problem():
    with pytest.raises(InvalidInputException, match="not JSON"):
        hash_json({"a": float("nan")})


def test_manifest_file_resolves_relative_dataset_paths_against_its_own_directory(tmp_path, monkeypatch):
    (tmp_path / "service" / "data" / "mast").mkdir(parents=True)
    (tmp_path / "service" / "data" / "mast" / "a.csv").write_text("x\n1\n")
    manifest_file = tmp_path / "service" / "manifest.json"
    manifest_file.write_text(json.dumps({"datasets": {"mast": "data/mast", "other": {"path": "data/mast"}}}))
    monkeypatch.chdir(tmp_path)  # somewhere else entirely

    manifest = Manifest.from_file(str(manifest_file))

    assert manifest.get_dataset("mast").path == str(tmp_path / "service" / "data" / "mast")
    assert manifest.get_dataset("other").path == str(tmp_path / "service" / "data" / "mast")
    assert [file.name for file in manifest.get_dataset("mast").files] == ["a.csv"]


def test_missing_manifest_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundException, match=r"missing\.json"):
        Manifest.from_file(str(tmp_path / "missing.json"))
