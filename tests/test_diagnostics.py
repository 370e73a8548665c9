"""Crash diagnostics: when an app fails, what it had is saved (locally or to ``gs://``) and the app's
own error still propagates; a failure to save is logged and never hides that error."""

from __future__ import annotations

import json
import logging
import os
import uuid

import pytest

from plait import diagnostics
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.runner import Runner

TWINE = {
    "configuration_values_schema": {"type": "object", "properties": {"factor": {"type": "number"}}},
    "input_values_schema": {"type": "object", "properties": {"x": {"type": "number"}}},
    "configuration_manifest": {"datasets": {"calibration": {"purpose": "calibration"}}},
    "input_manifest": {"datasets": {"met_mast": {"purpose": "measurements"}}},
}

CONFIGURATION_VALUES = {"factor": 2.5}
INPUT_VALUES = {"x": 4}
SENT_MESSAGES = [{"kind": "delivery_acknowledgement"}, {"kind": "log_record", "message": "started"}]

app_logger = logging.getLogger("tests.diagnostics_app")


class AppFailure(RuntimeError):
    pass


def failing_app(analysis):
    app_logger.info("about to fail in analysis %s", analysis.id)
    raise AppFailure("the turbine fell over")


def make_dataset(directory, files: dict[str, bytes]) -> Dataset:
    os.makedirs(directory, exist_ok=True)
    for name, content in files.items():
        with Datafile(os.path.join(directory, name), mode="wb", tags={"source": name.split(".")[0]}) as (_, file):
            file.write(content)
    return Dataset(path=str(directory))


@pytest.fixture
def manifests(tmp_path) -> dict:
    return {
        "configuration_manifest": {
            "datasets": {"calibration": make_dataset(tmp_path / "cal", {"gain.csv": b"1.1"}).path}
        },
        "input_manifest": {
            "datasets": {"met_mast": make_dataset(tmp_path / "mast", {"a.csv": b"1,2", "b.csv": b"3,4"}).path}
        },
    }


def run_failing_app(location, manifests, app=failing_app, **run_kwargs):
    runner = Runner(
        app_src=app,
        twine=TWINE,
        configuration_values=CONFIGURATION_VALUES,
        configuration_manifest=manifests["configuration_manifest"],
        crash_diagnostics_cloud_path=location,
    )
    analysis_id = str(uuid.uuid4())
    with pytest.raises(AppFailure, match=r"^the turbine fell over$"):
        runner.run(
            analysis_id=analysis_id,
            input_values=INPUT_VALUES,
            input_manifest=manifests["input_manifest"],
            sent_messages=SENT_MESSAGES,
            **run_kwargs,
        )
    return analysis_id


def check_diagnostics(read, directory, analysis_id, original_datasets, open_dataset):
    """Check the saved diagnostics through ``read(name) -> str``."""
    assert json.loads(read("configuration_values.json")) == CONFIGURATION_VALUES
    assert json.loads(read("input_values.json")) == INPUT_VALUES
    assert json.loads(read("messages.json")) == SENT_MESSAGES

    logs = json.loads(read("logs.json"))
    assert f"about to fail in analysis {analysis_id}" in [record["msg"] for record in logs]

    exception = json.loads(read("exception.json"))
    assert exception["type"] == "AppFailure"
    assert exception["message"] == "the turbine fell over"
    traceback = "".join(exception["traceback"])
    assert "Traceback" in traceback and "failing_app" in traceback and "the turbine fell over" in traceback

    for name, key in (("configuration_manifest", "calibration"), ("input_manifest", "met_mast")):
        manifest = json.loads(read(f"{name}.json"))
        copied_path = manifest["datasets"][key]
        assert copied_path.startswith(directory), copied_path
        copy = open_dataset(copied_path)
        original = original_datasets[key]
        assert sorted(file.name for file in copy.files) == sorted(file.name for file in original.files)
        assert copy.hash_value == original.hash_value


def test_a_failing_app_saves_diagnostics_locally_and_its_error_propagates(tmp_path, manifests):
    location = str(tmp_path / "diagnostics")
    analysis_id = run_failing_app(location, manifests)

    directory = os.path.join(location, analysis_id)
    assert sorted(os.listdir(directory)) == sorted(
        [
            "configuration_values.json",
            "input_values.json",
            "configuration_manifest.json",
            "input_manifest.json",
            "configuration_manifest_datasets",
            "input_manifest_datasets",
            "messages.json",
            "logs.json",
            "exception.json",
        ]
    )

    def read(name):
        with open(os.path.join(directory, name), encoding="utf-8") as file:
            return file.read()

    originals = {
        "calibration": Dataset(path=manifests["configuration_manifest"]["datasets"]["calibration"]),
        "met_mast": Dataset(path=manifests["input_manifest"]["datasets"]["met_mast"]),
    }
    check_diagnostics(read, directory, analysis_id, originals, lambda path: Dataset(path=path))


