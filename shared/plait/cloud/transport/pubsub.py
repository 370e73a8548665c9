"""The Google Cloud Pub/Sub transport (also used against the official Pub/Sub emulator).

``google.cloud.pubsub_v1`` is imported at first use, not when this module is imported, so that
importing plait stays cheap. Clients are made once per transport and reused; use
:meth:`GooglePubSubTransport.shared` (as ``get_transport()`` does) to reuse one transport per
project in a process, which matters for Cloud Functions' cold starts.

With ``PUBSUB_EMULATOR_HOST`` set when a transport first makes its clients, they talk to that
emulator with no credentials; otherwise Application Default Credentials are used.

Publishing blocks until Pub/Sub has accepted the message, retrying transient failures with
backoff for up to ``publish_timeout`` seconds, then raises
:class:`plait.exceptions.ServiceUnavailable`. Message ordering is enabled: messages with the same
ordering key (plait uses the question UUID) are delivered in the order they were published.

A subscription is a uniquely named pull subscription per question, read through a streaming
pull that feeds a local queue: messages are acknowledged as soon as they reach the queue (so
ordered delivery never stalls behind an unacknowledged message), redeliveries of a message id
already received are dropped, and messages for other questions are acknowledged and skipped
(the emulator accepts subscription filters but does not apply them). Subscriptions expire
after a day unused, so ones abandoned by a crashed parent clean themselves up.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import os
import queue
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from plait.cloud.transport.base import Message, Subscription, Transport
from plait.exceptions import (
    CloudCredentialsNotFound,
    InvalidInputException,
    PayloadTooLarge,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

#: The project used with the emulator when none is given or set in ``GOOGLE_CLOUD_PROJECT``.
EMULATOR_PROJECT = "plait-local"

#: Seconds a subscription may go unused before Pub/Sub deletes it (1 day is Pub/Sub's minimum).
SUBSCRIPTION_TTL_SECONDS = 24 * 60 * 60

#: Seconds Pub/Sub waits for an acknowledgement before redelivering.
ACK_DEADLINE_SECONDS = 60

#: Seconds an unacknowledged message is kept in a subscription (below the TTL).
MESSAGE_RETENTION_SECONDS = 12 * 60 * 60

#: Seconds to wait for an administrative request (create/delete a topic or subscription).
ADMIN_TIMEOUT_SECONDS = 30.0

#: How long the publisher waits to batch messages before sending them (seconds): kept short
#: because ``publish`` blocks until the message is accepted.
PUBLISH_BATCH_LATENCY_SECONDS = 0.001

#: How many recent message ids a subscription remembers to drop redeliveries.
REMEMBERED_MESSAGE_IDS = 10_000

#: Keyword parameters of ``PublisherClient.publish`` that therefore cannot be attribute names.
_RESERVED_ATTRIBUTE_NAMES = frozenset({"topic", "data", "ordering_key", "retry", "timeout"})

_END = object()


def _transient_errors() -> tuple[type[BaseException], ...]:
    """The errors worth retrying: the service or the network is briefly unavailable."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    return (
        api.ServiceUnavailable,
        api.DeadlineExceeded,
        api.InternalServerError,
        api.Aborted,
        api.ResourceExhausted,
        api.BadGateway,
        api.GatewayTimeout,
        api.Unknown,
        api.Cancelled,
        api.RetryError,
        auth.TransportError,
        ConnectionError,
        TimeoutError,
    )


def _emulator_host() -> str | None:
    return os.environ.get("PUBSUB_EMULATOR_HOST") or None


