"""JSON Schemas compiled once and reused: checking a schema, compiling it, finding the first error.

- A schema is checked against the metaschema its ``$schema`` names (Draft 2020-12 if it names
  none); a ``$schema`` that is not a JSON Schema draft ``jsonschema`` knows is an error, rather
  than silently validating with another draft.
- Nothing is fetched at run time: validators get an empty ``referencing`` registry (plus the
  drafts' own metaschemas), and every ``$ref`` is resolved when the schema is compiled, so a
  reference to a remote schema fails when the twine is loaded, not when values arrive.
- Validation first runs a fast check compiled by ``fastjsonschema``; only if that does not
  accept the instance does ``jsonschema`` run, and its answer (and ``best_match`` error) is final.
  ``fastjsonschema`` implements Draft 7, so a schema gets a fast check only if every keyword in
  it means the same in Draft 7 as in the schema's own draft, and Python's equality cannot make
  the fast check accept what ``jsonschema`` rejects (see ``fast_check_problem``). Other schemas
  are validated by ``jsonschema`` alone: correct, but slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema.validators import validator_for
from jsonschema_specifications import REGISTRY as _SPECIFICATIONS

#: Resolves only what the schema itself holds (and the drafts' metaschemas): never the network.
NO_REMOTE_REFERENCES: referencing.Registry = referencing.Registry()

#: The longest message (in characters) kept from a jsonschema error; instances can be huge.
MAXIMUM_MESSAGE_LENGTH = 400


class SchemaProblem(ValueError):
    """A schema is not a valid JSON Schema; ``path`` is where in the schema (a tuple of keys)."""

    def __init__(self, message: str, path: Iterable[str | int] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = tuple(path)


class SchemaValidator:
    """One JSON Schema, checked and compiled once, to validate any number of instances.

    :param schema: a JSON Schema (a dict or a boolean)
    :raise SchemaProblem: if the schema is not valid under its metaschema, or names an unknown
        ``$schema``, or has a ``$ref`` that cannot be resolved without fetching anything
    """

    __slots__ = ("_fast", "schema", "validator")

    def __init__(self, schema: Any) -> None:
        cls = validator_class(schema)
        try:
            cls.check_schema(schema)
        except SchemaError as error:
            raise SchemaProblem(_trim(error.message), error.absolute_path) from None
        self.schema = schema
        self.validator = cls(schema, format_checker=cls.FORMAT_CHECKER, registry=NO_REMOTE_REFERENCES)
        _check_references(schema, cls)
        self._fast = compile_fast_check(schema)

    def is_valid(self, instance: Any) -> bool:
        """Is the instance valid? (the fast check, then ``jsonschema`` if the fast check is unsure)"""
        return self.first_error(instance) is None

    def first_error(self, instance: Any) -> ValidationError | None:
        """The most relevant validation error (``jsonschema.exceptions.best_match``), or None if valid.

        The fast check runs first; if it accepts the instance, ``jsonschema`` does not run at all.
        (For an instance the fast check does not accept, asking ``jsonschema`` for its errors
        directly costs no more than ``is_valid`` when the instance is valid, and avoids a second
        walk when it is not.)
        """
        fast = self._fast
        if fast is not None and fast(instance):
            return None
        try:
            return best_match(self.validator.iter_errors(instance))
        except referencing.exceptions.Unresolvable as error:  # a reference found only at run time
            return ValidationError(
                f"the schema's reference {getattr(error, 'ref', '?')!r} cannot be resolved (nothing is fetched)"
            )
        except (TypeError, ValueError, OverflowError) as error:
            # jsonschema itself fails on some values that are not JSON (non-string keys, infinities...).
            return ValidationError(f"the value cannot be validated, as it is not plain JSON ({error})")

    @property
    def compiled(self) -> bool:
        """True if the schema has a fast check (else every validation runs ``jsonschema``)."""
        return self._fast is not None


def validator_class(schema: Any) -> type:
    """The ``jsonschema`` validator class for a schema's ``$schema`` (Draft 2020-12 if it has none).

    :raise SchemaProblem: if ``$schema`` names a draft ``jsonschema`` does not know
    """
    if isinstance(schema, dict) and "$schema" in schema:
        cls = validator_for(schema, default=None)
        if cls is None:
            raise SchemaProblem(
                f"$schema {schema['$schema']!r} is not a JSON Schema draft plait knows; use e.g. "
                "'https://json-schema.org/draft/2020-12/schema' or 'http://json-schema.org/draft-07/schema#', "
                "or leave $schema out for Draft 2020-12",
                ("$schema",),
            )
        return cls
    if not isinstance(schema, dict | bool):
        raise SchemaProblem(f"a JSON Schema is an object or a boolean, not {type(schema).__name__}")
    return Draft202012Validator


def describe(error: ValidationError) -> tuple[str, str]:
    """An error's JSON path (``$.wind.height``) and its message (trimmed to a readable length)."""
    return error.json_path, _trim(error.message)


