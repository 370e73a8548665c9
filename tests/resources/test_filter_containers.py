import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest

from plait.exceptions import (
    BrokenSequenceException,
    InvalidInputException,
    UnexpectedNumberOfResultsException,
)
from plait.resources.filter_containers import FilterDict, FilterList, FilterSet
from plait.resources.label import LabelSet
from plait.resources.tag import TagDict


@dataclass(frozen=True)
class Owner:
    name: str


@dataclass(eq=False)  # Hashable by identity, so things can go in a FilterSet.
class Thing:
    name: str
    size: Any = None
    timestamp: Any = None
    tags: Any = field(default_factory=TagDict)
    labels: Any = field(default_factory=LabelSet)
    flag: Any = None
    numbers: Any = ()
    owner: Any = None


class Bare:
    """An object with none of a Thing's attributes."""

    def __repr__(self) -> str:
        return "Bare()"


# Objects compared by identity in the ``is`` / ``is_not`` cases.
BIG_SIZE = 10**20
TIMESTAMP_B = datetime.datetime(2024, 6, 1, 12, 0, 0)
LABELS_B = LabelSet("processed")
TAGS_C = TagDict(height=5.5, kind="rock", extra=None)
NUMBERS_A = [1, 2]
OWNER_A = Owner("ann")
NAME_B = "Beta"


def make_things() -> list[Thing]:
    return [
        Thing(
            name="alpha",
            size=1,
            timestamp=datetime.datetime(2024, 1, 15, 9, 30, 5),  # A Monday.
            tags=TagDict(height=3, kind="rock", meta={"x": 1}),
            labels=LabelSet("raw wind-speed"),
            flag=True,
            numbers=NUMBERS_A,
            owner=OWNER_A,
        ),
        Thing(
            name=NAME_B,
            size=2.5,
            timestamp=TIMESTAMP_B,  # A Saturday.
            tags=TagDict(height=7, kind="Soil"),
            labels=LABELS_B,
            flag=False,
            numbers=(3,),
            owner=Owner("bob"),
        ),
        Thing(
            name="gamma-ray",
            size=BIG_SIZE,
            timestamp=datetime.datetime(2023, 12, 31, 23, 59, 59),  # A Sunday.
            tags=TAGS_C,
            labels=LabelSet(),
            flag=None,
            numbers={1, 5},
            owner=Owner("cat"),
        ),
    ]


ALL_NAMES = {"alpha", "Beta", "gamma-ray"}

