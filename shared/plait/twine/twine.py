"""``Twine``: a service's data interface, loaded and validated once, then used to check every value.

A twine is a JSON object whose keys are its *strands*, all optional:

- ``configuration_values_schema``, ``input_values_schema``, ``output_values_schema``,
  ``monitor_message_schema``: JSON Schemas (checked against the metaschema their ``$schema``
  names, Draft 2020-12 by default);
- ``configuration_manifest``, ``input_manifest``, ``output_manifest``:
  ``{"datasets": {"<key>": {"purpose": str, "optional": bool, "file_tags_template": <JSON Schema>}}}``
  (dataset keys match ``^[a-z0-9][a-z0-9_]*$``; ``optional`` defaults to false);
- ``children``: ``[{"key": str, "purpose": str, "notes": str}]`` with unique keys;
- ``credentials``: ``[{"name": "^[A-Z][A-Z0-9_]*$", "purpose": str}]`` with unique names.

A twine may also have ``$schema``, ``title``, ``description`` and ``name``; any other top-level
key is an error (a misspelt strand would otherwise be silently ignored). The twine itself is
validated against ``schemas/twine.json``, bundled with the package: nothing is fetched at run time.

Every schema in the twine is compiled once, when the Twine is made, and reused for every
validation (see ``plait.twine.validators``).

Decisions where the reference is silent (see also the docstrings below):

- ``Twine(twine)`` returns the same Twine (it is immutable in use): no re-validation.
- A ``str`` twine is JSON if it starts (after whitespace) with ``{``; otherwise it is a path.
- How values are read is ``load_values``'s rule (a ``str`` is a path only if it ends in ``.json``
  and the file exists; otherwise it must be JSON text, so ``'"hello"'`` is the string ``hello``
  and ``'hello'`` is an error).
- Values given for a strand the twine does not have are an error, not silently dropped.
- A manifest may hold only the datasets its strand names (extra keys are an error), and must
  hold every dataset not marked ``optional``.
- A credential set to the empty string counts as missing.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from plait import hashing
from plait.exceptions import (
    InvalidChildren,
    InvalidInputException,
    InvalidManifestContents,
    InvalidMonitorMessage,
    InvalidTwine,
    InvalidValuesContents,
    InvalidValuesJson,
    MissingCredential,
)
from plait.twine.validators import SchemaProblem, SchemaValidator, describe

if TYPE_CHECKING:
    from plait.resources.manifest import Manifest

#: The strands holding a JSON Schema for values.
SCHEMA_STRANDS = (
    "configuration_values_schema",
    "input_values_schema",
    "output_values_schema",
    "monitor_message_schema",
)

#: The strands describing a manifest's datasets.
MANIFEST_STRANDS = ("configuration_manifest", "input_manifest", "output_manifest")

#: Every strand a twine may have.
STRAND_NAMES = (*SCHEMA_STRANDS, *MANIFEST_STRANDS, "children", "credentials")

#: The values ``Twine.validate_values`` checks, each against the strand ``<name>_schema``.
VALUES_STRANDS = ("configuration_values", "input_values", "output_values")

#: Top-level keys a twine may have besides its strands (they describe the twine; never validated against).
DESCRIPTIVE_KEYS = ("$schema", "title", "description", "name")

#: The bundled JSON Schemas (package data; read from the installed package, never fetched).
SCHEMAS_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")


@functools.cache
def load_bundled_schema(name: str) -> dict:
    """One of the JSON Schemas bundled in ``plait/twine/schemas`` (``"twine"`` or ``"children"``)."""
    with open(os.path.join(SCHEMAS_DIRECTORY, f"{name}.json"), encoding="utf-8") as file:
        return json.load(file)


@functools.cache
def _bundled_validator(name: str) -> SchemaValidator:
    return SchemaValidator(load_bundled_schema(name))


# -- reading JSON --


def load_values(source: Any, strand: str | None = None) -> Any:
    """Read values (any JSON value) from the forms a caller may give them in.

    - ``None`` is None (no values);
    - a ``dict``, ``list``, ``int``, ``float`` or ``bool`` is taken as it is (it is already parsed);
    - a ``str`` that ends in ``.json`` and names an existing file is that file's JSON;
    - any other ``str`` (or ``bytes``) is parsed as JSON text. So ``'{"a": 1}'`` is a dict, ``'3'``
      is 3, ``'"hello"'`` is the string ``hello``, and ``'hello'`` (not JSON) is an error;
    - an ``os.PathLike`` is the JSON of the file it names (whatever its extension);
    - an open file-like object (anything with ``read()``) is the JSON it holds.

    ``NaN`` and ``Infinity`` are rejected: they are not JSON.

    :param source: the values, in one of the forms above
    :param strand: the strand the values are for (e.g. ``"input_values"``), to name it in errors
    :raise plait.exceptions.InvalidValuesJson: if the values cannot be read as JSON; the message says
        what was expected
    """
    if source is None or isinstance(source, dict | list | int | float):
        return source
    prefix = _prefix(strand)
    if isinstance(source, str):
        if source.lower().endswith(".json") and os.path.isfile(source):
            return _parse_json(_read_file(source, strand), strand, f"the file {source}")
        try:
            return _parse_json_text(source)
        except ValueError as error:
            if source.lower().endswith(".json"):
                raise InvalidValuesJson(
                    f"{prefix}there is no file {source!r} (and the text is not JSON either): give an existing .json "
                    "file, JSON text or already-parsed values.",
                    strand=strand,
                ) from None
            hint = "" if source.lstrip().startswith(("{", "[")) else " (A JSON string needs its quotes: '\"hello\"'.)"
            raise InvalidValuesJson(
                f"{prefix}expected JSON text, a path to a .json file, an open file or already-parsed values, but "
                f"{_abbreviate(source)!r} is not JSON ({error}).{hint}",
                strand=strand,
            ) from None
    if isinstance(source, bytes | bytearray):
        return _parse_json(source, strand, "the bytes given")
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        return _parse_json(_read_file(path, strand), strand, f"the file {path}")
    if callable(getattr(source, "read", None)):
        try:
            text = source.read()
        except (OSError, ValueError) as error:
            raise InvalidValuesJson(f"{prefix}could not read the file object given ({error}).", strand=strand) from None
        return _parse_json(text, strand, f"the file {getattr(source, 'name', 'object given')}")
    raise InvalidValuesJson(
        f"{prefix}expected JSON text, a path to a .json file, an open file or already-parsed values (dict, list, "
        f"number, bool or None), not {type(source).__name__}.",
        strand=strand,
    )


def _read_file(path: str, strand: str | None) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidValuesJson(f"{_prefix(strand)}could not read {path} ({error}).", strand=strand) from None


def _parse_json(text: str | bytes, strand: str | None, what: str) -> Any:
    try:
        return _parse_json_text(text)
    except ValueError as error:
        raise InvalidValuesJson(f"{_prefix(strand)}{what} is not valid JSON ({error}).", strand=strand) from None


def _prefix(strand: str | None) -> str:
    return f"{strand}: " if strand else ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json_text(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _abbreviate(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def _json_path(path: tuple | list) -> str:
    """A twine location in dotted form: ``input_manifest.datasets.met_mast.optional``, ``children[1].key``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _quoted(names: Any) -> str:
    return ", ".join(repr(name) for name in names) or "none"


