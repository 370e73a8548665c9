"""``Runner``: runs a service's app on validated inputs, exactly as the cloud will.

The app (``app_src``) may be:

- a function taking the ``Analysis``;
- a class whose instances are made with the ``Analysis`` and have a ``run()`` method;
- a module with a ``run(analysis)`` function (or an ``App`` class as above);
- a path to a directory containing ``app.py`` (or to a ``.py`` file) that is such a module.

``run`` validates the inputs against the twine before the app runs, gives the app an
``Analysis`` (with an empty output dataset for each key of the twine's output manifest strand,
ready for files), captures the analysis's logs, and finalises the analysis if the app did not
(which validates the outputs). If the app (or finalising) fails and saving is allowed, crash
diagnostics are saved to ``crash_diagnostics_cloud_path`` before the error propagates.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import os
import re
import sys
import types
from collections.abc import Callable
from typing import Any

from plait.diagnostics import save_crash_diagnostics
from plait.exceptions import ClaimLost, InvalidInputException, QuestionCancelled
from plait.log_handlers import capture_analysis_logs
from plait.resources import identity
from plait.resources.analysis import Analysis
from plait.resources.manifest import Manifest

logger = logging.getLogger(__name__)


class Runner:
    """A runner of analyses for one service.

    :param app_src: the app: a function, a class with ``run``, a module, or a path to a directory
        containing ``app.py``
    :param twine: the twine (a path to ``twine.json``, a JSON string, a dict or a ``Twine``)
    :param configuration_values: configuration values (dict, JSON string or path to a JSON file)
    :param configuration_manifest: configuration manifest (Manifest, dict, JSON string or path)
    :param children: the children the app may ask (a list of ``{"key", "id", "backend"}``)
    :param output_location: where output datasets are put (``gs://`` or a local directory)
    :param crash_diagnostics_cloud_path: where crash diagnostics are saved (``gs://`` or local)
    :param project_name: the Google Cloud project the service runs in
    :param service_id: the SRUID of the service being run
    :raise plait.exceptions.InvalidTwine: if the twine is invalid
    :raise plait.exceptions.InvalidValuesContents: if the configuration values break the twine
    :raise plait.exceptions.InvalidManifestContents: if the configuration manifest breaks the twine
    :raise plait.exceptions.MissingCredential: if a credential the twine needs is not set
    """

    def __init__(
        self,
        app_src: Any,
        twine: Any = "twine.json",
        configuration_values: Any = None,
        configuration_manifest: Any = None,
        children: Any = None,
        output_location: str | None = None,
        crash_diagnostics_cloud_path: str | None = None,
        project_name: str | None = None,
        service_id: str | None = None,
    ) -> None:
        from plait.twine import Twine

        self.twine = twine if isinstance(twine, Twine) else Twine(twine)
        self.app_src = app_src
        self._app = load_app(app_src)
        self.configuration_values = self.twine.validate_values("configuration_values", configuration_values)
        self.configuration_manifest = self.twine.validate_manifest("configuration_manifest", configuration_manifest)
        if children is not None or self.twine.has_strand("children"):
            self.children = self.twine.validate_children(children)
        else:
            self.children = None
        self.credentials = self.twine.validate_credentials()
        self.output_location = output_location
        self.crash_diagnostics_cloud_path = crash_diagnostics_cloud_path
        self.project_name = project_name
        self.service_id = service_id
        self._children: dict[str, Any] | None = None
        self._children_by_key()  # a bad child id or backend is a configuration error: say so now

    def run(
        self,
        analysis_id: str | None = None,
        input_values: Any = None,
        input_manifest: Any = None,
        analysis_log_level: int | str = logging.INFO,
        analysis_log_handler: logging.Handler | None = None,
        handle_monitor_message: Callable[[Any], None] | None = None,
        allow_save_diagnostics_data_on_crash: bool = True,
        sent_messages: list | None = None,
    ) -> Analysis:
        """Run the app on one question.

        :param analysis_id: the analysis's UUID (generated if None)
        :param input_values: input values (dict, JSON string, path to a JSON file or file object)
        :param input_manifest: input manifest (Manifest, dict, JSON string or path to a JSON file)
        :param analysis_log_level: the level below which the analysis's log records are ignored
            (a number or a name such as ``"DEBUG"``)
        :param analysis_log_handler: a handler that receives the analysis's log records
        :param handle_monitor_message: called with each monitor message the app sends
        :param allow_save_diagnostics_data_on_crash: save crash diagnostics if the app fails
        :param sent_messages: the messages the service has sent for this question (saved with the diagnostics)
        :raise plait.exceptions.InvalidValuesContents: if the input or output values break the twine
        :raise plait.exceptions.InvalidManifestContents: if the input or output manifest breaks the twine
        :return: the finalised analysis
        """
        analysis_id = identity.validate_id(analysis_id)
        input_values = self.twine.validate_values("input_values", input_values)
        input_manifest = self.twine.validate_manifest("input_manifest", input_manifest)

        output_manifest = None
        if self.twine.has_strand("output_manifest"):
            output_manifest = Manifest().prepare(self.twine.source["output_manifest"])

        with capture_analysis_logs(analysis_id, analysis_log_level, analysis_log_handler) as log_records:
            analysis = Analysis(
                twine=self.twine,
                handle_monitor_message=handle_monitor_message,
                configuration_values=self.configuration_values,
                configuration_manifest=self.configuration_manifest,
                input_values=input_values,
                input_manifest=input_manifest,
                output_manifest=output_manifest,
                children=self._children_by_key(),
                id=analysis_id,
                output_location=self.output_location,
            )
            try:
                self._app(analysis)
                if not analysis.finalised:
                    analysis.finalise()
            except Exception as error:
                logger.error("Analysis %s failed: %s: %s", analysis_id, type(error).__name__, error)
                # A cancelled (or taken-over) question is not a crash: there is nothing to diagnose.
                crashed = not isinstance(error, QuestionCancelled | ClaimLost)
                if crashed and allow_save_diagnostics_data_on_crash and self.crash_diagnostics_cloud_path:
                    save_crash_diagnostics(
                        self.crash_diagnostics_cloud_path,
                        analysis_id,
                        configuration_values=self.configuration_values,
                        configuration_manifest=self.configuration_manifest,
                        input_values=input_values,
                        input_manifest=input_manifest,
                        messages=sent_messages,
                        logs=list(log_records),
                        error=error,
                    )
                raise
        return analysis

    def _children_by_key(self) -> dict[str, Any] | None:
        """The children the app may ask, as ``Child`` instances by key (made once; they connect on first use)."""
        if self.children is None:
            return None
        if self._children is None:
            from plait.resources.child import Child

            self._children = {
                child["key"]: Child(child["id"], child["backend"], internal_service_name=self.service_id)
                for child in self.children
            }
        return self._children


def load_app(app_src: Any) -> Callable[[Analysis], Any]:
    """Turn any accepted form of ``app_src`` into a function that runs the app on an analysis.

    :raise plait.exceptions.InvalidInputException: if ``app_src`` is none of the accepted forms
    """
    if isinstance(app_src, str | os.PathLike):
        app_src = _import_app_module(os.fspath(app_src))

    if isinstance(app_src, types.ModuleType):
        run = getattr(app_src, "run", None)
        if callable(run):
            return run
        app_class = getattr(app_src, "App", None)
        if inspect.isclass(app_class) and callable(getattr(app_class, "run", None)):
            return lambda analysis: app_class(analysis).run()
        raise InvalidInputException(
            f"The app module {app_src.__name__} ({getattr(app_src, '__file__', '?')}) has no run(analysis) function "
            "and no App class with a run() method: add one."
        )

    if inspect.isclass(app_src):
        if not callable(getattr(app_src, "run", None)):
            raise InvalidInputException(f"The app class {app_src.__name__} has no run() method: add one.")
        return lambda analysis: app_src(analysis).run()

    if callable(app_src):
        return app_src

    raise InvalidInputException(
        f"app_src must be a function, a class with a run() method, a module, or a path to a directory "
        f"containing app.py; got {app_src!r}."
    )


def _import_app_module(path: str) -> types.ModuleType:
    """Import ``<path>/app.py`` (or the ``.py`` file at ``path``) as a module of its own."""
    path = os.path.abspath(path)
    file = os.path.join(path, "app.py") if os.path.isdir(path) else path
    if not os.path.isfile(file) or not file.endswith(".py"):
        raise InvalidInputException(
            f"No app found at {path}: app_src must be a directory containing app.py, or a .py file."
        )

    directory = os.path.dirname(file)
    if file in _imported_apps:
        return _imported_apps[file]
    # Named after its directory (e.g. "wind_shear.app"), which is what its log records show.
    service = re.sub(r"\W", "_", os.path.basename(directory)) or "service"
    name = f"{service}.{os.path.splitext(os.path.basename(file))[0]}"
    if name in sys.modules:
        name = f"{name}_{hashlib.blake2b(file.encode(), digest_size=4).hexdigest()}"

    # The app may import modules beside it.
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    _imported_apps[file] = module
    return module


_imported_apps: dict[str, types.ModuleType] = {}
