"""The parent's side of a question: handling the events a child sends back until the answer comes.

``AnswerHandler`` is shared by ``Child`` (events from a subscription) and ``ChildEmulator``
(events replayed from a list), so an emulated child is handled exactly like a real one:

- duplicates (same event ``uuid``; delivery is at least once) are dropped;
- ``delivery_acknowledgement`` and ``heartbeat`` only prove the child is alive;
- ``log_record`` is re-emitted into this process's logging (its logger name kept, its message
  prefixed with the child's id), if logs were asked for;
- ``monitor_message`` goes to ``handle_monitor_message``;
- ``exception`` is raised again here with the same type (a built-in or plait exception; any other
  type becomes ``RemoteException`` naming it), the remote traceback appended to its message;
- ``result`` ends the question: ``{"output_values": ..., "output_manifest": Manifest | None}``.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from plait import exceptions as plait_exceptions
from plait.cloud.events.messages import validate_event
from plait.cloud.transport.base import Subscription
from plait.exceptions import InvalidEvent, RemoteException

logger = logging.getLogger(__name__)


class AnswerHandler:
    """Handles one question's events (see the module docstring).

    :param question_uuid: the question's UUID
    :param child_id: the child's SRUID (shown in forwarded log records and errors)
    :param handle_monitor_message: called with each monitor message's data
    :param subscribe_to_logs: re-emit the child's log records locally
    :param record_messages_to: a JSON file to save every event received to
    """

    def __init__(
        self,
        question_uuid: str,
        child_id: str,
        handle_monitor_message: Callable[[Any], None] | None = None,
        subscribe_to_logs: bool = True,
        record_messages_to: str | None = None,
    ) -> None:
        self.question_uuid = question_uuid
        self.child_id = child_id
        self.handle_monitor_message = handle_monitor_message
        self.subscribe_to_logs = subscribe_to_logs
        self.record_messages_to = record_messages_to
        #: Every event received (duplicates dropped), as ``{"event", "attributes"}``.
        self.received: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self.acknowledged = False

    def handle(self, event: dict[str, Any], attributes: dict[str, str]) -> dict[str, Any] | None:
        """Handle one event; return the answer if it was the result, raise if it was an exception.

        :raise plait.exceptions.InvalidEvent: if the event is malformed
        """
        validate_event(event, attributes)
        if attributes["question_uuid"] != self.question_uuid:
            return None  # another question's event: not ours (some backends don't filter)
        if attributes["uuid"] in self._seen:
            return None
        self._seen.add(attributes["uuid"])
        self.received.append({"event": event, "attributes": attributes})

        kind = event["kind"]
        if kind == "delivery_acknowledgement":
            self.acknowledged = True
            logger.debug("delivery acknowledged: %s accepted question %s", self.child_id, self.question_uuid)
        elif kind == "heartbeat":
            logger.debug("heartbeat from %s", self.child_id)
        elif kind == "log_record" and self.subscribe_to_logs:
            self._forward_log_record(event["log_record"])
        elif kind == "monitor_message" and self.handle_monitor_message is not None:
            self.handle_monitor_message(event["data"])
        elif kind == "exception":
            self.save_received()
            raise remote_exception(event, self.child_id)
        elif kind == "result":
            self.save_received()
            from plait.resources import Manifest

            manifest = event["output_manifest"]
            return {
                "output_values": event["output_values"],
                "output_manifest": Manifest.deserialise(manifest) if manifest is not None else None,
            }
        return None

    def wait(self, subscription: Subscription, timeout: float, maximum_heartbeat_interval: float) -> dict[str, Any]:
        """Receive events until the answer arrives.

        :raise TimeoutError: if no answer comes within ``timeout`` seconds, or no event at all within
            ``maximum_heartbeat_interval`` seconds (the child is presumed dead)
        """
        started = last_event = time.monotonic()
        while True:
            now = time.monotonic()
            remaining = min(started + timeout - now, last_event + maximum_heartbeat_interval - now)
            if remaining <= 0:
                self.save_received()
                if now >= started + timeout:
                    raise TimeoutError(
                        f"No answer from {self.child_id} to question {self.question_uuid} within {timeout} s."
                    )
                raise TimeoutError(
                    f"No event (not even a heartbeat) from {self.child_id} for {maximum_heartbeat_interval} s while "
                    f"waiting for the answer to question {self.question_uuid}: it has probably stopped."
                )
            message = subscription.receive(timeout=min(remaining, 1.0))
            if message is None:
                continue
            last_event = time.monotonic()
            try:
                event = json.loads(message.data)
            except ValueError:
                logger.warning("Ignored an event from %s whose data is not JSON.", self.child_id)
                continue
            try:
                answer = self.handle(event, message.attributes)
            except InvalidEvent as error:
                logger.warning("Ignored a malformed event from %s: %s", self.child_id, error)
                continue
            if answer is not None:
                return answer

    def save_received(self) -> None:
        if self.record_messages_to:
            directory = os.path.dirname(os.path.abspath(self.record_messages_to))
            os.makedirs(directory, exist_ok=True)
            with open(self.record_messages_to, "w", encoding="utf-8") as file:
                json.dump(self.received, file, indent=2)

    def _forward_log_record(self, primitive: dict[str, Any]) -> None:
        fields = {key: value for key, value in primitive.items() if key not in ("msg", "args", "exc_info")}
        record = logging.makeLogRecord(
            {**fields, "msg": f"[{self.child_id}] {primitive['msg']}", "args": None, "exc_info": None}
        )
        logging.getLogger(record.name).handle(record)


def remote_exception(event: dict[str, Any], child_id: str) -> BaseException:
    """The exception an ``exception`` event describes, with the remote traceback in its message."""
    type_name = event["exception_type"]
    traceback_text = "".join(event.get("exception_traceback") or [])
    message = f"{event['exception_message']}\n\nRemote traceback (from {child_id}):\n{traceback_text}"

    exception_class: Any = None
    if "." not in type_name:
        exception_class = getattr(builtins, type_name, None)
    elif type_name.startswith("plait.exceptions."):
        exception_class = getattr(plait_exceptions, type_name.rpartition(".")[2], None)
    if not (isinstance(exception_class, type) and issubclass(exception_class, BaseException)):
        return RemoteException(f"{type_name}: {message}")
    try:
        return exception_class(message)
    except Exception:
        return RemoteException(f"{type_name}: {message}")
