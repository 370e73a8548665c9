"""An experiment's files: upload, replace, list, download and remove — on local storage and on the
storage emulator."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from plait.exceptions import ExperimentFileNotFound, FileNotFoundException, InvalidExperimentFileName


@pytest.fixture
def experiment(api):
    return api.create_experiment("with files", "")


@pytest.fixture
def make_file(tmp_path):
    def make(name: str, content: str) -> str:
        path = tmp_path / "sources" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(content)
        return str(path)

    return make


def names(experiment) -> list[str]:
    return [name for name, _ in experiment.files]


def test_uploaded_files_are_listed_by_name_with_their_modification_time(experiment, make_file):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    experiment.upload_file(make_file("b.csv", "b"), progress=False)
    experiment.upload_file(make_file("a.txt", "a"), progress=False)

    files = experiment.files

    assert [name for name, _ in files] == ["a.txt", "b.csv"]
    for _, modified in files:
        assert before <= modified <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)


def test_a_file_downloads_with_its_bytes(experiment, make_file, tmp_path):
    experiment.upload_file(make_file("data.bin", "payload"), progress=False)

    path = experiment.download_file("data.bin", str(tmp_path / "downloads"), progress=False)

    assert path == str(tmp_path / "downloads" / "data.bin")
    assert Path(path).read_text() == "payload"


def test_uploading_an_existing_name_replaces_the_file(experiment, make_file, tmp_path):
    experiment.upload_file(make_file("result.csv", "first"), progress=False)
    experiment.upload_file(make_file("result.csv", "second version"), progress=False)

    assert names(experiment) == ["result.csv"]
    downloaded = experiment.download_file("result.csv", str(tmp_path / "out"), progress=False)
    assert Path(downloaded).read_text() == "second version"


def test_a_file_may_be_uploaded_under_another_name(experiment, make_file):
    experiment.upload_file(make_file("local-name.csv", "x"), name="stored.csv", progress=False)

    assert names(experiment) == ["stored.csv"]


@pytest.mark.parametrize("name", ["a/b", "..", ".", "", "a\\b", "/abs", ".plait", "line\nbreak"])
def test_bad_file_names_are_refused(experiment, make_file, tmp_path, name):
    source = make_file("ok.txt", "x")

    with pytest.raises(InvalidExperimentFileName):
        experiment.upload_file(source, name=name, progress=False)
    with pytest.raises(InvalidExperimentFileName):
        experiment.download_file(name, str(tmp_path), progress=False)
    with pytest.raises(InvalidExperimentFileName):
        experiment.remove_files([name])
    assert names(experiment) == []


def test_uploading_a_missing_file_is_refused(experiment, tmp_path):
    with pytest.raises(FileNotFoundException, match="does not exist"):
        experiment.upload_file(str(tmp_path / "missing.csv"), progress=False)
    with pytest.raises(FileNotFoundException, match="not a file"):
        experiment.upload_file(str(tmp_path), progress=False)


def test_downloading_a_missing_file_names_it(experiment, tmp_path):
    with pytest.raises(ExperimentFileNotFound, match=f"Experiment {experiment.eid}: .*'absent.csv'") as raised:
        experiment.download_file("absent.csv", str(tmp_path), progress=False)

    assert raised.value.missing == ("absent.csv",)
    assert not os.path.exists(tmp_path / "absent.csv")


def test_remove_files_removes_them(experiment, make_file):
    for name in ("a", "b", "c"):
        experiment.upload_file(make_file(name, name), progress=False)

    experiment.remove_files(["a", "c"])

    assert names(experiment) == ["b"]


def test_remove_files_is_all_or_nothing_and_names_every_missing_file(experiment, make_file):
    experiment.upload_file(make_file("present", "x"), progress=False)

    with pytest.raises(ExperimentFileNotFound, match=r"'gone-1', 'gone-2'.*nothing was removed") as raised:
        experiment.remove_files(["present", "gone-1", "gone-2"])

    assert raised.value.missing == ("gone-1", "gone-2")
    assert names(experiment) == ["present"]


def test_upload_reports_progress_in_bytes(experiment, make_file):
    reported = []

    experiment.upload_file(make_file("sized", "x" * 3000), progress=reported.append)

    assert sum(reported) == 3000


def test_files_do_not_change_the_experiments_metadata(api, experiment, make_file):
    experiment.upload_file(make_file("f", "x"), progress=False)
    experiment.remove_files(["f"])

    assert api.get_experiment_by_eid(experiment.eid).updated_at == experiment.created_at
