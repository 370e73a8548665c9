import copy
import json
import math
import pickle

import pytest

from plait.exceptions import InvalidInputException, InvalidTagException
from plait.resources.tag import TagDict

VALID_KEYS = ["a", "0", "sample_rate", "a_b_c", "x1", "1x", "a__b", "abc123_def456", "z" * 200]
INVALID_KEYS = [
    "",
    "_leading",
    "trailing_",
    "Upper",
    "UPPER",
    "camelCase",
    "with-hyphen",
    "with space",
    "with.dot",
    "é",
    "a\n",
    "_",
    "a_\n",
]
VALID_VALUES = [
    "text",
    "",
    0,
    -5,
    10**30,
    1.5,
    -0.0,
    True,
    False,
    None,
    [],
    [1, "a", None, [2.5, {"b": True}]],
    (1, 2),
    {},
    {"nested": {"deeper": [1, 2, {"x": None}]}},
]
INVALID_VALUES = [
    math.nan,
    math.inf,
    -math.inf,
    {1, 2},
    frozenset(),
    object(),
    b"bytes",
    1 + 2j,
    [1, {2}],
    {"a": math.nan},
    {1: "non-string key"},
    {"ok": [1, [object()]]},
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_tag_keys_are_accepted(key):
    tags = TagDict({key: 1})
    assert tags[key] == 1


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_tag_keys_are_rejected_with_a_message_naming_the_key_and_the_rule(key):
    with pytest.raises(InvalidTagException) as error:
        TagDict({key: 1})
    assert repr(key) in str(error.value)
    assert "lowercase letters, digits and underscores" in str(error.value)


@pytest.mark.parametrize("key", [1, None, ("a",), b"key"])
def test_non_string_tag_keys_are_rejected(key):
    with pytest.raises(InvalidTagException, match="is invalid"):
        TagDict({key: 1})


def test_invalid_tag_exception_is_an_invalid_input_exception_and_a_value_error():
    with pytest.raises(InvalidInputException):
        TagDict({"Bad": 1})
    with pytest.raises(ValueError):
        TagDict({"Bad": 1})


@pytest.mark.parametrize("value", VALID_VALUES)
def test_json_tag_values_are_accepted(value):
    tags = TagDict(key=value)
    assert tags["key"] == value


@pytest.mark.parametrize("value", INVALID_VALUES, ids=repr)
def test_non_json_tag_values_are_rejected_with_a_message_naming_the_key(value):
    with pytest.raises(InvalidTagException) as error:
        TagDict(my_key=value)
    assert "'my_key'" in str(error.value)
    assert "JSON values" in str(error.value)


def test_invalid_nested_value_message_says_where_it_is():
    with pytest.raises(InvalidTagException, match=r"Tag 'data' at data\[1\]\['x'\] has an invalid value \{3\}"):
        TagDict(data=[1, {"x": {3}}])


def test_circular_tag_value_is_rejected():
    circular = []
    circular.append(circular)
    with pytest.raises(InvalidTagException):
        TagDict(loop=circular)


def test_constructor_accepts_none_and_no_arguments():
    assert TagDict() == {}
    assert TagDict(None) == {}
    assert len(TagDict(None)) == 0


def test_constructor_accepts_a_dict():
    assert TagDict({"a": 1, "b": "two"}) == {"a": 1, "b": "two"}


def test_constructor_accepts_another_tag_dict_and_copies_it():
    original = TagDict(a=1)
    copied = TagDict(original)
    copied["b"] = 2
    assert copied == {"a": 1, "b": 2}
    assert original == {"a": 1}


def test_constructor_accepts_a_json_object_string():
    assert TagDict('{"a": 1, "b": [true, null]}') == {"a": 1, "b": [True, None]}


def test_constructor_accepts_key_value_pairs_and_keyword_arguments():
    assert TagDict([("a", 1), ("b", 2)], c=3) == {"a": 1, "b": 2, "c": 3}


@pytest.mark.parametrize("text", ["[1, 2]", '"string"', "3", "not json", "{'a': 1}"])
def test_constructor_rejects_strings_that_are_not_json_objects(text):
    with pytest.raises(InvalidTagException, match="JSON object"):
        TagDict(text)


def test_constructor_rejects_a_json_string_with_an_invalid_key():
    with pytest.raises(InvalidTagException, match="'Bad'"):
        TagDict('{"Bad": 1}')


@pytest.mark.parametrize("data", [3, 4.5, object()])
def test_constructor_rejects_values_that_are_not_a_form_of_tags(data):
    with pytest.raises(InvalidTagException, match="mapping"):
        TagDict(data)


def test_constructor_rejects_malformed_pairs():
    with pytest.raises(InvalidTagException, match="pairs"):
        TagDict([("a", 1, 2)])


def test_setitem_validates_key_and_value():
    tags = TagDict(a=1)
    tags["b"] = [1, 2]
    assert tags == {"a": 1, "b": [1, 2]}
    with pytest.raises(InvalidTagException):
        tags["B"] = 1
    with pytest.raises(InvalidTagException):
        tags["c"] = {1}
    assert tags == {"a": 1, "b": [1, 2]}


def test_failed_update_leaves_tag_dict_unchanged():
    tags = TagDict(a=1, b=2)
    with pytest.raises(InvalidTagException):
        tags.update({"c": 3, "d": 4, "Bad-Key": 5, "a": 100})
    assert tags == {"a": 1, "b": 2}


def test_failed_update_with_an_invalid_value_leaves_tag_dict_unchanged():
    tags = TagDict(a=1)
    with pytest.raises(InvalidTagException):
        tags.update(a=2, c=3, d=math.nan)
    assert tags == {"a": 1}


def test_failed_in_place_or_leaves_tag_dict_unchanged():
    tags = TagDict(a=1)
    with pytest.raises(InvalidTagException):
        tags |= {"b": 2, "_c": 3}
    assert tags == {"a": 1}


def test_in_place_or_adds_valid_tags_and_keeps_the_type():
    tags = TagDict(a=1)
    tags |= {"b": 2}
    assert tags == {"a": 1, "b": 2}
    assert isinstance(tags, TagDict)


def test_or_returns_a_validated_tag_dict():
    assert isinstance(TagDict(a=1) | {"b": 2}, TagDict)
    assert (TagDict(a=1) | {"b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(InvalidTagException):
        TagDict(a=1) | {"B": 2}
    with pytest.raises(InvalidTagException):
        {"B": 2} | TagDict(a=1)


def test_update_accepts_every_constructor_form():
    tags = TagDict()
    tags.update({"a": 1})
    tags.update(TagDict(b=2))
    tags.update('{"c": 3}')
    tags.update([("d", 4)], e=5)
    assert tags == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def test_setdefault_validates():
    tags = TagDict()
    assert tags.setdefault("a", 1) == 1
    with pytest.raises(InvalidTagException):
        tags.setdefault("A", 1)
    assert tags == {"a": 1}


def test_deleting_and_popping_tags():
    tags = TagDict(a=1, b=2)
    del tags["a"]
    assert tags.pop("b") == 2
    assert tags == {}


def test_tag_dict_equals_plain_dicts_with_the_same_content():
    assert TagDict(a=1, b=[1]) == {"b": [1], "a": 1}
    assert {"a": 1} == TagDict(a=1)  # noqa: SIM300 - the reflected comparison is the point.
    assert TagDict(a=1) == TagDict(a=1)
    assert TagDict(a=1) != {"a": 2}
    assert TagDict(a=1) != {"a": 1, "b": 2}
    assert TagDict(a=1) != TagDict(a=2)
    assert TagDict() != []


def test_tag_dict_is_unhashable():
    with pytest.raises(TypeError):
        hash(TagDict())


def test_to_primitive_is_a_plain_dict_with_sorted_keys():
    primitive = TagDict(zebra=1, apple=2, mango=3).to_primitive()
    assert type(primitive) is dict
    assert list(primitive) == ["apple", "mango", "zebra"]
    assert primitive == {"apple": 2, "mango": 3, "zebra": 1}


def test_serialise_is_canonical_json_independent_of_insertion_order():
    first = TagDict({"b": {"y": 1, "x": 2}, "a": [1, 2]})
    second = TagDict({"a": [1, 2], "b": {"x": 2, "y": 1}})
    assert first.serialise() == second.serialise() == '{"a":[1,2],"b":{"x":2,"y":1}}'
    assert json.loads(first.serialise()) == first


def test_copy_is_an_independent_tag_dict():
    tags = TagDict(a=1)
    for copied in (tags.copy(), copy.copy(tags)):
        copied["b"] = 2
        assert isinstance(copied, TagDict)
        assert copied == {"a": 1, "b": 2}
    assert tags == {"a": 1}


def test_copied_tag_dict_still_validates():
    copied = TagDict(a=1).copy()
    with pytest.raises(InvalidTagException):
        copied["Bad"] = 1


def test_tag_dict_survives_pickling_and_deep_copying():
    tags = TagDict(a=[1, {"b": 2}])
    assert pickle.loads(pickle.dumps(tags)) == tags
    deep = copy.deepcopy(tags)
    deep["a"][1]["b"] = 3
    assert tags["a"][1]["b"] == 2


def test_repr_names_the_class_and_content():
    assert repr(TagDict(a=1)) == "TagDict({'a': 1})"


def test_missing_key_raises_key_error():
    with pytest.raises(KeyError):
        TagDict()["absent"]
    assert TagDict().get("absent") is None
    assert "absent" not in TagDict()