class GooglePubSubTransport(Transport):
    """Google Cloud Pub/Sub (or its emulator, when ``PUBSUB_EMULATOR_HOST`` is set).

    :param project_name: the Google Cloud project holding the topics; if None, ``GOOGLE_CLOUD_PROJECT``,
        else the project of the Application Default Credentials, else (with the emulator) ``plait-local``
    :param publish_timeout: seconds ``publish`` keeps retrying transient failures before raising
        :class:`plait.exceptions.ServiceUnavailable`
    """

    _shared: dict[tuple[Any, ...], GooglePubSubTransport] = {}
    _shared_lock = threading.Lock()

    def __init__(self, project_name: str | None = None, *, publish_timeout: float = 30.0) -> None:
        self._project_name = project_name
        self.publish_timeout = publish_timeout
        self._lock = threading.RLock()
        self._credentials: Any = None
        self._resolved_project: str | None = None
        self._publisher: Any = None
        self._subscriber: Any = None
        self._subscriptions: weakref.WeakSet[GooglePubSubSubscription] = weakref.WeakSet()

    @classmethod
    def shared(cls, project_name: str | None = None) -> GooglePubSubTransport:
        """The one transport of this class for the project (and emulator host) in this process.

        Thread-safe. Reusing it reuses its publisher and subscriber clients.
        """
        project = project_name or os.environ.get("GOOGLE_CLOUD_PROJECT") or None
        key = (cls, project, _emulator_host())
        with cls._shared_lock:
            transport = cls._shared.get(key)
            if transport is None:
                transport = cls._shared[key] = cls(project_name=project)
            return transport

    @classmethod
    def _forget_shared(cls) -> None:
        """Drop the shared transports (in a forked child, whose inherited gRPC channels must not be used)."""
        cls._shared = {}
        cls._shared_lock = threading.Lock()

    # -- project, credentials and clients (made at first use) --

    @property
    def project_name(self) -> str:
        """The Google Cloud project holding the topics and subscriptions.

        :raise plait.exceptions.CloudCredentialsNotFound: if there is no project and no credentials to find one
        """
        with self._lock:
            if self._resolved_project is None:
                project = self._project_name or os.environ.get("GOOGLE_CLOUD_PROJECT")
                if not project:
                    if _emulator_host():
                        project = EMULATOR_PROJECT
                    else:
                        _, project = self._default_credentials()
                if not project:
                    raise CloudCredentialsNotFound(
                        "No Google Cloud project was given for Pub/Sub and none could be found from the "
                        "credentials: set GOOGLE_CLOUD_PROJECT (or pass project_name)."
                    )
                self._resolved_project = project
            return self._resolved_project

    def _default_credentials(self) -> tuple[Any, str | None]:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/pubsub"])
        except DefaultCredentialsError as error:
            raise CloudCredentialsNotFound(
                "No Google Cloud credentials were found for Pub/Sub. Set GOOGLE_APPLICATION_CREDENTIALS to "
                "the path of a service-account key file, run `gcloud auth application-default login`, or set "
                "PUBSUB_EMULATOR_HOST (e.g. 127.0.0.1:8085) to use the Pub/Sub emulator."
            ) from error
        self._credentials = credentials
        return credentials, project

    def _client_arguments(self) -> dict[str, Any]:
        if _emulator_host():
            # The clients see PUBSUB_EMULATOR_HOST themselves and use no credentials.
            return {}
        if self._credentials is None:
            self._default_credentials()
        return {"credentials": self._credentials}

    @property
    def publisher(self) -> Any:
        """The ``google.cloud.pubsub_v1.PublisherClient`` (message ordering enabled)."""
        with self._lock:
            if self._publisher is None:
                from google.cloud import pubsub_v1

                self.project_name  # noqa: B018 - fail early, naming what to set, if there is no project
                self._publisher = pubsub_v1.PublisherClient(
                    batch_settings=pubsub_v1.types.BatchSettings(max_latency=PUBLISH_BATCH_LATENCY_SECONDS),
                    publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
                    **self._client_arguments(),
                )
            return self._publisher

    @property
    def subscriber(self) -> Any:
        """The ``google.cloud.pubsub_v1.SubscriberClient``."""
        with self._lock:
            if self._subscriber is None:
                from google.cloud import pubsub_v1

                self.project_name  # noqa: B018
                self._subscriber = pubsub_v1.SubscriberClient(**self._client_arguments())
            return self._subscriber

    def topic_path(self, topic: str) -> str:
        """``projects/<project>/topics/<topic>`` (a full path is returned unchanged)."""
        return topic if topic.startswith("projects/") else f"projects/{self.project_name}/topics/{topic}"

    def subscription_path(self, name: str) -> str:
        """``projects/<project>/subscriptions/<name>`` (a full path is returned unchanged)."""
        return name if name.startswith("projects/") else f"projects/{self.project_name}/subscriptions/{name}"

    # -- the Transport interface --

    def create_topic(self, topic: str) -> None:
        """Create the topic; one that already exists is left as it is.

        :raise plait.exceptions.ServiceUnavailable: on a transient failure
        :raise plait.exceptions.InvalidInputException: if the name is not a valid topic name
        """
        from google.api_core import exceptions as api

        try:
            self.publisher.create_topic(request={"name": self.topic_path(topic)}, timeout=ADMIN_TIMEOUT_SECONDS)
        except api.AlreadyExists:
            pass
        except api.InvalidArgument as error:
            raise InvalidInputException(f"Pub/Sub refused to create the topic {topic!r}: {error.message}") from error
        except _transient_errors() as error:
            raise ServiceUnavailable(
                f"Pub/Sub is unavailable: the topic {topic!r} could not be created ({error})."
            ) from error

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None) -> str:
        """Publish a message and wait until Pub/Sub has accepted it; return its message id.

        Transient failures are retried with backoff for up to ``publish_timeout`` seconds. After a
        failure on an ordering key the key is resumed, so later publishes on it are not refused.

        :raise plait.exceptions.ServiceUnavailable: if Pub/Sub stays unavailable, or the topic does not exist
        :raise plait.exceptions.PayloadTooLarge: if the message is over Pub/Sub's 10 MB limit
        :raise plait.exceptions.InvalidInputException: if Pub/Sub refuses the message as invalid
        """
        from google.api_core import exceptions as api
        from google.cloud.pubsub_v1.publisher import exceptions as publisher_errors

        clashing = _RESERVED_ATTRIBUTE_NAMES.intersection(attributes)
        if clashing:
            raise InvalidInputException(
                f"Attributes named {', '.join(sorted(clashing))} cannot be published: rename them "
                f"(reserved names: {', '.join(sorted(_RESERVED_ATTRIBUTE_NAMES))})."
            )

        publisher = self.publisher
        topic_path = self.topic_path(topic)
        key = ordering_key or ""
        transient = _transient_errors()
        started = time.monotonic()
        deadline = started + self.publish_timeout
        delay = 0.1
        attempts = 0
        while True:
            attempts += 1
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                future = publisher.publish(
                    topic_path, data, ordering_key=key, retry=None, timeout=remaining, **attributes
                )
                # The RPC itself is bounded by ``remaining``; allow a little more for batching and callbacks.
                # (A future still pending then is given up on: the deadline has passed, so it is not retried.)
                return future.result(timeout=remaining + 1)
            except publisher_errors.PublishToPausedOrderingKeyException as error:
                # An earlier failure (perhaps another caller's) paused the key: resume it and try again.
                self._resume(topic_path, key)
                last_error: BaseException = error
            except publisher_errors.MessageTooLargeError as error:
                raise PayloadTooLarge(
                    f"The message for the topic {topic!r} is too large for Pub/Sub: {error}"
                ) from error
            except api.NotFound as error:
                self._resume(topic_path, key)
                raise ServiceUnavailable(
                    f"The Pub/Sub topic {topic!r} does not exist in the project {self.project_name!r}: deploy "
                    f"the service (which creates its topics) or create the topic, then retry."
                ) from error
            except api.InvalidArgument as error:
                self._resume(topic_path, key)
                raise InvalidInputException(
                    f"Pub/Sub refused a message for the topic {topic!r}: {error.message}"
                ) from error
            except transient as error:
                self._resume(topic_path, key)
                last_error = error
            if time.monotonic() + delay > deadline:
                raise ServiceUnavailable(
                    f"Pub/Sub did not accept a message for the topic {topic!r} within {self.publish_timeout:g} s "
                    f"({attempts} attempts; last error: {type(last_error).__name__}: {last_error}). Retry later."
                ) from last_error
            logger.debug("Retrying a publish to %r after %s.", topic, type(last_error).__name__)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _resume(self, topic_path: str, ordering_key: str) -> None:
        """Let publishes on the ordering key go ahead again after a failure paused it."""
        if ordering_key:
            with contextlib.suppress(ValueError, RuntimeError):
                self.publisher.resume_publish(topic_path, ordering_key)

    def subscribe(self, topic: str, question_uuid: str) -> GooglePubSubSubscription:
        """Open a new subscription to the topic for one question's messages (published from now on).

        :raise plait.exceptions.ServiceUnavailable: on a transient failure, or if the topic does not exist
        """
        subscription = GooglePubSubSubscription(self, topic, question_uuid)
        subscription._open()
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        """Close this transport's open subscriptions and shut its clients down.

        The transport can be used again afterwards: it makes new clients at first use.
        """
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()
        with self._lock:
            publisher, self._publisher = self._publisher, None
            subscriber, self._subscriber = self._subscriber, None
        if publisher is not None:
            with contextlib.suppress(Exception):
                publisher.stop()
            with contextlib.suppress(Exception):
                publisher.transport.close()
        if subscriber is not None:
            with contextlib.suppress(Exception):
                subscriber.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=GooglePubSubTransport._forget_shared)


