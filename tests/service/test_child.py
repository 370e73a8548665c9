"""``Child``: asking the test services on a local stack, as the reference describes ``ask``,
``ask_multiple`` and their arguments, plus ``cancel`` and the parent's timeouts."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import pytest

from plait.cloud.emulators.local_stack import SERVICE_BUCKET
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    InvalidInputException,
    InvalidSRUID,
    InvalidTagException,
    InvalidValuesContents,
    QuestionCancelled,
    RemoteException,
)
from plait.resources import Dataset, Manifest
from plait.resources.child import Child


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def local_handler():
    """A handler on the root logger, as a parent's own logging set-up would have."""
    handler = RecordingHandler()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def diagnostics_of(question_uuid: str) -> list[str]:
    location = f"gs://{SERVICE_BUCKET}/diagnostics/{question_uuid}"
    return [each.cloud_path for each in GoogleCloudStorageClient().list_objects(location, recursive=True)]


# -- the chatty service: outputs, monitor messages, logs, recording, local files (over HTTP) --


@pytest.fixture
def chatty(stacks):
    return stacks.get("chatty", mode="http", heartbeat_interval=0.5)


def test_ask_returns_the_output_values_and_the_output_manifest(chatty):
    answer = chatty.child().ask(input_values={"monitor_messages": 0}, timeout=30)

    assert answer["output_values"]["input_files"] is None
    manifest = answer["output_manifest"]
    assert isinstance(manifest, Manifest)
    report = manifest.get_dataset("report")
    assert [datafile.name for datafile in report.files] == ["report.txt"]
    with open(report.files.one().local_path, encoding="utf-8") as file:
        assert file.read() == "chatty was here\n"


def test_monitor_messages_are_handled_in_the_order_they_were_sent(chatty):
    received = []

    chatty.child().ask(input_values={"monitor_messages": 6}, handle_monitor_message=received.append, timeout=30)

    assert received == [{"step": step} for step in range(6)]


def test_the_childs_log_records_reach_local_handlers_marked_with_its_id(chatty, local_handler):
    chatty.child().ask(input_values={"monitor_messages": 0}, timeout=30)

    forwarded = [record for record in local_handler.records if record.getMessage().startswith(f"[{chatty.sruid}] ")]
    chatty_records = [
        record
        for record in forwarded
        if record.getMessage().endswith("chatty " + record.levelname.lower() + " message")
    ]
    assert [record.levelname for record in chatty_records] == ["INFO", "WARNING", "ERROR"]
    assert {record.name for record in chatty_records} == {"chatty.app"}


def test_the_childs_log_records_are_not_forwarded_if_the_parent_does_not_subscribe_to_them(chatty, local_handler):
    chatty.child().ask(input_values={"monitor_messages": 0}, subscribe_to_logs=False, timeout=30)

    assert not [record for record in local_handler.records if record.getMessage().startswith(f"[{chatty.sruid}]")]


def test_received_events_are_recorded_to_a_json_file_for_the_question_uuid_given(chatty, tmp_path, question_store):
    path = tmp_path / "recorded" / "messages.json"
    question_uuid = str(uuid.uuid4())

    answer = chatty.child().ask(
        input_values={"monitor_messages": 2}, record_messages_to=str(path), question_uuid=question_uuid, timeout=30
    )

    recorded = json.loads(path.read_text())
    kinds = [message["event"]["kind"] for message in recorded]
    assert kinds[0] == "delivery_acknowledgement"
    assert kinds[-1] == "result"
    assert {"heartbeat", "log_record", "monitor_message"} <= set(kinds)
    assert [message["event"]["data"] for message in recorded if message["event"]["kind"] == "monitor_message"] == [
        {"step": 0},
        {"step": 1},
    ]
    assert {message["attributes"]["question_uuid"] for message in recorded} == {question_uuid}
    assert {message["attributes"]["sender"] for message in recorded} == {chatty.sruid}
    assert answer["output_values"]["question_uuid"] == question_uuid
    assert question_store(chatty).get_question(question_uuid).attributes["question_uuid"] == question_uuid


