"""Extensions and tasks end to end: the wind-statistics example runs on a local stack, its action is
executed through the experiments API, and the tasks are read back — with the API's records on a
local directory and in the stack's own storage emulator."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid

import pytest

from plait.cloud.emulators.local_stack import SERVICE_BUCKET
from plait.cloud.questions import QuestionStore
from plait.exceptions import (
    ExperimentNotFound,
    ExtensionNotFound,
    ExtensionUnavailable,
    InvalidExtension,
    InvalidIdentifierException,
    InvalidInputException,
    InvalidSRUID,
    TaskAlreadyEnded,
    TaskNotFound,
)
from plait.experiments import API, TaskStatus

SPEEDS = [7.9, 8.4, 9.1, 8.8]


@pytest.fixture(params=["local", "cloud"])
def api(request, wind_statistics_stack, tmp_path) -> API:
    """An API whose records are in a local directory, or in the stack's storage emulator."""
    if request.param == "local":
        api = API(str(tmp_path / "experiments"), timeout=30)
    else:
        api = API(f"gs://{SERVICE_BUCKET}/experiments-{uuid.uuid4().hex}", timeout=30)
    api.register_extension(wind_statistics_stack.service_directory)
    return api


@pytest.fixture
def action(api):
    return api.get_extension("wind-statistics").get_action("run")


def test_a_registered_service_is_an_extension_whose_action_parameters_come_from_its_twine(api):
    (extension,) = api.get_extensions()

    assert extension.name == "wind-statistics"
    assert extension.sruid == "example/wind-statistics:local"
    assert extension.authors == "example"
    assert extension.description.startswith("Summary statistics of a series of wind speeds")
    (action,) = extension.actions
    assert action.name == "run" and "example/wind-statistics:local" in action.description
    parameters = {parameter.name: parameter for parameter in action.parameters}
    assert set(parameters) == {"height_m", "speeds_m_s", "experiment"}
    assert (parameters["height_m"].data_type, parameters["height_m"].required) == ("float", True)
    assert parameters["height_m"].description == "Height the speeds were measured at."
    assert parameters["speeds_m_s"].data_type == "json"
    assert (parameters["experiment"].data_type, parameters["experiment"].required) == ("experiment", False)
    assert action.experiment_variable_name == "experiment"


def test_executing_an_action_returns_code_0_with_the_output_and_its_task_reads_back_as_success(api, action):
    before = dt.datetime.now(dt.UTC)

    result = action.execute({"height_m": 40, "speeds_m_s": SPEEDS})

    assert result.returnCode == 0 and result.stderr == ""
    output = json.loads(result.stdout)
    assert output["count"] == 4 and output["mean_m_s"] == pytest.approx(sum(SPEEDS) / 4)
    task = api.get_task(result.taskId)
    assert task.task_id == result.taskId == task.uuid
    assert task.status == TaskStatus.SUCCESS and task.result_code == 0
    assert json.loads(task.stdout) == output
    assert (task.extension_name, task.action_name, task.sruid) == ("wind-statistics", "run", action.extension.sruid)
    assert task.parameters == {"height_m": 40, "speeds_m_s": SPEEDS}
    assert task.username == getpass.getuser()
    assert before <= task.received_at <= task.ended_at <= dt.datetime.now(dt.UTC)
    assert any("Summarising 4 wind speeds" in line for line in task.logs)
    assert result.logExperiment is None and result.logFile is None and task.experiment_uuid is None


def test_invalid_parameters_give_a_non_zero_code_with_the_services_error_and_a_failed_task(api, action):
    result = action.execute({"height_m": 40, "speeds_m_s": []})

    assert result.returnCode == 1 and result.stdout == ""
    assert "InvalidValuesContents" in result.stderr and "speeds_m_s" in result.stderr
    task = api.get_task(result.taskId)
    assert task.status == TaskStatus.FAILURE and task.result_code == 1
    assert "speeds_m_s" in task.stderr and task.ended_at is not None


def test_an_action_naming_an_experiment_records_its_task_there_and_uploads_its_log(api, action):
    experiment = api.create_experiment("Mast 2 speeds", "")

    result = action.execute({"height_m": 40, "speeds_m_s": SPEEDS, "experiment": experiment.eid})

    assert result.returnCode == 0
    assert result.logExperiment == experiment.uuid
    assert result.logFile == f"wind-statistics-run-{result.taskId}.log"
    assert [name for name, _ in experiment.files] == [result.logFile]
    task = api.get_task(result.taskId)
    assert task.experiment_uuid == experiment.uuid
    assert [task.task_id for task in api.get_tasks(experiment_uuid=experiment.uuid)] == [result.taskId]

    # Removing the experiment leaves its tasks readable.
    api.remove_experiment_by_eid(experiment.eid)
    assert api.get_task(result.taskId).status == TaskStatus.SUCCESS
    assert [task.task_id for task in api.get_tasks(experiment_uuid=experiment.uuid)] == [result.taskId]


def test_an_action_naming_an_unknown_experiment_is_refused_before_anything_is_asked(api, action):
    with pytest.raises(ExperimentNotFound):
        action.execute({"height_m": 40, "speeds_m_s": SPEEDS, "experiment": "20000101-1"})

    assert api.get_tasks() == []


def test_parameters_must_be_a_dict(action):
    with pytest.raises(InvalidInputException, match="dict"):
        action.execute([40, SPEEDS])


