"""``plait run``: run the service in the current directory (or the one ``--service-config`` names) once
and print its outputs as JSON; errors are one readable message unless ``--verbose``."""

from __future__ import annotations

import hashlib
import json
import logging
import os

import pytest
from click.testing import CliRunner

from plait.cli import cli
from plait.exceptions import InvalidValuesContents
from plait.resources.dataset import Dataset

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
WIND_STATISTICS = os.path.join(EXAMPLES, "wind-statistics")
WIND_SHEAR = os.path.join(EXAMPLES, "wind-shear")


@pytest.fixture(autouse=True)
def _restore_root_logger():
    """The ``plait`` group attaches a handler to the root logger (to the runner's captured stderr): undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def directory_digest(directory: str) -> str:
    """A digest of every file's path and content under ``directory`` (to check nothing is written there)."""
    digest = hashlib.sha256()
    for root, directories, files in sorted(os.walk(directory)):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode())
            with open(path, "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()


def invoke(*arguments: str, catch_exceptions: bool = False):
    return CliRunner().invoke(cli, list(arguments), catch_exceptions=catch_exceptions)


def test_run_wind_statistics_in_its_directory_prints_its_output_values(monkeypatch):
    monkeypatch.chdir(WIND_STATISTICS)
    result = invoke("run", "--input-values", "input_values.json")

    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    values = output["output_values"]
    assert values["count"] == 8
    assert values["mean_m_s"] == pytest.approx(8.225)
    assert values["minimum_m_s"] == 6.9 and values["maximum_m_s"] == 9.5
    assert values["reference_height_m"] == 100
    assert values["mean_at_reference_height_m_s"] > values["mean_m_s"]
    assert output["output_manifest"] is None
    assert output["configuration_values_hash"] and output["input_values_hash"]
    assert output["input_manifest_hash"] is None


def test_run_logs_and_monitor_messages_go_to_stderr_not_stdout(monkeypatch):
    monkeypatch.chdir(WIND_STATISTICS)
    result = invoke("run", "--input-values", "input_values.json")

    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # nothing but the JSON result
    assert "Summarising 8 wind speeds measured at 40 m." in result.stderr
    assert "monitor message" in result.stderr and '"status_text"' in result.stderr


def test_run_with_input_values_as_json_text_and_service_config_from_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "run",
        "--service-config",
        os.path.join(WIND_STATISTICS, "plait.yaml"),
        "--input-values",
        '{"height_m": 10, "speeds_m_s": [4, 6]}',
    )
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["output_values"]
    assert values["count"] == 2
    assert values["mean_m_s"] == 5


def test_run_wind_shear_reads_its_input_dataset_and_writes_tagged_output_files(monkeypatch):
    before = directory_digest(WIND_SHEAR)
    monkeypatch.chdir(WIND_SHEAR)
    result = invoke("run", "--input-values", "input_values.json", "--input-manifest", "input_manifest.json")

    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["output_values"]["shear_exponent"] == pytest.approx(0.125, abs=0.002)
    assert output["output_values"]["heights_m"] == [40, 60, 80, 100, 120]
    assert output["input_manifest_hash"]

    profile = Dataset(path=output["output_manifest"]["datasets"]["wind_profile"])
    tags = {file.name: file.tags["kind"] for file in profile.files}
    assert tags == {"measured_profile.csv": "measured_profile", "fitted_profile.csv": "fitted_profile"}
    assert not profile.path.startswith(EXAMPLES)
    assert directory_digest(WIND_SHEAR) == before  # the example's committed data is untouched


def test_output_location_puts_the_output_datasets_under_it(tmp_path, monkeypatch):
    monkeypatch.chdir(WIND_SHEAR)
    location = tmp_path / "outputs"
    result = invoke(
        "run",
        "--input-values",
        "input_values.json",
        "--input-manifest",
        "input_manifest.json",
        "--output-location",
        str(location),
    )

    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    expected = location / output["analysis_id"] / "wind_profile"
    assert output["output_manifest"]["datasets"]["wind_profile"] == str(expected)
    assert sorted(name for name in os.listdir(expected) if name.endswith(".csv")) == [
        "fitted_profile.csv",
        "measured_profile.csv",
    ]
    assert {file.tags["kind"] for file in Dataset(path=str(expected)).files} == {"measured_profile", "fitted_profile"}


def test_invalid_input_is_one_readable_message_naming_the_strand_and_json_path(monkeypatch):
    monkeypatch.chdir(WIND_STATISTICS)
    result = invoke("run", "--input-values", '{"height_m": -1, "speeds_m_s": [1]}')

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1
    assert "input_values" in lines[0] and "$.height_m" in lines[0]


def test_input_values_that_are_not_json_are_one_readable_message(monkeypatch):
    monkeypatch.chdir(WIND_STATISTICS)
    result = invoke("run", "--input-values", "hello")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "input_values" in result.stderr and "not JSON" in result.stderr


def test_a_missing_service_configuration_is_one_readable_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "plait.yaml does not exist" in result.stderr


def test_verbose_lets_the_error_and_its_traceback_through(monkeypatch):
    monkeypatch.chdir(WIND_STATISTICS)
    result = invoke("--verbose", "run", "--input-values", '{"height_m": -1, "speeds_m_s": [1]}', catch_exceptions=True)

    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidValuesContents)
    assert result.exception.strand == "input_values"
    assert result.exception.json_path == "$.height_m"
    assert result.exc_info[2] is not None  # with its traceback


def test_run_help_lists_its_options():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for option in ("--service-config", "--input-values", "--input-manifest", "--output-location"):
        assert option in result.output


def test_monitor_messages_with_square_brackets_are_printed_as_they_are(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(
        "def run(analysis):\n"
        "    analysis.send_monitor_message({'text': 'reading [/data] and [bold]x[/bold]'})\n"
        "    analysis.output_values = {'ok': True}\n"
    )
    (tmp_path / "twine.json").write_text(json.dumps({"output_values_schema": {"type": "object"}}))
    (tmp_path / "plait.yaml").write_text("services:\n  - name: brackets\n")
    monkeypatch.chdir(tmp_path)

    result = invoke("run")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output_values"] == {"ok": True}
    assert '{"text": "reading [/data] and [bold]x[/bold]"}' in result.stderr
