"""The ``plait`` command line, run in process with click's runner against the storage emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from plait.cli import cli
from plait.resources import Datafile, Dataset


@pytest.fixture
def local_dataset(tmp_path):
    directory = tmp_path / "measurements"
    (directory / "raw").mkdir(parents=True)
    for height in (40, 80):
        with Datafile(str(directory / f"wind-{height}m.csv"), mode="w", tags={"height_m": height}, labels="wind") as (
            _,
            f,
        ):
            f.write(f"seconds,speed\n0,{height / 10}\n")
    (directory / "raw" / "log.txt").write_text("nested\n")
    Dataset(path=str(directory), tags={"site": "north"}).update_local_metadata()
    return str(directory)


def run(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(arguments), catch_exceptions=False)
    return result.exit_code, result.output


def test_describe_shows_files_tags_labels_and_hashes(local_dataset):
    code, output = run("dataset", "describe", local_dataset)
    dataset = Dataset(path=local_dataset)

    assert code == 0
    assert "wind-40m.csv" in output and "wind-80m.csv" in output
    assert "log.txt" not in output  # not recursive by default
    assert "height_m=80" in output and "site=north" in output
    assert dataset.hash_value in output
    for file in dataset.files:
        assert file.hash_value in output


def test_describe_json_is_machine_readable_and_recursive_includes_subdirectories(local_dataset):
    code, output = run("dataset", "describe", local_dataset, "--recursive", "--json")
    description = json.loads(output)

    assert code == 0
    assert sorted(file["path_in_dataset"] for file in description["files"]) == [
        "raw/log.txt",
        "wind-40m.csv",
        "wind-80m.csv",
    ]
    assert description["tags"] == {"site": "north"}
    assert description["hash_value"] == Dataset(path=local_dataset, recursive=True).hash_value


def test_upload_download_and_sign_round_trip_keeps_hashes_and_tags(
    local_dataset, cloud_root, signing_credentials, tmp_path
):
    cloud_path = f"{cloud_root}/measurements"
    local_hash = Dataset(path=local_dataset, recursive=True).hash_value

    code, output = run("dataset", "upload", local_dataset, cloud_path, "--recursive")
    assert code == 0, output
    assert "Uploaded 3 files" in output and cloud_path in output

    code, output = run("dataset", "download", cloud_path, str(tmp_path / "copy"), "--recursive")
    assert code == 0, output
    downloaded = Dataset(path=str(tmp_path / "copy"), recursive=True)
    assert downloaded.hash_value == local_hash
    assert downloaded.files.one(name__equals="wind-80m.csv").tags["height_m"] == 80
    assert downloaded.tags == {"site": "north"}

    code, output = run("dataset", "sign", cloud_path, "--recursive", "--expiration", "1h")
    assert code == 0, output
    url = output.strip()
    assert "X-Goog-Expires=3600" in url
    shared = Dataset(path=url)
    assert shared.is_read_only and shared.hash_value == local_hash


def test_describe_of_missing_directory_is_one_readable_error_without_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["dataset", "describe", str(tmp_path / "missing")])

    assert result.exit_code == 1
    assert "does not exist" in result.output and str(tmp_path / "missing") in result.output
    assert "Traceback" not in result.output


def test_sign_rejects_an_expiration_over_seven_days(local_dataset, cloud_root, signing_credentials):
    run("dataset", "upload", local_dataset, f"{cloud_root}/d")

    result = CliRunner().invoke(cli, ["dataset", "sign", f"{cloud_root}/d", "--expiration", "8d"])

    assert result.exit_code == 1
    assert "at most 7 days" in result.output


def test_sign_rejects_a_malformed_duration():
    result = CliRunner().invoke(cli, ["dataset", "sign", "gs://bucket-name/d", "--expiration", "soon"])

    assert result.exit_code == 2
    assert "is not a duration" in result.output


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["dataset"],
        ["dataset", "describe"],
        ["dataset", "upload"],
        ["dataset", "download"],
        ["dataset", "sign"],
        ["demo"],
    ],
)
def test_every_command_has_help(command):
    code, output = run(*command, "--help")

    assert code == 0
    assert "Usage: " in output


def test_demo_round_trip_on_the_local_stack_succeeds_and_restores_the_environment(storage_emulator):
    before = dict(os.environ)
    code, output = run("demo")

    assert code == 0, output
    assert "Round trip complete" in output and "every hash matches" in output
    assert os.environ.get("STORAGE_EMULATOR_HOST") == before.get("STORAGE_EMULATOR_HOST")
    assert os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") == before.get("GOOGLE_APPLICATION_CREDENTIALS")


def test_console_script_runs_as_installed():
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "plait"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert result.stdout.startswith("plait, version ")