def test_a_local_dataset_in_the_input_manifest_is_refused_unless_local_files_are_allowed(chatty, tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    for name in ("a.txt", "b.txt"):
        (directory / name).write_text(name)
    manifest = Manifest(datasets={"data": Dataset(path=str(directory))})
    child = chatty.child()

    with pytest.raises(InvalidInputException, match="data") as refused:
        child.ask(input_values={"monitor_messages": 0}, input_manifest=manifest, timeout=30)
    assert "allow_local_files=True" in str(refused.value)

    answer = child.ask(
        input_values={"monitor_messages": 0}, input_manifest=manifest, allow_local_files=True, timeout=30
    )
    assert answer["output_values"]["input_files"] == 2


# -- the failing service: remote exceptions --


@pytest.fixture
def failing(stacks):
    return stacks.get("failing", mode="in_process", heartbeat_interval=0.5)


def test_a_builtin_exception_in_the_child_is_raised_again_with_its_type_and_remote_traceback(failing):
    question_uuid = str(uuid.uuid4())

    with pytest.raises(ValueError, match="The rotor speed must be positive") as raised:
        failing.child().ask(input_values={"failure": "value_error"}, question_uuid=question_uuid, timeout=30)

    assert type(raised.value) is ValueError
    message = str(raised.value)
    assert f"Remote traceback (from {failing.sruid})" in message
    assert "in spin" in message and "app.py" in message  # the frame that raised it, in the child
    # A crash: the child saved its diagnostics.
    assert any(path.endswith("/exception.json") for path in diagnostics_of(question_uuid))


def test_no_crash_diagnostics_are_saved_if_the_parent_does_not_allow_it(failing):
    question_uuid = str(uuid.uuid4())

    with pytest.raises(ValueError):
        failing.child().ask(
            input_values={"failure": "value_error"},
            allow_save_diagnostics_data_on_crash=False,
            question_uuid=question_uuid,
            timeout=30,
        )

    assert diagnostics_of(question_uuid) == []


def test_a_plait_exception_in_the_child_is_raised_again_with_its_type(failing):
    with pytest.raises(InvalidTagException, match="'Bad Tag' is not valid") as raised:
        failing.child().ask(input_values={"failure": "plait"}, timeout=30)

    assert "Remote traceback" in str(raised.value)


def test_an_exception_of_a_type_the_parent_cannot_import_becomes_a_remote_exception_naming_it(failing):
    with pytest.raises(RemoteException, match=r"TurbineOverspeed: The rotor is spinning at 42 rad/s") as raised:
        failing.child().ask(input_values={"failure": "custom"}, timeout=30)

    assert "Remote traceback" in str(raised.value)


def test_inputs_that_break_the_childs_twine_raise_invalid_values_contents(failing):
    with pytest.raises(InvalidValuesContents, match="meltdown"):
        failing.child().ask(input_values={"failure": "meltdown"}, timeout=30)


def test_ask_multiple_raises_the_error_of_a_question_that_failed(failing):
    with pytest.raises(ValueError, match="rotor speed"):
        failing.child().ask_multiple(
            {"input_values": {"failure": "value_error"}}, {"input_values": {"failure": "plait"}}
        )


# -- the counter and slow services: ask_multiple, timeouts, cancel --


@pytest.fixture
def counter(stacks):
    return stacks.get("counter", mode="in_process", heartbeat_interval=0.5)


def test_ask_multiple_asks_concurrently_and_answers_in_order(counter, tmp_path):
    sleeps = [0.8, 0.2, 0.6, 0.7]  # the first asked is the last to finish
    question_uuids = [str(uuid.uuid4()) for _ in sleeps]
    questions = [
        {
            "input_values": {"counter_file": str(tmp_path / "runs.txt"), "sleep_s": sleep},
            "question_uuid": uuid_,
            "timeout": 30,
        }
        for sleep, uuid_ in zip(sleeps, question_uuids, strict=True)
    ]

    started = time.monotonic()
    answers = counter.child().ask_multiple(*questions)
    elapsed = time.monotonic() - started

    assert [answer["output_values"]["question_uuid"] for answer in answers] == question_uuids
    assert [answer["output_manifest"] for answer in answers] == [None] * 4
    assert elapsed < sum(sleeps) - 0.5, f"the questions were not asked concurrently ({elapsed:.2f} s)"
    assert sorted((tmp_path / "runs.txt").read_text().split()) == sorted(question_uuids)


def test_asking_a_service_nobody_runs_times_out_when_no_heartbeat_comes(counter):
    child = Child("plait-tests/nobody-serves-this:local", {"name": "LocalBackend"})

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="not even a heartbeat"):
        child.ask(input_values={}, maximum_heartbeat_interval=1, timeout=30)

    assert 0.9 <= time.monotonic() - started < 3


