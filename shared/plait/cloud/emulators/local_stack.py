"""The local stack: one service running on this machine exactly as it runs in the cloud, no account needed.

- storage: the embedded storage emulator (``StorageEmulator``) with the service and datasets
  buckets, generation preconditions enforced, and a throwaway service-account key to sign URLs;
- the four functions from ``plait.functions.main``, each served by functions-framework on
  127.0.0.1 and its own port (``mode="http"``), or through functions-framework's WSGI app without
  sockets (``mode="in_process"``, for measuring plait itself);
- messaging: the in-process ``LocalBus``, pushing CloudEvents in Eventarc's shapes to the
  functions (``messaging="local"``, the default); or the official Pub/Sub emulator named by
  ``PUBSUB_EMULATOR_HOST`` (``messaging="pubsub"``), with push subscriptions from the questions
  and analyses topics to the functions' URLs, exactly as a deployment without Eventarc would have;
- a storage trigger that turns every new object in the datasets bucket into an
  ``object.finalized`` CloudEvent for dataset finalisation (the storage emulator sends no
  notifications itself).

The functions are configured through the same environment variables Terraform sets (see
``plait.cloud.service.settings``), set for the duration of the stack.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from typing import Any

from plait.cloud.emulators.storage import HOST, StorageEmulator, free_port
from plait.cloud.events.sruid import ServiceRevision
from plait.cloud.transport.local import LocalBus, PushEndpoint

logger = logging.getLogger(__name__)

SERVICE_BUCKET = "plait-local-service"
DATASETS_BUCKET = "plait-local-datasets"
ENTRY_POINTS = ("question_intake", "analysis_runner", "dataset_finalisation", "signed_urls")


class LocalStack:
    """Run a service directory (``plait.yaml``, twine, app) on this machine.

    :param service_directory: the service's directory
    :param revision_tag: the revision tag to serve it as (its SRUID is ``<namespace>/<name>:<tag>``)
    :param mode: ``"http"`` (functions-framework servers on 127.0.0.1) or ``"in_process"``
    :param heartbeat_interval: seconds between heartbeats while an analysis runs
    :param claim_lease_seconds: how long a claim lasts without renewal
    :param cancellation_poll_interval: seconds between checks for cancellation
    :param messaging: ``"local"`` (the in-process bus) or ``"pubsub"`` (the Pub/Sub emulator named by
        ``PUBSUB_EMULATOR_HOST``; needs ``mode="http"``)
    """

    def __init__(
        self,
        service_directory: str,
        revision_tag: str = "local",
        mode: str = "http",
        heartbeat_interval: float = 5,
        claim_lease_seconds: float | None = None,
        cancellation_poll_interval: float = 0.5,
        messaging: str = "local",
    ) -> None:
        from plait.configuration import ServiceConfiguration

        if mode not in ("http", "in_process"):
            raise ValueError(f"mode must be 'http' or 'in_process', not {mode!r}")
        if messaging not in ("local", "pubsub"):
            raise ValueError(f"messaging must be 'local' or 'pubsub', not {messaging!r}")
        if messaging == "pubsub" and (mode != "http" or not os.environ.get("PUBSUB_EMULATOR_HOST")):
            raise ValueError("messaging='pubsub' needs mode='http' and PUBSUB_EMULATOR_HOST set (a Pub/Sub emulator).")
        self.messaging = messaging
        self._push_subscriptions: list[str] = []
        self.service_directory = os.path.abspath(service_directory)
        configuration = ServiceConfiguration.from_file(os.path.join(self.service_directory, "plait.yaml"))
        self.revision = ServiceRevision.parse(f"{configuration.namespace}/{configuration.name}:{revision_tag}")
        self.mode = mode
        self.heartbeat_interval = heartbeat_interval
        self.claim_lease_seconds = claim_lease_seconds or 3 * heartbeat_interval
        self.cancellation_poll_interval = cancellation_poll_interval
        self.storage: StorageEmulator | None = None
        self.bus: LocalBus | None = None
        self.urls: dict[str, str] = {}
        self._servers: list[Any] = []
        self._workspace: str | None = None
        self._previous_environment: dict[str, str | None] = {}

    @property
    def sruid(self) -> str:
        return self.revision.sruid

    @property
    def datasets_bucket(self) -> str:
        return DATASETS_BUCKET

    @property
    def signed_urls_url(self) -> str | None:
        return self.urls.get("signed_urls")

    def child(self) -> Any:
        """A ``Child`` for this stack's service."""
        from plait.resources.child import Child

        if self.messaging == "pubsub":
            return Child(self.sruid, {"name": "GCPPubSubBackend", "project_name": "plait-local"})
        return Child(self.sruid, {"name": "LocalBackend"})

    # -- starting and stopping --

    def start(self) -> LocalStack:
        from plait.cloud.emulators.credentials import make_local_service_account_key
        from plait.cloud.service.context import reset_service_context

        # functions-framework's server logs every request; the stack's own logs say what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._workspace = tempfile.mkdtemp(prefix="plait-local-stack-")
        self.storage = StorageEmulator(buckets=(SERVICE_BUCKET, DATASETS_BUCKET)).start()
        self._set_environment(
            {
                "STORAGE_EMULATOR_HOST": self.storage.url,
                "GOOGLE_APPLICATION_CREDENTIALS": make_local_service_account_key(self._workspace),
                "GOOGLE_CLOUD_PROJECT": "plait-local",
                "PLAIT_TRANSPORT": self.messaging,
                "PLAIT_SERVICE_SRUID": self.sruid,
                "PLAIT_SERVICE_BUCKET": SERVICE_BUCKET,
                "PLAIT_DATASETS_BUCKET": DATASETS_BUCKET,
                "PLAIT_OUTPUT_LOCATION": f"gs://{DATASETS_BUCKET}/outputs",
                "PLAIT_SIGNING_ALLOWED_PREFIXES": f"gs://{DATASETS_BUCKET}/",
                "PLAIT_HEARTBEAT_INTERVAL": str(self.heartbeat_interval),
                "PLAIT_CLAIM_LEASE_SECONDS": str(self.claim_lease_seconds),
                "PLAIT_CANCELLATION_POLL_INTERVAL": str(self.cancellation_poll_interval),
                "PLAIT_APP_DIRECTORY": self.service_directory,
                "PLAIT_QUESTIONS_TOPIC": None,
                "PLAIT_ANALYSES_TOPIC": None,
            }
        )
        reset_service_context()
        LocalBus.reset_instance()
        self.bus = LocalBus.instance()
        for kind in ("questions", "analyses", "answers", "dead-letter"):
            self.bus.create_topic(self.revision.topic(kind))

        targets = {name: self._serve(name) for name in ENTRY_POINTS}
        if self.messaging == "pubsub":
            self._subscribe_functions_on_pubsub(targets)
        else:
            for topic, name, entry_point in (
                (self.revision.questions_topic, "question-intake", "question_intake"),
                (self.revision.analyses_topic, "analysis-runner", "analysis_runner"),
            ):
                endpoint = PushEndpoint(name, targets[entry_point], dead_letter_topic=self.revision.dead_letter_topic)
                self.bus.add_push_endpoint(topic, endpoint)
        self.bus.add_storage_trigger(
            DATASETS_BUCKET, PushEndpoint("dataset-finalisation", targets["dataset_finalisation"])
        )
        self.storage.on_object_finalized.append(self._object_finalized)
        logger.info("Local stack for %s is up (%s).", self.sruid, self.mode)
        return self

    def stop(self) -> None:
        from plait.cloud.service.context import reset_service_context

        self._unsubscribe_functions_on_pubsub()
        for server in self._servers:
            with contextlib.suppress(Exception):
                server.shutdown()
        self._servers.clear()
        if self.bus is not None:
            LocalBus.reset_instance()
            self.bus = None
        if self.storage is not None:
            self.storage.stop()
            self.storage = None
        self._restore_environment()
        reset_service_context()
        if self._workspace:
            shutil.rmtree(self._workspace, ignore_errors=True)
            self._workspace = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals --

    def _serve(self, entry_point: str) -> Any:
        """Start one function under functions-framework; return the bus's push target for it."""
        import functions_framework

        import plait.functions

        source = os.path.join(os.path.dirname(plait.functions.__file__), "main.py")
        app = functions_framework.create_app(target=entry_point, source=source, signature_type="http")

        if self.mode == "in_process":
            client = app.test_client()

            def deliver(headers: dict[str, str], body: bytes) -> int:
                return client.post("/", data=body, headers=headers).status_code

            return deliver

        from werkzeug.serving import make_server

        port = free_port()
        server = make_server(HOST, port, app, threaded=True)
        threading.Thread(target=server.serve_forever, name=f"plait-{entry_point}", daemon=True).start()
        self._servers.append(server)
        self.urls[entry_point] = f"http://{HOST}:{port}/"
        return self.urls[entry_point]

    def _subscribe_functions_on_pubsub(self, targets: dict[str, Any]) -> None:
        """Topics and push subscriptions (to the functions' URLs) on the Pub/Sub emulator."""
        import uuid

        from plait.cloud.transport.pubsub import GooglePubSubTransport

        transport = GooglePubSubTransport.shared("plait-local")
        for kind in ("questions", "analyses", "answers", "dead-letter"):
            transport.create_topic(self.revision.topic(kind))
        suffix = uuid.uuid4().hex[:8]
        for topic, entry_point in (
            (self.revision.questions_topic, "question_intake"),
            (self.revision.analyses_topic, "analysis_runner"),
        ):
            name = transport.subscription_path(f"plait-{entry_point.replace('_', '-')}-{suffix}")
            transport.subscriber.create_subscription(
                request={
                    "name": name,
                    "topic": transport.topic_path(topic),
                    "push_config": {"push_endpoint": targets[entry_point]},
                    "ack_deadline_seconds": 600,
                    "enable_message_ordering": True,
                }
            )
            self._push_subscriptions.append(name)

    def _unsubscribe_functions_on_pubsub(self) -> None:
        if not self._push_subscriptions:
            return
        from plait.cloud.transport.pubsub import GooglePubSubTransport

        transport = GooglePubSubTransport.shared("plait-local")
        for name in self._push_subscriptions:
            with contextlib.suppress(Exception):
                transport.subscriber.delete_subscription(request={"subscription": name})
        self._push_subscriptions.clear()

    def _object_finalized(self, bucket: str, name: str, generation: str) -> None:
        if self.bus is not None:
            size = 0
            with contextlib.suppress(Exception):
                size = int(self.storage._server._storage.objects[bucket][name].get("size", 0))
            self.bus.object_finalized(bucket, name, generation, size=size)

    def _set_environment(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            self._previous_environment.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _restore_environment(self) -> None:
        for key, value in self._previous_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._previous_environment.clear()


# -- running stacks, for other processes (`plait start` writes, `plait ask` reads) --


def state_directory() -> str:
    """Where running local stacks are recorded (``PLAIT_STATE_DIRECTORY``, else ``~/.cache/plait/local-stacks``)."""
    return os.environ.get("PLAIT_STATE_DIRECTORY") or os.path.join(
        os.path.expanduser("~"), ".cache", "plait", "local-stacks"
    )


def _state_path(sruid: str) -> str:
    return os.path.join(state_directory(), sruid.replace("/", ".").replace(":", ".") + ".json")


def record_running_stack(stack: LocalStack, bus_url: str) -> str:
    """Record a running stack so ``find_running_stack`` (in any process) can use it; return the file."""
    import json

    os.makedirs(state_directory(), exist_ok=True)
    path = _state_path(stack.sruid)
    state = {
        "sruid": stack.sruid,
        "pid": os.getpid(),
        "bus_url": bus_url,
        "storage_emulator_host": stack.storage.url,
        "credentials": os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
        "datasets_bucket": stack.datasets_bucket,
        "urls": stack.urls,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(state, file, indent=2)
    return path


def forget_running_stack(sruid: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(_state_path(sruid))


def find_running_stack(sruid: str) -> dict[str, Any] | None:
    """The recorded state of a local stack serving ``sruid`` that is still running, if there is one."""
    import json

    try:
        with open(_state_path(sruid), encoding="utf-8") as file:
            state = json.load(file)
        os.kill(state["pid"], 0)  # still running?
    except (OSError, ValueError, KeyError):
        return None
    return state
