import copy
import pickle

import pytest

from plait.exceptions import InvalidInputException, InvalidLabelException
from plait.resources.label import Label, LabelSet

VALID_LABELS = ["a", "0", "wind-speed", "a-b-c", "x1", "1x", "a--b", "abc123-def456", "z" * 200]
INVALID_LABELS = [
    "",
    "-leading",
    "trailing-",
    "Upper",
    "UPPER",
    "camelCase",
    "with_underscore",
    "with space",
    "with.dot",
    "é",
    "a\n",
    "-",
]


@pytest.mark.parametrize("value", VALID_LABELS)
def test_valid_labels_are_accepted(value):
    label = Label(value)
    assert label == value
    assert isinstance(label, str)


@pytest.mark.parametrize("value", INVALID_LABELS)
def test_invalid_labels_are_rejected_with_a_message_naming_the_label_and_the_rule(value):
    with pytest.raises(InvalidLabelException) as error:
        Label(value)
    assert repr(value) in str(error.value)
    assert "lowercase letters, digits and hyphens" in str(error.value)


@pytest.mark.parametrize("value", [1, None, b"abc", ["a"]])
def test_non_string_labels_are_rejected(value):
    with pytest.raises(InvalidLabelException, match="must be strings"):
        Label(value)


def test_invalid_label_exception_is_an_invalid_input_exception_and_a_value_error():
    with pytest.raises(InvalidInputException):
        Label("Bad")
    with pytest.raises(ValueError):
        Label("Bad")


def test_label_of_a_label_is_the_same_label():
    label = Label("a")
    assert Label(label) is label


def test_label_matches_equal_labels_and_strings_only():
    label = Label("wind-speed")
    assert label.matches("wind-speed")
    assert label.matches(Label("wind-speed"))
    assert not label.matches("wind")
    assert not label.matches("Wind-speed")
    assert not label.matches(None)


def test_label_hashes_like_its_string():
    assert hash(Label("a")) == hash("a")
    assert {Label("a"): 1}["a"] == 1


def test_label_set_from_none_and_nothing_is_empty():
    assert LabelSet() == set()
    assert LabelSet(None) == set()
    assert LabelSet("") == set()
    assert LabelSet("   ") == set()


def test_label_set_from_a_space_separated_string():
    assert LabelSet("a b  c\tdd") == {"a", "b", "c", "dd"}


def test_label_set_from_a_json_list_string():
    assert LabelSet('["a", "b-c"]') == {"a", "b-c"}
    assert LabelSet(' ["x"]') == {"x"}
    assert LabelSet("[]") == set()


def test_label_set_rejects_an_unparseable_json_list_string():
    with pytest.raises(InvalidLabelException, match="JSON list"):
        LabelSet('["a", ')


def test_label_set_rejects_a_json_list_with_invalid_labels():
    with pytest.raises(InvalidLabelException, match="'B'"):
        LabelSet('["a", "B"]')
    with pytest.raises(InvalidLabelException, match="must be strings"):
        LabelSet("[1]")


@pytest.mark.parametrize(
    "iterable",
    [["a", "b"], ("a", "b"), {"a", "b"}, frozenset({"a", "b"}), iter(["a", "b"]), [Label("a"), "b"]],
    ids=["list", "tuple", "set", "frozenset", "iterator", "labels"],
)
def test_label_set_from_any_iterable_of_strings(iterable):
    labels = LabelSet(iterable)
    assert labels == {"a", "b"}
    assert all(type(label) is Label for label in labels)


def test_label_set_from_another_label_set():
    original = LabelSet("a b")
    copied = LabelSet(original)
    copied.add("c")
    assert original == {"a", "b"}
    assert copied == {"a", "b", "c"}


@pytest.mark.parametrize("labels", [3, b"a b", object()])
def test_label_set_rejects_inputs_that_are_not_a_form_of_labels(labels):
    with pytest.raises(InvalidLabelException, match="space-separated"):
        LabelSet(labels)


@pytest.mark.parametrize("labels", ["a Bad c", ["a", "b_"], "a,b"])
def test_label_set_rejects_invalid_labels_naming_them(labels):
    with pytest.raises(InvalidLabelException, match="is invalid"):
        LabelSet(labels)


def test_label_set_deduplicates():
    assert len(LabelSet("a a b")) == 2


def test_contains_works_with_plain_strings_and_labels():
    labels = LabelSet("a b")
    assert "a" in labels
    assert Label("b") in labels
    assert "c" not in labels
    assert "A" not in labels
    assert 1 not in labels


def test_add_accepts_several_labels():
    labels = LabelSet()
    labels.add("a")
    labels.add("b", Label("c"))
    assert labels == {"a", "b", "c"}
    assert all(type(label) is Label for label in labels)


