"""Experiments: creation, EIDs, titles, descriptions, tags and removal — on local storage and on the
storage emulator (the ``api`` fixture runs each test on both)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest

from plait.exceptions import (
    DuplicateExperimentTags,
    ExperimentNotFound,
    ExperimentTagNotFound,
    InvalidEID,
    InvalidExperimentDescription,
    InvalidExperimentsLocation,
    InvalidExperimentTag,
    InvalidExperimentTitle,
    InvalidIdentifierException,
    InvalidInputException,
    TooManyExperimentTags,
)
from plait.experiments import API
from plait.resources import Dataset


def today_eid(number: int) -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%d}-{number}"


# -- creation and EIDs --


def test_a_new_experiment_has_a_uuid_an_eid_of_the_utc_day_and_its_title_description_and_times(api):
    before = dt.datetime.now(dt.UTC)
    experiment = api.create_experiment("Wind tunnel", "Blade pitch sweep")

    assert isinstance(experiment.uuid, uuid.UUID)
    assert experiment.eid == f"{experiment.created_at:%Y%m%d}-1"
    assert experiment.title == "Wind tunnel" and experiment.description == "Blade pitch sweep"
    assert before <= experiment.created_at <= dt.datetime.now(dt.UTC)
    assert experiment.created_at.tzinfo is not None and experiment.updated_at == experiment.created_at
    assert experiment.tags == [] and experiment.files == []


def test_eids_count_from_1_each_day(api):
    eids = [api.create_experiment(f"run {n}", "").eid for n in range(3)]

    assert eids == [today_eid(1), today_eid(2), today_eid(3)]


def test_20_concurrent_creations_get_20_distinct_eids(api):
    eids, errors = [], []
    start = threading.Barrier(20)

    def create(n: int) -> None:
        start.wait()
        try:
            eids.append(api.create_experiment(f"concurrent {n}", "").eid)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(eids) == sorted(today_eid(n) for n in range(1, 21))
    assert len({experiment.uuid for experiment in api.find_experiments(limit=100)}) == 20


_CREATE_IN_A_PROCESS = textwrap.dedent(
    """
    import os, sys, threading, time
    from plait.experiments import API
    location, go, output = sys.argv[1:4]
    api = API(location)
    while not os.path.exists(go):
        time.sleep(0.005)
    eids = []
    threads = [threading.Thread(target=lambda: eids.append(api.create_experiment("p", "").eid)) for _ in range(5)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    with open(output, "w") as file:
        file.write("\\n".join(eids))
    """
)


def test_20_concurrent_creations_from_4_processes_get_20_distinct_eids(local_api, tmp_path):
    go = tmp_path / "go"
    outputs = [tmp_path / f"eids-{n}.txt" for n in range(4)]
    processes = [
        subprocess.Popen([sys.executable, "-c", _CREATE_IN_A_PROCESS, local_api.location, str(go), str(output)])
        for output in outputs
    ]
    go.touch()  # all start creating at once
    for process in processes:
        assert process.wait(timeout=60) == 0

    eids = [eid for output in outputs for eid in output.read_text().split()]
    assert sorted(eids) == sorted(today_eid(n) for n in range(1, 21))


def test_an_eid_is_never_given_again_even_after_its_experiment_is_removed(api):
    first = api.create_experiment("first", "")
    second = api.create_experiment("second", "")
    api.remove_experiment_by_eid(second.eid)

    third = api.create_experiment("third", "")

    assert third.eid == today_eid(3)
    assert first.eid == today_eid(1)


def test_a_stale_or_missing_eid_hint_never_gives_an_eid_twice(api):
    """Each day's ``next`` hint says which number to try first; the markers decide."""
    first = api.create_experiment("first", "")
    for n in range(9):
        api.create_experiment(f"more {n}", "")
    hint = f"eids/{first.eid.split('-')[0]}/next"

    api._store.write_document(hint, {"next": 1})  # far behind: taken numbers are skipped, then the day listed
    assert api.create_experiment("after a stale hint", "").eid == today_eid(11)
    api._store.delete_document(hint)
    assert api.create_experiment("without a hint", "").eid == today_eid(12)


# -- looking experiments up --


def test_an_experiment_is_found_by_its_eid_and_by_its_uuid(api):
    created = api.create_experiment("Lookup", "by either id")

    by_eid = api.get_experiment_by_eid(created.eid)
    by_uuid = api.get_experiment_by_uuid(created.uuid)
    by_uuid_text = api.get_experiment_by_uuid(str(created.uuid))

    assert by_eid == by_uuid == by_uuid_text == created
    assert (by_eid.title, by_eid.description, by_eid.created_at) == ("Lookup", "by either id", created.created_at)


def test_looking_up_a_malformed_or_unknown_id_raises_a_specific_error(api):
    with pytest.raises(InvalidEID, match="YYYYMMDD-N"):
        api.get_experiment_by_eid("2024-01-01")
    with pytest.raises(InvalidEID):
        api.get_experiment_by_eid("20240101-0")
    with pytest.raises(ExperimentNotFound, match="20240101-1"):
        api.get_experiment_by_eid("20240101-1")
    with pytest.raises(InvalidIdentifierException, match="UUID"):
        api.get_experiment_by_uuid("not-a-uuid")
    with pytest.raises(ExperimentNotFound):
        api.get_experiment_by_uuid(uuid.uuid4())


def test_an_experiment_is_a_plait_dataset_whose_metadata_holds_it(api, tmp_path):
    experiment = api.create_experiment("As a dataset", "described", tags=["Wind"])
    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    experiment.upload_file(str(source), progress=False)

    dataset = Dataset(path=experiment.path)

    assert dataset.id == str(experiment.uuid)
    assert dataset.name == experiment.eid
    assert dataset.tags["title"] == "As a dataset" and dataset.tags["experiment_tags"] == ["Wind"]
    assert [file.name for file in dataset.files] == ["data.csv"]
    assert "experiment" in dataset.labels


# -- title and description --


def test_a_title_of_256_characters_is_accepted_and_257_is_refused(api):
    assert api.create_experiment("t" * 256, "").title == "t" * 256

    with pytest.raises(InvalidExperimentTitle, match="at most 256 characters; this one has 257"):
        api.create_experiment("t" * 257, "")


def test_a_description_of_5000_characters_is_accepted_and_5001_is_refused(api):
    assert api.create_experiment("d", "d" * 5000).description == "d" * 5000

    with pytest.raises(InvalidExperimentDescription, match="at most 5000 characters; this one has 5001"):
        api.create_experiment("d", "d" * 5001)


def test_titles_and_descriptions_must_be_text(api):
    with pytest.raises(InvalidExperimentTitle, match="text"):
        api.create_experiment(None, "")
    with pytest.raises(InvalidExperimentDescription, match="text"):
        api.create_experiment("", 3)


def test_setting_the_title_or_description_persists_it_and_bumps_updated_at(api):
    experiment = api.create_experiment("Before", "old")
    created_updated_at = experiment.updated_at

    experiment.title = "After"
    after_title = experiment.updated_at
    experiment.description = "new"

    stored = api.get_experiment_by_eid(experiment.eid)
    assert (stored.title, stored.description) == ("After", "new")
    assert created_updated_at < after_title < experiment.updated_at == stored.updated_at
    assert stored.created_at == experiment.created_at


def test_setting_a_title_too_long_changes_nothing(api):
    experiment = api.create_experiment("Kept", "")

    with pytest.raises(InvalidExperimentTitle):
        experiment.title = "x" * 257
    with pytest.raises(InvalidExperimentDescription):
        experiment.description = "x" * 5001

    stored = api.get_experiment_by_eid(experiment.eid)
    assert stored.title == "Kept" and stored.updated_at == experiment.created_at


def test_changes_made_through_another_object_are_kept(api):
    one = api.create_experiment("Shared", "")
    other = api.get_experiment_by_eid(one.eid)

    one.add_tags(["first"])
    other.add_tags(["second"])  # other's copy did not know of "first": the stored state wins

    assert api.get_experiment_by_eid(one.eid).tags == ["first", "second"]
    assert other.tags == ["first", "second"]
    assert one.refresh().tags == ["first", "second"]


# -- tags --


def test_a_tag_of_64_characters_is_accepted_and_65_is_refused(api):
    experiment = api.create_experiment("tags", "", tags=["a" * 64])
    assert experiment.tags == ["a" * 64]

    with pytest.raises(InvalidExperimentTag, match="at most 64"):
        api.create_experiment("tags", "", tags=["a" * 65])
    with pytest.raises(InvalidExperimentTag, match="at most 64"):
        experiment.add_tags(["b" * 65])


@pytest.mark.parametrize("tag", ["with space", "comma,", "é", "", "semi;colon", "star*"])
def test_tags_outside_the_allowed_characters_are_refused(api, tag):
    with pytest.raises(InvalidExperimentTag, match="letters, digits, '-', '_', ':' or '/'"):
        api.create_experiment("tags", "", tags=[tag])


def test_tags_may_use_letters_digits_hyphens_underscores_colons_and_slashes(api):
    tags = ["Wind-Tunnel", "site:north/mast_2", "2024", "__archived__"]

    assert api.create_experiment("tags", "", tags=tags).tags == tags


def test_64_tags_on_creation_are_accepted_and_65_are_refused(api):
    assert len(api.create_experiment("many", "", tags=[f"t{n}" for n in range(64)]).tags) == 64

    with pytest.raises(TooManyExperimentTags, match="65 tags were given at once; at most 64"):
        api.create_experiment("too many", "", tags=[f"t{n}" for n in range(65)])


def test_tags_are_case_insensitive_and_keep_their_first_spelling(api):
    experiment = api.create_experiment("case", "", tags=["Wind"])

    experiment.add_tags(["wind"])  # the same tag as "Wind"
    experiment.add_tags(["WIND"])
    experiment.add_tags(["SOLAR"])
    experiment.add_tags(["solar"])

    assert experiment.tags == ["Wind", "SOLAR"]
    assert api.get_experiment_by_eid(experiment.eid).tags == ["Wind", "SOLAR"]


def test_adding_a_tag_twice_is_a_no_op_that_leaves_updated_at_alone(api):
    experiment = api.create_experiment("twice", "")
    experiment.add_tags(["once"])
    updated_at = experiment.updated_at

    experiment.add_tags(["once"])
    experiment.add_tags(["ONCE"])

    assert experiment.tags == ["once"]
    assert api.get_experiment_by_eid(experiment.eid).updated_at == updated_at


def test_adding_tags_bumps_updated_at(api):
    experiment = api.create_experiment("bump", "")

    experiment.add_tags(["new"])

    assert experiment.updated_at > experiment.created_at


@pytest.mark.parametrize("tags", [["dup", "dup"], ["Dup", "dUP"]])
def test_the_same_tag_twice_in_one_request_is_refused(api, tags):
    with pytest.raises(DuplicateExperimentTags, match="more than once"):
        api.create_experiment("dups", "", tags=tags)

    experiment = api.create_experiment("dups", "")
    with pytest.raises(DuplicateExperimentTags):
        experiment.add_tags(["other", *tags])
    assert experiment.tags == []


def test_adding_more_than_64_tags_at_once_is_refused(api):
    experiment = api.create_experiment("add many", "")

    with pytest.raises(TooManyExperimentTags):
        experiment.add_tags([f"t{n}" for n in range(65)])
    experiment.add_tags([f"t{n}" for n in range(64)])

    assert len(experiment.tags) == 64


def test_an_invalid_tag_among_valid_ones_adds_none_of_them(api):
    experiment = api.create_experiment("atomic", "")

    with pytest.raises(InvalidExperimentTag):
        experiment.add_tags(["good", "bad tag"])

    assert api.get_experiment_by_eid(experiment.eid).tags == []


def test_removing_a_tag_matches_it_in_any_case(api):
    experiment = api.create_experiment("remove", "", tags=["Keep", "Drop"])

    experiment.remove_tag("DROP")

    assert experiment.tags == ["Keep"]
    assert api.get_experiment_by_eid(experiment.eid).tags == ["Keep"]
    assert experiment.updated_at > experiment.created_at


def test_removing_a_tag_the_experiment_does_not_have_is_an_error(api):
    experiment = api.create_experiment("absent", "", tags=["present"])

    with pytest.raises(ExperimentTagNotFound, match=r"has no tag 'absent'.*present"):
        experiment.remove_tag("absent")
    with pytest.raises(InvalidExperimentTag):
        experiment.remove_tag("not a tag")

    assert experiment.tags == ["present"]


def test_a_single_string_is_one_tag(api):
    experiment = api.create_experiment("string", "", tags="solo")
    experiment.add_tags("duo")

    assert experiment.tags == ["solo", "duo"]


# -- removal --


def test_removing_an_experiment_removes_its_metadata_and_files(api, tmp_path):
    experiment = api.create_experiment("doomed", "")
    source = tmp_path / "f.txt"
    source.write_text("bytes")
    experiment.upload_file(str(source), progress=False)
    path = experiment.path

    api.remove_experiment_by_eid(experiment.eid)

    with pytest.raises(ExperimentNotFound, match="removed"):
        api.get_experiment_by_eid(experiment.eid)
    with pytest.raises(ExperimentNotFound):
        api.get_experiment_by_uuid(experiment.uuid)
    with pytest.raises(ExperimentNotFound):
        experiment.files  # noqa: B018
    assert api.find_experiments() == []
    if not path.startswith("gs://"):
        assert not os.path.exists(path)
    else:
        from plait.cloud.storage.client import GoogleCloudStorageClient

        assert list(GoogleCloudStorageClient().list_objects(path, recursive=True)) == []
    with pytest.raises(ExperimentNotFound):
        api.remove_experiment_by_eid(experiment.eid)


def test_changing_a_removed_experiment_raises_experiment_not_found(api):
    experiment = api.create_experiment("gone", "")
    api.remove_experiment_by_eid(experiment.eid)

    with pytest.raises(ExperimentNotFound):
        experiment.title = "too late"
    with pytest.raises(ExperimentNotFound):
        experiment.add_tags(["late"])


# -- the API itself --


def test_the_default_location_is_plait_experiments_location(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAIT_EXPERIMENTS_LOCATION", str(tmp_path / "from-env"))

    assert API().location == str(tmp_path / "from-env")


def test_without_plait_experiments_location_the_default_is_under_the_users_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PLAIT_EXPERIMENTS_LOCATION", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    assert API().location == str(tmp_path / "data" / "plait" / "experiments")


def test_a_url_or_a_file_is_not_an_experiments_location(tmp_path):
    (tmp_path / "file").write_text("")

    with pytest.raises(InvalidExperimentsLocation, match="URL"):
        API("https://example.com/experiments")
    with pytest.raises(InvalidExperimentsLocation, match="is a file"):
        API(str(tmp_path / "file"))
    with pytest.raises(InvalidExperimentsLocation, match="bucket"):
        API("gs://B/experiments")


def test_the_timeout_must_be_a_positive_number(tmp_path):
    with pytest.raises(InvalidInputException, match="timeout"):
        API(str(tmp_path), timeout=0)
