"""``ChildEmulator``: a stand-in for ``Child`` that replays a child's events without any messaging.

Give it the events a real child could send (each ``{"kind": ..., ...}`` as in
``plait/cloud/events/schemas/event.json``, or ``{"event": ..., "attributes": ...}`` as
``record_messages_to`` saves them): ``ask`` handles them exactly as ``Child.ask`` handles a real
child's (logs forwarded, monitor messages handled, exceptions re-raised, the result returned).
Unlike a real child, the inputs are not validated: the emulator has no twine.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from plait.cloud.events.answers import AnswerHandler
from plait.cloud.events.messages import CHILD, make_attributes
from plait.exceptions import InvalidEvent, InvalidInputException


class ChildEmulator:
    """Replays a child's events to the parent that asks it.

    :param id: the child's id (a random UUID if None)
    :param backend: accepted for compatibility with ``Child``; unused
    :param internal_service_name: the parent's name (defaults to ``<id>-parent``)
    :param messages: the events to replay, in order
    """

    def __init__(
        self,
        id: str | None = None,
        backend: dict | None = None,
        internal_service_name: str | None = None,
        messages: list[dict[str, Any]] | None = None,
    ) -> None:
        self.id = id or str(uuid.uuid4())
        self.backend = backend or {"name": "EmulatedBackend"}
        self.internal_service_name = internal_service_name or f"{self.id}-parent"
        if messages is not None and not isinstance(messages, list):
            raise InvalidInputException("A ChildEmulator's messages must be a list of events.")
        self.messages = list(messages or [])

    @classmethod
    def from_file(cls, path: str) -> ChildEmulator:
        """Make an emulator from a JSON file holding any of ``id``, ``backend``,
        ``internal_service_name`` and ``messages``."""
        with open(path, encoding="utf-8") as file:
            content = json.load(file)
        if not isinstance(content, dict):
            raise InvalidInputException(f"{path} must hold a JSON object (with 'messages', ...).")
        known = {"id", "backend", "internal_service_name", "messages"}
        return cls(**{key: value for key, value in content.items() if key in known})

    def ask(
        self,
        input_values: Any = None,
        input_manifest: Any = None,
        subscribe_to_logs: bool = True,
        allow_local_files: bool = False,
        handle_monitor_message: Any = None,
        record_messages_to: str | None = None,
        question_uuid: str | None = None,
        timeout: float = 86400,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Replay the events; return the answer their ``result`` gives, or raise their ``exception``.

        :raise plait.exceptions.InvalidEvent: if an event is malformed, or none is a result or exception
        """
        question_uuid = question_uuid or str(uuid.uuid4())
        handler = AnswerHandler(
            question_uuid,
            self.id,
            handle_monitor_message=handle_monitor_message,
            subscribe_to_logs=subscribe_to_logs,
            record_messages_to=record_messages_to,
        )
        for index, message in enumerate(self.messages):
            event = message.get("event", message) if isinstance(message, dict) else message
            if not isinstance(event, dict):
                raise InvalidEvent(f"Message {index} of the emulated child is not an event object.")
            attributes = make_attributes(
                kind=str(event.get("kind")),
                question_uuid=question_uuid,
                sender=self.id,
                sender_type=CHILD,
                recipient=self.internal_service_name,
                reply_to="plait.emulated.answers",
            )
            answer = handler.handle(event, attributes)
            if answer is not None:
                return answer
        raise InvalidEvent(
            f"The emulated child {self.id!r} ran out of messages without a result or an exception: end its "
            "messages with a 'result' (or an 'exception') event."
        )

    def ask_multiple(self, *questions: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.ask(**question) for question in questions]
