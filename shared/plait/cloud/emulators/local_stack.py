"""The local stack: one service running on this machine exactly as it runs in the cloud, no account needed.

- storage: the embedded storage emulator (``StorageEmulator``) with the service and datasets
  buckets, generation preconditions enforced, and a throwaway service-account key to sign URLs;
- the four functions from ``plait.functions.main``, each served by functions-framework on
  127.0.0.1 and its own port (``mode="http"``), or through functions-framework's WSGI app without
  sockets (``mode="in_process"``, for measuring plait itself);
- messaging: the in-process ``LocalBus``, pushing CloudEvents in Eventarc's shapes to the
  functions, and a storage trigger that turns every new object in the datasets bucket into an
  ``object.finalized`` event for dataset finalisation.

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
    """

    def __init__(
        self,
        service_directory: str,
        revision_tag: str = "local",
        mode: str = "http",
        heartbeat_interval: float = 5,
        claim_lease_seconds: float | None = None,
        cancellation_poll_interval: float = 0.5,
    ) -> None:
        from plait.configuration import ServiceConfiguration

        if mode not in ("http", "in_process"):
            raise ValueError(f"mode must be 'http' or 'in_process', not {mode!r}")
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
                "PLAIT_TRANSPORT": "local",
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
        self.bus.add_push_endpoint(
            self.revision.questions_topic,
            PushEndpoint(
                "question-intake", targets["question_intake"], dead_letter_topic=self.revision.dead_letter_topic
            ),
        )
        self.bus.add_push_endpoint(
            self.revision.analyses_topic,
            PushEndpoint(
                "analysis-runner", targets["analysis_runner"], dead_letter_topic=self.revision.dead_letter_topic
            ),
        )
        self.bus.add_storage_trigger(
            DATASETS_BUCKET, PushEndpoint("dataset-finalisation", targets["dataset_finalisation"])
        )
        self.storage.on_object_finalized.append(self._object_finalized)
        logger.info("Local stack for %s is up (%s).", self.sruid, self.mode)
        return self

    def stop(self) -> None:
        from plait.cloud.service.context import reset_service_context

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
