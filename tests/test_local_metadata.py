"""The ``.plait`` file: concurrent updates lose nothing, interrupted updates change nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading

import pytest

from plait.exceptions import InvalidInputException
from plait.resources import local_metadata
from plait.resources.datafile import Datafile


def _write_files(directory, count: int) -> list[str]:
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"file_{index}.txt")
        with open(path, "w") as file:
            file.write(f"content {index}")
        paths.append(path)
    return paths


def _tag_and_save(paths: list[str], worker: int) -> None:
    """Add a tag naming the file to each file and save its metadata (runs in a thread or process)."""
    for path in paths:
        datafile = Datafile(path)
        datafile.add_tags(owner=os.path.basename(path), worker=worker)
        datafile.add_labels(f"worker-{worker}")
        datafile.update_local_metadata()


def _stored_datafiles(directory) -> dict:
    with open(os.path.join(directory, ".plait")) as file:
        return json.load(file)["datafiles"]


def test_load_of_a_directory_without_metadata_is_empty(tmp_path):
    assert local_metadata.load(str(tmp_path)) == {}
    assert not (tmp_path / ".plait").exists()


def test_update_functions_write_the_documented_format(tmp_path):
    directory = str(tmp_path)
    local_metadata.update_dataset(directory, {"id": "d", "name": "n"})
    local_metadata.update_datafile(directory, "a.txt", {"id": "a"})
    local_metadata.update_datafiles(directory, {"b.txt": {"id": "b"}, "c.txt": {"id": "c"}})

    with open(tmp_path / ".plait") as file:
        stored = json.load(file)

    assert stored == {
        "dataset": {"id": "d", "name": "n"},
        "datafiles": {"a.txt": {"id": "a"}, "b.txt": {"id": "b"}, "c.txt": {"id": "c"}},
    }
    assert local_metadata.load(directory) == stored


def test_concurrent_updates_from_16_threads_lose_no_update(tmp_path):
    paths = _write_files(tmp_path, 64)
    shares = [paths[worker::16] for worker in range(16)]
    errors = []

    def run(worker: int) -> None:
        try:
            _tag_and_save(shares[worker], worker)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = _stored_datafiles(tmp_path)
    assert sorted(stored) == sorted(os.path.basename(path) for path in paths)
    for worker, share in enumerate(shares):
        for path in share:
            reopened = Datafile(path)
            assert reopened.tags == {"owner": os.path.basename(path), "worker": worker}
            assert reopened.labels == {f"worker-{worker}"}
    assert [name for name in os.listdir(tmp_path) if ".tmp-" in name] == []


def test_concurrent_updates_from_8_processes_lose_no_update(tmp_path):
    paths = _write_files(tmp_path, 40)
    shares = [paths[worker::8] for worker in range(8)]

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_tag_and_save, args=(shares[worker], worker)) for worker in range(8)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * 8
    stored = _stored_datafiles(tmp_path)
    assert sorted(stored) == sorted(os.path.basename(path) for path in paths)
    for worker, share in enumerate(shares):
        for path in share:
            assert stored[os.path.basename(path)]["tags"] == {"owner": os.path.basename(path), "worker": worker}
            assert Datafile(path).tags["owner"] == os.path.basename(path)


def _previous_state(tmp_path) -> tuple[str, bytes]:
    path = _write_files(tmp_path, 1)[0]
    datafile = Datafile(path, tags={"version": 1})
    datafile.update_local_metadata()
    return path, (tmp_path / ".plait").read_bytes()


def _temporary_files(tmp_path) -> list[str]:
    return [name for name in os.listdir(tmp_path) if name.startswith(".plait.tmp")]


def test_interrupted_metadata_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path, previous = _previous_state(tmp_path)
    real_dump = json.dump

    def interrupted_dump(value, file, **kwargs):
        file.write(json.dumps(value)[:10])  # partial content, then the process "dies"
        file.flush()
        raise KeyboardInterrupt

    monkeypatch.setattr(local_metadata.json, "dump", interrupted_dump)
    datafile = Datafile(path)
    datafile.add_tags(version=2)
    with pytest.raises(KeyboardInterrupt):
        datafile.update_local_metadata()
    monkeypatch.setattr(local_metadata.json, "dump", real_dump)

    assert (tmp_path / ".plait").read_bytes() == previous
    assert Datafile(path).tags == {"version": 1}
    assert _temporary_files(tmp_path) == []


def test_failed_rename_leaves_previous_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    path, previous = _previous_state(tmp_path)

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(local_metadata.os, "replace", failing_replace)
    datafile = Datafile(path)
    datafile.add_tags(version=2)
    with pytest.raises(OSError, match="disk full"):
        datafile.update_local_metadata()
    monkeypatch.undo()

    assert (tmp_path / ".plait").read_bytes() == previous
    assert json.loads(previous)["datafiles"]["file_0.txt"]["tags"] == {"version": 1}
    assert _temporary_files(tmp_path) == []


def test_a_failing_change_function_writes_nothing(tmp_path):
    _, previous = _previous_state(tmp_path)

    def change(metadata):
        metadata["datafiles"].clear()
        raise RuntimeError("bug in change")

    with pytest.raises(RuntimeError):
        local_metadata.update(str(tmp_path), change)
    assert (tmp_path / ".plait").read_bytes() == previous


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]"])
def test_corrupt_metadata_file_raises_invalid_input_naming_the_file(tmp_path, content):
    (tmp_path / ".plait").write_bytes(content)
    (tmp_path / "a.txt").write_text("a")

    with pytest.raises(InvalidInputException) as error:
        local_metadata.load(str(tmp_path))
    assert str(tmp_path / ".plait") in str(error.value)

    with pytest.raises(InvalidInputException) as error:
        Datafile(str(tmp_path / "a.txt"))
    assert str(tmp_path / ".plait") in str(error.value)
