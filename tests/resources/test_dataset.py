"""Dataset: local behaviour and cloud behaviour against the storage emulator."""

from __future__ import annotations

import base64
import json
import os

import pytest
from blake3 import blake3

from plait import __version__
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    CloudLocationNotSpecified,
    FileNotFoundException,
    InvalidInputException,
    InvalidPathException,
    UnexpectedNumberOfResultsException,
)
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.resources.filter_containers import FilterSet

ID = "4c1f6a2e-8d52-4c3e-9b3e-5f6c2f1d9a02"


def blake3_base64(data: bytes) -> str:
    return base64.b64encode(blake3(data).digest()).decode()


def expected_dataset_hash(*contents: bytes) -> str:
    return blake3_base64("\n".join(sorted(blake3_base64(content) for content in contents)).encode())


def make_files(directory, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(content)


FILES = {"a.txt": b"alpha", "b.csv": b"beta", "sub/c.txt": b"gamma", "sub/deeper/d.txt": b"delta"}


@pytest.fixture
def dataset_directory(tmp_path) -> str:
    directory = tmp_path / "my-dataset"
    make_files(directory, FILES)
    return str(directory)


def names(dataset: Dataset) -> list[str]:
    return sorted(file.name for file in dataset.files)


# -- building --


def test_files_in_subdirectories_are_excluded_by_default(dataset_directory):
    dataset = Dataset(dataset_directory)
    assert names(dataset) == ["a.txt", "b.csv"]
    assert isinstance(dataset.files, FilterSet)
    assert all(isinstance(file, Datafile) for file in dataset.files)


def test_recursive_dataset_includes_files_in_subdirectories(dataset_directory):
    dataset = Dataset(dataset_directory, recursive=True)
    assert names(dataset) == ["a.txt", "b.csv", "c.txt", "d.txt"]
    assert sorted(dataset.path_in_dataset(file) for file in dataset.files) == sorted(FILES)


def test_metadata_files_are_never_listed(dataset_directory):
    Dataset(dataset_directory, recursive=True, tags={"a": 1}).update_local_metadata(include_files=True)
    assert os.path.exists(os.path.join(dataset_directory, ".plait"))
    assert os.path.exists(os.path.join(dataset_directory, ".plait.lock"))
    assert os.path.exists(os.path.join(dataset_directory, "sub", ".plait"))
    make_files(
        dataset_directory,
        {
            ".plait.tmp-leftover": b"{}",
            ".signed_metadata_files/x.json": b"{}",
            "e.txt.plait-download-1-2": b"partial",
        },
    )

    assert names(Dataset(dataset_directory)) == ["a.txt", "b.csv"]
    assert names(Dataset(dataset_directory, recursive=True)) == ["a.txt", "b.csv", "c.txt", "d.txt"]


def test_empty_directory_gives_empty_dataset(tmp_path):
    dataset = Dataset(str(tmp_path))
    assert len(dataset) == 0
    assert dataset.hash_value == blake3_base64(b"")


def test_missing_directory_raises_file_not_found(tmp_path):
    path = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundException) as error:
        Dataset(path)
    assert path in str(error.value)


def test_a_file_path_as_dataset_raises_invalid_path(dataset_directory):
    path = os.path.join(dataset_directory, "a.txt")
    with pytest.raises(InvalidPathException) as error:
        Dataset(path)
    assert path in str(error.value)


def test_dataset_from_paths_dicts_and_datafiles(dataset_directory):
    a, b, c = (os.path.join(dataset_directory, name) for name in ("a.txt", "b.csv", "sub/c.txt"))
    serialised = Datafile(b, tags={"from_dict": True}).to_primitive()
    datafile = Datafile(c, labels="given")

    dataset = Dataset(path=dataset_directory, files=[a, serialised, datafile])

    assert names(dataset) == ["a.txt", "b.csv", "c.txt"]
    assert datafile in dataset
    assert dataset.files.one(name__equals="b.csv").tags == {"from_dict": True}
    assert dataset.files.one(name__equals="c.txt").labels == {"given"}


def test_dataset_files_of_an_invalid_type_are_rejected(dataset_directory):
    with pytest.raises(InvalidInputException):
        Dataset(path=dataset_directory, files=[5])


def test_default_path_is_the_working_directory(dataset_directory, monkeypatch):
    monkeypatch.chdir(dataset_directory)
    dataset = Dataset()
    assert dataset.path == dataset_directory
    assert names(dataset) == ["a.txt", "b.csv"]


