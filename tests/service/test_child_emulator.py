"""``ChildEmulator``: replays the events a real child could send, handled exactly as ``Child`` handles
them; ``from_file``; and the replay of a conversation recorded from a real child."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from plait.cloud.emulators.child import ChildEmulator
from plait.exceptions import InvalidEvent, InvalidInputException, InvalidTagException, RemoteException
from plait.resources import Manifest

RESULT = {"kind": "result", "output_values": {"speed": 7.5}, "output_manifest": None}


def exception_event(exception_type: str, message: str) -> dict:
    return {
        "kind": "exception",
        "exception_type": exception_type,
        "exception_message": message,
        "exception_traceback": ["Traceback (most recent call last):\n", '  File "app.py", line 3, in run\n'],
    }


def log_record_event(message: str, level: int = logging.WARNING) -> dict:
    return {
        "kind": "log_record",
        "log_record": {
            "name": "emulated.app",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": message,
            "created": 1700000000.0,
        },
    }


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def emulated_logs():
    """The records reaching a handler on the emulated app's logger."""
    handler = RecordingHandler()
    logger = logging.getLogger("emulated.app")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_every_kind_of_event_a_child_sends_is_handled_and_the_result_returned(tmp_path, emulated_logs):
    dataset = tmp_path / "profile"
    dataset.mkdir()
    (dataset / "profile.csv").write_text("height_m,speed_m_s\n80,7.5\n")
    messages = [
        {"kind": "delivery_acknowledgement"},
        {"kind": "heartbeat"},
        log_record_event("Fitting the profile."),
        {"kind": "monitor_message", "data": {"progress": 0.5}},
        {"kind": "monitor_message", "data": [1, 2, 3]},
        {"kind": "heartbeat"},
        {
            "kind": "result",
            "output_values": {"shear_exponent": 0.14},
            "output_manifest": {"id": str(uuid.uuid4()), "datasets": {"profile": str(dataset)}},
        },
    ]
    monitor_messages = []
    emulator = ChildEmulator(id="emulated/wind-shear:1.0", messages=messages)

    answer = emulator.ask(input_values={"ignored": True}, handle_monitor_message=monitor_messages.append)

    assert answer["output_values"] == {"shear_exponent": 0.14}
    assert isinstance(answer["output_manifest"], Manifest)
    assert [file.name for file in answer["output_manifest"].get_dataset("profile").files] == ["profile.csv"]
    assert monitor_messages == [{"progress": 0.5}, [1, 2, 3]]
    assert [record.getMessage() for record in emulated_logs] == ["[emulated/wind-shear:1.0] Fitting the profile."]
    assert emulated_logs[0].levelno == logging.WARNING


def test_log_records_are_not_forwarded_if_the_parent_does_not_subscribe_to_them(emulated_logs):
    emulator = ChildEmulator(messages=[log_record_event("Not for you."), RESULT])

    assert emulator.ask(subscribe_to_logs=False)["output_values"] == {"speed": 7.5}
    assert emulated_logs == []


@pytest.mark.parametrize(
    ("exception_type", "expected"),
    [
        ("ValueError", ValueError),
        ("FileNotFoundError", FileNotFoundError),
        ("plait.exceptions.InvalidTagException", InvalidTagException),
        ("windfarm.errors.TurbineOverspeed", RemoteException),
    ],
)
def test_an_exception_event_is_raised_again_with_its_type(exception_type, expected):
    emulator = ChildEmulator(
        id="emulated/turbine:1.0",
        messages=[{"kind": "heartbeat"}, exception_event(exception_type, "It broke."), RESULT],
    )

    with pytest.raises(expected, match="It broke") as raised:
        emulator.ask()

    assert type(raised.value) is expected
    assert "Remote traceback (from emulated/turbine:1.0)" in str(raised.value)
    assert 'File "app.py", line 3, in run' in str(raised.value)
    if expected is RemoteException:
        assert exception_type in str(raised.value)


def test_events_after_the_result_are_not_handled():
    monitor_messages = []
    emulator = ChildEmulator(
        messages=[RESULT, {"kind": "monitor_message", "data": "late"}, exception_event("ValueError", "late")]
    )

    assert emulator.ask(handle_monitor_message=monitor_messages.append)["output_values"] == {"speed": 7.5}
    assert monitor_messages == []