def _subscription_name(question_uuid: str) -> str:
    """A new, valid, unique subscription name for the question: ``plait.answers.<uuid>.<random>``."""
    safe = re.sub(r"[^A-Za-z0-9._~+%-]", "-", question_uuid)[:200] or "question"
    return f"plait.answers.{safe}.{secrets.token_hex(4)}"


def _filter_for(question_uuid: str) -> str:
    """The subscription filter selecting the question's messages ("" if it would be too long to use)."""
    literal = question_uuid.replace("\\", "\\\\").replace('"', '\\"')
    expression = f'attributes.question_uuid = "{literal}"'
    # Pub/Sub limits filters to 256 bytes; messages are checked on receipt anyway.
    return expression if len(expression.encode()) <= 256 else ""


def _to_message(received: Any, attributes: dict[str, str]) -> Message:
    publish_time = received.publish_time
    if publish_time is not None:
        publish_time = dt.datetime(
            publish_time.year,
            publish_time.month,
            publish_time.day,
            publish_time.hour,
            publish_time.minute,
            publish_time.second,
            publish_time.microsecond,
            tzinfo=publish_time.tzinfo or dt.UTC,
        )
    return Message(
        data=received.data,
        attributes=attributes,
        message_id=received.message_id,
        publish_time=publish_time,
        ordering_key=received.ordering_key or None,
        delivery_attempt=received.delivery_attempt,
    )


