"""Identifiers, timestamps and JSON files shared by the resource classes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from plait.exceptions import InvalidIdentifierException, InvalidInputException


def validate_id(id: str | uuid.UUID | None) -> str:
    """Return ``id`` as a canonical lowercase UUID string, or a new random UUID if it is None.

    :raise plait.exceptions.InvalidIdentifierException: if ``id`` is not a UUID
    """
    if id is None:
        return str(uuid.uuid4())
    if isinstance(id, uuid.UUID):
        return str(id)
    try:
        return str(uuid.UUID(str(id)))
    except ValueError:
        raise InvalidIdentifierException(
            f"{id!r} is not a valid id: ids are UUIDs such as '{uuid.uuid4()}'. Pass a UUID, or None to "
            "have one generated."
        ) from None


def parse_timestamp(timestamp: dt.datetime | int | float | str | None) -> dt.datetime | None:
    """Normalise a timestamp (datetime, posix seconds or ISO 8601 text) to an aware UTC datetime.

    Naive datetimes are taken to be in UTC.

    :raise plait.exceptions.InvalidInputException: if the timestamp is none of those
    """
    if timestamp is None:
        return None
    if isinstance(timestamp, bool):
        raise InvalidInputException(
            f"A timestamp must be a datetime, posix seconds or ISO 8601 text, not {timestamp!r}."
        )
    if isinstance(timestamp, dt.datetime):
        return timestamp.astimezone(dt.UTC) if timestamp.tzinfo else timestamp.replace(tzinfo=dt.UTC)
    if isinstance(timestamp, int | float):
        try:
            return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):  # NaN, infinity, or beyond the years datetime holds
            pass
    if isinstance(timestamp, str):
        try:
            return parse_timestamp(dt.datetime.fromisoformat(timestamp))
        except ValueError:
            pass
    raise InvalidInputException(
        f"{timestamp!r} is not a valid timestamp: use a datetime, posix seconds (e.g. 1700000000.0) or "
        "ISO 8601 text (e.g. '2024-01-31T12:00:00+00:00')."
    )


def format_timestamp(timestamp: dt.datetime | None) -> str | None:
    return timestamp.isoformat() if timestamp is not None else None


def write_json_file(filename: str, primitive: Any, **kwargs: Any) -> None:
    """Write a JSON-compatible primitive to a file (keyword arguments go to ``json.dump``)."""
    kwargs.setdefault("indent", 2)
    with open(filename, "w", encoding="utf-8") as file:
        json.dump(primitive, file, **kwargs)


def load_json(serialised: str | dict, from_string: bool) -> dict:
    """A dictionary from a dictionary or (``from_string=True``) a JSON string."""
    if from_string or isinstance(serialised, str | bytes):
        try:
            serialised = json.loads(serialised)
        except ValueError as error:
            raise InvalidInputException(
                f"Could not deserialise: the string given is not valid JSON ({error})."
            ) from error
    if not isinstance(serialised, dict):
        raise InvalidInputException(f"Could not deserialise: expected a JSON object, got {type(serialised).__name__}.")
    return serialised