def _trim(message: str) -> str:
    if len(message) <= MAXIMUM_MESSAGE_LENGTH:
        return message
    half = MAXIMUM_MESSAGE_LENGTH // 2
    return f"{message[:half]} ... {message[-half:]}"


def _check_references(schema: Any, cls: type) -> None:
    """Resolve every ``$ref`` in the schema now, so an unresolvable one fails at load time."""
    references = list(_references(schema, base="", path=()))
    if not references:
        return
    specification = referencing.jsonschema.specification_with(
        cls.META_SCHEMA.get("$id", cls.META_SCHEMA.get("id", "")),
        default=referencing.jsonschema.DRAFT202012,
    )
    resource = specification.create_resource(schema)
    registry = referencing.jsonschema.EMPTY_REGISTRY.combine(_SPECIFICATIONS).with_resource(
        resource.id() or "", resource
    )
    registry = registry.crawl()
    resolver = registry.resolver(base_uri=resource.id() or "")
    for base, reference, path in references:
        try:
            resolver.lookup(urljoin(base, reference) if base else reference)
        except referencing.exceptions.Unresolvable:
            if reference.startswith("#"):
                raise SchemaProblem(f"the $ref {reference!r} points to nothing in this schema", path) from None
            raise SchemaProblem(
                f"the $ref {reference!r} cannot be resolved: plait fetches no schemas at run time, so put the "
                "referenced schema in this schema's '$defs' and refer to it as '#/$defs/<name>'",
                path,
            ) from None


def _references(node: Any, base: str, path: tuple) -> Iterable[tuple[str, str, tuple]]:
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            base = urljoin(base, node["$id"]) if base else node["$id"]
        if isinstance(node.get("$ref"), str):
            yield base, node["$ref"], (*path, "$ref")
        for key, value in node.items():
            if key not in ("enum", "const", "default", "examples"):
                yield from _references(value, base, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, base, (*path, index))


# -- the fast check --

#: Keywords that mean the same in Draft 7 (what fastjsonschema implements) and in Drafts 6 to
#: 2020-12, with values fastjsonschema checks exactly as jsonschema does. Annotations are included.
_SAME_IN_EVERY_DRAFT = frozenset(
    {
        "type",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "contains",
        "maxProperties",
        "minProperties",
        "required",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "items",
        "enum",
        "const",
        "$ref",
        "$defs",
        "definitions",
        "$schema",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
    }
)

