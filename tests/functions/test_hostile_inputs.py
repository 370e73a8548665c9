"""Malformed and hostile inputs to the four functions, table by table, each with its expected outcome.

The event functions must acknowledge every permanent error with a 2xx (so Pub/Sub and Eventarc never
redeliver it forever), answer it with an ``exception`` event where a parent can be identified (and
only there: never to a child's event, never onto the service's own topics), and say what they did
in the response's ``action``. The signed-URL function answers 400 for a malformed request, 403
outside its prefixes, 404 for what does not exist and 405 for other methods, always with a JSON
``{"error": {"code", "message"}}`` body.
"""

from __future__ import annotations

import json
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from plait import hashing
from plait.cloud.emulators.local_stack import SERVICE_BUCKET
from plait.cloud.events import CHILD, encode_event
from plait.cloud.questions import QuestionStore
from plait.cloud.storage.client import GoogleCloudStorageClient

INVALID_EVENT = "plait.exceptions.InvalidEvent"
PAYLOAD_TOO_LARGE = "plait.exceptions.PayloadTooLarge"
UNKNOWN_RECIPIENT = "plait.exceptions.UnknownRecipient"
INVALID_VALUES = "plait.exceptions.InvalidValuesContents"
INVALID_MANIFEST = "plait.exceptions.InvalidManifestContents"
QUESTION_CANCELLED = "plait.exceptions.QuestionCancelled"

JSON = {"Content-Type": "application/json"}
STRUCTURED = {"Content-Type": "application/cloudevents+json"}


@dataclass(frozen=True)
class EventCase:
    """A request to an event function and what must come of it."""

    name: str
    #: Builds the request (headers, body) from the harness and a fresh question UUID.
    request: Callable[[Any, str], tuple[dict[str, str], bytes]]
    #: The response's ``action``.
    action: str
    #: The type of the ``exception`` event the parent gets, or None if nobody may be answered.
    exception_type: str | None = None
    #: Text the exception event's message (or, with no exception event, the response's detail) must hold.
    message: str | None = None
    #: How many times the request is delivered.
    deliveries: int = 1
    #: The ``action`` of the deliveries after the first (by default, ``action`` again).
    redelivered_action: str | None = None

    def __str__(self) -> str:
        return self.name


# -- building requests: a valid message for the questions (or analyses) topic, then broken --


def message(
    data: bytes | None = None,
    event: Any = None,
    topic_kind: str = "questions",
    structured: bool = False,
    drop: tuple[str, ...] = (),
    **attribute_overrides: Any,
) -> Callable[[Any, str], tuple[dict[str, str], bytes]]:
    """A Pub/Sub message in an Eventarc CloudEvent: a valid question unless ``data`` or ``event`` say
    otherwise, with attributes changed by ``attribute_overrides`` and ``drop``."""

    def build(harness, question_uuid):
        body_event = harness.question() if event is None else event
        kind = body_event.get("kind", "question") if isinstance(body_event, dict) else "question"
        attributes = harness.attributes(question_uuid, kind=kind if isinstance(kind, str) else "question")
        attributes.update(attribute_overrides)
        for key in drop:
            attributes.pop(key)
        payload = data if data is not None else json.dumps(body_event, ensure_ascii=False).encode()
        return harness.pubsub_request(
            payload, attributes, topic=harness.stack.revision.topic(topic_kind), structured=structured
        )

    return build


def question(**overrides: Any) -> Callable:
    def build(harness, question_uuid):
        return message(event=harness.question(**overrides))(harness, question_uuid)

    return build


def without_header(header: str, builder: Callable | None = None) -> Callable:
    def build(harness, question_uuid):
        headers, body = (builder or message())(harness, question_uuid)
        return {key: value for key, value in headers.items() if key.lower() != header}, body

    return build


def structured_without(field: str, builder: Callable | None = None) -> Callable:
    def build(harness, question_uuid):
        headers, body = (builder or message(structured=True))(harness, question_uuid)
        document = json.loads(body)
        del document[field]
        return headers, json.dumps(document).encode()

    return build


def envelope(transform: Callable[[dict], Any], topic_kind: str = "questions") -> Callable:
    """A binary-mode CloudEvent whose data (the Pub/Sub envelope) is changed by ``transform``."""

    def build(harness, question_uuid):
        headers, body = message(topic_kind=topic_kind)(harness, question_uuid)
        return headers, json.dumps(transform(json.loads(body))).encode()

    return build


def set_message_field(key: str, value: Any) -> Callable[[dict], dict]:
    def transform(document: dict) -> dict:
        document["message"][key] = value
        return document

    return transform


def set_attribute(key: str, value: Any) -> Callable[[dict], dict]:
    def transform(document: dict) -> dict:
        document["message"]["attributes"][key] = value
        return document

    return transform


def raw(headers: dict[str, str], body: bytes) -> Callable:
    return lambda harness, question_uuid: (headers, body)


