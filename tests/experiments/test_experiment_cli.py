"""``plait experiments|extensions|tasks ...``, run in process with click's runner: each subcommand's
happy path and one error. Extensions run against the wind-statistics example on a local stack."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plait.cli import cli
from plait.experiments import API, TaskStatus

SPEEDS = [7.9, 8.4, 9.1, 8.8]


@pytest.fixture
def location(tmp_path) -> str:
    return str(tmp_path / "experiments")


@pytest.fixture
def plait(location):
    """Run ``plait ...`` with ``--location``; return (exit code, stdout, stderr)."""

    def run(*arguments: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, [*arguments, "--location", location])
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def experiment(location):
    return API(location).create_experiment("Met mast north", "Anemometers at 40 and 80 m", tags=["wind"])


# -- experiments --


def test_create_prints_the_new_eid(plait, location):
    code, output, _ = plait("experiments", "create", "Wind tunnel", "-d", "Blade pitch", "-t", "wind", "-t", "lab")

    (experiment,) = API(location).find_experiments()
    assert code == 0 and experiment.eid in output
    assert (experiment.title, experiment.description, experiment.tags) == (
        "Wind tunnel",
        "Blade pitch",
        ["wind", "lab"],
    )


def test_create_refuses_a_title_too_long_saying_so(plait):
    code, _, error = plait("experiments", "create", "t" * 257)

    assert code == 1 and "at most 256 characters" in error


def test_find_lists_experiments_in_a_table_or_as_json(plait, experiment):
    code, output, _ = plait("experiments", "find", "mast")
    assert code == 0 and experiment.eid in output and "Met mast north" in output and "1 experiment." in output

    code, output, _ = plait("experiments", "find", "--tag", "WIND", "--json")
    assert code == 0 and [found["eid"] for found in json.loads(output)] == [experiment.eid]

    code, output, _ = plait("experiments", "find", "--until", "2000-01-01")
    assert code == 0 and "0 experiments." in output


def test_find_refuses_a_limit_over_500(plait):
    code, _, error = plait("experiments", "find", "--limit", "501")

    assert code == 1 and "limit must be a whole number from 1 to 500" in error


def test_show_gives_the_metadata_and_files(plait, experiment, tmp_path):
    source = tmp_path / "readings.csv"
    source.write_text("1,2\n")
    experiment.upload_file(str(source), progress=False)

    code, output, _ = plait("experiments", "show", experiment.eid)
    assert code == 0
    for text in (experiment.eid, "Met mast north", "Anemometers at 40 and 80 m", "readings.csv", str(experiment.uuid)):
        assert text in output

    code, output, _ = plait("experiments", "show", experiment.eid, "--json")
    assert json.loads(output)["files"][0]["name"] == "readings.csv"


def test_show_names_an_unknown_eid(plait):
    code, _, error = plait("experiments", "show", "20000101-1")

    assert code == 1 and "There is no experiment 20000101-1" in error


def test_tag_and_untag(plait, experiment, location):
    assert plait("experiments", "tag", experiment.eid, "site:north", "WIND")[0] == 0
    assert API(location).get_experiment_by_eid(experiment.eid).tags == ["wind", "site:north"]

    code, _, _ = plait("experiments", "untag", experiment.eid, "Site:North")
    assert code == 0 and API(location).get_experiment_by_eid(experiment.eid).tags == ["wind"]


def test_tag_refuses_a_bad_tag_and_untag_an_absent_one(plait, experiment):
    code, _, error = plait("experiments", "tag", experiment.eid, "with space")
    assert code == 1 and "is not allowed" in error

    code, _, error = plait("experiments", "untag", experiment.eid, "absent")
    assert code == 1 and "has no tag 'absent'" in error


def test_upload_and_download_move_files(plait, experiment, tmp_path):
    source = tmp_path / "speeds.csv"
    source.write_text("8.1\n")

    code, output, _ = plait("experiments", "upload", experiment.eid, str(source))
    assert code == 0 and "Uploaded speeds.csv" in output
    code, output, _ = plait("experiments", "upload", experiment.eid, str(source), "--name", "copy.csv")
    assert code == 0 and [name for name, _ in experiment.files] == ["copy.csv", "speeds.csv"]

    code, output, _ = plait("experiments", "download", experiment.eid, "copy.csv", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "copy.csv").read_text() == "8.1\n"


def test_download_names_a_missing_file(plait, experiment, tmp_path):
    code, _, error = plait("experiments", "download", experiment.eid, "absent.csv", str(tmp_path))

    assert code == 1 and "'absent.csv'" in error


def test_rm_removes_files_or_the_whole_experiment(plait, experiment, location, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).write_text(name)
        experiment.upload_file(str(tmp_path / name), progress=False)

    code, _, error = plait("experiments", "rm", experiment.eid, "a", "missing")
    assert code == 1 and "'missing'" in error and "nothing was removed" in error
    assert plait("experiments", "rm", experiment.eid, "a")[0] == 0
    assert [name for name, _ in experiment.files] == ["b"]

    assert plait("experiments", "rm", experiment.eid, "--yes")[0] == 0
    assert API(location).find_experiments() == []


# -- extensions and tasks, on a local stack --


@pytest.fixture
def registered(plait, wind_statistics_stack):
    code, _, error = plait("extensions", "register", wind_statistics_stack.service_directory)
    assert code == 0, error
    return wind_statistics_stack


def test_extensions_register_and_list(plait, registered):
    code, output, _ = plait("extensions", "list")
    assert code == 0
    for text in ("wind-statistics", "example/wind-statistics:local", "height_m:float", "experiment"):
        assert text in output

    code, output, _ = plait("extensions", "list", "--json")
    assert json.loads(output)[0]["sruid"] == "example/wind-statistics:local"


def test_extensions_register_refuses_a_directory_without_a_service(plait, tmp_path):
    code, _, error = plait("extensions", "register", str(tmp_path))

    assert code == 1 and "has no plait.yaml" in error


def test_extensions_run_prints_the_output_and_its_exit_status_is_the_return_code(plait, registered):
    parameters = json.dumps({"height_m": 40, "speeds_m_s": SPEEDS})

    code, output, error = plait("extensions", "run", "wind-statistics", "run", "--parameters", parameters)
    assert code == 0, error
    assert json.loads(output)["count"] == 4 and "Task " in error

    code, output, error = plait("extensions", "run", "wind-statistics", "--parameters", '{"height_m": 40}')
    assert code == 1 and "speeds_m_s" in error and "Remote traceback" not in error


def test_extensions_run_names_an_unknown_extension(plait):
    code, _, error = plait("extensions", "run", "wind-shear")

    assert code == 1 and "There is no extension 'wind-shear'" in error


def test_extensions_unregister(plait, registered):
    assert plait("extensions", "unregister", "wind-statistics")[0] == 0
    code, _, error = plait("extensions", "unregister", "wind-statistics")
    assert code == 1 and "no extension" in error


def test_tasks_list_show_and_cancel(plait, registered, location):
    action = API(location).get_extension("wind-statistics").get_action()
    result = action.execute({"height_m": 40, "speeds_m_s": SPEEDS})

    code, output, _ = plait("tasks", "list")
    assert code == 0 and str(result.taskId) in output and "SUCCESS" in output
    code, output, _ = plait("tasks", "list", "--extension", "other", "--json")
    assert code == 0 and json.loads(output) == []

    code, output, _ = plait("tasks", "show", str(result.taskId))
    assert code == 0 and "SUCCESS" in output and '"count": 4' in output and "Summarising" in output
    code, output, _ = plait("tasks", "show", str(result.taskId), "--json")
    assert json.loads(output)["status"] == TaskStatus.SUCCESS

    code, _, error = plait("tasks", "cancel", str(result.taskId))
    assert code == 1 and "already ended" in error


def test_tasks_show_names_an_unknown_task(plait):
    code, _, error = plait("tasks", "show", "00000000-0000-0000-0000-000000000000")

    assert code == 1 and "There is no task" in error