def test_name_defaults_to_directory_name_and_can_be_given(dataset_directory):
    assert Dataset(dataset_directory).name == "my-dataset"
    assert Dataset(dataset_directory, name="given").name == "given"


def test_id_tags_and_labels_arguments(dataset_directory):
    dataset = Dataset(dataset_directory, id=ID, tags={"project": "x"}, labels="raw wind")
    assert dataset.id == ID
    assert dataset.tags == {"project": "x"}
    assert dataset.labels == {"raw", "wind"}
    assert dataset.exists_locally is True
    assert dataset.is_read_only is False
    assert dataset.local_path == dataset_directory
    assert dataset.cloud_path is None


def test_iteration_length_and_repr(dataset_directory):
    dataset = Dataset(dataset_directory, name="measurements")
    assert len(dataset) == 2
    assert sorted(file.name for file in dataset) == ["a.txt", "b.csv"]
    assert repr(dataset) == "<Dataset('measurements', 2 files)>"


# -- add --


def test_add_copies_an_outside_file_into_the_root(dataset_directory, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    dataset = Dataset(dataset_directory)
    datafile = Datafile(str(outside), tags={"a": 1})

    dataset.add(datafile)

    copied = os.path.join(dataset_directory, "outside.txt")
    with open(copied, "rb") as file:
        assert file.read() == b"outside"
    assert outside.read_bytes() == b"outside"  # the original stays
    assert datafile in dataset
    assert datafile.local_path == copied
    assert names(dataset) == ["a.txt", "b.csv", "outside.txt"]
    assert names(Dataset(dataset_directory)) == ["a.txt", "b.csv", "outside.txt"]


def test_add_copies_to_path_in_dataset_creating_subdirectories(dataset_directory, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    dataset = Dataset(dataset_directory, recursive=True)
    datafile = Datafile(str(outside))

    dataset.add(datafile, path_in_dataset="new/nested/renamed.txt")

    target = os.path.join(dataset_directory, "new", "nested", "renamed.txt")
    with open(target, "rb") as file:
        assert file.read() == b"outside"
    assert datafile.local_path == target
    assert dataset.path_in_dataset(datafile) == "new/nested/renamed.txt"


def test_add_leaves_a_file_already_inside_the_dataset_where_it_is(dataset_directory):
    dataset = Dataset(dataset_directory)
    make_files(dataset_directory, {"late.txt": b"late"})
    inside = os.path.join(dataset_directory, "late.txt")
    datafile = Datafile(inside)

    dataset.add(datafile)

    assert datafile.local_path == inside
    assert sorted(os.listdir(dataset_directory)) == ["a.txt", "b.csv", "late.txt", "sub"]
    assert names(dataset) == ["a.txt", "b.csv", "late.txt"]


def test_adding_a_file_the_dataset_already_has_does_not_duplicate_it(dataset_directory):
    dataset = Dataset(dataset_directory)
    again = Datafile(os.path.join(dataset_directory, "a.txt"), tags={"again": True})

    dataset.add(again)

    assert len(dataset) == 2
    assert again in dataset
    assert dataset.hash_value == Dataset(dataset_directory).hash_value == expected_dataset_hash(b"alpha", b"beta")


def test_adding_to_a_path_in_dataset_equal_to_the_files_own_location_keeps_it(dataset_directory):
    dataset = Dataset(dataset_directory)
    datafile = dataset.files.one(name__equals="a.txt")

    dataset.add(datafile, path_in_dataset="a.txt")

    assert datafile.local_path == os.path.join(dataset_directory, "a.txt")
    assert len(dataset) == 2
    with open(datafile.local_path, "rb") as file:
        assert file.read() == b"alpha"


def test_adding_a_file_over_an_existing_one_replaces_it(dataset_directory, tmp_path):
    outside = tmp_path / "a.txt"
    outside.write_bytes(b"replacement")
    dataset = Dataset(dataset_directory)
    dataset.hash_value  # noqa: B018 (remember the old files' hashes)

    dataset.add(Datafile(str(outside)))

    assert len(dataset) == 2
    assert dataset.hash_value == Dataset(dataset_directory).hash_value == expected_dataset_hash(b"replacement", b"beta")


def test_add_rejects_what_is_not_a_datafile(dataset_directory):
    dataset = Dataset(dataset_directory)
    with pytest.raises(InvalidInputException) as error:
        dataset.add(os.path.join(dataset_directory, "a.txt"))
    assert "Datafile" in str(error.value)
    assert len(dataset) == 2


@pytest.mark.parametrize(
    "path_in_dataset", ["../x", "/abs", "a/../../x", "..", ".", "", "sub/../../x", "\\abs", ".plait", "d/.plait"]
)
def test_add_rejects_paths_that_escape_the_dataset(dataset_directory, tmp_path, path_in_dataset):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    dataset = Dataset(dataset_directory)

    with pytest.raises(InvalidPathException):
        dataset.add(Datafile(str(outside)), path_in_dataset=path_in_dataset)

    assert not os.path.exists(tmp_path / "x")
    assert len(dataset) == 2


def test_add_normalises_a_harmless_path_in_dataset(dataset_directory, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside")
    dataset = Dataset(dataset_directory, recursive=True)
    datafile = Datafile(str(outside))

    dataset.add(datafile, path_in_dataset="a/./b/../c.txt")

    assert datafile.local_path == os.path.join(dataset_directory, "a", "c.txt")


# -- lookups and filters --


def test_get_file_by_label_finds_one_and_rejects_zero_or_many(dataset_directory):
    dataset = Dataset(
        path=dataset_directory,
        files=[
            Datafile(os.path.join(dataset_directory, "a.txt"), labels="wind raw"),
            Datafile(os.path.join(dataset_directory, "b.csv"), labels="wind processed"),
        ],
    )

    assert dataset.get_file_by_label("raw").name == "a.txt"
    with pytest.raises(UnexpectedNumberOfResultsException):
        dataset.get_file_by_label("solar")
    with pytest.raises(UnexpectedNumberOfResultsException):
        dataset.get_file_by_label("wind")


def test_filtering_files_by_tag_on_real_datafiles(dataset_directory):
    for name, height in (("a.txt", 1), ("b.csv", 3), ("sub/c.txt", 5)):
        Datafile(os.path.join(dataset_directory, name), tags={"height": height}).update_local_metadata()

    dataset = Dataset(dataset_directory, recursive=True)

    assert names(dataset) == ["a.txt", "b.csv", "c.txt", "d.txt"]
    taller = dataset.files.filter(tags__height__gt=2)
    assert isinstance(taller, FilterSet)
    assert sorted(file.name for file in taller) == ["b.csv", "c.txt"]
    assert dataset.files.one(tags__height__equals=1).name == "a.txt"
    assert sorted(file.name for file in dataset.files.filter(name__ends_with=".txt")) == ["a.txt", "c.txt", "d.txt"]


# -- hashing --


def test_hash_is_hash_of_sorted_file_hashes(dataset_directory):
    dataset = Dataset(dataset_directory)
    assert dataset.hash_value == expected_dataset_hash(b"alpha", b"beta")
    assert dataset.hash_value == Dataset(dataset_directory).hash_value


def test_hash_is_independent_of_file_order(dataset_directory):
    a, b = os.path.join(dataset_directory, "a.txt"), os.path.join(dataset_directory, "b.csv")
    assert (
        Dataset(path=dataset_directory, files=[a, b]).hash_value
        == Dataset(path=dataset_directory, files=[b, a]).hash_value
    )


def test_same_content_in_another_directory_has_the_same_hash(dataset_directory, tmp_path):
    other = tmp_path / "elsewhere" / "copy"
    make_files(other, FILES)
    assert Dataset(str(other), recursive=True).hash_value == Dataset(dataset_directory, recursive=True).hash_value


def test_hash_changes_when_a_file_changes(dataset_directory):
    before = Dataset(dataset_directory).hash_value
    make_files(dataset_directory, {"a.txt": b"changed"})
    assert Dataset(dataset_directory).hash_value == expected_dataset_hash(b"changed", b"beta") != before


# -- metadata --


def test_metadata_holds_id_name_tags_labels_and_sdk_version(dataset_directory):
    dataset = Dataset(dataset_directory, id=ID, name="named", tags={"b": 1, "a": 2}, labels="y x")
    assert dataset.metadata() == {
        "id": ID,
        "name": "named",
        "tags": {"a": 2, "b": 1},
        "labels": ["x", "y"],
        "sdk_version": __version__,
    }
    assert dataset.metadata(include_id=False, include_sdk_version=False) == {
        "name": "named",
        "tags": {"a": 2, "b": 1},
        "labels": ["x", "y"],
    }


def test_metadata_hash_value_excludes_the_id(dataset_directory):
    first = Dataset(dataset_directory, tags={"a": 1})
    second = Dataset(dataset_directory, tags={"a": 1})
    assert first.id != second.id
    assert first.metadata_hash_value == second.metadata_hash_value
    assert first.metadata_hash_value != Dataset(dataset_directory, tags={"a": 2}).metadata_hash_value


def test_update_local_metadata_with_files_then_reopening_keeps_all_metadata(dataset_directory):
    dataset = Dataset(dataset_directory, recursive=True, id=ID, name="kept", tags={"project": "p"}, labels="l1")
    for file in dataset.files:
        file.add_tags(source=file.name)
        file.add_labels("tagged")

    dataset.update_local_metadata(include_files=True)

    reopened = Dataset(dataset_directory, recursive=True)
    assert reopened.id == ID
    assert reopened.name == "kept"
    assert reopened.tags == {"project": "p"}
    assert reopened.labels == {"l1"}
    assert {file.name: dict(file.tags) for file in reopened.files} == {
        name: {"source": name} for name in ["a.txt", "b.csv", "c.txt", "d.txt"]
    }
    assert all(file.labels == {"tagged"} for file in reopened.files)
    for file in dataset.files:
        assert Datafile(file.local_path).id == file.id


def test_building_a_local_dataset_reads_one_metadata_file_per_directory(dataset_directory, monkeypatch):
    from plait.resources import local_metadata

    Dataset(dataset_directory, recursive=True).update_local_metadata(include_files=True)
    loaded = []
    real_load = local_metadata.load

    def counting_load(directory):
        loaded.append(directory)
        return real_load(directory)

    monkeypatch.setattr(local_metadata, "load", counting_load)
    Dataset(dataset_directory, recursive=True)

    assert sorted(loaded) == sorted(
        [dataset_directory, os.path.join(dataset_directory, "sub"), os.path.join(dataset_directory, "sub", "deeper")]
    )


def test_include_files_is_keyword_only(dataset_directory):
    dataset = Dataset(dataset_directory)
    with pytest.raises(TypeError):
        dataset.update_metadata(True)
    with pytest.raises(TypeError):
        dataset.update_local_metadata(True)


def test_update_local_metadata_without_files_keeps_files_metadata_out(dataset_directory):
    dataset = Dataset(dataset_directory, tags={"a": 1})
    for file in dataset.files:
        file.add_tags(unsaved=True)
    dataset.update_metadata()

    reopened = Dataset(dataset_directory)
    assert reopened.tags == {"a": 1}
    assert all(file.tags == {} for file in reopened.files)


def test_stored_dataset_metadata_wins_unless_ignored(dataset_directory):
    Dataset(dataset_directory, id=ID, tags={"stored": 1}).update_local_metadata()

    assert Dataset(dataset_directory, tags={"argument": 1}).tags == {"stored": 1}
    assert Dataset(dataset_directory, tags={"argument": 1}).id == ID
    ignoring = Dataset(dataset_directory, tags={"argument": 1}, ignore_stored_metadata=True)
    assert ignoring.tags == {"argument": 1}
    assert ignoring.id != ID


def test_ignore_stored_metadata_also_ignores_files_metadata(dataset_directory):
    Datafile(os.path.join(dataset_directory, "a.txt"), tags={"stored": 1}).update_local_metadata()
    assert Dataset(dataset_directory).files.one(name__equals="a.txt").tags == {"stored": 1}
    assert Dataset(dataset_directory, ignore_stored_metadata=True).files.one(name__equals="a.txt").tags == {}


def test_updating_metadata_of_a_missing_directory_raises_file_not_found(dataset_directory, tmp_path):
    dataset = Dataset(path=str(tmp_path / "never-made"), files=[os.path.join(dataset_directory, "a.txt")])
    with pytest.raises(FileNotFoundException):
        dataset.update_local_metadata()


# -- serialisation --


def test_to_primitive_gives_metadata_path_and_file_paths(dataset_directory):
    dataset = Dataset(dataset_directory, id=ID, tags={"a": 1})
    primitive = dataset.to_primitive()
    assert primitive == {
        "id": ID,
        "name": "my-dataset",
        "tags": {"a": 1},
        "labels": [],
        "sdk_version": __version__,
        "path": dataset_directory,
        "recursive": False,
        "files": [os.path.join(dataset_directory, "a.txt"), os.path.join(dataset_directory, "b.csv")],
    }
    assert "files" not in dataset.to_primitive(include_files=False)


def test_serialise_and_deserialise_round_trip(dataset_directory):
    dataset = Dataset(dataset_directory, recursive=True, id=ID, name="round", tags={"a": [1]}, labels="x")

    for restored in (
        Dataset.deserialise(dataset.to_primitive()),
        Dataset.deserialise(dataset.serialise(), from_string=True),
    ):
        assert restored.id == ID
        assert restored.name == "round"
        assert restored.tags == {"a": [1]}
        assert restored.labels == {"x"}
        assert restored.path == dataset_directory
        assert names(restored) == names(dataset)
        assert restored.hash_value == dataset.hash_value


def test_to_file_writes_the_primitive(dataset_directory, tmp_path):
    dataset = Dataset(dataset_directory)
    dataset.to_file(str(tmp_path / "dataset.json"))
    with open(tmp_path / "dataset.json") as file:
        assert json.load(file) == dataset.to_primitive()


def test_cloud_operations_on_a_local_dataset_raise_cloud_location_not_specified(dataset_directory):
    dataset = Dataset(dataset_directory)
    with pytest.raises(CloudLocationNotSpecified):
        dataset.upload()
    with pytest.raises(CloudLocationNotSpecified):
        dataset.download()
    with pytest.raises(CloudLocationNotSpecified):
        dataset.update_cloud_metadata()
    with pytest.raises(CloudLocationNotSpecified):
        dataset.generate_signed_url()
    assert dataset.all_files_are_in_cloud is False
    assert dataset.exists_in_cloud is False


# -- cloud (storage emulator) --


def test_upload_puts_each_file_at_its_relative_path(dataset_directory, cloud_root):
    dataset = Dataset(dataset_directory, recursive=True, tags={"a": 1})
    cloud_path = f"{cloud_root}/uploaded"

    assert dataset.upload(cloud_path) == cloud_path

    client = GoogleCloudStorageClient()
    for relative, content in FILES.items():
        assert client.exists(f"{cloud_path}/{relative}")
        assert client.download_as_string(f"{cloud_path}/{relative}") == content.decode()
    assert client.exists(f"{cloud_path}/.plait")
    assert dataset.path == cloud_path
    assert dataset.cloud_path == cloud_path
    assert dataset.name == "my-dataset"
    assert dataset.all_files_are_in_cloud is True
    assert dataset.exists_in_cloud is True


def test_reopening_from_cloud_respects_recursive(dataset_directory, cloud_root):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory, recursive=True).upload(cloud_path)

    flat = Dataset(cloud_path)
    assert names(flat) == ["a.txt", "b.csv"]
    assert all(file.cloud_path.startswith(cloud_path + "/") for file in flat.files)

    nested = Dataset(cloud_path + "/", recursive=True)
    assert names(nested) == ["a.txt", "b.csv", "c.txt", "d.txt"]
    assert sorted(nested.path_in_dataset(file) for file in nested.files) == sorted(FILES)
    assert nested.hash_value == Dataset(dataset_directory, recursive=True).hash_value


def test_cloud_dataset_metadata_round_trip(dataset_directory, cloud_root):
    cloud_path = f"{cloud_root}/uploaded"
    dataset = Dataset(dataset_directory, id=ID, name="cloudy", tags={"t": 1}, labels="up")
    dataset.upload(cloud_path)

    reopened = Dataset(cloud_path)
    assert reopened.id == ID
    assert reopened.name == "cloudy"
    assert reopened.tags == {"t": 1}
    assert reopened.labels == {"up"}

    reopened.add_tags(t=2, more="yes")
    reopened.add_labels("changed")
    reopened.update_cloud_metadata()

    again = Dataset(cloud_path, tags={"ignored": True})
    assert again.tags == {"t": 2, "more": "yes"}
    assert again.labels == {"up", "changed"}
    assert again.id == ID


def test_update_metadata_of_a_cloud_dataset_with_files(dataset_directory, cloud_root):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory).upload(cloud_path)

    dataset = Dataset(cloud_path)
    for file in dataset.files:
        file.add_tags(name_tag=file.name.replace(".", "_"))
    dataset.add_tags(updated=True)
    dataset.update_metadata(include_files=True)

    reopened = Dataset(cloud_path)
    assert reopened.tags == {"updated": True}
    assert {file.name: dict(file.tags) for file in reopened.files} == {
        "a.txt": {"name_tag": "a_txt"},
        "b.csv": {"name_tag": "b_csv"},
    }


def test_uploaded_file_metadata_is_kept_in_the_cloud(dataset_directory, cloud_root):
    dataset = Dataset(dataset_directory)
    for file in dataset.files:
        file.add_tags(height=len(file.name))
    dataset.upload(f"{cloud_root}/uploaded")

    reopened = Dataset(f"{cloud_root}/uploaded")
    assert {file.name: file.tags["height"] for file in reopened.files} == {"a.txt": 5, "b.csv": 5}
    assert sorted(file.cloud_hash_value for file in reopened.files) == sorted(
        [blake3_base64(b"alpha"), blake3_base64(b"beta")]
    )


def test_all_files_are_in_cloud(dataset_directory, cloud_root, tmp_path):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory).upload(cloud_path)

    dataset = Dataset(cloud_path)
    assert dataset.all_files_are_in_cloud is True

    (tmp_path / "local.txt").write_bytes(b"local only")
    mixed = Dataset(path=cloud_path, files=[*dataset.files, Datafile(str(tmp_path / "local.txt"))])
    assert mixed.all_files_are_in_cloud is False


