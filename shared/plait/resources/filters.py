"""The filtering and ordering engine behind ``FilterSet``, ``FilterList`` and ``FilterDict``.

Filter names
------------
A filter is a keyword argument ``<path>__<action>=<value>``, for example ``name__starts_with="raw"``
or ``tags__height__gt=3``. The name is split on ``__``:

* The path segments are resolved item by item: if the current object is a ``Mapping`` (a ``dict``,
  a ``TagDict``...) the segment is a key (``obj[segment]``), otherwise it is an attribute
  (``getattr(obj, segment)``). So ``tags__height__gt=3`` reads ``item.tags["height"]``.
* If the last segment is a known action (any action of any type, or its ``not_`` form) it is the
  action; otherwise the whole name is the path and the action is ``equals``: ``tags__height=3``
  means ``tags__height__equals=3``. A consequence: a tag key that is itself an action name (say
  ``contains``) must be filtered with an explicit action (``tags__contains__equals=...``).
* A name with no ``__`` at all (``name="x"``) is rejected with ``InvalidInputException``, naming the
  filter and suggesting ``name__equals``: a bare attribute name is too easily a typo.

Actions
-------
The actions available depend on the runtime type of the attribute's value (listed in
``ACTIONS_BY_KIND``). Every action ``x`` also has a negated form ``not_x``. An action that does not
exist for the value's type raises ``InvalidInputException`` listing the valid ones. A comparison the
value's type does not support (e.g. ``gt`` between a ``str`` and an ``int``) raises
``InvalidInputException`` too.

Several filters are ANDed. Items lacking a filtered attribute or key are skipped when
``ignore_items_without_attribute`` is true, and otherwise raise ``InvalidInputException``.

Performance
-----------
Each filter name is parsed once (and cached); the check for each attribute type is built once per
``filter`` call and kept in a dict keyed by ``type(value)``; the per-item loop does no parsing, no
logging and raises no exceptions on the normal path.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import numbers
import re
import reprlib
from collections import UserDict
from collections.abc import Callable, Iterable, Mapping, Set
from operator import attrgetter, methodcaller
from typing import Any

from plait.exceptions import BrokenSequenceException, InvalidInputException
from plait.resources.label import LabelSet

__all__ = [
    "ACTIONS_BY_KIND",
    "KNOWN_ACTIONS",
    "describe_filters",
    "order_items",
    "parse_attribute_path",
    "parse_filter_name",
    "resolve_path",
    "select",
]

Check = Callable[[Any], bool]
# A factory takes (filter value, filter name) and returns a check of an attribute value.
Factory = Callable[[Any, str], Check]

MISSING: Any = object()
"""Returned by ``resolve_path`` when an attribute or key along the path does not exist."""

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80


# --- Factories of checks. Each builds a closure over the (already validated) filter value. ---------


def _equals(value: Any, name: str) -> Check:
    return lambda attribute: attribute == value


def _is(value: Any, name: str) -> Check:
    return lambda attribute: attribute is value


def _is_not(value: Any, name: str) -> Check:
    return lambda attribute: attribute is not value


def _lt(value: Any, name: str) -> Check:
    return lambda attribute: attribute < value


def _lte(value: Any, name: str) -> Check:
    return lambda attribute: attribute <= value


def _gt(value: Any, name: str) -> Check:
    return lambda attribute: attribute > value


def _gte(value: Any, name: str) -> Check:
    return lambda attribute: attribute >= value


def _in_range(value: Any, name: str) -> Check:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable) or len(value := tuple(value)) != 2:
        raise InvalidInputException(
            f"Filter {name!r} needs an inclusive (low, high) pair as its value; got {_repr.repr(value)}."
        )
    low, high = value
    return lambda attribute: low <= attribute <= high


def _require_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputException(
            f"Filter {name!r} needs a string as its value; got {_repr.repr(value)} ({type(value).__name__})."
        )
    return value


def _iequals(value: Any, name: str) -> Check:
    folded = _require_str(value, name).casefold()
    return lambda attribute: attribute.casefold() == folded


def _contains(value: Any, name: str) -> Check:
    return lambda attribute: value in attribute


def _icontains(value: Any, name: str) -> Check:
    folded = _require_str(value, name).casefold()
    return lambda attribute: folded in attribute.casefold()


def _starts_with(value: Any, name: str) -> Check:
    return lambda attribute: attribute.startswith(value)


def _ends_with(value: Any, name: str) -> Check:
    return lambda attribute: attribute.endswith(value)


def _any_label_contains(value: Any, name: str) -> Check:
    value = _require_str(value, name)
    return lambda attribute: attribute.any_label_contains(value)


def _any_label_starts_with(value: Any, name: str) -> Check:
    value = _require_str(value, name)
    return lambda attribute: attribute.any_label_starts_with(value)


def _any_label_ends_with(value: Any, name: str) -> Check:
    value = _require_str(value, name)
    return lambda attribute: attribute.any_label_ends_with(value)


def _label_set_equals(value: Any, name: str) -> Check:
    # Compare with the same forms a LabelSet accepts: "a b", '["a", "b"]', ["a", "b"], {"a", "b"}.
    if isinstance(value, str | list | tuple):
        value = LabelSet(value)
    return lambda attribute: attribute == value


def _collection(value: Any, name: str) -> Set[Any] | tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInputException(
            f"Filter {name!r} needs a collection (list, tuple or set) of values; got {_repr.repr(value)}."
        )
    try:
        return frozenset(value)
    except TypeError:  # Unhashable members: fall back to a linear search.
        return tuple(value)


def _part_equals(get_part: Callable[[Any], Any]) -> Factory:
    def factory(value: Any, name: str) -> Check:
        return lambda attribute: get_part(attribute) == value

    return factory


def _part_in(get_part: Callable[[Any], Any]) -> Factory:
    def factory(value: Any, name: str) -> Check:
        values = _collection(value, name)
        return lambda attribute: get_part(attribute) in values

    return factory


def _negated(factory: Factory) -> Factory:
    def negated_factory(value: Any, name: str) -> Check:
        check = factory(value, name)
        return lambda attribute: not check(attribute)

    return negated_factory


def _with_negations(actions: dict[str, Factory]) -> dict[str, Factory]:
    return {**actions, **{f"not_{name}": _negated(factory) for name, factory in actions.items()}}


_DATE_PARTS: dict[str, Callable[[Any], Any]] = {
    "year": attrgetter("year"),
    "month": attrgetter("month"),
    "day": attrgetter("day"),
    "weekday": methodcaller("weekday"),
    "iso_weekday": methodcaller("isoweekday"),
}
_DATETIME_PARTS: dict[str, Callable[[Any], Any]] = {
    **_DATE_PARTS,
    "hour": attrgetter("hour"),
    "minute": attrgetter("minute"),
    "second": attrgetter("second"),
    "date": methodcaller("date"),
    "time": methodcaller("time"),
}


def _parts(parts: dict[str, Callable[[Any], Any]]) -> dict[str, Factory]:
    actions: dict[str, Factory] = {}
    for part, getter in parts.items():
        actions[f"{part}_equals"] = _part_equals(getter)
        actions[f"{part}_in"] = _part_in(getter)
    return actions


_IDENTITY = {"is": _is, "is_not": _is_not}
_ORDERING = {"lt": _lt, "lte": _lte, "gt": _gt, "gte": _gte, "in_range": _in_range}

_BASE_ACTIONS_BY_KIND: dict[str, dict[str, Factory]] = {
    "str": {
        "equals": _equals,
        "iequals": _iequals,
        "contains": _contains,
        "icontains": _icontains,
        "starts_with": _starts_with,
        "ends_with": _ends_with,
        **_ORDERING,
        **_IDENTITY,
    },
    "number": {"equals": _equals, **_ORDERING, **_IDENTITY},
    "bool_or_none": {"equals": _equals, **_IDENTITY},
    "datetime": {"equals": _equals, **_ORDERING, **_parts(_DATETIME_PARTS), **_IDENTITY},
    "date": {"equals": _equals, **_ORDERING, **_parts(_DATE_PARTS), **_IDENTITY},
    "label_set": {
        "contains": _contains,
        "any_label_contains": _any_label_contains,
        "any_label_starts_with": _any_label_starts_with,
        "any_label_ends_with": _any_label_ends_with,
        "equals": _label_set_equals,
        **_IDENTITY,
    },
    "mapping": {"contains": _contains, "equals": _equals, **_IDENTITY},
    "iterable": {"contains": _contains, "equals": _equals, **_IDENTITY},
    "other": {"equals": _equals, **_IDENTITY},
}

ACTIONS_BY_KIND: dict[str, dict[str, Factory]] = {
    kind: _with_negations(actions) for kind, actions in _BASE_ACTIONS_BY_KIND.items()
}
"""Action name -> check factory, for each kind of attribute value (see ``_kind_of``)."""

KNOWN_ACTIONS: frozenset[str] = frozenset().union(*ACTIONS_BY_KIND.values())
"""Every action name of every kind: a filter name ending in one of these has an explicit action."""


def _kind_of(value_type: type) -> str:
    if value_type is bool or value_type is type(None) or issubclass(value_type, bool):
        return "bool_or_none"
    if issubclass(value_type, datetime.datetime):
        return "datetime"
    if issubclass(value_type, datetime.date):
        return "date"
    if issubclass(value_type, str):
        return "str"
    if issubclass(value_type, numbers.Real | decimal.Decimal):
        return "number"
    if issubclass(value_type, LabelSet):
        return "label_set"
    if issubclass(value_type, Mapping):
        return "mapping"
    if issubclass(value_type, Iterable):
        return "iterable"
    return "other"


_KIND_CACHE: dict[type, str] = {}


def _make_check(value_type: type, action: str, filter_value: Any, filter_name: str) -> Check:
    kind = _KIND_CACHE.get(value_type)
    if kind is None:
        kind = _KIND_CACHE[value_type] = _kind_of(value_type)
    factory = ACTIONS_BY_KIND[kind].get(action)
    if factory is None:
        valid = ", ".join(sorted(_BASE_ACTIONS_BY_KIND[kind]))
        raise InvalidInputException(
            f"Filter {filter_name!r} uses the action {action!r}, which does not exist for a value of "
            f"type {value_type.__name__!r}. Valid actions for {value_type.__name__!r}: {valid} "
            f"(each also has a 'not_' form, e.g. 'not_equals')."
        )
    return factory(filter_value, filter_name)


# --- Parsing names. ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def parse_filter_name(name: str) -> tuple[tuple[str, ...], str]:
    """Split a filter name into its attribute path and its action.

    :param name: e.g. ``"tags__height__gt"``
    :return: e.g. ``(("tags", "height"), "gt")``; a name whose last segment is not a known action is
        all path, with the action ``"equals"``
    :raise plait.exceptions.InvalidInputException: if the name has no ``__`` or an empty segment
    """
    if "__" not in name:
        raise InvalidInputException(
            f"Filter {name!r} has no action: filter names take the form '<attribute>__<action>', e.g. "
            f"'{name}__equals' (nested attributes and keys are separated by '__' too, e.g. "
            f"'tags__height__gt')."
        )
    segments = tuple(name.split("__"))
    if not all(segments):
        raise InvalidInputException(
            f"Filter {name!r} has an empty segment: attribute names and the action are separated by "
            f"exactly '__', e.g. 'tags__height__gt'."
        )
    if segments[-1] in KNOWN_ACTIONS:
        return segments[:-1], segments[-1]
    return segments, "equals"


@functools.lru_cache(maxsize=256)
def parse_attribute_path(attribute_name: str) -> tuple[str, ...]:
    """Split a nested attribute name on ``.`` or ``__``: ``"tags.height"`` -> ``("tags", "height")``."""
    segments = tuple(re.split(r"\.|__", attribute_name))
    if not all(segments):
        raise InvalidInputException(
            f"Attribute name {attribute_name!r} has an empty segment: separate nested attributes and keys "
            f"with '.' or '__', e.g. 'tags.height'."
        )
    return segments


# --- Resolving attribute paths. ---------------------------------------------------------------------

# How to take one step along a path from an object of a given type.
_ATTRIBUTE, _DICT, _USER_DICT, _MAPPING = 0, 1, 2, 3
_STEP_CACHE: dict[type, int] = {}


def _step_kind(object_type: type) -> int:
    kind = _STEP_CACHE.get(object_type)
    if kind is None:
        if not issubclass(object_type, Mapping):
            kind = _ATTRIBUTE
        elif (
            issubclass(object_type, dict)
            and object_type.__getitem__ is dict.__getitem__
            and object_type.get is dict.get
        ):
            kind = _DICT  # ``dict.get`` never calls ``__missing__``, so a defaultdict is not mutated.
        elif (
            issubclass(object_type, UserDict)
            and object_type.__getitem__ is UserDict.__getitem__
            and not hasattr(object_type, "__missing__")
        ):
            kind = _USER_DICT  # e.g. ``TagDict``: read its ``data`` dict directly.
        else:
            kind = _MAPPING
        _STEP_CACHE[object_type] = kind
    return kind


def _mapping_get(mapping: Any, key: str) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return MISSING


def resolve_path(obj: Any, path: tuple[str, ...]) -> Any:
    """Follow ``path`` from ``obj`` (a key for mappings, an attribute otherwise); ``MISSING`` if absent."""
    for key in path:
        kind = _STEP_CACHE.get(type(obj))
        if kind is None:
            kind = _step_kind(type(obj))
        if kind == _ATTRIBUTE:
            obj = getattr(obj, key, MISSING)
        elif kind == _DICT:
            obj = obj.get(key, MISSING)
        elif kind == _USER_DICT:
            obj = obj.data.get(key, MISSING)
        else:
            obj = _mapping_get(obj, key)
        if obj is MISSING:
            return MISSING
    return obj


def _missing_step(obj: Any, path: tuple[str, ...]) -> str:
    """Return the first segment of ``path`` that does not exist from ``obj``."""
    for index, key in enumerate(path):
        obj = resolve_path(obj, (key,))
        if obj is MISSING:
            return ".".join(path[: index + 1])
    return ".".join(path)


# --- Filtering. -------------------------------------------------------------------------------------


def describe_filters(filters: Mapping[str, Any]) -> str:
    """Return filters as ``name=value`` pairs for messages."""
    return ", ".join(f"{name}={_repr.repr(value)}" for name, value in filters.items()) or "(none)"


def select(
    items: Iterable[Any],
    filters: Mapping[str, Any],
    ignore_items_without_attribute: bool = True,
    pairs: bool = False,
) -> list[Any]:
    """Return the items satisfying every filter, in their original order.

    :param items: the items to filter
    :param filters: filter name -> filter value (see the module docstring)
    :param ignore_items_without_attribute: if True, skip items lacking a filtered attribute or key;
        if False, raise for them
    :param pairs: if True, each item is a ``(key, value)`` pair and the filters apply to the value
    :raise plait.exceptions.InvalidInputException: for an invalid filter name, an action invalid for
        an attribute's type, an unsupported comparison, or (if not ignored) a missing attribute
    """
    parsed = [(name, *parse_filter_name(name), value) for name, value in filters.items()]
    selected = items if isinstance(items, list) else list(items)
    for name, path, action, value in parsed:
        selected = _select_one(selected, name, path, action, value, ignore_items_without_attribute, pairs)
    return selected


def _select_one(
    items: list[Any],
    name: str,
    path: tuple[str, ...],
    action: str,
    filter_value: Any,
    ignore_missing: bool,
    pairs: bool,
) -> list[Any]:
    # The hot loop: keep it tight. ``resolve_path`` is inlined; checks are cached per value type.
    checks: dict[type, Check] = {}
    get_check = checks.get
    step_kinds = _STEP_CACHE
    get_step_kind = step_kinds.get
    selected: list[Any] = []
    append = selected.append
    obj: Any = None
    try:
        for item in items:
            obj = item[1] if pairs else item
            for key in path:
                kind = get_step_kind(type(obj))
                if kind is None:
                    kind = _step_kind(type(obj))
                if kind == _ATTRIBUTE:
                    obj = getattr(obj, key, MISSING)
                elif kind == _DICT:
                    obj = obj.get(key, MISSING)
                elif kind == _USER_DICT:
                    obj = obj.data.get(key, MISSING)
                else:
                    obj = _mapping_get(obj, key)
                if obj is MISSING:
                    break
            else:
                check = get_check(type(obj))
                if check is None:
                    check = checks[type(obj)] = _make_check(type(obj), action, filter_value, name)
                if check(obj):
                    append(item)
                continue
            if not ignore_missing:
                member = item[1] if pairs else item
                raise InvalidInputException(
                    f"Filter {name!r}: the item {_repr.repr(member)} has no attribute or key "
                    f"{_missing_step(member, path)!r} (pass ignore_items_without_attribute=True to "
                    f"skip such items)."
                )
    except (TypeError, AttributeError) as error:
        raise InvalidInputException(
            f"Filter {name!r} could not be applied to the value {_repr.repr(obj)} "
            f"({type(obj).__name__}) with the filter value {_repr.repr(filter_value)} "
            f"({type(filter_value).__name__}): {error}."
        ) from error
    return selected


# --- Ordering. --------------------------------------------------------------------------------------


def _increment_matches(difference: Any, increment: Any) -> bool:
    if isinstance(difference, float) or isinstance(increment, float):
        # Floats accumulate rounding error (0.3 - 0.2 != 0.1); anything else must match exactly.
        return math.isclose(difference, increment, rel_tol=1e-9, abs_tol=1e-12)
    return bool(difference == increment)


def order_items(
    items: Iterable[Any],
    attribute_name: str,
    check_start_value: Any = None,
    check_constant_increment: Any = None,
    reverse: bool = False,
) -> list[Any]:
    """Return the items sorted by an (optionally nested) attribute, optionally checking the sequence.

    :param items: the items to order
    :param attribute_name: e.g. ``"size"``, ``"tags.height"`` or ``"tags__height"``
    :param check_start_value: if not None, the first value of the ordered sequence must equal this
    :param check_constant_increment: if not None, each value must exceed the previous one by this
        (along the returned order, so with ``reverse=True`` it must be negative)
    :param reverse: if True, sort in descending order
    :raise plait.exceptions.InvalidInputException: if a member lacks the attribute, or the values
        cannot be compared
    :raise plait.exceptions.BrokenSequenceException: if a requested check fails
    """
    path = parse_attribute_path(attribute_name)
    items = list(items)
    values = []
    for item in items:
        value = resolve_path(item, path)
        if value is MISSING:
            raise InvalidInputException(
                f"Cannot order by {attribute_name!r}: the item {_repr.repr(item)} has no attribute or key "
                f"{_missing_step(item, path)!r}."
            )
        values.append(value)
    try:
        order = sorted(range(len(items)), key=values.__getitem__, reverse=reverse)
    except TypeError as error:
        raise InvalidInputException(
            f"Cannot order by {attribute_name!r}: its values cannot be compared with each other ({error})."
        ) from error
    ordered_values = [values[index] for index in order]

    if check_start_value is not None:
        if not ordered_values:
            raise BrokenSequenceException(
                f"Ordering by {attribute_name!r}: expected the sequence to start at {check_start_value!r}, "
                f"but there are no items."
            )
        if ordered_values[0] != check_start_value:
            raise BrokenSequenceException(
                f"Ordering by {attribute_name!r}: the sequence starts at {ordered_values[0]!r}, not at the "
                f"expected start value {check_start_value!r}."
            )

    if check_constant_increment is not None:
        for position in range(1, len(ordered_values)):
            previous, current = ordered_values[position - 1], ordered_values[position]
            try:
                difference = current - previous
            except TypeError as error:
                raise InvalidInputException(
                    f"Ordering by {attribute_name!r}: cannot check a constant increment because the values "
                    f"{previous!r} and {current!r} cannot be subtracted ({error})."
                ) from error
            if not _increment_matches(difference, check_constant_increment):
                raise BrokenSequenceException(
                    f"Ordering by {attribute_name!r}: the values at positions {position - 1} and {position} "
                    f"({previous!r} and {current!r}) differ by {difference!r}, not by the expected constant "
                    f"increment {check_constant_increment!r}."
                )

    return [items[index] for index in order]
