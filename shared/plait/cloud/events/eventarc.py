"""CloudEvents in the exact shapes Eventarc delivers, built and parsed with the ``cloudevents`` library.

Two event types reach plait's functions:

- ``google.cloud.pubsub.topic.v1.messagePublished`` (questions and analyses topics): source
  ``//pubsub.googleapis.com/projects/<project>/topics/<topic>``, data
  ``{"subscription": "projects/<p>/subscriptions/<s>", "message": {"data": <base64>, "attributes":
  {...}, "messageId": ..., "publishTime": ..., "orderingKey": ...}}``.
- ``google.cloud.storage.object.v1.finalized`` (the datasets bucket): source
  ``//storage.googleapis.com/projects/_/buckets/<bucket>``, subject ``objects/<name>``, data the
  object's resource (``bucket``, ``name``, ``generation`` and ``size`` as strings, ...).

A Pub/Sub message may also arrive from a plain push subscription (no Eventarc; the Pub/Sub
emulator's push works so): a JSON body ``{"message": {...}, "subscription": ...}`` with no
CloudEvent headers. ``read_pubsub_delivery`` accepts both.

Either CloudEvent may arrive in binary mode (``ce-*`` headers, data as the body) or structured mode (one JSON
document). Parsing turns them into small typed records (``PubSubDelivery``, ``ObjectFinalized``)
or raises ``InvalidEvent`` saying what is wrong: callers treat that as a permanent error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from plait.exceptions import InvalidEvent

PUBSUB_MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_OBJECT_FINALIZED = "google.cloud.storage.object.v1.finalized"


@dataclass(frozen=True)
class PubSubDelivery:
    """A Pub/Sub message as a push delivery carries it."""

    data: bytes
    attributes: dict[str, str]
    message_id: str
    topic: str | None
    subscription: str | None
    publish_time: str | None = None
    ordering_key: str | None = None


@dataclass(frozen=True)
class ObjectFinalized:
    """A new object generation in a bucket."""

    bucket: str
    name: str
    generation: str
    metageneration: str | None
    size: int | None
    content_type: str | None


def read_cloud_event(headers: Mapping[str, str], body: bytes) -> Any:
    """The CloudEvent in an HTTP request (binary or structured mode).

    :raise plait.exceptions.InvalidEvent: if the request does not hold a valid CloudEvent
    """
    from cloudevents.http import from_http

    headers = {key: unquote(value) if _is_attribute_header(key) else value for key, value in headers.items()}
    try:
        return from_http(headers, body)
    except Exception as error:  # the library raises many kinds of errors on malformed input
        raise InvalidEvent(f"The request is not a valid CloudEvent: {type(error).__name__}: {error}") from None


def is_cloud_event(headers: Mapping[str, str]) -> bool:
    """Does an HTTP request carry a CloudEvent (binary or structured mode)? Any ``ce-*`` header says it
    was meant to, so a binary-mode event missing ``ce-specversion`` is a malformed CloudEvent, not a
    plain push."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return any(key.startswith("ce-") for key in lowered) or lowered.get("content-type", "").startswith(
        "application/cloudevents"
    )


def read_pubsub_delivery(headers: Mapping[str, str], body: bytes) -> tuple[PubSubDelivery, Any]:
    """The Pub/Sub message in a request, from an Eventarc CloudEvent or a plain push subscription;
    also returns the CloudEvent (None for a plain push) so a failure can still find the attributes.

    :raise plait.exceptions.InvalidEvent: if the request holds neither
    """
    if is_cloud_event(headers):
        cloud_event = read_cloud_event(headers, body)
        return pubsub_delivery(cloud_event), cloud_event
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidEvent("The request is neither a CloudEvent nor a Pub/Sub push (its body is not JSON).") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("message"), dict):
        raise InvalidEvent("The request is neither a CloudEvent nor a Pub/Sub push (no 'message' object).")
    subscription = envelope.get("subscription")
    return _delivery_from_envelope(envelope, message_id_fallback="", topic=None), {
        "data": envelope,
        "push": subscription,
    }


def pubsub_delivery(cloud_event: Any) -> PubSubDelivery:
    """The Pub/Sub message carried by a ``messagePublished`` CloudEvent.

    :raise plait.exceptions.InvalidEvent: on a wrong type, a malformed envelope, or data that is not base64
    """
    if cloud_event["type"] != PUBSUB_MESSAGE_PUBLISHED:
        raise InvalidEvent(f"Expected a {PUBSUB_MESSAGE_PUBLISHED} CloudEvent, got {cloud_event['type']!r}.")
    envelope = _json_data(cloud_event)
    source = str(cloud_event["source"])
    topic = source.rsplit("/topics/", 1)[1] if "/topics/" in source else None
    return _delivery_from_envelope(envelope, message_id_fallback=cloud_event["id"], topic=topic)


def _delivery_from_envelope(envelope: dict[str, Any], message_id_fallback: str, topic: str | None) -> PubSubDelivery:
    message = envelope.get("message")
    if not isinstance(message, dict):
        raise InvalidEvent("The Pub/Sub envelope has no 'message' object.")

    encoded = message.get("data", "")
    if not isinstance(encoded, str):
        raise InvalidEvent("The Pub/Sub message's 'data' must be a base64 string.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEvent("The Pub/Sub message's 'data' is not valid base64.") from None

    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in attributes.items()
    ):
        raise InvalidEvent("The Pub/Sub message's 'attributes' must map strings to strings.")

    message_id = message.get("messageId") or message.get("message_id") or message_id_fallback
    return PubSubDelivery(
        data=data,
        attributes=attributes,
        message_id=str(message_id),
        topic=topic,
        subscription=envelope.get("subscription") if isinstance(envelope.get("subscription"), str) else None,
        publish_time=message.get("publishTime") or message.get("publish_time"),
        ordering_key=message.get("orderingKey") or None,
    )


