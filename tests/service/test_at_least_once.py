"""At-least-once delivery: however often (and however concurrently) a question or a storage event is
delivered, the app runs once, the parent gets one answer and an object generation is finalised once;
a runner that died mid-run holds its claim only until its lease expires."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from plait.cloud.emulators.local_stack import DATASETS_BUCKET, SERVICE_BUCKET
from plait.cloud.events.eventarc import ObjectFinalized
from plait.cloud.questions import QuestionStore
from plait.cloud.service.context import get_service_context
from plait.cloud.service.finalisation import finalise_object
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import QuestionConflict
from plait.hashing import hash_bytes

RUNNER = "analysis-runner"
INTAKE = "question-intake"


@pytest.fixture
def counter_stack(stacks):
    return stacks.get("counter", mode="in_process", heartbeat_interval=0.5)


@pytest.fixture
def counter_file(tmp_path):
    path = tmp_path / "runs.txt"
    path.touch()
    return path


def runs(counter_file) -> list[str]:
    return counter_file.read_text().split()


def statuses(bus, endpoint: str, message_ids) -> dict[str, list]:
    """The status of every delivery attempt of each message to the endpoint, in order."""
    found = {message_id: [] for message_id in message_ids}
    for name, description, status in list(bus.delivery_log):
        message_id = description.rpartition(" message ")[2]
        if name == endpoint and message_id in found:
            found[message_id].append(status)
    return found


def all_acknowledged(bus, endpoint: str, message_ids):
    """A condition: every message was finally delivered with a 2xx (the handler is done with it)."""

    def condition():
        return all(attempts and attempts[-1] == 200 for attempts in statuses(bus, endpoint, message_ids).values())

    return condition


def publish_concurrently(bus, topic: str, data: bytes, attributes: dict, copies: int) -> list[str]:
    """Publish the same message from ``copies`` threads at once, without an ordering key (so the bus
    delivers the copies concurrently, as Pub/Sub may)."""
    barrier = threading.Barrier(copies)
    message_ids = []

    def publish():
        barrier.wait()
        message_ids.append(bus.publish(topic, data, attributes, ordering_key=None))

    threads = [threading.Thread(target=publish) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return message_ids


def distinct_uuids(events, kind: str) -> set[str]:
    return {attributes["uuid"] for event, attributes in events if event["kind"] == kind}


def test_a_question_delivered_five_times_in_turn_runs_the_app_once_and_gives_one_answer(
    counter_stack, counter_file, make_question, drain_events, question_store, waiter
):
    bus = counter_stack.bus
    data, attributes = make_question(counter_stack, {"counter_file": str(counter_file)})
    question_uuid = attributes["question_uuid"]

    with bus.subscribe(counter_stack.revision.answers_topic, question_uuid) as subscription:
        message_ids = [
            bus.publish(counter_stack.revision.analyses_topic, data, attributes, ordering_key=question_uuid)
            for _ in range(5)
        ]
        waiter(all_acknowledged(bus, RUNNER, message_ids))
        events = drain_events(subscription)

    assert runs(counter_file) == [question_uuid]
    results = distinct_uuids(events, "result")
    assert len(results) == 1
    # The four redeliveries after the answer was recorded each published that same answer again.
    assert sum(event["kind"] == "result" for event, _ in events) == 5
    assert distinct_uuids(events, "exception") == set()
    answer = question_store(counter_stack).get_answer(question_uuid)
    assert [message["attributes"]["uuid"] for message in answer] == list(results)
    assert answer[0]["event"]["output_values"] == {"question_uuid": question_uuid}


def test_a_question_delivered_five_times_at_once_runs_the_app_once_and_gives_one_answer(
    counter_stack, counter_file, make_question, drain_events, question_store, waiter
):
    bus = counter_stack.bus
    data, attributes = make_question(counter_stack, {"counter_file": str(counter_file), "sleep_s": 0.5})
    question_uuid = attributes["question_uuid"]

    with bus.subscribe(counter_stack.revision.answers_topic, question_uuid) as subscription:
        message_ids = publish_concurrently(bus, counter_stack.revision.analyses_topic, data, attributes, copies=5)
        waiter(all_acknowledged(bus, RUNNER, message_ids))
        events = drain_events(subscription)

    assert runs(counter_file) == [question_uuid]
    attempts = statuses(bus, RUNNER, message_ids)
    # While the one runner that claimed the question ran it, the other copies were told to come back later.
    assert sum(status == 429 for each in attempts.values() for status in each) >= 1, attempts
    assert len(distinct_uuids(events, "result")) == 1
    assert distinct_uuids(events, "exception") == set()
    answer = question_store(counter_stack).get_answer(question_uuid)
    assert len(answer) == 1 and answer[0]["event"]["kind"] == "result"


def test_a_question_delivered_three_times_to_intake_is_acknowledged_and_run_once(
    counter_stack, counter_file, make_question, drain_events, question_store, waiter
):
    bus = counter_stack.bus
    data, attributes = make_question(counter_stack, {"counter_file": str(counter_file), "sleep_s": 0.2})
    question_uuid = attributes["question_uuid"]

    with bus.subscribe(counter_stack.revision.answers_topic, question_uuid) as subscription:
        message_ids = publish_concurrently(bus, counter_stack.revision.questions_topic, data, attributes, copies=3)
        waiter(all_acknowledged(bus, INTAKE, message_ids))
        waiter(lambda: question_store(counter_stack).get_answer(question_uuid))
        events = drain_events(subscription, quiet=1)

    assert runs(counter_file) == [question_uuid]
    assert len(distinct_uuids(events, "delivery_acknowledgement")) == 1
    assert len(distinct_uuids(events, "result")) == 1
    assert question_store(counter_stack).get_question(question_uuid).event["input_values"]["sleep_s"] == 0.2
    assert len(question_store(counter_stack).get_answer(question_uuid)) == 1


def test_a_question_uuid_reused_for_a_different_question_is_refused(counter_stack, counter_file):
    child = counter_stack.child()
    question_uuid = str(uuid.uuid4())
    child.ask(input_values={"counter_file": str(counter_file)}, question_uuid=question_uuid, timeout=20)

    with pytest.raises(QuestionConflict, match=question_uuid):
        child.ask(
            input_values={"counter_file": str(counter_file), "sleep_s": 0}, question_uuid=question_uuid, timeout=20
        )

    assert runs(counter_file) == [question_uuid]


@pytest.fixture
def short_lease_stack(stacks, monkeypatch):
    """A stack whose runners' claims last 2 s, and whose bus keeps redelivering every 0.25 s for longer."""
    stack = stacks.get("counter", mode="in_process", heartbeat_interval=0.5, claim_lease_seconds=2)
    monkeypatch.setattr(stack.bus, "maximum_delivery_attempts", 40)
    monkeypatch.setattr(stack.bus, "maximum_backoff", 0.25)
    return stack


