"""Experiments, extensions and tasks: the experiment-management API over plait's own resources.

``API(location)`` keeps everything at a local directory or a ``gs://`` prefix, with no server:

- an **experiment** (``Experiment``) is a plait dataset with a title, a description,
  case-insensitive tags and a human-readable EID ``YYYYMMDD-N``, allocated atomically;
  its files are the dataset's files;
- an **extension** (``Extension``) is a registered service; its one action, ``run``
  (``ExtensionAction``), asks the service a question, its parameters derived from the twine's
  input values schema;
- a **task** (``Task``) is such a question: its record, status, output and error.

See ``plait.experiments.api`` (the API and its decisions), ``.store`` (layout, atomicity and the
cost model), ``.extensions`` and ``.tasks``, and ``docs/experiments.md``.
"""

from plait.experiments.api import API, DEFAULT_TIMEOUT, LOCATION_VARIABLE, default_location
from plait.experiments.experiment import Experiment
from plait.experiments.extensions import Extension, ExtensionAction, ExtensionParameter
from plait.experiments.tasks import ExtensionExecutionResult, Task, TaskStatus

__all__ = [
    "API",
    "DEFAULT_TIMEOUT",
    "LOCATION_VARIABLE",
    "Experiment",
    "Extension",
    "ExtensionAction",
    "ExtensionExecutionResult",
    "ExtensionParameter",
    "Task",
    "TaskStatus",
    "default_location",
]