@pytest.fixture
def slow(stacks):
    return stacks.get("slow", mode="in_process", heartbeat_interval=0.2, cancellation_poll_interval=0.1)


def test_a_question_times_out_after_timeout_even_while_heartbeats_keep_coming(slow, tmp_path, question_store, waiter):
    child = slow.child()
    question_uuid = str(uuid.uuid4())
    events = tmp_path / "messages.json"

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="within 1 s"):
        child.ask(
            input_values={"progress_file": str(tmp_path / "progress.txt"), "seconds": 5},
            question_uuid=question_uuid,
            record_messages_to=str(events),
            timeout=1,
            maximum_heartbeat_interval=0.5,
        )

    assert 0.9 <= time.monotonic() - started < 2
    kinds = [message["event"]["kind"] for message in json.loads(events.read_text())]
    assert kinds.count("heartbeat") >= 3  # the child was alive all along
    # Stop the analysis the parent gave up on.
    child.cancel(question_uuid)
    answer = waiter(lambda: question_store(slow).get_answer(question_uuid), timeout=5)
    assert answer[0]["event"]["exception_type"] == "plait.exceptions.QuestionCancelled"


def test_cancel_makes_the_waiting_ask_raise_question_cancelled(slow, tmp_path, waiter):
    child = slow.child()
    question_uuid = str(uuid.uuid4())
    progress = tmp_path / "progress.txt"
    raised = []

    def ask():
        try:
            child.ask(
                input_values={"progress_file": str(progress), "seconds": 5}, question_uuid=question_uuid, timeout=30
            )
        except QuestionCancelled as error:
            raised.append(error)

    thread = threading.Thread(target=ask)
    thread.start()
    waiter(progress.exists)
    child.cancel(question_uuid)
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert len(raised) == 1 and question_uuid in str(raised[0])


# -- constructing a Child --


def test_an_invalid_sruid_is_refused():
    with pytest.raises(InvalidSRUID):
        Child("Not A Service", {"name": "LocalBackend"})


@pytest.mark.parametrize("backend", [{"name": "CarrierPigeonBackend"}, {}, "GCPPubSubBackend"])
def test_an_unknown_backend_is_refused(backend):
    with pytest.raises(InvalidInputException, match="backend"):
        Child("plait-tests/counter:local", backend)


# -- the relay service: questions asked from inside a running analysis --


@pytest.fixture
def relay(stacks):
    return stacks.get("relay", mode="in_process", heartbeat_interval=0.5)


@pytest.mark.parametrize("questions", [1, 3], ids=["ask", "ask_multiple"])
def test_a_question_asked_from_inside_an_analysis_names_that_analysis_as_its_parent(relay, question_store, questions):
    question_uuid = str(uuid.uuid4())

    answer = relay.child().ask(
        input_values={"child": relay.sruid, "questions": questions}, question_uuid=question_uuid, timeout=60
    )

    asked = answer["output_values"]["asked"]
    assert len(set(asked)) == questions
    store = question_store(relay)
    for nested_uuid in asked:
        attributes = store.get_question(nested_uuid).attributes
        assert attributes["parent_question_uuid"] == question_uuid
    assert store.get_question(question_uuid).attributes["parent_question_uuid"] == "none"
