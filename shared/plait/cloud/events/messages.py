"""plait events: JSON bodies with string attributes, validated against bundled schemas on sending
and on receipt.

An event is a dict with a ``kind`` (``question``, ``cancellation``, ``delivery_acknowledgement``,
``heartbeat``, ``log_record``, ``monitor_message``, ``exception``, ``result``) and that kind's
fields (``schemas/event.json``). Its attributes (``schemas/attributes.json``) say which question
it belongs to, who sent it to whom, and where answers go (``reply_to``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from importlib import resources
from typing import Any

from plait import __version__
from plait.exceptions import InvalidEvent, PayloadTooLarge

EVENT_KINDS = (
    "question",
    "cancellation",
    "delivery_acknowledgement",
    "heartbeat",
    "log_record",
    "monitor_message",
    "exception",
    "result",
)

PARENT = "PARENT"
CHILD = "CHILD"

#: Pub/Sub's limit on a message (data plus attributes) is 10 MB; events must fit in it.
MAXIMUM_EVENT_BYTES = 10_000_000

#: The value of ``parent_question_uuid`` for a question no other question asked.
NO_PARENT = "none"


@functools.cache
def _validator(schema_name: str) -> Any:
    from plait.twine.validators import SchemaValidator

    schema = json.loads(resources.files("plait.cloud.events").joinpath("schemas", schema_name).read_text())
    return SchemaValidator(schema)


def make_attributes(
    kind: str,
    question_uuid: str,
    sender: str,
    sender_type: str,
    recipient: str,
    reply_to: str,
    parent_question_uuid: str | None = None,
    originator_question_uuid: str | None = None,
    retry_count: int = 0,
    event_uuid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The attributes of a new event (all strings). ``event_uuid`` defaults to a random UUID; give a
    deterministic one where a redelivered handler must send the very same event again."""
    return {
        "kind": kind,
        "uuid": event_uuid or str(uuid.uuid4()),
        "question_uuid": question_uuid,
        "parent_question_uuid": parent_question_uuid or NO_PARENT,
        "originator_question_uuid": originator_question_uuid or question_uuid,
        "sender": sender,
        "sender_type": sender_type,
        "recipient": recipient,
        "reply_to": reply_to,
        "retry_count": str(retry_count),
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "sdk_version": __version__,
        **extra,
    }


def deterministic_event_uuid(question_uuid: str, name: str) -> str:
    """A UUID that is the same every time for one question and name (e.g. its delivery acknowledgement),
    so a parent can recognise the duplicates at-least-once delivery produces."""
    return str(uuid.uuid5(uuid.UUID(question_uuid), name))


def validate_event(event: Any, attributes: Any) -> None:
    """:raise plait.exceptions.InvalidEvent: naming the first problem and where it is"""
    if not isinstance(attributes, dict) or not all(isinstance(value, str) for value in attributes.values()):
        raise InvalidEvent("An event's attributes must be an object whose values are all strings.")
    error = _validator("attributes.json").first_error(attributes)
    if error is not None:
        raise InvalidEvent(f"Invalid event attributes: {error.json_path}: {_short(error.message)}")
    if not isinstance(event, dict):
        raise InvalidEvent(f"An event must be a JSON object, not {type(event).__name__}.")
    error = _validator("event.json").first_error(event)
    if error is not None:
        raise InvalidEvent(
            f"Invalid {event.get('kind', 'unknown')!r} event: {error.json_path}: {_short(error.message)}"
        )
    if event["kind"] != attributes["kind"]:
        raise InvalidEvent(f"The event is a {event['kind']!r} but its attributes say {attributes['kind']!r}.")


def encode_event(event: dict[str, Any], attributes: dict[str, str]) -> bytes:
    """Validate an event and encode its body as UTF-8 JSON.

    :raise plait.exceptions.InvalidEvent: if the event or its attributes break their schemas
    :raise plait.exceptions.PayloadTooLarge: if it would not fit in one Pub/Sub message
    """
    validate_event(event, attributes)
    try:
        data = json.dumps(event, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidEvent(f"The {event['kind']!r} event is not JSON: {error}") from error
    size = len(data) + sum(len(key) + len(value.encode("utf-8")) for key, value in attributes.items())
    if size > MAXIMUM_EVENT_BYTES:
        raise PayloadTooLarge(
            f"The {event['kind']!r} event is {size:,} bytes, more than the {MAXIMUM_EVENT_BYTES:,} a Pub/Sub message "
            "can carry: put large inputs or outputs in a dataset (a manifest) instead of in the values."
        )
    return data


def decode_event(data: bytes, attributes: dict[str, str]) -> dict[str, Any]:
    """Decode and validate an event body received with these attributes.

    :raise plait.exceptions.InvalidEvent: if the body is not JSON or the event breaks its schemas
    """
    if len(data) > MAXIMUM_EVENT_BYTES:
        raise PayloadTooLarge(f"The event is {len(data):,} bytes, more than the {MAXIMUM_EVENT_BYTES:,} allowed.")
    try:
        event = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidEvent(f"The event's data is not JSON: {error}") from error
    except RecursionError:
        raise InvalidEvent("The event's data is nested too deeply to decode.") from None
    validate_event(event, attributes)
    return event


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "..."
