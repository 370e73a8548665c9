"""Sending one question's events, as the child answering it, to the topic the parent named.

Events go through one background thread in the order they were sent (Pub/Sub keeps that order
with the question UUID as ordering key), so an app's logging and monitor messages never wait on
the network. ``flush`` waits until everything sent so far is published and raises the first
failure, so the final answer is only published after everything before it.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from typing import Any

from plait.cloud.events.messages import CHILD, deterministic_event_uuid, encode_event, make_attributes
from plait.cloud.transport.base import Transport
from plait.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

#: Transient publish failures are retried this many times before the publisher gives up.
PUBLISH_ATTEMPTS = 3


def exception_type_name(error: BaseException) -> str:
    """The name a parent re-raises an exception by: ``ValueError`` for built-ins,
    ``plait.exceptions.InvalidValuesContents`` for plait's, the qualified name otherwise."""
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def exception_event(error: BaseException) -> dict[str, Any]:
    return {
        "kind": "exception",
        "exception_type": exception_type_name(error),
        "exception_message": str(error),
        "exception_traceback": traceback.format_exception(error),
    }


class EventPublisher:
    """Publishes the events of one question, as the child, to the question's ``reply_to`` topic.

    :param transport: the transport to publish with
    :param question_attributes: the attributes of the question being answered
    :param sender: the SRUID of the service answering
    """

    def __init__(self, transport: Transport, question_attributes: dict[str, str], sender: str) -> None:
        self.transport = transport
        self.question_uuid = question_attributes["question_uuid"]
        self.reply_to = question_attributes["reply_to"]
        self._base = {
            "question_uuid": self.question_uuid,
            "sender": sender,
            "sender_type": CHILD,
            "recipient": question_attributes.get("sender", "unknown"),
            "reply_to": self.reply_to,
            "parent_question_uuid": question_attributes.get("parent_question_uuid"),
            "originator_question_uuid": question_attributes.get("originator_question_uuid"),
            "retry_count": int(question_attributes.get("retry_count", "0") or 0),
        }
        #: Every event sent, in order (saved with crash diagnostics).
        self.sent: list[dict[str, Any]] = []
        self._queue: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    # -- what a child sends --

    def delivery_acknowledgement(self) -> None:
        self.send({"kind": "delivery_acknowledgement"}, event_name="delivery_acknowledgement")

    def heartbeat(self) -> None:
        self.send({"kind": "heartbeat"})

    def log_record(self, record: dict[str, Any]) -> None:
        self.send({"kind": "log_record", "log_record": record})

    def monitor_message(self, data: Any) -> None:
        self.send({"kind": "monitor_message", "data": data})

    def exception_answer(self, error: BaseException) -> dict[str, Any]:
        """The (unsent) answer reporting an error; its UUID is the same however often it is made."""
        return self.prepare(exception_event(error), event_name="answer")

    def result_answer(self, output_values: Any, output_manifest: dict | None) -> dict[str, Any]:
        """The (unsent) result answer; its UUID is the same however often it is made.

        :raise plait.exceptions.InvalidEvent: if the outputs cannot be sent (not JSON, or too large)
        """
        event = {"kind": "result", "output_values": output_values, "output_manifest": output_manifest}
        return self.prepare(event, event_name="answer")

    # -- the machinery --

    def attributes_for(self, kind: str, event_name: str | None = None) -> dict[str, str]:
        """Attributes for an event; a named event gets the same UUID every time it is sent for this
        question (so a parent can drop the duplicates a redelivery produces)."""
        event_uuid = deterministic_event_uuid(self.question_uuid, event_name) if event_name else None
        return make_attributes(kind=kind, event_uuid=event_uuid, **self._base)

    def prepare(self, event: dict[str, Any], event_name: str | None = None) -> dict[str, Any]:
        """Validate an event and give it attributes: ``{"event": ..., "attributes": ...}``, not yet sent.

        :raise plait.exceptions.InvalidEvent: if the event breaks its schema or is too large to send
        """
        attributes = self.attributes_for(event["kind"], event_name)
        encode_event(event, attributes)
        return {"event": event, "attributes": attributes}

    def send(self, event: dict[str, Any], event_name: str | None = None) -> dict[str, Any]:
        """Validate and queue an event for publishing; return ``{"event": ..., "attributes": ...}``.

        :raise plait.exceptions.InvalidEvent: if the event breaks its schema (e.g. outputs that are not JSON)
        """
        attributes = self.attributes_for(event["kind"], event_name)
        message = {"event": event, "attributes": attributes}
        self._enqueue(message, encode_event(event, attributes))
        return message

    def send_now(self, event: dict[str, Any], event_name: str | None = None) -> dict[str, Any]:
        """Validate and publish one event at once, on this thread (no queue or worker: for a handler
        that sends a single event, such as intake's delivery acknowledgement).

        :raise plait.exceptions.ServiceUnavailable: if it could not be published
        """
        attributes = self.attributes_for(event["kind"], event_name)
        message = {"event": event, "attributes": attributes}
        self.transport.publish(
            self.reply_to, encode_event(event, attributes), attributes, ordering_key=self.question_uuid
        )
        self.sent.append(message)
        return message

    def send_recorded(self, message: dict[str, Any]) -> None:
        """Queue an event exactly as prepared or recorded before (e.g. a recorded answer, sent again)."""
        self._enqueue(message, encode_event(message["event"], message["attributes"]))

    def _enqueue(self, message: dict[str, Any], data: bytes) -> None:
        with self._lock:
            self.sent.append(message)
            if self._worker is None:
                self._worker = threading.Thread(target=self._publish_forever, name="plait-event-publisher", daemon=True)
                self._worker.start()
        self._queue.put((data, message["attributes"]))

    def flush(self, timeout: float | None = 60) -> None:
        """Wait until every queued event is published.

        :raise plait.exceptions.ServiceUnavailable: if an event could not be published
        """
        done = threading.Event()
        self._queue.put(done)
        if self._worker is not None and not done.wait(timeout):
            raise ServiceUnavailable(f"Publishing the events of question {self.question_uuid} timed out.")
        if self._error is not None:
            error, self._error = self._error, None
            raise ServiceUnavailable(
                f"Could not publish the events of question {self.question_uuid} to {self.reply_to}: {error}"
            ) from error

    def close(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    def _publish_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            if self._error is not None:
                continue  # once one event failed, later ones must not overtake it
            data, attributes = item
            for attempt in range(1, PUBLISH_ATTEMPTS + 1):
                try:
                    self.transport.publish(self.reply_to, data, attributes, ordering_key=self.question_uuid)
                    break
                except ServiceUnavailable as error:
                    if attempt == PUBLISH_ATTEMPTS:
                        self._error = error
                except Exception as error:
                    self._error = error
                    break