def test_download_then_reopen_locally_keeps_hash_and_tags(dataset_directory, cloud_root, tmp_path):
    dataset = Dataset(dataset_directory, recursive=True, tags={"project": "p"})
    for file in dataset.files:
        file.add_tags(source=file.name)
    cloud_path = f"{cloud_root}/uploaded"
    dataset.upload(cloud_path)

    cloud_dataset = Dataset(cloud_path, recursive=True)
    target = str(tmp_path / "downloaded")
    assert cloud_dataset.download(target) == target

    with open(os.path.join(target, "sub", "deeper", "d.txt"), "rb") as file:
        assert file.read() == b"delta"
    local = Dataset(target, recursive=True)
    assert local.hash_value == dataset.hash_value == cloud_dataset.hash_value
    assert local.tags == {"project": "p"}
    assert local.name == "my-dataset"
    assert {file.name: dict(file.tags) for file in local.files} == {
        name: {"source": name} for name in ["a.txt", "b.csv", "c.txt", "d.txt"]
    }


def test_download_to_a_temporary_directory(dataset_directory, cloud_root):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory).upload(cloud_path)

    dataset = Dataset(cloud_path)
    directory = dataset.download()

    assert sorted(name for name in os.listdir(directory) if not name.startswith(".plait")) == ["a.txt", "b.csv"]
    assert Dataset(directory).hash_value == expected_dataset_hash(b"alpha", b"beta")