def test_get_tasks_filters_and_pages_newest_first(api, action):
    first = action.execute({"height_m": 40, "speeds_m_s": SPEEDS})
    second = action.execute({"height_m": 80, "speeds_m_s": SPEEDS})
    failed = action.execute({"height_m": 80, "speeds_m_s": []})
    ids = [failed.taskId, second.taskId, first.taskId]

    assert [task.task_id for task in api.get_tasks()] == ids
    assert [task.status for task in api.get_tasks()] == [TaskStatus.FAILURE, TaskStatus.SUCCESS, TaskStatus.SUCCESS]
    assert [task.task_id for task in api.get_tasks(limit=1, offset=1)] == [second.taskId]
    assert len(api.get_tasks(extension_name="wind-statistics", action_name="run", username=getpass.getuser())) == 3
    assert api.get_tasks(extension_name="other") == []
    assert api.get_tasks(action_name="other") == []
    assert api.get_tasks(username="somebody-else") == []

    second_task = api.get_task(second.taskId)
    at = second_task.received_at
    assert [task.task_id for task in api.get_tasks(start_date=at)] == ids[:2]
    assert [task.task_id for task in api.get_tasks(end_date=at)] == ids[1:]
    assert [task.task_id for task in api.get_tasks(start_date=at, end_date=at)] == [second.taskId]
    assert len(api.get_tasks(start_date=at.date(), end_date=at.date())) == 3
    with pytest.raises(InvalidInputException, match="limit"):
        api.get_tasks(limit=501)


def test_a_tasks_status_follows_the_services_question_records_until_it_ends(api):
    """A task asked elsewhere (or whose asker died): only the service's records say where it is."""
    task_id = str(uuid.uuid4())
    api._store.create_document(
        f"tasks/{task_id}.json",
        {
            "task_id": task_id,
            "extension_name": "wind-statistics",
            "action_name": "run",
            "sruid": "example/wind-statistics:local",
            "backend": {"name": "LocalBackend"},
            "service_bucket": SERVICE_BUCKET,
            "parameters": {},
            "username": "someone",
            "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "status": "PENDING",
        },
    )
    store = QuestionStore(SERVICE_BUCKET)

    assert api.get_task(task_id).status == TaskStatus.PENDING
    store.record_question(task_id, {"kind": "question", "input_values": {}}, {"question_uuid": task_id})
    assert api.get_task(task_id).status == TaskStatus.RECEIVED
    claim = store.claim(task_id, "a-runner")
    task = api.get_task(task_id)
    assert task.status == TaskStatus.STARTED and task.started_at is not None
    store.record_answer(
        task_id,
        [
            {
                "event": {"kind": "result", "output_values": {"count": 1}, "output_manifest": None},
                "attributes": {"datetime": "2030-01-01T00:00:00+00:00"},
            }
        ],
    )
    claim.release()
    task = api.get_task(task_id)
    assert task.status == TaskStatus.SUCCESS and task.result_code == 0
    assert json.loads(task.stdout) == {"count": 1}
    assert task.ended_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert [found.status for found in api.get_tasks(username="someone")] == [TaskStatus.SUCCESS]


def test_a_task_cancelled_by_the_service_records_reads_as_revoked(api):
    task_id = str(uuid.uuid4())
    api._store.create_document(
        f"tasks/{task_id}.json",
        {
            "task_id": task_id,
            "extension_name": "wind-statistics",
            "action_name": "run",
            "backend": {"name": "LocalBackend"},
            "service_bucket": SERVICE_BUCKET,
            "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "status": "PENDING",
        },
    )
    QuestionStore(SERVICE_BUCKET).request_cancellation(task_id)

    assert api.get_task(task_id).status == TaskStatus.REVOKED


def test_an_ended_task_cannot_be_cancelled(api, action):
    result = action.execute({"height_m": 40, "speeds_m_s": SPEEDS})

    with pytest.raises(TaskAlreadyEnded, match="already ended \\(SUCCESS"):
        api.cancel_task(result.taskId)
    with pytest.raises(TaskAlreadyEnded):
        api.get_task(result.taskId).cancel()


def test_unknown_or_malformed_task_ids_raise_specific_errors(api):
    with pytest.raises(TaskNotFound):
        api.get_task(uuid.uuid4())
    with pytest.raises(InvalidIdentifierException, match="UUID"):
        api.get_task("task-1")


def test_unknown_extensions_and_actions_raise_extension_not_found(api):
    with pytest.raises(ExtensionNotFound, match="the extensions are: wind-statistics"):
        api.get_extension("wind-shear")
    with pytest.raises(ExtensionNotFound, match="its actions are: run"):
        api.get_extension("wind-statistics").get_action("walk")
    with pytest.raises(ExtensionNotFound):
        api.unregister_extension("wind-shear")


def test_a_service_no_local_stack_serves_is_unavailable(api, wind_statistics_stack):
    extension = api.register_extension(wind_statistics_stack.service_directory, revision_tag="other", name="elsewhere")

    with pytest.raises(ExtensionUnavailable, match="plait start"):
        extension.get_action().execute({"height_m": 40, "speeds_m_s": SPEEDS})
    assert api.get_tasks(extension_name="elsewhere") == []

    api.unregister_extension("elsewhere")
    assert [extension.name for extension in api.get_extensions()] == ["wind-statistics"]


def test_registering_needs_a_service_directory_and_a_valid_name(api, wind_statistics_stack, tmp_path):
    with pytest.raises(InvalidExtension, match=r"plait\.yaml"):
        api.register_extension(str(tmp_path))
    with pytest.raises(InvalidExtension, match="lowercase"):
        api.register_extension(wind_statistics_stack.service_directory, name="Bad Name")
    with pytest.raises(InvalidSRUID):
        api.register_extension(wind_statistics_stack.service_directory, revision_tag="bad tag")