def object_finalized(cloud_event: Any) -> ObjectFinalized:
    """The object described by a ``storage.object.v1.finalized`` CloudEvent.

    :raise plait.exceptions.InvalidEvent: on a wrong type or a malformed object resource
    """
    if cloud_event["type"] != STORAGE_OBJECT_FINALIZED:
        raise InvalidEvent(f"Expected a {STORAGE_OBJECT_FINALIZED} CloudEvent, got {cloud_event['type']!r}.")
    data = _json_data(cloud_event)
    bucket, name, generation = data.get("bucket"), data.get("name"), data.get("generation")
    if not isinstance(bucket, str) or not bucket or not isinstance(name, str) or not name:
        raise InvalidEvent("The storage CloudEvent's object has no bucket or name.")
    if not _is_whole_number(generation):
        raise InvalidEvent(f"The storage CloudEvent's object has an invalid generation {generation!r}.")
    size = data.get("size")
    if size is not None and not _is_whole_number(size):
        raise InvalidEvent(f"The storage CloudEvent's object has an invalid size {size!r}.")
    return ObjectFinalized(
        bucket=bucket,
        name=name,
        generation=str(generation),
        metageneration=str(data["metageneration"]) if data.get("metageneration") is not None else None,
        size=int(size) if size is not None else None,
        content_type=data.get("contentType"),
    )


def make_pubsub_cloud_event(
    project: str,
    topic: str,
    subscription: str,
    data: bytes,
    attributes: dict[str, str],
    message_id: str | None = None,
    ordering_key: str | None = None,
    publish_time: dt.datetime | None = None,
) -> Any:
    """A ``messagePublished`` CloudEvent exactly as Eventarc sends it for a push subscription."""
    from cloudevents.http import CloudEvent

    message_id = message_id or str(uuid.uuid4().int)[:16]
    published = _rfc3339(publish_time or dt.datetime.now(dt.UTC))
    message: dict[str, Any] = {
        "attributes": attributes,
        "data": base64.b64encode(data).decode("ascii"),
        "messageId": message_id,
        "message_id": message_id,
        "publishTime": published,
        "publish_time": published,
    }
    if ordering_key:
        message["orderingKey"] = ordering_key
    return CloudEvent(
        {
            "id": message_id,
            "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
            "specversion": "1.0",
            "type": PUBSUB_MESSAGE_PUBLISHED,
            "time": published,
            "datacontenttype": "application/json",
        },
        {"message": message, "subscription": f"projects/{project}/subscriptions/{subscription}"},
    )


def make_object_finalized_cloud_event(
    bucket: str,
    name: str,
    generation: str | int,
    size: int,
    content_type: str = "application/octet-stream",
    metageneration: str | int = "1",
) -> Any:
    """A ``storage.object.v1.finalized`` CloudEvent exactly as Eventarc sends it."""
    from cloudevents.http import CloudEvent

    now = _rfc3339(dt.datetime.now(dt.UTC))
    object_id = f"{bucket}/{name}/{generation}"
    return CloudEvent(
        {
            "id": str(uuid.uuid4().int)[:16],
            "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            "specversion": "1.0",
            "type": STORAGE_OBJECT_FINALIZED,
            "subject": f"objects/{name}",
            "time": now,
            "datacontenttype": "application/json",
        },
        {
            "kind": "storage#object",
            "id": object_id,
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name}",
            "name": name,
            "bucket": bucket,
            "generation": str(generation),
            "metageneration": str(metageneration),
            "contentType": content_type,
            "timeCreated": now,
            "updated": now,
            "storageClass": "STANDARD",
            "timeStorageClassUpdated": now,
            "size": str(size),
            "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name}?generation={generation}&alt=media",
            "etag": "CAE=",
        },
    )


def to_http(cloud_event: Any, structured: bool = False) -> tuple[dict[str, str], bytes]:
    """Headers and body to POST a CloudEvent in binary (default) or structured mode.

    In binary mode, attribute values are percent-encoded in their ``ce-*`` headers as the CloudEvents
    HTTP binding requires (an object's name in ``ce-subject`` may hold any Unicode character; an HTTP
    header cannot); ``read_cloud_event`` decodes them.
    """
    from cloudevents.conversion import to_binary, to_structured

    headers, body = to_structured(cloud_event) if structured else to_binary(cloud_event)
    headers = {
        key: quote(str(value), safe=_HEADER_SAFE) if _is_attribute_header(key) else value
        for key, value in headers.items()
    }
    return headers, body if isinstance(body, bytes) else body.encode("utf-8")


#: What the CloudEvents HTTP binding leaves unencoded in a header: printable ASCII but '"' and '%'.
_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in '"%')


def _is_attribute_header(name: str) -> bool:
    return name.lower().startswith("ce-")


def _json_data(cloud_event: Any) -> dict[str, Any]:
    data = cloud_event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError:
            raise InvalidEvent("The CloudEvent's data is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidEvent("The CloudEvent's data must be a JSON object.")
    return data


def _is_whole_number(value: Any) -> bool:
    """A non-negative integer, or its decimal digits (ASCII only: ``"²".isdigit()`` is true)."""
    return isinstance(value, str | int) and re.fullmatch(r"[0-9]+", str(value)) is not None


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
