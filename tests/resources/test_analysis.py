"""``Analysis``: strands, the four BLAKE3 hashes (also across processes), monitor messages, and
finalising (validation, storing output datasets locally or in the cloud, signed URLs)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid

import pytest

from plait import hashing
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import InvalidManifestContents, InvalidMonitorMessage, InvalidValuesContents, ReadOnlyResource
from plait.resources.analysis import Analysis
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.resources.manifest import Manifest
from plait.twine import Twine

TWINE = {
    "configuration_values_schema": {"type": "object"},
    "input_values_schema": {"type": "object"},
    "output_values_schema": {
        "type": "object",
        "properties": {"mean": {"type": "number"}},
        "required": ["mean"],
    },
    "configuration_manifest": {"datasets": {"calibration": {"purpose": "calibration"}}},
    "input_manifest": {"datasets": {"met_mast": {"purpose": "measurements"}}},
    "output_manifest": {
        "datasets": {
            "profile": {
                "purpose": "the output profile",
                "file_tags_template": {
                    "type": "object",
                    "properties": {"kind": {"enum": ["measured", "fitted"]}},
                    "required": ["kind"],
                },
            }
        }
    },
    "monitor_message_schema": {
        "type": "object",
        "properties": {"progress": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["progress"],
    },
    "children": [{"key": "wind", "purpose": "wind data"}],
}

OUTPUT_TWINE = {
    "output_values_schema": TWINE["output_values_schema"],
    "output_manifest": TWINE["output_manifest"],
}


def make_dataset(directory, files: dict[str, tuple[bytes, dict]]) -> Dataset:
    os.makedirs(directory, exist_ok=True)
    for name, (content, tags) in files.items():
        with Datafile(os.path.join(directory, name), mode="wb", tags=tags, labels="wind") as (_, file):
            file.write(content)
    return Dataset(path=str(directory))


@pytest.fixture
def input_manifest(tmp_path) -> Manifest:
    dataset = make_dataset(tmp_path / "met_mast", {"40m.csv": (b"1,2,3\n", {"height_m": 40})})
    return Manifest(datasets={"met_mast": dataset})


@pytest.fixture
def configuration_manifest(tmp_path) -> Manifest:
    dataset = make_dataset(tmp_path / "calibration", {"gains.csv": (b"1.01\n", {"sensor": "a"})})
    return Manifest(datasets={"calibration": dataset})


def output_analysis(tmp_path, **kwargs) -> Analysis:
    """An analysis with two tagged files in its ``profile`` output dataset and valid output values."""
    dataset = make_dataset(
        tmp_path / "outputs" / "profile",
        {
            "measured.csv": (b"40,7.1\n80,7.6\n", {"kind": "measured"}),
            "nested/fitted.csv": (b"40,7.0\n80,7.7\n", {"kind": "fitted"}),
        },
    )
    dataset = Dataset(path=dataset.path, recursive=True)
    return Analysis(
        twine=OUTPUT_TWINE,
        output_values={"mean": 7.4},
        output_manifest=Manifest(datasets={"profile": dataset}),
        **kwargs,
    )


# -- strands and hashes --


def test_every_strand_is_an_attribute(input_manifest, configuration_manifest):
    children = {"wind": {"key": "wind", "id": "example/wind:1.0.0", "backend": {"name": "local"}}}
    output_manifest = Manifest()
    analysis = Analysis(
        twine=TWINE,
        configuration_values={"a": 1},
        configuration_manifest=configuration_manifest,
        input_values={"b": 2},
        input_manifest=input_manifest,
        output_values={"mean": 1.0},
        output_manifest=output_manifest,
        children=children,
    )
    assert analysis.configuration_values == {"a": 1}
    assert analysis.configuration_manifest is configuration_manifest
    assert analysis.input_values == {"b": 2}
    assert analysis.input_manifest is input_manifest
    assert analysis.output_values == {"mean": 1.0}
    assert analysis.output_manifest is output_manifest
    assert analysis.children == children
    assert isinstance(analysis.twine, Twine)


def test_strands_not_given_are_none():
    analysis = Analysis(twine={})
    for strand in (
        "configuration_values",
        "configuration_manifest",
        "input_values",
        "input_manifest",
        "output_values",
        "output_manifest",
        "children",
    ):
        assert getattr(analysis, strand) is None, strand
    for strand in ("configuration_values", "configuration_manifest", "input_values", "input_manifest"):
        assert getattr(analysis, f"{strand}_hash") is None, strand


def test_serialised_manifests_are_deserialised(input_manifest):
    analysis = Analysis(twine=TWINE, input_manifest=input_manifest.to_primitive())
    assert isinstance(analysis.input_manifest, Manifest)
    assert analysis.input_manifest.hash_value == input_manifest.hash_value


def test_the_four_hashes_are_blake3_as_design_md_defines_them(input_manifest, configuration_manifest):
    analysis = Analysis(
        twine=TWINE,
        configuration_values={"b": [1, 2], "a": "x"},
        configuration_manifest=configuration_manifest,
        input_values={"speed": 7.5, "height": 40},
        input_manifest=input_manifest,
    )
    assert analysis.configuration_values_hash == hashing.hash_json({"a": "x", "b": [1, 2]})
    assert analysis.input_values_hash == hashing.hash_json({"height": 40, "speed": 7.5})
    assert analysis.configuration_manifest_hash == configuration_manifest.hash_value
    assert analysis.input_manifest_hash == input_manifest.hash_value
    # Canonical JSON: key order does not matter, values do.
    assert analysis.input_values_hash == hashing.hash_bytes(b'{"height":40,"speed":7.5}')
    assert (
        analysis.input_values_hash != Analysis(twine=TWINE, input_values={"speed": 7.6, "height": 40}).input_values_hash
    )


def test_the_id_given_is_used_and_one_is_generated_otherwise():
    analysis_id = str(uuid.uuid4())
    assert Analysis(twine={}, id=analysis_id).id == analysis_id
    assert uuid.UUID(Analysis(twine={}).id)


HASH_IN_SUBPROCESS = """
import json, sys
from plait.resources.analysis import Analysis
from plait.resources.manifest import Manifest
arguments = json.loads(sys.argv[1])
analysis = Analysis(
    twine={},
    input_values=arguments["values"],
    configuration_values=arguments["values"],
    input_manifest=Manifest(datasets={"data": arguments["dataset"]}),
)
print(json.dumps([analysis.input_values_hash, analysis.configuration_values_hash, analysis.input_manifest_hash]))
"""


def test_hashes_are_identical_across_processes(tmp_path):
    values = {"speeds": [7.5, 8.25, 1e-3], "name": "mast ü", "nested": {"z": None, "a": True}}
    dataset = make_dataset(tmp_path / "data", {"a.csv": (b"a", {"k": 1}), "b.csv": (b"bb", {"k": 2})})
    analysis = Analysis(
        twine={},
        input_values=values,
        configuration_values=values,
        input_manifest=Manifest(datasets={"data": dataset}),
    )

    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", HASH_IN_SUBPROCESS, json.dumps({"values": values, "dataset": dataset.path})],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == [
        analysis.input_values_hash,
        analysis.configuration_values_hash,
        analysis.input_manifest_hash,
    ]


# -- monitor messages --


def test_a_monitor_message_is_validated_then_handed_to_the_handler():
    received = []
    analysis = Analysis(twine=TWINE, handle_monitor_message=received.append)
    analysis.send_monitor_message({"progress": 0.25})
    assert received == [{"progress": 0.25}]


@pytest.mark.parametrize("message", [{"progress": 2}, {"other": 1}, "text", {"progress": float("nan")}])
def test_an_invalid_monitor_message_is_rejected_and_not_handed_on(message):
    received = []
    analysis = Analysis(twine=TWINE, handle_monitor_message=received.append)
    with pytest.raises(InvalidMonitorMessage):
        analysis.send_monitor_message(message)
    assert received == []


def test_without_a_monitor_schema_any_json_message_is_sent():
    received = []
    Analysis(twine={}, handle_monitor_message=received.append).send_monitor_message(["any", {"json": 1}])
    assert received == [["any", {"json": 1}]]


@pytest.mark.parametrize("message", [{1, 2}, {"when": object()}, float("inf")])
def test_without_a_monitor_schema_a_message_that_is_not_json_is_rejected(message):
    received = []
    with pytest.raises(InvalidMonitorMessage, match="JSON-serialisable"):
        Analysis(twine={}, handle_monitor_message=received.append).send_monitor_message(message)
    assert received == []


def test_a_monitor_message_without_a_handler_is_dropped_quietly():
    Analysis(twine=TWINE).send_monitor_message({"progress": 1})


# -- finalise --


def test_finalise_validates_the_output_values():
    analysis = Analysis(twine=OUTPUT_TWINE, output_values={"mean": "high"}, output_manifest=Manifest())
    with pytest.raises(InvalidValuesContents, match=r"output_values: \$\.mean"):
        analysis.finalise()
    assert not analysis.finalised


def test_finalise_validates_the_output_manifest_file_tags(tmp_path):
    dataset = make_dataset(tmp_path / "profile", {"x.csv": (b"x", {"kind": "guessed"})})
    analysis = Analysis(
        twine=OUTPUT_TWINE, output_values={"mean": 1}, output_manifest=Manifest(datasets={"profile": dataset})
    )
    with pytest.raises(InvalidManifestContents, match="profile"):
        analysis.finalise()
    assert not analysis.finalised


def test_finalise_without_a_location_leaves_the_datasets_where_they_are(tmp_path):
    analysis = output_analysis(tmp_path)
    path = analysis.output_manifest.get_dataset("profile").path
    analysis.finalise()
    assert analysis.finalised
    assert analysis.output_manifest.get_dataset("profile").path == path


def test_finalise_to_a_local_location_copies_each_dataset_with_its_files_and_tags(tmp_path):
    location = tmp_path / "results"
    analysis = output_analysis(tmp_path, output_location=str(location))
    original = analysis.output_manifest.get_dataset("profile")

    analysis.finalise()

    destination = location / analysis.id / "profile"
    assert (destination / "measured.csv").read_bytes() == b"40,7.1\n80,7.6\n"
    assert (destination / "nested" / "fitted.csv").read_bytes() == b"40,7.0\n80,7.7\n"

    stored = analysis.output_manifest.get_dataset("profile")
    assert stored.path == str(destination)
    assert stored.hash_value == original.hash_value

    reopened = Dataset(path=str(destination), recursive=True)
    assert {file.name: file.tags["kind"] for file in reopened.files} == {
        "measured.csv": "measured",
        "fitted.csv": "fitted",
    }
    assert reopened.hash_value == original.hash_value


def test_upload_output_datasets_to_overrides_the_output_location(tmp_path):
    analysis = output_analysis(tmp_path, output_location=str(tmp_path / "default"))
    analysis.finalise(upload_output_datasets_to=str(tmp_path / "override"))
    assert (tmp_path / "override" / analysis.id / "profile" / "measured.csv").is_file()
    assert not (tmp_path / "default").exists()


def test_finalise_to_the_cloud_uploads_and_replaces_paths_with_signed_urls(tmp_path, cloud_root, signing_credentials):
    analysis = output_analysis(tmp_path, output_location=cloud_root)
    original_hash = analysis.output_manifest.get_dataset("profile").hash_value

    analysis.finalise()

    storage = GoogleCloudStorageClient()
    base = f"{cloud_root}/{analysis.id}/profile"
    assert storage.download_as_string(f"{base}/measured.csv") == "40,7.1\n80,7.6\n"
    assert storage.download_as_string(f"{base}/nested/fitted.csv") == "40,7.0\n80,7.7\n"

    signed = analysis.output_manifest.get_dataset("profile")
    assert signed.path.startswith("http")
    assert "X-Goog-Signature" in signed.path

    reopened = Dataset(path=signed.path)
    assert reopened.is_read_only
    assert reopened.hash_value == original_hash
    assert {file.name: file.tags["kind"] for file in reopened.files} == {
        "measured.csv": "measured",
        "fitted.csv": "fitted",
    }
    with pytest.raises(ReadOnlyResource):
        reopened.upload(f"{cloud_root}/elsewhere")

    # The manifest as the parent receives it points at the signed URL.
    assert analysis.output_manifest.to_primitive()["datasets"]["profile"] == signed.path


def test_finalise_to_the_cloud_without_signing_credentials_keeps_gs_paths_and_warns(tmp_path, cloud_root, caplog):
    analysis = output_analysis(tmp_path, output_location=cloud_root)

    with caplog.at_level(logging.WARNING, logger="plait.resources.analysis"):
        analysis.finalise()

    assert analysis.finalised
    dataset = analysis.output_manifest.get_dataset("profile")
    assert dataset.path == f"{cloud_root}/{analysis.id}/profile"
    assert GoogleCloudStorageClient().download_as_string(f"{dataset.path}/measured.csv") == "40,7.1\n80,7.6\n"
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert any("signed URLs could not be made" in record.getMessage() for record in warnings)


def test_finalise_twice_does_nothing_the_second_time(tmp_path):
    location = tmp_path / "results"
    analysis = output_analysis(tmp_path, output_location=str(location))
    analysis.finalise()
    first = analysis.output_manifest.get_dataset("profile")

    analysis.output_values = {"mean": "no longer valid"}
    analysis.finalise(upload_output_datasets_to=str(tmp_path / "second"))

    assert analysis.finalised
    assert analysis.output_manifest.get_dataset("profile") is first
    assert not (tmp_path / "second").exists()


def test_finalised_is_false_until_finalise_succeeds(tmp_path):
    analysis = output_analysis(tmp_path)
    assert analysis.finalised is False
    analysis.finalise()
    assert analysis.finalised is True


def test_an_unknown_keyword_argument_is_a_type_error():
    with pytest.raises(TypeError, match="input_valeus"):
        Analysis(twine={}, input_valeus={"x": 1})


def test_to_primitive_holds_strands_hashes_and_metadata(input_manifest):
    analysis = Analysis(
        twine=TWINE,
        input_values={"x": 1},
        input_manifest=input_manifest,
        tags={"site": "north"},
        labels="wind",
        output_location="gs://bucket/outputs",
    )
    primitive = analysis.to_primitive()

    assert primitive["id"] == analysis.id
    assert primitive["input_values"] == {"x": 1}
    assert primitive["input_manifest"]["datasets"] == {"met_mast": input_manifest.get_dataset("met_mast").path}
    assert primitive["input_values_hash"] == analysis.input_values_hash
    assert primitive["input_manifest_hash"] == analysis.input_manifest_hash
    assert primitive["configuration_values_hash"] is None
    assert primitive["tags"] == {"site": "north"}
    assert primitive["labels"] == ["wind"]
    assert primitive["output_location"] == "gs://bucket/outputs"
    assert primitive["finalised"] is False
    json.dumps(primitive)  # JSON-compatible

    again = Analysis.deserialise(primitive, twine=TWINE)
    assert again.id == analysis.id
    assert again.input_manifest_hash == analysis.input_manifest_hash
