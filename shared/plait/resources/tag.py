"""Tags: a validated mapping of tag key to JSON value, attached to datafiles, datasets and manifests.

A tag key matches ``^[a-z0-9][a-z0-9_]*(?<!_)$`` (lowercase letters, digits and underscores, starting
with a letter or digit and not ending with an underscore). A tag value is any JSON value: a string,
a finite number, a boolean, ``None``, or a list/tuple/dict (with string keys) of these.

Every way of adding items (the constructor, ``[]=``, ``update``, ``|=``, ``setdefault``) validates
*all* the new items before storing any, so a failed update leaves the ``TagDict`` unchanged.
"""

from __future__ import annotations

import json
import math
import re
from collections import UserDict
from collections.abc import Iterable, Mapping
from typing import Any

from plait.exceptions import InvalidTagException

__all__ = ["TAG_KEY_PATTERN", "TagDict"]

TAG_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*(?<!_)$")

_KEY_RULE = (
    "tag keys must be lowercase letters, digits and underscores, start with a letter or digit "
    "and not end with an underscore (e.g. 'sample_rate')"
)
_VALUE_RULE = (
    "tag values must be JSON values: strings, finite numbers, booleans, None, or lists and "
    "dicts (with string keys) of these"
)
_SCALAR_TYPES = (str, int, type(None))  # bool is a subclass of int


def _validate_key(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidTagException(f"Tag key {key!r} ({type(key).__name__}) is invalid: {_KEY_RULE}.")
    # ``fullmatch`` so that a trailing newline (which ``$`` would let through) is rejected.
    if TAG_KEY_PATTERN.fullmatch(key) is None:
        raise InvalidTagException(f"Tag key {key!r} is invalid: {_KEY_RULE}.")
    return key


def _find_invalid_json(value: Any, where: str, ancestors: set[int]) -> tuple[str, Any] | None:
    """Return ``(location, offending value)`` for the first non-JSON part of ``value``, or None."""
    if isinstance(value, _SCALAR_TYPES):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, value)
    if isinstance(value, list | tuple | dict):
        if id(value) in ancestors:
            return (where, value)  # A circular reference can never be JSON.
        ancestors.add(id(value))
        try:
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    if not isinstance(sub_key, str):
                        return (f"{where} (key {sub_key!r})", sub_key)
                    found = _find_invalid_json(sub_value, f"{where}[{sub_key!r}]", ancestors)
                    if found is not None:
                        return found
            else:
                for index, sub_value in enumerate(value):
                    found = _find_invalid_json(sub_value, f"{where}[{index}]", ancestors)
                    if found is not None:
                        return found
        finally:
            ancestors.discard(id(value))
        return None
    return (where, value)


def _validate_value(key: str, value: Any) -> Any:
    found = _find_invalid_json(value, key, set())
    if found is not None:
        where, bad = found
        location = f"Tag {key!r}" if where == key else f"Tag {key!r} at {where}"
        raise InvalidTagException(f"{location} has an invalid value {bad!r} ({type(bad).__name__}): {_VALUE_RULE}.")
    return value


def _validated_items(data: Any = None, kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn the accepted input forms into a dict of validated items, raising before returning anything."""
    if data is None:
        items: dict[Any, Any] = {}
    elif isinstance(data, TagDict):
        if not kwargs:
            return dict(data.data)  # Already valid.
        items = dict(data.data)
    elif isinstance(data, Mapping):
        items = dict(data)
    elif isinstance(data, str | bytes | bytearray):
        try:
            parsed = json.loads(data)
        except ValueError as error:
            raise InvalidTagException(
                f"Tags given as a string must be a JSON object (e.g. '{{\"sample_rate\": 100}}'); "
                f"could not parse {data!r}: {error}."
            ) from None
        if not isinstance(parsed, dict):
            raise InvalidTagException(
                f"Tags given as a string must be a JSON object (e.g. '{{\"sample_rate\": 100}}'); got {data!r}."
            )
        items = parsed
    elif isinstance(data, Iterable):
        items = {}
        for pair in data:
            try:
                key, value = pair
            except (TypeError, ValueError):
                raise InvalidTagException(
                    f"Tags must be given as a mapping, a JSON object string or (key, value) pairs; "
                    f"got the item {pair!r}."
                ) from None
            items[key] = value
    else:
        raise InvalidTagException(
            f"Tags must be given as a mapping, a JSON object string or (key, value) pairs; "
            f"got {data!r} ({type(data).__name__})."
        )
    if kwargs:
        items.update(kwargs)
    for key, value in items.items():
        _validate_value(_validate_key(key), value)
    return items


class TagDict(UserDict):
    """A mutable mapping of tag key to JSON value, validated on every change.

    :param tags: ``None``, a mapping (``dict`` or ``TagDict``), a JSON string of an object, or an
        iterable of ``(key, value)`` pairs
    :param kwargs: further tags given as keyword arguments
    :raise plait.exceptions.InvalidTagException: if a key or value is invalid (nothing is stored)
    """

    def __init__(self, tags: Any = None, /, **kwargs: Any) -> None:
        self.data = _validated_items(tags, kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[_validate_key(key)] = _validate_value(key, value)

    def update(self, other: Any = None, /, **kwargs: Any) -> None:
        """Add or replace tags, accepting the same forms as the constructor; all-or-nothing."""
        self.data.update(_validated_items(other, kwargs))

    def __ior__(self, other: Any) -> TagDict:
        self.update(other)
        return self

    def copy(self) -> TagDict:
        """Return a shallow copy (the items are already valid, so they are not re-validated)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.data = self.data.copy()
        return new

    __copy__ = copy

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TagDict):
            return self.data == other.data
        if isinstance(other, dict):
            return self.data == other
        if isinstance(other, Mapping):
            return self.data == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data!r})"

    def to_primitive(self) -> dict[str, Any]:
        """Return the tags as a plain ``dict`` with its keys in sorted order (values are not copied)."""
        return {key: self.data[key] for key in sorted(self.data)}

    def serialise(self) -> str:
        """Return the tags as canonical JSON (sorted keys, no whitespace): equal tags give equal text."""
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"), allow_nan=False)