def _readable(strand: str) -> str:
    return strand.replace("_", " ")


# -- the twine --


class Twine:
    """A service's twine, validated and with its schemas compiled, ready to check values.

    :param source: a path to a ``twine.json`` file, the twine as JSON text, a dict, an open file,
        or a Twine (which is returned as it is)
    :raise plait.exceptions.InvalidTwine: if the twine cannot be read, is not JSON, or breaks the twine
        schema (the message names the problem and its place, e.g.
        ``input_manifest.datasets.met_mast.optional: 3 is not of type 'boolean'``)
    """

    def __new__(cls, source: Any) -> Twine:
        if isinstance(source, Twine):
            return source
        return super().__new__(cls)

    def __init__(self, source: Any) -> None:
        if source is self:  # Twine(twine) is twine: already made
            return
        document, origin = _load_twine_document(source)
        self._origin = origin
        self._source: dict[str, Any] = document
        self._check_document()
        self._hash_value = hashing.hash_json(document)
        # Compiled once, here, and reused for every validation.
        self._validators: dict[str, SchemaValidator] = {
            strand: self._compile(document[strand], (strand,)) for strand in SCHEMA_STRANDS if strand in document
        }
        self._file_tags_validators: dict[tuple[str, str], SchemaValidator] = {
            (strand, key): self._compile(dataset["file_tags_template"], (strand, "datasets", key, "file_tags_template"))
            for strand in MANIFEST_STRANDS
            if strand in document
            for key, dataset in document[strand]["datasets"].items()
            if "file_tags_template" in dataset
        }

    # -- loading --

    def _fail(self, message: str) -> InvalidTwine:
        return InvalidTwine(f"Invalid twine{self._origin}: {message}")

    def _check_document(self) -> None:
        document = self._source
        unknown = [key for key in document if key not in STRAND_NAMES and key not in DESCRIPTIVE_KEYS]
        if unknown:
            import difflib

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), STRAND_NAMES, n=1)
                hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
            raise self._fail(
                f"unknown top-level key(s) {', '.join(hints)}. A twine's strands are {_quoted(STRAND_NAMES)}; it may "
                f"also have {_quoted(DESCRIPTIVE_KEYS)}."
            )

        error = _bundled_validator("twine").first_error(document)
        if error is not None:
            location = _json_path(list(error.absolute_path))
            _, message = describe(error)
            raise self._fail(f"{location}: {message}" if location else message)

        for strand, field in (("children", "key"), ("credentials", "name")):
            seen = set()
            for index, item in enumerate(document.get(strand, ())):
                if item[field] in seen:
                    raise self._fail(
                        f"{strand}[{index}].{field}: {item[field]!r} appears more than once; each {strand[:-1]}'s "
                        f"{field} must be unique."
                    )
                seen.add(item[field])

    def _compile(self, schema: Any, path: tuple) -> SchemaValidator:
        try:
            return SchemaValidator(schema)
        except SchemaProblem as problem:
            raise self._fail(
                f"{_json_path((*path, *problem.path))}: not a valid JSON Schema: {problem.message}"
            ) from None

    # -- the twine itself --

    @property
    def source(self) -> dict[str, Any]:
        """The twine as a dict (the Twine's own: do not change it; ``to_primitive()`` gives a copy)."""
        return self._source

    @property
    def available_strands(self) -> frozenset[str]:
        """The names of the strands this twine has."""
        return frozenset(strand for strand in STRAND_NAMES if strand in self._source)

    def has_strand(self, name: str) -> bool:
        """Does the twine have this strand? (``name`` is a strand name, e.g. ``"input_values_schema"``)"""
        return name in STRAND_NAMES and name in self._source

    def strand(self, name: str) -> Any:
        """A strand's contents (the twine's own: do not change them), or None if the twine does not have it.

        :raise plait.exceptions.InvalidInputException: if ``name`` is not a strand name
        """
        if name not in STRAND_NAMES:
            raise InvalidInputException(f"{name!r} is not a strand; the strands are {_quoted(STRAND_NAMES)}.")
        return self._source.get(name)

    def schema_validator(self, strand: str) -> SchemaValidator | None:
        """The compiled validator of a schema strand (``"input_values"`` or ``"input_values_schema"`` ...),
        or None if the twine does not have the strand. The same object is used for every validation."""
        return self._validators.get(_schema_strand(strand))

    def to_primitive(self) -> dict[str, Any]:
        """A copy of the twine as a dict."""
        return json.loads(json.dumps(self._source))

    @property
    def hash_value(self) -> str:
        """BLAKE3 of the twine's canonical JSON (``plait.hashing.hash_json``)."""
        return self._hash_value

    def __reduce__(self) -> tuple:
        # Compiled validators cannot be pickled: a Twine is pickled as its source, and recompiled.
        return (Twine, (self._source,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Twine):
            return NotImplemented
        return self._hash_value == other._hash_value

    def __hash__(self) -> int:
        return hash(self._hash_value)

    def __repr__(self) -> str:
        return f"<Twine({', '.join(strand for strand in STRAND_NAMES if strand in self._source)})>"

    # -- values --

    def validate_values(self, strand: str, values: Any) -> Any:
        """Read values (see ``load_values``) and validate them against the strand's schema.

        :param strand: ``"configuration_values"``, ``"input_values"`` or ``"output_values"`` (the
            ``..._schema`` names are accepted too)
        :param values: the values: already parsed, JSON text, a path to a ``.json`` file, an open
            file, or None
        :return: the parsed values (None if none were given and none are required)
        :raise plait.exceptions.InvalidValuesContents: if the values break the schema (the message
            names the strand and the JSON path of the first fault; ``.strand`` and ``.json_path``
            hold them), or values are given for a strand the twine does not have
        :raise plait.exceptions.InvalidValuesJson: if the values cannot be read as JSON
        """
        schema_strand = _SCHEMA_OF_VALUES.get(strand) or _schema_strand(strand)
        name = schema_strand[: -len("_schema")]
        validator = self._validators.get(schema_strand)
        if validator is None:
            if values is None:
                return None
            raise InvalidValuesContents(
                f"{name}: this twine has no {schema_strand}, so no {_readable(name)} are accepted; give none, or "
                f"add {schema_strand} to the twine.",
                strand=name,
            )
        if type(values) is not dict:
            values = load_values(values, strand=name)
        error = validator.first_error(values)
        if error is None:
            return values
        json_path, message = describe(error)
        if values is None:
            message = (
                f"the {_readable(name)} are missing (None), but the twine's {schema_strand} requires them: {message}"
            )
        raise InvalidValuesContents(f"{name}: {json_path}: {message}", strand=name, json_path=json_path)

    def validate_monitor_message(self, data: Any) -> Any:
        """Check a monitor message against the twine's ``monitor_message_schema``.

        ``data`` is the message itself (any JSON-serialisable value); a ``str`` is a string value, not
        parsed as JSON. Without a ``monitor_message_schema`` any JSON-serialisable value is accepted.

        :return: ``data``
        :raise plait.exceptions.InvalidMonitorMessage: if the message breaks the schema or is not
            JSON-serialisable
        """
        try:
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidMonitorMessage(
                f"monitor_message: a monitor message must be JSON-serialisable ({error}).", strand="monitor_message"
            ) from None
        validator = self._validators.get("monitor_message_schema")
        if validator is None:
            return data
        error = validator.first_error(data)
        if error is None:
            return data
        json_path, message = describe(error)
        raise InvalidMonitorMessage(
            f"monitor_message: {json_path}: {message}", strand="monitor_message", json_path=json_path
        )

    # -- manifests --

    def validate_manifest(self, strand: str, manifest: Any) -> Manifest | None:
        """Check a manifest against a manifest strand and return it as a ``Manifest``.

        The keys are checked before any dataset is opened, so a wrong manifest costs no storage
        access. Then, for each dataset whose strand entry has a ``file_tags_template``, every file's
        tags (as a plain dict) must satisfy it.

        :param strand: ``"configuration_manifest"``, ``"input_manifest"`` or ``"output_manifest"``
        :param manifest: a ``plait.resources.Manifest``, a serialised manifest (dict), its JSON text,
            a path to a ``.json`` file holding it, an open file, or None
        :return: the manifest (None if none was given and none is required)
        :raise plait.exceptions.InvalidManifestContents: if a manifest is given for a strand the twine
            does not have, or none is given but one is required, or datasets the strand requires are
            missing, or the manifest has datasets the strand does not name, or a file's tags break
            its dataset's ``file_tags_template``
        """
        if strand not in MANIFEST_STRANDS:
            raise InvalidInputException(f"{strand!r} is not a manifest strand; they are {_quoted(MANIFEST_STRANDS)}.")
        readable = _readable(strand)
        spec = self._source.get(strand)
        if spec is None:
            if manifest is None:
                return None
            raise InvalidManifestContents(
                f"{strand}: this twine has no {strand} strand, so no {readable} is accepted; give none, or add "
                f"{strand} to the twine.",
                strand=strand,
            )

        datasets = spec["datasets"]
        required = [key for key, dataset in datasets.items() if not dataset.get("optional", False)]
        if manifest is None:
            if not required:
                return None
            raise InvalidManifestContents(
                f"{strand}: the {readable} is missing, but the twine requires the dataset(s) {_quoted(required)}.",
                strand=strand,
            )

        keys, build = self._read_manifest(strand, manifest)
        missing = [key for key in required if key not in keys]
        unexpected = sorted(key for key in keys if key not in datasets)
        problems = []
        if missing:
            problems.append(
                f"the {readable} is missing the dataset(s) {_quoted(missing)} that the twine requires "
                f"(it has: {_quoted(sorted(keys))})"
            )
        if unexpected:
            problems.append(
                f"the {readable} has dataset(s) {_quoted(unexpected)} that the twine's {strand} does not name "
                f"(it names: {_quoted(datasets)})"
            )
        if problems:
            raise InvalidManifestContents(f"{strand}: {'; and '.join(problems)}.", strand=strand)

        manifest = build()
        for key, dataset in manifest.datasets.items():
            validator = self._file_tags_validators.get((strand, key))
            if validator is None:
                continue
            for datafile in dataset.files:
                error = validator.first_error(datafile.tags.to_primitive())
                if error is not None:
                    json_path, message = describe(error)
                    raise InvalidManifestContents(
                        f"{strand}: dataset {key!r}, file {datafile.name!r}: its tags do not match the dataset's "
                        f"file_tags_template: {json_path}: {message}",
                        strand=strand,
                        json_path=json_path,
                    )
        return manifest

    def _read_manifest(self, strand: str, manifest: Any) -> tuple[list[str], Any]:
        """The manifest's dataset keys, and a function that makes the Manifest (opening its datasets)."""
        from plait.resources.manifest import Manifest

        if isinstance(manifest, Manifest):
            return list(manifest.datasets), lambda: manifest
        if (
            isinstance(manifest, str)
            and not manifest.lstrip().startswith("{")
            and not manifest.lower().endswith(".json")
        ):
            raise InvalidManifestContents(
                f"{strand}: expected a Manifest, a serialised manifest (dict), its JSON text or a path to a .json "
                f"file, not {_abbreviate(manifest)!r}.",
                strand=strand,
            )
        try:
            primitive = load_values(manifest, strand=strand)
        except InvalidValuesJson as error:
            raise InvalidManifestContents(str(error), strand=strand) from None
        if not isinstance(primitive, dict) or not isinstance(primitive.get("datasets", {}), dict):
            raise InvalidManifestContents(
                f"{strand}: a serialised manifest is a JSON object with a 'datasets' object mapping each key to a "
                f"dataset (a path or a serialised dataset), not {_abbreviate(repr(primitive))}.",
                strand=strand,
            )

        if isinstance(manifest, str | os.PathLike) and os.path.isfile(manifest):
            # A manifest file's relative dataset paths are relative to the file, not the current directory.
            from plait.resources.manifest import rebase_relative_dataset_paths

            rebase_relative_dataset_paths(primitive, os.path.dirname(os.path.abspath(manifest)))

        def build() -> Manifest:
            try:
                return Manifest.deserialise(primitive)
            except InvalidInputException as error:
                raise InvalidManifestContents(f"{strand}: {error}", strand=strand) from error

        return list(primitive.get("datasets", {})), build

    # -- credentials and children --

    def validate_credentials(self, environment: Mapping[str, str] | None = None) -> dict[str, str]:
        """The values of the credentials the twine names, read from environment variables.

        :param environment: where to read them (default: ``os.environ``)
        :return: each credential's name mapped to its value (empty if the twine names none)
        :raise plait.exceptions.MissingCredential: naming every credential not set (or set to "")
        """
        environment = os.environ if environment is None else environment
        names = [credential["name"] for credential in self._source.get("credentials", ())]
        missing = [name for name in names if not environment.get(name)]
        if missing:
            raise MissingCredential(
                f"The twine needs the credential(s) {_quoted(missing)}, which are not set: set them as environment "
                f"variables (e.g. export {missing[0]}=...) before running the service.",
                names=missing,
            )
        return {name: environment[name] for name in names}

    def validate_children(self, children: Any) -> list[dict[str, Any]] | None:
        """Check the children an app is configured with against the twine's ``children`` strand.

        :param children: a list of ``{"key": str, "id": str, "backend": {"name": str, ...}}``, in
            any form ``load_values`` reads, or None
        :return: the children (None if none were given and none are required)
        :raise plait.exceptions.InvalidChildren: if children are given but the twine has no children
            strand, or they are malformed, or their keys are not exactly the strand's (the message
            names the missing and unexpected keys)
        """
        strand = self._source.get("children")
        if strand is None:
            if children is None:
                return None
            raise InvalidChildren(
                "children: this twine has no children strand, so no children are accepted; give none, or add a "
                "children strand to the twine."
            )
        expected = [child["key"] for child in strand]
        if children is None:
            if not expected:
                return None
            raise InvalidChildren(
                f"children: none were given, but the twine requires the children {_quoted(expected)}."
            )
        try:
            children = load_values(children, strand="children")
        except InvalidValuesJson as error:
            raise InvalidChildren(str(error)) from None

        error = _bundled_validator("children").first_error(children)
        if error is not None:
            json_path, message = describe(error)
            raise InvalidChildren(
                f"children: {json_path}: {message} (each child is {{'key': str, 'id': str, 'backend': {{'name': "
                "str, ...}}})"
            )
        keys = [child["key"] for child in children]
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        missing = [key for key in expected if key not in keys]
        unexpected = sorted({key for key in keys if key not in expected})
        problems = []
        if missing:
            problems.append(f"the twine requires the children {_quoted(missing)}, which are missing")
        if unexpected:
            problems.append(f"the children {_quoted(unexpected)} are not in the twine (it names: {_quoted(expected)})")
        if duplicated:
            problems.append(f"the children {_quoted(duplicated)} are given more than once")
        if problems:
            raise InvalidChildren(f"children: {'; '.join(problems)}.")
        return children


_SCHEMA_OF_VALUES = {strand: f"{strand}_schema" for strand in VALUES_STRANDS}


def _schema_strand(strand: str) -> str:
    """``input_values`` or ``input_values_schema`` → ``input_values_schema`` (also ``monitor_message``)."""
    name = strand if strand.endswith("_schema") else f"{strand}_schema"
    if name not in SCHEMA_STRANDS:
        raise InvalidInputException(
            f"{strand!r} is not a values strand; use one of {_quoted(VALUES_STRANDS)} (or their '_schema' names)."
        )
    return name


def _load_twine_document(source: Any) -> tuple[dict[str, Any], str]:
    """The twine as a fresh JSON dict, and a description of where it came from (for messages)."""
    origin = ""
    if isinstance(source, dict):
        try:
            text = json.dumps(source, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidTwine(f"Invalid twine: it is not JSON-serialisable ({error}).") from None
        document = json.loads(text)  # a deep copy, in plain JSON types
    else:
        if isinstance(source, bytes | bytearray):
            text = source.decode("utf-8", errors="replace")
        elif isinstance(source, str) and source.lstrip().startswith(("{", "[")):
            text = source
        elif isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            origin = f" ({path})"
            try:
                with open(path, encoding="utf-8") as file:
                    text = file.read()
            except FileNotFoundError:
                raise InvalidTwine(
                    f"Invalid twine: there is no twine file {path!r} (a twine is a path to a JSON file, JSON text, a "
                    "dict or a Twine)."
                ) from None
            except (OSError, UnicodeDecodeError) as error:
                raise InvalidTwine(f"Invalid twine{origin}: the file cannot be read ({error}).") from None
        elif callable(getattr(source, "read", None)):
            text = source.read()
            origin = f" ({getattr(source, 'name', 'file object')})"
        else:
            raise InvalidTwine(
                f"Invalid twine: expected a path to a JSON file, JSON text, a dict or a Twine, not {type(source).__name__}."
            )
        try:
            document = _parse_json_text(text)
        except ValueError as error:
            raise InvalidTwine(f"Invalid twine{origin}: it is not valid JSON ({error}).") from None
    if not isinstance(document, dict):
        raise InvalidTwine(f"Invalid twine{origin}: a twine is a JSON object, not {type(document).__name__}.")
    return document, origin
