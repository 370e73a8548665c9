"""Tasks: the questions asked by executing extension actions, and what became of them.

Executing an action asks the extension's service a question (``Child.ask``, question UUID = task
id) and waits for the answer, at most the API's ``timeout``. The task is recorded at
``<location>/tasks/<task id>.json`` before the question is sent (status ``PENDING``): extension,
action, service (SRUID, backend, service bucket), parameters, who asked (``getpass.getuser()``),
the experiment named by the action's experiment variable, and when it was received. When the answer
comes the same process records its outcome: status, ``ended_at``, result code, output (the output
values as JSON), error text and the log records the service forwarded.

``execute`` returns an ``ExtensionExecutionResult`` whose ``returnCode`` is:

| code | status | when |
|---|---|---|
| 0 | SUCCESS | the service answered with a result; ``stdout`` is its output values as JSON |
| 1 | FAILURE | the service (or asking it) raised; ``stderr`` is ``<type>: <message>`` |
| 124 | FAILURE | no answer within the API's ``timeout`` (the question may still be answered later) |
| 130 | REVOKED | the task was cancelled |

**Status** (``TaskStatus``): a recorded final status (SUCCESS, FAILURE, REVOKED) is final. Until
then it is read from the service's own question records (``QuestionStore`` in its service bucket,
when that is reachable: a local stack's bucket only while ``STORAGE_EMULATOR_HOST`` is set): an
answer means SUCCESS or FAILURE (and gives the output or error, even if the asking process died), a
cancellation REVOKED, a claim STARTED, a recorded question RECEIVED; otherwise PENDING. A task whose
cancellation was asked for is REVOKED from then on.

Cancelling a task (``API.cancel_task`` or ``Task.cancel``) records the request and sends the
service a cancellation (``Child.cancel``): the analysis stops, and the waiting ``execute`` returns
130. A task that has ended cannot be cancelled (``TaskAlreadyEnded``).

Tasks outlive the experiments they name: removing an experiment leaves its tasks readable.
"""

from __future__ import annotations

import datetime as dt
import enum
import getpass
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plait.exceptions import (
    ExtensionUnavailable,
    InvalidIdentifierException,
    InvalidInputException,
    PlaitException,
    QuestionCancelled,
    TaskAlreadyEnded,
    TaskNotFound,
)
from plait.experiments import rules
from plait.experiments.store import TASKS_DIRECTORY, format_moment

if TYPE_CHECKING:
    from plait.experiments.api import API
    from plait.experiments.extensions import ExtensionAction
    from plait.resources.child import Child

logger = logging.getLogger(__name__)

SUCCESS_CODE = 0
FAILURE_CODE = 1
TIMEOUT_CODE = 124
CANCELLED_CODE = 130

#: At most this many forwarded log lines are kept in a task record (the last ones).
MAXIMUM_LOG_LINES = 1000


class TaskStatus(enum.StrEnum):
    """Where a task is: asked, received by the service, running, or ended."""

    PENDING = "PENDING"
    RECEIVED = "RECEIVED"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


FINAL_STATUSES = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.REVOKED})


@dataclass
class ExtensionExecutionResult:
    """The outcome of executing an action (field names as in the reference)."""

    #: 0 on success; see the module docstring for the others.
    returnCode: int  # noqa: N815 - the reference's name
    #: The output values, as JSON text.
    stdout: str
    #: The error, as ``<type>: <message>``.
    stderr: str
    #: The task's id (the question's UUID).
    taskId: uuid.UUID  # noqa: N815
    #: The experiment the task's log was uploaded to, if the action names one.
    logExperiment: uuid.UUID | None = None  # noqa: N815
    #: The name of that log file in the experiment.
    logFile: str | None = None  # noqa: N815


@dataclass
class Task:
    """A task: a question asked by executing an action (made by ``API``; not constructed directly)."""

    task_id: uuid.UUID
    extension_name: str
    action_name: str
    #: The question's input values.
    parameters: Any
    #: Who asked.
    username: str
    status: TaskStatus
    #: When it was asked (aware, UTC).
    received_at: dt.datetime
    #: When it was answered, failed or was cancelled, if it has ended.
    ended_at: dt.datetime | None
    result_code: int | None
    stdout: str
    stderr: str
    experiment_uuid: uuid.UUID | None
    #: The service revision asked.
    sruid: str
    #: When a runner started on it, if known.
    started_at: dt.datetime | None = None
    #: The log records the service forwarded (``LEVEL logger: message``).
    logs: list[str] = field(default_factory=list)
    _api: Any = field(default=None, repr=False, compare=False)

    @property
    def uuid(self) -> uuid.UUID:
        """The task's id (the question's UUID)."""
        return self.task_id

    def cancel(self, reason: str = "") -> Task:
        """Cancel the task (its question); see ``API.cancel_task``."""
        return cancel_task(self._api, self.task_id, reason)

    @classmethod
    def from_record(cls, api: API, record: dict[str, Any]) -> Task:
        return cls(
            task_id=uuid.UUID(record["task_id"]),
            extension_name=record["extension_name"],
            action_name=record["action_name"],
            parameters=record.get("parameters"),
            username=record.get("username") or "",
            status=TaskStatus(record["status"]),
            received_at=dt.datetime.fromisoformat(record["received_at"]),
            ended_at=_moment_or_none(record.get("ended_at")),
            result_code=record.get("result_code"),
            stdout=record.get("stdout") or "",
            stderr=record.get("stderr") or "",
            experiment_uuid=uuid.UUID(record["experiment_uuid"]) if record.get("experiment_uuid") else None,
            sruid=record.get("sruid") or "",
            started_at=_moment_or_none(record.get("started_at")),
            logs=list(record.get("logs") or []),
            _api=api,
        )


