"""The fast check (fastjsonschema) never accepts what jsonschema rejects (it may only be unsure), and is used."""

from __future__ import annotations

import collections
import decimal
import math
import random

import pytest
from jsonschema.validators import validator_for

from plait.twine import SchemaValidator
from plait.twine.validators import compile_fast_check, fast_check_problem

SCALARS = [
    None,
    True,
    False,
    -1,
    0,
    0.0,
    0.5,
    1,
    1.0,
    2,
    3.0,
    10,
    99.9,
    100,
    359.9,
    360,
    1e20,
    float("inf"),
    "",
    "a",
    "abc",
    "ABC-12",
    "fast",
    "accurate",
    "127.0.0.1",
    "2024-01-31T12:00:00Z",
    "x" * 70,
]
KEYS = ["a", "b", "c", "mode", "height", "x_1", "Bad Key"]

SCHEMAS = [
    True,
    False,
    {},
    {"type": "string"},
    {"type": ["integer", "null"]},
    {"type": "integer"},
    {"type": "number", "minimum": 0, "maximum": 100},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 360},
    {"minimum": 1},
    {"type": "string", "minLength": 1, "maxLength": 3},
    {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"},
    {"enum": ["fast", "accurate"]},
    {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1, "maxItems": 3},
    {"type": "array", "uniqueItems": True},
    {"items": {"enum": ["a", "abc"]}, "uniqueItems": True},
    {"items": False},
    {"type": "object", "required": ["a", "b"]},
    {"type": "object", "minProperties": 1, "maxProperties": 2},
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {}},
        "additionalProperties": False,
    },
    {"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
    {
        "patternProperties": {"^x_": {"type": "number"}, "^[a-c]$": {"type": ["string", "null"]}},
        "additionalProperties": False,
    },
    {"propertyNames": {"pattern": "^[a-z_0-9]+$"}},
    {"allOf": [{"type": "number"}, {"minimum": 1}]},
    {"anyOf": [{"type": "string", "minLength": 3}, {"type": "integer"}]},
    {"$defs": {"positive": {"type": "number", "minimum": 0}}, "items": {"$ref": "#/$defs/positive"}},
    {
        "$defs": {"tree": {"type": "object", "properties": {"a": {"$ref": "#/$defs/tree"}, "b": {"type": "integer"}}}},
        "$ref": "#/$defs/tree",
    },
    {
        "type": "object",
        "required": ["mode", "height"],
        "properties": {
            "mode": {"type": "string", "enum": ["fast", "accurate"]},
            "height": {"type": "number", "minimum": 0},
            "a": {"type": "array", "items": {"type": "number"}},
            "b": {"type": "object", "properties": {"c": {"type": "boolean"}}},
        },
    },
    # Other drafts.
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer", "exclusiveMaximum": 3},
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"s": {"type": "string"}},
        "items": {"$ref": "#/definitions/s"},
    },
    {"$schema": "https://json-schema.org/draft/2019-09/schema", "properties": {"a": {"minimum": 0}}},
    {"$schema": "http://json-schema.org/draft-06/schema#", "type": "integer"},
    # Keywords fastjsonschema implements with the same meaning in every draft from 6 on.
    {"not": {"type": "string"}},
    {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    {"if": {"type": "string"}, "then": {"minLength": 1}},
    {"contains": {"type": "string"}},
    {"properties": {"a": {"not": {}}}},
    {"enum": ["fast", None]},
    {"const": "fast"},
]