def test_a_question_whose_runner_died_mid_run_is_run_again_once_its_claim_expires(
    short_lease_stack, counter_file, question_store, waiter
):
    stack = short_lease_stack
    question_uuid = str(uuid.uuid4())
    # A runner took the question and died without answering it or releasing its claim.
    dead_claim = question_store(stack).claim(question_uuid, owner="dead-runner")
    claimed_at = time.monotonic()

    answer = stack.child().ask(
        input_values={"counter_file": str(counter_file)}, question_uuid=question_uuid, timeout=20
    )

    answered_after = time.monotonic() - claimed_at
    assert answer["output_values"] == {"question_uuid": question_uuid}
    assert runs(counter_file) == [question_uuid]
    assert answered_after >= stack.claim_lease_seconds - 0.2, "the question was run while the dead runner's lease lived"

    # The runner answers 429 ("in progress elsewhere") until the lease expires, then runs the question.
    runner_attempts = waiter(
        lambda: (
            (attempts := [status for name, _, status in list(stack.bus.delivery_log) if name == RUNNER])
            and attempts[-1] == 200
            and attempts
        )
    )
    assert runner_attempts[0] == 429
    assert set(runner_attempts) == {429, 200}
    assert stack.bus.dead_letters == []
    # The runner that took the claim over released it once the answer was recorded.
    waiter(lambda: question_store(stack).get_claim(question_uuid) is None)
    assert dead_claim.owner == "dead-runner"


def test_an_expired_claim_is_taken_over_by_exactly_one_of_several_concurrent_runners(
    short_lease_stack, counter_file, make_question, drain_events, question_store, waiter
):
    stack = short_lease_stack
    data, attributes = make_question(stack, {"counter_file": str(counter_file), "sleep_s": 0.5})
    question_uuid = attributes["question_uuid"]
    QuestionStore(SERVICE_BUCKET, lease_seconds=0.2).claim(question_uuid, owner="dead-runner")
    time.sleep(0.3)  # the dead runner's lease has expired

    with stack.bus.subscribe(stack.revision.answers_topic, question_uuid) as subscription:
        message_ids = publish_concurrently(stack.bus, stack.revision.analyses_topic, data, attributes, copies=5)
        waiter(all_acknowledged(stack.bus, RUNNER, message_ids))
        events = drain_events(subscription)

    assert runs(counter_file) == [question_uuid]
    assert len(distinct_uuids(events, "result")) == 1
    assert len(question_store(stack).get_answer(question_uuid)) == 1