def test_add_to_a_cloud_dataset_uploads_the_file(dataset_directory, cloud_root, tmp_path):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory).upload(cloud_path)
    (tmp_path / "new.txt").write_bytes(b"new")

    dataset = Dataset(cloud_path, recursive=True)
    dataset.add(Datafile(str(tmp_path / "new.txt"), tags={"added": True}), path_in_dataset="extra/new.txt")

    assert GoogleCloudStorageClient().download_as_string(f"{cloud_path}/extra/new.txt") == "new"
    assert Dataset(cloud_path, recursive=True).files.one(name__equals="new.txt").tags == {"added": True}


def test_adding_over_a_cloud_file_replaces_it(dataset_directory, cloud_root, tmp_path):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory).upload(cloud_path)
    (tmp_path / "a.txt").write_bytes(b"replacement")

    dataset = Dataset(cloud_path)
    dataset.add(Datafile(str(tmp_path / "a.txt")))

    assert len(dataset) == 2
    assert dataset.hash_value == Dataset(cloud_path).hash_value == expected_dataset_hash(b"replacement", b"beta")


def test_building_a_cloud_dataset_makes_no_request_per_file(dataset_directory, cloud_root, monkeypatch):
    cloud_path = f"{cloud_root}/uploaded"
    Dataset(dataset_directory, recursive=True).upload(cloud_path)
    calls = []
    real_get_metadata = GoogleCloudStorageClient.get_metadata

    def counting_get_metadata(self, path):
        calls.append(path)
        return real_get_metadata(self, path)

    monkeypatch.setattr(GoogleCloudStorageClient, "get_metadata", counting_get_metadata)
    dataset = Dataset(cloud_path, recursive=True)

    assert len(dataset) == 4
    assert calls == []
    assert dataset.all_files_are_in_cloud is True
    assert calls == []


def test_missing_cloud_dataset_is_empty(cloud_root):
    dataset = Dataset(f"{cloud_root}/nothing-here")
    assert len(dataset) == 0
    assert dataset.tags == {}
