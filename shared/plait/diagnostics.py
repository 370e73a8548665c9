"""Crash diagnostics: what an analysis had when its app failed, saved so the failure can be replayed.

Saved under ``<crash diagnostics path>/<analysis id>/`` (a local directory or ``gs://`` path)::

    configuration_values.json   input_values.json
    configuration_manifest.json input_manifest.json     (dataset paths point at the copies below)
    configuration_manifest_datasets/<key>/...           input_manifest_datasets/<key>/...
    messages.json               the messages the service had sent for the question
    logs.json                   the analysis's log records
    exception.json              the error's type, message and traceback

``save_crash_diagnostics`` never raises: a failure to save is logged, so it can never hide the
app's own error.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from typing import Any

from plait.cloud.storage import path as storage_path

logger = logging.getLogger(__name__)


def save_crash_diagnostics(
    location: str,
    analysis_id: str,
    *,
    configuration_values: Any = None,
    configuration_manifest: Any = None,
    input_values: Any = None,
    input_manifest: Any = None,
    messages: list | None = None,
    logs: list | None = None,
    error: BaseException | None = None,
) -> str | None:
    """Save an analysis's diagnostics; return where they were saved, or None if saving failed."""
    directory = _join(location, analysis_id)
    try:
        _write_json(_join(directory, "configuration_values.json"), configuration_values)
        _write_json(_join(directory, "input_values.json"), input_values)
        for name, manifest in (("configuration_manifest", configuration_manifest), ("input_manifest", input_manifest)):
            _write_json(
                _join(directory, f"{name}.json"), _copy_manifest(manifest, _join(directory, f"{name}_datasets"))
            )
        _write_json(_join(directory, "messages.json"), list(messages or []))
        _write_json(_join(directory, "logs.json"), list(logs or []))
        _write_json(_join(directory, "exception.json"), _describe(error))
    except Exception:
        logger.exception("Could not save crash diagnostics for analysis %s to %s.", analysis_id, directory)
        return None
    logger.warning("Saved crash diagnostics for analysis %s to %s.", analysis_id, directory)
    return directory


def _copy_manifest(manifest: Any, destination: str) -> dict | None:
    """Copy each dataset of a manifest to ``<destination>/<key>``; the manifest's primitive, pointing
    at the copies."""
    if manifest is None:
        return None
    from plait.resources.dataset import copy_dataset

    primitive = manifest.to_primitive()
    for key, dataset in manifest.datasets.items():
        primitive["datasets"][key] = copy_dataset(dataset, _join(destination, key)).path
    return primitive


def _describe(error: BaseException | None) -> dict | None:
    if error is None:
        return None
    return {
        "type": type(error).__name__,
        "module": type(error).__module__,
        "message": str(error),
        "traceback": traceback.format_exception(error),
    }


def _join(location: str, *parts: str) -> str:
    if storage_path.is_cloud_path(location):
        return storage_path.cloud_join(location, *parts)
    return os.path.join(location, *parts)


def _write_json(path: str, value: Any) -> None:
    text = json.dumps(value, indent=2, default=str)
    if storage_path.is_cloud_path(path):
        from plait.cloud.storage.client import GoogleCloudStorageClient

        GoogleCloudStorageClient().upload_from_string(text, path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
