"""Twine loading and validation: strands, values, monitor messages, credentials and children."""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import subprocess
import sys

import pytest

from plait import hashing
from plait.exceptions import (
    InvalidChildren,
    InvalidInputException,
    InvalidMonitorMessage,
    InvalidTwine,
    InvalidValuesContents,
    InvalidValuesJson,
    MissingCredential,
    PlaitException,
)
from plait.twine import STRAND_NAMES, SchemaValidator, Twine, load_bundled_schema, load_values
from plait.twine import twine as twine_module

INPUT_VALUES_SCHEMA = {
    "type": "object",
    "required": ["wind", "mode"],
    "additionalProperties": False,
    "properties": {
        "mode": {"type": "string", "enum": ["fast", "accurate"]},
        "wind": {
            "type": "object",
            "required": ["height"],
            "properties": {"height": {"type": "number", "minimum": 0}, "speed": {"type": "number", "maximum": 100}},
        },
        "heights": {"type": "array", "items": {"type": "number", "minimum": 0}},
        "n": {"type": "integer", "minimum": 1},
    },
}

TWINE = {
    "title": "Wind resource",
    "configuration_values_schema": {"type": "object", "properties": {"resolution": {"type": "integer"}}},
    "input_values_schema": INPUT_VALUES_SCHEMA,
    "output_values_schema": {"type": "object", "required": ["power"], "properties": {"power": {"type": "number"}}},
    "monitor_message_schema": {
        "type": "object",
        "required": ["progress"],
        "properties": {"progress": {"type": "number"}},
    },
    "input_manifest": {"datasets": {"met_mast": {"purpose": "measurements"}}},
    "children": [{"key": "elevation", "purpose": "terrain"}, {"key": "wind_speed"}],
    "credentials": [{"name": "WEATHER_API_KEY", "purpose": "weather"}, {"name": "SECRET_2"}],
}

VALID_INPUT = {"mode": "fast", "wind": {"height": 80, "speed": 12.5}, "heights": [10, 20.5], "n": 3}


@pytest.fixture
def twine() -> Twine:
    return Twine(TWINE)


# -- loading --


class TestLoading:
    def test_from_dict(self):
        twine = Twine(TWINE)
        assert twine.source == TWINE
        assert twine.available_strands == frozenset(STRAND_NAMES) - {"configuration_manifest", "output_manifest"}

    def test_from_json_string(self):
        assert Twine(json.dumps(TWINE)).source == TWINE

    def test_from_path_str_and_pathlike(self, tmp_path):
        path = tmp_path / "twine.json"
        path.write_text(json.dumps(TWINE))
        assert Twine(str(path)).source == TWINE
        assert Twine(path).source == TWINE

    def test_from_open_file(self, tmp_path):
        assert Twine(io.StringIO(json.dumps(TWINE))).source == TWINE

    def test_from_twine_is_the_same_twine(self, twine):
        assert Twine(twine) is twine
        assert twine.validate_values("input_values", VALID_INPUT) == VALID_INPUT  # still usable

    def test_the_twine_is_a_copy_of_the_dict_given(self):
        source = json.loads(json.dumps(TWINE))
        twine = Twine(source)
        source["input_values_schema"]["required"].append("n")
        assert twine.validate_values("input_values", {"mode": "fast", "wind": {"height": 1}})

    def test_empty_twine_has_no_strands(self):
        twine = Twine({})
        assert twine.available_strands == frozenset()
        assert not twine.has_strand("input_values_schema")

    def test_descriptive_keys_are_allowed(self):
        twine = Twine({"$schema": "x", "title": "t", "description": "d", "name": "n"})
        assert twine.available_strands == frozenset()

    def test_has_strand_and_strand(self, twine):
        assert twine.has_strand("children")
        assert not twine.has_strand("output_manifest")
        assert not twine.has_strand("title")
        assert twine.strand("children") == TWINE["children"]
        assert twine.strand("output_manifest") is None
        with pytest.raises(InvalidInputException, match="not a strand"):
            twine.strand("inputs")

    def test_to_primitive_is_a_copy(self, twine):
        primitive = twine.to_primitive()
        assert primitive == TWINE
        primitive["children"].clear()
        assert twine.source["children"]

    def test_hash_value_is_hash_json_of_the_twine(self, twine):
        assert twine.hash_value == hashing.hash_json(TWINE)
        assert Twine(json.dumps(TWINE, indent=4)).hash_value == twine.hash_value
        assert Twine({}).hash_value != twine.hash_value
        assert Twine(json.dumps(TWINE)) == twine

    def test_pickling_recompiles_from_the_source(self, twine):
        copy = pickle.loads(pickle.dumps(twine))
        assert copy == twine
        assert copy.schema_validator("input_values") is not twine.schema_validator("input_values")
        with pytest.raises(InvalidValuesContents, match=r"\$\.wind\.height"):
            copy.validate_values("input_values", {"mode": "fast", "wind": {"height": -1}})

    def test_repr_lists_strands(self):
        assert repr(Twine({"children": []})) == "<Twine(children)>"