# -- executing --


def execute_action(api: API, action: ExtensionAction, parameters: Any) -> ExtensionExecutionResult:
    """Ask the action's service, wait for its answer, and record the task (see the module docstring).

    :raise plait.exceptions.InvalidInputException: if ``parameters`` is not a dict
    :raise plait.exceptions.ExperimentNotFound: if the experiment variable names no experiment
    :raise plait.exceptions.ExtensionUnavailable: if the service cannot be reached
    """
    if not isinstance(parameters, dict):
        raise InvalidInputException(
            f"An action's parameters are a dict of its parameter names and values (the question's input values), "
            f"not {type(parameters).__name__}."
        )
    extension = action.extension
    experiment = None
    variable = action.experiment_variable_name
    if variable and parameters.get(variable) is not None:
        experiment = api.get_experiment_by_eid(parameters[variable])
    child = connect(extension.sruid, extension.backend)

    task_id = str(uuid.uuid4())
    record = {
        "task_id": task_id,
        "extension_name": extension.name,
        "action_name": action.name,
        "sruid": extension.sruid,
        "backend": extension.backend,
        "service_bucket": extension.service_bucket,
        "parameters": parameters,
        "username": _username(),
        "experiment_uuid": str(experiment.uuid) if experiment else None,
        "experiment_eid": experiment.eid if experiment else None,
        "received_at": _now(),
        "status": TaskStatus.PENDING.value,
    }
    api._store.create_document(_task_path(task_id), record, summary=_summary(record))

    outcome = _ask(child, parameters, task_id, api.timeout)

    def finish(stored: dict[str, Any]) -> None:
        stored.update(outcome)

    record = api._store.update_document(_task_path(task_id), finish, summary=_summary) or {**record, **outcome}

    log_file = None
    if experiment is not None:
        log_file = _upload_log(experiment, record)
    return ExtensionExecutionResult(
        returnCode=outcome["result_code"],
        stdout=outcome["stdout"],
        stderr=outcome["stderr"],
        taskId=uuid.UUID(task_id),
        logExperiment=experiment.uuid if log_file else None,
        logFile=log_file,
    )


def _ask(child: Child, parameters: dict[str, Any], task_id: str, timeout: float) -> dict[str, Any]:
    from plait.resources.child import DEFAULT_MAXIMUM_HEARTBEAT_INTERVAL

    output_manifest = None
    with tempfile.TemporaryDirectory(prefix="plait-task-") as directory:
        messages_path = os.path.join(directory, "messages.json")
        try:
            answer = child.ask(
                input_values=parameters,
                question_uuid=task_id,
                timeout=timeout,
                maximum_heartbeat_interval=min(timeout, DEFAULT_MAXIMUM_HEARTBEAT_INTERVAL),
                record_messages_to=messages_path,
            )
        except QuestionCancelled as error:
            status, code, stdout, stderr = TaskStatus.REVOKED, CANCELLED_CODE, "", _error_text(error)
        except TimeoutError as error:
            status, code, stdout, stderr = TaskStatus.FAILURE, TIMEOUT_CODE, "", _error_text(error)
        except Exception as error:  # the service's own error, re-raised here, or a failure to ask
            status, code, stdout, stderr = TaskStatus.FAILURE, FAILURE_CODE, "", _error_text(error)
        else:
            status, code, stderr = TaskStatus.SUCCESS, SUCCESS_CODE, ""
            stdout = json.dumps(answer["output_values"], indent=2)
            if answer.get("output_manifest") is not None:
                output_manifest = answer["output_manifest"].to_primitive()
        logs = _log_lines(messages_path)
    return {
        "status": status.value,
        "result_code": code,
        "stdout": stdout,
        "stderr": stderr,
        "logs": logs,
        "output_manifest": output_manifest,
        "ended_at": _now(),
    }