def storage_event_to(harness, question_uuid):
    return harness.finalized_request(harness.stack.datasets_bucket, f"questions/{question_uuid}.json", 1, 2)


def own_topic(kind: str) -> Callable:
    def build(harness, question_uuid):
        return message(reply_to=harness.stack.revision.topic(kind))(harness, question_uuid)

    return build


def other_revision(harness, question_uuid):
    return message(recipient=harness.stack.sruid.rpartition(":")[0] + ":other-revision")(harness, question_uuid)


def input_values_path(harness, question_uuid):
    """Input values naming a JSON file on the function's machine that satisfies the twine."""
    path = f"{harness.stack.service_directory}/input_values.json"
    return message(event=harness.question(input_values=path))(harness, question_uuid)


def cancelled_first(harness, question_uuid):
    QuestionStore(SERVICE_BUCKET).request_cancellation(question_uuid, "changed my mind")
    return message(topic_kind="analyses")(harness, question_uuid)


def nested(depth: int) -> list:
    return json.loads("[" * depth + "]" * depth)


DEEPLY_NESTED_DATA = (
    b'{"kind":"question","forward_logs":false,"save_diagnostics":"SAVE_DIAGNOSTICS_OFF","input_values":'
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}"
)
OVER_TEN_MB = b'{"kind":"question","padding":"' + b"x" * 10_100_000 + b'"}'
MANIFEST = {"id": str(uuid.uuid4()), "name": None, "datasets": {"wind": "gs://plait-local-datasets/wind"}}
UNICODE_SENDER = "tests/parent:local \u00fcn\u00efc\u00f8d\u00e9 \U0001f32c\ufe0f \u0007\u0000\u202e"


def question_for_analyses(**overrides: Any) -> Callable:
    def build(harness, question_uuid):
        return message(event=harness.question(**overrides), topic_kind="analyses")(harness, question_uuid)

    return build


# Envelope and event failures common to both Pub/Sub-triggered functions (the topic is set per function).
def common_cases(topic_kind: str) -> list[EventCase]:
    def on_topic(**kwargs: Any) -> Callable:
        return message(topic_kind=topic_kind, **kwargs)

    return [
        EventCase("empty body", raw({}, b""), "rejected"),
        EventCase("body not JSON", raw(JSON, b"{this is not json"), "rejected"),
        EventCase("body a JSON array", raw(JSON, b"[]"), "rejected"),
        EventCase(
            "binary CloudEvent without ce-specversion",
            without_header("ce-specversion", on_topic()),
            "rejected",
            INVALID_EVENT,
            "not a valid CloudEvent",
        ),
        EventCase("binary CloudEvent without ce-id", without_header("ce-id", on_topic()), "rejected", INVALID_EVENT),
        EventCase(
            "binary CloudEvent without ce-source", without_header("ce-source", on_topic()), "rejected", INVALID_EVENT
        ),
        EventCase(
            "binary CloudEvent without ce-type", without_header("ce-type", on_topic()), "rejected", INVALID_EVENT
        ),
        EventCase(
            "structured CloudEvent without specversion",
            structured_without("specversion", on_topic(structured=True)),
            "rejected",
            INVALID_EVENT,
        ),
        EventCase("structured CloudEvent not JSON", raw(STRUCTURED, b'{"specversion": "1.0",'), "rejected"),
        EventCase("a storage event instead of a Pub/Sub one", storage_event_to, "rejected"),
        EventCase(
            "CloudEvent data without message", envelope(lambda document: {"subscription": "x"}, topic_kind), "rejected"
        ),
        EventCase(
            "message attributes not an object",
            envelope(set_message_field("attributes", ["question"]), topic_kind),
            "rejected",
        ),
        EventCase(
            "message data not base64",
            envelope(set_message_field("data", "%%% not base64 %%%"), topic_kind),
            "rejected",
            INVALID_EVENT,
            "not valid base64",
        ),
        EventCase(
            "message data empty",
            envelope(set_message_field("data", ""), topic_kind),
            "rejected",
            INVALID_EVENT,
            "not JSON",
        ),
        EventCase("base64 of bytes that are not JSON", on_topic(data=b"\xff\xfe not json"), "rejected", INVALID_EVENT),
        EventCase("base64 of a JSON array", on_topic(data=b"[1, 2, 3]"), "rejected", INVALID_EVENT, "JSON object"),
        EventCase("event without a kind", on_topic(event={"input_values": {}}), "rejected", INVALID_EVENT),
        EventCase("event of an unknown kind", on_topic(event={"kind": "telepathy"}), "rejected", INVALID_EVENT),
        EventCase(
            "event kind disagreeing with its attributes",
            on_topic(event={"kind": "cancellation"}, kind="question"),
            "rejected",
            INVALID_EVENT,
            "attributes say",
        ),
        EventCase(
            "a child's heartbeat sent back in (never answered)",
            on_topic(event={"kind": "heartbeat"}, sender_type=CHILD),
            "rejected",
        ),
        EventCase(
            "a child's result sent back in (never answered)",
            on_topic(event={"kind": "result", "output_values": {}, "output_manifest": None}, sender_type=CHILD),
            "rejected",
        ),
        EventCase("attributes without question_uuid", on_topic(drop=("question_uuid",)), "rejected"),
        EventCase("question_uuid not a UUID", on_topic(question_uuid="../../etc/passwd"), "rejected"),
        EventCase(
            "question_uuid in upper case",
            lambda harness, question_uuid: message(topic_kind=topic_kind, question_uuid=question_uuid.upper())(
                harness, question_uuid
            ),
            "rejected",
        ),
        EventCase("reply_to not a topic name", on_topic(reply_to="not a topic!"), "rejected"),
        EventCase(
            "attribute value not a string",
            envelope(set_attribute("retry_count", 0), topic_kind),
            "rejected",
            INVALID_EVENT,
        ),
        EventCase("retry_count negative", on_topic(retry_count="-1"), "rejected", INVALID_EVENT, "retry_count"),
        EventCase("sender_type unknown", on_topic(sender_type="ADMIN"), "rejected", INVALID_EVENT, "sender_type"),
        EventCase("datetime not a date", on_topic(datetime="yesterday"), "rejected", INVALID_EVENT),
        EventCase(
            "payload over 10 MB", on_topic(data=OVER_TEN_MB), "rejected", PAYLOAD_TOO_LARGE, "more than the 10,000,000"
        ),
        EventCase(
            "data nested 100,000 deep",
            on_topic(data=DEEPLY_NESTED_DATA),
            "rejected",
            INVALID_EVENT,
            "nested too deeply",
        ),
    ]


