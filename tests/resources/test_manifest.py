"""Manifest: datasets by key, hashing, serialisation and the cloud round trip."""

from __future__ import annotations

import base64
import json
import os

import pytest
from blake3 import blake3

from plait import __version__
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import InvalidInputException
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.resources.manifest import Manifest

ID = "7e1f6a2e-8d52-4c3e-9b3e-5f6c2f1d9a03"


def blake3_base64(data: bytes) -> str:
    return base64.b64encode(blake3(data).digest()).decode()


@pytest.fixture
def directories(tmp_path) -> dict[str, str]:
    made = {}
    for key, files in {"met": {"wind.csv": b"wind"}, "power": {"p1.csv": b"p1", "p2.csv": b"p2"}}.items():
        directory = tmp_path / key
        directory.mkdir()
        for name, content in files.items():
            (directory / name).write_bytes(content)
        made[key] = str(directory)
    return made


def test_datasets_from_dataset_dict_and_path(directories):
    dataset = Dataset(directories["met"], tags={"kind": "met"})
    serialised = Dataset(directories["power"], name="power-data").to_primitive()

    manifest = Manifest(datasets={"instance": dataset, "serialised": serialised, "path": directories["power"]})

    assert manifest.datasets["instance"] is dataset
    assert isinstance(manifest.datasets["serialised"], Dataset)
    assert manifest.datasets["serialised"].name == "power-data"
    assert sorted(file.name for file in manifest.datasets["serialised"].files) == ["p1.csv", "p2.csv"]
    assert isinstance(manifest.datasets["path"], Dataset)
    assert manifest.datasets["path"].path == directories["power"]


def test_manifest_without_datasets_is_empty():
    manifest = Manifest()
    assert manifest.datasets == {}
    assert manifest.name is None


def test_id_and_name(directories):
    manifest = Manifest(datasets={}, id=ID, name="inputs")
    assert manifest.id == ID
    assert manifest.name == "inputs"
    assert Manifest().id != Manifest().id


@pytest.mark.parametrize("datasets", [["a", "b"], "gs://bucket/dataset", 5])
def test_datasets_that_are_not_a_mapping_are_rejected(datasets):
    with pytest.raises(InvalidInputException) as error:
        Manifest(datasets=datasets)
    assert "mapping" in str(error.value)


def test_a_dataset_of_an_invalid_type_is_rejected():
    with pytest.raises(InvalidInputException) as error:
        Manifest(datasets={"bad": 5})
    assert "'bad'" in str(error.value)


def test_get_dataset_by_key(directories):
    manifest = Manifest(datasets={"met": directories["met"], "power": directories["power"]})
    assert manifest.get_dataset("met").path == directories["met"]


def test_get_dataset_with_unknown_key_lists_the_keys(directories):
    manifest = Manifest(datasets={"met": directories["met"], "power": directories["power"]})
    with pytest.raises(InvalidInputException) as error:
        manifest.get_dataset("weather")
    message = str(error.value)
    assert "'weather'" in message
    assert "met, power" in message


def test_prepare_adds_an_empty_local_dataset_per_new_key(directories):
    manifest = Manifest(datasets={"met": directories["met"]})

    prepared = manifest.prepare({"datasets": {"met": {"purpose": "in"}, "results": {"purpose": "out"}}})

    assert prepared is manifest
    assert sorted(manifest.datasets) == ["met", "results"]
    assert manifest.datasets["met"].path == directories["met"]
    results = manifest.get_dataset("results")
    assert results.name == "results"
    assert len(results) == 0
    assert os.path.isdir(results.path)
    assert os.listdir(results.path) == []


def test_prepared_dataset_can_receive_files(tmp_path):
    manifest = Manifest().prepare({"datasets": {"out": {}}})
    (tmp_path / "r.txt").write_bytes(b"result")
    manifest.get_dataset("out").add(Datafile(str(tmp_path / "r.txt")))
    assert os.listdir(manifest.get_dataset("out").path) == ["r.txt"]


@pytest.mark.parametrize("data", [None, [], {"datasets": ["a"]}])
def test_prepare_rejects_what_is_not_a_manifest_strand(data):
    with pytest.raises(InvalidInputException):
        Manifest().prepare(data)


def test_hash_is_hash_of_sorted_key_equals_dataset_hash_lines(directories):
    manifest = Manifest(datasets={"power": directories["power"], "met": directories["met"]})
    met_hash = blake3_base64(blake3_base64(b"wind").encode())
    power_hash = blake3_base64("\n".join(sorted([blake3_base64(b"p1"), blake3_base64(b"p2")])).encode())

    assert manifest.datasets["met"].hash_value == met_hash
    assert manifest.hash_value == blake3_base64(f"met={met_hash}\npower={power_hash}".encode())


def test_hash_depends_on_keys_and_content_not_order(directories):
    first = Manifest(datasets={"met": directories["met"], "power": directories["power"]})
    second = Manifest(datasets={"power": directories["power"], "met": directories["met"]})
    renamed = Manifest(datasets={"weather": directories["met"], "power": directories["power"]})

    assert first.hash_value == second.hash_value
    assert first.hash_value != renamed.hash_value