class TestInvalidTwines:
    def test_bad_json_string(self):
        with pytest.raises(InvalidTwine, match="not valid JSON"):
            Twine('{"input_values_schema": ')

    def test_bad_json_file(self, tmp_path):
        path = tmp_path / "twine.json"
        path.write_text("{nope")
        with pytest.raises(InvalidTwine, match=r"twine\.json.*not valid JSON"):
            Twine(str(path))

    def test_missing_file(self, tmp_path):
        with pytest.raises(InvalidTwine, match="no twine file"):
            Twine(str(tmp_path / "missing.json"))

    def test_unreadable_file(self, tmp_path):
        with pytest.raises(InvalidTwine, match="cannot be read"):
            Twine(str(tmp_path))  # a directory

    def test_not_an_object(self):
        with pytest.raises(InvalidTwine, match="a twine is a JSON object, not list"):
            Twine("[1, 2]")

    def test_wrong_source_type(self):
        with pytest.raises(InvalidTwine, match="not int"):
            Twine(3)

    def test_not_json_serialisable_dict(self):
        with pytest.raises(InvalidTwine, match="not JSON-serialisable"):
            Twine({"input_values_schema": {"default": object()}})

    def test_nan_is_not_json(self):
        with pytest.raises(InvalidTwine, match="NaN"):
            Twine('{"input_values_schema": {"maximum": NaN}}')

    def test_unknown_top_level_key_with_suggestion(self):
        with pytest.raises(InvalidTwine, match=r"'inputs_values_schema' \(did you mean 'input_values_schema'\?\)"):
            Twine({"inputs_values_schema": {}})

    def test_invalid_twines_are_invalid_input(self):
        assert issubclass(InvalidTwine, InvalidInputException)
        assert issubclass(InvalidTwine, ValueError)

    @pytest.mark.parametrize(
        ("twine", "message"),
        [
            (
                {"input_manifest": {"datasets": {"met_mast": {"optional": 3}}}},
                "input_manifest.datasets.met_mast.optional: 3 is not of type 'boolean'",
            ),
            (
                {"input_manifest": {"datasets": {"met_mast": {"purpose": 1}}}},
                "input_manifest.datasets.met_mast.purpose",
            ),
            ({"input_manifest": {"datasets": {"met_mast": {"optinal": True}}}}, "'optinal' was unexpected"),
            ({"input_manifest": {"datasets": []}}, "input_manifest.datasets: [] is not of type 'object'"),
            ({"output_manifest": {}}, "output_manifest: 'datasets' is a required property"),
            ({"input_manifest": {"datasets": {"Met-Mast": {}}}}, "input_manifest.datasets: 'Met-Mast' does not match"),
            ({"input_manifest": {"datasets": {"_mast": {}}}}, "'_mast' does not match"),
            ({"input_values_schema": 3}, "input_values_schema: 3 is not of type 'object', 'boolean'"),
            ({"input_values_schema": []}, "input_values_schema: [] is not of type"),
            ({"children": {"key": "a"}}, "children: {'key': 'a'} is not of type 'array'"),
            ({"children": [{"purpose": "x"}]}, "children[0]: 'key' is a required property"),
            ({"children": [{"key": "a"}, {"key": 2}]}, "children[1].key: 2 is not of type 'string'"),
            ({"children": [{"key": "a", "url": "x"}]}, "'url' was unexpected"),
            ({"credentials": [{"name": "api_key"}]}, "credentials[0].name: 'api_key' does not match"),
            ({"credentials": ["API_KEY"]}, "credentials[0]: 'API_KEY' is not of type 'object'"),
            ({"title": 3}, "title: 3 is not of type 'string'"),
        ],
    )
    def test_bad_strands_name_the_json_path(self, twine, message):
        with pytest.raises(InvalidTwine) as raised:
            Twine(twine)
        assert message in str(raised.value)

    def test_duplicate_child_keys(self):
        with pytest.raises(InvalidTwine, match=r"children\[2\]\.key: 'a' appears more than once"):
            Twine({"children": [{"key": "a"}, {"key": "b"}, {"key": "a"}]})

    def test_duplicate_credential_names(self):
        with pytest.raises(InvalidTwine, match=r"credentials\[1\]\.name: 'API_KEY' appears more than once"):
            Twine({"credentials": [{"name": "API_KEY"}, {"name": "API_KEY", "purpose": "again"}]})

    @pytest.mark.parametrize(
        ("strand", "schema", "message"),
        [
            ("input_values_schema", {"type": "objec"}, "input_values_schema.type: not a valid JSON Schema"),
            (
                "output_values_schema",
                {"properties": {"a": {"minimum": "0"}}},
                "output_values_schema.properties.a.minimum",
            ),
            ("configuration_values_schema", {"required": "a"}, "configuration_values_schema.required"),
            ("monitor_message_schema", {"pattern": "("}, "monitor_message_schema.pattern"),
        ],
    )
    def test_invalid_embedded_schema(self, strand, schema, message):
        with pytest.raises(InvalidTwine) as raised:
            Twine({strand: schema})
        assert message in str(raised.value)

    def test_invalid_file_tags_template(self):
        twine = {"input_manifest": {"datasets": {"met_mast": {"file_tags_template": {"type": 5}}}}}
        with pytest.raises(InvalidTwine, match=r"input_manifest\.datasets\.met_mast\.file_tags_template\.type"):
            Twine(twine)

    def test_embedded_schema_is_checked_with_the_draft_it_names(self):
        # Draft 4's exclusiveMaximum is a boolean; in Draft 2020-12 it is a number.
        draft_4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 3, "exclusiveMaximum": True}
        twine = Twine({"input_values_schema": draft_4})
        with pytest.raises(InvalidValuesContents, match="greater than or equal to the maximum of 3"):
            twine.validate_values("input_values", 3)
        with pytest.raises(InvalidTwine, match="exclusiveMaximum"):
            Twine({"input_values_schema": {"maximum": 3, "exclusiveMaximum": True}})

    def test_unknown_metaschema(self):
        with pytest.raises(InvalidTwine, match=r"input_values_schema\.\$schema: .*not a JSON Schema draft"):
            Twine({"input_values_schema": {"$schema": "https://example.com/my-draft"}})

    def test_remote_reference_is_refused_at_load_time(self):
        with pytest.raises(InvalidTwine, match=r"input_values_schema\.properties\.a\.\$ref: .*fetches no schemas"):
            Twine({"input_values_schema": {"properties": {"a": {"$ref": "https://example.com/a.json"}}}})

    def test_dangling_local_reference(self):
        with pytest.raises(InvalidTwine, match=r"'#/\$defs/b' points to nothing"):
            Twine({"input_values_schema": {"$defs": {"a": {}}, "$ref": "#/$defs/b"}})

    def test_local_references_are_fine(self):
        schema = {
            "$defs": {"positive": {"type": "number", "minimum": 0}},
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/positive"}},
        }
        twine = Twine({"input_values_schema": schema})
        assert twine.validate_values("input_values", {"a": 1}) == {"a": 1}
        with pytest.raises(InvalidValuesContents, match=r"\$\.a: -1 is less than the minimum of 0"):
            twine.validate_values("input_values", {"a": -1})

    def test_the_bundled_twine_schema_is_a_valid_schema(self):
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(load_bundled_schema("twine"))
        Draft202012Validator.check_schema(load_bundled_schema("children"))
        assert set(load_bundled_schema("twine")["properties"]) == {
            *STRAND_NAMES,
            "$schema",
            "title",
            "description",
            "name",
        }