def test_failed_add_leaves_label_set_unchanged():
    labels = LabelSet("a")
    with pytest.raises(InvalidLabelException):
        labels.add("b", "C", "d")
    assert labels == {"a"}


def test_update_accepts_several_iterables_in_any_constructor_form():
    labels = LabelSet("a")
    labels.update(["b"], "c d", '["e"]', LabelSet("f"), None)
    assert labels == {"a", "b", "c", "d", "e", "f"}
    assert all(type(label) is Label for label in labels)


def test_failed_update_leaves_label_set_unchanged():
    labels = LabelSet("a")
    with pytest.raises(InvalidLabelException):
        labels.update(["b", "c"], ["d", "bad-"])
    assert labels == {"a"}


def test_failed_in_place_or_leaves_label_set_unchanged():
    labels = LabelSet("a")
    with pytest.raises(InvalidLabelException):
        labels |= {"b", "_c"}
    assert labels == {"a"}


def test_in_place_or_validates_and_keeps_the_type():
    labels = LabelSet("a")
    labels |= {"b"}
    assert labels == {"a", "b"}
    assert isinstance(labels, LabelSet)
    assert all(type(label) is Label for label in labels)


def test_symmetric_difference_update_validates_first():
    labels = LabelSet("a b")
    labels ^= {"b", "c"}
    assert labels == {"a", "c"}
    with pytest.raises(InvalidLabelException):
        labels ^= {"d", "E"}
    assert labels == {"a", "c"}


def test_set_operations_return_label_sets_of_labels():
    labels = LabelSet("a b")
    results = {
        "or": (labels | {"c"}, {"a", "b", "c"}),
        "ror": ({"c"} | labels, {"a", "b", "c"}),
        "union": (labels.union(["c"], "d"), {"a", "b", "c", "d"}),
        "and": (labels & {"a", "z"}, {"a"}),
        "rand": ({"a", "z"} & labels, {"a"}),
        "intersection": (labels.intersection(["a"]), {"a"}),
        "sub": (labels - {"a"}, {"b"}),
        "difference": (labels.difference(["a"]), {"b"}),
        "xor": (labels ^ {"b", "c"}, {"a", "c"}),
        "symmetric_difference": (labels.symmetric_difference(["b", "c"]), {"a", "c"}),
        "copy": (labels.copy(), {"a", "b"}),
    }
    for name, (result, expected) in results.items():
        assert type(result) is LabelSet, name
        assert result == expected, name
        assert all(type(label) is Label for label in result), name
    assert labels == {"a", "b"}


def test_union_with_invalid_labels_raises():
    with pytest.raises(InvalidLabelException):
        LabelSet("a") | {"B"}


def test_removing_labels_with_plain_strings():
    labels = LabelSet("a b c")
    labels.remove("a")
    labels.discard("b")
    labels -= {"c"}
    assert labels == set()


def test_any_label_starts_with():
    labels = LabelSet("wind-speed temperature")
    assert labels.any_label_starts_with("wind")
    assert labels.any_label_starts_with("temp")
    assert not labels.any_label_starts_with("speed")
    assert not LabelSet().any_label_starts_with("")


def test_any_label_ends_with():
    labels = LabelSet("wind-speed temperature")
    assert labels.any_label_ends_with("speed")
    assert labels.any_label_ends_with("ture")
    assert not labels.any_label_ends_with("wind")


def test_any_label_contains():
    labels = LabelSet("wind-speed temperature")
    assert labels.any_label_contains("d-s")
    assert labels.any_label_contains("pera")
    assert not labels.any_label_contains("pressure")


def test_to_primitive_is_a_sorted_list_of_plain_strings():
    primitive = LabelSet("c a b").to_primitive()
    assert primitive == ["a", "b", "c"]
    assert all(type(label) is str for label in primitive)


def test_serialise_is_deterministic_canonical_json():
    assert LabelSet("zeta alpha mid").serialise() == '["alpha","mid","zeta"]'
    assert LabelSet(["b", "a"]).serialise() == LabelSet(["a", "b"]).serialise()
    assert LabelSet().serialise() == "[]"


def test_serialised_labels_round_trip():
    labels = LabelSet("x y-z")
    assert LabelSet(labels.serialise()) == labels


def test_repr_is_sorted():
    assert repr(LabelSet("b a")) == "LabelSet(['a', 'b'])"


def test_label_set_survives_pickling_and_copying():
    labels = LabelSet("a b")
    for result in (pickle.loads(pickle.dumps(labels)), copy.copy(labels), copy.deepcopy(labels)):
        assert type(result) is LabelSet
        assert result == labels
    copied = copy.copy(labels)
    copied.add("c")
    assert labels == {"a", "b"}


def test_label_set_equals_plain_sets_of_strings():
    assert LabelSet("a b") == {"a", "b"}
    assert LabelSet("a b") != {"a"}
