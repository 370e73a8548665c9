"""The analysis runner: answer a dispatched question exactly once.

For each message on the analyses topic:

1. if the question already has a recorded answer, publish that answer again (a redelivery after
   the answer was recorded but perhaps not published) and stop;
2. if it was cancelled before it started, answer ``QuestionCancelled``;
3. claim it (``QuestionStore.claim``): only one runner at a time holds an unexpired claim; a
   message for a question another runner is working on raises ``QuestionInProgress``, so it is
   redelivered later, and runs again if that runner died and its lease expired;
4. run the app through the service's ``Runner`` while a watchdog thread sends heartbeats, renews
   the claim and checks for cancellation (a cancelled analysis is interrupted: see below);
5. record the answer (a ``result`` or an ``exception``), then publish it. The first answer
   recorded wins, so a late duplicate run can never publish a second, different answer; a runner
   whose claim was taken over (``ClaimLost``: it was presumed dead) stops without answering.

Cancellation interrupts the app by raising ``QuestionCancelled`` in its thread at its next Python
instruction (``PyThreadState_SetAsyncExc``): an app blocked in a long call into C code stops when
that call returns.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from plait.cloud.events.eventarc import PubSubDelivery
from plait.cloud.events.messages import decode_event
from plait.cloud.events.publisher import EventPublisher
from plait.cloud.service.intake import Outcome
from plait.cloud.service.rejection import is_permanent, reject
from plait.exceptions import ClaimLost, InvalidEvent, QuestionCancelled
from plait.log_handlers import serialise_log_record

logger = logging.getLogger(__name__)

_LOG_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def answer_question(delivery: PubSubDelivery, service: Any) -> Outcome:
    """Handle one message from the analyses topic.

    :raise plait.exceptions.QuestionInProgress: if another runner holds a live claim (retry later)
    :raise plait.exceptions.ServiceUnavailable: on a transient failure (the message will be redelivered)
    """
    attributes = delivery.attributes
    try:
        event = decode_event(delivery.data, attributes)
        if event["kind"] != "question":
            raise InvalidEvent(f"Only questions are accepted on the analyses topic, not {event['kind']!r} events.")
    except Exception as error:
        if not is_permanent(error):
            raise
        reject(service, attributes, error)
        return Outcome("rejected", attributes.get("question_uuid"), f"{type(error).__name__}: {error}")

    question_uuid = attributes["question_uuid"]
    publisher = EventPublisher(service.transport, attributes, sender=service.sruid)
    try:
        recorded = service.store.get_answer(question_uuid)
        if recorded:
            _publish(publisher, recorded)
            return Outcome("answer_republished", question_uuid)

        claim = service.store.claim(question_uuid, owner=_owner())
        if claim is None:  # answered between the two calls
            _publish(publisher, service.store.get_answer(question_uuid) or [])
            return Outcome("answer_republished", question_uuid)

        if service.store.is_cancelled(question_uuid):
            answer = publisher.exception_answer(QuestionCancelled(f"Question {question_uuid} was cancelled."))
            _publish(publisher, service.store.record_answer(question_uuid, [answer]))
            return Outcome("cancelled", question_uuid)

        try:
            answer = _run(event, attributes, service, publisher, claim)
        except ClaimLost:
            # Another runner took the question over (this one was presumed dead): it answers, not this one.
            logger.warning("Question %s was taken over by another runner; stopped without answering.", question_uuid)
            return Outcome("claim_lost", question_uuid)
        recorded = service.store.record_answer(question_uuid, [answer])
        _publish(publisher, recorded)
        claim.release()
        return Outcome("answered", question_uuid, answer["event"]["kind"])
    finally:
        publisher.close()


def _run(event: dict, attributes: dict, service: Any, publisher: EventPublisher, claim: Any) -> dict:
    """Run the app with heartbeats, lease renewal and cancellation; return the (unsent) answer."""
    question_uuid = attributes["question_uuid"]
    forward = _ForwardingHandler(publisher) if event.get("forward_logs", True) else None
    watchdog = _Watchdog(service, publisher, claim, question_uuid, threading.get_ident())
    watchdog.start()
    try:
        with watchdog.interruptible():
            analysis = service.runner.run(
                analysis_id=question_uuid,
                # A string in an event is a string, never JSON text or a path (Runner.run would read both).
                input_values=_as_json_text_if_string(event.get("input_values")),
                input_manifest=event.get("input_manifest"),
                analysis_log_level=_LOG_LEVELS.get(event.get("log_level", "INFO"), logging.INFO),
                analysis_log_handler=forward,
                handle_monitor_message=publisher.monitor_message,
                allow_save_diagnostics_data_on_crash=event.get("save_diagnostics") == "SAVE_DIAGNOSTICS_ON_CRASH",
                sent_messages=publisher.sent,
            )
    except QuestionCancelled as error:
        # The watchdog raises the bare type in the app's thread: say what happened (the traceback says where).
        error.args = error.args or (f"Question {question_uuid} was cancelled while it was running.",)
        logger.warning("Question %s stopped: %s", question_uuid, error)
        return publisher.exception_answer(error)
    except ClaimLost:
        raise
    except Exception as error:  # the app's own error: the parent re-raises it
        logger.exception("Question %s failed.", question_uuid)
        return publisher.exception_answer(error)
    finally:
        watchdog.stop()

    manifest = analysis.output_manifest.to_primitive() if analysis.output_manifest is not None else None
    try:
        return publisher.result_answer(analysis.output_values, manifest)
    except InvalidEvent as error:  # e.g. outputs too large for one message
        return publisher.exception_answer(error)


def _as_json_text_if_string(values: Any) -> Any:
    return json.dumps(values) if isinstance(values, str) else values


def _publish(publisher: EventPublisher, messages: list) -> None:
    for message in messages:
        publisher.send_recorded(message)
    publisher.flush()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _ForwardingHandler(logging.Handler):
    """Sends the analysis's log records to the parent as ``log_record`` events."""

    def __init__(self, publisher: EventPublisher) -> None:
        super().__init__()
        self.publisher = publisher

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.publisher.log_record(serialise_log_record(record))
        except Exception:
            self.handleError(record)