# -- question intake --

INTAKE_CASES = [
    *common_cases("questions"),
    EventCase(
        "a result sent as a question by a parent",
        message(event={"kind": "result", "output_values": {}, "output_manifest": None}),
        "rejected",
        INVALID_EVENT,
        "Only questions and cancellations",
    ),
    EventCase(
        "question without forward_logs",
        lambda harness, question_uuid: message(
            event={key: value for key, value in harness.question().items() if key != "forward_logs"}
        )(harness, question_uuid),
        "rejected",
        INVALID_EVENT,
        "forward_logs",
    ),
    EventCase("question with an unknown field", question(priority="urgent"), "rejected", INVALID_EVENT, "priority"),
    EventCase(
        "reply_to the service's own questions topic (no answer: it would loop)",
        own_topic("questions"),
        "rejected",
        message="own input topics",
    ),
    EventCase(
        "reply_to the service's own analyses topic (no answer: it would loop)",
        own_topic("analyses"),
        "rejected",
        message="own input topics",
    ),
    EventCase(
        "recipient another service",
        message(recipient="someone-else/another-service:1.0.0"),
        "rejected",
        UNKNOWN_RECIPIENT,
        "someone-else/another-service:1.0.0",
    ),
    EventCase("recipient another revision", other_revision, "rejected", UNKNOWN_RECIPIENT, ":other-revision"),
    EventCase(
        "input values failing the twine",
        question(input_values={"height_m": -5, "speeds_m_s": [4.2]}),
        "rejected",
        INVALID_VALUES,
        "$.height_m",
    ),
    EventCase(
        "input values of the wrong type", question(input_values=[4.2, 5.1]), "rejected", INVALID_VALUES, "input_values"
    ),
    EventCase("input values missing", question(input_values=None), "rejected", INVALID_VALUES, "missing"),
    EventCase(
        "input values a string of JSON text (a string, not an object)",
        question(input_values='{"height_m": 10, "speeds_m_s": [4.2]}'),
        "rejected",
        INVALID_VALUES,
        "input_values",
    ),
    EventCase(
        "input values the path of a JSON file on the function's disk (a string, not a file)",
        input_values_path,
        "rejected",
        INVALID_VALUES,
        "input_values",
    ),
    EventCase(
        "input values with unicode and control characters failing the twine",
        question(input_values={"height_m": "\u5341\u7c73\u0000", "speeds_m_s": [4.2]}),
        "rejected",
        INVALID_VALUES,
        "$.height_m",
    ),
    EventCase(
        "input values nested 200 deep",
        question(input_values={"height_m": 10, "speeds_m_s": [nested(200)]}),
        "rejected",
        INVALID_VALUES,
        "$.speeds_m_s[0]",
    ),
    EventCase(
        "payload just under 10 MB failing the twine",
        question(input_values={"height_m": 10, "speeds_m_s": [4.2], "padding": "x" * 9_000_000}),
        "rejected",
        INVALID_VALUES,
        "padding",
    ),
    EventCase(
        "an input manifest for a twine without one",
        question(input_manifest=MANIFEST),
        "rejected",
        INVALID_MANIFEST,
        "no input_manifest",
    ),
    EventCase(
        "unicode, emoji and control characters in attributes (valid)",
        message(sender=UNICODE_SENDER, note="\u65e5\u672c\u8a9e\t\u0001 \U0001f4a8"),
        "dispatched",
    ),
    EventCase(
        "a cancellation of a question never asked (valid)",
        message(event={"kind": "cancellation"}),
        "cancellation_recorded",
    ),
    EventCase("the same question delivered three times", message(), "dispatched", deliveries=3),
]

