"""GooglePubSubTransport against the official Pub/Sub emulator (started once per session).

Each test uses its own topic, so tests do not see one another's messages. The emulator accepts
subscription filters but does not apply them: skipping other questions' messages is the
transport's own doing, and the tests here rely on that.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid

import pytest

from plait.cloud.transport import get_transport
from plait.cloud.transport.base import Message
from plait.cloud.transport.pubsub import GooglePubSubTransport
from plait.exceptions import CloudCredentialsNotFound, ServiceUnavailable

RECEIVE_TIMEOUT = 10


@pytest.fixture
def transport(pubsub_emulator):
    transport = GooglePubSubTransport(publish_timeout=5)
    yield transport
    transport.close()


@pytest.fixture
def topic(transport) -> str:
    """A new topic, named as a service revision's answers topic is."""
    name = f"plait.test.svc-{uuid.uuid4().hex[:12]}.1.0.0.answers"
    transport.create_topic(name)
    return name


def _question() -> str:
    return str(uuid.uuid4())


def _receive_all(subscription, count: int) -> list[Message]:
    messages = []
    while len(messages) < count:
        message = subscription.receive(timeout=RECEIVE_TIMEOUT)
        assert message is not None, f"only {len(messages)} of {count} messages arrived"
        messages.append(message)
    return messages


def test_a_published_message_reaches_the_questions_subscriber_with_its_data_attributes_and_id(transport, topic):
    question = _question()
    attributes = {"question_uuid": question, "kind": "result", "retry_count": "0", "sender": "plait/example:1.0.0"}
    with transport.subscribe(topic, question) as subscription:
        message_id = transport.publish(topic, b'{"kind": "result"}', attributes, ordering_key=question)
        message = subscription.receive(timeout=RECEIVE_TIMEOUT)

    assert isinstance(message_id, str) and message_id
    assert message is not None
    assert message.data == b'{"kind": "result"}'
    assert message.attributes == attributes
    assert message.message_id == message_id
    assert message.ordering_key == question
    assert message.publish_time is not None and message.publish_time.tzinfo is not None


def test_messages_published_before_subscribing_are_not_received(transport, topic):
    question = _question()
    transport.publish(topic, b"before", {"question_uuid": question}, ordering_key=question)
    with transport.subscribe(topic, question) as subscription:
        transport.publish(topic, b"after", {"question_uuid": question}, ordering_key=question)
        first = subscription.receive(timeout=RECEIVE_TIMEOUT)
        nothing_more = subscription.receive(timeout=0.5)

    assert first is not None and first.data == b"after"
    assert nothing_more is None


def test_messages_for_another_question_on_the_same_topic_are_skipped(transport, topic):
    question, other_question = _question(), _question()
    with transport.subscribe(topic, question) as subscription:
        # Published first, so without the check on receipt it would be the first message received.
        for number in range(3):
            transport.publish(
                topic, b"other %d" % number, {"question_uuid": other_question}, ordering_key=other_question
            )
        transport.publish(topic, b"mine", {"question_uuid": question}, ordering_key=question)
        transport.publish(topic, b"no question", {"kind": "heartbeat"})
        received = subscription.receive(timeout=RECEIVE_TIMEOUT)
        nothing_more = subscription.receive(timeout=0.5)

    assert received is not None and received.data == b"mine"
    assert received.attributes["question_uuid"] == question
    assert nothing_more is None


def test_two_subscriptions_to_one_topic_each_get_only_their_questions_messages(transport, topic):
    first, second = _question(), _question()
    with (
        transport.subscribe(topic, first) as first_subscription,
        transport.subscribe(topic, second) as second_subscription,
    ):
        transport.publish(topic, b"for the second", {"question_uuid": second}, ordering_key=second)
        transport.publish(topic, b"for the first", {"question_uuid": first}, ordering_key=first)
        assert first_subscription.receive(timeout=RECEIVE_TIMEOUT).data == b"for the first"
        assert second_subscription.receive(timeout=RECEIVE_TIMEOUT).data == b"for the second"


def test_fifty_messages_with_one_ordering_key_arrive_in_the_order_they_were_published(transport, topic):
    question = _question()
    with transport.subscribe(topic, question) as subscription:
        for number in range(50):
            transport.publish(topic, str(number).encode(), {"question_uuid": question}, ordering_key=question)
        messages = _receive_all(subscription, 50)

    assert [int(message.data) for message in messages] == list(range(50))
    assert len({message.message_id for message in messages}) == 50


def test_receive_returns_none_soon_after_its_timeout_when_nothing_comes(transport, topic):
    with transport.subscribe(topic, _question()) as subscription:
        started = time.monotonic()
        message = subscription.receive(timeout=0.5)
        waited = time.monotonic() - started

    assert message is None
    assert 0.45 <= waited < 2


