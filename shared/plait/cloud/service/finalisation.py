"""Dataset finalisation: hash every new object in the datasets bucket and complete its metadata.

For each ``object.finalized`` event:

- plait's own metadata objects (``.plait`` files, signed-dataset documents) are skipped, so the
  metadata this writes never triggers it again;
- an event for a generation that is no longer the object's current one is skipped (the newer
  generation has its own event), as is an object already finalised at this generation
  (``plait__finalised_generation``): finalising the same generation twice changes nothing;
- the object's bytes are streamed through BLAKE3 (memory bounded by the chunk size, whatever the
  object's size); its ``plait__*`` metadata is completed (an id if it has none, the hash, the
  generation it was finalised at), keeping any id, tags and labels the uploader set. If a
  ``plait__hash`` the uploader set disagrees with the bytes, the bytes win and a warning is logged;
- the metadata is written only if the object is still at that generation (a precondition), so a
  newer upload is never stamped with an older hash;
- the object's directory gets a ``.plait`` dataset document if it has none (created only if
  absent), so a dataset uploaded with any tool keeps one stable id.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from plait import __version__, hashing
from plait.cloud.events.eventarc import ObjectFinalized
from plait.cloud.service.intake import Outcome
from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import CloudObjectNotFound, PreconditionFailed

logger = logging.getLogger(__name__)


def finalise_object(finalized: ObjectFinalized, service: Any) -> Outcome:
    """Hash a new object and complete its metadata (see the module docstring).

    :raise plait.exceptions.ServiceUnavailable: on a transient failure (the event will be redelivered)
    """
    cloud_path = storage_path.generate_gs_path(finalized.bucket, finalized.name)
    if storage_path.is_metadata_object_name(finalized.name):
        return Outcome("skipped", detail=f"{cloud_path} is plait metadata")
    if finalized.bucket != service.settings.datasets_bucket:
        return Outcome("skipped", detail=f"{cloud_path} is not in the datasets bucket")

    storage = GoogleCloudStorageClient()
    current = storage.get_metadata(cloud_path)
    if current is None:
        return Outcome("skipped", detail=f"{cloud_path} no longer exists")
    if str(current.generation) != finalized.generation:
        return Outcome("skipped", detail=f"{cloud_path} is now at generation {current.generation}")
    metadata = current.custom_metadata
    if str(metadata.get("plait__finalised_generation")) == finalized.generation:
        return Outcome("already_finalised", detail=cloud_path)

    hasher = hashing.StreamingHasher()
    try:
        storage.download_to_stream(cloud_path, hasher, generation=int(finalized.generation))
    except CloudObjectNotFound:
        return Outcome("skipped", detail=f"{cloud_path} generation {finalized.generation} was replaced or deleted")
    hash_value = hasher.value()

    if metadata.get("plait__hash") and metadata["plait__hash"] != hash_value:
        logger.warning(
            "%s was uploaded with plait__hash %s but its bytes hash to %s; recording the bytes' hash.",
            cloud_path,
            metadata["plait__hash"],
            hash_value,
        )
    completed = {key: value for key, value in metadata.items() if key.startswith("plait__")}
    completed.setdefault("plait__id", str(uuid.uuid4()))
    completed.setdefault("plait__tags", {})
    completed.setdefault("plait__labels", [])
    completed.setdefault("plait__timestamp", None)
    completed["plait__hash"] = hash_value
    completed["plait__sdk_version"] = __version__
    completed["plait__finalised_generation"] = finalized.generation

    try:
        storage.overwrite_custom_metadata(cloud_path, completed, if_generation_match=int(finalized.generation))
    except (PreconditionFailed, CloudObjectNotFound):
        return Outcome("skipped", detail=f"{cloud_path} changed while it was being hashed")

    _ensure_dataset_document(storage, finalized)
    logger.info("Finalised %s (generation %s): %s", cloud_path, finalized.generation, hash_value)
    return Outcome("finalised", detail=f"{cloud_path} {hash_value}")


def _ensure_dataset_document(storage: GoogleCloudStorageClient, finalized: ObjectFinalized) -> None:
    directory = finalized.name.rpartition("/")[0]
    if not directory:
        return
    document_path = storage_path.generate_gs_path(finalized.bucket, directory, storage_path.METADATA_FILENAME)
    document = {
        "dataset": {
            "id": str(uuid.uuid4()),
            "name": directory.rpartition("/")[2],
            "tags": {},
            "labels": [],
            "sdk_version": __version__,
        }
    }
    try:
        storage.upload_from_string(json.dumps(document, indent=2), document_path, if_generation_match=0)
    except PreconditionFailed:
        pass  # it has one already: keep it
