"""``find_experiments``: search text, tags, dates, order, paging and archived experiments — on local
storage and on the storage emulator; and the search index's repairs (local)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from plait.exceptions import InvalidExperimentSearch, InvalidExperimentTag


@pytest.fixture
def three(api):
    """Three experiments, created in this order."""
    return [
        api.create_experiment("Wind tunnel: blade pitch", "", tags=["Wind", "tunnel"]),
        api.create_experiment("Met mast north", "", tags=["wind", "site:north"]),
        api.create_experiment("Solar panel tilt", "", tags=["SOLAR"]),
    ]


def titles(experiments) -> list[str]:
    return [experiment.title for experiment in experiments]


def test_experiments_are_found_newest_first(api, three):
    assert titles(api.find_experiments()) == ["Solar panel tilt", "Met mast north", "Wind tunnel: blade pitch"]


def test_search_matches_a_case_insensitive_substring_of_the_title(api, three):
    assert titles(api.find_experiments("TUNNEL")) == ["Wind tunnel: blade pitch"]
    assert titles(api.find_experiments("t")) == titles(api.find_experiments())
    assert api.find_experiments("nothing like it") == []


def test_search_matches_a_substring_of_the_eid(api, three):
    assert api.find_experiments(three[1].eid) == [three[1]]
    day = three[0].eid.split("-")[0]
    assert len(api.find_experiments(day)) == 3
    assert api.find_experiments(three[2].eid.lower()) == [three[2]]


def test_search_may_be_64_characters_but_not_65(api, three):
    assert api.find_experiments("x" * 64) == []

    with pytest.raises(InvalidExperimentSearch, match="at most 64 characters; this one has 65"):
        api.find_experiments("x" * 65)


def test_tags_match_experiments_with_any_of_them_in_any_case(api, three):
    assert titles(api.find_experiments(tags=["WIND"])) == ["Met mast north", "Wind tunnel: blade pitch"]
    assert titles(api.find_experiments(tags=["solar", "site:north"])) == ["Solar panel tilt", "Met mast north"]
    assert api.find_experiments(tags=["absent"]) == []
    with pytest.raises(InvalidExperimentTag):
        api.find_experiments(tags=["not a tag"])


def test_search_and_tags_combine(api, three):
    assert titles(api.find_experiments("mast", tags=["wind"])) == ["Met mast north"]
    assert api.find_experiments("solar", tags=["wind"]) == []


def test_dates_bound_creation_inclusively(api, three):
    first, second, third = three

    assert api.find_experiments(start_datetime=second.created_at) == [third, second]
    assert api.find_experiments(end_datetime=second.created_at) == [second, first]
    assert api.find_experiments(start_datetime=second.created_at, end_datetime=second.created_at) == [second]
    after = third.created_at + dt.timedelta(microseconds=1)
    assert api.find_experiments(start_datetime=after) == []


def test_naive_datetimes_are_utc_and_dates_cover_their_whole_day(api, three):
    naive = three[1].created_at.astimezone(dt.UTC).replace(tzinfo=None)
    assert api.find_experiments(start_datetime=naive, end_datetime=naive) == [three[1]]

    today = three[0].created_at.date()
    assert len(api.find_experiments(start_datetime=today, end_datetime=today)) == 3
    assert api.find_experiments(end_datetime=today - dt.timedelta(days=1)) == []

    elsewhere = dt.timezone(dt.timedelta(hours=5))
    assert api.find_experiments(start_datetime=three[2].created_at.astimezone(elsewhere)) == [three[2]]


def test_a_start_after_the_end_is_refused(api, three):
    with pytest.raises(InvalidExperimentSearch, match="is after end_datetime"):
        api.find_experiments(start_datetime=three[2].created_at, end_datetime=three[0].created_at)
    with pytest.raises(InvalidExperimentSearch, match="datetime"):
        api.find_experiments(start_datetime="yesterday")


def test_limit_and_offset_page_through_results(api, three):
    assert titles(api.find_experiments(limit=1)) == ["Solar panel tilt"]
    assert titles(api.find_experiments(limit=1, offset=1)) == ["Met mast north"]
    assert titles(api.find_experiments(limit=2, offset=2)) == ["Wind tunnel: blade pitch"]
    assert api.find_experiments(offset=3) == []
    assert len(api.find_experiments(limit=500)) == 3


@pytest.mark.parametrize("limit", [0, -1, 501, 10.5, True])
def test_limit_is_1_to_500(api, limit):
    with pytest.raises(InvalidExperimentSearch, match="limit must be a whole number from 1 to 500"):
        api.find_experiments(limit=limit)


def test_offset_is_not_negative(api):
    with pytest.raises(InvalidExperimentSearch, match="offset"):
        api.find_experiments(offset=-1)


def test_archived_experiments_are_hidden_unless_asked_for(api, three):
    three[1].add_tags(["__ARCHIVED__"])

    assert three[1] not in api.find_experiments()
    assert three[1] not in api.find_experiments(tags=["wind"])
    assert api.find_experiments(tags=["__archived__"]) == [three[1]]
    assert three[1] in api.find_experiments(include_archived=True)
    assert api.find_experiments("mast", include_archived=True) == [three[1]]

    three[1].remove_tag("__archived__")
    assert three[1] in api.find_experiments()


def test_found_experiments_read_their_description_when_asked(api):
    created = api.create_experiment("described", "the description")

    (found,) = api.find_experiments("described")

    assert found.description == "the description"
    assert found.tags == created.tags and found.updated_at == created.updated_at


def test_changes_show_in_searches_at_once(api, three):
    three[0].title = "Renamed"
    three[2].add_tags(["wind"])

    assert titles(api.find_experiments("renamed")) == ["Renamed"]
    assert three[2] in api.find_experiments(tags=["WIND"])


def test_a_search_in_another_api_object_sees_experiments_created_since_its_last_search(api):
    from plait.experiments import API

    other = API(api.location)
    assert other.find_experiments() == []

    created = api.create_experiment("later", "")

    assert other.find_experiments() == [created]


# -- the index (local): a cache that survives damage and can be rebuilt --


def test_a_damaged_index_line_is_skipped_and_rebuild_index_repairs_the_index(local_api):
    kept = local_api.create_experiment("kept", "")
    index = os.path.join(local_api.location, "index", "experiments.jsonl")
    with open(index, "a") as file:
        file.write('{"uuid": "half a li')  # an append cut short by a crash
    lost = local_api.create_experiment("after the damage", "")

    assert local_api.find_experiments() == [lost, kept]

    os.remove(index)
    assert local_api.find_experiments() == []
    assert local_api.rebuild_index() == 2
    assert local_api.find_experiments() == [lost, kept]


def test_the_local_index_is_compacted_when_it_holds_mostly_old_lines(local_api, monkeypatch):
    from plait.experiments import store

    monkeypatch.setattr(store, "_COMPACTION_SLACK", 5)
    experiment = local_api.create_experiment("busy", "")
    for n in range(10):
        experiment.title = f"busy {n}"
    index = os.path.join(local_api.location, "index", "experiments.jsonl")
    assert len(Path(index).read_text().splitlines()) == 11

    assert titles(local_api.find_experiments()) == ["busy 9"]
    lines = Path(index).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["title"] == "busy 9"
    assert titles(local_api.find_experiments()) == ["busy 9"]


def test_rebuild_index_on_the_storage_emulator(cloud_root):
    from plait.experiments import API

    api = API(cloud_root)
    experiments = [api.create_experiment(f"e{n}", "") for n in range(3)]
    api.remove_experiment_by_eid(experiments[0].eid)

    assert api.rebuild_index() == 2
    assert api.find_experiments() == experiments[:0:-1]
