"""The local stack's in-process message bus: Pub/Sub's guarantees without a cloud account.

- **Pull subscriptions** (parents waiting for answers): each gets the messages published to its
  topic after it was opened, for its question only.
- **Push endpoints** (the functions): each message is delivered as a CloudEvent in Eventarc's
  ``messagePublished`` shape, over HTTP (binary mode) to a functions-framework server, or to a
  callable in this process. Delivery is at least once: a non-2xx answer (or a connection error)
  is retried with exponential backoff, and after ``maximum_delivery_attempts`` the message goes
  to the dead-letter list (and the dead-letter topic, if the endpoint names one). Messages with
  the same ordering key are delivered one at a time, in order, as Pub/Sub does with ordering on.
- **Storage triggers**: ``object_finalized`` delivers a ``storage.object.v1.finalized``
  CloudEvent to the endpoints registered for the bucket, the same way.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from plait.cloud.events.eventarc import make_object_finalized_cloud_event, make_pubsub_cloud_event, to_http
from plait.cloud.transport.base import Message, Subscription, Transport
from plait.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

#: A push target: a URL, or a callable given (headers, body) and returning an HTTP status.
Target = str | Callable[[dict[str, str], bytes], int]


@dataclass
class PushEndpoint:
    name: str
    target: Target
    project: str = "plait-local"
    structured: bool = False
    dead_letter_topic: str | None = None


@dataclass
class _Delivery:
    endpoint: PushEndpoint
    headers: dict[str, str]
    body: bytes
    ordering_key: str | None
    description: str
    attempts: int = 0


@dataclass
class _Topic:
    subscriptions: list[_LocalSubscription] = field(default_factory=list)
    endpoints: list[PushEndpoint] = field(default_factory=list)


class LocalBus(Transport):
    """An in-process stand-in for Pub/Sub (and for Eventarc's delivery of storage events).

    :param maximum_delivery_attempts: deliveries of one message to one endpoint before dead-lettering
    :param minimum_backoff: seconds before the first redelivery (doubling up to ``maximum_backoff``)
    :param maximum_backoff: the longest wait between redeliveries
    :param workers: threads delivering to push endpoints
    """

    _instance: LocalBus | None = None
    _instance_lock = threading.Lock()

    def __init__(
        self,
        maximum_delivery_attempts: int = 5,
        minimum_backoff: float = 0.1,
        maximum_backoff: float = 10.0,
        workers: int = 16,
    ) -> None:
        self.maximum_delivery_attempts = maximum_delivery_attempts
        self.minimum_backoff = minimum_backoff
        self.maximum_backoff = maximum_backoff
        self._topics: dict[str, _Topic] = defaultdict(_Topic)
        self._storage_endpoints: dict[str, list[PushEndpoint]] = defaultdict(list)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plait-bus")
        self._ordered: dict[tuple[str, str], list[_Delivery]] = {}
        self._closed = False
        #: Messages that could not be delivered: (endpoint name, description, last status).
        self.dead_letters: list[tuple[str, str, Any]] = []
        #: Every delivery attempt: (endpoint name, description, status) — for tests and the demo.
        self.delivery_log: list[tuple[str, str, Any]] = []

    @classmethod
    def instance(cls) -> LocalBus:
        """The process's bus (``PLAIT_TRANSPORT=local`` means this one)."""
        with cls._instance_lock:
            if cls._instance is None or cls._instance._closed:
                cls._instance = cls()
            return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        with cls._instance_lock:
            if cls._instance is not None:
                cls._instance.close()
            cls._instance = None

    # -- configuration --

    def add_push_endpoint(self, topic: str, endpoint: PushEndpoint) -> None:
        with self._lock:
            self._topics[topic].endpoints.append(endpoint)

    def add_storage_trigger(self, bucket: str, endpoint: PushEndpoint) -> None:
        with self._lock:
            self._storage_endpoints[bucket].append(endpoint)

    # -- Transport --

    def create_topic(self, topic: str) -> None:
        with self._lock:
            self._topics[topic]

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None) -> str:
        if self._closed:
            raise ServiceUnavailable("The local bus is closed.")
        message_id = str(next(self._ids))
        message = Message(data=data, attributes=dict(attributes), message_id=message_id, ordering_key=ordering_key)
        with self._lock:
            subscriptions = list(self._topics[topic].subscriptions)
            endpoints = list(self._topics[topic].endpoints)
        for subscription in subscriptions:
            subscription._offer(message)
        for endpoint in endpoints:
            cloud_event = make_pubsub_cloud_event(
                project=endpoint.project,
                topic=topic,
                subscription=endpoint.name,
                data=data,
                attributes=attributes,
                message_id=message_id,
                ordering_key=ordering_key,
            )
            headers, body = to_http(cloud_event, structured=endpoint.structured)
            self._schedule(_Delivery(endpoint, headers, body, ordering_key, f"{topic} message {message_id}"))
        return message_id

    def subscribe(self, topic: str, question_uuid: str) -> Subscription:
        subscription = _LocalSubscription(self, topic, question_uuid)
        with self._lock:
            self._topics[topic].subscriptions.append(subscription)
        return subscription

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- storage events --

    def object_finalized(self, bucket: str, name: str, generation: str, size: int = 0, content_type: str = "") -> None:
        """Deliver a ``storage.object.v1.finalized`` event to the bucket's triggers."""
        with self._lock:
            endpoints = list(self._storage_endpoints.get(bucket, ()))
        for endpoint in endpoints:
            cloud_event = make_object_finalized_cloud_event(
                bucket, name, generation, size, content_type=content_type or "application/octet-stream"
            )
            headers, body = to_http(cloud_event, structured=endpoint.structured)
            self._schedule(_Delivery(endpoint, headers, body, None, f"gs://{bucket}/{name}#{generation}"))

    # -- delivery --

    def _schedule(self, delivery: _Delivery) -> None:
        if delivery.ordering_key is None:
            self._executor.submit(self._deliver_until_done, delivery)
            return
        key = (delivery.endpoint.name, delivery.ordering_key)
        with self._lock:
            pending = self._ordered.get(key)
            if pending is not None:  # a delivery for this key is in flight: wait behind it
                pending.append(delivery)
                return
            self._ordered[key] = []
        self._executor.submit(self._deliver_in_order, key, delivery)

    def _deliver_in_order(self, key: tuple[str, str], delivery: _Delivery) -> None:
        while True:
            self._deliver_until_done(delivery)
            with self._lock:
                pending = self._ordered[key]
                if not pending:
                    del self._ordered[key]
                    return
                delivery = pending.pop(0)

    def _deliver_until_done(self, delivery: _Delivery) -> None:
        backoff = self.minimum_backoff
        while not self._closed:
            delivery.attempts += 1
            status = self._attempt(delivery)
            self.delivery_log.append((delivery.endpoint.name, delivery.description, status))
            if isinstance(status, int) and 200 <= status < 300:
                return
            if delivery.attempts >= self.maximum_delivery_attempts:
                logger.error(
                    "Gave up delivering %s to %s after %d attempts (last: %s); dead-lettered.",
                    delivery.description,
                    delivery.endpoint.name,
                    delivery.attempts,
                    status,
                )
                self.dead_letters.append((delivery.endpoint.name, delivery.description, status))
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, self.maximum_backoff)

    @staticmethod
    def _attempt(delivery: _Delivery) -> Any:
        target = delivery.endpoint.target
        try:
            if callable(target):
                return target(delivery.headers, delivery.body)
            import requests

            response = requests.post(target, data=delivery.body, headers=delivery.headers, timeout=3600)
            return response.status_code
        except Exception as error:
            return f"{type(error).__name__}: {error}"


class _LocalSubscription(Subscription):
    def __init__(self, bus: LocalBus, topic: str, question_uuid: str) -> None:
        self.bus = bus
        self.topic = topic
        self.question_uuid = question_uuid
        self._queue: queue.Queue[Message] = queue.Queue()
        self._closed = False

    def _offer(self, message: Message) -> None:
        if not self._closed and message.attributes.get("question_uuid") == self.question_uuid:
            self._queue.put(message)

    def receive(self, timeout: float | None = None) -> Message | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self.bus._lock:
            subscriptions = self.bus._topics[self.topic].subscriptions
            if self in subscriptions:
                subscriptions.remove(self)