# (filter name, filter value, names of the matching things). Each is also checked in its ``not_``
# form, which must match exactly the other things.
CASES = [
    # str
    ("name__equals", "alpha", {"alpha"}),
    ("name__equals", "ALPHA", set()),
    ("name__iequals", "BETA", {"Beta"}),
    ("name__contains", "a-r", {"gamma-ray"}),
    ("name__contains", "A", set()),
    ("name__icontains", "BET", {"Beta"}),
    ("name__starts_with", "gam", {"gamma-ray"}),
    ("name__ends_with", "ta", {"Beta"}),
    ("name__in_range", ("a", "b"), {"alpha"}),
    ("name__in_range", ("Beta", "alpha"), {"alpha", "Beta"}),
    ("name__lt", "b", {"alpha", "Beta"}),
    ("name__lte", "alpha", {"alpha", "Beta"}),
    ("name__gt", "alpha", {"gamma-ray"}),
    ("name__gte", "alpha", {"alpha", "gamma-ray"}),
    ("name__is", NAME_B, {"Beta"}),
    ("name__is", "".join(["Be", "ta"]), set()),
    ("name__is_not", NAME_B, {"alpha", "gamma-ray"}),
    # numbers (int and float)
    ("size__equals", 2.5, {"Beta"}),
    ("size__equals", 1.0, {"alpha"}),
    ("size__lt", 2.5, {"alpha"}),
    ("size__lte", 2.5, {"alpha", "Beta"}),
    ("size__gt", 2.5, {"gamma-ray"}),
    ("size__gte", 2.5, {"Beta", "gamma-ray"}),
    ("size__in_range", (1, 2.5), {"alpha", "Beta"}),
    ("size__in_range", [2, 3], {"Beta"}),
    ("size__is", BIG_SIZE, {"gamma-ray"}),
    ("size__is_not", BIG_SIZE, {"alpha", "Beta"}),
    # bool and None
    ("flag__equals", True, {"alpha"}),
    ("flag__equals", False, {"Beta"}),
    ("flag__equals", None, {"gamma-ray"}),
    ("flag__is", None, {"gamma-ray"}),
    ("flag__is", True, {"alpha"}),
    ("flag__is_not", None, {"alpha", "Beta"}),
    # datetime
    ("timestamp__equals", datetime.datetime(2024, 6, 1, 12), {"Beta"}),
    ("timestamp__lt", datetime.datetime(2024, 1, 15, 9, 30, 5), {"gamma-ray"}),
    ("timestamp__lte", datetime.datetime(2024, 1, 15, 9, 30, 5), {"alpha", "gamma-ray"}),
    ("timestamp__gt", datetime.datetime(2024, 1, 15, 9, 30, 5), {"Beta"}),
    ("timestamp__gte", datetime.datetime(2024, 1, 15, 9, 30, 5), {"alpha", "Beta"}),
    (
        "timestamp__in_range",
        (datetime.datetime(2024, 1, 1), datetime.datetime(2024, 6, 1, 12)),
        {"alpha", "Beta"},
    ),
    ("timestamp__year_equals", 2024, {"alpha", "Beta"}),
    ("timestamp__year_in", [2023, 2022], {"gamma-ray"}),
    ("timestamp__month_equals", 6, {"Beta"}),
    ("timestamp__month_in", {1, 12}, {"alpha", "gamma-ray"}),
    ("timestamp__day_equals", 31, {"gamma-ray"}),
    ("timestamp__day_in", (1, 15), {"alpha", "Beta"}),
    ("timestamp__weekday_equals", 0, {"alpha"}),
    ("timestamp__weekday_in", [5, 6], {"Beta", "gamma-ray"}),
    ("timestamp__iso_weekday_equals", 7, {"gamma-ray"}),
    ("timestamp__iso_weekday_in", [1, 6], {"alpha", "Beta"}),
    ("timestamp__hour_equals", 12, {"Beta"}),
    ("timestamp__hour_in", [9, 23], {"alpha", "gamma-ray"}),
    ("timestamp__minute_equals", 59, {"gamma-ray"}),
    ("timestamp__minute_in", [0, 30], {"alpha", "Beta"}),
    ("timestamp__second_equals", 5, {"alpha"}),
    ("timestamp__second_in", [5, 59], {"alpha", "gamma-ray"}),
    ("timestamp__date_equals", datetime.date(2024, 6, 1), {"Beta"}),
    ("timestamp__date_in", [datetime.date(2024, 6, 1), datetime.date(2023, 12, 31)], {"Beta", "gamma-ray"}),
    ("timestamp__time_equals", datetime.time(9, 30, 5), {"alpha"}),
    ("timestamp__time_in", [datetime.time(12), datetime.time(23, 59, 59)], {"Beta", "gamma-ray"}),
    ("timestamp__is", TIMESTAMP_B, {"Beta"}),
    ("timestamp__is", datetime.datetime(2024, 6, 1, 12), set()),
    ("timestamp__is_not", TIMESTAMP_B, {"alpha", "gamma-ray"}),
    # LabelSet
    ("labels__contains", "raw", {"alpha"}),
    ("labels__contains", "wind", set()),
    ("labels__any_label_contains", "ind-sp", {"alpha"}),
    ("labels__any_label_contains", "r", {"alpha", "Beta"}),
    ("labels__any_label_starts_with", "proc", {"Beta"}),
    ("labels__any_label_ends_with", "speed", {"alpha"}),
    ("labels__equals", "processed", {"Beta"}),
    ("labels__equals", ["wind-speed", "raw"], {"alpha"}),
    ("labels__equals", '["raw", "wind-speed"]', {"alpha"}),
    ("labels__equals", set(), {"gamma-ray"}),
    ("labels__equals", "raw", set()),
    ("labels__is", LABELS_B, {"Beta"}),
    ("labels__is", LabelSet("processed"), set()),
    ("labels__is_not", LABELS_B, {"alpha", "gamma-ray"}),
    # Mapping (TagDict)
    ("tags__contains", "extra", {"gamma-ray"}),
    ("tags__contains", "kind", {"alpha", "Beta", "gamma-ray"}),
    ("tags__equals", {"height": 7, "kind": "Soil"}, {"Beta"}),
    ("tags__equals", TagDict(height=7, kind="Soil"), {"Beta"}),
    ("tags__is", TAGS_C, {"gamma-ray"}),
    ("tags__is", TagDict(TAGS_C), set()),
    ("tags__is_not", TAGS_C, {"alpha", "Beta"}),
    # Other iterables (list, tuple, set)
    ("numbers__contains", 1, {"alpha", "gamma-ray"}),
    ("numbers__contains", 3, {"Beta"}),
    ("numbers__equals", [1, 2], {"alpha"}),
    ("numbers__equals", (3,), {"Beta"}),
    ("numbers__equals", {5, 1}, {"gamma-ray"}),
    ("numbers__is", NUMBERS_A, {"alpha"}),
    ("numbers__is", [1, 2], set()),
    ("numbers__is_not", NUMBERS_A, {"Beta", "gamma-ray"}),
    # Other objects
    ("owner__equals", Owner("bob"), {"Beta"}),
    ("owner__is", OWNER_A, {"alpha"}),
    ("owner__is", Owner("ann"), set()),
    ("owner__is_not", OWNER_A, {"Beta", "gamma-ray"}),
    # Nested attributes and tag keys
    ("owner__name__equals", "cat", {"gamma-ray"}),
    ("owner__name__starts_with", "b", {"Beta"}),
    ("tags__height__gt", 4, {"Beta", "gamma-ray"}),
    ("tags__height__lte", 5.5, {"alpha", "gamma-ray"}),
    ("tags__kind__iequals", "soil", {"Beta"}),
    ("tags__kind__equals", "rock", {"alpha", "gamma-ray"}),
    # A last segment that is not an action means ``equals`` over the whole path.
    ("tags__kind", "rock", {"alpha", "gamma-ray"}),
    ("tags__height", 7, {"Beta"}),
    ("owner__name", "ann", {"alpha"}),
]