# -- values --


class TestLoadValues:
    def test_primitives_are_returned_as_they_are(self):
        values = {"a": [1, 2]}
        assert load_values(values) is values
        assert load_values([1]) == [1]
        assert load_values(3.5) == 3.5
        assert load_values(True) is True
        assert load_values(None) is None

    @pytest.mark.parametrize(
        ("text", "expected"),
        [('{"a": 1}', {"a": 1}), ("[1, 2]", [1, 2]), ("3", 3), ('"hello"', "hello"), ("null", None), ("true", True)],
    )
    def test_json_text(self, text, expected):
        assert load_values(text) == expected

    def test_bytes(self):
        assert load_values(b'{"a": 1}') == {"a": 1}

    def test_plain_text_is_not_json(self):
        with pytest.raises(InvalidValuesJson, match=r"'hello' is not JSON.*needs its quotes"):
            load_values("hello")

    def test_json_file_path(self, tmp_path):
        path = tmp_path / "values.json"
        path.write_text('{"a": 1}')
        assert load_values(str(path)) == {"a": 1}
        assert load_values(path) == {"a": 1}

    def test_missing_json_file(self, tmp_path):
        with pytest.raises(InvalidValuesJson, match="there is no file"):
            load_values(str(tmp_path / "missing.json"), strand="input_values")

    def test_a_path_not_ending_in_json_is_not_read(self, tmp_path):
        path = tmp_path / "values.txt"
        path.write_text('{"a": 1}')
        with pytest.raises(InvalidValuesJson, match="is not JSON"):
            load_values(str(path))

    def test_invalid_json_file(self, tmp_path):
        path = tmp_path / "values.json"
        path.write_text("{")
        with pytest.raises(
            InvalidValuesJson, match=r"input_values: the file .*values\.json is not valid JSON"
        ) as raised:
            load_values(str(path), strand="input_values")
        assert raised.value.strand == "input_values"

    def test_file_object(self, tmp_path):
        assert load_values(io.StringIO('{"a": [1]}')) == {"a": [1]}
        path = tmp_path / "values.json"
        path.write_text("[1, 2]")
        with path.open() as file:
            assert load_values(file) == [1, 2]

    def test_nan_is_rejected(self):
        with pytest.raises(InvalidValuesJson, match="NaN is not valid JSON"):
            load_values('{"a": NaN}')

    def test_other_types(self):
        with pytest.raises(InvalidValuesJson, match="not set"):
            load_values({1, 2})

    def test_invalid_values_json_is_invalid_values_contents(self):
        assert issubclass(InvalidValuesJson, InvalidValuesContents)


