"""Service and app configuration: every parameter and default, ``plait.yaml`` and app configuration files."""

from __future__ import annotations

import json
import logging
import os

import pytest

from plait.configuration import AppConfiguration, ServiceConfiguration, load_service_and_app_configuration
from plait.exceptions import FileNotFoundException, InvalidInputException

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


# -- ServiceConfiguration --


def test_service_configuration_defaults_are_the_references():
    configuration = ServiceConfiguration(name="wind-shear")
    assert configuration.name == "wind-shear"
    assert configuration.organisation is None
    assert configuration.namespace is None
    assert configuration.app_source_path == "."
    assert configuration.twine_path == "twine.json"
    assert configuration.app_configuration_path is None
    assert configuration.crash_diagnostics_cloud_path is None
    assert configuration.repository_name is None
    assert configuration.repository_owner is None
    assert configuration.project_name is None
    assert configuration.region is None
    assert configuration.dockerfile_path is None
    assert configuration.cloud_build_configuration_path is None
    assert configuration.maximum_instances == 10
    assert configuration.branch_pattern == "^main$"
    assert configuration.environment_variables == {}
    assert configuration.secrets == {}
    assert configuration.concurrency == 10
    assert configuration.memory == "128Mi"
    assert configuration.cpus == 1
    assert configuration.minimum_instances == 0
    assert configuration.temporary_files_location is None
    assert configuration.setup_file_path is None
    assert configuration.service_account_email is None
    assert configuration.machine_type is None


PARAMETERS = {
    "name": "wind-shear",
    "organisation": "my-org",
    "app_source_path": "src",
    "twine_path": "src/twine.json",
    "app_configuration_path": "app_configuration.json",
    "crash_diagnostics_cloud_path": "gs://bucket/diagnostics",
    "repository_name": "wind-shear-service",
    "repository_owner": "my-org-github",
    "project_name": "my-project",
    "region": "europe-west1",
    "dockerfile_path": "Dockerfile",
    "cloud_build_configuration_path": "cloudbuild.yaml",
    "maximum_instances": 3,
    "branch_pattern": "^release/.*$",
    "environment_variables": {"MODE": "fast"},
    "secrets": {"API_KEY": "projects/p/secrets/api-key"},
    "concurrency": 2,
    "memory": "1Gi",
    "cpus": 2,
    "minimum_instances": 1,
    "temporary_files_location": "/tmp/wind",
    "setup_file_path": "setup.py",
    "service_account_email": "runner@my-project.iam.gserviceaccount.com",
    "machine_type": "e2-standard-2",
}


def test_service_configuration_keeps_every_parameter():
    configuration = ServiceConfiguration(**PARAMETERS)
    for key, value in PARAMETERS.items():
        assert getattr(configuration, key) == value, key
    assert configuration.namespace == "my-org"
    assert configuration.extra == {}


def test_namespace_is_an_alias_for_organisation():
    configuration = ServiceConfiguration(name="wind-shear", namespace="example")
    assert configuration.organisation == "example"
    assert configuration.namespace == "example"
    assert "namespace" not in configuration.extra


def test_unknown_keys_are_kept_and_logged_as_a_warning_naming_them(caplog):
    with caplog.at_level(logging.WARNING, logger="plait.configuration"):
        configuration = ServiceConfiguration(name="wind-shear", twine_pth="twine.json", colour="blue")
    assert configuration.extra == {"twine_pth": "twine.json", "colour": "blue"}
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("colour" in message and "twine_pth" in message for message in messages)


def test_known_keys_are_not_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="plait.configuration"):
        ServiceConfiguration(**PARAMETERS)
    assert [record for record in caplog.records if record.name == "plait.configuration"] == []


