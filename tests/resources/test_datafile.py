"""Datafile: local behaviour (every parameter and member of the reference) and cloud behaviour
against the storage emulator."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid

import pytest
from blake3 import blake3

from plait import __version__
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    CloudLocationNotSpecified,
    CloudObjectNotFound,
    FileNotFoundException,
    InvalidIdentifierException,
    InvalidInputException,
    InvalidLabelException,
    InvalidTagException,
)
from plait.resources.datafile import Datafile
from plait.resources.label import LabelSet
from plait.resources.tag import TagDict

ID = "1b1a6a2e-8d52-4c3e-9b3e-5f6c2f1d9a01"
OTHER_ID = "9f0e0d0c-0b0a-4908-8706-050403020100"


def blake3_base64(data: bytes) -> str:
    return base64.b64encode(blake3(data).digest()).decode()


@pytest.fixture
def csv_file(tmp_path) -> str:
    path = tmp_path / "measurements.csv"
    path.write_bytes(b"x,y\n1,2\n3,4\n")
    return str(path)


def stored_entry(path: str) -> dict:
    directory, name = os.path.split(path)
    with open(os.path.join(directory, ".plait")) as file:
        return json.load(file)["datafiles"][name]


# -- construction --


def test_construction_with_id_tags_labels_and_timestamp(csv_file):
    timestamp = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)
    datafile = Datafile(csv_file, id=ID, tags={"height": 3, "site": "north"}, labels="wind raw", timestamp=timestamp)

    assert datafile.id == ID
    assert isinstance(datafile.tags, TagDict)
    assert datafile.tags == {"height": 3, "site": "north"}
    assert isinstance(datafile.labels, LabelSet)
    assert datafile.labels == {"wind", "raw"}
    assert datafile.timestamp == timestamp
    assert datafile.posix_timestamp == timestamp.timestamp() == 1706702400.0


def test_id_is_generated_when_not_given(csv_file):
    first, second = Datafile(csv_file), Datafile(csv_file)
    assert str(uuid.UUID(first.id)) == first.id
    assert first.id != second.id


def test_uppercase_uuid_id_is_normalised(csv_file):
    assert Datafile(csv_file, id=ID.upper()).id == ID


@pytest.mark.parametrize("invalid_id", ["not-a-uuid", "1234", "1b1a6a2e-8d52-4c3e-9b3e-5f6c2f1d9a0"])
def test_invalid_id_raises_invalid_identifier_exception(csv_file, invalid_id):
    with pytest.raises(InvalidIdentifierException) as error:
        Datafile(csv_file, id=invalid_id)
    assert invalid_id in str(error.value)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC), dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        (dt.datetime(2024, 1, 31, 12, 0), dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        (
            dt.datetime(2024, 1, 31, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC),
        ),
        (1706702400, dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        (1706702400.5, dt.datetime(2024, 1, 31, 12, 0, 0, 500000, tzinfo=dt.UTC)),
        ("2024-01-31T12:00:00+00:00", dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        ("2024-01-31T14:00:00+02:00", dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        ("2024-01-31T12:00:00", dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)),
        (None, None),
    ],
)
def test_timestamp_accepts_datetime_int_float_and_iso_text(csv_file, timestamp, expected):
    datafile = Datafile(csv_file, timestamp=timestamp)
    assert datafile.timestamp == expected
    if expected is None:
        assert datafile.posix_timestamp is None
    else:
        assert datafile.timestamp.tzinfo is not None
        assert datafile.posix_timestamp == expected.timestamp()


@pytest.mark.parametrize(
    "timestamp", ["yesterday", True, [2024], "2024-13-45", float("nan"), float("inf"), 10**20, -(10**18)]
)
def test_invalid_timestamp_raises_invalid_input(csv_file, timestamp):
    with pytest.raises(InvalidInputException):
        Datafile(csv_file, timestamp=timestamp)


def test_timestamp_can_be_set_after_construction(csv_file):
    datafile = Datafile(csv_file)
    datafile.timestamp = 0
    assert datafile.timestamp == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert datafile.posix_timestamp == 0.0


@pytest.mark.parametrize("tags", [{"Bad": 1}, {"trailing_": 1}, {"ok": float("nan")}, {"with-hyphen": 1}])
def test_invalid_tags_raise_invalid_tag_exception(csv_file, tags):
    with pytest.raises(InvalidTagException):
        Datafile(csv_file, tags=tags)


@pytest.mark.parametrize("labels", ["Bad", "trailing-", ["ok", "not_ok"], "-leading"])
def test_invalid_labels_raise_invalid_label_exception(csv_file, labels):
    with pytest.raises(InvalidLabelException):
        Datafile(csv_file, labels=labels)


def test_labels_accept_space_separated_string_json_list_and_iterables(csv_file):
    assert Datafile(csv_file, labels="a b").labels == {"a", "b"}
    assert Datafile(csv_file, labels='["a", "b"]').labels == {"a", "b"}
    assert Datafile(csv_file, labels=("a", "b-c")).labels == {"a", "b-c"}


def test_unknown_keyword_argument_raises_type_error(csv_file):
    with pytest.raises(TypeError) as error:
        Datafile(csv_file, colour="red")
    assert "colour" in str(error.value)


def test_derived_keys_of_a_serialisation_are_accepted_and_ignored(csv_file):
    datafile = Datafile(csv_file, name="other.csv", size_bytes=999, sdk_version="0.0.0")
    assert datafile.name == "measurements.csv"
    assert datafile.size_bytes == 12


@pytest.mark.parametrize("path", ["", None, 5])
def test_missing_or_non_string_path_raises_invalid_input(path):
    with pytest.raises(InvalidInputException):
        Datafile(path)


def test_invalid_cloud_path_is_rejected_at_construction(csv_file):
    with pytest.raises(InvalidInputException):
        Datafile("gs://Not_A_Bucket/file.csv", ignore_stored_metadata=True)
    with pytest.raises(InvalidInputException):
        Datafile(csv_file, cloud_path="gs://x/file.csv")


# -- stored metadata --


def test_stored_metadata_wins_over_arguments(csv_file):
    Datafile(csv_file, id=ID, tags={"a": 1}, labels="stored", timestamp=100).update_local_metadata()

    datafile = Datafile(csv_file, id=OTHER_ID, tags={"b": 2}, labels="argument", timestamp=200)

    assert datafile.id == ID
    assert datafile.tags == {"a": 1}
    assert datafile.labels == {"stored"}
    assert datafile.posix_timestamp == 100


def test_ignore_stored_metadata_uses_arguments(csv_file):
    Datafile(csv_file, id=ID, tags={"a": 1}, labels="stored", timestamp=100).update_local_metadata()

    datafile = Datafile(
        csv_file, id=OTHER_ID, tags={"b": 2}, labels="argument", timestamp=200, ignore_stored_metadata=True
    )

    assert datafile.id == OTHER_ID
    assert datafile.tags == {"b": 2}
    assert datafile.labels == {"argument"}
    assert datafile.posix_timestamp == 200


def test_arguments_are_used_when_nothing_is_stored(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"b": 2})
    assert datafile.id == ID
    assert datafile.tags == {"b": 2}


def test_update_local_metadata_stores_metadata_and_hash_in_directory_file(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"a": 1}, labels="x", timestamp=100)
    datafile.update_local_metadata()

    entry = stored_entry(csv_file)
    assert entry["id"] == ID
    assert entry["tags"] == {"a": 1}
    assert entry["labels"] == ["x"]
    assert entry["timestamp"] == "1970-01-01T00:01:40+00:00"
    assert entry["hash"] == blake3_base64(b"x,y\n1,2\n3,4\n")
    assert entry["size_bytes"] == 12
    assert entry["sdk_version"] == __version__


def test_update_metadata_of_a_local_file_updates_the_local_file(csv_file):
    datafile = Datafile(csv_file)
    datafile.add_tags(a=1)
    datafile.update_metadata()
    assert stored_entry(csv_file)["tags"] == {"a": 1}
    assert Datafile(csv_file).tags == {"a": 1}


def test_updating_one_file_keeps_other_files_metadata(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    Datafile(str(tmp_path / "a.txt"), tags={"name": "a"}).update_local_metadata()
    Datafile(str(tmp_path / "b.txt"), tags={"name": "b"}).update_local_metadata()

    assert Datafile(str(tmp_path / "a.txt")).tags == {"name": "a"}
    assert Datafile(str(tmp_path / "b.txt")).tags == {"name": "b"}


def test_add_tags_and_add_labels_validate_and_merge(csv_file):
    datafile = Datafile(csv_file, tags={"a": 1}, labels="one")
    datafile.add_tags({"b": 2}, c=3)
    datafile.add_labels("two", "three")

    assert datafile.tags == {"a": 1, "b": 2, "c": 3}
    assert datafile.labels == {"one", "two", "three"}

    with pytest.raises(InvalidTagException):
        datafile.add_tags(good=1, Bad=2)
    assert datafile.tags == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(InvalidLabelException):
        datafile.add_labels("fine", "Not-Fine")
    assert datafile.labels == {"one", "two", "three"}


def test_tags_and_labels_can_be_replaced(csv_file):
    datafile = Datafile(csv_file, tags={"a": 1}, labels="one")
    datafile.tags = {"z": 26}
    datafile.labels = "new"
    assert datafile.tags == {"z": 26}
    assert isinstance(datafile.tags, TagDict)
    assert datafile.labels == {"new"}
    with pytest.raises(InvalidTagException):
        datafile.tags = {"A": 1}


def test_metadata_is_namespaced_with_id_and_sdk_version_by_default(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"b": 1, "a": 2}, labels="y x", timestamp=0)

    assert datafile.metadata() == {
        "plait__id": ID,
        "plait__timestamp": "1970-01-01T00:00:00+00:00",
        "plait__tags": {"a": 2, "b": 1},
        "plait__labels": ["x", "y"],
        "plait__sdk_version": __version__,
    }


def test_metadata_flags_drop_id_sdk_version_and_namespace(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"a": 2}, labels="x")

    assert datafile.metadata(include_id=False) == {
        "plait__timestamp": None,
        "plait__tags": {"a": 2},
        "plait__labels": ["x"],
        "plait__sdk_version": __version__,
    }
    assert datafile.metadata(include_sdk_version=False) == {
        "plait__id": ID,
        "plait__timestamp": None,
        "plait__tags": {"a": 2},
        "plait__labels": ["x"],
    }
    assert datafile.metadata(use_plait_namespace=False) == {
        "id": ID,
        "timestamp": None,
        "tags": {"a": 2},
        "labels": ["x"],
        "sdk_version": __version__,
    }
    assert datafile.metadata(include_id=False, include_sdk_version=False, use_plait_namespace=False) == {
        "timestamp": None,
        "tags": {"a": 2},
        "labels": ["x"],
    }


# -- location and size --


def test_name_extension_path_and_local_path(csv_file):
    datafile = Datafile(csv_file)
    assert datafile.name == "measurements.csv"
    assert datafile.extension == "csv"
    assert datafile.path == csv_file
    assert datafile.local_path == csv_file
    assert datafile.cloud_path is None
    assert datafile.signed_url is None
    assert datafile.is_read_only is False


def test_extension_of_a_file_without_one_is_empty(tmp_path):
    (tmp_path / "README").write_text("x")
    assert Datafile(str(tmp_path / "README")).extension == ""
    assert Datafile(str(tmp_path / "archive.tar.gz"), ignore_stored_metadata=True).extension == "gz"


def test_relative_path_is_made_absolute(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("a")
    monkeypatch.chdir(tmp_path)
    datafile = Datafile("a.txt")
    assert datafile.local_path == str(tmp_path / "a.txt")


def test_pathlike_paths_are_accepted(tmp_path):
    (tmp_path / "a.txt").write_text("abc")
    assert Datafile(tmp_path / "a.txt").size_bytes == 3


def test_size_bytes_and_exists_locally(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"12345")
    assert Datafile(str(tmp_path / "a.bin")).size_bytes == 5
    assert Datafile(str(tmp_path / "a.bin")).exists_locally is True

    missing = Datafile(str(tmp_path / "missing.bin"))
    assert missing.exists_locally is False
    assert missing.size_bytes is None


def test_a_directory_does_not_exist_locally_as_a_file(tmp_path):
    (tmp_path / "sub").mkdir()
    assert Datafile(str(tmp_path / "sub")).exists_locally is False


def test_local_file_is_not_in_the_cloud(csv_file):
    datafile = Datafile(csv_file)
    assert datafile.exists_in_cloud is False
    assert datafile.cloud_hash_value is None


# -- hashing --


def test_hash_value_is_blake3_base64_of_the_bytes(csv_file):
    assert Datafile(csv_file).hash_value == blake3_base64(b"x,y\n1,2\n3,4\n")


def test_hash_does_not_depend_on_name_or_metadata(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"same")
    (tmp_path / "b.dat").write_bytes(b"same")
    first = Datafile(str(tmp_path / "a.txt"), tags={"a": 1})
    second = Datafile(str(tmp_path / "b.dat"), labels="other")
    assert first.hash_value == second.hash_value == blake3_base64(b"same")


def test_reset_hash_recalculates_after_the_file_changes(csv_file):
    datafile = Datafile(csv_file)
    original = datafile.hash_value

    with open(csv_file, "ab") as file:
        file.write(b"5,6\n")

    assert datafile.hash_value == original  # remembered until reset
    datafile.reset_hash()
    assert datafile.hash_value == blake3_base64(b"x,y\n1,2\n3,4\n5,6\n")
    assert datafile.hash_value != original


def test_hash_value_can_be_set_and_reset(csv_file):
    datafile = Datafile(csv_file)
    datafile.hash_value = "made-up"
    assert datafile.hash_value == "made-up"
    datafile.reset_hash()
    assert datafile.hash_value == blake3_base64(b"x,y\n1,2\n3,4\n")


def test_hash_value_keyword_argument_is_used_as_given(csv_file):
    assert Datafile(csv_file, hash_value="given").hash_value == "given"


def test_stored_hash_is_reused_while_size_and_mtime_match(csv_file):
    Datafile(csv_file).update_local_metadata()
    directory = os.path.dirname(csv_file)
    with open(os.path.join(directory, ".plait")) as file:
        stored = json.load(file)
    stored["datafiles"]["measurements.csv"]["hash"] = "cached-value"
    with open(os.path.join(directory, ".plait"), "w") as file:
        json.dump(stored, file)

    assert Datafile(csv_file).hash_value == "cached-value"

    # Same size, different bytes and modification time: the cache no longer applies.
    with open(csv_file, "wb") as file:
        file.write(b"x,y\n9,9\n9,9\n")
    os.utime(csv_file, ns=(1_000_000_000, 1_000_000_000))
    assert Datafile(csv_file).hash_value == blake3_base64(b"x,y\n9,9\n9,9\n")


def test_hashing_a_missing_local_file_raises_file_not_found_with_its_path(tmp_path):
    path = str(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundException) as error:
        Datafile(path).hash_value  # noqa: B018
    assert path in str(error.value)
    assert isinstance(error.value, FileNotFoundError)


def test_updating_metadata_of_a_missing_local_file_raises_file_not_found(tmp_path):
    path = str(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundException) as error:
        Datafile(path).update_local_metadata()
    assert path in str(error.value)


# -- opening --


def test_open_for_writing_reading_and_appending(tmp_path):
    path = str(tmp_path / "sub" / "notes.txt")
    datafile = Datafile(path)

    with datafile.open("w") as file:
        file.write("first")
    assert datafile.hash_value == blake3_base64(b"first")

    with datafile.open() as file:
        assert file.read() == "first"

    with datafile.open("a") as file:
        file.write(" second")
    assert datafile.hash_value == blake3_base64(b"first second")

    with datafile.open("rb") as file:
        assert file.read() == b"first second"

    with datafile.open("r+") as file:
        file.write("FIRST")
    with open(path) as file:
        assert file.read() == "FIRST second"


def test_open_accepts_builtin_open_keyword_arguments(tmp_path):
    datafile = Datafile(str(tmp_path / "unicode.txt"))
    with datafile.open("w", encoding="utf-16") as file:
        file.write("ü")
    assert (tmp_path / "unicode.txt").read_bytes().decode("utf-16") == "ü"


def test_opening_a_missing_local_file_for_reading_raises_file_not_found(tmp_path):
    path = str(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundException) as error, Datafile(path).open() as file:
        file.read()
    assert path in str(error.value)


def test_context_manager_writes_file_and_its_metadata_on_exit(tmp_path):
    path = str(tmp_path / "out.txt")

    with Datafile(path, mode="w", tags={"run": 7}, labels="output") as (datafile, file):
        assert isinstance(datafile, Datafile)
        file.write("result")

    with open(path) as file:
        assert file.read() == "result"
    entry = stored_entry(path)
    assert entry["tags"] == {"run": 7}
    assert entry["labels"] == ["output"]
    assert entry["hash"] == blake3_base64(b"result")
    reopened = Datafile(path)
    assert reopened.id == datafile.id
    assert reopened.tags == {"run": 7}


def test_context_manager_without_update_metadata_writes_no_metadata(tmp_path):
    path = str(tmp_path / "out.txt")
    with Datafile(path, mode="w", tags={"run": 7}, update_metadata=False) as (_, file):
        file.write("result")
    assert (tmp_path / "out.txt").read_text() == "result"
    assert not (tmp_path / ".plait").exists()


def test_context_manager_in_read_mode_reads(csv_file):
    with Datafile(csv_file) as (datafile, file):
        assert file.read() == "x,y\n1,2\n3,4\n"
    assert datafile.name == "measurements.csv"


def test_context_manager_does_not_save_metadata_when_the_block_raises(tmp_path):
    path = str(tmp_path / "out.txt")
    with pytest.raises(RuntimeError), Datafile(path, mode="w", tags={"a": 1}) as (_, file):
        file.write("partial")
        raise RuntimeError("analysis failed")
    assert not (tmp_path / ".plait").exists()


# -- serialisation --


def test_to_primitive_holds_path_metadata_and_hash(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"a": 1}, labels="x", timestamp=0)
    assert datafile.to_primitive() == {
        "id": ID,
        "name": "measurements.csv",
        "path": csv_file,
        "cloud_path": None,
        "local_path": csv_file,
        "timestamp": "1970-01-01T00:00:00+00:00",
        "tags": {"a": 1},
        "labels": ["x"],
        "hash_value": blake3_base64(b"x,y\n1,2\n3,4\n"),
        "sdk_version": __version__,
    }


def _assert_same_datafile(first: Datafile, second: Datafile) -> None:
    assert second.id == first.id
    assert second.path == first.path
    assert second.tags == first.tags
    assert second.labels == first.labels
    assert second.timestamp == first.timestamp
    assert second.hash_value == first.hash_value


def test_serialise_and_deserialise_round_trip(csv_file):
    datafile = Datafile(csv_file, id=ID, tags={"a": [1, 2]}, labels="x y", timestamp=1706702400)

    from_dict = Datafile.deserialise(datafile.to_primitive())
    from_string = Datafile.deserialise(datafile.serialise(), from_string=True)

    _assert_same_datafile(datafile, from_dict)
    _assert_same_datafile(datafile, from_string)
    assert json.loads(datafile.serialise()) == datafile.to_primitive()


def test_deserialised_metadata_is_used_rather_than_stored_metadata(csv_file):
    serialised = Datafile(csv_file, id=ID, tags={"sent": True}).to_primitive()
    Datafile(csv_file, id=OTHER_ID, tags={"stored": True}).update_local_metadata()

    datafile = Datafile.deserialise(serialised)
    assert datafile.id == ID
    assert datafile.tags == {"sent": True}


def test_deserialise_rejects_bad_input():
    with pytest.raises(InvalidInputException):
        Datafile.deserialise("{not json", from_string=True)
    with pytest.raises(InvalidInputException):
        Datafile.deserialise({"id": ID})
    with pytest.raises(InvalidInputException):
        Datafile.deserialise("[1, 2]", from_string=True)


def test_to_file_writes_the_primitive_as_json(csv_file, tmp_path):
    datafile = Datafile(csv_file, id=ID, tags={"a": 1})
    target = tmp_path / "datafile.json"
    datafile.to_file(str(target))

    with open(target) as file:
        written = json.load(file)
    assert written == datafile.to_primitive()
    _assert_same_datafile(datafile, Datafile.deserialise(target.read_text(), from_string=True))


# -- cloud operations on local files --


def test_cloud_operations_without_a_cloud_path_raise_cloud_location_not_specified(csv_file):
    datafile = Datafile(csv_file)
    with pytest.raises(CloudLocationNotSpecified):
        datafile.upload()
    with pytest.raises(CloudLocationNotSpecified):
        datafile.download()
    with pytest.raises(CloudLocationNotSpecified):
        datafile.update_cloud_metadata()
    with pytest.raises(CloudLocationNotSpecified):
        datafile.generate_signed_url()


def test_repr_names_the_file(csv_file):
    assert repr(Datafile(csv_file)) == "<Datafile('measurements.csv')>"


# -- cloud (storage emulator) --


def test_upload_then_reopen_from_cloud_keeps_metadata_and_hash(csv_file, cloud_root):
    timestamp = dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC)
    datafile = Datafile(csv_file, id=ID, tags={"height": 3}, labels="wind", timestamp=timestamp)
    cloud_path = f"{cloud_root}/data/measurements.csv"

    assert datafile.upload(cloud_path) == cloud_path
    assert datafile.cloud_path == cloud_path
    assert datafile.path == cloud_path

    reopened = Datafile(cloud_path)
    assert reopened.id == ID
    assert reopened.tags == {"height": 3}
    assert reopened.labels == {"wind"}
    assert reopened.timestamp == timestamp
    assert reopened.cloud_hash_value == blake3_base64(b"x,y\n1,2\n3,4\n")
    assert reopened.cloud_hash_value == Datafile(csv_file).hash_value
    assert reopened.hash_value == reopened.cloud_hash_value
    assert reopened.exists_in_cloud is True
    assert reopened.exists_locally is False

    custom = GoogleCloudStorageClient().get_metadata(cloud_path).custom_metadata
    assert custom["plait__id"] == ID
    assert custom["plait__sdk_version"] == __version__


def test_upload_without_cloud_metadata_sets_none(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/bare.csv"
    Datafile(csv_file, tags={"a": 1}).upload(cloud_path, update_cloud_metadata=False)

    assert GoogleCloudStorageClient().get_metadata(cloud_path).custom_metadata == {}
    reopened = Datafile(cloud_path)
    assert reopened.tags == {}
    assert reopened.cloud_hash_value is None


def test_upload_to_a_given_cloud_path_from_local_file_with_cloud_path(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/synced.csv"
    datafile = Datafile(csv_file, cloud_path=cloud_path)
    assert datafile.path == csv_file  # not uploaded yet
    assert datafile.exists_in_cloud is False

    datafile.upload()
    assert Datafile(cloud_path).hash_value == datafile.hash_value


def test_uploading_a_missing_local_file_raises_file_not_found(tmp_path, cloud_root):
    path = str(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundException) as error:
        Datafile(path).upload(f"{cloud_root}/missing.csv")
    assert path in str(error.value)


def test_update_cloud_metadata_round_trip(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    datafile = Datafile(cloud_path)
    datafile.add_tags(quality="good")
    datafile.add_labels("checked")
    datafile.timestamp = 1000
    datafile.update_cloud_metadata()

    reopened = Datafile(cloud_path)
    assert reopened.tags == {"quality": "good"}
    assert reopened.labels == {"checked"}
    assert reopened.posix_timestamp == 1000
    assert reopened.id == datafile.id
    assert reopened.cloud_hash_value == blake3_base64(b"x,y\n1,2\n3,4\n")


def test_update_metadata_of_a_cloud_file_updates_the_cloud_object(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    datafile = Datafile(csv_file)
    datafile.upload(cloud_path)
    datafile.add_tags(after_upload=True)
    datafile.update_metadata()

    assert Datafile(cloud_path).tags == {"after_upload": True}


def test_stored_cloud_metadata_wins_unless_ignored(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file, id=ID, tags={"stored": 1}).upload(cloud_path)

    assert Datafile(cloud_path, id=OTHER_ID, tags={"argument": 1}).id == ID
    ignoring = Datafile(cloud_path, id=OTHER_ID, tags={"argument": 1}, ignore_stored_metadata=True)
    assert ignoring.id == OTHER_ID
    assert ignoring.tags == {"argument": 1}


def test_download_to_a_given_path(csv_file, cloud_root, tmp_path):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)
    target = str(tmp_path / "downloads" / "copy.csv")

    datafile = Datafile(cloud_path)
    assert datafile.download(target) == target

    with open(target, "rb") as file:
        assert file.read() == b"x,y\n1,2\n3,4\n"
    assert datafile.local_path == target
    assert datafile.exists_locally is True
    assert datafile.path == cloud_path
    assert [name for name in os.listdir(tmp_path / "downloads") if "plait-download" in name] == []


def test_download_to_a_temporary_path(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    datafile = Datafile(cloud_path)
    local_path = datafile.download()

    assert os.path.basename(local_path) == "measurements.csv"
    assert local_path != csv_file
    with open(local_path, "rb") as file:
        assert file.read() == b"x,y\n1,2\n3,4\n"
    assert datafile.to_primitive()["local_path"] is None  # temporary copies are not serialised


def test_path_of_a_cloud_file_never_downloads_it(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    datafile = Datafile(cloud_path)
    assert datafile.path == cloud_path
    assert datafile.name == "measurements.csv"
    assert datafile.exists_locally is False


def test_local_path_of_a_cloud_file_downloads_it(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    datafile = Datafile(cloud_path)
    with open(datafile.local_path, "rb") as file:
        assert file.read() == b"x,y\n1,2\n3,4\n"


def test_opening_a_cloud_file_for_reading_downloads_it(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    with Datafile(cloud_path).open() as file:
        assert file.read() == "x,y\n1,2\n3,4\n"


def test_opening_a_cloud_file_for_writing_uploads_it_on_exit(cloud_root):
    cloud_path = f"{cloud_root}/written.txt"
    datafile = Datafile(cloud_path, tags={"made": "in-cloud"})

    with datafile.open("w") as file:
        file.write("new content")

    reopened = Datafile(cloud_path)
    with reopened.open() as file:
        assert file.read() == "new content"
    assert reopened.tags == {"made": "in-cloud"}
    assert reopened.cloud_hash_value == blake3_base64(b"new content")


def test_appending_to_a_cloud_file_uploads_the_whole_file(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    Datafile(csv_file).upload(cloud_path)

    with Datafile(cloud_path).open("a") as file:
        file.write("5,6\n")

    reopened = Datafile(cloud_path)
    assert GoogleCloudStorageClient().download_as_string(cloud_path) == "x,y\n1,2\n3,4\n5,6\n"
    assert reopened.cloud_hash_value == blake3_base64(b"x,y\n1,2\n3,4\n5,6\n")


def test_cloud_context_manager_writes_object_and_metadata(cloud_root):
    cloud_path = f"{cloud_root}/ctx.txt"
    with Datafile(cloud_path, mode="w", labels="from-context") as (datafile, file):
        file.write("abc")

    reopened = Datafile(cloud_path)
    assert reopened.id == datafile.id
    assert reopened.labels == {"from-context"}
    assert GoogleCloudStorageClient().download_as_string(cloud_path) == "abc"


def test_exists_in_cloud(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    assert Datafile(cloud_path).exists_in_cloud is False
    Datafile(csv_file).upload(cloud_path)
    assert Datafile(cloud_path).exists_in_cloud is True


def test_hashing_a_cloud_file_without_stored_hash_streams_its_bytes(cloud_root):
    cloud_path = f"{cloud_root}/raw.bin"
    data = os.urandom(3 * 1024 * 1024 + 5)
    GoogleCloudStorageClient().upload_from_string(data, cloud_path)

    datafile = Datafile(cloud_path)
    assert datafile.cloud_hash_value is None
    assert datafile.hash_value == blake3_base64(data)
    assert datafile.exists_locally is False  # streamed, not downloaded


def test_reset_hash_of_a_cloud_file_ignores_its_stored_hash(cloud_root):
    cloud_path = f"{cloud_root}/raw.bin"
    GoogleCloudStorageClient().upload_from_string(b"real bytes", cloud_path, metadata={"plait__hash": "stale"})

    datafile = Datafile(cloud_path)
    assert datafile.hash_value == "stale"
    datafile.reset_hash()
    assert datafile.hash_value == blake3_base64(b"real bytes")


def test_downloading_a_missing_object_raises_cloud_object_not_found(cloud_root, tmp_path):
    datafile = Datafile(f"{cloud_root}/missing.csv")
    with pytest.raises(CloudObjectNotFound) as error:
        datafile.download(str(tmp_path / "missing.csv"))
    assert f"{cloud_root}/missing.csv" in str(error.value)
    assert os.listdir(tmp_path) == []


def test_size_bytes_of_a_cloud_file(cloud_root):
    cloud_path = f"{cloud_root}/sized.bin"
    GoogleCloudStorageClient().upload_from_string(b"0123456789", cloud_path)

    datafile = Datafile(cloud_path)
    assert datafile.size_bytes == 10
    assert datafile.exists_locally is False
    assert Datafile(f"{cloud_root}/missing.bin").size_bytes is None


def test_cloud_datafile_serialisation_round_trip(csv_file, cloud_root):
    cloud_path = f"{cloud_root}/measurements.csv"
    datafile = Datafile(csv_file, id=ID, tags={"a": 1})
    datafile.upload(cloud_path)

    primitive = datafile.to_primitive()
    assert primitive["path"] == cloud_path
    assert primitive["cloud_path"] == cloud_path

    restored = Datafile.deserialise(primitive)
    _assert_same_datafile(datafile, restored)
    assert restored.cloud_path == cloud_path
