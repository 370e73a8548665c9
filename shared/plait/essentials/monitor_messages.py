"""Essential monitor messages: a status text, or an estimate of the seconds remaining.

Each message is validated against the bundled schema
(``plait/essentials/schemas/essential_monitor_messages.json``) and then sent with
``analysis.send_monitor_message``, which also validates it against the service's own
``monitor_message_schema`` if the twine has one: a service that sends these messages and has a
monitor schema must let them through (e.g. with an ``anyOf`` that includes their shape).
"""

from __future__ import annotations

import functools
import json
import logging
import math
from importlib import resources
from typing import Any

from plait.exceptions import InvalidMonitorMessage

logger = logging.getLogger(__name__)

SCHEMA_NAME = "essential_monitor_messages.json"


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(resources.files("plait.essentials").joinpath("schemas", SCHEMA_NAME).read_text())
    return Draft202012Validator(schema)


def validate_essential_monitor_message(message: dict[str, Any]) -> None:
    """:raise plait.exceptions.InvalidMonitorMessage: if the message is not an essential monitor message"""
    errors = sorted(_validator().iter_errors(message), key=lambda error: error.path)
    if errors:
        raise InvalidMonitorMessage(f"Not an essential monitor message ({message!r}): {errors[0].message}")


def send_status_text(analysis: Any, text: str, service_name: str) -> None:
    """Send a status-text monitor message from the analysis, and log the text at INFO level.

    :param analysis: the analysis sending the message
    :param text: the status text
    :param service_name: the name of the service running the analysis
    """
    message = {"type": "status_text", "service": service_name, "text": text}
    validate_essential_monitor_message(message)
    logger.info(text)
    analysis.send_monitor_message(message)


def send_estimated_seconds_remaining(analysis: Any, estimated_seconds_remaining: float, service_name: str) -> None:
    """Send an estimated-seconds-remaining monitor message from the analysis.

    :param analysis: the analysis sending the message
    :param estimated_seconds_remaining: a finite, non-negative number of seconds
    :param service_name: the name of the service running the analysis
    """
    if isinstance(estimated_seconds_remaining, bool) or not isinstance(estimated_seconds_remaining, int | float):
        raise InvalidMonitorMessage(
            f"estimated_seconds_remaining must be a number, not {estimated_seconds_remaining!r}."
        )
    if not math.isfinite(estimated_seconds_remaining):
        raise InvalidMonitorMessage(f"estimated_seconds_remaining must be finite, not {estimated_seconds_remaining!r}.")
    message = {"type": "estimated_seconds_remaining", "service": service_name, "value": estimated_seconds_remaining}
    validate_essential_monitor_message(message)
    analysis.send_monitor_message(message)
