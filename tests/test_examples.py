"""The example services in ``examples/``, run through ``Runner`` exactly as ``plait run`` and the cloud
run them (configured from their ``plait.yaml``)."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import statistics

import pytest
from jsonschema import Draft202012Validator

from plait.configuration import load_service_and_app_configuration
from plait.resources.dataset import Dataset
from plait.resources.manifest import Manifest
from plait.runner import Runner
from plait.twine import Twine

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
WIND_STATISTICS = os.path.join(EXAMPLES, "wind-statistics")
WIND_SHEAR = os.path.join(EXAMPLES, "wind-shear")


def directory_digest(directory: str) -> str:
    digest = hashlib.sha256()
    for root, directories, files in sorted(os.walk(directory)):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode())
            with open(path, "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def _examples_are_never_written_to():
    before = directory_digest(EXAMPLES)
    yield
    assert directory_digest(EXAMPLES) == before, "a test wrote into examples/"


def make_runner(example: str, **kwargs) -> Runner:
    service, app = load_service_and_app_configuration(os.path.join(example, "plait.yaml"))
    assert service.app_source_path == example
    arguments = {
        "app_src": service.app_source_path,
        "twine": service.twine_path,
        "configuration_values": app.configuration_values,
        "configuration_manifest": app.configuration_manifest,
        "children": app.children,
        "output_location": app.output_location,
        "crash_diagnostics_cloud_path": service.crash_diagnostics_cloud_path,
        "project_name": service.project_name,
        "service_id": service.name,
    }
    return Runner(**{**arguments, **kwargs})


def read_json(path: str):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def test_both_examples_are_complete_services():
    for example in (WIND_STATISTICS, WIND_SHEAR):
        for name in ("app.py", "twine.json", "plait.yaml"):
            assert os.path.isfile(os.path.join(example, name)), (example, name)
        Twine(os.path.join(example, "twine.json"))  # a valid twine


def test_wind_statistics_summarises_the_speeds_and_extrapolates_the_mean():
    messages = []
    analysis = make_runner(WIND_STATISTICS).run(
        input_values=os.path.join(WIND_STATISTICS, "input_values.json"), handle_monitor_message=messages.append
    )

    speeds = read_json(os.path.join(WIND_STATISTICS, "input_values.json"))["speeds_m_s"]
    values = analysis.output_values
    assert analysis.finalised
    assert values["count"] == len(speeds) == 8
    assert values["mean_m_s"] == pytest.approx(8.225)
    assert values["standard_deviation_m_s"] == pytest.approx(statistics.pstdev(speeds))
    assert values["mean_at_reference_height_m_s"] == pytest.approx(8.225 * math.log(100 / 0.03) / math.log(40 / 0.03))
    assert analysis.output_manifest is None
    assert analysis.configuration_values == {"roughness_length_m": 0.03, "reference_height_m": 100}
    assert messages == [
        {"type": "status_text", "service": "wind-statistics", "text": "Summarising 8 wind speeds measured at 40 m."}
    ]


def test_wind_shear_fits_the_shear_exponent_and_writes_its_profile():
    handler_records = []

    class Collect(logging.Handler):
        def emit(self, record):
            handler_records.append(record.getMessage())

    messages = []
    analysis = make_runner(WIND_SHEAR).run(
        input_values=os.path.join(WIND_SHEAR, "input_values.json"),
        input_manifest=os.path.join(WIND_SHEAR, "input_manifest.json"),
        analysis_log_handler=Collect(),
        handle_monitor_message=messages.append,
    )

    values = analysis.output_values
    assert values["shear_exponent"] == pytest.approx(0.125, abs=0.002)
    assert values["heights_m"] == [40, 60, 80, 100, 120]
    assert values["mean_speeds_m_s"] == sorted(values["mean_speeds_m_s"])  # faster higher up
    assert [message["progress"] for message in messages if "progress" in message] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert any("Fitted shear exponent" in message for message in handler_records)
    met_mast = Dataset(path=os.path.join(WIND_SHEAR, "data", "met_mast"))
    assert analysis.input_manifest_hash == Manifest(datasets={"met_mast": met_mast}).hash_value

    profile = analysis.output_manifest.get_dataset("wind_profile")
    assert not profile.path.startswith(EXAMPLES)
    by_kind = {file.tags["kind"]: file for file in profile.files}
    assert set(by_kind) == {"measured_profile", "fitted_profile"}
    with open(by_kind["measured_profile"].local_path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [float(row["height_m"]) for row in rows] == [40, 60, 80, 100, 120]
    assert [float(row["wind_speed_m_s"]) for row in rows] == pytest.approx(values["mean_speeds_m_s"])


def test_wind_shear_output_files_tags_satisfy_its_twine(tmp_path):
    analysis = make_runner(WIND_SHEAR, output_location=str(tmp_path)).run(
        input_values={"minimum_speed_m_s": 0.5},
        input_manifest=os.path.join(WIND_SHEAR, "input_manifest.json"),
    )
    twine = read_json(os.path.join(WIND_SHEAR, "twine.json"))
    template = Draft202012Validator(twine["output_manifest"]["datasets"]["wind_profile"]["file_tags_template"])

    stored = Dataset(path=str(tmp_path / analysis.id / "wind_profile"))
    assert len(stored.files) == 2
    for datafile in stored.files:
        assert list(template.iter_errors(datafile.tags.to_primitive())) == [], datafile.name
        assert datafile.tags["shear_exponent"] == pytest.approx(analysis.output_values["shear_exponent"])
        assert "wind" in datafile.labels
    # And the twine itself accepts the stored output manifest.
    Twine(twine).validate_manifest("output_manifest", {"datasets": {"wind_profile": stored.path}})


def test_the_examples_hashes_are_reproducible():
    runner = make_runner(WIND_SHEAR)
    arguments = {
        "input_values": os.path.join(WIND_SHEAR, "input_values.json"),
        "input_manifest": os.path.join(WIND_SHEAR, "input_manifest.json"),
    }
    first, second = runner.run(**arguments), runner.run(**arguments)
    assert first.id != second.id
    assert first.input_values_hash == second.input_values_hash is not None
    assert first.input_manifest_hash == second.input_manifest_hash is not None