def test_receive_with_zero_timeout_returns_at_once(transport, topic):
    with transport.subscribe(topic, _question()) as subscription:
        started = time.monotonic()
        assert subscription.receive(timeout=0) is None
        assert time.monotonic() - started < 0.2


def test_creating_a_topic_that_already_exists_is_fine(transport, topic):
    transport.create_topic(topic)
    transport.create_topic(topic)
    assert transport.publish(topic, b"still works", {"question_uuid": _question()})


def test_publishing_to_a_topic_that_does_not_exist_raises_service_unavailable_saying_to_deploy_it(transport):
    missing = f"plait.test.missing-{uuid.uuid4().hex[:8]}.1.0.0.questions"
    with pytest.raises(ServiceUnavailable) as raised:
        transport.publish(missing, b"lost", {"question_uuid": _question()}, ordering_key="key")

    message = str(raised.value)
    assert missing in message
    assert "does not exist" in message
    assert "deploy" in message


def test_subscribing_to_a_topic_that_does_not_exist_raises_service_unavailable(transport):
    missing = f"plait.test.missing-{uuid.uuid4().hex[:8]}.1.0.0.answers"
    with pytest.raises(ServiceUnavailable, match="does not exist"):
        transport.subscribe(missing, _question())


def test_an_ordering_key_whose_publish_failed_can_be_published_on_again(transport):
    # A failed publish pauses its ordering key in the client; without resuming it, every later
    # publish on the key would be refused with PublishToPausedOrderingKeyException.
    name = f"plait.test.late-{uuid.uuid4().hex[:8]}.1.0.0.answers"
    question = _question()
    with pytest.raises(ServiceUnavailable):
        transport.publish(name, b"too early", {"question_uuid": question}, ordering_key=question)

    transport.create_topic(name)
    with transport.subscribe(name, question) as subscription:
        message_id = transport.publish(name, b"on time", {"question_uuid": question}, ordering_key=question)
        received = subscription.receive(timeout=RECEIVE_TIMEOUT)

    assert received is not None and received.message_id == message_id and received.data == b"on time"


def test_a_subscription_is_made_to_clean_up_after_itself_and_to_filter_on_its_question(transport, topic):
    question = _question()
    with transport.subscribe(topic, question) as subscription:
        stored = transport.subscriber.get_subscription(request={"subscription": subscription.path})

    assert stored.topic == transport.topic_path(topic)
    assert stored.filter == f'attributes.question_uuid = "{question}"'
    assert stored.enable_message_ordering
    assert stored.expiration_policy.ttl.total_seconds() == 24 * 60 * 60
    assert stored.ack_deadline_seconds == 60
    assert subscription.name.startswith(f"plait.answers.{question}.")


def test_each_subscription_to_a_question_has_its_own_name(transport, topic):
    question = _question()
    with transport.subscribe(topic, question) as first, transport.subscribe(topic, question) as second:
        assert first.name != second.name


def test_closing_a_subscription_deletes_it_and_closing_again_does_nothing(transport, topic):
    from google.api_core.exceptions import NotFound
    from google.cloud import pubsub_v1

    subscription = transport.subscribe(topic, _question())
    checker = pubsub_v1.SubscriberClient()
    try:
        checker.get_subscription(request={"subscription": subscription.path})  # exists while open

        subscription.close()
        with pytest.raises(NotFound):
            checker.get_subscription(request={"subscription": subscription.path})
        subscription.close()
    finally:
        checker.close()

    with pytest.raises(RuntimeError, match="closed"):
        subscription.receive(timeout=0)


def test_a_receive_waiting_in_another_thread_returns_none_when_the_subscription_is_closed(transport, topic):
    subscription = transport.subscribe(topic, _question())
    results = []
    waiter = threading.Thread(target=lambda: results.append(subscription.receive(timeout=20)))
    waiter.start()
    time.sleep(0.2)
    started = time.monotonic()
    subscription.close()
    waiter.join(timeout=5)

    assert not waiter.is_alive()
    assert results == [None]
    assert time.monotonic() - started < 5


def test_a_subscription_deleted_behind_its_back_raises_service_unavailable_on_receive(transport, topic):
    subscription = transport.subscribe(topic, _question())
    try:
        transport.subscriber.delete_subscription(request={"subscription": subscription.path})
        with pytest.raises(ServiceUnavailable, match="no longer exists"):
            for _ in range(20):
                subscription.receive(timeout=0.5)
    finally:
        subscription.close()


def test_get_transport_pubsub_returns_one_shared_transport_per_project(pubsub_emulator):
    transport = get_transport("pubsub")

    assert isinstance(transport, GooglePubSubTransport)
    assert get_transport("pubsub") is transport
    assert GooglePubSubTransport.shared() is transport
    assert GooglePubSubTransport.shared("plait-local") is transport  # GOOGLE_CLOUD_PROJECT is plait-local
    assert GooglePubSubTransport.shared("another-project") is not transport
    assert transport.project_name == "plait-local"