class TestValidateValues:
    def test_valid_dict_is_returned(self, twine):
        assert twine.validate_values("input_values", VALID_INPUT) is VALID_INPUT

    def test_forms_of_values(self, twine, tmp_path):
        path = tmp_path / "input.json"
        path.write_text(json.dumps(VALID_INPUT))
        assert twine.validate_values("input_values", json.dumps(VALID_INPUT)) == VALID_INPUT
        assert twine.validate_values("input_values", str(path)) == VALID_INPUT
        assert twine.validate_values("input_values", path) == VALID_INPUT
        with path.open() as file:
            assert twine.validate_values("input_values", file) == VALID_INPUT

    def test_schema_strand_name_is_accepted(self, twine):
        assert twine.validate_values("input_values_schema", VALID_INPUT) == VALID_INPUT

    def test_unknown_strand(self, twine):
        with pytest.raises(InvalidInputException, match="not a values strand"):
            twine.validate_values("inputs", VALID_INPUT)

    @pytest.mark.parametrize(
        ("values", "json_path", "message"),
        [
            ({"mode": "fast", "wind": {"height": -3}}, "$.wind.height", "-3 is less than the minimum of 0"),
            ({"mode": "slow", "wind": {"height": 3}}, "$.mode", "'slow' is not one of ['fast', 'accurate']"),
            ({"mode": "fast"}, "$", "'wind' is a required property"),
            ({"mode": "fast", "wind": {"height": 3}, "extra": 1}, "$", "('extra' was unexpected)"),
            (
                {"mode": "fast", "wind": {"height": 3}, "heights": [1, -2]},
                "$.heights[1]",
                "-2 is less than the minimum",
            ),
            ({"mode": "fast", "wind": {"height": 3}, "n": 1.5}, "$.n", "1.5 is not of type 'integer'"),
            ({"mode": "fast", "wind": {"height": True}}, "$.wind.height", "True is not of type 'number'"),
            ([1], "$", "[1] is not of type 'object'"),
        ],
    )
    def test_errors_name_strand_and_json_path(self, twine, values, json_path, message):
        with pytest.raises(InvalidValuesContents) as raised:
            twine.validate_values("input_values", values)
        assert str(raised.value).startswith(f"input_values: {json_path}: ")
        assert message in str(raised.value)
        assert raised.value.strand == "input_values"
        assert raised.value.json_path == json_path

    def test_error_from_json_text(self, twine):
        with pytest.raises(InvalidValuesContents, match=r"^input_values: \$\.wind\.height: -3 is less than"):
            twine.validate_values("input_values", '{"mode": "fast", "wind": {"height": -3}}')

    def test_unreadable_values_name_the_strand(self, twine):
        with pytest.raises(InvalidValuesJson, match=r"^configuration_values: ") as raised:
            twine.validate_values("configuration_values", "{not json")
        assert raised.value.strand == "configuration_values"

    def test_each_values_strand(self, twine):
        assert twine.validate_values("configuration_values", {"resolution": 3}) == {"resolution": 3}
        assert twine.validate_values("output_values", {"power": 2.0}) == {"power": 2.0}
        with pytest.raises(InvalidValuesContents, match=r"^output_values: \$: 'power' is a required property"):
            twine.validate_values("output_values", {})
        with pytest.raises(InvalidValuesContents, match=r"^configuration_values: \$\.resolution: "):
            twine.validate_values("configuration_values", {"resolution": "high"})

    def test_missing_values_say_they_are_missing(self, twine):
        with pytest.raises(InvalidValuesContents, match=r"input_values: \$: the input values are missing") as raised:
            twine.validate_values("input_values", None)
        assert "None is not of type 'object'" in str(raised.value)

    def test_none_is_validated_when_the_schema_allows_it(self):
        twine = Twine({"input_values_schema": {"type": ["object", "null"]}})
        assert twine.validate_values("input_values", None) is None

    def test_absent_strand_accepts_only_none(self):
        twine = Twine({"output_values_schema": {}})
        assert twine.validate_values("input_values", None) is None
        with pytest.raises(InvalidValuesContents, match="this twine has no input_values_schema, so no input values"):
            twine.validate_values("input_values", {"a": 1})
        with pytest.raises(InvalidValuesContents, match="no configuration_values_schema") as raised:
            twine.validate_values("configuration_values", "{}")
        assert raised.value.strand == "configuration_values"

    def test_long_messages_are_trimmed(self):
        twine = Twine({"input_values_schema": {"type": "object"}})
        with pytest.raises(InvalidValuesContents) as raised:
            twine.validate_values("input_values", list(range(10_000)))
        assert len(str(raised.value)) < 600
        assert str(raised.value).endswith("is not of type 'object'")

    def test_formats_are_checked(self):
        twine = Twine({"input_values_schema": {"type": "string", "format": "ipv4"}})
        assert twine.validate_values("input_values", '"127.0.0.1"') == "127.0.0.1"
        with pytest.raises(InvalidValuesContents, match="is not a 'ipv4'"):
            twine.validate_values("input_values", '"not-an-address"')