def names(things) -> set[str]:
    return {thing.name for thing in things}


@pytest.mark.parametrize(("filter_name", "value", "expected"), CASES)
def test_filter_action(filter_name, value, expected):
    things = FilterList(make_things())
    assert names(things.filter(**{filter_name: value})) == expected


@pytest.mark.parametrize(("filter_name", "value", "expected"), CASES)
def test_negated_filter_action_matches_exactly_the_other_items(filter_name, value, expected):
    prefix, _, action = filter_name.rpartition("__")
    implicit_equals = action in {"kind", "height", "name"}
    negated = f"{filter_name}__not_equals" if implicit_equals else f"{prefix}__not_{action}"
    things = FilterList(make_things())
    assert names(things.filter(**{negated: value})) == ALL_NAMES - expected


def test_double_negative_identity_actions_exist():
    things = FilterList(make_things())
    assert names(things.filter(flag__not_is=None)) == {"alpha", "Beta"}
    assert names(things.filter(flag__not_is_not=None)) == {"gamma-ray"}


def test_date_values_have_date_part_actions():
    things = FilterList(
        [
            Thing(name="a", timestamp=datetime.date(2024, 1, 15)),
            Thing(name="b", timestamp=datetime.date(2024, 6, 1)),
        ]
    )
    assert names(things.filter(timestamp__lt=datetime.date(2024, 2, 1))) == {"a"}
    assert names(things.filter(timestamp__month_in=[6, 7])) == {"b"}
    assert names(things.filter(timestamp__iso_weekday_equals=1)) == {"a"}
    assert names(things.filter(timestamp__not_year_equals=2024)) == set()
    with pytest.raises(InvalidInputException, match="hour_equals"):
        things.filter(timestamp__hour_equals=1)


def test_filters_on_dict_values_and_nested_dict_keys():
    things = FilterList([Thing(name="a", tags={"x": {"y": 1}}), Thing(name="b", tags={"x": {"y": 2}})])
    assert names(things.filter(tags__x__y__gt=1)) == {"b"}


def test_several_filters_are_anded():
    things = FilterList(make_things())
    assert names(things.filter(tags__kind="rock", size__lt=2)) == {"alpha"}
    assert names(things.filter(tags__kind="rock", size__gt=2, labels__contains="raw")) == set()


def test_filter_without_filters_returns_everything_in_a_new_container():
    things = FilterList(make_things())
    result = things.filter()
    assert result == things
    assert result is not things


