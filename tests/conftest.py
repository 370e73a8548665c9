"""Test-session fixtures: the storage emulator and a service-account key to sign URLs with.

The storage emulator (gcp-storage-emulator) is a pip dependency and is started by the session
itself on 127.0.0.1 and a free port, so emulator-backed tests always run: they never skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

from plait.cloud.emulators.credentials import load_private_key, make_local_service_account_key
from plait.cloud.emulators.storage import StorageEmulator

TEST_BUCKET = "plait-test-bucket"


@pytest.fixture(scope="session")
def storage_emulator():
    """A storage emulator for the whole session, with ``STORAGE_EMULATOR_HOST`` pointing at it."""
    with StorageEmulator(buckets=(TEST_BUCKET,)) as emulator, emulator.environment():
        yield emulator


@pytest.fixture
def cloud_root(storage_emulator) -> str:
    """A fresh ``gs://`` directory in the emulator's test bucket, unique to the test."""
    return f"gs://{TEST_BUCKET}/{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def service_account_key_file(tmp_path_factory):
    """A service-account key file made for the test session (RSA 2048), and its private key."""
    path = make_local_service_account_key(str(tmp_path_factory.mktemp("credentials")))
    return path, load_private_key(path)


@pytest.fixture
def signing_credentials(service_account_key_file, monkeypatch):
    """``GOOGLE_APPLICATION_CREDENTIALS`` naming the session's service-account key file."""
    path, private_key = service_account_key_file
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
    return path, private_key


@pytest.fixture(scope="session", autouse=True)
def _no_ambient_credentials():
    """Tests never use the developer's own Google credentials: they are removed once, for the session
    (not before each test, which would also remove the throwaway key a running local stack set)."""
    saved = {name: os.environ.pop(name, None) for name in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG")}
    os.environ["CLOUDSDK_CONFIG"] = os.path.join(os.devnull, "no-gcloud-config")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def pubsub_emulator():
    """The official Pub/Sub emulator for the whole session, with ``PUBSUB_EMULATOR_HOST`` and
    ``GOOGLE_CLOUD_PROJECT=plait-local`` set (and restored at the end).

    It comes with the Google Cloud CLI, not from pip. Where it (or Java) is missing the tests
    that use it are skipped, except under ``CI=true``, where they fail saying what is missing.
    """
    from plait.cloud.emulators.pubsub import PubSubEmulator, PubSubEmulatorNotFound

    emulator = PubSubEmulator()
    try:
        emulator.start()
    except PubSubEmulatorNotFound as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"The Pub/Sub emulator is required under CI=true but cannot run: {error}", pytrace=False)
        pytest.skip(f"The Pub/Sub emulator cannot run here: {error}")
    try:
        with emulator.environment():
            yield emulator
    finally:
        emulator.stop()