def test_the_shared_transport_is_made_once_when_asked_for_from_many_threads(pubsub_emulator):
    project = f"project-{uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        transports = list(pool.map(lambda _: GooglePubSubTransport.shared(project), range(32)))

    assert len({id(transport) for transport in transports}) == 1


def test_with_the_emulator_and_no_project_the_project_is_plait_local(pubsub_emulator, monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    assert GooglePubSubTransport().project_name == "plait-local"


def test_without_credentials_or_emulator_a_clear_error_says_what_to_set(monkeypatch):
    """``google.auth.default`` is replaced so that no real credential lookup (or metadata server) is tried."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(*args, **kwargs):
        raise DefaultCredentialsError("no credentials")

    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setattr(google.auth, "default", no_credentials)

    with pytest.raises(CloudCredentialsNotFound) as raised:
        GooglePubSubTransport().publish("plait.test.any.1.0.0.questions", b"", {})

    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(raised.value)
    assert "PUBSUB_EMULATOR_HOST" in str(raised.value)


# Transient failures. The emulator cannot be made flaky on demand, so these tests replace the
# publisher client's ``publish`` with one returning futures that fail the way the real client's
# do (with google.api_core exceptions, or never finishing); everything else is the real client
# talking to the emulator.


def _failed_future(error: BaseException) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_exception(error)
    return future


def _transient_errors():
    from google.api_core import exceptions as api

    return [
        api.ServiceUnavailable("unavailable"),
        api.DeadlineExceeded("deadline exceeded"),
        api.InternalServerError("internal"),
        api.Aborted("aborted"),
        api.ResourceExhausted("resource exhausted"),
        ConnectionResetError("connection reset"),
    ]


@pytest.mark.parametrize("error", _transient_errors(), ids=lambda error: type(error).__name__)
def test_a_publish_that_keeps_failing_transiently_raises_service_unavailable_naming_the_topic(
    transport, topic, monkeypatch, error
):
    """A mock publisher future injects the transient error (the emulator cannot be made to fail on demand)."""
    transport.publish_timeout = 0.3
    attempts = []
    resumed = []
    monkeypatch.setattr(transport.publisher, "publish", lambda *a, **k: attempts.append(a) or _failed_future(error))
    monkeypatch.setattr(transport.publisher, "resume_publish", lambda topic_path, key: resumed.append(key))

    with pytest.raises(ServiceUnavailable) as raised:
        transport.publish(topic, b"x", {"question_uuid": "q"}, ordering_key="q")

    assert topic in str(raised.value)
    assert raised.value.__cause__ is error
    assert len(attempts) >= 2, "a transient failure should be retried before giving up"
    assert resumed and set(resumed) == {"q"}, "the failed ordering key should be resumed"


def test_a_publish_whose_future_never_finishes_raises_service_unavailable(transport, topic, monkeypatch):
    """A mock publisher future that never completes stands in for a hung publish."""
    transport.publish_timeout = 0.1
    monkeypatch.setattr(transport.publisher, "publish", lambda *a, **k: concurrent.futures.Future())

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=topic):
        transport.publish(topic, b"x", {"question_uuid": "q"})
    assert time.monotonic() - started < 5


def test_a_transient_publish_failure_is_retried_and_the_message_delivered_once(transport, topic, monkeypatch):
    """The first attempt fails through a mock future; the retry goes to the emulator for real."""
    from google.api_core import exceptions as api

    question = _question()
    real_publish = transport.publisher.publish
    calls = []

    def flaky_publish(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            return _failed_future(api.ServiceUnavailable("try again"))
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(transport.publisher, "publish", flaky_publish)
    with transport.subscribe(topic, question) as subscription:
        message_id = transport.publish(topic, b"eventually", {"question_uuid": question}, ordering_key=question)
        received = subscription.receive(timeout=RECEIVE_TIMEOUT)
        duplicate = subscription.receive(timeout=0.5)

    assert len(calls) == 2
    assert received is not None and received.message_id == message_id and received.data == b"eventually"
    assert duplicate is None


def test_a_missing_topic_is_not_retried(transport, monkeypatch):
    from google.api_core import exceptions as api

    attempts = []
    monkeypatch.setattr(
        transport.publisher, "publish", lambda *a, **k: attempts.append(a) or _failed_future(api.NotFound("no topic"))
    )
    with pytest.raises(ServiceUnavailable, match="does not exist"):
        transport.publish("plait.test.gone.1.0.0.questions", b"x", {})
    assert len(attempts) == 1