def test_filter_list_filter_returns_a_filter_list_in_the_original_order():
    things = FilterList(make_things())
    result = things.filter(size__gt=0)
    assert type(result) is FilterList
    assert [thing.name for thing in result] == ["alpha", "Beta", "gamma-ray"]
    assert [thing.name for thing in FilterList(reversed(things)).filter(size__gt=0)] == [
        "gamma-ray",
        "Beta",
        "alpha",
    ]


def test_filter_set_filter_returns_a_filter_set():
    things = FilterSet(make_things())
    result = things.filter(tags__height__gt=4)
    assert type(result) is FilterSet
    assert names(result) == {"Beta", "gamma-ray"}


def test_filter_leaves_the_container_unchanged():
    things = FilterSet(make_things())
    things.filter(name__equals="alpha")
    assert len(things) == 3


def test_filter_name_without_double_underscore_is_rejected_with_a_suggestion():
    with pytest.raises(InvalidInputException) as error:
        FilterList(make_things()).filter(name="alpha")
    assert "'name'" in str(error.value)
    assert "name__equals" in str(error.value)


@pytest.mark.parametrize("filter_name", ["__name", "name__", "name____equals", "tags____height"])
def test_filter_name_with_an_empty_segment_is_rejected(filter_name):
    with pytest.raises(InvalidInputException, match="empty segment"):
        FilterList(make_things()).filter(**{filter_name: 1})


@pytest.mark.parametrize(
    ("filter_name", "value", "type_name", "valid_action"),
    [
        ("size__contains", 1, "int", "in_range"),
        ("size__starts_with", "1", "int", "gte"),
        ("flag__gt", 1, "bool", "is_not"),
        ("name__year_equals", 2024, "str", "icontains"),
        ("labels__starts_with", "r", "LabelSet", "any_label_starts_with"),
        ("tags__starts_with", "h", "TagDict", "contains"),
        ("numbers__lt", 3, "list", "contains"),
        ("owner__contains", "a", "Owner", "equals"),
        ("timestamp__contains", 1, "datetime", "weekday_in"),
        ("name__not_any_label_contains", "a", "str", "starts_with"),
    ],
)
def test_action_invalid_for_the_value_type_is_rejected_listing_valid_actions(
    filter_name, value, type_name, valid_action
):
    with pytest.raises(InvalidInputException) as error:
        FilterList(make_things()).filter(**{filter_name: value})
    message = str(error.value)
    assert repr(filter_name) in message
    assert f"type {type_name!r}" in message
    assert valid_action in message
    assert "not_" in message


def test_unknown_action_is_treated_as_part_of_the_path():
    things = FilterList(make_things())
    # ``gtt`` is not an action, so this means ``size.gtt == 3``: no thing has ``size.gtt``.
    assert things.filter(size__gtt=3) == []
    with pytest.raises(InvalidInputException, match=r"'size\.gtt'"):
        things.filter(ignore_items_without_attribute=False, size__gtt=3)


def test_unsupported_comparison_is_rejected_naming_the_filter():
    with pytest.raises(InvalidInputException, match="'name__gt' could not be applied"):
        FilterList(make_things()).filter(name__gt=3)


def test_in_range_needs_a_pair():
    for value in (5, (1, 2, 3), "ab"):
        with pytest.raises(InvalidInputException, match=r"\(low, high\)"):
            FilterList(make_things()).filter(size__in_range=value)


def test_date_part_in_needs_a_collection():
    with pytest.raises(InvalidInputException, match="collection"):
        FilterList(make_things()).filter(timestamp__year_in=2024)


def test_case_insensitive_string_actions_need_a_string():
    with pytest.raises(InvalidInputException, match="needs a string"):
        FilterList(make_things()).filter(name__iequals=3)


def test_items_without_the_attribute_are_skipped_by_default():
    things = FilterList([*make_things(), Bare()])
    assert names(things.filter(size__gt=2)) == {"Beta", "gamma-ray"}


def test_items_without_the_attribute_raise_when_not_ignored():
    things = FilterList([*make_things(), Bare()])
    with pytest.raises(InvalidInputException) as error:
        things.filter(ignore_items_without_attribute=False, size__gt=2)
    assert "'size'" in str(error.value)
    assert "Bare()" in str(error.value)


def test_items_without_the_tag_key_are_skipped_by_default():
    things = FilterList(make_things())
    assert names(things.filter(tags__meta__x__equals=1)) == {"alpha"}
    assert names(things.filter(tags__meta__x__not_equals=1)) == set()


