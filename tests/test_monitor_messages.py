"""Essential monitor messages: status text and estimated seconds remaining, checked against their
bundled schema and then against the service's own monitor message schema."""

from __future__ import annotations

import json
import logging
from importlib import resources

import pytest

from plait.essentials.monitor_messages import (
    send_estimated_seconds_remaining,
    send_status_text,
    validate_essential_monitor_message,
)
from plait.exceptions import InvalidMonitorMessage
from plait.resources.analysis import Analysis


@pytest.fixture
def received() -> list:
    return []


@pytest.fixture
def analysis(received) -> Analysis:
    return Analysis(twine={}, handle_monitor_message=received.append)


def test_send_status_text_sends_a_status_message(analysis, received):
    send_status_text(analysis, "Fitting 5 anemometers.", "wind-shear")
    assert received == [{"type": "status_text", "service": "wind-shear", "text": "Fitting 5 anemometers."}]


def test_send_status_text_logs_the_text_at_info(analysis, caplog):
    with caplog.at_level(logging.INFO, logger="plait.essentials.monitor_messages"):
        send_status_text(analysis, "Halfway there.", "wind-shear")
    records = [record for record in caplog.records if record.name == "plait.essentials.monitor_messages"]
    assert [(record.levelno, record.getMessage()) for record in records] == [(logging.INFO, "Halfway there.")]


@pytest.mark.parametrize(("text", "service_name"), [(3, "wind-shear"), ("text", ""), ("text", None)])
def test_send_status_text_rejects_what_is_not_a_status_message(analysis, received, text, service_name):
    with pytest.raises(InvalidMonitorMessage):
        send_status_text(analysis, text, service_name)
    assert received == []


@pytest.mark.parametrize("seconds", [0, 12, 3.5, 1e6])
def test_send_estimated_seconds_remaining_sends_the_estimate(analysis, received, seconds):
    send_estimated_seconds_remaining(analysis, seconds, "wind-shear")
    assert received == [{"type": "estimated_seconds_remaining", "service": "wind-shear", "value": seconds}]


@pytest.mark.parametrize("seconds", [-1, -0.5, float("nan"), float("inf"), True, False, "10", None, [1]])
def test_send_estimated_seconds_remaining_rejects_what_is_not_a_finite_non_negative_number(analysis, received, seconds):
    with pytest.raises(InvalidMonitorMessage):
        send_estimated_seconds_remaining(analysis, seconds, "wind-shear")
    assert received == []


def test_a_twine_whose_monitor_schema_rejects_essential_messages_rejects_them(received):
    analysis = Analysis(
        twine={"monitor_message_schema": {"type": "object", "required": ["progress"]}},
        handle_monitor_message=received.append,
    )
    with pytest.raises(InvalidMonitorMessage, match="progress"):
        send_status_text(analysis, "hello", "wind-shear")
    with pytest.raises(InvalidMonitorMessage, match="progress"):
        send_estimated_seconds_remaining(analysis, 5, "wind-shear")
    assert received == []


def test_a_twine_whose_monitor_schema_allows_essential_messages_lets_them_through(received):
    twine = {
        "monitor_message_schema": {
            "type": "object",
            "properties": {"type": {"enum": ["status_text", "estimated_seconds_remaining"]}},
            "required": ["type"],
        }
    }
    analysis = Analysis(twine=twine, handle_monitor_message=received.append)
    send_status_text(analysis, "hello", "wind-shear")
    send_estimated_seconds_remaining(analysis, 5, "wind-shear")
    assert [message["type"] for message in received] == ["status_text", "estimated_seconds_remaining"]


def test_the_bundled_schema_ships_with_the_package_and_validates_messages():
    schema = json.loads(
        resources.files("plait.essentials").joinpath("schemas", "essential_monitor_messages.json").read_text()
    )
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    validate_essential_monitor_message({"type": "status_text", "service": "s", "text": ""})
    validate_essential_monitor_message({"type": "estimated_seconds_remaining", "service": "s", "value": 0})
    for invalid in (
        {"type": "status_text", "service": "s"},
        {"type": "status_text", "service": "s", "text": "t", "extra": 1},
        {"type": "estimated_seconds_remaining", "service": "s", "value": -1},
        {"type": "progress", "service": "s", "value": 1},
        ["status_text"],
    ):
        with pytest.raises(InvalidMonitorMessage):
            validate_essential_monitor_message(invalid)