def test_a_failing_app_saves_diagnostics_to_the_cloud_and_its_error_propagates(cloud_root, manifests):
    location = f"{cloud_root}/diagnostics"
    analysis_id = run_failing_app(location, manifests)

    storage = GoogleCloudStorageClient()
    directory = f"{location}/{analysis_id}"
    originals = {
        "calibration": Dataset(path=manifests["configuration_manifest"]["datasets"]["calibration"]),
        "met_mast": Dataset(path=manifests["input_manifest"]["datasets"]["met_mast"]),
    }
    check_diagnostics(
        lambda name: storage.download_as_string(f"{directory}/{name}"),
        directory,
        analysis_id,
        originals,
        lambda path: Dataset(path=path),
    )


def test_no_diagnostics_are_saved_when_saving_is_not_allowed(tmp_path, manifests):
    location = tmp_path / "diagnostics"
    run_failing_app(str(location), manifests, allow_save_diagnostics_data_on_crash=False)
    assert not location.exists()


def test_no_diagnostics_are_saved_without_a_location(tmp_path, manifests, monkeypatch):
    calls = []
    monkeypatch.setattr("plait.runner.save_crash_diagnostics", lambda *args, **kwargs: calls.append(args))
    run_failing_app(None, manifests)
    assert calls == []


def test_no_diagnostics_are_saved_when_the_app_succeeds(tmp_path, manifests):
    location = tmp_path / "diagnostics"
    Runner(
        app_src=lambda analysis: None,
        twine=TWINE,
        configuration_values=CONFIGURATION_VALUES,
        configuration_manifest=manifests["configuration_manifest"],
        crash_diagnostics_cloud_path=str(location),
    ).run(input_values=INPUT_VALUES, input_manifest=manifests["input_manifest"])
    assert not location.exists()


def test_invalid_outputs_are_a_crash_too(tmp_path):
    twine = {"output_values_schema": {"type": "object", "required": ["y"]}}

    def app(analysis):
        analysis.output_values = {"z": 1}

    location = tmp_path / "diagnostics"
    analysis_id = str(uuid.uuid4())
    with pytest.raises(Exception, match="output_values"):
        Runner(app_src=app, twine=twine, crash_diagnostics_cloud_path=str(location)).run(analysis_id=analysis_id)
    exception = json.loads((location / analysis_id / "exception.json").read_text())
    assert exception["type"] == "InvalidValuesContents"


def test_a_failure_to_save_is_logged_and_the_apps_own_error_still_propagates(tmp_path, manifests, caplog):
    regular_file = tmp_path / "not-a-directory"
    regular_file.write_text("a file, so nothing can be made under it")
    location = str(regular_file / "diagnostics")

    with caplog.at_level(logging.ERROR, logger="plait.diagnostics"):
        analysis_id = run_failing_app(location, manifests)

    failures = [record for record in caplog.records if record.name == "plait.diagnostics"]
    assert failures and "Could not save crash diagnostics" in failures[0].getMessage()
    assert analysis_id in failures[0].getMessage()
    assert failures[0].exc_info is not None


def test_a_writer_that_raises_is_logged_and_the_apps_own_error_still_propagates(
    tmp_path, manifests, monkeypatch, caplog
):
    def broken_writer(path, value):
        raise OSError("disk on fire")

    monkeypatch.setattr(diagnostics, "_write_json", broken_writer)
    with caplog.at_level(logging.ERROR, logger="plait.diagnostics"):
        run_failing_app(str(tmp_path / "diagnostics"), manifests)
    assert any("Could not save crash diagnostics" in record.getMessage() for record in caplog.records)


def test_save_crash_diagnostics_returns_the_directory_or_none(tmp_path):
    saved = diagnostics.save_crash_diagnostics(str(tmp_path), "an-id", input_values={"x": 1})
    assert saved == os.path.join(str(tmp_path), "an-id")
    assert json.loads((tmp_path / "an-id" / "input_values.json").read_text()) == {"x": 1}
    assert json.loads((tmp_path / "an-id" / "input_manifest.json").read_text()) is None
    assert json.loads((tmp_path / "an-id" / "exception.json").read_text()) is None

    regular_file = tmp_path / "file"
    regular_file.write_text("x")
    assert diagnostics.save_crash_diagnostics(str(regular_file), "an-id") is None
