"""HTTP in and out for the four functions: a request becomes one handler call, its outcome a response.

The event functions use functions-framework's ``http`` signature and parse the CloudEvent
themselves (with the ``cloudevents`` library): functions-framework's ``cloud_event`` wrapper
answers a malformed CloudEvent with 400, which Pub/Sub treats as a failure and redelivers
forever. Here every permanent error is acknowledged with a 2xx (and answered to the parent where
one can be identified), and only transient errors get a status that makes the trigger retry:

=====  ==================================================================
200    handled: dispatched, answered, rejected (bad input), skipped ...
429    the question is in progress on another runner (retry after its lease)
503    storage or messaging unavailable (retry)
500    the deployment is misconfigured, or an unexpected error (retry; dead-lettered)
=====  ==================================================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from plait.cloud.events.eventarc import is_cloud_event, object_finalized, read_cloud_event, read_pubsub_delivery
from plait.cloud.service.context import get_service_context
from plait.exceptions import (
    CloudStorageError,
    InvalidInputException,
    QuestionInProgress,
    ServiceMisconfigured,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}


def respond(status: int, body: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body), status, JSON_HEADERS


def pubsub_endpoint(request: Any, handler: Callable[[Any, Any], Any]) -> tuple[str, int, dict[str, str]]:
    """Serve a Pub/Sub-triggered function (an Eventarc CloudEvent, or a plain Pub/Sub push):
    call ``handler(delivery, service)``."""

    def parse(headers: Any, body: bytes) -> tuple[Any, Any]:
        return read_pubsub_delivery(headers, body)

    return _serve(request, parse, handler, answer=True)


def storage_endpoint(request: Any, handler: Callable[[Any, Any], Any]) -> tuple[str, int, dict[str, str]]:
    """Serve a storage-triggered function: parse the CloudEvent, call ``handler(finalized, service)``."""

    def parse(headers: Any, body: bytes) -> tuple[Any, Any]:
        cloud_event = read_cloud_event(headers, body)
        return object_finalized(cloud_event), cloud_event

    return _serve(request, parse, handler, answer=False)


def signing_endpoint(request: Any) -> tuple[str, int, dict[str, str]]:
    """Serve the signed-URL function."""
    from plait.cloud.service.signing import error, handle_signing_request

    try:
        settings = get_service_context().settings
    except ServiceMisconfigured as problem:
        logger.error("%s", problem)
        response = error(500, "The signed-URL service is misconfigured; see its logs.")
        return response.json(), response.status, JSON_HEADERS
    try:
        response = handle_signing_request(
            request.method, request.args.to_dict(), request.get_data(cache=False), settings.signing_allowed_prefixes
        )
    except (ServiceUnavailable, CloudStorageError) as problem:
        logger.warning("Signing failed transiently: %s", problem)
        response = error(503, "Storage is unavailable; try again shortly.")
    except Exception:  # still answer in JSON, as every other error is
        logger.exception("Unexpected error signing a URL.")
        response = error(500, "The signed-URL service failed unexpectedly; see its logs.")
    return response.json(), response.status, JSON_HEADERS


def _serve(
    request: Any, parse: Callable[[Any, bytes], tuple[Any, Any]], handler: Callable[[Any, Any], Any], answer: bool
) -> tuple[str, int, dict[str, str]]:
    try:
        service = get_service_context()
    except ServiceMisconfigured as problem:
        logger.error("%s", problem)
        return respond(500, {"error": "misconfigured", "detail": str(problem)})

    body = request.get_data(cache=False)
    try:
        parsed, _ = parse(request.headers, body)
        outcome = handler(parsed, service)
    except InvalidInputException as problem:
        # Malformed CloudEvent or envelope, or an event naming something impossible (e.g. an object
        # name GCS cannot hold): acknowledge it (redelivery cannot fix it), and tell the parent if
        # the message's attributes say who it is.
        if answer:
            from plait.cloud.service.rejection import reject

            reject(service, _attributes_in(request.headers, body), problem)
        logger.error("Rejected a malformed event: %s", problem)
        return respond(200, {"action": "rejected", "detail": str(problem)})
    except QuestionInProgress as problem:
        logger.info("%s", problem)
        return respond(429, {"action": "retry_later", "detail": str(problem)})
    except (ServiceUnavailable, CloudStorageError) as problem:
        logger.warning("Transient failure, the event will be redelivered: %s", problem)
        return respond(503, {"action": "retry", "detail": str(problem)})
    except Exception as problem:
        logger.exception("Unexpected error handling an event; it will be redelivered.")
        return respond(500, {"action": "retry", "detail": f"{type(problem).__name__}: {problem}"})
    return respond(200, asdict(outcome))


def _attributes_in(headers: Any, body: bytes) -> Any:
    """The Pub/Sub attributes in a request whose event is otherwise unusable, if there are any.

    Read from the body as it is, so that they are found even when the CloudEvent around them is
    malformed: the body is the Pub/Sub envelope (binary mode, plain push) or holds it as ``data``
    (structured mode).
    """
    try:
        envelope = json.loads(body)
        if is_cloud_event(headers) and "message" not in envelope:  # structured mode
            envelope = envelope["data"]
            if isinstance(envelope, str):
                envelope = json.loads(envelope)
        return envelope["message"]["attributes"]
    except Exception:  # no attributes to be found: nobody to answer
        return None
