"""Question intake: validate a question and dispatch it to the analysis runner.

For each message on the questions topic:

1. decode and validate the event and its attributes (bundled schemas);
2. a ``cancellation`` is recorded for the running analysis to find;
3. a ``question`` must be addressed to this service, and its inputs must satisfy the twine;
4. it is recorded in the service bucket (a redelivery finds it there; the same UUID with a
   different question is refused);
5. the parent is sent a delivery acknowledgement, and the question is dispatched to the
   analyses topic (ordering key: the question UUID).

Bad input is answered with an ``exception`` event (when the parent can be identified) and
acknowledged; transient failures raise, so the trigger retries.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from plait.cloud.events.eventarc import PubSubDelivery
from plait.cloud.events.messages import decode_event
from plait.cloud.events.publisher import EventPublisher
from plait.cloud.service.rejection import is_permanent, reject
from plait.exceptions import InvalidEvent, UnknownRecipient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a handler did with a message (every outcome is acknowledged)."""

    action: str
    question_uuid: str | None = None
    detail: str = ""


def handle_question(delivery: PubSubDelivery, service: Any) -> Outcome:
    """Handle one message from the questions topic.

    :raise plait.exceptions.ServiceUnavailable: on a transient failure (the message will be redelivered)
    """
    attributes = delivery.attributes
    try:
        event = decode_event(delivery.data, attributes)
        if event["kind"] == "cancellation":
            service.store.request_cancellation(attributes["question_uuid"], event.get("reason", ""))
            logger.info("Cancellation requested for question %s.", attributes["question_uuid"])
            return Outcome("cancellation_recorded", attributes["question_uuid"])
        if event["kind"] != "question":
            raise InvalidEvent(f"Only questions and cancellations are accepted here, not {event['kind']!r} events.")
        if attributes["recipient"] != service.sruid:
            raise UnknownRecipient(
                f"This question is for {attributes['recipient']!r}, but this is {service.sruid!r}: ask the right "
                "service, or check its revision tag."
            )
        if attributes["reply_to"] in (service.settings.questions_topic, service.settings.analyses_topic):
            raise InvalidEvent(
                f"reply_to is {attributes['reply_to']!r}, one of this service's own input topics: answers must go "
                f"to a topic the parent reads (e.g. {service.settings.revision.answers_topic!r})."
            )
        input_values = event.get("input_values")
        # Values in an event are JSON values: a string is a string, never JSON text or a path to a file
        # (which ``validate_values`` would read from this machine's disk).
        service.twine.validate_values(
            "input_values", json.dumps(input_values) if isinstance(input_values, str) else input_values
        )
        service.twine.validate_manifest("input_manifest", event.get("input_manifest"))
        service.store.record_question(attributes["question_uuid"], event, attributes)
    except Exception as error:
        if not is_permanent(error):
            raise
        answered = reject(service, attributes, error)
        return Outcome(
            "rejected",
            attributes.get("question_uuid"),
            f"{type(error).__name__}: {error}" + ("" if answered else " (no parent to tell)"),
        )

    question_uuid = attributes["question_uuid"]
    publisher = EventPublisher(service.transport, attributes, sender=service.sruid)
    publisher.send_now({"kind": "delivery_acknowledgement"}, event_name="delivery_acknowledgement")
    service.transport.publish(service.settings.analyses_topic, delivery.data, attributes, ordering_key=question_uuid)
    logger.info("Question %s accepted and dispatched.", question_uuid)
    return Outcome("dispatched", question_uuid)