class TestCompiledOnce:
    def test_each_schema_is_compiled_once_per_twine(self, monkeypatch):
        made = []
        original = twine_module.SchemaValidator

        def counting(schema):
            made.append(schema)
            return original(schema)

        monkeypatch.setattr(twine_module, "SchemaValidator", counting)
        twine = Twine(
            {
                **TWINE,
                "input_manifest": {"datasets": {"a": {"file_tags_template": {"type": "object"}}}},
            }
        )
        assert len(made) == 5  # four values/monitor schemas and one file tags template
        for _ in range(50):
            twine.validate_values("input_values", VALID_INPUT)
            twine.validate_values("configuration_values", {"resolution": 1})
            twine.validate_monitor_message({"progress": 0.5})
            with pytest.raises(InvalidValuesContents):
                twine.validate_values("input_values", {})
        assert len(made) == 5

    def test_the_same_validator_is_reused(self, twine, monkeypatch):
        validator = twine.schema_validator("input_values")
        assert validator is twine.schema_validator("input_values_schema")
        assert validator.compiled
        calls = []
        original = SchemaValidator.first_error

        def recording(self, instance):
            calls.append((self, instance))
            return original(self, instance)

        monkeypatch.setattr(SchemaValidator, "first_error", recording)
        twine.validate_values("input_values", VALID_INPUT)
        twine.validate_values("input_values", json.dumps(VALID_INPUT))
        assert calls == [(validator, VALID_INPUT), (validator, VALID_INPUT)]
        assert calls[0][0] is calls[1][0] is validator
        assert twine.schema_validator("output_values") is not validator
        assert Twine({}).schema_validator("input_values") is None