class _Watchdog:
    """Heartbeats, claim renewal and cancellation checks, in a thread beside the app's."""

    def __init__(self, service: Any, publisher: EventPublisher, claim: Any, question_uuid: str, app_thread: int):
        self.service = service
        self.publisher = publisher
        self.claim = claim
        self.question_uuid = question_uuid
        self.app_thread = app_thread
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"plait-watchdog-{question_uuid[:8]}", daemon=True)
        self._interruptible = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self.publisher.heartbeat()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def interruptible(self) -> _Interruptible:
        return _Interruptible(self)

    def _watch(self) -> None:
        settings = self.service.settings
        tick = min(settings.heartbeat_interval, settings.cancellation_poll_interval)
        next_heartbeat = time.monotonic() + settings.heartbeat_interval
        next_poll = time.monotonic() + settings.cancellation_poll_interval
        while not self._stopped.wait(tick):
            now = time.monotonic()
            try:
                if now >= next_heartbeat:
                    next_heartbeat = now + settings.heartbeat_interval
                    self.publisher.heartbeat()
                    self.claim.renew()
                if now >= next_poll:
                    next_poll = now + settings.cancellation_poll_interval
                    if self.service.store.is_cancelled(self.question_uuid):
                        self._interrupt(QuestionCancelled)
                        return
            except ClaimLost:
                self._interrupt(ClaimLost)
                return
            except Exception:
                logger.warning("Watchdog of question %s hit an error; retrying.", self.question_uuid, exc_info=True)

    def _interrupt(self, exception_type: type[BaseException]) -> None:
        with self._lock:
            if not self._interruptible:
                return
            logger.warning("Interrupting question %s: %s.", self.question_uuid, exception_type.__name__)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.app_thread), ctypes.py_object(exception_type)
            )


class _Interruptible:
    """Marks the span in which the app may be interrupted; any interruption still pending when it
    ends is cleared, so it never lands in the code that records and publishes the answer."""

    def __init__(self, watchdog: _Watchdog) -> None:
        self.watchdog = watchdog

    def __enter__(self) -> None:
        with self.watchdog._lock:
            self.watchdog._interruptible = True

    def __exit__(self, *exc_info: object) -> None:
        with self.watchdog._lock:
            self.watchdog._interruptible = False
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.watchdog.app_thread), None)