# -- analysis runner --

RUNNER_CASES = [
    *common_cases("analyses"),
    EventCase(
        "a cancellation on the analyses topic",
        message(event={"kind": "cancellation"}, topic_kind="analyses"),
        "rejected",
        INVALID_EVENT,
        "Only questions are accepted",
    ),
    EventCase(
        "a result sent as a question by a parent",
        message(event={"kind": "result", "output_values": {}, "output_manifest": None}, topic_kind="analyses"),
        "rejected",
        INVALID_EVENT,
        "Only questions are accepted",
    ),
    EventCase(
        "question with an unknown field",
        question_for_analyses(priority="urgent"),
        "rejected",
        INVALID_EVENT,
        "priority",
    ),
    EventCase(
        "input values failing the twine (the runner validates too)",
        question_for_analyses(input_values={"height_m": 10, "speeds_m_s": [-1]}),
        "answered",
        INVALID_VALUES,
        "$.speeds_m_s[0]",
    ),
    EventCase(
        "input values missing",
        question_for_analyses(input_values=None),
        "answered",
        INVALID_VALUES,
        "missing",
    ),
    EventCase(
        "input values of the wrong type",
        question_for_analyses(input_values=[4.2]),
        "answered",
        INVALID_VALUES,
        "input_values",
    ),
    EventCase(
        "an input manifest for a twine without one",
        question_for_analyses(input_manifest=MANIFEST),
        "answered",
        INVALID_MANIFEST,
        "no input_manifest",
    ),
    EventCase("a question cancelled before it started", cancelled_first, "cancelled", QUESTION_CANCELLED),
    EventCase(
        "unicode, emoji and control characters in attributes (valid)",
        message(topic_kind="analyses", sender=UNICODE_SENDER),
        "answered",
    ),
    EventCase(
        "the same question delivered three times",
        message(topic_kind="analyses"),
        "answered",
        deliveries=3,
        redelivered_action="answer_republished",
    ),
]


def _check_event_case(harness, case: EventCase, entry_point: str) -> None:
    question_uuid = str(uuid.uuid4())
    headers, body = case.request(harness, question_uuid)
    responses = [harness.post(entry_point, headers, body) for _ in range(case.deliveries)]

    assert [response.status_code for response in responses] == [200] * case.deliveries, responses[-1].text
    actions = [response.json()["action"] for response in responses]
    assert actions == [case.action] + [case.redelivered_action or case.action] * (case.deliveries - 1)

    exceptions = harness.published_of_kind("exception")
    if case.exception_type is None:
        assert exceptions == [], [message.event for message in exceptions]
        if case.message:
            assert case.message in responses[0].json()["detail"]
        return
    assert [message.attributes["question_uuid"] for message in exceptions] == [question_uuid] * case.deliveries
    exception = exceptions[0]
    assert exception.topic == harness.stack.revision.answers_topic
    assert exception.attributes["sender"] == harness.stack.sruid
    assert exception.attributes["sender_type"] == CHILD
    assert exception.attributes["recipient"] == harness.parent_sruid
    assert exception.event["exception_type"] == case.exception_type
    if case.message:
        assert case.message in exception.event["exception_message"]


@pytest.mark.parametrize("case", INTAKE_CASES, ids=str)
def test_question_intake_with_hostile_input(harness, case):
    _check_event_case(harness, case, "question_intake")


@pytest.mark.parametrize("case", RUNNER_CASES, ids=str)
def test_analysis_runner_with_hostile_input(harness, case):
    _check_event_case(harness, case, "analysis_runner")


@pytest.mark.parametrize(
    "build",
    [
        question_for_analyses(input_values='{"height_m": 10, "speeds_m_s": [4.2]}'),
        lambda harness, question_uuid: question_for_analyses(
            input_values=f"{harness.stack.service_directory}/input_values.json"
        )(harness, question_uuid),
    ],
    ids=["JSON text", "path of a local file"],
)
def test_the_runner_takes_a_string_input_value_as_a_string(harness, build):
    question_uuid = str(uuid.uuid4())

    response = harness.post("analysis_runner", *build(harness, question_uuid))

    assert response.json()["action"] == "answered"
    [exception] = harness.published_for(question_uuid, "exception")
    assert exception.event["exception_type"] == INVALID_VALUES


