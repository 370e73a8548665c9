"""Service and app configuration: ``plait.yaml`` and the app configuration file it names.

A ``plait.yaml`` lists services (usually one)::

    services:
      - name: wind-shear
        namespace: my-org            # the reference's "organisation"; either key works
        app_source_path: .
        twine_path: twine.json
        app_configuration_path: app_configuration.json   # optional
        crash_diagnostics_cloud_path: gs://my-bucket/diagnostics   # optional

Relative paths in it are relative to the directory holding ``plait.yaml``. An app configuration
file is JSON with any of ``configuration_values``, ``configuration_manifest``, ``children`` and
``output_location``.

Unknown keys are kept (as the reference's ``**kwargs``) but logged as a warning naming them, so a
misspelt key does not pass silently.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from plait.exceptions import FileNotFoundException, InvalidInputException

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_CONFIGURATION_PATH = "plait.yaml"


class ServiceConfiguration:
    """The details needed to run and deploy a service.

    :param name: the service's name (lowercase letters, digits and single hyphens)
    :param organisation: the organisation (namespace) providing the service; ``namespace`` is accepted too
    :param app_source_path: the directory containing the app's source code
    :param twine_path: the path of the service's twine file
    :param app_configuration_path: the path of the app configuration file, if any
    :param crash_diagnostics_cloud_path: where to save crash diagnostics (local path or ``gs://``)
    :param revision_tag: the service revision's tag (plait addition; see the service protocol)

    The other parameters (``repository_name``, ``repository_owner``, ``project_name``, ``region``,
    ``dockerfile_path``, ``cloud_build_configuration_path``, ``maximum_instances``,
    ``branch_pattern``, ``environment_variables``, ``secrets``, ``concurrency``, ``memory``,
    ``cpus``, ``minimum_instances``, ``temporary_files_location``, ``setup_file_path``,
    ``service_account_email``, ``machine_type``) are kept for deployment, as in the reference.
    """

    def __init__(
        self,
        name: str,
        organisation: str | None = None,
        app_source_path: str = ".",
        twine_path: str = "twine.json",
        app_configuration_path: str | None = None,
        crash_diagnostics_cloud_path: str | None = None,
        repository_name: str | None = None,
        repository_owner: str | None = None,
        project_name: str | None = None,
        region: str | None = None,
        dockerfile_path: str | None = None,
        cloud_build_configuration_path: str | None = None,
        maximum_instances: int = 10,
        branch_pattern: str = "^main$",
        environment_variables: dict[str, str] | None = None,
        secrets: dict | None = None,
        concurrency: int = 10,
        memory: str = "128Mi",
        cpus: int = 1,
        minimum_instances: int = 0,
        temporary_files_location: str | None = None,
        setup_file_path: str | None = None,
        service_account_email: str | None = None,
        machine_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInputException("A service configuration needs a 'name' (e.g. name: wind-shear).")
        namespace = kwargs.pop("namespace", None)
        self.revision_tag: str | None = kwargs.pop("revision_tag", None)
        self.name = name
        self.organisation = organisation or namespace
        self.app_source_path = app_source_path
        self.twine_path = twine_path
        self.app_configuration_path = app_configuration_path
        self.crash_diagnostics_cloud_path = crash_diagnostics_cloud_path
        self.repository_name = repository_name
        self.repository_owner = repository_owner
        self.project_name = project_name
        self.region = region
        self.dockerfile_path = dockerfile_path
        self.cloud_build_configuration_path = cloud_build_configuration_path
        self.maximum_instances = maximum_instances
        self.branch_pattern = branch_pattern
        self.environment_variables = environment_variables or {}
        self.secrets = secrets or {}
        self.concurrency = concurrency
        self.memory = memory
        self.cpus = cpus
        self.minimum_instances = minimum_instances
        self.temporary_files_location = temporary_files_location
        self.setup_file_path = setup_file_path
        self.service_account_email = service_account_email
        self.machine_type = machine_type
        self.extra = kwargs
        if kwargs:
            logger.warning(
                "The service configuration for %r has keys plait does not know, which it ignores: %s.",
                name,
                ", ".join(sorted(kwargs)),
            )

    @property
    def namespace(self) -> str | None:
        """The service's namespace (the reference's ``organisation``)."""
        return self.organisation

    @classmethod
    def from_file(cls, path: str) -> ServiceConfiguration:
        """Load the (first) service configuration from a ``plait.yaml`` file; its relative paths are
        resolved against the file's directory."""
        services = _load_yaml_services(path)
        directory = os.path.dirname(os.path.abspath(path))
        configuration = dict(services[0])
        for key in (
            "app_source_path",
            "twine_path",
            "app_configuration_path",
            "crash_diagnostics_cloud_path",  # may be a local directory
            "setup_file_path",
            "dockerfile_path",
        ):
            value = configuration.get(key)
            if value is not None and not _is_remote(value):
                configuration[key] = os.path.normpath(os.path.join(directory, value))
        configuration.setdefault("app_source_path", directory)
        configuration.setdefault("twine_path", os.path.join(directory, "twine.json"))
        try:
            return cls(**configuration)
        except TypeError as error:
            raise InvalidInputException(f"{path}: the service configuration is not valid: {error}") from error

    def to_primitive(self) -> dict[str, Any]:
        primitive = {key: value for key, value in vars(self).items() if key != "extra"}
        return {**primitive, **self.extra}


