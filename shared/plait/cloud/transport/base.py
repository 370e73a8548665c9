"""The transport interface: how events are published to topics and received by parents.

Two implementations: ``plait.cloud.transport.pubsub.GooglePubSubTransport`` (Google Cloud Pub/Sub,
also against its official emulator) and ``plait.cloud.transport.local.LocalBus`` (the local
stack's in-process bus). Functions, the local stack and ``Child`` use only this interface.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    """A message as received from a topic."""

    data: bytes
    attributes: dict[str, str]
    message_id: str
    publish_time: dt.datetime | None = None
    ordering_key: str | None = None
    #: How many times this message has been delivered (1 on first delivery), if known.
    delivery_attempt: int | None = field(default=None, compare=False)


class Subscription(ABC):
    """The messages published to a topic for one question, from when the subscription was opened.

    Only messages whose ``question_uuid`` attribute is the subscription's are returned, whether or
    not the backend applies subscription filters (the Pub/Sub emulator does not).
    """

    question_uuid: str

    @abstractmethod
    def receive(self, timeout: float | None = None) -> Message | None:
        """The next message for the question (acknowledged), or None if none came within ``timeout`` seconds."""

    @abstractmethod
    def close(self) -> None:
        """Stop receiving, and delete the subscription where the backend keeps one."""

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Transport(ABC):
    """Publishes to topics and opens per-question subscriptions."""

    @abstractmethod
    def create_topic(self, topic: str) -> None:
        """Create a topic if it does not exist ("already exists" is success)."""

    @abstractmethod
    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None) -> str:
        """Publish a message and wait until the backend has accepted it; return its message id.

        :raise plait.exceptions.ServiceUnavailable: on a transient failure (the caller may retry)
        """

    @abstractmethod
    def subscribe(self, topic: str, question_uuid: str) -> Subscription:
        """Open a subscription to the topic for one question's messages (published from now on)."""

    def close(self) -> None:  # noqa: B027 - optional: most transports hold nothing to release
        """Release any clients or threads the transport holds."""
