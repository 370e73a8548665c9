"""`plait package`: what the source archive holds, and that it is byte-for-byte reproducible."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import re
import shutil
import zipfile

import pytest
from click.testing import CliRunner

from plait.cli import cli
from plait.exceptions import InvalidInputException
from plait.functions import main as functions_main
from plait.packaging import APP_DIRECTORY_IN_ARCHIVE, FIXED_TIMESTAMP, build_source_archive, pinned_requirements

EXAMPLES = pytest.importorskip("plait.examples").__path__[0]


@pytest.fixture
def service(tmp_path):
    """A copy of the wind-shear example, with the clutter a real service directory collects."""
    directory = tmp_path / "wind-shear"
    shutil.copytree(os.path.join(EXAMPLES, "wind-shear"), directory)
    for clutter in ("__pycache__/app.cpython-311.pyc", ".venv/bin/python", ".git/HEAD", "build/old.zip", ".env"):
        path = directory / clutter
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not for the archive")
    return directory


def entries(path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: info for info in archive.infolist()}


def read(path, name: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name).decode("utf-8")


def test_building_twice_gives_the_same_bytes_whatever_the_files_timestamps(service, tmp_path):
    first = build_source_archive(str(service), output=str(tmp_path / "one" / "wind-shear.zip"))
    for root, _, files in os.walk(service):
        for name in files:
            os.utime(os.path.join(root, name), (1_700_000_000, 1_700_000_000))
    os.chmod(service / "app.py", 0o755)
    second = build_source_archive(str(service), output=str(tmp_path / "two" / "wind-shear.zip"))

    assert (tmp_path / "one" / "wind-shear.zip").read_bytes() == (tmp_path / "two" / "wind-shear.zip").read_bytes()
    assert (
        first.sha256 == second.sha256 == hashlib.sha256((tmp_path / "one" / "wind-shear.zip").read_bytes()).hexdigest()
    )


def test_a_changed_file_changes_the_hash(service, tmp_path):
    before = build_source_archive(str(service), output=str(tmp_path / "a.zip"))
    (service / "app.py").write_text((service / "app.py").read_text() + "\n# changed\n")
    after = build_source_archive(str(service), output=str(tmp_path / "b.zip"))
    assert before.sha256 != after.sha256


def test_entries_are_sorted_with_fixed_timestamps_and_modes(service, tmp_path):
    archive = build_source_archive(str(service), output=str(tmp_path / "wind-shear.zip"))
    infos = entries(archive.path)
    names = list(infos)
    assert names == sorted(names) == list(archive.entries)
    for info in infos.values():
        assert info.date_time == FIXED_TIMESTAMP
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
        assert not info.is_dir()


def test_the_archive_holds_main_plait_the_service_and_requirements(service, tmp_path):
    archive = build_source_archive(str(service), output=str(tmp_path / "wind-shear.zip"))
    names = set(entries(archive.path))

    assert {"main.py", "requirements.txt", "plait/__init__.py", "plait/functions/main.py"} <= names
    for module in ("question_intake", "analysis_runner", "dataset_finalisation", "signed_urls"):
        assert f"plait/functions/{module}.py" in names
    assert "plait/cloud/events/schemas/event.json" in names  # package data comes along
    app = APP_DIRECTORY_IN_ARCHIVE
    assert {f"{app}/plait.yaml", f"{app}/twine.json", f"{app}/app.py", f"{app}/data/met_mast/.plait"} <= names
    # Left out: caches, virtualenvs, version control, old builds, secrets, and plait's own examples.
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    for left_out in (".venv/", ".git/", "build/", ".env"):
        assert not [name for name in names if name.startswith(f"{app}/{left_out}")]
    assert not [name for name in names if name.startswith("plait/examples")]


def test_main_py_re_exports_the_four_entry_points(service, tmp_path):
    archive = build_source_archive(str(service), output=str(tmp_path / "wind-shear.zip"))
    tree = ast.parse(read(archive.path, "main.py"))

    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "plait.functions.main"
        for alias in node.names
    }
    assert imported == set(functions_main.ENTRY_POINTS)
    exported = next(
        node.value for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "__all__"
    )
    assert sorted(ast.literal_eval(exported)) == sorted(functions_main.ENTRY_POINTS)


def test_requirements_pin_each_runtime_dependency_to_the_installed_version():
    lines = [line for line in pinned_requirements().splitlines() if line and not line.startswith("#")]
    pinned = dict(line.split("==") for line in lines)

    declared = {
        re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")
        for requirement in importlib.metadata.requires("plait")
        if "extra ==" not in requirement
    }
    assert set(pinned) == declared
    for name, version in pinned.items():
        assert importlib.metadata.version(name) == version
    assert "pytest" not in pinned and "ruff" not in pinned  # the dev extra stays out
    assert lines == sorted(lines)


def test_an_output_directory_names_the_archive_by_its_hash(service, tmp_path):
    output = tmp_path / "build"
    output.mkdir()
    archive = build_source_archive(str(service), output=str(output))
    assert os.path.basename(archive.path) == f"wind-shear-{archive.sha256[:16]}.zip"
    assert os.path.isfile(archive.path)


def test_exclude_leaves_out_matching_files(service, tmp_path):
    archive = build_source_archive(str(service), output=str(tmp_path / "wind-shear.zip"), exclude=["data/*", "*.json"])
    names = set(entries(archive.path))
    assert not [name for name in names if name.startswith(f"{APP_DIRECTORY_IN_ARCHIVE}/data/")]
    assert not [name for name in names if name.startswith(f"{APP_DIRECTORY_IN_ARCHIVE}/") and name.endswith(".json")]
    assert f"{APP_DIRECTORY_IN_ARCHIVE}/app.py" in names


def test_the_archive_being_written_is_never_packed_into_itself(service):
    first = build_source_archive(str(service), output=str(service / "wind-shear.zip"))
    second = build_source_archive(str(service), output=str(service / "wind-shear.zip"))
    assert first.sha256 == second.sha256
    assert f"{APP_DIRECTORY_IN_ARCHIVE}/wind-shear.zip" not in first.entries


def test_a_directory_without_plait_yaml_is_refused(tmp_path):
    with pytest.raises(InvalidInputException, match=r"no plait\.yaml"):
        build_source_archive(str(tmp_path), output=str(tmp_path / "x.zip"))


def test_a_twine_outside_the_service_directory_is_refused(service, tmp_path):
    (tmp_path / "twine.json").write_text((service / "twine.json").read_text())
    (service / "plait.yaml").write_text(
        "services:\n  - name: wind-shear\n    namespace: example\n    app_source_path: .\n    twine_path: ../twine.json\n"
    )
    with pytest.raises(InvalidInputException, match="outside the service directory"):
        build_source_archive(str(service), output=str(tmp_path / "x.zip"))


def test_the_command_prints_the_path_and_hash(service, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["package", str(service), "--output", "build/wind-shear.zip"])

    assert result.exit_code == 0, result.output
    path = tmp_path / "build" / "wind-shear.zip"
    assert str(path) in result.stdout
    assert f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}" in result.stdout


def test_the_command_defaults_to_build_name_zip(service, monkeypatch):
    monkeypatch.chdir(service)
    result = CliRunner().invoke(cli, ["package"])
    assert result.exit_code == 0, result.output
    assert (service / "build" / "wind-shear.zip").is_file()


def test_the_command_reports_a_bad_directory_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["package", str(tmp_path)])
    assert result.exit_code == 1
    assert "has no plait.yaml" in result.output
    assert "Traceback" not in result.output