def test_items_without_the_tag_key_raise_naming_the_missing_key_when_not_ignored():
    with pytest.raises(InvalidInputException, match=r"'tags\.meta'"):
        FilterList(make_things()).filter(ignore_items_without_attribute=False, tags__meta__x__equals=1)


def test_a_tag_key_holding_none_is_present_not_missing():
    things = FilterList(make_things())
    assert names(things.filter(ignore_items_without_attribute=False, tags__kind__is_not=None)) == ALL_NAMES
    assert names(things.filter(tags__extra__is=None)) == {"gamma-ray"}


def test_filtering_through_a_none_attribute_treats_it_as_missing():
    things = FilterList([Thing(name="a", owner=None), Thing(name="b", owner=Owner("x"))])
    assert names(things.filter(owner__name__equals="x")) == {"b"}
    with pytest.raises(InvalidInputException, match=r"'owner\.name'"):
        things.filter(ignore_items_without_attribute=False, owner__name__equals="x")


def test_filtering_a_defaultdict_does_not_add_keys():
    from collections import defaultdict

    tags = defaultdict(int, height=1)
    things = FilterList([Thing(name="a", tags=tags)])
    assert things.filter(tags__width__equals=0) == []
    assert "width" not in tags


def test_one_returns_the_single_match():
    things = FilterSet(make_things())
    assert things.one(name__equals="Beta").name == "Beta"
    assert FilterList(make_things()).one(tags__height__gt=6).name == "Beta"


def test_one_raises_when_nothing_matches():
    with pytest.raises(UnexpectedNumberOfResultsException) as error:
        FilterList(make_things()).one(name__equals="nothing")
    assert "0 matched" in str(error.value)
    assert "name__equals='nothing'" in str(error.value)


def test_one_raises_when_several_match():
    with pytest.raises(UnexpectedNumberOfResultsException) as error:
        FilterSet(make_things()).one(size__gt=0)
    assert "3 matched" in str(error.value)
    assert "size__gt=0" in str(error.value)


def test_order_by_an_attribute():
    things = FilterSet(make_things())
    ordered = things.order_by("size")
    assert type(ordered) is FilterList
    assert [thing.name for thing in ordered] == ["alpha", "Beta", "gamma-ray"]


@pytest.mark.parametrize("attribute_name", ["tags.height", "tags__height"])
def test_order_by_a_nested_tag(attribute_name):
    ordered = FilterList(make_things()).order_by(attribute_name)
    assert [thing.tags["height"] for thing in ordered] == [3, 5.5, 7]


def test_order_by_reverse():
    ordered = FilterList(make_things()).order_by("timestamp", reverse=True)
    assert [thing.name for thing in ordered] == ["Beta", "alpha", "gamma-ray"]


def test_order_by_is_stable_for_equal_values():
    things = FilterList([Thing(name=str(index), size=index % 2) for index in range(6)])
    assert [thing.name for thing in things.order_by("size")] == ["0", "2", "4", "1", "3", "5"]


def test_order_by_a_missing_attribute_raises_naming_it():
    with pytest.raises(InvalidInputException, match="'colour'"):
        FilterList(make_things()).order_by("colour")
    with pytest.raises(InvalidInputException, match=r"'tags\.meta'"):
        FilterList(make_things()).order_by("tags.meta.x")


def test_order_by_values_that_cannot_be_compared_raises():
    things = FilterList([Thing(name="a", size=1), Thing(name="b", size="2")])
    with pytest.raises(InvalidInputException, match="cannot be compared"):
        things.order_by("size")


def test_order_by_an_empty_container_is_empty():
    assert FilterSet().order_by("size") == FilterList()


def sequence(*values) -> FilterSet:
    return FilterSet(Thing(name=f"t{index}", tags=TagDict(index=value)) for index, value in enumerate(values))


def test_order_by_with_a_matching_start_value():
    ordered = sequence(2, 0, 1).order_by("tags.index", check_start_value=0)
    assert [thing.tags["index"] for thing in ordered] == [0, 1, 2]


def test_order_by_with_a_different_start_value_raises():
    with pytest.raises(BrokenSequenceException) as error:
        sequence(2, 1, 3).order_by("tags.index", check_start_value=0)
    assert "starts at 1" in str(error.value)
    assert "expected start value 0" in str(error.value)


def test_order_by_an_empty_container_with_a_start_value_raises():
    with pytest.raises(BrokenSequenceException, match="no items"):
        FilterList().order_by("size", check_start_value=0)


