"""Helpers for the experiments tests: copies of services, run on a local stack (one at a time: a stack
sets process-wide environment variables)."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEST_SERVICES = Path(__file__).resolve().parents[1] / "service" / "services"


def copy_service(source: Path, destination: Path, experiment_variable: bool = False) -> Path:
    """A copy of a service directory; with ``experiment_variable``, its twine gains an ``experiment``
    input marked as the experiment variable."""
    shutil.copytree(source, destination)
    if experiment_variable:
        twine_path = destination / "twine.json"
        twine = json.loads(twine_path.read_text())
        twine["input_values_schema"]["properties"]["experiment"] = {
            "type": "string",
            "x-plait-experiment": True,
            "description": "The EID of the experiment the task's log goes to.",
        }
        twine_path.write_text(json.dumps(twine, indent=2))
    return destination


@contextlib.contextmanager
def running_stack(directory: Path, **options):
    from plait.cloud.emulators.local_stack import LocalStack

    stack = LocalStack(str(directory), mode="in_process", **options).start()
    try:
        yield stack
    finally:
        stack.stop()