@pytest.mark.parametrize(
    "message",
    [
        {"kind": "monitor_message"},
        {"kind": "explosion"},
        {"kind": "result", "output_values": 1},
        {"kind": "log_record", "log_record": {"msg": "no level"}},
        {"output_values": 1},
        "a plain string",
        42,
    ],
    ids=[
        "missing-data",
        "unknown-kind",
        "result-without-manifest",
        "incomplete-log-record",
        "no-kind",
        "string",
        "number",
    ],
)
def test_a_malformed_event_raises_invalid_event(message):
    with pytest.raises(InvalidEvent):
        ChildEmulator(messages=[{"kind": "heartbeat"}, message, RESULT]).ask()


@pytest.mark.parametrize("messages", [[], [{"kind": "heartbeat"}, {"kind": "monitor_message", "data": 1}]])
def test_messages_without_a_result_or_exception_raise_invalid_event(messages):
    with pytest.raises(InvalidEvent, match="without a result"):
        ChildEmulator(messages=messages).ask()


def test_messages_must_be_a_list():
    with pytest.raises(InvalidInputException, match="list"):
        ChildEmulator(messages={"kind": "result"})


def test_ask_multiple_answers_each_question_in_order():
    emulator = ChildEmulator(messages=[{"kind": "heartbeat"}, RESULT])

    answers = emulator.ask_multiple({"input_values": {"a": 1}}, {"input_values": {"a": 2}}, {})

    assert answers == [{"output_values": {"speed": 7.5}, "output_manifest": None}] * 3


def test_an_emulator_gets_an_id_and_a_parent_name_by_default():
    emulator = ChildEmulator()

    assert uuid.UUID(emulator.id)
    assert emulator.internal_service_name == f"{emulator.id}-parent"
    assert ChildEmulator(id="a/b:c", internal_service_name="parent").internal_service_name == "parent"


def test_the_emulator_records_the_events_it_replays_for_the_question_uuid_given(tmp_path):
    path = tmp_path / "recorded.json"
    question_uuid = str(uuid.uuid4())

    ChildEmulator(messages=[{"kind": "heartbeat"}, RESULT]).ask(
        record_messages_to=str(path), question_uuid=question_uuid
    )

    recorded = json.loads(path.read_text())
    assert [message["event"] for message in recorded] == [{"kind": "heartbeat"}, RESULT]
    assert {message["attributes"]["question_uuid"] for message in recorded} == {question_uuid}
    assert {message["attributes"]["sender_type"] for message in recorded} == {"CHILD"}


@pytest.mark.parametrize(
    "content",
    [
        {
            "id": "emulated/wind-shear:2.0",
            "backend": {"name": "GCPPubSubBackend", "project_name": "my-project"},
            "internal_service_name": "my-parent",
            "messages": [{"kind": "heartbeat"}, RESULT],
        },
        {"messages": [RESULT]},
        {"id": "emulated/wind-shear:2.0"},
        {},
    ],
    ids=["all", "messages-only", "id-only", "none"],
)
def test_an_emulator_is_made_from_a_file_holding_all_any_or_none_of_its_arguments(tmp_path, content):
    path = tmp_path / "child_emulator.json"
    path.write_text(json.dumps(content))

    emulator = ChildEmulator.from_file(str(path))

    assert emulator.id == content.get("id", emulator.id)
    if "backend" in content:
        assert emulator.backend == content["backend"]
    assert emulator.internal_service_name == content.get("internal_service_name", f"{emulator.id}-parent")
    assert emulator.messages == content.get("messages", [])
    if content.get("messages"):
        assert emulator.ask()["output_values"] == {"speed": 7.5}
    else:
        with pytest.raises(InvalidEvent):
            emulator.ask()


def test_a_file_that_is_not_a_json_object_is_refused(tmp_path):
    path = tmp_path / "child_emulator.json"
    path.write_text("[]")

    with pytest.raises(InvalidInputException, match="JSON object"):
        ChildEmulator.from_file(str(path))


def test_a_conversation_recorded_from_a_real_child_is_replayed_like_the_original(stacks, tmp_path):
    stack = stacks.get("chatty", mode="in_process", heartbeat_interval=0.5)
    path = tmp_path / "conversation.json"
    original_messages, replayed_messages = [], []
    original = stack.child().ask(
        input_values={"monitor_messages": 3},
        handle_monitor_message=original_messages.append,
        record_messages_to=str(path),
        timeout=30,
    )
    (tmp_path / "child_emulator.json").write_text(
        json.dumps({"id": stack.sruid, "messages": json.loads(path.read_text())})
    )

    replayed = ChildEmulator.from_file(str(tmp_path / "child_emulator.json")).ask(
        handle_monitor_message=replayed_messages.append
    )

    assert replayed["output_values"] == original["output_values"]
    assert replayed["output_manifest"].to_primitive() == original["output_manifest"].to_primitive()
    assert replayed_messages == original_messages == [{"step": step} for step in range(3)]