def random_instance(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        return rng.choice(SCALARS)
    if roll < 0.75:
        return [random_instance(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(KEYS): random_instance(rng, depth + 1) for _ in range(rng.randint(0, 4))}


INSTANCES = [random_instance(random.Random(seed)) for seed in range(400)] + [
    [1, 1.0],
    [True, 1],
    [0, False],
    ["a", "a"],
    [[1], [1]],
    {"mode": "fast", "height": 3, "a": [1, 2.5], "b": {"c": True}},
    {"mode": "fast", "height": -3},
    {"a": {"a": {"a": {"b": 1}}}},
    {"a": {"a": {"b": "x"}}},
    {"x_1": 1, "a": None},
    {"x_1": "1"},
    (1, 2),
    decimal.Decimal("5"),
    collections.OrderedDict(a=1, b="x"),
    {1: "a"},
    {"a", "b"},
    float("nan"),
    [1e308, 1.5, 2, 4, 3],
]


def reference(schema):
    cls = validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    class Reference:
        @staticmethod
        def is_valid(instance) -> bool:
            """jsonschema's answer; False where jsonschema itself fails on a value that is not JSON."""
            try:
                return validator.is_valid(instance)
            except (TypeError, ValueError, OverflowError):
                return False

    return Reference


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(index) for index in range(len(SCHEMAS))])
def test_fast_check_never_contradicts_jsonschema(schema):
    validator = SchemaValidator(schema)
    assert validator.compiled, f"expected the schema to be compiled: {schema}"
    expected = reference(schema)
    fast = compile_fast_check(schema)
    accepted = 0
    for instance in INSTANCES:
        truth = expected.is_valid(instance)
        if fast(instance):
            accepted += 1
            assert truth, f"fast check accepted an invalid instance {instance!r} for {schema}"
        assert validator.is_valid(instance) is truth
        assert (validator.first_error(instance) is None) is truth
    if schema is not False:
        assert accepted, "the fast check accepted nothing: it is not being used"


@pytest.mark.parametrize("schema", SCHEMAS[2:], ids=[str(index) for index in range(2, len(SCHEMAS))])
def test_fast_check_accepts_the_plain_json_instances_jsonschema_accepts(schema):
    """Not required for correctness, but the fast path must cover the common case to be fast."""
    fast = compile_fast_check(schema)
    expected = reference(schema)
    for instance in INSTANCES[:400]:
        if expected.is_valid(instance) and not _has_non_finite_number(instance):
            uniqueness_of_containers = isinstance(instance, list) and any(
                isinstance(item, list | dict) for item in instance
            )
            if not (schema.get("uniqueItems") and uniqueness_of_containers):
                assert fast(instance), f"fast check was unsure of valid {instance!r} for {schema}"


def _has_non_finite_number(instance) -> bool:
    """NaN and infinities are not JSON: the fast check leaves them to jsonschema."""
    if isinstance(instance, float):
        return not math.isfinite(instance)
    if isinstance(instance, list):
        return any(_has_non_finite_number(item) for item in instance)
    if isinstance(instance, dict):
        return any(_has_non_finite_number(item) for item in instance.values())
    return False


@pytest.mark.parametrize(
    "schema",
    [
        {"multipleOf": 0.5},
        {"type": "integer", "multipleOf": 3},
        {"type": "integer", "multipleOf": 2, "maximum": 10},
        {"type": "string", "format": "ipv4"},
        {"format": "date-time"},
        {"enum": [1, True, None, "a", 0.5]},
        {"const": 1},
        {"const": False},
        {"$ref": "#/$defs/a", "minimum": 3, "$defs": {"a": {"type": "integer"}}},
        {"prefixItems": [{"type": "string"}]},
        {"unevaluatedProperties": False},
        {"dependentRequired": {"a": ["b"]}},
        {"enum": [[1, 2], {"a": 1}]},
        {"$ref": "#/$defs/a", "$defs": {"a": {"$id": "https://example.com/a", "type": "string"}}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]},
    ],
)
def test_keywords_that_differ_between_drafts_fall_back_to_jsonschema(schema):
    validator = SchemaValidator(schema)
    assert not validator.compiled
    assert fast_check_problem(schema) is not None
    expected = reference(schema)
    for instance in INSTANCES:
        assert validator.is_valid(instance) is expected.is_valid(instance)


def test_unknown_keywords_are_ignored_as_jsonschema_ignores_them():
    schema = {"type": "number", "units": "m/s", "x-ui": {"widget": "slider"}, "title": "Speed", "description": "d"}
    validator = SchemaValidator(schema)
    assert validator.compiled
    assert validator.is_valid(3)
    assert not validator.is_valid("3")


def test_compiling_a_schema_with_an_id_and_references_fetches_nothing(monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used to compile a schema")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    schema = {
        "$id": "plait/example/1.json",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/uuid"}},
        "$defs": {"uuid": {"type": "string", "pattern": "^[0-9a-f-]{36}$"}},
    }

    validator = SchemaValidator(schema)

    assert validator.compiled
    assert validator.is_valid({"a": "0" * 36})
    assert not validator.is_valid({"a": "not a uuid"})
