"""Manifest validation against a twine's manifest strands (local datasets in temporary directories only)."""

from __future__ import annotations

import io
import json

import pytest

from plait.exceptions import InvalidManifestContents, InvalidTwine
from plait.resources import Datafile, Dataset, Manifest
from plait.twine import Twine
from plait.twine import twine as twine_module

FILE_TAGS_TEMPLATE = {
    "type": "object",
    "required": ["height", "instrument"],
    "properties": {
        "height": {"type": "number", "minimum": 0},
        "instrument": {"type": "string", "enum": ["anemometer", "lidar"]},
    },
}

TWINE = {
    "input_manifest": {
        "datasets": {
            "met_mast": {"purpose": "Met mast data", "file_tags_template": FILE_TAGS_TEMPLATE},
            "scada": {"purpose": "Turbine SCADA"},
            "maps": {"purpose": "Optional maps", "optional": True},
        }
    },
    "output_manifest": {"datasets": {"results": {"optional": True}}},
}


def make_dataset(directory, files: dict[str, dict]) -> str:
    """A local dataset directory holding the given files, each with the given tags stored in ``.plait``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, tags in files.items():
        path = directory / name
        path.write_text(f"data of {name}")
        Datafile(str(path), tags=tags).update_local_metadata()
    return str(directory)


@pytest.fixture
def twine() -> Twine:
    return Twine(TWINE)


@pytest.fixture
def datasets(tmp_path) -> dict[str, str]:
    return {
        "met_mast": make_dataset(
            tmp_path / "met_mast",
            {"a.csv": {"height": 80, "instrument": "lidar"}, "b.csv": {"height": 100, "instrument": "anemometer"}},
        ),
        "scada": make_dataset(tmp_path / "scada", {"s.csv": {}}),
        "maps": make_dataset(tmp_path / "maps", {"m.tif": {"anything": "goes"}}),
    }


def test_valid_manifest_from_dict(twine, datasets):
    manifest = twine.validate_manifest("input_manifest", {"datasets": datasets})
    assert isinstance(manifest, Manifest)
    assert set(manifest.datasets) == {"met_mast", "scada", "maps"}
    assert len(manifest.get_dataset("met_mast")) == 2


def test_every_form_of_manifest(twine, datasets, tmp_path):
    manifest = Manifest(datasets=datasets)
    assert twine.validate_manifest("input_manifest", manifest) is manifest

    serialised = manifest.serialise()
    assert set(twine.validate_manifest("input_manifest", serialised).datasets) == set(datasets)

    path = tmp_path / "manifest.json"
    manifest.to_file(str(path))
    assert set(twine.validate_manifest("input_manifest", str(path)).datasets) == set(datasets)
    assert set(twine.validate_manifest("input_manifest", path).datasets) == set(datasets)
    assert set(twine.validate_manifest("input_manifest", io.StringIO(serialised)).datasets) == set(datasets)
    assert twine.validate_manifest("input_manifest", json.loads(serialised)).id == manifest.id


def test_optional_dataset_may_be_absent(twine, datasets):
    del datasets["maps"]
    manifest = twine.validate_manifest("input_manifest", {"datasets": datasets})
    assert set(manifest.datasets) == {"met_mast", "scada"}


def test_missing_required_dataset_names_missing_and_present_keys(twine, datasets):
    del datasets["scada"]
    with pytest.raises(InvalidManifestContents) as raised:
        twine.validate_manifest("input_manifest", {"datasets": datasets})
    message = str(raised.value)
    assert message.startswith("input_manifest: ")
    assert "missing the dataset(s) 'scada'" in message
    assert "it has: 'maps', 'met_mast'" in message
    assert raised.value.strand == "input_manifest"


def test_missing_dataset_from_a_manifest_instance(twine, datasets):
    manifest = Manifest(datasets={"met_mast": datasets["met_mast"]})
    with pytest.raises(InvalidManifestContents, match="missing the dataset\\(s\\) 'scada'"):
        twine.validate_manifest("input_manifest", manifest)


def test_unexpected_dataset_is_named(twine, datasets, tmp_path):
    datasets["extra_data"] = make_dataset(tmp_path / "extra", {"x.csv": {}})
    with pytest.raises(InvalidManifestContents, match=r"has dataset\(s\) 'extra_data' that the twine's input_manifest"):
        twine.validate_manifest("input_manifest", {"datasets": datasets})


def test_keys_are_checked_before_datasets_are_opened(twine, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a dataset was opened")

    monkeypatch.setattr(Manifest, "deserialise", fail)
    with pytest.raises(InvalidManifestContents, match="'scada'"):
        twine.validate_manifest("input_manifest", {"datasets": {"met_mast": "gs://bucket/met_mast"}})


def test_file_tags_template_failure_names_dataset_file_and_path(twine, datasets, tmp_path):
    datasets["met_mast"] = make_dataset(
        tmp_path / "bad_met_mast",
        {"a.csv": {"height": 80, "instrument": "lidar"}, "z.csv": {"height": -1, "instrument": "lidar"}},
    )
    with pytest.raises(InvalidManifestContents) as raised:
        twine.validate_manifest("input_manifest", {"datasets": datasets})
    message = str(raised.value)
    assert "dataset 'met_mast'" in message
    assert "file 'z.csv'" in message
    assert "$.height: -1 is less than the minimum of 0" in message
    assert raised.value.json_path == "$.height"


def test_file_tags_template_missing_tag(twine, datasets, tmp_path):
    datasets["met_mast"] = make_dataset(tmp_path / "untagged", {"c.csv": {"height": 3}})
    with pytest.raises(InvalidManifestContents, match=r"file 'c\.csv'.*\$: 'instrument' is a required property"):
        twine.validate_manifest("input_manifest", {"datasets": datasets})


def test_file_tags_template_applies_to_optional_datasets(tmp_path):
    twine = Twine(
        {"input_manifest": {"datasets": {"maps": {"optional": True, "file_tags_template": {"required": ["crs"]}}}}}
    )
    good = make_dataset(tmp_path / "good", {"m.tif": {"crs": "EPSG:4326"}})
    bad = make_dataset(tmp_path / "bad", {"m.tif": {}})
    assert twine.validate_manifest("input_manifest", {"datasets": {"maps": good}})
    with pytest.raises(InvalidManifestContents, match="'crs' is a required property"):
        twine.validate_manifest("input_manifest", {"datasets": {"maps": bad}})


def test_file_tags_validators_are_compiled_once(datasets, monkeypatch):
    made = []
    original = twine_module.SchemaValidator
    monkeypatch.setattr(twine_module, "SchemaValidator", lambda schema: made.append(schema) or original(schema))
    twine = Twine(TWINE)
    assert made == [FILE_TAGS_TEMPLATE]
    for _ in range(3):
        twine.validate_manifest("input_manifest", {"datasets": datasets})
    assert made == [FILE_TAGS_TEMPLATE]


def test_manifest_missing_but_required(twine):
    with pytest.raises(InvalidManifestContents, match="the input manifest is missing, but the twine requires"):
        twine.validate_manifest("input_manifest", None)


def test_manifest_missing_and_all_datasets_optional(twine):
    assert twine.validate_manifest("output_manifest", None) is None


def test_absent_strand(twine, datasets):
    assert twine.validate_manifest("configuration_manifest", None) is None
    with pytest.raises(InvalidManifestContents, match="this twine has no configuration_manifest strand"):
        twine.validate_manifest("configuration_manifest", {"datasets": datasets})


def test_unknown_manifest_strand(twine):
    with pytest.raises(ValueError, match="not a manifest strand"):
        twine.validate_manifest("input_values", None)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("not a manifest", "expected a Manifest, a serialised manifest"),
        ("{broken", "is not JSON"),
        ("/nowhere/manifest.json", "there is no file"),
        ([1, 2], "a serialised manifest is a JSON object"),
        ({"datasets": ["a"]}, "a serialised manifest is a JSON object"),
    ],
)
def test_unreadable_manifests(twine, manifest, message):
    with pytest.raises(InvalidManifestContents, match=message):
        twine.validate_manifest("input_manifest", manifest)


def test_invalid_dataset_inside_manifest_is_invalid_manifest_contents(twine, datasets):
    datasets["scada"] = {"path": datasets["scada"], "id": "not-a-uuid"}
    with pytest.raises(InvalidManifestContents, match=r"input_manifest: .*not a valid id"):
        twine.validate_manifest("input_manifest", {"datasets": datasets})


def test_output_manifest_with_empty_dataset(tmp_path):
    twine = Twine({"output_manifest": {"datasets": {"results": {"file_tags_template": {"required": ["kind"]}}}}})
    manifest = Manifest(datasets={"results": Dataset(path=make_dataset(tmp_path / "results", {}))})
    assert twine.validate_manifest("output_manifest", manifest) is manifest


def test_bad_dataset_key_in_twine():
    with pytest.raises(InvalidTwine, match=r"input_manifest\.datasets: 'MetMast' does not match"):
        Twine({"input_manifest": {"datasets": {"MetMast": {}}}})
