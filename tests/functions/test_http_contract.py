"""Contract tests of the four Cloud Functions over HTTP.

Each function runs under functions-framework on the local stack (``conftest.py``) and is sent what
Eventarc sends: Pub/Sub ``messagePublished`` and GCS ``object.finalized`` CloudEvents, in binary and
structured mode, built with the ``cloudevents`` library (directly, field by field, and through
plait's builders), or a plain Pub/Sub push. The tests check the response and what each function
published or wrote.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
import requests
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from plait import hashing
from plait.cloud.emulators.local_stack import SERVICE_BUCKET
from plait.cloud.events import CHILD, deterministic_event_uuid
from plait.cloud.questions import QuestionStore
from plait.resources import Dataset, Manifest

PROJECT = "plait-local"


def eventarc_pubsub_event(topic: str, data: bytes, attributes: dict) -> CloudEvent:
    """A ``messagePublished`` CloudEvent built field by field as Eventarc sends it."""
    message_id = str(uuid.uuid4().int)[:16]
    published = "2024-05-01T12:00:00.123Z"
    return CloudEvent(
        {
            "specversion": "1.0",
            "id": message_id,
            "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/{topic}",
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "datacontenttype": "application/json",
            "time": published,
        },
        {
            "message": {
                "data": base64.b64encode(data).decode("ascii"),
                "attributes": attributes,
                "messageId": message_id,
                "publishTime": published,
            },
            "subscription": f"projects/{PROJECT}/subscriptions/eventarc-{topic}-sub",
        },
    )


def eventarc_storage_event(bucket: str, name: str, generation: int, size: int) -> CloudEvent:
    """A ``storage.object.v1.finalized`` CloudEvent built field by field as Eventarc sends it."""
    now = "2024-05-01T12:00:00.123Z"
    return CloudEvent(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4().int)[:16],
            "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            "type": "google.cloud.storage.object.v1.finalized",
            "subject": f"objects/{name}",
            "datacontenttype": "application/json",
            "time": now,
        },
        {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{generation}",
            "name": name,
            "bucket": bucket,
            "generation": str(generation),
            "metageneration": "1",
            "contentType": "text/csv",
            "timeCreated": now,
            "updated": now,
            "storageClass": "STANDARD",
            "size": str(size),
        },
    )


def as_http(cloud_event: CloudEvent, structured: bool) -> tuple[dict[str, str], bytes]:
    headers, body = to_structured(cloud_event) if structured else to_binary(cloud_event)
    return dict(headers), body if isinstance(body, bytes) else body.encode()


def receive_kinds(subscription, until: str, timeout: float = 15) -> list:
    """Messages from a subscription up to and including the first of kind ``until``."""
    received, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = subscription.receive(timeout=0.1)
        if message is None:
            continue
        received.append(message)
        if message.attributes["kind"] == until:
            return received
    raise AssertionError(f"No {until!r} event within {timeout} s; received {[m.attributes['kind'] for m in received]}")


# -- question intake --


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_intake_acknowledges_and_dispatches_a_valid_question(stack, harness, mode):
    data, attributes = harness.valid_message()
    question_uuid = attributes["question_uuid"]
    headers, body = as_http(
        eventarc_pubsub_event(stack.revision.questions_topic, data, attributes), structured=mode == "structured"
    )

    with (
        stack.bus.subscribe(stack.revision.answers_topic, question_uuid) as answers,
        stack.bus.subscribe(stack.revision.analyses_topic, question_uuid) as analyses,
    ):
        response = harness.post("question_intake", headers, body)

        assert response.status_code == 200
        assert response.json()["action"] == "dispatched"
        assert response.json()["question_uuid"] == question_uuid

        acknowledgement = answers.receive(timeout=5)
        assert acknowledgement.attributes["kind"] == "delivery_acknowledgement"
        assert acknowledgement.attributes["uuid"] == deterministic_event_uuid(question_uuid, "delivery_acknowledgement")
        assert acknowledgement.attributes["sender"] == stack.sruid
        assert acknowledgement.attributes["sender_type"] == CHILD
        assert acknowledgement.attributes["recipient"] == harness.parent_sruid

        dispatched = analyses.receive(timeout=5)
        assert dispatched.data == data
        assert dispatched.attributes == attributes
        assert dispatched.ordering_key == question_uuid

        # The stack's own analysis runner answers the dispatched question.
        result = receive_kinds(answers, until="result")[-1]
        assert json.loads(result.data)["output_values"]["count"] == 3


def test_intake_accepts_a_plain_pubsub_push(stack, harness):
    data, attributes = harness.valid_message()
    body = json.dumps(
        {
            "message": {
                "data": base64.b64encode(data).decode(),
                "attributes": attributes,
                "messageId": "1234",
                "publishTime": "2024-05-01T12:00:00Z",
            },
            "subscription": f"projects/{PROJECT}/subscriptions/push",
        }
    ).encode()

    response = harness.post("question_intake", {"Content-Type": "application/json"}, body)

    assert response.status_code == 200
    assert response.json()["action"] == "dispatched"
    assert harness.published_for(attributes["question_uuid"], "delivery_acknowledgement")


def test_the_same_question_delivered_twice_is_recorded_once(stack, harness):
    data, attributes = harness.valid_message()
    question_uuid = attributes["question_uuid"]
    headers, body = harness.pubsub_request(data, attributes)
    store = QuestionStore(SERVICE_BUCKET)
    record_path = f"gs://{SERVICE_BUCKET}/questions/{question_uuid}/question.json"

    first = harness.post("question_intake", headers, body)
    recorded = store.get_question(question_uuid)
    generation = harness.storage.get_metadata(record_path).generation
    second = harness.post("question_intake", headers, body)

    assert [first.status_code, second.status_code] == [200, 200]
    assert [first.json()["action"], second.json()["action"]] == ["dispatched", "dispatched"]
    assert store.get_question(question_uuid) == recorded
    assert harness.storage.get_metadata(record_path).generation == generation
    acknowledgements = harness.published_for(question_uuid, "delivery_acknowledgement")
    assert len(acknowledgements) == 2
    assert len({message.attributes["uuid"] for message in acknowledgements}) == 1
    assert not harness.published_for(question_uuid, "exception")


def test_a_question_uuid_reused_for_a_different_question_is_refused(stack, harness):
    question_uuid = str(uuid.uuid4())
    data, attributes = harness.valid_message(question_uuid)
    other_data, other_attributes = harness.valid_message(question_uuid, input_values={"height_m": 2, "speeds_m_s": [1]})

    first = harness.post("question_intake", *harness.pubsub_request(data, attributes))
    second = harness.post("question_intake", *harness.pubsub_request(other_data, other_attributes))

    assert first.json()["action"] == "dispatched"
    assert second.status_code == 200
    assert second.json()["action"] == "rejected"
    assert "QuestionConflict" in second.json()["detail"]
    [exception] = harness.published_for(question_uuid, "exception")
    assert exception.topic == stack.revision.answers_topic
    assert exception.event["exception_type"] == "plait.exceptions.QuestionConflict"
    assert QuestionStore(SERVICE_BUCKET).get_question(question_uuid).event["input_values"]["height_m"] == 10


# -- analysis runner --


def test_the_runner_answers_a_question_once_and_republishes_the_same_answer(stack, harness):
    data, attributes = harness.valid_message()
    question_uuid = attributes["question_uuid"]
    headers, body = harness.pubsub_request(data, attributes, topic=stack.revision.analyses_topic)

    first = harness.post("analysis_runner", headers, body)

    assert first.status_code == 200
    assert first.json() == {"action": "answered", "question_uuid": question_uuid, "detail": "result"}
    [result] = harness.published_for(question_uuid, "result")
    assert result.topic == stack.revision.answers_topic
    assert result.event["output_values"]["count"] == 3
    assert result.event["output_values"]["mean_m_s"] == pytest.approx(5.2)
    assert harness.published_for(question_uuid, "heartbeat")

    again = harness.post("analysis_runner", headers, body)

    assert again.status_code == 200
    assert again.json()["action"] == "answer_republished"
    first_result, republished = harness.published_for(question_uuid, "result")
    assert republished.attributes["uuid"] == first_result.attributes["uuid"]
    assert republished.event == first_result.event
    assert not harness.published_for(question_uuid, "exception")


# -- dataset finalisation --


def test_finalisation_hashes_an_upload_and_a_redelivery_changes_nothing(stack, harness):
    name = f"contract/{uuid.uuid4().hex}/measurements.csv"
    content = b"time,speed\n0,4.2\n1,5.1\n"
    generation = harness.upload(name, content, metadata={"plait__tags": {"site": "north"}})

    finalised = harness.wait_until_finalised(name, generation)
    response = harness.post(
        "dataset_finalisation", *harness.finalized_request(stack.datasets_bucket, name, generation, len(content))
    )

    assert finalised["plait__hash"] == hashing.hash_bytes(content)
    assert finalised["plait__tags"] == {"site": "north"}
    assert response.status_code == 200
    assert response.json()["action"] == "already_finalised"
    assert harness.custom_metadata(name) == finalised
    directory = name.rpartition("/")[0]
    assert harness.custom_metadata(f"{directory}/.plait") is not None


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_finalisation_finalises_an_object_from_an_eventarc_storage_event(stack, harness, mode):
    name = f"contract/{uuid.uuid4().hex}/profile.csv"
    content = b"height,speed\n10,4.2\n100,6.0\n"
    generation = harness.upload_unfinalised(name, content)
    headers, body = as_http(
        eventarc_storage_event(stack.datasets_bucket, name, generation, len(content)), structured=mode == "structured"
    )

    response = harness.post("dataset_finalisation", headers, body)

    assert response.status_code == 200
    assert response.json()["action"] == "finalised"
    metadata = harness.custom_metadata(name)
    assert metadata["plait__hash"] == hashing.hash_bytes(content)
    assert metadata["plait__finalised_generation"] == str(generation)


@pytest.mark.parametrize("leaf", [".plait", ".signed_metadata_files/3f2b.json"])
def test_finalisation_skips_plait_metadata_objects(stack, harness, leaf):
    name = f"contract/{uuid.uuid4().hex}/{leaf}"
    generation = harness.upload(name, b'{"dataset": {}}')

    response = harness.post("dataset_finalisation", *harness.finalized_request(stack.datasets_bucket, name, generation))

    assert response.status_code == 200
    assert response.json()["action"] == "skipped"
    assert "plait__hash" not in harness.custom_metadata(name)


def test_an_event_for_an_old_generation_is_skipped(stack, harness):
    name = f"contract/{uuid.uuid4().hex}/replaced.csv"
    old = harness.upload(name, b"old bytes")
    new = harness.upload(name, b"new bytes")
    finalised = harness.wait_until_finalised(name, new)

    response = harness.post("dataset_finalisation", *harness.finalized_request(stack.datasets_bucket, name, old, 9))

    assert response.status_code == 200
    assert response.json()["action"] == "skipped"
    assert harness.custom_metadata(name) == finalised
    assert finalised["plait__hash"] == hashing.hash_bytes(b"new bytes")


def test_the_metadata_finalisation_writes_never_triggers_another_finalisation(stack, harness):
    directory = f"contract/{uuid.uuid4().hex}"
    names = [f"{directory}/a.csv", f"{directory}/b.csv", f"{directory}/nested/c.csv"]
    generations = {name: harness.upload(name, name.encode()) for name in names}
    for name, generation in generations.items():
        harness.wait_until_finalised(name, generation)
    time.sleep(0.5)  # room for any event the finalisations' own writes would cause

    prefix = f"gs://{stack.datasets_bucket}/{directory}/"
    deliveries = [
        (description, status)
        for endpoint, description, status in list(stack.bus.delivery_log)
        if endpoint == "dataset-finalisation" and description.startswith(prefix)
    ]
    objects = sorted(description[len(prefix) :].partition("#")[0] for description, _ in deliveries)

    # One delivery per upload, and one per dataset document finalisation created (skipped): no loop.
    assert objects == [".plait", "a.csv", "b.csv", "nested/.plait", "nested/c.csv"]
    assert all(status == 200 for _, status in deliveries)


# -- signed URLs --


@pytest.fixture(scope="module")
def signable(running_stack, tmp_path_factory):
    """A datafile, a dataset and a manifest in the datasets bucket."""
    stack, _ = running_stack
    root = f"gs://{stack.datasets_bucket}/signing/{uuid.uuid4().hex}"
    local = tmp_path_factory.mktemp("wind-dataset")
    (local / "speeds.csv").write_bytes(b"speed\n4.2\n5.1\n")
    (local / "heights.csv").write_bytes(b"height\n10\n")
    dataset = Dataset(path=str(local))
    dataset.upload(f"{root}/wind")
    manifest_path = f"{root}/manifest.json"
    Manifest(datasets={"wind": dataset}).to_cloud(manifest_path)
    datafile_path = f"{root}/wind/speeds.csv"
    return {
        "datafile": datafile_path,
        "dataset": f"{root}/wind",
        "manifest": manifest_path,
        "bytes": {"speeds.csv": b"speed\n4.2\n5.1\n", "heights.csv": b"height\n10\n"},
    }


def sign(stack, method: str, fields: dict) -> requests.Response:
    if method == "GET":
        return requests.get(stack.urls["signed_urls"], params=fields, timeout=30)
    return requests.post(stack.urls["signed_urls"], json=fields, timeout=30)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signed_url_for_a_datafile_downloads_its_bytes(stack, signable, method):
    response = sign(stack, method, {"path": signable["datafile"], "expiration": "3600"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["path"] == signable["datafile"]
    assert body["kind"] == "datafile"
    assert body["expires_in"] == 3600
    assert "X-Goog-Signature=" in body["url"]
    assert requests.get(body["url"], timeout=30).content == signable["bytes"]["speeds.csv"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signed_url_for_a_dataset_reopens_it(stack, signable, method):
    response = sign(stack, method, {"path": signable["dataset"], "kind": "dataset"})

    assert response.status_code == 200
    assert response.json()["expires_in"] == 7 * 24 * 3600
    reopened = Dataset(path=response.json()["url"])
    assert reopened.is_read_only
    assert sorted(file.name for file in reopened.files) == ["heights.csv", "speeds.csv"]
    for file in reopened.files:
        assert file.hash_value == hashing.hash_bytes(signable["bytes"][file.name])
        assert requests.get(file.path, timeout=30).content == signable["bytes"][file.name]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signed_url_for_a_manifest_signs_its_datasets(stack, signable, method):
    response = sign(stack, method, {"path": signable["manifest"], "kind": "manifest"})

    assert response.status_code == 200
    body = response.json()
    assert set(body["manifest"]["datasets"]) == {"wind"}
    reopened = Dataset(path=body["manifest"]["datasets"]["wind"])
    assert sorted(file.name for file in reopened.files) == ["heights.csv", "speeds.csv"]
    stored = requests.get(body["url"], timeout=30).json()
    assert stored["datasets"] == {"wind": signable["dataset"]}
