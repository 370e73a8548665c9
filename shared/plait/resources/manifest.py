"""``Manifest``: the datasets coming into, or leaving, an analysis, by key."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from plait import __version__, hashing
from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import FileNotFoundException, InvalidInputException
from plait.resources import identity
from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset


class Manifest:
    """A mapping of keys (as the twine names them) to datasets.

    :param datasets: keys mapped to Datasets, serialised datasets or paths to datasets
    :param id: the manifest's UUID (generated if None)
    :param name: an optional name
    """

    def __init__(
        self, datasets: dict[str, Dataset | dict | str] | None = None, id: str | None = None, name: str | None = None
    ) -> None:
        self.id = identity.validate_id(id)
        self.name = name
        if datasets is not None and not isinstance(datasets, dict):
            raise InvalidInputException(
                f"A manifest's datasets must be a mapping of key to dataset, not {type(datasets).__name__} "
                "(e.g. {'measurements': 'gs://bucket/measurements'})."
            )
        self.datasets: dict[str, Dataset] = {
            key: self._to_dataset(key, dataset) for key, dataset in (datasets or {}).items()
        }

    @staticmethod
    def _to_dataset(key: str, dataset: Dataset | dict | str) -> Dataset:
        if isinstance(dataset, Dataset):
            return dataset
        if isinstance(dataset, dict):
            return Dataset.deserialise(dataset)
        if isinstance(dataset, str | os.PathLike):
            return Dataset(path=os.fspath(dataset))
        raise InvalidInputException(
            f"Dataset {key!r} of the manifest must be a Dataset, a serialised dataset or a path, not "
            f"{type(dataset).__name__}."
        )

    @classmethod
    def from_file(cls, path: str) -> Manifest:
        """Load a manifest from a local JSON file. Relative local dataset paths in it are taken to be
        relative to the file's directory (not the current directory)."""
        try:
            with open(path, encoding="utf-8") as file:
                primitive = identity.load_json(file.read(), from_string=True)
        except FileNotFoundError:
            raise FileNotFoundException(f"The manifest file {path} does not exist.") from None
        rebase_relative_dataset_paths(primitive, os.path.dirname(os.path.abspath(path)))
        return cls.deserialise(primitive)

    # -- cloud --

    @classmethod
    def from_cloud(cls, cloud_path: str) -> Manifest:
        """Load a manifest from a JSON object in cloud storage (e.g. ``gs://bucket/manifest.json``)."""
        return cls.deserialise(GoogleCloudStorageClient().download_as_string(cloud_path), from_string=True)

    def to_cloud(self, cloud_path: str) -> None:
        """Save the manifest as a JSON object in cloud storage."""
        storage_path.split_bucket_name_from_cloud_path(cloud_path)
        GoogleCloudStorageClient().upload_from_string(self.serialise(), cloud_path)

    @property
    def all_datasets_are_in_cloud(self) -> bool:
        """Do all the files of all the datasets exist in the cloud?"""
        return all(dataset.all_files_are_in_cloud for dataset in self.datasets.values())

    def use_signed_urls_for_datasets(self) -> None:
        """Replace every cloud dataset with the same dataset opened from its signed URL (local
        datasets are left as they are)."""
        for key, dataset in list(self.datasets.items()):
            if dataset.path == dataset.cloud_path and dataset.cloud_path is not None:
                self.datasets[key] = Dataset(path=dataset.generate_signed_url())

    # -- datasets --

    def get_dataset(self, key: str) -> Dataset:
        """The dataset with this key.

        :raise plait.exceptions.InvalidInputException: if there is no such key (the message lists those there are)
        """
        try:
            return self.datasets[key]
        except KeyError:
            raise InvalidInputException(
                f"The manifest has no dataset {key!r}; it has: {', '.join(sorted(self.datasets)) or 'none'}."
            ) from None

    def prepare(self, data: dict) -> Manifest:
        """Add an empty local dataset for each key of a twine manifest strand not yet in the manifest.

        ``data`` is a manifest strand (``{"datasets": {"key": {...}, ...}}``); each new dataset gets a
        fresh temporary directory, ready for the app to add files to.

        :return: the manifest itself
        """
        if not isinstance(data, dict) or not isinstance(data.get("datasets", {}), dict):
            raise InvalidInputException("prepare() needs a manifest strand: {'datasets': {'<key>': {...}}}.")
        for key in data.get("datasets", {}):
            if key not in self.datasets:
                directory = os.path.join(tempfile.mkdtemp(prefix="plait-output-"), key)
                os.makedirs(directory)
                self.datasets[key] = Dataset(path=directory, name=key)
        return self

    # -- hashing, metadata, serialisation --

    @property
    def hash_value(self) -> str:
        """BLAKE3 of the sorted ``key=dataset_hash`` lines (DESIGN.md)."""
        return hashing.hash_dataset_hashes({key: dataset.hash_value for key, dataset in self.datasets.items()})

    @classmethod
    def hash_non_class_object(cls, object_: Any) -> str:
        """Hash something that is not a resource: Datafiles, Datasets and Manifests by their own
        hash, anything else as a JSON value (canonical JSON, as for values strands)."""
        if isinstance(object_, Datafile | Dataset | Manifest):
            return object_.hash_value
        return hashing.hash_json(object_)

    def metadata(self, include_id: bool = True, include_sdk_version: bool = True, **kwargs: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if include_id:
            metadata["id"] = self.id
        metadata["name"] = self.name
        if include_sdk_version:
            metadata["sdk_version"] = __version__
        return metadata

    @property
    def metadata_hash_value(self) -> str:
        """The hash of the manifest's metadata, not including its id."""
        return hashing.hash_json(self.metadata(include_id=False, include_sdk_version=False))

    def reset_hash(self) -> None:
        """Recalculate every file's hash from its bytes."""
        for dataset in self.datasets.values():
            for file in dataset.files:
                file.reset_hash()

    def to_primitive(self) -> dict[str, Any]:
        """The manifest as primitives, its datasets given by their paths (a lightweight serialisation)."""
        return {**self.metadata(), "datasets": {key: dataset.path for key, dataset in self.datasets.items()}}

    @classmethod
    def deserialise(cls, serialised_object: dict | str, from_string: bool = False) -> Manifest:
        primitive = identity.load_json(serialised_object, from_string)
        return cls(datasets=primitive.get("datasets"), id=primitive.get("id"), name=primitive.get("name"))

    def serialise(self, **kwargs: Any) -> str:
        return json.dumps(self.to_primitive(), **kwargs)

    def to_file(self, filename: str, **kwargs: Any) -> None:
        identity.write_json_file(filename, self.to_primitive(), **kwargs)

    def __repr__(self) -> str:
        return f"<Manifest({sorted(self.datasets)})>"


def rebase_relative_dataset_paths(primitive: dict[str, Any], directory: str) -> None:
    """Make a serialised manifest's relative local dataset paths relative to ``directory`` (in place)."""
    datasets = primitive.get("datasets")
    if not isinstance(datasets, dict):
        return
    for key, dataset in datasets.items():
        if isinstance(dataset, str) and _is_relative_local(dataset):
            datasets[key] = os.path.join(directory, dataset)
        elif isinstance(dataset, dict) and isinstance(dataset.get("path"), str) and _is_relative_local(dataset["path"]):
            dataset["path"] = os.path.join(directory, dataset["path"])


def _is_relative_local(path: str) -> bool:
    return not (storage_path.is_cloud_path(path) or storage_path.is_url(path) or os.path.isabs(path))
