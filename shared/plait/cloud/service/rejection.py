"""Answering a question that can never succeed: an ``exception`` event to the parent, if one can be
identified from the message's attributes; otherwise the problem is only logged. A child's event
(an answer) and a message whose ``reply_to`` is one of this service's own input topics are never
answered: the answer would come straight back as another bad message, in an endless loop."""

from __future__ import annotations

import logging
import re
from typing import Any

from plait.cloud.events.messages import CHILD
from plait.cloud.events.publisher import EventPublisher
from plait.exceptions import PlaitException

logger = logging.getLogger(__name__)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TOPIC = re.compile(r"^[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$")


def reject(service: Any, attributes: Any, error: BaseException) -> bool:
    """Tell the parent (if it can be identified) that its question failed permanently.

    :return: True if an exception event was published
    """
    parent = identify_parent(attributes)
    if parent is None:
        logger.error("Rejected a message whose sender cannot be identified (nothing to answer): %s", error)
        return False
    if attributes.get("sender_type") == CHILD or parent["reply_to"] in _own_input_topics(service):
        # A child's event is itself an answer, and this service consumes its own input topics: an
        # exception event sent there would come back as another bad message, and so on forever.
        logger.error(
            "Rejected an event that must not be answered (a child's event, or reply_to %s is one of this "
            "service's own topics): %s",
            parent["reply_to"],
            error,
        )
        return False
    logger.error("Rejected question %s: %s: %s", parent["question_uuid"], type(error).__name__, error)
    publisher = EventPublisher(service.transport, parent, sender=service.sruid)
    try:
        publisher.send_recorded(publisher.exception_answer(error))
        publisher.flush()
    finally:
        publisher.close()
    return True


def identify_parent(attributes: Any) -> dict[str, str] | None:
    """The attributes needed to answer, if they are there and well formed (the rest is dropped)."""
    if not isinstance(attributes, dict):
        return None
    question_uuid, reply_to = attributes.get("question_uuid"), attributes.get("reply_to")
    if not (isinstance(question_uuid, str) and _UUID.match(question_uuid)):
        return None
    if not (isinstance(reply_to, str) and _TOPIC.match(reply_to)):
        return None
    parent = {"question_uuid": question_uuid, "reply_to": reply_to}
    for key in ("parent_question_uuid", "originator_question_uuid"):
        if isinstance(attributes.get(key), str) and _UUID.match(attributes[key]):
            parent[key] = attributes[key]
    sender = attributes.get("sender")
    parent["sender"] = sender if isinstance(sender, str) and 0 < len(sender) <= 512 else "unknown"
    return parent


def _own_input_topics(service: Any) -> tuple[str, ...]:
    return (service.settings.questions_topic, service.settings.analyses_topic)


def is_permanent(error: BaseException) -> bool:
    """Bad input (never fixed by retrying) as opposed to a transient failure."""
    from plait.exceptions import CloudStorageError, ServiceUnavailable

    return isinstance(error, PlaitException) and not isinstance(error, ServiceUnavailable | CloudStorageError)
