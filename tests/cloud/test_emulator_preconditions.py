"""The embedded storage emulator enforces GCS generation preconditions, atomically, and reports
finalized objects — checked through the real google-cloud-storage client."""

from __future__ import annotations

import threading
import uuid

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from plait.cloud.emulators.storage import install_precondition_checks


@pytest.fixture
def bucket(storage_emulator):
    """A fresh bucket in the session's emulator, through a google-cloud-storage client."""
    name = f"plait-preconditions-{uuid.uuid4().hex[:12]}"
    storage_emulator.create_bucket(name)
    return _client(storage_emulator).bucket(name)


def _client(emulator) -> storage.Client:
    return storage.Client(
        project="plait-local", credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator.url}
    )


def test_creating_an_existing_object_with_if_generation_match_0_is_refused_and_changes_nothing(bucket):
    original = bucket.blob("record.json")
    original.upload_from_string("first", if_generation_match=0)

    with pytest.raises(api_exceptions.PreconditionFailed, match="conditionNotMet"):
        bucket.blob("record.json").upload_from_string("second", if_generation_match=0)

    current = bucket.get_blob("record.json")
    assert current.generation == original.generation
    assert current.download_as_bytes() == b"first"


def test_a_write_conditional_on_the_current_generation_succeeds_and_a_stale_one_is_refused(bucket):
    first = bucket.blob("doc")
    first.upload_from_string("v1", if_generation_match=0)
    second = bucket.blob("doc")
    second.upload_from_string("v2", if_generation_match=first.generation)
    assert second.generation != first.generation

    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("doc").upload_from_string("v3", if_generation_match=first.generation)
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("doc").upload_from_string("v3", if_generation_not_match=second.generation)
    with pytest.raises(api_exceptions.PreconditionFailed):  # an absent object is generation 0
        bucket.blob("absent").upload_from_string("x", if_generation_match=first.generation)

    assert bucket.blob("doc").download_as_bytes() == b"v2"


def test_metageneration_preconditions_apply_to_patches(bucket):
    blob = bucket.blob("patched")
    blob.upload_from_string("data", if_generation_match=0)
    assert blob.metageneration == 1  # as on GCS: a new object starts at metageneration 1

    blob.metadata = {"colour": "blue"}
    blob.patch(if_metageneration_match=1)
    assert blob.metageneration == 2

    stale = bucket.blob("patched")
    stale.metadata = {"colour": "red"}
    with pytest.raises(api_exceptions.PreconditionFailed):
        stale.patch(if_metageneration_match=1)
    with pytest.raises(api_exceptions.PreconditionFailed):
        stale.patch(if_metageneration_not_match=2)
    with pytest.raises(api_exceptions.PreconditionFailed):
        stale.patch(if_generation_match=blob.generation + 1)

    assert bucket.get_blob("patched").metadata == {"colour": "blue"}


def test_deletes_honour_generation_preconditions(bucket):
    blob = bucket.blob("to-delete")
    blob.upload_from_string("data", if_generation_match=0)

    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("to-delete").delete(if_generation_match=blob.generation + 1)
    assert bucket.get_blob("to-delete") is not None

    bucket.blob("to-delete").delete(if_generation_match=blob.generation)
    assert bucket.get_blob("to-delete") is None
    with pytest.raises(api_exceptions.NotFound):  # an absent object is a 404, as on GCS
        bucket.blob("to-delete").delete(if_generation_match=blob.generation)


def test_resumable_uploads_and_copies_honour_preconditions(bucket):
    data = b"r" * (600 * 1024)
    bucket.blob("big", chunk_size=256 * 1024).upload_from_string(data, if_generation_match=0)

    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("big", chunk_size=256 * 1024).upload_from_string(b"other" * 1000, if_generation_match=0)
    assert bucket.blob("big").download_as_bytes() == data

    source = bucket.get_blob("big")
    copied = bucket.copy_blob(source, bucket, "copy", if_generation_match=0)
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.copy_blob(source, bucket, "copy", if_generation_match=0)
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.copy_blob(source, bucket, "copy2", if_source_generation_match=source.generation + 1)
    assert bucket.get_blob("copy").generation == copied.generation


def test_downloads_report_their_generation_and_refuse_a_replaced_one(bucket):
    first = bucket.blob("versioned")
    first.upload_from_string("one", if_generation_match=0)
    reader = bucket.blob("versioned")
    assert reader.download_as_bytes() == b"one"
    assert reader.generation == first.generation  # from the x-goog-generation header

    bucket.blob("versioned").upload_from_string("two", if_generation_match=first.generation)
    with pytest.raises(api_exceptions.NotFound):
        bucket.blob("versioned", generation=first.generation).download_as_bytes()
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("versioned").download_as_bytes(if_generation_match=first.generation)


def test_racing_creations_with_if_generation_match_0_have_exactly_one_winner(storage_emulator, bucket):
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def create(number: int) -> None:
        blob = _client(storage_emulator).bucket(bucket.name).blob("contended")
        barrier.wait()
        try:
            blob.upload_from_string(f"writer {number}", if_generation_match=0)
            outcomes.append(f"won {number}")
        except api_exceptions.PreconditionFailed:
            outcomes.append("lost")

    threads = [threading.Thread(target=create, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [outcome for outcome in outcomes if outcome.startswith("won")]
    assert len(outcomes) == 20
    assert len(winners) == 1
    assert bucket.blob("contended").download_as_text() == f"writer {winners[0].split()[1]}"


def test_object_finalized_callbacks_are_called_once_per_creation(storage_emulator, bucket):
    calls: list[tuple[str, str, str]] = []

    def record(bucket_name: str, name: str, generation: str) -> None:
        if bucket_name == bucket.name:
            calls.append((bucket_name, name, generation))

    def broken(*args: object) -> None:
        raise RuntimeError("a failing callback must not fail the upload")

    storage_emulator.on_object_finalized.extend([broken, record])
    try:
        multipart = bucket.blob("a.json")
        multipart.upload_from_string("{}", if_generation_match=0)
        resumable = bucket.blob("b.bin", chunk_size=256 * 1024)
        resumable.upload_from_string(b"b" * (300 * 1024))
        with pytest.raises(api_exceptions.PreconditionFailed):
            bucket.blob("a.json").upload_from_string("{}", if_generation_match=0)
        multipart.metadata = {"k": "v"}
        multipart.patch()
        copied = bucket.copy_blob(multipart, bucket, "c.json")
        bucket.blob("b.bin").delete()
    finally:
        storage_emulator.on_object_finalized.remove(broken)
        storage_emulator.on_object_finalized.remove(record)

    assert calls == [
        (bucket.name, "a.json", str(multipart.generation)),
        (bucket.name, "b.bin", str(resumable.generation)),
        (bucket.name, "c.json", str(copied.generation)),
    ]


def test_installing_the_checks_again_changes_nothing(storage_emulator):
    from gcp_storage_emulator import server

    installed = server.HANDLERS
    install_precondition_checks()
    assert server.HANDLERS is installed
