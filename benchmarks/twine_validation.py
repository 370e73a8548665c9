"""Twine input-values validation rate against DESIGN.md's target (measured and printed, not asserted).

    python benchmarks/twine_validation.py              # 20,000 validations per run, best of 5
    python benchmarks/twine_validation.py -n 50000 -r 7

Target: at least 15,000 validations/s of ``twine.validate_values("input_values", values)`` on the
2-core reference machine, for a realistic twine (an input schema with eight properties, a nested
object, an array of numbers, enums, ``required``, minimum/maximum...). The Twine is made once,
as a service makes it once, so every validation reuses the schema compiled when it was made.

Printed, each the best of several runs (to measure the code rather than the machine's noise):

1. values given as a dict (the target);
2. values given as JSON text (adds ``json.loads``);
3. plain ``jsonschema`` (``validator.is_valid``) on the same schema and values, for comparison;
4. invalid values (a value out of range), which build an error message for each validation.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from jsonschema.validators import validator_for

from plait.exceptions import InvalidValuesContents
from plait.twine import Twine

TARGET = 15_000

INPUT_VALUES_SCHEMA = {
    "type": "object",
    "required": ["turbine_id", "mode", "wind", "heights"],
    "additionalProperties": False,
    "properties": {
        "turbine_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Z]+-[0-9]+$"},
        "mode": {"type": "string", "enum": ["fast", "accurate", "debug"]},
        "wind": {
            "type": "object",
            "required": ["speed", "height"],
            "properties": {
                "speed": {"type": "number", "minimum": 0, "maximum": 100},
                "height": {"type": "number", "minimum": 0},
                "direction": {"type": "number", "minimum": 0, "exclusiveMaximum": 360},
                "profile": {"type": "string", "enum": ["log", "power_law"]},
            },
        },
        "heights": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1, "maxItems": 100},
        "n_iterations": {"type": "integer", "minimum": 1, "maximum": 1000},
        "air_density": {"type": "number", "minimum": 0.5, "maximum": 1.5},
        "include_wake": {"type": "boolean"},
        "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    },
}

TWINE = {
    "title": "Wind resource",
    "input_values_schema": INPUT_VALUES_SCHEMA,
    "output_values_schema": {"type": "object", "properties": {"power": {"type": "number"}}},
    "input_manifest": {"datasets": {"met_mast": {"purpose": "Met mast measurements", "optional": True}}},
    "credentials": [{"name": "WEATHER_API_KEY"}],
}

VALUES = {
    "turbine_id": "T-001",
    "mode": "accurate",
    "wind": {"speed": 12.5, "height": 80, "direction": 270, "profile": "log"},
    "heights": [10, 20, 40, 60, 80, 100, 120, 140, 160, 180],
    "n_iterations": 50,
    "air_density": 1.225,
    "include_wake": True,
    "labels": ["onshore", "class-ii"],
}


def best_rate(count: int, repeats: int, function: Callable[[], object]) -> float:
    """The best rate (calls per second) of ``repeats`` runs of ``count`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            function()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=20_000, help="validations per run")
    parser.add_argument("-r", "--repeats", type=int, default=5, help="runs (the best is reported)")
    arguments = parser.parse_args()
    count, repeats = arguments.count, arguments.repeats

    twine = Twine(TWINE)
    text = json.dumps(VALUES)
    assert twine.validate_values("input_values", VALUES) == VALUES
    assert twine.validate_values("input_values", text) == VALUES
    invalid = {**VALUES, "wind": {**VALUES["wind"], "height": -3}}

    def validate_invalid() -> None:
        try:
            twine.validate_values("input_values", invalid)
        except InvalidValuesContents:
            return
        raise AssertionError("invalid values were accepted")

    cls = validator_for(INPUT_VALUES_SCHEMA)
    plain = cls(INPUT_VALUES_SCHEMA, format_checker=cls.FORMAT_CHECKER)

    dict_rate = best_rate(count, repeats, lambda: twine.validate_values("input_values", VALUES))
    text_rate = best_rate(count, repeats, lambda: twine.validate_values("input_values", text))
    plain_rate = best_rate(max(count // 4, 1), repeats, lambda: plain.is_valid(VALUES))
    invalid_rate = best_rate(max(count // 10, 1), repeats, validate_invalid)

    verdict = "meets" if dict_rate >= TARGET else "MISSES"
    print(f"twine input validation, best of {repeats} runs of {count:,}:")
    print(f"  dict values:      {dict_rate:10,.0f} validations/s  ({verdict} the target of >= {TARGET:,}/s)")
    print(f"  JSON-text values: {text_rate:10,.0f} validations/s")
    print(f"  plain jsonschema: {plain_rate:10,.0f} validations/s  (validator.is_valid, for comparison)")
    print(f"  invalid values:   {invalid_rate:10,.0f} validations/s  (each builds its error message)")
    print(f"  schema compiled to a fast check: {twine.schema_validator('input_values').compiled}")


if __name__ == "__main__":
    main()
