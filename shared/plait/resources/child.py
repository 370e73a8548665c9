"""``Child``: a service you can ask questions, as the reference describes.

Backends (the ``backend`` dict's ``name``):

- ``"GCPPubSubBackend"`` (with ``project_name``): Google Cloud Pub/Sub, or its emulator when
  ``PUBSUB_EMULATOR_HOST`` is set;
- ``"LocalBackend"``: the local stack's in-process bus (``plait start``, ``plait demo``, tests).

Asking publishes a ``question`` event to the child's questions topic, with ``reply_to`` set to
the child's answers topic, after opening a subscription there for the question's events. Plait
additions (documented differences): ``maximum_heartbeat_interval`` (seconds without any event,
heartbeats included, before ``TimeoutError``; default 120, four of the service's default 30 s
heartbeats) and ``cancel(question_uuid)``, which asks the child to stop: the waiting ``ask``
then raises ``QuestionCancelled``. A question asked from inside a running analysis records that
analysis as its parent question.
"""

from __future__ import annotations

import contextvars
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from plait.cloud.events.answers import AnswerHandler
from plait.cloud.events.messages import PARENT, encode_event, make_attributes
from plait.cloud.events.sruid import ServiceRevision
from plait.cloud.storage import path as storage_path
from plait.exceptions import InvalidInputException

BACKENDS = ("GCPPubSubBackend", "LocalBackend")
DEFAULT_MAXIMUM_HEARTBEAT_INTERVAL = 120


class Child:
    """A child service that can be asked questions.

    :param id: the child's SRUID (``namespace/name:revision_tag``)
    :param backend: ``{"name": "GCPPubSubBackend", "project_name": ...}`` or ``{"name": "LocalBackend"}``
    :param internal_service_name: the name this parent gives itself as the sender of its questions
    """

    def __init__(self, id: str, backend: dict[str, Any], internal_service_name: str | None = None) -> None:
        self.revision = ServiceRevision.parse(id)
        self.id = self.revision.sruid
        if not isinstance(backend, dict) or backend.get("name") not in BACKENDS:
            raise InvalidInputException(
                f"A child's backend must be a dict whose 'name' is one of {', '.join(BACKENDS)} "
                f"(e.g. {{'name': 'GCPPubSubBackend', 'project_name': 'my-project'}}), not {backend!r}."
            )
        self.backend = dict(backend)
        self.internal_service_name = internal_service_name or f"{self.revision.namespace}/{self.revision.name}-parent"
        self._transport: Any = None

    @property
    def transport(self) -> Any:
        """The transport, made on first use (so a Child can be built without credentials)."""
        if self._transport is None:
            from plait.cloud.transport import get_transport

            if self.backend["name"] == "LocalBackend":
                self._transport = get_transport("local")
            else:
                self._transport = get_transport("pubsub", self.backend.get("project_name"))
        return self._transport

    def ask(
        self,
        input_values: Any = None,
        input_manifest: Any = None,
        subscribe_to_logs: bool = True,
        allow_local_files: bool = False,
        handle_monitor_message: Any = None,
        record_messages_to: str | None = None,
        allow_save_diagnostics_data_on_crash: bool = True,
        question_uuid: str | None = None,
        timeout: float = 86400,
        maximum_heartbeat_interval: float = DEFAULT_MAXIMUM_HEARTBEAT_INTERVAL,
    ) -> dict[str, Any]:
        """Ask the child a question and wait for its answer.

        :return: ``{"output_values": ..., "output_manifest": Manifest | None}``
        :raise TimeoutError: if no answer comes within ``timeout`` seconds, or no event for
            ``maximum_heartbeat_interval`` seconds
        :raise plait.exceptions.QuestionCancelled: if the question was cancelled
        :raise Exception: the child's own exception, re-raised here with the remote traceback
        """
        question_uuid = str(uuid.UUID(question_uuid)) if question_uuid else str(uuid.uuid4())
        event = {
            "kind": "question",
            "input_values": input_values,
            "input_manifest": _serialise_manifest(input_manifest, allow_local_files),
            "children": None,
            "forward_logs": subscribe_to_logs,
            "save_diagnostics": "SAVE_DIAGNOSTICS_ON_CRASH"
            if allow_save_diagnostics_data_on_crash
            else "SAVE_DIAGNOSTICS_OFF",
            "log_level": "INFO",
        }
        attributes = self._attributes("question", question_uuid)
        data = encode_event(event, attributes)
        handler = AnswerHandler(
            question_uuid,
            self.id,
            handle_monitor_message=handle_monitor_message,
            subscribe_to_logs=subscribe_to_logs,
            record_messages_to=record_messages_to,
        )
        with self.transport.subscribe(self.revision.answers_topic, question_uuid) as subscription:
            self.transport.publish(self.revision.questions_topic, data, attributes, ordering_key=question_uuid)
            return handler.wait(subscription, timeout=timeout, maximum_heartbeat_interval=maximum_heartbeat_interval)

    def ask_multiple(self, *questions: dict[str, Any]) -> list[dict[str, Any]]:
        """Ask several questions at once (each a dict of ``ask`` arguments); the answers come back in
        the same order. If any question fails, its error is raised once all have finished."""
        if not questions:
            return []
        with ThreadPoolExecutor(max_workers=min(len(questions), 32)) as executor:
            # Each question runs in a copy of this context, so questions asked from inside an analysis
            # still name it as their parent (and its log capture still takes their forwarded logs).
            futures = [executor.submit(contextvars.copy_context().run, self.ask, **question) for question in questions]
            return [future.result() for future in futures]

    def cancel(self, question_uuid: str, reason: str = "") -> None:
        """Ask the child to stop answering a question. The analysis stops, no result is published, and
        the parent waiting on it gets ``QuestionCancelled``."""
        attributes = self._attributes("cancellation", str(uuid.UUID(question_uuid)))
        event = {"kind": "cancellation", **({"reason": reason} if reason else {})}
        self.transport.publish(
            self.revision.questions_topic, encode_event(event, attributes), attributes, ordering_key=question_uuid
        )

    def _attributes(self, kind: str, question_uuid: str) -> dict[str, str]:
        from plait.log_handlers import current_analysis_id

        return make_attributes(
            kind=kind,
            question_uuid=question_uuid,
            sender=self.internal_service_name,
            sender_type=PARENT,
            recipient=self.id,
            reply_to=self.revision.answers_topic,
            parent_question_uuid=current_analysis_id.get(),
        )

    def to_primitive(self) -> dict[str, Any]:
        return {"id": self.id, "backend": self.backend, "internal_service_name": self.internal_service_name}

    def __repr__(self) -> str:
        return f"<Child({self.id!r})>"


def _serialise_manifest(manifest: Any, allow_local_files: bool) -> dict | None:
    if manifest is None:
        return None
    from plait.resources import Manifest

    if not isinstance(manifest, Manifest):
        manifest = Manifest.deserialise(manifest)
    primitive = manifest.to_primitive()
    if not allow_local_files:
        local = [
            key
            for key, path in primitive["datasets"].items()
            if not (storage_path.is_cloud_path(path) or storage_path.is_url(path))
        ]
        if local:
            raise InvalidInputException(
                f"The input manifest's dataset(s) {', '.join(sorted(local))} are local "
                f"({', '.join(os.path.relpath(primitive['datasets'][key]) for key in sorted(local))}): a child "
                "in the cloud cannot read them. Upload them first (dataset.upload('gs://...')), or pass "
                "allow_local_files=True if the child runs where it can read these files."
            )
    return primitive