def blob(cloud_path: str):
    bucket_name, _, name = cloud_path.removeprefix("gs://").partition("/")
    return GoogleCloudStorageClient().client.bucket(bucket_name).get_blob(name)


def test_finalising_the_same_object_generation_again_changes_nothing(counter_stack, waiter):
    storage = GoogleCloudStorageClient()
    name = f"finalisation/{uuid.uuid4().hex}/readings.csv"
    cloud_path = f"gs://{DATASETS_BUCKET}/{name}"
    first = storage.upload_from_string(b"height_m,speed_m_s\n80,7.5\n", cloud_path)
    generation = str(first.generation)

    # The upload itself triggered finalisation.
    waiter(lambda: storage.get_metadata(cloud_path).custom_metadata.get("plait__finalised_generation") == generation)
    finalised = blob(cloud_path)
    metadata, metageneration = dict(finalised.metadata), finalised.metageneration

    # The same event delivered twice more through the trigger, then handled once more directly.
    description = f"gs://{DATASETS_BUCKET}/{name}#{generation}"
    for _ in range(2):
        counter_stack.bus.object_finalized(DATASETS_BUCKET, name, generation)
    waiter(lambda: [entry[2] for entry in list(counter_stack.bus.delivery_log) if entry[1] == description] == [200] * 3)
    outcome = finalise_object(
        ObjectFinalized(DATASETS_BUCKET, name, generation, None, None, None), get_service_context()
    )

    assert outcome.action == "already_finalised"
    again = blob(cloud_path)
    assert again.metadata == metadata
    assert again.metageneration == metageneration
    assert storage.get_metadata(cloud_path).custom_metadata["plait__hash"] == hash_bytes(
        b"height_m,speed_m_s\n80,7.5\n"
    )


def test_a_new_generation_of_an_object_is_finalised_again_and_an_old_one_is_skipped(counter_stack, waiter):
    storage = GoogleCloudStorageClient()
    name = f"finalisation/{uuid.uuid4().hex}/readings.csv"
    cloud_path = f"gs://{DATASETS_BUCKET}/{name}"
    old = str(storage.upload_from_string(b"old bytes", cloud_path).generation)
    waiter(lambda: storage.get_metadata(cloud_path).custom_metadata.get("plait__finalised_generation") == old)

    new = str(storage.upload_from_string(b"new bytes", cloud_path).generation)

    waiter(lambda: storage.get_metadata(cloud_path).custom_metadata.get("plait__finalised_generation") == new)
    assert new != old
    assert storage.get_metadata(cloud_path).custom_metadata["plait__hash"] == hash_bytes(b"new bytes")
    stale = finalise_object(ObjectFinalized(DATASETS_BUCKET, name, old, None, None, None), get_service_context())
    assert stale.action == "skipped"
    assert storage.get_metadata(cloud_path).custom_metadata["plait__hash"] == hash_bytes(b"new bytes")


def test_a_runner_whose_claim_was_taken_over_stops_without_answering(
    stacks, tmp_path, make_question, drain_events, question_store, waiter
):
    stack = stacks.get("slow", mode="in_process", heartbeat_interval=0.2)
    progress_file = tmp_path / "progress.txt"
    data, attributes = make_question(stack, {"progress_file": str(progress_file), "seconds": 5})
    question_uuid = attributes["question_uuid"]

    with stack.bus.subscribe(stack.revision.answers_topic, question_uuid) as subscription:
        message_id = stack.bus.publish(stack.revision.analyses_topic, data, attributes, ordering_key=question_uuid)
        waiter(progress_file.exists)
        # The runner was presumed dead (say its renewals stalled past its lease) and another took over.
        GoogleCloudStorageClient().delete(f"gs://{SERVICE_BUCKET}/questions/{question_uuid}/claim")
        question_store(stack).claim(question_uuid, owner="the-runner-that-took-over")
        waiter(all_acknowledged(stack.bus, RUNNER, [message_id]), timeout=5)
        stopped_at = len(progress_file.read_text().split())
        time.sleep(0.3)
        events = drain_events(subscription)

    assert len(progress_file.read_text().split()) == stopped_at, "the app kept running"
    assert stopped_at < 5 / 0.05 / 2
    assert [event for event, _ in events if event["kind"] in ("result", "exception")] == []
    assert question_store(stack).get_answer(question_uuid) is None
    assert question_store(stack).get_claim(question_uuid).owner == "the-runner-that-took-over"