# -- monitor messages --


class TestMonitorMessages:
    def test_valid_message(self, twine):
        assert twine.validate_monitor_message({"progress": 0.5}) == {"progress": 0.5}

    def test_invalid_message(self, twine):
        with pytest.raises(
            InvalidMonitorMessage, match=r"^monitor_message: \$\.progress: 'half' is not of type"
        ) as raised:
            twine.validate_monitor_message({"progress": "half"})
        assert raised.value.json_path == "$.progress"
        assert raised.value.strand == "monitor_message"
        assert isinstance(raised.value, InvalidValuesContents)

    def test_without_schema_any_json_is_accepted(self):
        twine = Twine({})
        for message in ({"a": [1, None]}, "a string", 3, None, [True]):
            assert twine.validate_monitor_message(message) == message

    def test_strings_are_not_parsed(self):
        twine = Twine({"monitor_message_schema": {"type": "string"}})
        assert twine.validate_monitor_message('{"a": 1}') == '{"a": 1}'

    def test_not_serialisable(self):
        with pytest.raises(InvalidMonitorMessage, match="JSON-serialisable"):
            Twine({}).validate_monitor_message({"a": object()})
        with pytest.raises(InvalidMonitorMessage, match="JSON-serialisable"):
            Twine({}).validate_monitor_message(float("nan"))


# -- credentials --


class TestCredentials:
    def test_read_from_environment(self, twine, monkeypatch):
        monkeypatch.setenv("WEATHER_API_KEY", "abc")
        monkeypatch.setenv("SECRET_2", "def")
        assert twine.validate_credentials() == {"WEATHER_API_KEY": "abc", "SECRET_2": "def"}

    def test_given_mapping(self, twine):
        environment = {"WEATHER_API_KEY": "abc", "SECRET_2": "def", "OTHER": "x"}
        assert twine.validate_credentials(environment) == {"WEATHER_API_KEY": "abc", "SECRET_2": "def"}

    def test_all_missing_credentials_are_named(self, twine, monkeypatch):
        monkeypatch.delenv("WEATHER_API_KEY", raising=False)
        monkeypatch.setenv("SECRET_2", "")
        with pytest.raises(MissingCredential) as raised:
            twine.validate_credentials()
        message = str(raised.value)
        assert "'WEATHER_API_KEY', 'SECRET_2'" in message
        assert "environment variables" in message
        assert not message.startswith(('"', "'"))  # not KeyError's quoting
        assert raised.value.names == ("WEATHER_API_KEY", "SECRET_2")

    def test_one_missing(self, twine):
        with pytest.raises(MissingCredential, match="'SECRET_2'") as raised:
            twine.validate_credentials({"WEATHER_API_KEY": "abc"})
        assert raised.value.names == ("SECRET_2",)

    def test_missing_credential_is_a_key_error_and_a_plait_exception(self):
        error = MissingCredential("set it", names=("A",))
        assert isinstance(error, KeyError)
        assert isinstance(error, PlaitException)
        assert str(error) == "set it"

    def test_no_credentials_strand(self):
        assert Twine({}).validate_credentials({}) == {}


# -- children --

