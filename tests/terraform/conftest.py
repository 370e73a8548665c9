"""The Terraform module, parsed with python-hcl2, for the wiring tests.

python-hcl2 keeps the quotes of string literals and block labels (``'"roles/run.invoker"'``) and
marks blocks with ``__is_block__`` (version 7 and later); earlier versions do neither. ``normalise``
makes both look alike: literals without their quotes, blocks as lists of dicts, no markers.
Expressions stay as HCL text inside ``${...}`` (``"${google_pubsub_topic.questions.id}"``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERRAFORM = os.path.join(REPOSITORY, "terraform")
EXAMPLE_ROOT = os.path.join(TERRAFORM, "examples", "wind-shear")


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {normalise(key): normalise(item) for key, item in value.items() if not str(key).startswith("__")}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass
class Configuration:
    """The blocks of every ``.tf`` file in one directory (not its subdirectories)."""

    directory: str
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)  # type -> name -> body
    data: dict[str, dict[str, dict]] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    text: dict[str, str] = field(default_factory=dict)  # file name -> its text

    def resource(self, type_: str, name: str) -> dict:
        assert name in self.resources.get(type_, {}), f"no {type_}.{name} in {self.directory}"
        return self.resources[type_][name]

    def all_resources(self) -> list[tuple[str, str, dict]]:
        return [(type_, name, body) for type_, named in self.resources.items() for name, body in named.items()]


def load(directory: str) -> Configuration:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is in the dev extra: pip install -e '.[dev]'")
    configuration = Configuration(directory)
    for file_name in sorted(os.listdir(directory)):
        if not file_name.endswith(".tf"):
            continue
        path = os.path.join(directory, file_name)
        with open(path, encoding="utf-8") as file:
            configuration.text[file_name] = file.read()
        with open(path, encoding="utf-8") as file:
            parsed = normalise(hcl2.load(file))
        for block in parsed.get("resource", []):
            for type_, named in block.items():
                for name, body in named.items():
                    assert name not in configuration.resources.get(type_, {}), f"{type_}.{name} is declared twice"
                    configuration.resources.setdefault(type_, {})[name] = body
        for block in parsed.get("data", []):
            for type_, named in block.items():
                configuration.data.setdefault(type_, {}).update(named)
        for block in parsed.get("variable", []):
            configuration.variables.update(block)
        for block in parsed.get("output", []):
            configuration.outputs.update(block)
        for block in parsed.get("locals", []):
            configuration.locals.update(block)
        for block in parsed.get("module", []):
            configuration.modules.update(block)
        configuration.terraform.extend(parsed.get("terraform", []))
    return configuration


@pytest.fixture(scope="session")
def module() -> Configuration:
    """The plait Terraform module (``terraform/``)."""
    return load(TERRAFORM)


@pytest.fixture(scope="session")
def example_root() -> Configuration:
    """The example root configuration (``terraform/examples/wind-shear``)."""
    return load(EXAMPLE_ROOT)