def test_a_question_whose_answers_would_go_to_the_questions_topic_does_not_loop(stack, harness):
    question_uuid = str(uuid.uuid4())
    attributes = harness.attributes(question_uuid, reply_to=stack.revision.questions_topic)

    stack.bus.publish(
        stack.revision.questions_topic, encode_event(harness.question(), attributes), attributes, question_uuid
    )
    time.sleep(1)

    # Intake refuses it and cannot answer it: nothing is published for it but the question itself.
    assert [message.kind for message in harness.published_for(question_uuid)] == ["question"]


def test_a_question_whose_answers_go_to_the_analyses_topic_does_not_loop(stack, harness):
    question_uuid = str(uuid.uuid4())
    attributes = harness.attributes(question_uuid, reply_to=stack.revision.analyses_topic)
    headers, body = harness.pubsub_request(
        encode_event(harness.question(), attributes), attributes, topic=stack.revision.analyses_topic
    )

    response = harness.post("analysis_runner", headers, body)
    time.sleep(1)

    # The runner's own events come back to it on the analyses topic: a child's events are never answered.
    assert response.json()["action"] == "answered"
    kinds = [message.kind for message in harness.published_for(question_uuid)]
    assert kinds.count("result") == 1
    assert len(kinds) < 10, kinds
    assert "exception" not in kinds


# -- dataset finalisation --


@dataclass(frozen=True)
class StorageCase:
    """A request to dataset finalisation and what must come of it."""

    name: str
    #: Builds the request (headers, body) from the harness and a fresh directory in the datasets bucket.
    request: Callable[[Any, str], tuple[dict[str, str], bytes]]
    action: str
    #: Bytes whose hash ``<directory>/<hashed_name>`` must carry afterwards, finalised at its current generation.
    hashed: bytes | None = None
    hashed_name: str = "object.bin"
    #: A further check, given the harness and the directory.
    check: Callable[[Any, str], None] | None = None

    def __str__(self) -> str:
        return self.name


def storage_event(
    name: str = "missing.bin",
    generation: Any = 1,
    size: Any = 3,
    bucket: str | None = None,
    change: Callable[[dict], Any] | None = None,
) -> Callable:
    """A structured-mode finalized CloudEvent for ``<directory>/<name>`` (``change`` edits its object resource)."""

    def build(harness, directory):
        headers, body = harness.finalized_request(
            bucket or harness.stack.datasets_bucket, f"{directory}/{name}", generation, size, structured=True
        )
        if change is None:
            return headers, body
        document = json.loads(body)
        changed = change(document["data"])
        document["data"] = document["data"] if changed is None else changed
        return headers, json.dumps(document).encode()

    return build


def binary_storage_event_without(header: str) -> Callable:
    def build(harness, directory):
        headers, body = harness.finalized_request(harness.stack.datasets_bucket, f"{directory}/x.bin", 1, 3)
        return {key: value for key, value in headers.items() if key.lower() != header}, body

    return build


def uploaded(content: bytes, name: str = "object.bin", metadata: dict | None = None, size: int | None = None):
    """Upload an object, undo the stack's own finalisation of it, and send its finalized event."""

    def build(harness, directory):
        path = f"{directory}/{name}"
        generation = harness.upload_unfinalised(path, content, metadata)
        return harness.finalized_request(
            harness.stack.datasets_bucket, path, generation, len(content) if size is None else size
        )

    return build


def already_finalised(harness, directory):
    path = f"{directory}/object.bin"
    generation = harness.upload(path, b"finalised once")
    harness.wait_until_finalised(path, generation)
    return harness.finalized_request(harness.stack.datasets_bucket, path, generation, 14)


def deleted(harness, directory):
    path = f"{directory}/object.bin"
    generation = harness.upload(path, b"short-lived")
    harness.wait_until_finalised(path, generation)
    harness.storage.delete(harness.cloud_path(path))
    return harness.finalized_request(harness.stack.datasets_bucket, path, generation, 11)


def old_generation(harness, directory):
    path = f"{directory}/object.bin"
    old = harness.upload(path, b"first")
    harness.upload_unfinalised(path, b"second")
    return harness.finalized_request(harness.stack.datasets_bucket, path, old, 5)


def in_the_service_bucket(harness, directory):
    path = f"{directory}/object.bin"
    generation = harness.upload(path, b"a record", bucket=SERVICE_BUCKET)
    return harness.finalized_request(SERVICE_BUCKET, path, generation, 8)


def traversal_to_a_victim(harness, directory):
    harness.upload_unfinalised(f"{directory}/victim.bin", b"victim")
    return storage_event(name="elsewhere/../victim.bin")(harness, directory)


def untouched(name: str, bucket: str | None = None) -> Callable[[Any, str], None]:
    def check(harness, directory):
        metadata = harness.custom_metadata(f"{directory}/{name}", bucket=bucket)
        assert metadata is not None
        assert "plait__finalised_generation" not in metadata, metadata

    return check