CHILDREN = [
    {"key": "elevation", "id": "plait/elevation:1.0.0", "backend": {"name": "GCPPubSubBackend", "project": "p"}},
    {"key": "wind_speed", "id": "plait/wind-speed:2.1.0", "backend": {"name": "GCPPubSubBackend"}},
]


class TestChildren:
    def test_valid_children(self, twine, tmp_path):
        assert twine.validate_children(CHILDREN) == CHILDREN
        assert twine.validate_children(json.dumps(CHILDREN)) == CHILDREN
        path = tmp_path / "children.json"
        path.write_text(json.dumps(CHILDREN))
        assert twine.validate_children(str(path)) == CHILDREN

    def test_missing_child(self, twine):
        with pytest.raises(InvalidChildren, match=r"requires the children 'wind_speed', which are missing"):
            twine.validate_children(CHILDREN[:1])

    def test_unexpected_child(self, twine):
        extra = {"key": "solar", "id": "plait/solar:1.0.0", "backend": {"name": "GCPPubSubBackend"}}
        with pytest.raises(InvalidChildren, match=r"the children 'solar' are not in the twine"):
            twine.validate_children([*CHILDREN, extra])

    def test_missing_and_unexpected_are_named_together(self, twine):
        other = {"key": "solar", "id": "plait/solar:1.0.0", "backend": {"name": "GCPPubSubBackend"}}
        with pytest.raises(InvalidChildren) as raised:
            twine.validate_children([CHILDREN[0], other])
        assert "'wind_speed'" in str(raised.value)
        assert "'solar'" in str(raised.value)

    def test_duplicate_children(self, twine):
        with pytest.raises(InvalidChildren, match="'elevation' are given more than once"):
            twine.validate_children([*CHILDREN, CHILDREN[0]])

    @pytest.mark.parametrize(
        ("children", "message"),
        [
            ({"key": "elevation"}, r"children: \$: .* is not of type 'array'"),
            ([{"key": "elevation", "backend": {"name": "x"}}], r"children: \$\[0\]: 'id' is a required property"),
            ([{"key": "elevation", "id": "x", "backend": {}}], r"children: \$\[0\]\.backend: 'name' is a required"),
            ([{"key": "elevation", "id": 3, "backend": {"name": "x"}}], r"\$\[0\]\.id: 3 is not of type 'string'"),
        ],
    )
    def test_malformed_children(self, twine, children, message):
        with pytest.raises(InvalidChildren, match=message):
            twine.validate_children(children)

    def test_children_not_json(self, twine):
        with pytest.raises(InvalidChildren, match=r"children: .*not JSON"):
            twine.validate_children("elevation")

    def test_none_given_but_required(self, twine):
        with pytest.raises(InvalidChildren, match="none were given, but the twine requires the children 'elevation'"):
            twine.validate_children(None)

    def test_absent_strand(self):
        twine = Twine({})
        assert twine.validate_children(None) is None
        with pytest.raises(InvalidChildren, match="this twine has no children strand"):
            twine.validate_children(CHILDREN)

    def test_empty_strand(self):
        twine = Twine({"children": []})
        assert twine.validate_children(None) is None
        assert twine.validate_children([]) == []


# -- exceptions --


class TestExceptions:
    def test_values_exception_attributes_survive_pickling(self):
        error = InvalidValuesContents("input_values: $.a: bad", strand="input_values", json_path="$.a")
        copy = pickle.loads(pickle.dumps(error))
        assert (str(copy), copy.strand, copy.json_path) == (str(error), "input_values", "$.a")

    def test_attributes_default_to_none(self):
        error = InvalidValuesContents("bad")
        assert (error.strand, error.json_path) == (None, None)


def test_importing_plait_twine_imports_no_google_cloud_library():
    # Some installed packages import the bare "google" namespace at start-up (.pth files); only what
    # importing plait.twine adds counts.
    code = (
        "import sys; before = set(sys.modules); import plait.twine; "
        "bad = [name for name in set(sys.modules) - before "
        "if name.startswith('google') or name.startswith('plait.resources')]; "
        "print(sorted(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_schemas_are_package_data():
    root = pathlib.Path(twine_module.__file__).parent / "schemas"
    assert {path.name for path in root.glob("*.json")} >= {"twine.json", "children.json"}