class AppConfiguration:
    """The configuration an app is run with; it must conform to the service's twine.

    :param configuration_values: values to configure the app (dict, JSON string or path to a JSON file)
    :param configuration_manifest: a manifest of datasets to configure the app
    :param children: the children the app uses (a list of ``{"key", "id", "backend"}``)
    :param output_location: a directory (``gs://`` or local) to save output datasets in
    """

    def __init__(
        self,
        configuration_values: Any = None,
        configuration_manifest: Any = None,
        children: Any = None,
        output_location: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.configuration_values = configuration_values
        self.configuration_manifest = configuration_manifest
        self.children = children
        self.output_location = output_location
        self.extra = kwargs
        if kwargs:
            logger.warning(
                "The app configuration has keys plait does not know, which it ignores: %s.", ", ".join(sorted(kwargs))
            )

    @classmethod
    def from_file(cls, path: str) -> AppConfiguration:
        """Load an app configuration from a JSON file."""
        try:
            with open(path, encoding="utf-8") as file:
                content = json.load(file)
        except FileNotFoundError:
            raise FileNotFoundException(f"The app configuration file {path} does not exist.") from None
        except ValueError as error:
            raise InvalidInputException(f"The app configuration file {path} is not valid JSON: {error}") from error
        if not isinstance(content, dict):
            raise InvalidInputException(f"The app configuration file {path} must hold a JSON object.")
        return cls(**content)

    def to_primitive(self) -> dict[str, Any]:
        return {
            "configuration_values": self.configuration_values,
            "configuration_manifest": self.configuration_manifest,
            "children": self.children,
            "output_location": self.output_location,
            **self.extra,
        }


def load_service_and_app_configuration(
    service_configuration_path: str = DEFAULT_SERVICE_CONFIGURATION_PATH,
) -> tuple[ServiceConfiguration, AppConfiguration]:
    """Load the service configuration from a ``plait.yaml`` file and the app configuration it names
    (an empty one if it names none)."""
    service_configuration = ServiceConfiguration.from_file(service_configuration_path)
    if service_configuration.app_configuration_path:
        app_configuration = AppConfiguration.from_file(service_configuration.app_configuration_path)
    else:
        app_configuration = AppConfiguration()
    return service_configuration, app_configuration


def _load_yaml_services(path: str) -> list[dict[str, Any]]:
    import yaml

    try:
        with open(path, encoding="utf-8") as file:
            content = yaml.safe_load(file)
    except FileNotFoundError:
        raise FileNotFoundException(
            f"The service configuration file {path} does not exist: run plait from a service's directory, "
            "or give --service-config PATH."
        ) from None
    except yaml.YAMLError as error:
        raise InvalidInputException(f"{path} is not valid YAML: {error}") from error

    services = content.get("services") if isinstance(content, dict) else None
    if not isinstance(services, list) or not services or not all(isinstance(each, dict) for each in services):
        raise InvalidInputException(
            f"{path} must have a 'services' list with at least one service, e.g.\n"
            "services:\n  - name: my-service\n    namespace: my-org"
        )
    return services


def _is_remote(path: str) -> bool:
    return path.startswith(("gs://", "http://", "https://"))