@pytest.mark.parametrize("name", [None, ""])
def test_a_service_configuration_needs_a_name(name):
    with pytest.raises(InvalidInputException, match="name"):
        ServiceConfiguration(name=name)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_from_file_resolves_relative_paths_against_the_yaml_files_directory(tmp_path, monkeypatch):
    path = write(
        tmp_path / "service" / "plait.yaml",
        "services:\n"
        "  - name: wind-shear\n"
        "    namespace: example\n"
        "    app_source_path: src\n"
        "    twine_path: src/twine.json\n"
        "    app_configuration_path: config/app.json\n"
        "    crash_diagnostics_cloud_path: gs://bucket/diagnostics\n"
        "    memory: 2Gi\n",
    )
    monkeypatch.chdir(tmp_path)  # somewhere else than the yaml file's directory

    configuration = ServiceConfiguration.from_file(path)

    directory = tmp_path / "service"
    assert configuration.name == "wind-shear"
    assert configuration.organisation == "example"
    assert configuration.app_source_path == str(directory / "src")
    assert configuration.twine_path == str(directory / "src" / "twine.json")
    assert configuration.app_configuration_path == str(directory / "config" / "app.json")
    assert configuration.crash_diagnostics_cloud_path == "gs://bucket/diagnostics"
    assert configuration.memory == "2Gi"


def test_from_file_defaults_the_app_and_twine_to_the_yaml_files_directory(tmp_path):
    path = write(tmp_path / "svc" / "plait.yaml", "services:\n  - name: wind-shear\n")
    configuration = ServiceConfiguration.from_file(path)
    assert configuration.app_source_path == str(tmp_path / "svc")
    assert configuration.twine_path == str(tmp_path / "svc" / "twine.json")


def test_from_file_resolves_a_relative_local_crash_diagnostics_path_against_the_yaml_files_directory(tmp_path):
    path = write(
        tmp_path / "svc" / "plait.yaml", "services:\n  - name: wind-shear\n    crash_diagnostics_cloud_path: crashes\n"
    )
    assert ServiceConfiguration.from_file(path).crash_diagnostics_cloud_path == str(tmp_path / "svc" / "crashes")


def test_from_file_keeps_absolute_paths(tmp_path):
    twine = str(tmp_path / "elsewhere" / "twine.json")
    path = write(tmp_path / "svc" / "plait.yaml", f"services:\n  - name: wind-shear\n    twine_path: {twine}\n")
    assert ServiceConfiguration.from_file(path).twine_path == twine


def test_from_file_uses_the_first_service(tmp_path):
    path = write(tmp_path / "plait.yaml", "services:\n  - name: first\n  - name: second\n")
    assert ServiceConfiguration.from_file(path).name == "first"


def test_from_file_of_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundException, match=r"plait\.yaml does not exist"):
        ServiceConfiguration.from_file(str(tmp_path / "plait.yaml"))


def test_from_file_of_invalid_yaml_is_rejected(tmp_path):
    path = write(tmp_path / "plait.yaml", "services:\n  - name: [unclosed\n")
    with pytest.raises(InvalidInputException, match="not valid YAML"):
        ServiceConfiguration.from_file(path)


@pytest.mark.parametrize(
    "text", ["name: wind-shear\n", "services: []\n", "services: wind-shear\n", "services:\n  - wind-shear\n", ""]
)
def test_from_file_without_a_services_list_is_rejected(tmp_path, text):
    path = write(tmp_path / "plait.yaml", text)
    with pytest.raises(InvalidInputException, match="'services' list"):
        ServiceConfiguration.from_file(path)


def test_from_file_of_a_service_without_a_name_is_rejected(tmp_path):
    path = write(tmp_path / "plait.yaml", "services:\n  - namespace: example\n")
    with pytest.raises(InvalidInputException, match="name"):
        ServiceConfiguration.from_file(path)


# -- AppConfiguration --


def test_app_configuration_parameters_and_defaults():
    empty = AppConfiguration()
    assert (empty.configuration_values, empty.configuration_manifest, empty.children, empty.output_location) == (
        None,
        None,
        None,
        None,
    )

    children = [{"key": "wind", "id": "example/wind:1.0.0", "backend": {"name": "local"}}]
    configuration = AppConfiguration(
        configuration_values={"a": 1},
        configuration_manifest={"datasets": {}},
        children=children,
        output_location="gs://bucket/outputs",
    )
    assert configuration.configuration_values == {"a": 1}
    assert configuration.configuration_manifest == {"datasets": {}}
    assert configuration.children == children
    assert configuration.output_location == "gs://bucket/outputs"