#: Keywords that exist in some draft but not with Draft 7's meaning: a schema using any of them is
#: validated by jsonschema alone. ``format`` is here because the two libraries check formats
#: differently (jsonschema only those whose checkers are installed), and ``multipleOf`` because
#: they round large floats differently (fastjsonschema takes 1e20 to be a multiple of 3).
_DIFFERENT_OR_UNKNOWN_TO_DRAFT_7 = frozenset(
    {
        "format",
        "multipleOf",
        "prefixItems",
        "additionalItems",
        "unevaluatedItems",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "minContains",
        "maxContains",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$recursiveAnchor",
        "$vocabulary",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMAS = ("additionalProperties", "propertyNames", "contains", "not", "if", "then", "else", "items")
_FAST_DRAFTS = (
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-07/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
)


def fast_check_problem(schema: Any, root: bool = True) -> str | None:
    """Why a schema cannot have a fast check (None if it can)."""
    if isinstance(schema, bool):
        return None
    if not isinstance(schema, dict):
        return "not a schema"
    if root and "$schema" in schema and not str(schema["$schema"]).rstrip("#").startswith(_FAST_DRAFTS):
        return f"$schema {schema['$schema']!r} (only Drafts 6 to 2020-12 are compiled)"
    if not root and "$id" in schema:
        return "a nested $id"
    for key, value in schema.items():
        if key in _DIFFERENT_OR_UNKNOWN_TO_DRAFT_7:
            return f"the keyword {key!r}"
        if key == "$id" and root:
            continue
        if key not in _SAME_IN_EVERY_DRAFT:
            continue  # unknown keywords are ignored by both libraries
        if key == "$ref" and (not isinstance(value, str) or not value.startswith("#")):
            return "a $ref outside the schema"
        if key == "$ref" and set(schema) - {"$ref", "$comment", "title", "description", "$defs", "definitions"}:
            return "$ref beside other keywords (Draft 7 ignores them)"
        if key in ("enum", "const"):
            values = value if key == "enum" else [value]
            # True == 1 and 0 == False in Python: only strings and null compare exactly alike.
            if not isinstance(values, list) or any(item is not None and not isinstance(item, str) for item in values):
                return f"{key} with values other than strings and null"
        if key == "items" and not isinstance(value, dict | bool):
            return "items as a list (a tuple in Draft 7)"
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            children: list = list(value.values())
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            children = value
        elif key in _SUBSCHEMAS:
            children = [value]
        else:
            children = []
        for child in children:
            problem = fast_check_problem(child, root=False)
            if problem:
                return problem
    return None


def _refuse(uri: str) -> Any:
    raise SchemaProblem(f"plait fetches no schemas, so the reference {uri!r} cannot be followed")


_REFUSE_EVERY_URL = {scheme: _refuse for scheme in ("", "http", "https", "file", "ftp", "urn", "data")}


def compile_fast_check(schema: Any) -> Any:
    """A function that returns True only for instances the schema surely accepts (None if the
    schema cannot be compiled; see ``fast_check_problem``)."""
    if fast_check_problem(schema) is not None:
        return None
    import fastjsonschema

    if isinstance(schema, dict):
        # Its references are all "#..." (checked above) and were resolved when the schema was
        # loaded; without its $id, fastjsonschema resolves them within the schema, never remotely.
        schema = {key: value for key, value in schema.items() if key != "$id"}
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    try:
        # No defaults written into instances, no formats, and nothing fetched, whatever the URL.
        compiled = fastjsonschema.compile(schema, handlers=_REFUSE_EVERY_URL, use_default=False, use_formats=False)
    except Exception:
        return None

    def check(instance: Any) -> bool:
        if not is_plain_json(instance):
            return False  # tuples, Decimals, NaN...: the libraries disagree on these, so jsonschema decides
        try:
            compiled(instance)
        except Exception:  # invalid, or a value fastjsonschema cannot handle: let jsonschema decide
            return False
        return True

    return check


def is_plain_json(instance: Any) -> bool:
    """Is the value made only of dicts with string keys, lists, strings, numbers (finite), booleans
    and None, as parsed JSON is?"""
    pending = [instance]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return False
                pending.append(item)
        elif kind is list:
            pending.extend(value)
        elif kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                return False
        elif kind not in (str, int, bool, type(None)):
            return False
    return True