def without_key(key: str) -> Callable[[dict], None]:
    return lambda resource: resource.pop(key)


def set_key(key: str, value: Any) -> Callable[[dict], None]:
    return lambda resource: resource.update({key: value})


UNICODE_NAME = "donn\u00e9es \U0001f32c/\u98a8 %2e%2e \u202e.bin"
UNICODE_CONTENT = "v\u00e9rification \u98a8 \U0001f32c\ufe0f".encode()

STORAGE_CASES = [
    StorageCase("empty body", raw({}, b""), "rejected"),
    StorageCase("body not JSON", raw(STRUCTURED, b"{not json"), "rejected"),
    StorageCase("body a JSON array", raw(STRUCTURED, b"[]"), "rejected"),
    StorageCase("binary CloudEvent without ce-specversion", binary_storage_event_without("ce-specversion"), "rejected"),
    StorageCase("binary CloudEvent without ce-id", binary_storage_event_without("ce-id"), "rejected"),
    StorageCase("binary CloudEvent without ce-type", binary_storage_event_without("ce-type"), "rejected"),
    StorageCase(
        "a Pub/Sub event instead of a storage one",
        lambda harness, directory: message()(harness, str(uuid.uuid4())),
        "rejected",
    ),
    StorageCase("object resource a JSON array", storage_event(change=lambda resource: [resource]), "rejected"),
    StorageCase("object without a bucket", storage_event(change=without_key("bucket")), "rejected"),
    StorageCase("object without a name", storage_event(change=without_key("name")), "rejected"),
    StorageCase("object with an empty name", storage_event(change=set_key("name", "")), "rejected"),
    StorageCase("object name not a string", storage_event(change=set_key("name", ["a", "b"])), "rejected"),
    StorageCase("generation missing", storage_event(change=without_key("generation")), "rejected"),
    StorageCase("generation not a number", storage_event(generation="latest"), "rejected"),
    StorageCase("generation negative", storage_event(generation="-1"), "rejected"),
    StorageCase("generation a non-ASCII digit", storage_event(generation="\u00b2"), "rejected"),
    StorageCase("size negative", storage_event(size="-1"), "rejected"),
    StorageCase("size not a number", storage_event(size="big"), "rejected"),
    StorageCase("size a non-ASCII digit", storage_event(size="\u0663"), "rejected"),
    StorageCase("object name with a line break", storage_event(name="a\nb.bin"), "rejected"),
    StorageCase("object name over 1024 bytes", storage_event(name="n" * 1100), "rejected"),
    StorageCase(
        "an object in another bucket", in_the_service_bucket, "skipped", check=untouched("object.bin", SERVICE_BUCKET)
    ),
    StorageCase("an object in a bucket that does not exist", storage_event(bucket="no-such-bucket"), "skipped"),
    StorageCase("an object that never existed", storage_event(), "skipped"),
    StorageCase("a deleted object", deleted, "skipped"),
    StorageCase("a .plait dataset document", storage_event(name=".plait"), "skipped"),
    StorageCase("a .plait lock file", storage_event(name=".plait.lock"), "skipped"),
    StorageCase("a signed dataset document", storage_event(name=".signed_metadata_files/d.json"), "skipped"),
    StorageCase(
        "a name that looks like a path traversal to an existing object",
        traversal_to_a_victim,
        "skipped",
        check=untouched("victim.bin"),
    ),
    StorageCase("a name starting with ../", storage_event(name="../../outside.bin"), "skipped"),
    StorageCase("a generation that is not the current one", old_generation, "skipped", check=untouched("object.bin")),
    StorageCase("a generation already finalised (redelivery)", already_finalised, "already_finalised"),
    StorageCase("an empty object", uploaded(b""), "finalised", hashed=b""),
    StorageCase(
        "a unicode name",
        uploaded(UNICODE_CONTENT, name=UNICODE_NAME),
        "finalised",
        hashed=UNICODE_CONTENT,
        hashed_name=UNICODE_NAME,
    ),
    StorageCase(
        "an object uploaded with a wrong plait__hash",
        uploaded(b"the bytes win", metadata={"plait__hash": "bm90IHRoZSBoYXNo"}),
        "finalised",
        hashed=b"the bytes win",
    ),
    StorageCase(
        "an event whose size lies",
        uploaded(b"longer than one byte", size=1),
        "finalised",
        hashed=b"longer than one byte",
    ),
]


