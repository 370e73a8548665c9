"""Fixtures for the functions' contract and hostile-input tests: the example service on the local stack,
its four functions served by functions-framework over HTTP, and a harness to build, post and observe
events with.

The stack's bus also pushes the functions' own traffic (intake dispatches to the runner, uploads to
the datasets bucket reach finalisation); the tests' direct POSTs are extra deliveries on top.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from plait.cloud.emulators.local_stack import LocalStack
from plait.cloud.events import PARENT, encode_event, make_attributes
from plait.cloud.events.eventarc import make_object_finalized_cloud_event, make_pubsub_cloud_event, to_http
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.cloud.transport.local import LocalBus

EXAMPLE_SERVICE = Path(__file__).parents[2] / "examples" / "wind-statistics"
PARENT_SRUID = "tests/parent:local"
PROJECT = "plait-local"


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    """The wind-statistics example on a local stack, for one test module: ``(stack, signing key file)``."""
    service_directory = tmp_path_factory.mktemp("service") / "wind-statistics"
    shutil.copytree(EXAMPLE_SERVICE, service_directory)
    with LocalStack(str(service_directory), mode="http", heartbeat_interval=1) as stack:
        yield stack, os.environ["GOOGLE_APPLICATION_CREDENTIALS"]


@pytest.fixture
def stack(running_stack, monkeypatch):
    """The running stack, with its own signing key in the environment again (the suite removes
    ambient credentials before every test; the functions run in this process and sign with it)."""
    running, key_file = running_stack
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file)
    return running


@dataclass(frozen=True)
class Published:
    """One message a function published on the bus."""

    topic: str
    attributes: dict[str, str]
    data: bytes

    @property
    def kind(self) -> str | None:
        return self.attributes.get("kind")

    @property
    def event(self) -> Any:
        return json.loads(self.data)


class Harness:
    """Builds plait events and the CloudEvents that carry them, posts them to the functions, and records
    everything the functions publish while a test runs."""

    parent_sruid = PARENT_SRUID
    project = PROJECT

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.storage = GoogleCloudStorageClient()
        self.published: list[Published] = []
        self._lock = threading.Lock()

    # -- plait events --

    def attributes(self, question_uuid: str | None = None, kind: str = "question", **overrides: Any) -> dict:
        """Valid attributes of a parent's event for this service (``overrides`` replace or add keys)."""
        attributes = make_attributes(
            kind=kind,
            question_uuid=question_uuid or str(uuid.uuid4()),
            sender=PARENT_SRUID,
            sender_type=PARENT,
            recipient=self.stack.sruid,
            reply_to=self.stack.revision.answers_topic,
        )
        attributes.update(overrides)
        return attributes

    @staticmethod
    def question(**overrides: Any) -> dict:
        """A valid question for the wind-statistics twine."""
        event = {
            "kind": "question",
            "input_values": {"height_m": 10, "speeds_m_s": [4.2, 5.1, 6.3]},
            "input_manifest": None,
            "children": None,
            "forward_logs": False,
            "save_diagnostics": "SAVE_DIAGNOSTICS_OFF",
            "log_level": "INFO",
        }
        event.update(overrides)
        return event

    def valid_message(self, question_uuid: str | None = None, **question_overrides: Any) -> tuple[bytes, dict]:
        attributes = self.attributes(question_uuid)
        return encode_event(self.question(**question_overrides), attributes), attributes

    # -- CloudEvents, as Eventarc sends them --

    def pubsub_request(
        self, data: bytes, attributes: dict, topic: str | None = None, structured: bool = False
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a ``messagePublished`` CloudEvent carrying one Pub/Sub message."""
        cloud_event = make_pubsub_cloud_event(
            project=PROJECT,
            topic=topic or self.stack.revision.questions_topic,
            subscription="tests",
            data=data,
            attributes=attributes,
            ordering_key=attributes.get("question_uuid") if isinstance(attributes, dict) else None,
        )
        return to_http(cloud_event, structured=structured)

    def finalized_request(
        self, bucket: str, name: str, generation: Any, size: Any = 0, structured: bool = False
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a ``storage.object.v1.finalized`` CloudEvent."""
        return to_http(make_object_finalized_cloud_event(bucket, name, generation, size), structured=structured)

    # -- HTTP --

    def post(self, entry_point: str, headers: dict[str, str], body: bytes) -> requests.Response:
        return requests.post(self.stack.urls[entry_point], data=body, headers=headers, timeout=60)

    # -- what was published --

    def record(self, topic: str, data: bytes, attributes: dict[str, str]) -> None:
        with self._lock:
            self.published.append(Published(topic, dict(attributes), data))

    def published_for(self, question_uuid: str | None, kind: str | None = None) -> list[Published]:
        with self._lock:
            return [
                message
                for message in self.published
                if message.attributes.get("question_uuid") == question_uuid and (kind is None or message.kind == kind)
            ]

    def published_of_kind(self, kind: str) -> list[Published]:
        with self._lock:
            return [message for message in self.published if message.kind == kind]

    def wait_for(self, question_uuid: str, kind: str, timeout: float = 15) -> Published:
        """The first ``kind`` event published for the question, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.published_for(question_uuid, kind)
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"No {kind!r} event was published for question {question_uuid} within {timeout} s.")

    # -- storage --

    def cloud_path(self, name: str) -> str:
        return f"gs://{self.stack.datasets_bucket}/{name}"

    def upload(self, name: str, content: bytes, metadata: dict | None = None, bucket: str | None = None) -> int:
        """Upload an object; return its generation."""
        path = f"gs://{bucket or self.stack.datasets_bucket}/{name}"
        return self.storage.upload_from_string(content, path, metadata=metadata).generation

    def wait_until_finalised(self, name: str, generation: int, timeout: float = 15) -> dict:
        """Wait for the stack's own finalisation of an upload; return the object's custom metadata."""
        path = self.cloud_path(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            metadata = self.storage.get_metadata(path)
            if metadata is not None and metadata.custom_metadata.get("plait__finalised_generation") == str(generation):
                return metadata.custom_metadata
            time.sleep(0.02)
        raise AssertionError(f"{path} (generation {generation}) was not finalised within {timeout} s.")

    def upload_unfinalised(self, name: str, content: bytes, metadata: dict | None = None) -> int:
        """Upload an object, let the stack finalise it, then remove the mark of that finalisation (and
        keep the rest), so that a finalized event posted for it does the whole job again."""
        generation = self.upload(name, content, metadata)
        finalised = self.wait_until_finalised(name, generation)
        kept = {key: value for key, value in finalised.items() if key != "plait__finalised_generation"}
        if metadata:
            kept.update(metadata)
        self.storage.overwrite_custom_metadata(self.cloud_path(name), kept)
        return generation

    def custom_metadata(self, name: str, bucket: str | None = None) -> dict | None:
        found = self.storage.get_metadata(f"gs://{bucket or self.stack.datasets_bucket}/{name}")
        return None if found is None else found.custom_metadata


@pytest.fixture
def harness(stack, monkeypatch):
    """A ``Harness`` on the running stack that records every message published during the test."""
    harness = Harness(stack)
    publish = stack.bus.publish

    def recording_publish(topic, data, attributes, ordering_key=None):
        harness.record(topic, data, attributes)
        return publish(topic, data, attributes, ordering_key=ordering_key)

    # The functions run in this process and publish through this same bus (PLAIT_TRANSPORT=local).
    assert stack.bus is LocalBus.instance()
    monkeypatch.setattr(stack.bus, "publish", recording_publish)
    return harness