def test_app_configuration_warns_about_unknown_keys(caplog):
    with caplog.at_level(logging.WARNING, logger="plait.configuration"):
        configuration = AppConfiguration(configuration_valeus={"a": 1})
    assert configuration.extra == {"configuration_valeus": {"a": 1}}
    assert any("configuration_valeus" in record.getMessage() for record in caplog.records)


def test_app_configuration_from_file(tmp_path):
    content = {"configuration_values": {"roughness_length_m": 0.03}, "output_location": "gs://bucket/out"}
    path = write(tmp_path / "app_configuration.json", json.dumps(content))
    configuration = AppConfiguration.from_file(path)
    assert configuration.configuration_values == {"roughness_length_m": 0.03}
    assert configuration.output_location == "gs://bucket/out"
    assert configuration.to_primitive() == {
        "configuration_values": {"roughness_length_m": 0.03},
        "configuration_manifest": None,
        "children": None,
        "output_location": "gs://bucket/out",
    }


def test_app_configuration_from_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundException, match="does not exist"):
        AppConfiguration.from_file(str(tmp_path / "missing.json"))


def test_app_configuration_from_invalid_json_is_rejected(tmp_path):
    path = write(tmp_path / "app_configuration.json", "{not json")
    with pytest.raises(InvalidInputException, match="not valid JSON"):
        AppConfiguration.from_file(path)


@pytest.mark.parametrize("content", ["[1, 2]", '"values"', "3"])
def test_app_configuration_from_json_that_is_not_an_object_is_rejected(tmp_path, content):
    path = write(tmp_path / "app_configuration.json", content)
    with pytest.raises(InvalidInputException, match="must hold a JSON object"):
        AppConfiguration.from_file(path)


# -- load_service_and_app_configuration --


def test_load_service_and_app_configuration_reads_the_app_configuration_named(tmp_path):
    write(tmp_path / "app_configuration.json", json.dumps({"configuration_values": {"factor": 2}}))
    path = write(
        tmp_path / "plait.yaml", "services:\n  - name: svc\n    app_configuration_path: app_configuration.json\n"
    )

    service_configuration, app_configuration = load_service_and_app_configuration(path)

    assert isinstance(service_configuration, ServiceConfiguration)
    assert service_configuration.name == "svc"
    assert isinstance(app_configuration, AppConfiguration)
    assert app_configuration.configuration_values == {"factor": 2}


def test_load_service_and_app_configuration_without_an_app_configuration_gives_an_empty_one(tmp_path):
    path = write(tmp_path / "plait.yaml", "services:\n  - name: svc\n")
    service_configuration, app_configuration = load_service_and_app_configuration(path)
    assert service_configuration.app_configuration_path is None
    assert app_configuration.to_primitive() == AppConfiguration().to_primitive()


def test_load_service_and_app_configuration_defaults_to_plait_yaml_in_the_current_directory(tmp_path, monkeypatch):
    write(tmp_path / "plait.yaml", "services:\n  - name: here\n")
    monkeypatch.chdir(tmp_path)
    service_configuration, _ = load_service_and_app_configuration()
    assert service_configuration.name == "here"
    assert service_configuration.app_source_path == str(tmp_path)


def test_a_missing_app_configuration_file_named_in_plait_yaml_is_reported(tmp_path):
    path = write(tmp_path / "plait.yaml", "services:\n  - name: svc\n    app_configuration_path: nowhere.json\n")
    with pytest.raises(FileNotFoundException, match=r"nowhere\.json"):
        load_service_and_app_configuration(path)


def test_the_examples_configurations_load():
    service, app = load_service_and_app_configuration(os.path.join(EXAMPLES, "wind-statistics", "plait.yaml"))
    assert (service.name, service.namespace) == ("wind-statistics", "example")
    assert app.configuration_values == {"roughness_length_m": 0.03, "reference_height_m": 100}

    service, app = load_service_and_app_configuration(os.path.join(EXAMPLES, "wind-shear", "plait.yaml"))
    assert (service.name, service.namespace) == ("wind-shear", "example")
    assert app.configuration_values is None