def test_order_by_with_a_constant_increment():
    ordered = sequence(4, 0, 2, 6).order_by("tags.index", check_start_value=0, check_constant_increment=2)
    assert [thing.tags["index"] for thing in ordered] == [0, 2, 4, 6]


def test_order_by_with_a_broken_constant_increment_names_the_position_and_values():
    with pytest.raises(BrokenSequenceException) as error:
        sequence(0, 1, 3, 4).order_by("tags.index", check_constant_increment=1)
    message = str(error.value)
    assert "positions 1 and 2" in message
    assert "(1 and 3)" in message
    assert "differ by 2" in message


def test_order_by_reverse_checks_the_increment_along_the_returned_order():
    ordered = sequence(0, 1, 2).order_by("tags.index", reverse=True, check_constant_increment=-1)
    assert [thing.tags["index"] for thing in ordered] == [2, 1, 0]
    with pytest.raises(BrokenSequenceException):
        sequence(0, 1, 2).order_by("tags.index", reverse=True, check_constant_increment=1)


def test_order_by_float_increment_tolerates_rounding():
    ordered = sequence(0.0, 0.1, 0.2, 0.30000000000000004, 0.4).order_by("tags.index", check_constant_increment=0.1)
    assert len(ordered) == 5
    with pytest.raises(BrokenSequenceException):
        sequence(0.0, 0.1, 0.25).order_by("tags.index", check_constant_increment=0.1)


def test_order_by_datetime_with_a_timedelta_increment():
    start = datetime.datetime(2024, 1, 1)
    things = FilterList(Thing(name=str(hour), timestamp=start + datetime.timedelta(hours=hour)) for hour in (2, 0, 1))
    ordered = things.order_by(
        "timestamp", check_start_value=start, check_constant_increment=datetime.timedelta(hours=1)
    )
    assert [thing.name for thing in ordered] == ["0", "1", "2"]


def test_order_by_increment_on_values_that_cannot_be_subtracted_raises():
    with pytest.raises(InvalidInputException, match="cannot be subtracted"):
        FilterList(make_things()).order_by("name", check_constant_increment=1)


def make_filter_dict() -> FilterDict:
    return FilterDict({thing.name.lower(): thing for thing in make_things()})


def test_filter_dict_filters_on_values_and_keeps_keys():
    things = make_filter_dict()
    result = things.filter(tags__height__gt=4)
    assert type(result) is FilterDict
    assert set(result) == {"beta", "gamma-ray"}
    assert result["beta"] is things["beta"]


def test_filter_dict_accepts_keyword_arguments():
    things = FilterDict(first=Thing(name="a", size=1), second=Thing(name="b", size=2))
    assert list(things.filter(size__gt=1)) == ["second"]


def test_filter_dict_filter_skips_or_raises_for_values_without_the_attribute():
    things = make_filter_dict()
    things["bare"] = Bare()
    assert set(things.filter(size__gte=1)) == {"alpha", "beta", "gamma-ray"}
    with pytest.raises(InvalidInputException, match="Bare"):
        things.filter(ignore_items_without_attribute=False, size__gte=1)


def test_filter_dict_one_returns_a_key_value_pair():
    things = make_filter_dict()
    key, value = things.one(labels__contains="raw")
    assert key == "alpha"
    assert value is things["alpha"]


def test_filter_dict_one_raises_for_zero_or_several_matches():
    things = make_filter_dict()
    with pytest.raises(UnexpectedNumberOfResultsException, match="0 matched"):
        things.one(name__equals="nothing")
    with pytest.raises(UnexpectedNumberOfResultsException, match="2 matched"):
        things.one(tags__kind__equals="rock")


def test_filter_dict_order_by_returns_the_values_as_a_filter_list():
    things = make_filter_dict()
    ordered = things.order_by("tags.height")
    assert type(ordered) is FilterList
    assert [thing.name for thing in ordered] == ["alpha", "gamma-ray", "Beta"]
    assert [thing.name for thing in things.order_by("tags__height", reverse=True)] == [
        "Beta",
        "gamma-ray",
        "alpha",
    ]


def test_filter_dict_order_by_a_missing_attribute_raises():
    with pytest.raises(InvalidInputException, match="'colour'"):
        make_filter_dict().order_by("colour")


def test_filter_containers_are_their_builtin_types():
    assert isinstance(FilterSet(), set)
    assert isinstance(FilterList(), list)
    assert isinstance(FilterDict(), dict)
