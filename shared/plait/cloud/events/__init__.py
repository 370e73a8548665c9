"""The service protocol: SRUIDs, events and their attributes, and the CloudEvents that carry them."""

from plait.cloud.events.messages import (
    CHILD,
    EVENT_KINDS,
    PARENT,
    decode_event,
    deterministic_event_uuid,
    encode_event,
    make_attributes,
    validate_event,
)
from plait.cloud.events.sruid import ServiceRevision

__all__ = [
    "CHILD",
    "EVENT_KINDS",
    "PARENT",
    "ServiceRevision",
    "decode_event",
    "deterministic_event_uuid",
    "encode_event",
    "make_attributes",
    "validate_event",
]
