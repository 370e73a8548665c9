"""Extensions: the services an experiments location knows, and the actions they offer.

An **extension** is a service — deployed, or served by a local stack — registered with the
location: ``API.register_extension(SERVICE_DIR)`` (or ``plait extensions register SERVICE_DIR``)
reads the directory's ``plait.yaml`` and twine and records ``<location>/extensions/<name>.json``:
the service's SRUID, the backend to reach it (the local stack's bus by default;
``{"name": "GCPPubSubBackend", "project_name": ...}`` for a deployment), its service bucket (where
its question records are, read for task status), description, authors and the twine's
``input_values_schema``. ``get_extensions()`` reads the registrations afresh on every call, so the
list changes as services are registered or unregistered, in any process.

- ``name`` is the service's name from ``plait.yaml`` (or the name given on registration);
  registering the same name again replaces the registration (e.g. for a new revision).
- ``description`` is the twine's ``description`` (else its ``title``); ``authors`` is given on
  registration, else the service's namespace (the organisation that provides it).
- Every extension has one **action**, ``run``: asking the service a question. Its ``parameters`` are
  the properties of the twine's ``input_values_schema`` (name, title, description, type, default,
  options from ``enum``, required), and executing it sends the parameters as the question's input
  values — the service validates them against its twine, as it does any question's.
- ``experiment_variable_name`` is the input property whose schema has ``"x-plait-experiment": true``
  (a string holding an experiment's EID; an annotation, ignored by JSON Schema validation), or
  None. When a task names an experiment there, the task is recorded against that experiment and its
  log is uploaded to it as ``<extension>-<action>-<task id>.log``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plait.exceptions import ExtensionNotFound, InvalidExtension

if TYPE_CHECKING:
    from plait.experiments.api import API
    from plait.experiments.tasks import ExtensionExecutionResult

#: The schema keyword marking the input property that names an experiment (by EID).
EXPERIMENT_KEYWORD = "x-plait-experiment"

#: The one action every extension has.
RUN_ACTION = "run"

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DATA_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "json",
    "object": "json",
}


@dataclass(frozen=True)
class ExtensionParameter:
    """One parameter of an action: a property of the twine's input values schema."""

    name: str
    #: The property's ``title``, else its name.
    display_name: str
    description: str | None
    #: ``str``, ``int``, ``float``, ``bool``, ``select`` (an ``enum``), ``experiment`` (an EID), or ``json``.
    data_type: str
    default_value: Any = None
    #: The allowed values, for ``select`` parameters.
    options: list[Any] | None = None
    required: bool = False
    #: The property's JSON Schema.
    schema: dict[str, Any] = field(default_factory=dict, repr=False)


def parameters_from_schema(schema: Any) -> tuple[list[ExtensionParameter], str | None]:
    """An action's parameters and experiment variable name, from an input values schema."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return [], None
    required = set(schema.get("required") or [])
    parameters, experiment_variable = [], None
    for name, property_schema in schema["properties"].items():
        property_schema = property_schema if isinstance(property_schema, dict) else {}
        if property_schema.get(EXPERIMENT_KEYWORD) is True and experiment_variable is None:
            experiment_variable, data_type = name, "experiment"
        elif isinstance(property_schema.get("enum"), list):
            data_type = "select"
        else:
            json_type = property_schema.get("type")
            if isinstance(json_type, list):
                json_type = next((item for item in json_type if item != "null"), None)
            data_type = _DATA_TYPES.get(json_type, "json")
        parameters.append(
            ExtensionParameter(
                name=name,
                display_name=property_schema.get("title") or name,
                description=property_schema.get("description"),
                data_type=data_type,
                default_value=property_schema.get("default"),
                options=property_schema.get("enum") if isinstance(property_schema.get("enum"), list) else None,
                required=name in required,
                schema=property_schema,
            )
        )
    return parameters, experiment_variable


class ExtensionAction:
    """An action of an extension: a question its service answers."""

    def __init__(self, extension: Extension, action: dict[str, Any], input_values_schema: Any) -> None:
        #: The extension this action belongs to.
        self.extension = extension
        self._name = action["name"]
        self._description = action.get("description") or ""
        parameters, experiment_variable = parameters_from_schema(input_values_schema)
        #: The parameters the action expects.
        self.parameters: list[ExtensionParameter] = parameters
        self._experiment_variable_name = experiment_variable

    @property
    def name(self) -> str:
        """The action's name, unique within its extension."""
        return self._name

    @property
    def description(self) -> str:
        """What the action does."""
        return self._description

    @property
    def experiment_variable_name(self) -> str | None:
        """The parameter naming the experiment (by EID) a task works on and its log goes to, if any."""
        return self._experiment_variable_name

    def execute(self, parameters: dict[str, Any]) -> ExtensionExecutionResult:
        """Execute the action: ask the extension's service, wait for the answer, record the task.

        :param parameters: the question's input values
        :return: the result; ``returnCode`` 0 means success (see ``plait.experiments.tasks``)
        """
        from plait.experiments.tasks import execute_action

        return execute_action(self.extension._api, self, parameters)

    def __repr__(self) -> str:
        return f"<ExtensionAction({self.extension.name!r}, {self.name!r})>"


