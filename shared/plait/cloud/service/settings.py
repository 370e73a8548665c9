"""The four functions' configuration: every environment variable they read, in one place.

Terraform sets these on each function (``terraform/``), the local stack sets them for its own
functions, and the README lists them. ``ServiceSettings.from_environment`` reads and checks them
all at once, so a misconfigured deployment fails with one message naming every problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from plait.cloud.events.sruid import ServiceRevision
from plait.exceptions import InvalidSRUID, ServiceMisconfigured

#: Every environment variable the functions read, with what it is for (and its default).
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "PLAIT_SERVICE_SRUID": "The service revision the functions answer as: namespace/name:revision_tag. Required.",
    "PLAIT_SERVICE_BUCKET": "The service bucket: question records, claims, answers and crash diagnostics. Required.",
    "PLAIT_DATASETS_BUCKET": "The datasets bucket: input and output datasets; finalisation runs on it. Required.",
    "PLAIT_QUESTIONS_TOPIC": "The topic questions and cancellations arrive on (default: derived from the SRUID).",
    "PLAIT_ANALYSES_TOPIC": "The topic intake dispatches validated questions to (default: derived from the SRUID).",
    "PLAIT_OUTPUT_LOCATION": "Where output datasets are uploaded (default: gs://<datasets bucket>/outputs).",
    "PLAIT_SIGNING_ALLOWED_PREFIXES": "Comma-separated gs:// prefixes the signed-URL function may sign "
    "(default: gs://<datasets bucket>/).",
    "PLAIT_HEARTBEAT_INTERVAL": "Seconds between heartbeats while an analysis runs (default 30).",
    "PLAIT_CLAIM_LEASE_SECONDS": "Seconds a runner's claim on a question lasts without renewal "
    "(default: 3 heartbeat intervals); after it, a redelivery runs the question again.",
    "PLAIT_CANCELLATION_POLL_INTERVAL": "Seconds between checks for a cancellation while an analysis runs (default 2).",
    "PLAIT_APP_DIRECTORY": "The directory holding plait.yaml, the app and its twine (default: the current directory).",
    "PLAIT_TRANSPORT": "How events travel: pubsub (default) or local (the local stack's bus).",
    "GOOGLE_CLOUD_PROJECT": "The Google Cloud project, for Pub/Sub topic paths (the Python 3.11+ runtimes do not set it; Terraform does).",
}


@dataclass(frozen=True)
class ServiceSettings:
    """The checked values of ``ENVIRONMENT_VARIABLES``."""

    revision: ServiceRevision
    service_bucket: str
    datasets_bucket: str
    questions_topic: str
    analyses_topic: str
    output_location: str
    signing_allowed_prefixes: tuple[str, ...]
    heartbeat_interval: float
    claim_lease_seconds: float
    cancellation_poll_interval: float
    app_directory: str
    transport: str
    project: str | None

    @property
    def sruid(self) -> str:
        return self.revision.sruid

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read and check the settings.

        :raise plait.exceptions.ServiceMisconfigured: naming every missing or invalid variable
        """
        environment = os.environ if environment is None else environment
        problems: list[str] = []

        def required(name: str) -> str:
            value = environment.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set ({ENVIRONMENT_VARIABLES[name]})")
            return value

        def seconds(name: str, default: float) -> float:
            raw = environment.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                value = -1
            if not value > 0:
                problems.append(f"{name}={raw!r} must be a positive number of seconds")
                return default
            return value

        sruid = required("PLAIT_SERVICE_SRUID")
        revision = None
        if sruid:
            try:
                revision = ServiceRevision.parse(sruid)
            except InvalidSRUID as error:
                problems.append(f"PLAIT_SERVICE_SRUID: {error}")

        service_bucket = required("PLAIT_SERVICE_BUCKET")
        datasets_bucket = required("PLAIT_DATASETS_BUCKET")
        heartbeat_interval = seconds("PLAIT_HEARTBEAT_INTERVAL", 30.0)
        claim_lease_seconds = seconds("PLAIT_CLAIM_LEASE_SECONDS", 3 * heartbeat_interval)
        if claim_lease_seconds <= heartbeat_interval:
            problems.append(
                f"PLAIT_CLAIM_LEASE_SECONDS ({claim_lease_seconds}) must be longer than PLAIT_HEARTBEAT_INTERVAL "
                f"({heartbeat_interval}): claims are renewed with each heartbeat"
            )
        cancellation_poll_interval = seconds("PLAIT_CANCELLATION_POLL_INTERVAL", 2.0)

        prefixes_text = environment.get("PLAIT_SIGNING_ALLOWED_PREFIXES", "").strip()
        prefixes = tuple(prefix.strip() for prefix in prefixes_text.split(",") if prefix.strip())
        if not prefixes and datasets_bucket:
            prefixes = (f"gs://{datasets_bucket}/",)
        for prefix in prefixes:
            if not prefix.startswith("gs://") or len(prefix) <= len("gs://"):
                problems.append(f"PLAIT_SIGNING_ALLOWED_PREFIXES: {prefix!r} is not a gs:// prefix")

        transport = environment.get("PLAIT_TRANSPORT", "pubsub").strip() or "pubsub"
        if transport not in ("pubsub", "local"):
            problems.append(f"PLAIT_TRANSPORT={transport!r} must be 'pubsub' or 'local'")

        if problems:
            raise ServiceMisconfigured(
                "The service is misconfigured; set these environment variables:\n- " + "\n- ".join(problems)
            )

        return cls(
            revision=revision,
            service_bucket=service_bucket,
            datasets_bucket=datasets_bucket,
            questions_topic=environment.get("PLAIT_QUESTIONS_TOPIC") or revision.questions_topic,
            analyses_topic=environment.get("PLAIT_ANALYSES_TOPIC") or revision.analyses_topic,
            output_location=environment.get("PLAIT_OUTPUT_LOCATION") or f"gs://{datasets_bucket}/outputs",
            signing_allowed_prefixes=prefixes,
            heartbeat_interval=heartbeat_interval,
            claim_lease_seconds=claim_lease_seconds,
            cancellation_poll_interval=cancellation_poll_interval,
            app_directory=os.path.abspath(environment.get("PLAIT_APP_DIRECTORY") or "."),
            transport=transport,
            project=environment.get("GOOGLE_CLOUD_PROJECT") or None,
        )