@pytest.mark.parametrize("case", STORAGE_CASES, ids=str)
def test_dataset_finalisation_with_hostile_input(harness, case):
    directory = f"hostile/{uuid.uuid4().hex}"
    headers, body = case.request(harness, directory)

    response = harness.post("dataset_finalisation", headers, body)

    assert response.status_code == 200, response.text
    assert response.json()["action"] == case.action, response.json()
    if case.hashed is not None:
        metadata = harness.custom_metadata(f"{directory}/{case.hashed_name}")
        current = harness.storage.get_metadata(harness.cloud_path(f"{directory}/{case.hashed_name}")).generation
        assert metadata["plait__hash"] == hashing.hash_bytes(case.hashed)
        assert metadata["plait__finalised_generation"] == str(current)
    if case.check is not None:
        case.check(harness, directory)


def test_finalising_a_64_mib_object_streams_it_through_the_hash(stack, harness):
    content = bytes(range(256)) * (64 * 1024 * 4)
    name = f"hostile/{uuid.uuid4().hex}/large.bin"
    generation = harness.upload_unfinalised(name, content)
    headers, body = harness.finalized_request(stack.datasets_bucket, name, generation, len(content))

    # Everything in the download path (the function, the client, the emulator) runs in this process.
    tracemalloc.start()
    try:
        response = harness.post("dataset_finalisation", headers, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.json()["action"] == "finalised"
    assert harness.custom_metadata(name)["plait__hash"] == hashing.hash_bytes(content)
    assert peak < len(content) // 4, f"hashing a {len(content):,}-byte object allocated {peak:,} bytes at its peak"


# -- signed URLs --

DATASETS = "gs://plait-local-datasets"
SIGNING = f"{DATASETS}/hostile-signing"


@pytest.fixture(scope="module")
def signing_objects(running_stack):
    """Objects the signing cases refer to: a datafile, and manifests that name places outside the prefixes."""
    storage = GoogleCloudStorageClient()
    storage.upload_from_string(b"speed\n4.2\n", f"{SIGNING}/data.csv")
    storage.upload_from_string(b"\xff\xfe\x00binary", f"{SIGNING}/binary.bin")

    manifests = {
        "other-bucket": {"wind": f"gs://{SERVICE_BUCKET}/questions"},
        "evil-prefix": {"wind": f"{DATASETS}-evil/wind"},
        "local-path": {"wind": "/"},
        "url": {"wind": "http://169.254.169.254/computeMetadata/v1/"},
        "local-file": {"wind": {"path": f"{SIGNING}/wind", "files": ["/etc/passwd"]}},
    }
    for name, datasets in manifests.items():
        document = {"id": str(uuid.uuid4()), "name": name, "datasets": datasets}
        storage.upload_from_string(json.dumps(document), f"{SIGNING}/{name}.json")

    # Let the stack finalise these uploads before the cases run (and before the stack stops).
    for name in ("data.csv", "binary.bin", *(f"{manifest}.json" for manifest in manifests)):
        deadline = time.monotonic() + 15
        while "plait__finalised_generation" not in storage.get_metadata(f"{SIGNING}/{name}").custom_metadata:
            assert time.monotonic() < deadline, f"{SIGNING}/{name} was not finalised"
            time.sleep(0.02)


@dataclass(frozen=True)
class SigningCase:
    """A request to the signed-URL function and the error it must get."""

    name: str
    status: int
    #: GET: query parameters, or a raw query string (sent as it is, to control the encoding).
    query: dict | str | None = None
    #: POST: the body (a value to send as JSON, or raw bytes).
    body: Any = None
    method: str | None = None
    #: Text the error message must hold.
    message: str | None = None

    def __str__(self) -> str:
        return self.name


SIGNING_CASES = [
    SigningCase("no path", 400, query={}, message="'path'"),
    SigningCase("empty path", 400, query={"path": ""}),
    SigningCase("a local path", 400, query={"path": "/etc/passwd"}, message="not a gs:// path"),
    SigningCase("a URL", 400, query={"path": "https://example.com/object"}),
    SigningCase("gs:// only", 400, query={"path": "gs://"}),
    SigningCase("a bucket only", 400, query={"path": DATASETS}),
    SigningCase("a bucket and a slash", 400, query={"path": f"{DATASETS}/"}, message="whole bucket"),
    SigningCase("an invalid bucket name", 400, query={"path": "gs://Not_A_Bucket!/x"}),
    SigningCase("'..' segments", 400, query={"path": f"{DATASETS}/a/../../{SERVICE_BUCKET}/x"}),
    SigningCase("a trailing '..'", 400, query={"path": f"{DATASETS}/a/.."}),
    SigningCase("'./' segments", 400, query={"path": f"{DATASETS}/./hostile-signing/data.csv"}),
    SigningCase("a '//' double slash", 400, query={"path": f"{DATASETS}/hostile-signing//data.csv"}),
    SigningCase("backslash traversal", 400, query={"path": f"{DATASETS}/a\\..\\..\\b"}),
    SigningCase("a control character", 400, query={"path": f"{DATASETS}/a\x01b"}, message="control characters"),
    SigningCase("a line break", 400, query={"path": f"{DATASETS}/a\nb"}),
    SigningCase("a name over 1024 bytes", 400, query={"path": f"{DATASETS}/{'n' * 1100}"}),
    SigningCase("URL-encoded traversal", 400, query=f"path={DATASETS}/hostile-signing/%2e%2e/%2e%2e/x"),
    SigningCase(
        "double-URL-encoded traversal (a literal name, which does not exist)",
        404,
        query=f"path={DATASETS}/hostile-signing/%252e%252e/data.csv",
    ),
    SigningCase("another bucket", 403, query={"path": f"gs://{SERVICE_BUCKET}/questions"}, message="outside"),
    SigningCase(
        "a bucket sharing the prefix's start", 403, query={"path": f"{DATASETS}-evil/hostile-signing/data.csv"}
    ),
    SigningCase("a .plait metadata object", 403, query={"path": f"{SIGNING}/.plait"}, message="metadata"),
    SigningCase("a signed dataset document", 403, query={"path": f"{SIGNING}/.signed_metadata_files/x.json"}),
    SigningCase("an unknown object", 404, query={"path": f"{SIGNING}/no-such-file.csv"}),
    SigningCase("an unknown dataset", 404, query={"path": f"{SIGNING}/no-such-dataset", "kind": "dataset"}),
    SigningCase("an unknown manifest", 404, query={"path": f"{SIGNING}/no-such.json", "kind": "manifest"}),
    SigningCase("a manifest that is not JSON", 400, query={"path": f"{SIGNING}/data.csv", "kind": "manifest"}),
    SigningCase("a manifest that is not text", 400, query={"path": f"{SIGNING}/binary.bin", "kind": "manifest"}),
    SigningCase(
        "a manifest naming a dataset in another bucket",
        403,
        query={"path": f"{SIGNING}/other-bucket.json", "kind": "manifest"},
        message="'wind'",
    ),
    SigningCase(
        "a manifest naming a bucket sharing the prefix's start",
        403,
        query={"path": f"{SIGNING}/evil-prefix.json", "kind": "manifest"},
    ),
    SigningCase(
        "a manifest naming a local directory", 403, query={"path": f"{SIGNING}/local-path.json", "kind": "manifest"}
    ),
    SigningCase("a manifest naming a URL", 403, query={"path": f"{SIGNING}/url.json", "kind": "manifest"}),
    SigningCase(
        "a manifest naming a local file", 403, query={"path": f"{SIGNING}/local-file.json", "kind": "manifest"}
    ),
    SigningCase("expiration 0", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "0"}, message="expiration"),
    SigningCase("expiration negative", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "-60"}),
    SigningCase("expiration over 7 days", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "604801"}),
    SigningCase("expiration not a number", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "soon"}),
    SigningCase("expiration NaN", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "nan"}),
    SigningCase("expiration infinite", 400, query={"path": f"{SIGNING}/data.csv", "expiration": "inf"}),
    SigningCase("an unknown kind", 400, query={"path": f"{SIGNING}/data.csv", "kind": "bucket"}, message="'kind'"),
    SigningCase("POST body not JSON", 400, body=b"path=gs://x", message="not JSON"),
    SigningCase("POST body not UTF-8", 400, body=b"\xff\xfe{}"),
    SigningCase("POST body a JSON array", 400, body=[f"{SIGNING}/data.csv"], message="JSON object"),
    SigningCase("POST body a JSON string", 400, body=f"{SIGNING}/data.csv"),
    SigningCase("POST body over 64 KiB", 400, body={"path": f"{SIGNING}/data.csv", "padding": "x" * 70_000}),
    SigningCase("POST path not a string", 400, body={"path": 42}),
    SigningCase("POST expiration a list", 400, body={"path": f"{SIGNING}/data.csv", "expiration": [60]}),
    SigningCase("POST kind a list", 400, body={"path": f"{SIGNING}/data.csv", "kind": ["datafile"]}),
    SigningCase("PUT", 405, query={"path": f"{SIGNING}/data.csv"}, method="PUT"),
    SigningCase("DELETE", 405, query={"path": f"{SIGNING}/data.csv"}, method="DELETE"),
    SigningCase("PATCH", 405, body={"path": f"{SIGNING}/data.csv"}, method="PATCH"),
]


@pytest.mark.parametrize("case", SIGNING_CASES, ids=str)
def test_signed_urls_with_hostile_input(stack, signing_objects, case):
    url = stack.urls["signed_urls"]
    method = case.method or ("GET" if case.body is None else "POST")
    if isinstance(case.query, str):
        url, query = f"{url}?{case.query}", None
    else:
        query = case.query
    data = case.body if case.body is None or isinstance(case.body, bytes) else json.dumps(case.body).encode()

    response = requests.request(method, url, params=query, data=data, timeout=30)

    assert response.status_code == case.status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == case.status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if case.message:
        assert case.message in body["error"]["message"]
