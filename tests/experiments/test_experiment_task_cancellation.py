"""Cancelling a task cancels its question: a running analysis of the ``slow`` test service stops, the
waiting ``execute`` returns 130 and the task reads back as REVOKED."""

from __future__ import annotations

import threading
import time

import pytest
from experiment_services import TEST_SERVICES, copy_service, running_stack

from plait.experiments import API, TaskStatus


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory):
    directory = copy_service(TEST_SERVICES / "slow", tmp_path_factory.mktemp("services") / "slow")
    with running_stack(directory, heartbeat_interval=0.2, cancellation_poll_interval=0.1) as stack:
        yield stack


def wait_for(condition, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"Still waiting after {timeout} s.")
        time.sleep(0.02)
    return value


def test_cancelling_a_running_task_stops_it_and_revokes_it(slow_stack, tmp_path):
    api = API(str(tmp_path / "experiments"), timeout=30)
    action = api.register_extension(slow_stack.service_directory).get_action("run")
    progress_file = tmp_path / "progress.txt"
    outcome = {}
    thread = threading.Thread(
        target=lambda: outcome.update(result=action.execute({"progress_file": str(progress_file), "seconds": 10}))
    )
    thread.start()

    # While it runs, its status comes from the service's question records: a runner has claimed it.
    running = wait_for(lambda: [task for task in api.get_tasks() if task.status == TaskStatus.STARTED])
    assert running[0].started_at is not None and running[0].ended_at is None
    wait_for(progress_file.exists)

    cancelled = api.cancel_task(running[0].task_id, reason="Not needed after all.")
    assert cancelled.status == TaskStatus.REVOKED
    thread.join(timeout=10)

    result = outcome["result"]
    assert result.returnCode == 130 and "QuestionCancelled" in result.stderr
    task = api.get_task(result.taskId)
    assert task.status == TaskStatus.REVOKED and task.result_code == 130 and task.ended_at is not None
    lines = len(progress_file.read_text().split())
    time.sleep(0.4)
    assert len(progress_file.read_text().split()) == lines, "the analysis kept running"
