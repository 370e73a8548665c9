"""Cancellation, end to end over HTTP: the parent's ``cancellation`` reaches the running analysis,
which stops; the parent gets ``QuestionCancelled``; no result is ever published."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from plait.cloud.emulators.local_stack import SERVICE_BUCKET
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import QuestionCancelled

#: How long the slow app works if nothing stops it.
APP_SECONDS = 4


@pytest.fixture
def slow_stack(stacks):
    return stacks.get("slow", mode="http", heartbeat_interval=0.2, cancellation_poll_interval=0.1)


@pytest.fixture
def progress_file(tmp_path):
    return tmp_path / "progress.txt"


def progress(progress_file) -> int:
    return len(progress_file.read_text().split()) if progress_file.exists() else 0


def ask_in_background(child, **arguments) -> dict:
    """Start ``child.ask`` in a thread; the returned dict gets its ``answer`` or ``error`` and ``finished_at``."""
    outcome: dict = {}

    def ask():
        try:
            outcome["answer"] = child.ask(**arguments)
        except BaseException as error:
            outcome["error"] = error
        outcome["finished_at"] = time.monotonic()

    outcome["thread"] = threading.Thread(target=ask, daemon=True)
    outcome["thread"].start()
    return outcome


def diagnostics_of(question_uuid: str) -> list:
    return list(GoogleCloudStorageClient().list_objects(f"gs://{SERVICE_BUCKET}/diagnostics/{question_uuid}", True))


def test_a_cancelled_analysis_stops_and_its_parent_gets_question_cancelled_and_no_result(
    slow_stack, progress_file, drain_events, question_store, waiter
):
    child = slow_stack.child()
    question_uuid = str(uuid.uuid4())

    with slow_stack.bus.subscribe(slow_stack.revision.answers_topic, question_uuid) as subscription:
        asked_at = time.monotonic()
        outcome = ask_in_background(
            child,
            input_values={"progress_file": str(progress_file), "seconds": APP_SECONDS},
            question_uuid=question_uuid,
            timeout=30,
        )
        waiter(lambda: progress(progress_file) >= 3)  # the app is running
        cancelled_at = time.monotonic()
        child.cancel(question_uuid, reason="The parent changed its mind.")
        outcome["thread"].join(timeout=10)

        assert isinstance(outcome.get("error"), QuestionCancelled), outcome
        assert outcome["finished_at"] - cancelled_at < 2, "the parent heard of the cancellation too late"

        # The app stopped: its progress file stops growing.
        time.sleep(0.3)
        stopped_at = progress(progress_file)
        time.sleep(0.5)
        assert progress(progress_file) == stopped_at
        assert stopped_at < APP_SECONDS / 0.05 / 2

        # Nothing more comes, even after the app would have finished.
        time.sleep(max(0.0, asked_at + APP_SECONDS + 0.5 - time.monotonic()))
        events = drain_events(subscription)

    kinds = [event["kind"] for event, _ in events]
    assert "result" not in kinds
    assert {event["exception_type"] for event, _ in events if event["kind"] == "exception"} == {
        "plait.exceptions.QuestionCancelled"
    }
    answer = question_store(slow_stack).get_answer(question_uuid)
    assert [message["event"]["kind"] for message in answer] == ["exception"]
    assert answer[0]["event"]["exception_type"] == "plait.exceptions.QuestionCancelled"
    assert question_store(slow_stack).is_cancelled(question_uuid)
    # A cancelled question is not a crash: nothing to diagnose.
    assert diagnostics_of(question_uuid) == []


def test_a_question_cancelled_before_it_is_asked_is_never_run(slow_stack, progress_file, question_store):
    child = slow_stack.child()
    question_uuid = str(uuid.uuid4())
    child.cancel(question_uuid)

    started = time.monotonic()
    with pytest.raises(QuestionCancelled, match=question_uuid):
        child.ask(
            input_values={"progress_file": str(progress_file), "seconds": APP_SECONDS},
            question_uuid=question_uuid,
            timeout=30,
        )

    assert time.monotonic() - started < APP_SECONDS / 2
    assert not os.path.exists(progress_file), "the app ran"
    answer = question_store(slow_stack).get_answer(question_uuid)
    assert answer[0]["event"]["exception_type"] == "plait.exceptions.QuestionCancelled"


def test_a_cancellation_recorded_before_the_runner_starts_stops_the_question_before_the_app_runs(
    slow_stack, progress_file, question_store
):
    question_uuid = str(uuid.uuid4())
    question_store(slow_stack).request_cancellation(question_uuid, reason="cancelled while queued")

    with pytest.raises(QuestionCancelled):
        slow_stack.child().ask(
            input_values={"progress_file": str(progress_file), "seconds": APP_SECONDS},
            question_uuid=question_uuid,
            timeout=30,
        )

    assert not os.path.exists(progress_file), "the app ran"


def test_cancelling_an_answered_question_changes_nothing(slow_stack, progress_file, drain_events, question_store):
    child = slow_stack.child()
    question_uuid = str(uuid.uuid4())
    answer = child.ask(
        input_values={"progress_file": str(progress_file), "seconds": 0.1}, question_uuid=question_uuid, timeout=30
    )
    recorded = question_store(slow_stack).get_answer(question_uuid)

    with slow_stack.bus.subscribe(slow_stack.revision.answers_topic, question_uuid) as subscription:
        child.cancel(question_uuid)
        events = drain_events(subscription)

    assert answer["output_values"]["steps"] >= 1
    assert events == []
    assert question_store(slow_stack).get_answer(question_uuid) == recorded
