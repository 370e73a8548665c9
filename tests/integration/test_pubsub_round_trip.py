"""Full question round trips through the official Pub/Sub emulator: the four functions served by
functions-framework on 127.0.0.1, push subscriptions from the questions and analyses topics to
them, the parent subscribed to the answers topic, and the embedded storage emulator.

These run in CI (the ``pubsub_emulator`` fixture fails there if the emulator is missing)."""

from __future__ import annotations

import json
import shutil
import time
import uuid

import pytest

from plait.cloud.emulators.local_stack import SERVICE_BUCKET, LocalStack
from plait.cloud.events import encode_event, make_attributes
from plait.cloud.events.messages import PARENT
from plait.cloud.questions import QuestionStore
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.cloud.storage.path import is_metadata_object_name
from plait.cloud.transport.pubsub import GooglePubSubTransport
from plait.exceptions import InvalidValuesContents
from plait.hashing import hash_file
from plait.resources import Dataset, Manifest

EXAMPLES = pytest.importorskip("plait.examples").__path__[0]


@pytest.fixture(scope="module")
def shear_stack(pubsub_emulator, tmp_path_factory):
    directory = tmp_path_factory.mktemp("services") / "wind-shear"
    shutil.copytree(f"{EXAMPLES}/wind-shear", directory)
    with LocalStack(str(directory), mode="http", messaging="pubsub", heartbeat_interval=1) as stack:
        yield stack, directory


def test_question_with_datasets_round_trips_through_the_pubsub_emulator(shear_stack):
    stack, directory = shear_stack
    local = Dataset(path=str(directory / "data" / "met_mast"))
    input_path = f"gs://{stack.datasets_bucket}/inputs/{uuid.uuid4().hex}/met_mast"
    local.upload(input_path)
    monitor_messages = []

    answer = stack.child().ask(
        input_values={"minimum_speed_m_s": 0.5},
        input_manifest=Manifest(datasets={"met_mast": input_path}),
        handle_monitor_message=monitor_messages.append,
        timeout=120,
        maximum_heartbeat_interval=30,
    )

    assert answer["output_values"]["shear_exponent"] == pytest.approx(0.125, abs=0.01)
    assert answer["output_values"]["heights_m"] == [40, 60, 80, 100, 120]
    assert [message["progress"] for message in monitor_messages if "progress" in message] == [0.2, 0.4, 0.6, 0.8, 1.0]
    profile = answer["output_manifest"].get_dataset("wind_profile")
    assert profile.is_read_only  # opened from its signed URL
    assert sorted(file.tags["kind"] for file in profile.files) == ["fitted_profile", "measured_profile"]
    for file in profile.files:
        assert file.hash_value == hash_file(file.local_path)


def test_input_files_are_finalised_with_the_hash_of_their_bytes(shear_stack):
    stack, directory = shear_stack
    local = Dataset(path=str(directory / "data" / "met_mast"))
    input_path = f"gs://{stack.datasets_bucket}/inputs/{uuid.uuid4().hex}/met_mast"
    local.upload(input_path, update_cloud_metadata=False)  # no plait__hash from the uploader: finalisation adds it
    storage = GoogleCloudStorageClient()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        objects = [item for item in storage.list_objects(input_path) if not is_metadata_object_name(item.cloud_path)]
        if all("plait__finalised_generation" in item.custom_metadata for item in objects):
            break
        time.sleep(0.1)

    by_name = {item.cloud_path.rsplit("/", 1)[1]: item.custom_metadata for item in objects}
    assert sorted(by_name) == sorted(file.name for file in local.files)
    for file in local.files:
        assert by_name[file.name]["plait__hash"] == file.hash_value


def test_invalid_inputs_are_answered_with_the_twine_error(shear_stack):
    stack, _ = shear_stack

    with pytest.raises(InvalidValuesContents, match=r"minimum_speed_m_s") as caught:
        stack.child().ask(input_values={"minimum_speed_m_s": -1}, timeout=60, maximum_heartbeat_interval=30)

    assert "Remote traceback" in str(caught.value)


def test_a_question_published_twice_is_answered_once(shear_stack):
    stack, directory = shear_stack
    input_path = f"gs://{stack.datasets_bucket}/inputs/{uuid.uuid4().hex}/met_mast"
    Dataset(path=str(directory / "data" / "met_mast")).upload(input_path)
    question_uuid = str(uuid.uuid4())
    attributes = make_attributes(
        "question", question_uuid, "test/parent", PARENT, stack.sruid, stack.revision.answers_topic
    )
    event = {
        "kind": "question",
        "input_values": None,
        "input_manifest": Manifest(datasets={"met_mast": input_path}).to_primitive(),
        "children": None,
        "forward_logs": False,
        "save_diagnostics": "SAVE_DIAGNOSTICS_OFF",
    }
    transport = GooglePubSubTransport.shared("plait-local")

    with transport.subscribe(stack.revision.answers_topic, question_uuid) as subscription:
        for _ in range(2):
            transport.publish(
                stack.revision.questions_topic, encode_event(event, attributes), attributes, question_uuid
            )
        answers = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not answers:
            message = subscription.receive(timeout=1)
            if message is not None and message.attributes["kind"] == "result":
                answers.add(message.attributes["uuid"])
        time.sleep(2)  # give a second (wrong) answer time to arrive
        while (message := subscription.receive(timeout=0.5)) is not None:
            if message.attributes["kind"] in ("result", "exception"):
                answers.add(message.attributes["uuid"])

    assert len(answers) == 1
    recorded = QuestionStore(SERVICE_BUCKET).get_answer(question_uuid)
    assert len(recorded) == 1 and recorded[0]["event"]["kind"] == "result"
    assert json.loads(json.dumps(recorded[0]["event"]["output_values"]))["heights_m"] == [40, 60, 80, 100, 120]
