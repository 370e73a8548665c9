"""The question store against the storage emulator: records once, one claim at a time, the first
answer wins — and the storage client's conditional writes underneath it."""

from __future__ import annotations

import http.server
import threading
import time
import uuid

import pytest
import requests

from plait.cloud.questions import Claim, QuestionRecord, QuestionStore
from plait.cloud.storage import client as client_module
from plait.cloud.storage.client import GoogleCloudStorageClient
from plait.exceptions import (
    ClaimLost,
    CloudObjectNotFound,
    InvalidIdentifierException,
    PreconditionFailed,
    QuestionConflict,
    QuestionInProgress,
    ServiceUnavailable,
)

EVENT = {"kind": "question", "input_values": {"height": 2}}
ATTRIBUTES = {"question_uuid": "set per test", "retry_count": "0"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def bucket_name(storage_emulator) -> str:
    name = f"plait-service-{uuid.uuid4().hex[:12]}"
    storage_emulator.create_bucket(name)
    return name


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(bucket_name, clock) -> QuestionStore:
    return QuestionStore(bucket_name, lease_seconds=90, clock=clock)


@pytest.fixture
def question_uuid() -> str:
    return str(uuid.uuid4())


def _concurrently(count: int, function) -> list:
    """Run ``function(i)`` in ``count`` threads started together; return results or raised exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = function(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- questions --


def test_a_redelivered_question_returns_the_first_record(store, clock, question_uuid):
    first = store.record_question(question_uuid, EVENT, {**ATTRIBUTES, "retry_count": "0"})
    clock.advance(30)
    second = store.record_question(question_uuid, dict(EVENT), {**ATTRIBUTES, "retry_count": "1"})

    assert isinstance(first, QuestionRecord)
    assert second == first
    assert second.attributes["retry_count"] == "0"
    assert store.get_question(question_uuid) == first
    assert store.get_question(str(uuid.uuid4())) is None


def test_a_question_uuid_reused_for_a_different_question_is_a_conflict(store, question_uuid):
    store.record_question(question_uuid, EVENT, ATTRIBUTES)

    with pytest.raises(QuestionConflict, match=question_uuid):
        store.record_question(question_uuid, {**EVENT, "input_values": {"height": 3}}, ATTRIBUTES)
    assert store.get_question(question_uuid).event == EVENT


def test_question_uuids_must_be_uuids(store):
    with pytest.raises(InvalidIdentifierException):
        store.record_question("../../other-bucket", EVENT, ATTRIBUTES)
    with pytest.raises(InvalidIdentifierException):
        store.claim("not-a-uuid", "runner")


# -- claims --


def test_of_ten_concurrent_claims_exactly_one_wins(store, question_uuid):
    results = _concurrently(10, lambda index: store.claim(question_uuid, owner=f"runner-{index}"))

    claims = [result for result in results if isinstance(result, Claim)]
    assert len(claims) == 1
    assert all(isinstance(result, QuestionInProgress) for result in results if result is not claims[0])
    assert store.get_claim(question_uuid).owner == claims[0].owner


def test_a_live_claim_makes_other_runners_retry_later_but_not_its_owner(store, clock, question_uuid):
    claim = store.claim(question_uuid, owner="runner-a")
    assert claim.lease_expires_at == clock.now + 90

    clock.advance(89)
    with pytest.raises(QuestionInProgress, match="runner-a") as raised:
        store.claim(question_uuid, owner="runner-b")
    assert isinstance(raised.value, ServiceUnavailable)  # transient: the trigger retries
    assert "lease expires at" in str(raised.value)
    assert store.claim(question_uuid, owner="runner-a").token == claim.token


def test_an_answered_question_is_not_claimed_again(store, question_uuid):
    claim = store.claim(question_uuid, owner="runner-a")
    store.record_answer(question_uuid, [{"event": {"kind": "result"}, "attributes": {"a": "1"}}])

    assert store.claim(question_uuid, owner="runner-b") is None  # the claim is live but the answer is in
    claim.release()
    assert store.get_claim(question_uuid) is None
    assert store.claim(question_uuid, owner="runner-c") is None
    assert store.get_claim(question_uuid) is None  # nothing left behind


def test_an_expired_claim_is_taken_over_by_exactly_one_of_several_runners(store, clock, question_uuid):
    crashed = store.claim(question_uuid, owner="crashed-runner")
    clock.advance(91)

    results = _concurrently(6, lambda index: store.claim(question_uuid, owner=f"runner-{index}"))

    claims = [result for result in results if isinstance(result, Claim)]
    assert len(claims) == 1
    assert claims[0].lease_expires_at == clock.now + 90
    assert all(isinstance(result, QuestionInProgress) for result in results if result is not claims[0])
    with pytest.raises(ClaimLost):
        crashed.renew()


def test_renewing_extends_the_lease(store, clock, question_uuid):
    claim = store.claim(question_uuid, owner="runner-a")
    first_generation = claim.generation
    clock.advance(60)

    assert claim.renew() is claim
    assert claim.lease_expires_at == clock.now + 90
    assert claim.generation != first_generation

    clock.advance(60)  # past the first lease, inside the renewed one
    with pytest.raises(QuestionInProgress):
        store.claim(question_uuid, owner="runner-b")
    claim.renew()  # renewing again works from the new generation


def test_renewing_a_claim_that_was_taken_over_raises_claim_lost(store, clock, question_uuid):
    slow = store.claim(question_uuid, owner="slow-runner")
    clock.advance(120)
    taker = store.claim(question_uuid, owner="other-runner")

    with pytest.raises(ClaimLost, match="stop answering"):
        slow.renew()
    slow.release()  # releasing a lost claim leaves the new holder's claim alone
    assert store.get_claim(question_uuid).token == taker.token


# -- answers and cancellation --


def test_the_first_recorded_answer_wins(store, question_uuid):
    first = [{"event": {"kind": "result", "output_values": 1}, "attributes": {"uuid": "1"}}]
    second = [{"event": {"kind": "exception", "exception_message": "late"}, "attributes": {"uuid": "2"}}]

    assert store.get_answer(question_uuid) is None
    assert store.record_answer(question_uuid, first) == first
    assert store.record_answer(question_uuid, second) == first
    assert store.get_answer(question_uuid) == first


def test_cancellation_round_trip(store, question_uuid):
    assert not store.is_cancelled(question_uuid)
    store.request_cancellation(question_uuid, reason="no longer needed")
    store.request_cancellation(question_uuid)  # idempotent
    assert store.is_cancelled(question_uuid)
    assert not store.is_cancelled(str(uuid.uuid4()))


def test_diagnostics_go_to_the_service_bucket(store, bucket_name, question_uuid):
    assert store.diagnostics_path(question_uuid) == f"gs://{bucket_name}/diagnostics"


# -- outages --


@pytest.fixture
def storage_outage(monkeypatch):
    """Storage unreachable: the emulator host points at a closed port; retries give up after 0.5 s."""
    from plait.cloud.emulators.storage import free_port

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PLAIT_STORAGE_RETRY_DEADLINE", "0.5")
    monkeypatch.setattr(client_module, "_thread_local", threading.local())


@pytest.mark.parametrize(
    "operation",
    [
        lambda store, question_uuid: store.record_question(question_uuid, EVENT, ATTRIBUTES),
        lambda store, question_uuid: store.claim(question_uuid, owner="runner"),
        lambda store, question_uuid: store.get_answer(question_uuid),
        lambda store, question_uuid: store.is_cancelled(question_uuid),
    ],
    ids=["record_question", "claim", "get_answer", "is_cancelled"],
)
def test_a_storage_outage_raises_service_unavailable(store, question_uuid, storage_outage, operation):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="PLAIT_STORAGE_RETRY_DEADLINE"):
        operation(store, question_uuid)
    assert time.monotonic() - started < 10


# -- the storage client's conditional writes --


def test_conditional_uploads_and_generation_aware_reads(bucket_name):
    client = GoogleCloudStorageClient()
    path = f"gs://{bucket_name}/doc.json"

    created = client.upload_from_string('{"v": 1}', path, if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        client.upload_from_string('{"v": 2}', path, if_generation_match=0)
    assert client.download_as_string_with_generation(path) == ('{"v": 1}', created.generation)

    replaced = client.upload_from_string('{"v": 3}', path, if_generation_match=created.generation)
    with pytest.raises(PreconditionFailed):
        client.delete(path, if_generation_match=created.generation)
    client.delete(path, if_generation_match=replaced.generation)
    with pytest.raises(CloudObjectNotFound):
        client.download_as_string_with_generation(path)


class _ResponseLosingProxy(http.server.ThreadingHTTPServer):
    """Forwards requests to the emulator; for the next ``lose`` uploads, answers 503 after forwarding
    (the write lands, its response is "lost")."""

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _ResponseLosingHandler)
        self.target = target
        self.lose = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ResponseLosingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        server: _ResponseLosingProxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length")}
        response = requests.request(self.command, server.target + self.path, data=body, headers=headers, timeout=30)
        status, content = response.status_code, response.content
        if self.path.startswith("/upload/") and server.lose > 0:
            server.lose -= 1
            status, content = 503, b'{"error": {"code": 503, "message": "response lost"}}'
        self.send_response(status)
        self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        for key, value in response.headers.items():
            if key.lower().startswith("x-goog"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def lossy_storage(storage_emulator, monkeypatch):
    proxy = _ResponseLosingProxy(storage_emulator.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_a_conditional_upload_whose_response_was_lost_still_succeeds(lossy_storage, bucket_name):
    client = GoogleCloudStorageClient()
    path = f"gs://{bucket_name}/claim"

    lossy_storage.lose = 1  # the first attempt lands; the retry then finds our own object
    written = client.upload_from_string("ours", path, if_generation_match=0)

    assert lossy_storage.lose == 0
    assert client.download_as_string_with_generation(path) == ("ours", written.generation)
    with pytest.raises(PreconditionFailed):  # without a retry, an existing object is a plain conflict
        client.upload_from_string("ours", path, if_generation_match=0)


def test_a_claim_renewal_whose_response_was_lost_keeps_the_claim(lossy_storage, bucket_name, question_uuid):
    store = QuestionStore(bucket_name)
    claim = store.claim(question_uuid, owner="runner-a")

    lossy_storage.lose = 1  # the renewal lands, its response is lost: the retry must not look like a takeover
    claim.renew()

    assert lossy_storage.lose == 0
    assert store.get_claim(question_uuid).generation == claim.generation
    claim.renew()