class Extension:
    """An extension: a registered service and its actions."""

    def __init__(self, api: API, registration: dict[str, Any]) -> None:
        self._api = api
        self._registration = registration
        #: The extension's name, unique within the location.
        self.name: str = registration["name"]
        #: What the extension is for.
        self.description: str | None = registration.get("description")
        #: Who provides it.
        self.authors: str = registration.get("authors") or ""
        #: The service revision asked: ``namespace/name:revision_tag``.
        self.sruid: str = registration["sruid"]
        #: How the service is reached (a ``Child`` backend).
        self.backend: dict[str, Any] = dict(registration["backend"])
        #: The service bucket holding its question records, if known.
        self.service_bucket: str | None = registration.get("service_bucket")
        self.actions: list[ExtensionAction] = [
            ExtensionAction(self, action, registration.get("input_values_schema"))
            for action in registration.get("actions") or []
        ]

    def get_action(self, name: str = RUN_ACTION) -> ExtensionAction:
        """The action with this name.

        :raise plait.exceptions.ExtensionNotFound: if the extension has no such action
        """
        for action in self.actions:
            if action.name == name:
                return action
        raise ExtensionNotFound(
            f"Extension {self.name!r} has no action {name!r}; its actions are: "
            f"{', '.join(action.name for action in self.actions) or 'none'}."
        )

    def to_primitive(self) -> dict[str, Any]:
        return dict(self._registration)

    def __repr__(self) -> str:
        return f"<Extension({self.name!r}, {self.sruid!r})>"


def check_extension_name(name: Any) -> str:
    if not isinstance(name, str) or len(name) > 63 or not _NAME.match(name):
        raise InvalidExtension(
            f"{name!r} is not an extension name: use lowercase letters and digits with single hyphens between, "
            "at most 63 characters (e.g. 'wind-statistics')."
        )
    return name


def registration_from_service_directory(
    service_directory: str,
    revision_tag: str = "local",
    backend: dict[str, Any] | None = None,
    service_bucket: str | None = None,
    name: str | None = None,
    authors: str | None = None,
) -> dict[str, Any]:
    """The registration document of the service in ``service_directory`` (see the module docstring).

    :raise plait.exceptions.InvalidExtension: if the directory has no ``plait.yaml``, or a name is bad
    :raise plait.exceptions.InvalidTwine: if the service's twine is not valid
    """
    from plait.cloud.emulators.local_stack import SERVICE_BUCKET
    from plait.configuration import ServiceConfiguration
    from plait.resources.child import Child
    from plait.twine import Twine

    directory = os.path.abspath(os.path.expanduser(service_directory))
    configuration_path = os.path.join(directory, "plait.yaml")
    if not os.path.isfile(configuration_path):
        raise InvalidExtension(
            f"{directory} has no plait.yaml: give the directory of a service (its plait.yaml, app and twine)."
        )
    configuration = ServiceConfiguration.from_file(configuration_path)
    twine = Twine(configuration.twine_path)
    backend = dict(backend or {"name": "LocalBackend"})
    sruid = Child(f"{configuration.namespace}/{configuration.name}:{revision_tag}", backend).id  # validates both
    if service_bucket is None and backend["name"] == "LocalBackend":
        service_bucket = SERVICE_BUCKET
    source = twine.source
    description = source.get("description") or source.get("title")
    return {
        "name": check_extension_name(name or configuration.name),
        "description": description,
        "authors": authors if authors is not None else configuration.namespace,
        "sruid": sruid,
        "backend": backend,
        "service_bucket": service_bucket.removeprefix("gs://").strip("/") if service_bucket else None,
        "input_values_schema": source.get("input_values_schema"),
        "actions": [
            {
                "name": RUN_ACTION,
                "description": f"Ask {sruid} a question: the parameters are its input values."
                + (f" {description}" if description else ""),
            }
        ],
        "service_directory": directory,
        "registered_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
    }