def test_hash_non_class_object_hashes_json_values_canonically():
    value = {"b": [1, 2], "a": "x"}
    expected = blake3_base64(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    assert Manifest.hash_non_class_object(value) == expected
    assert Manifest.hash_non_class_object({"a": "x", "b": [1, 2]}) == expected
    assert Manifest.hash_non_class_object(5) == blake3_base64(b"5")


def test_hash_non_class_object_uses_resources_own_hashes(directories):
    datafile = Datafile(os.path.join(directories["met"], "wind.csv"))
    dataset = Dataset(directories["power"])
    manifest = Manifest(datasets={"met": directories["met"]})

    assert Manifest.hash_non_class_object(datafile) == blake3_base64(b"wind")
    assert Manifest.hash_non_class_object(dataset) == dataset.hash_value
    assert Manifest.hash_non_class_object(manifest) == manifest.hash_value


def test_reset_hash_recalculates_file_hashes(directories):
    manifest = Manifest(datasets={"met": directories["met"]})
    before = manifest.hash_value
    with open(os.path.join(directories["met"], "wind.csv"), "wb") as file:
        file.write(b"gusty")

    assert manifest.hash_value == before
    manifest.reset_hash()
    assert manifest.hash_value != before
    assert manifest.datasets["met"].files.one(name__equals="wind.csv").hash_value == blake3_base64(b"gusty")


def test_metadata_and_metadata_hash(directories):
    manifest = Manifest(datasets={"met": directories["met"]}, id=ID, name="m")
    assert manifest.metadata() == {"id": ID, "name": "m", "sdk_version": __version__}
    assert manifest.metadata(include_id=False, include_sdk_version=False) == {"name": "m"}
    assert manifest.metadata_hash_value == Manifest(name="m").metadata_hash_value
    assert manifest.metadata_hash_value != Manifest(name="other").metadata_hash_value


def test_to_primitive_gives_dataset_paths(directories):
    manifest = Manifest(datasets={"met": directories["met"]}, id=ID, name="m")
    assert manifest.to_primitive() == {
        "id": ID,
        "name": "m",
        "sdk_version": __version__,
        "datasets": {"met": directories["met"]},
    }


def test_serialise_and_deserialise_round_trip(directories):
    manifest = Manifest(datasets={"met": directories["met"], "power": directories["power"]}, id=ID, name="m")

    for restored in (
        Manifest.deserialise(manifest.to_primitive()),
        Manifest.deserialise(manifest.serialise(), from_string=True),
    ):
        assert restored.id == ID
        assert restored.name == "m"
        assert {key: dataset.path for key, dataset in restored.datasets.items()} == directories
        assert restored.hash_value == manifest.hash_value


def test_to_file_writes_the_primitive(directories, tmp_path):
    manifest = Manifest(datasets={"met": directories["met"]})
    manifest.to_file(str(tmp_path / "manifest.json"))
    with open(tmp_path / "manifest.json") as file:
        assert json.load(file) == manifest.to_primitive()


def test_deserialise_rejects_invalid_json():
    with pytest.raises(InvalidInputException):
        Manifest.deserialise("{oops", from_string=True)


def test_to_cloud_and_from_cloud_round_trip(directories, cloud_root):
    met = Dataset(directories["met"], tags={"kind": "met"})
    met.upload(f"{cloud_root}/datasets/met")
    manifest = Manifest(datasets={"met": met, "power": directories["power"]}, id=ID, name="mixed")
    manifest_path = f"{cloud_root}/manifest.json"

    manifest.to_cloud(manifest_path)
    stored = json.loads(GoogleCloudStorageClient().download_as_string(manifest_path))
    assert stored["datasets"] == {"met": f"{cloud_root}/datasets/met", "power": directories["power"]}

    restored = Manifest.from_cloud(manifest_path)
    assert restored.id == ID
    assert restored.name == "mixed"
    assert restored.datasets["met"].path == f"{cloud_root}/datasets/met"
    assert restored.datasets["met"].tags == {"kind": "met"}
    assert restored.datasets["power"].path == directories["power"]
    assert restored.hash_value == manifest.hash_value


def test_to_cloud_rejects_an_invalid_cloud_path(directories):
    with pytest.raises(InvalidInputException):
        Manifest(datasets={"met": directories["met"]}).to_cloud("gs://X/manifest.json")


def test_all_datasets_are_in_cloud(directories, cloud_root):
    met = Dataset(directories["met"])
    met.upload(f"{cloud_root}/met")
    power = Dataset(directories["power"])

    assert Manifest(datasets={"met": met}).all_datasets_are_in_cloud is True
    assert Manifest(datasets={"met": Dataset(f"{cloud_root}/met")}).all_datasets_are_in_cloud is True
    assert Manifest(datasets={"met": met, "power": power}).all_datasets_are_in_cloud is False

    power.upload(f"{cloud_root}/power")
    assert Manifest(datasets={"met": met, "power": power}).all_datasets_are_in_cloud is True
