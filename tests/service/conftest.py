"""Fixtures for the service-behaviour tests: the test services in ``services/`` run on a local stack.

A local stack sets process-wide environment variables and resets the process's ``LocalBus``, so
only one runs at a time: ``stacks.get(...)`` stops the running stack before starting another, and
each test module stops its last stack when it ends (so no stack outlives its module).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from plait.cloud.emulators.local_stack import SERVICE_BUCKET, LocalStack
from plait.cloud.events import PARENT, encode_event, make_attributes
from plait.cloud.questions import QuestionStore

SERVICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "services")


class RunningStacks:
    """At most one running local stack, restarted only when a test asks for a different one."""

    def __init__(self) -> None:
        self.stack: LocalStack | None = None
        self._key: tuple | None = None
        self._credentials: str | None = None

    def get(self, service: str, **options: Any) -> LocalStack:
        """The local stack serving ``services/<service>`` with these ``LocalStack`` options."""
        key = (service, tuple(sorted(options.items())))
        if key != self._key:
            self.stop()
            self.stack = LocalStack(os.path.join(SERVICES, service), **options).start()
            self._key = key
            self._credentials = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        # The session's autouse fixture removes GOOGLE_APPLICATION_CREDENTIALS from every test; the
        # stack's own throwaway key is what the runner signs output URLs with, so put it back.
        if self._credentials:
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = self._credentials
        return self.stack

    def stop(self) -> None:
        if self.stack is not None:
            # A runner may still be finishing (it releases its claim after the parent has its answer):
            # let the bus go quiet first, so nothing is cut off by the storage emulator stopping.
            deadline = time.monotonic() + 3
            seen = -1
            while len(self.stack.bus.delivery_log) != seen and time.monotonic() < deadline:
                seen = len(self.stack.bus.delivery_log)
                time.sleep(0.3)
            self.stack.stop()
        self.stack, self._key, self._credentials = None, None, None


@pytest.fixture(scope="module")
def stacks():
    running = RunningStacks()
    try:
        yield running
    finally:
        running.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 10, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Still waiting after {timeout} s for {getattr(condition, '__name__', condition)}.")
        time.sleep(interval)


@pytest.fixture
def waiter() -> Callable[..., Any]:
    """``wait_for(condition, timeout=10)``: poll until the condition holds."""
    return wait_for


def question_message(
    stack: LocalStack, input_values: Any, question_uuid: str | None = None, **event: Any
) -> tuple[bytes, dict[str, str]]:
    """A question to ``stack``'s service as a parent sends it (data, attributes), answered on its
    answers topic."""
    question_uuid = question_uuid or str(uuid.uuid4())
    attributes = make_attributes(
        kind="question",
        question_uuid=question_uuid,
        sender="plait-tests/parent",
        sender_type=PARENT,
        recipient=stack.sruid,
        reply_to=stack.revision.answers_topic,
    )
    body = {
        "kind": "question",
        "input_values": input_values,
        "input_manifest": None,
        "children": None,
        "forward_logs": True,
        "save_diagnostics": "SAVE_DIAGNOSTICS_ON_CRASH",
        "log_level": "INFO",
        **event,
    }
    return encode_event(body, attributes), attributes


@pytest.fixture
def make_question() -> Callable[..., tuple[bytes, dict[str, str]]]:
    """``make_question(stack, input_values, question_uuid=None)``: a question message (data, attributes)."""
    return question_message


def drain(subscription: Any, quiet: float = 0.5, timeout: float = 15) -> list[tuple[dict, dict]]:
    """Every message the subscription receives until none comes for ``quiet`` seconds, as (event, attributes)."""
    received = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = subscription.receive(timeout=quiet)
        if message is None:
            break
        received.append((json.loads(message.data), message.attributes))
    return received


@pytest.fixture
def drain_events() -> Callable[..., list[tuple[dict, dict]]]:
    """``drain_events(subscription, quiet=0.5)``: the (event, attributes) received until it goes quiet."""
    return drain


@pytest.fixture
def question_store() -> Callable[..., QuestionStore]:
    """``question_store(stack)``: the running stack's question store (same lease as its runner)."""

    def make(stack: LocalStack) -> QuestionStore:
        return QuestionStore(SERVICE_BUCKET, lease_seconds=stack.claim_lease_seconds)

    return make
