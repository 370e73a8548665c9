"""``Analysis``: everything an app needs for one question, and what it gives back.

An Analysis holds the configuration and input strands (already validated by the Runner), the
output strands the app fills in, the children it may ask, and BLAKE3 hashes of every input so
that any output can be traced to exactly what produced it.

Decisions where the reference is silent (also in ``docs/api.md``):

- ``finalise`` uploads each output dataset to ``<location>/<analysis id>/<dataset key>`` and
  replaces it with the same dataset opened from its signed URL. A local (non-``gs://``) location
  gets a copy of each dataset instead, with no signed URL. If the URLs cannot be signed (no
  credentials that can sign), the datasets keep their ``gs://`` paths and a warning says why.
- Finalising twice does nothing the second time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from plait import __version__, hashing
from plait.cloud.storage import path as storage_path
from plait.exceptions import CloudCredentialsNotFound
from plait.resources import identity
from plait.resources.dataset import copy_dataset
from plait.resources.label import LabelSet
from plait.resources.manifest import Manifest
from plait.resources.tag import TagDict

logger = logging.getLogger(__name__)

#: The strands an Analysis holds (each may be None).
STRAND_ATTRIBUTES = (
    "configuration_values",
    "configuration_manifest",
    "input_values",
    "input_manifest",
    "output_values",
    "output_manifest",
    "children",
)

#: The strands whose hashes are recorded (``<strand>_hash``).
HASHED_STRANDS = ("configuration_values", "configuration_manifest", "input_values", "input_manifest")


class Analysis:
    """One run of an app: its configuration, inputs, outputs, children and their hashes.

    :param twine: the service's twine (a ``Twine``, a dict, a JSON string or a path to ``twine.json``)
    :param handle_monitor_message: called with each monitor message the app sends (after validation)
    :param kwargs: the strands (``configuration_values``, ``configuration_manifest``,
        ``input_values``, ``input_manifest``, ``output_values``, ``output_manifest``, ``children``),
        and ``id``, ``name``, ``tags``, ``labels`` and ``output_location``
    """

    def __init__(self, twine: Any, handle_monitor_message: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
        from plait.twine import Twine

        self.twine = twine if isinstance(twine, Twine) else Twine(twine)
        self._handle_monitor_message = handle_monitor_message

        for strand in STRAND_ATTRIBUTES:
            setattr(self, strand, kwargs.pop(strand, None))
        self.id = identity.validate_id(kwargs.pop("id", None))
        self.name: str | None = kwargs.pop("name", None)
        self.output_location: str | None = kwargs.pop("output_location", None)
        self._tags = TagDict(kwargs.pop("tags", None))
        self._labels = LabelSet(kwargs.pop("labels", None))
        if kwargs:
            raise TypeError(f"Analysis() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")

        for strand in ("configuration_manifest", "input_manifest", "output_manifest"):
            manifest = getattr(self, strand)
            if manifest is not None and not isinstance(manifest, Manifest):
                setattr(self, strand, Manifest.deserialise(manifest))

        self.configuration_values_hash = _values_hash(self.configuration_values)
        self.input_values_hash = _values_hash(self.input_values)
        self.configuration_manifest_hash = _manifest_hash(self.configuration_manifest)
        self.input_manifest_hash = _manifest_hash(self.input_manifest)
        self._finalised = False

    # -- the app's interface --

    @property
    def finalised(self) -> bool:
        """Have the outputs been validated (and any output datasets uploaded)?"""
        return self._finalised

    def send_monitor_message(self, data: Any) -> None:
        """Send a monitor message to the parent that asked the question.

        :param data: any JSON-compatible value; validated against the twine's monitor message schema
        :raise plait.exceptions.InvalidMonitorMessage: if the twine's schema rejects it
        """
        self.twine.validate_monitor_message(data)
        if self._handle_monitor_message is None:
            logger.debug("Monitor message (no parent to send it to): %r", data)
            return
        self._handle_monitor_message(data)

    def finalise(self, upload_output_datasets_to: str | None = None) -> None:
        """Validate the output values and manifest and, if there are output datasets and a location,
        put each at ``<location>/<analysis id>/<dataset key>``.

        :param upload_output_datasets_to: the location to use instead of the analysis's ``output_location``
        :raise plait.exceptions.InvalidValuesContents: if the output values break the twine
        :raise plait.exceptions.InvalidManifestContents: if the output manifest breaks the twine
        """
        if self._finalised:
            logger.debug("Analysis %s is already finalised.", self.id)
            return

        self.output_values = self.twine.validate_values("output_values", self.output_values)
        self.output_manifest = self.twine.validate_manifest("output_manifest", self.output_manifest)

        location = upload_output_datasets_to or self.output_location
        if self.output_manifest is not None and location:
            self._store_output_datasets(location)
        self._finalised = True

    def _store_output_datasets(self, location: str) -> None:
        to_cloud = storage_path.is_cloud_path(location)
        for key, dataset in self.output_manifest.datasets.items():
            if to_cloud:
                destination = storage_path.cloud_join(location, self.id, key)
                dataset.upload(destination)
                logger.info("Uploaded output dataset %r (%d files) to %s.", key, len(dataset), destination)
            else:
                destination = os.path.join(location, self.id, key)
                self.output_manifest.datasets[key] = copy_dataset(dataset, destination)
                logger.info("Saved output dataset %r (%d files) to %s.", key, len(dataset), destination)

        if to_cloud:
            try:
                self.output_manifest.use_signed_urls_for_datasets()
            except CloudCredentialsNotFound as error:
                logger.warning(
                    "The output datasets are at their gs:// paths but signed URLs could not be made for them: %s",
                    error,
                )

    # -- tags, labels, serialisation --

    @property
    def tags(self) -> TagDict:
        return self._tags

    @property
    def labels(self) -> LabelSet:
        return self._labels

    def add_tags(self, tags: dict | None = None, **kwargs: Any) -> None:
        self._tags.update({**(tags or {}), **kwargs})

    def add_labels(self, *args: str) -> None:
        self._labels.add(*args)

    def to_primitive(self) -> dict[str, Any]:
        """The analysis as primitives: strands (manifests by their datasets' paths), hashes, metadata."""
        primitive: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "tags": self._tags.to_primitive(),
            "labels": self._labels.to_primitive(),
            "output_location": self.output_location,
            "finalised": self._finalised,
            "sdk_version": __version__,
        }
        for strand in STRAND_ATTRIBUTES:
            value = getattr(self, strand)
            primitive[strand] = value.to_primitive() if isinstance(value, Manifest) else _children_primitive(value)
        for strand in HASHED_STRANDS:
            primitive[f"{strand}_hash"] = getattr(self, f"{strand}_hash")
        return primitive

    def serialise(self, **kwargs: Any) -> str:
        import json

        return json.dumps(self.to_primitive(), **kwargs)

    def to_file(self, filename: str, **kwargs: Any) -> None:
        identity.write_json_file(filename, self.to_primitive(), **kwargs)

    @classmethod
    def deserialise(cls, serialised_object: dict | str, from_string: bool = False, twine: Any = None) -> Analysis:
        """Rebuild an Analysis from ``to_primitive()``; the twine must be given (it is not serialised)."""
        primitive = dict(identity.load_json(serialised_object, from_string))
        if twine is None:
            from plait.exceptions import InvalidInputException

            raise InvalidInputException("Analysis.deserialise needs the service's twine: pass twine=...")
        arguments = {
            key: primitive.get(key) for key in (*STRAND_ATTRIBUTES, "id", "name", "tags", "labels", "output_location")
        }
        return cls(twine=twine, **arguments)

    def __repr__(self) -> str:
        return f"<Analysis({self.id!r})>"


def _values_hash(values: Any) -> str | None:
    return None if values is None else hashing.hash_json(values)


def _manifest_hash(manifest: Manifest | None) -> str | None:
    return None if manifest is None else manifest.hash_value


def _children_primitive(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: child.to_primitive() if hasattr(child, "to_primitive") else child for key, child in value.items()}
    return value
