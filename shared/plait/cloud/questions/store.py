"""The question store: idempotency records for questions, kept in the service bucket.

Delivery is at-least-once, so every function that handles a question asks this store what has
already happened to it. One "directory" per question (DESIGN.md, "The four functions")::

    gs://<service bucket>/questions/<uuid>/question.json   the question, recorded once
                                          /claim           which runner is answering it, until when
                                          /answer.json     the final events, recorded once
                                          /cancellation    present once cancellation was asked for
    gs://<service bucket>/diagnostics/<uuid>/...           crash diagnostics (written by the Runner)

It follows the shape of Powertools' idempotency utility: a record per key with a status (a live
claim means "in progress", an answer means "completed"), an expiry for in-progress records (the
claim's lease, so a crashed runner's question is eventually run again), a hash of the payload
(so a question UUID reused for a different question is caught) and a small persistence layer
(the four private ``_read``/``_write``/``_delete``/``_exists`` methods hold everything
GCS-specific; another backend would replace only those).

Every "exactly once" here rests on GCS generation preconditions: a record is created with
``if_generation_match=0`` (only if absent) and a claim is replaced with
``if_generation_match=<the generation read>``, so of several concurrent writers exactly one
wins. Records are canonical JSON, and a claim carries a random token, so a write whose response
was lost and whose retry then failed its precondition is recognised as our own (see
``plait.cloud.storage.client``).

Errors: a transient storage failure raises ``plait.exceptions.ServiceUnavailable`` (so the
trigger retries); a question UUID reused for a different question raises ``QuestionConflict``
(permanent); a live claim held by another runner raises ``QuestionInProgress`` (transient:
retry after its lease). Leases are compared with this process's ``clock``, so runners' clocks
should agree to well within a lease (NTP-synchronised machines do).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plait.cloud.storage import path as storage_path
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    ClaimLost,
    CloudObjectNotFound,
    CloudStorageError,
    InvalidIdentifierException,
    InvalidInputException,
    PreconditionFailed,
    QuestionConflict,
    QuestionInProgress,
)
from plait.hashing import canonical_json, hash_json

logger = logging.getLogger(__name__)

#: A claim lasts this long unless renewed.
DEFAULT_LEASE_SECONDS = 90.0

QUESTIONS_DIRECTORY = "questions"
DIAGNOSTICS_DIRECTORY = "diagnostics"
QUESTION_FILENAME = "question.json"
CLAIM_FILENAME = "claim"
ANSWER_FILENAME = "answer.json"
CANCELLATION_FILENAME = "cancellation"

# How many times claim() re-reads a claim that changed under it before giving up for now.
_CLAIM_ATTEMPTS = 5

_QUESTION_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class QuestionRecord:
    """A question as first recorded."""

    question_uuid: str
    event: dict[str, Any]
    attributes: dict[str, Any]
    #: BLAKE3 of the event's canonical JSON (``plait.hashing.hash_json``).
    payload_hash: str
    #: When it was recorded (seconds since the epoch, by the recorder's clock).
    recorded_at: float

    def to_primitive(self) -> dict[str, Any]:
        return {
            "question_uuid": self.question_uuid,
            "event": self.event,
            "attributes": self.attributes,
            "payload_hash": self.payload_hash,
            "recorded_at": self.recorded_at,
        }

    @classmethod
    def from_primitive(cls, document: dict[str, Any]) -> QuestionRecord:
        return cls(
            question_uuid=document["question_uuid"],
            event=document["event"],
            attributes=document["attributes"],
            payload_hash=document["payload_hash"],
            recorded_at=document["recorded_at"],
        )


@dataclass
class Claim:
    """A runner's claim on a question: it alone answers the question until ``lease_expires_at``.

    Renew it (``renew``) more often than the lease lasts; release it (``release``) once the answer
    is recorded.
    """

    question_uuid: str
    owner: str
    claimed_at: float
    lease_expires_at: float
    #: Random, per claim: tells this claim's writes from any other's.
    token: str
    #: The generation of the claim object this claim last wrote (what the next write is conditional on).
    generation: int
    _store: QuestionStore = field(repr=False, compare=False)

    def renew(self) -> Claim:
        """Extend the lease by the store's lease length, from now.

        :raise plait.exceptions.ClaimLost: if another runner took the claim over (the lease had
            expired) or it was released: this runner must stop answering the question
        """
        renewed = Claim(
            question_uuid=self.question_uuid,
            owner=self.owner,
            claimed_at=self.claimed_at,
            lease_expires_at=self._store._clock() + self._store.lease_seconds,
            token=self.token,
            generation=self.generation,
            _store=self._store,
        )
        generation = self._store._write(
            self._store._path(self.question_uuid, CLAIM_FILENAME), renewed.to_primitive(), self.generation
        )
        if generation is None:
            raise ClaimLost(
                f"The claim of {self.owner!r} on question {self.question_uuid} was taken over by another runner "
                f"(its lease expired at {_moment(self.lease_expires_at)}) or released: stop answering the question."
            )
        self.lease_expires_at, self.generation = renewed.lease_expires_at, generation
        return self

    def release(self) -> None:
        """Give the claim up (after recording the answer). Does nothing if it was already lost."""
        self._store._delete(self._store._path(self.question_uuid, CLAIM_FILENAME), self.generation)

    def to_primitive(self) -> dict[str, Any]:
        return {
            "question_uuid": self.question_uuid,
            "owner": self.owner,
            "claimed_at": self.claimed_at,
            "lease_expires_at": self.lease_expires_at,
            "token": self.token,
        }

    @classmethod
    def from_primitive(cls, document: dict[str, Any], generation: int, store: QuestionStore) -> Claim:
        return cls(
            question_uuid=document["question_uuid"],
            owner=document["owner"],
            claimed_at=document["claimed_at"],
            lease_expires_at=document["lease_expires_at"],
            token=document.get("token", ""),
            generation=generation,
            _store=store,
        )


class QuestionStore:
    """Question records, claims, answers and cancellations in a service bucket.

    :param bucket_name: the service bucket (``my-bucket`` or ``gs://my-bucket``)
    :param lease_seconds: how long a claim lasts without renewal
    :param clock: the current time in seconds since the epoch (injectable for tests)
    """

    def __init__(
        self, bucket_name: str, lease_seconds: float = DEFAULT_LEASE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        bucket_name = storage_path.strip_protocol(bucket_name).strip("/")
        storage_path.split_bucket_name_from_cloud_path(storage_path.generate_gs_path(bucket_name))  # validates it
        if not lease_seconds > 0:
            raise InvalidInputException(f"A claim's lease must be a positive number of seconds, not {lease_seconds!r}.")
        self.bucket_name = bucket_name
        self.lease_seconds = float(lease_seconds)
        self._clock = clock
        self._storage = GoogleCloudStorageClient()

    # -- questions --

    def record_question(self, question_uuid: str, event: dict, attributes: dict) -> QuestionRecord:
        """Record a question the first time it arrives; on a redelivery, return the first record.

        :raise plait.exceptions.QuestionConflict: if the UUID was already recorded for a different question
        """
        record = QuestionRecord(
            question_uuid=_checked(question_uuid),
            event=event,
            attributes=attributes,
            payload_hash=hash_json(event),
            recorded_at=self._clock(),
        )
        path = self._path(question_uuid, QUESTION_FILENAME)
        while self._write(path, record.to_primitive(), 0) is None:
            existing = self.get_question(question_uuid)
            if existing is None:  # deleted in between (by hand): record it again
                continue
            if existing.payload_hash != record.payload_hash:
                raise QuestionConflict(
                    f"Question UUID {question_uuid} was already used for a different question (recorded at "
                    f"{_moment(existing.recorded_at)}): give each question its own UUID."
                )
            return existing
        return record

    def get_question(self, question_uuid: str) -> QuestionRecord | None:
        found = self._read(self._path(question_uuid, QUESTION_FILENAME))
        return QuestionRecord.from_primitive(found[0]) if found else None

    # -- claims --

    def claim(self, question_uuid: str, owner: str) -> Claim | None:
        """Claim the question for ``owner``, so that only one runner answers it.

        :param owner: who is claiming, unique per attempt (e.g. host, process and a random part);
            claiming again with the owner of a live claim returns that claim
        :return: the claim, or None if the question is already answered (nothing to do)
        :raise plait.exceptions.QuestionInProgress: if another owner holds an unexpired claim
        """
        path = self._path(question_uuid, CLAIM_FILENAME)
        replace = 0  # the generation to replace: first, create the claim if there is none
        for _ in range(_CLAIM_ATTEMPTS):
            now = self._clock()
            claim = Claim(question_uuid, owner, now, now + self.lease_seconds, uuid.uuid4().hex, 0, self)
            generation = self._write(path, claim.to_primitive(), replace)
            if generation is not None:
                claim.generation = generation
                if self._exists(self._path(question_uuid, ANSWER_FILENAME)):  # answered before we claimed
                    claim.release()
                    return None
                return claim

            # Someone else's claim is there, or someone else replaced the expired one first: look at it.
            found = self._read(path)
            if found is None:  # released in between
                replace = 0
                continue
            if self._exists(self._path(question_uuid, ANSWER_FILENAME)):
                return None
            held = Claim.from_primitive(found[0], found[1], self)
            if held.lease_expires_at > self._clock():
                if held.owner == owner:
                    return held
                raise QuestionInProgress(
                    f"Question {question_uuid} is being answered by {held.owner!r} (claimed at "
                    f"{_moment(held.claimed_at)}); its lease expires at {_moment(held.lease_expires_at)}, "
                    f"in {held.lease_expires_at - self._clock():.0f} s: retry after that."
                )
            replace = held.generation  # expired: take it over, unless someone else does first
        raise QuestionInProgress(
            f"The claim on question {question_uuid} kept changing while {owner!r} tried to take it: retry later."
        )

    def get_claim(self, question_uuid: str) -> Claim | None:
        """The current claim on the question (live or expired), or None if there is none."""
        found = self._read(self._path(question_uuid, CLAIM_FILENAME))
        return Claim.from_primitive(found[0], found[1], self) if found else None

    # -- answers --

    def record_answer(self, question_uuid: str, events: list[dict]) -> list[dict]:
        """Record the question's final events; the first answer recorded wins.

        :param events: the events to (re)publish, each ``{"event": {...}, "attributes": {...}}``
        :return: the recorded answer: ``events``, or the answer recorded before them
        """
        _checked(question_uuid)
        if not isinstance(events, list) or not all(
            isinstance(item, dict) and isinstance(item.get("event"), dict) and isinstance(item.get("attributes"), dict)
            for item in events
        ):
            raise InvalidInputException(
                'An answer is a list of {"event": {...}, "attributes": {...}} messages, '
                f"not {type(events).__name__} {str(events)[:200]}."
            )
        path = self._path(question_uuid, ANSWER_FILENAME)
        document = {"question_uuid": question_uuid, "events": events, "answered_at": self._clock()}
        while self._write(path, document, 0) is None:
            existing = self.get_answer(question_uuid)
            if existing is not None:
                return existing
        return events

    def get_answer(self, question_uuid: str) -> list[dict] | None:
        """The recorded answer's events, or None if the question has not been answered."""
        found = self._read(self._path(question_uuid, ANSWER_FILENAME))
        return found[0]["events"] if found else None

    # -- cancellation --

    def request_cancellation(self, question_uuid: str, reason: str = "") -> None:
        """Mark the question as cancelled (idempotent: the first request's reason is kept)."""
        document = {"question_uuid": question_uuid, "reason": reason, "requested_at": self._clock()}
        self._write(self._path(question_uuid, CANCELLATION_FILENAME), document, 0)

    def is_cancelled(self, question_uuid: str) -> bool:
        return self._exists(self._path(question_uuid, CANCELLATION_FILENAME))

    # -- diagnostics --

    def diagnostics_path(self, question_uuid: str) -> str:
        """Where crash diagnostics go: ``gs://<bucket>/diagnostics`` (the Runner adds ``/<uuid>/...`` itself)."""
        return storage_path.generate_gs_path(self.bucket_name, DIAGNOSTICS_DIRECTORY)

    # -- persistence: everything GCS-specific is below --

    def _path(self, question_uuid: str, filename: str) -> str:
        return storage_path.generate_gs_path(self.bucket_name, QUESTIONS_DIRECTORY, _checked(question_uuid), filename)

    def _read(self, path: str) -> tuple[dict[str, Any], int] | None:
        """The document at ``path`` and its generation, or None if there is none."""
        try:
            text, generation = self._storage.download_as_string_with_generation(path)
        except CloudObjectNotFound:
            return None
        try:
            return json.loads(text), generation
        except ValueError as error:
            raise CloudStorageError(f"{path} is not a JSON record ({error}): delete or repair it.") from error

    def _write(self, path: str, document: dict[str, Any], if_generation_match: int) -> int | None:
        """Write ``document`` if the object's generation is ``if_generation_match`` (0: if absent).

        :return: the new generation, or None if the precondition was not met
        """
        try:
            written = self._storage.upload_from_string(
                canonical_json(document),
                path,
                content_type="application/json",
                if_generation_match=if_generation_match,
            )
        except PreconditionFailed:
            return None
        return written.generation

    def _delete(self, path: str, if_generation_match: int) -> None:
        """Delete the object if its generation is still ``if_generation_match``; otherwise leave it."""
        try:
            self._storage.delete(path, if_generation_match=if_generation_match)
        except (PreconditionFailed, CloudObjectNotFound):
            pass

    def _exists(self, path: str) -> bool:
        return self._storage.get_metadata(path) is not None


def _checked(question_uuid: str) -> str:
    """The question UUID, if it is one (it becomes part of object names)."""
    if not isinstance(question_uuid, str) or not _QUESTION_UUID.match(question_uuid):
        raise InvalidIdentifierException(
            f"{question_uuid!r} is not a question UUID: use a lowercase UUID such as {uuid.uuid4()}."
        )
    return question_uuid


def _moment(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")