def _log_lines(messages_path: str) -> list[str]:
    try:
        with open(messages_path, encoding="utf-8") as file:
            messages = json.load(file)
    except (OSError, ValueError):
        return []
    lines = []
    for message in messages:
        event = message.get("event") or {}
        if event.get("kind") == "log_record":
            record = event.get("log_record") or {}
            lines.append(f"{record.get('levelname', '?')} {record.get('name', '?')}: {record.get('msg', '')}")
        elif event.get("kind") == "monitor_message":
            lines.append(f"MONITOR {json.dumps(event.get('data'))}")
    return lines[-MAXIMUM_LOG_LINES:]


def _upload_log(experiment: Any, record: dict[str, Any]) -> str | None:
    name = f"{record['extension_name']}-{record['action_name']}-{record['task_id']}.log"
    text = "\n".join(
        [
            f"Task {record['task_id']}: {record['extension_name']}/{record['action_name']} ({record['sruid']})",
            f"Asked by {record['username']} at {record['received_at']}; ended at {record.get('ended_at')}",
            f"Status {record['status']}, return code {record['result_code']}",
            f"Parameters: {json.dumps(record['parameters'])}",
            "--- logs ---",
            *record.get("logs", []),
            "--- output ---",
            record.get("stdout", ""),
            "--- error ---",
            record.get("stderr", ""),
            "",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="plait-task-log-") as directory:
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            experiment.upload_file(path, progress=False)
        except PlaitException as error:  # e.g. the experiment was removed meanwhile: the task is still recorded
            logger.warning(
                "The log of task %s could not be saved to experiment %s: %s", record["task_id"], experiment.eid, error
            )
            return None
    return name


def connect(sruid: str, backend: dict[str, Any]) -> Child:
    """A ``Child`` for the service, if it can be reached.

    A ``LocalBackend`` service is reachable through a local stack running in this process, or in
    another one (``plait start``), through that stack's bus over HTTP.

    :raise plait.exceptions.ExtensionUnavailable: if no local stack serves a local service
    """
    from plait.resources.child import Child

    child = Child(sruid, backend)
    if backend.get("name") != "LocalBackend":
        return child
    if os.environ.get("PLAIT_SERVICE_SRUID") == sruid and os.environ.get("PLAIT_TRANSPORT") == "local":
        return child  # a LocalStack in this process serves it
    from plait.cloud.emulators.local_stack import find_running_stack

    state = find_running_stack(sruid)
    if state is None:
        raise ExtensionUnavailable(
            f"No local stack serves {sruid}: start one with `plait start SERVICE_DIRECTORY --revision-tag "
            f"{sruid.rpartition(':')[2]}` (or register the deployed service with its GCPPubSubBackend)."
        )
    from plait.cloud.transport.remote_bus import RemoteBus

    child._transport = RemoteBus(state["bus_url"])
    return child


# -- reading --


def read_task(api: API, task_id: Any) -> Task:
    """The task, its status brought up to date (see the module docstring).

    :raise plait.exceptions.TaskNotFound: if there is no such task
    """
    task_id = check_task_id(task_id)
    record = api._store.read_document(_task_path(task_id))
    if record is None:
        raise TaskNotFound(f"There is no task {task_id} in {api.location}.")
    return Task.from_record(api, _with_current_status(record))


def list_tasks(
    api: API,
    limit: int = 10,
    offset: int = 0,
    extension_name: str | None = None,
    experiment_uuid: Any = None,
    action_name: str | None = None,
    username: str | None = None,
    start_date: Any = None,
    end_date: Any = None,
) -> list[Task]:
    """Tasks matching every filter given, newest first (``start_date``/``end_date`` bound
    ``received_at`` inclusively; a ``date`` covers its whole UTC day)."""
    limit, offset = rules.check_limit_and_offset(limit, offset)
    start, end = rules.check_time_range(start_date, end_date, ("start_date", "end_date"))
    experiment = str(_check_uuid(experiment_uuid, "experiment_uuid")) if experiment_uuid is not None else None
    lower = format_moment(start) if start else None
    upper = format_moment(end) if end else None

    matches = []
    for _, summary in api._store.list_documents(TASKS_DIRECTORY):
        if (
            (extension_name is not None and summary.get("extension_name") != extension_name)
            or (action_name is not None and summary.get("action_name") != action_name)
            or (username is not None and summary.get("username") != username)
            or (experiment is not None and summary.get("experiment_uuid") != experiment)
            or (lower is not None and summary.get("received_at", "") < lower)
            or (upper is not None and summary.get("received_at", "") > upper)
        ):
            continue
        matches.append(summary)
    matches.sort(key=lambda summary: (summary.get("received_at", ""), summary.get("task_id", "")), reverse=True)

    tasks = []
    for summary in matches[offset : offset + limit]:
        record = summary if "status" in summary else api._store.read_document(_task_path(summary["task_id"]))
        if record is not None:
            tasks.append(Task.from_record(api, _with_current_status(record)))
    return tasks


def cancel_task(api: API, task_id: Any, reason: str = "") -> Task:
    """Cancel a task: record the request and ask its service to stop answering the question.

    :raise plait.exceptions.TaskNotFound: if there is no such task
    :raise plait.exceptions.TaskAlreadyEnded: if it has ended
    :raise plait.exceptions.ExtensionUnavailable: if its service cannot be reached
    """
    task = read_task(api, task_id)
    if task.status in FINAL_STATUSES:
        raise TaskAlreadyEnded(
            f"Task {task.task_id} has already ended ({task.status.value}"
            f"{f' at {task.ended_at:%Y-%m-%d %H:%M:%S} UTC' if task.ended_at else ''}): there is nothing to cancel."
        )
    record = api._store.read_document(_task_path(str(task.task_id)))
    child = connect(record["sruid"], record["backend"])

    def request(stored: dict[str, Any]) -> None:
        stored.setdefault("cancel_requested_at", _now())
        stored.setdefault("cancelled_by", _username())

    api._store.update_document(_task_path(str(task.task_id)), request, summary=_summary)
    child.cancel(str(task.task_id), reason=reason or f"Cancelled by {_username()} through plait.experiments.")
    return read_task(api, task.task_id)


def _with_current_status(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its status (and, if answered, its outcome) read from the service while it
    has no final status of its own."""
    if TaskStatus(record["status"]) in FINAL_STATUSES:
        return record
    record = dict(record)
    store = _question_store(record)
    if store is not None:
        try:
            _apply_service_records(record, store)
        except PlaitException as error:  # unreachable: the recorded status is all there is
            logger.debug("The question records of task %s could not be read: %s", record["task_id"], error)
    if record.get("cancel_requested_at") and TaskStatus(record["status"]) not in FINAL_STATUSES:
        record["status"] = TaskStatus.REVOKED.value
    return record


def _apply_service_records(record: dict[str, Any], store: Any) -> None:
    task_id = record["task_id"]
    answer = store.get_answer(task_id)
    if answer:
        final = next(
            (message for message in reversed(answer) if message["event"].get("kind") in ("result", "exception")), None
        )
        if final is not None:
            event, attributes = final["event"], final["attributes"]
            if event["kind"] == "result":
                record.update(
                    status="SUCCESS", result_code=SUCCESS_CODE, stdout=json.dumps(event.get("output_values"), indent=2)
                )
            else:
                cancelled = event.get("exception_type", "").endswith("QuestionCancelled")
                record.update(
                    status="REVOKED" if cancelled else "FAILURE",
                    result_code=CANCELLED_CODE if cancelled else FAILURE_CODE,
                    stderr=f"{event.get('exception_type', '').rpartition('.')[2]}: {event.get('exception_message', '')}",
                )
            record["ended_at"] = _iso_or_none(attributes.get("datetime")) or record.get("ended_at")
            return
    if store.is_cancelled(task_id):
        record["status"] = TaskStatus.REVOKED.value
        return
    claim = store.get_claim(task_id)
    if claim is not None:
        record["status"] = TaskStatus.STARTED.value
        record["started_at"] = format_moment(dt.datetime.fromtimestamp(claim.claimed_at, dt.UTC))
    elif store.get_question(task_id) is not None:
        record["status"] = TaskStatus.RECEIVED.value


def _question_store(record: dict[str, Any]) -> Any:
    """The service's question store, if it can be reached from here (else None)."""
    bucket = record.get("service_bucket")
    if not bucket:
        return None
    if (record.get("backend") or {}).get("name") == "LocalBackend" and not os.environ.get("STORAGE_EMULATOR_HOST"):
        return None  # a local stack's buckets live in its storage emulator, which this process is not using
    from plait.cloud.questions import QuestionStore

    return QuestionStore(bucket)


# -- helpers --


def check_task_id(task_id: Any) -> str:
    return str(_check_uuid(task_id, "task id"))


def _check_uuid(value: Any, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidIdentifierException(
            f"{value!r} is not a {what}: it should be a UUID such as {uuid.uuid4()}."
        ) from None


def _task_path(task_id: str) -> str:
    return f"{TASKS_DIRECTORY}/{task_id}.json"


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """What a task listing filters on (kept in GCS custom metadata, so listing needs no reads)."""
    return {
        key: record.get(key)
        for key in ("task_id", "extension_name", "action_name", "username", "experiment_uuid", "received_at")
    }


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _now() -> str:
    return format_moment(dt.datetime.now(dt.UTC))


def _moment_or_none(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _iso_or_none(value: Any) -> str | None:
    if not value:
        return None
    try:
        return format_moment(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None