class GooglePubSubSubscription(Subscription):
    """One question's messages on a topic, through a uniquely named Pub/Sub subscription.

    Made by :meth:`GooglePubSubTransport.subscribe`. A streaming pull feeds a local queue from the
    moment the subscription is opened. :meth:`receive` on a closed subscription raises
    ``RuntimeError``; a :meth:`receive` waiting in another thread when it is closed returns None.
    """

    def __init__(self, transport: GooglePubSubTransport, topic: str, question_uuid: str) -> None:
        if not isinstance(question_uuid, str) or not question_uuid:
            raise InvalidInputException(f"A subscription needs a question UUID, not {question_uuid!r}.")
        self.question_uuid = question_uuid
        self.topic = topic
        self.name = _subscription_name(question_uuid)
        self._transport = transport
        self.path = transport.subscription_path(self.name)
        self._queue: queue.Queue = queue.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self._stream: Any = None
        self._stream_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {self.topic!r}>"

    @property
    def closed(self) -> bool:
        return self._closed

    def _open(self) -> None:
        from google.api_core import exceptions as api
        from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler
        from google.protobuf import duration_pb2

        subscriber = self._transport.subscriber
        request = {
            "name": self.path,
            "topic": self._transport.topic_path(self.topic),
            "enable_message_ordering": True,
            "ack_deadline_seconds": ACK_DEADLINE_SECONDS,
            "expiration_policy": {"ttl": duration_pb2.Duration(seconds=SUBSCRIPTION_TTL_SECONDS)},
            "message_retention_duration": duration_pb2.Duration(seconds=MESSAGE_RETENTION_SECONDS),
        }
        subscription_filter = _filter_for(self.question_uuid)
        if subscription_filter:
            request["filter"] = subscription_filter
        try:
            subscriber.create_subscription(request=request, timeout=ADMIN_TIMEOUT_SECONDS)
        except api.AlreadyExists:
            pass  # The name is random, so this is a retried request that had succeeded.
        except api.NotFound as error:
            raise ServiceUnavailable(
                f"The Pub/Sub topic {self.topic!r} does not exist in the project {self._transport.project_name!r}: "
                f"deploy the service (which creates its topics) or create the topic, then retry."
            ) from error
        except api.InvalidArgument as error:
            raise InvalidInputException(
                f"Pub/Sub refused a subscription to the topic {self.topic!r}: {error.message}"
            ) from error
        except _transient_errors() as error:
            raise ServiceUnavailable(
                f"Pub/Sub is unavailable: no subscription to the topic {self.topic!r} could be made ({error})."
            ) from error

        # One callback thread: callbacks run one at a time, in the order messages are dispatched.
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"plait-pubsub-{self.question_uuid[:8]}"
        )
        try:
            self._stream = subscriber.subscribe(self.path, self._on_message, scheduler=ThreadScheduler(executor))
        except BaseException:
            self._delete()
            raise
        self._stream.add_done_callback(self._on_stream_end)

    def _on_message(self, received: Any) -> None:
        try:
            if self._closed:
                return
            attributes = dict(received.attributes)
            if attributes.get("question_uuid") != self.question_uuid:
                return  # Another question's message: the emulator does not apply subscription filters.
            with self._lock:
                if received.message_id in self._seen:
                    return  # A redelivery of a message already received.
                self._seen[received.message_id] = None
                if len(self._seen) > REMEMBERED_MESSAGE_IDS:
                    self._seen.popitem(last=False)
            self._queue.put(_to_message(received, attributes))
        finally:
            # Acknowledged once queued: an outstanding message would hold back later ones with its ordering key.
            received.ack()

    def _on_stream_end(self, future: Any) -> None:
        if not self._closed:
            try:
                self._stream_error = future.exception(timeout=0)
            except BaseException as error:  # cancelled, or not finished after all
                self._stream_error = error
        self._queue.put(_END)

    def receive(self, timeout: float | None = None) -> Message | None:
        """The next message for the question (already acknowledged), or None if none came within ``timeout`` seconds.

        ``timeout=None`` waits for as long as it takes; ``timeout=0`` only takes a message already received.

        :raise plait.exceptions.ServiceUnavailable: if the subscription stopped delivering (e.g. it was deleted)
        :raise RuntimeError: if the subscription is closed
        """
        if self._closed:
            raise RuntimeError(f"The subscription {self.name!r} is closed: open a new one to receive messages.")
        try:
            if timeout is None:
                item = self._queue.get()
            elif timeout <= 0:
                item = self._queue.get_nowait()
            else:
                item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is not _END:
            return item
        self._queue.put(_END)  # Leave the end marker for any other receiver.
        if self._closed:
            return None
        self._raise_stream_error()
        return None  # pragma: no cover - _raise_stream_error always raises

    def _raise_stream_error(self) -> None:
        from google.api_core import exceptions as api

        error = self._stream_error
        if isinstance(error, api.NotFound):
            raise ServiceUnavailable(
                f"The Pub/Sub subscription {self.name!r} no longer exists (it was deleted, or expired after "
                f"{SUBSCRIPTION_TTL_SECONDS // 3600} h unused): open a new subscription."
            ) from error
        raise ServiceUnavailable(
            f"The Pub/Sub subscription {self.name!r} stopped delivering messages"
            + (f" ({type(error).__name__}: {error})." if error else ".")
        ) from error

    def close(self) -> None:
        """Stop the streaming pull and delete the subscription (idempotent; "not found" is fine)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()
            with contextlib.suppress(Exception):
                stream.result(timeout=10)
        self._queue.put(_END)
        self._delete()

    def _delete(self) -> None:
        from google.api_core import exceptions as api

        try:
            self._transport.subscriber.delete_subscription(
                request={"subscription": self.path}, timeout=ADMIN_TIMEOUT_SECONDS
            )
        except api.NotFound:
            pass
        except Exception as error:  # Closing must not fail: the subscription expires anyway.
            logger.warning(
                "The Pub/Sub subscription %r could not be deleted (%s: %s); it will expire after %d h unused.",
                self.name,
                type(error).__name__,
                error,
                SUBSCRIPTION_TTL_SECONDS // 3600,
            )
