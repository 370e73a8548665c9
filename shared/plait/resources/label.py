"""Labels: validated strings, and a set of them attached to datafiles, datasets and manifests.

A label matches ``^[a-z0-9][a-z0-9-]*(?<!-)$`` (lowercase letters, digits and hyphens, starting with
a letter or digit and not ending with a hyphen).

A ``LabelSet`` is a ``set`` of ``Label`` objects. Because ``Label`` is a ``str`` subclass with the
same hash, plain strings work with ``in``, ``==`` and ``remove``. Every way of adding labels (the
constructor, ``add``, ``update``, ``|=``, ``^=``, ``union``...) validates *all* the new labels before
storing any, so a failed update leaves the set unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from plait.exceptions import InvalidLabelException

__all__ = ["LABEL_PATTERN", "Label", "LabelSet"]

LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*(?<!-)$")

_LABEL_RULE = (
    "labels must be lowercase letters, digits and hyphens, start with a letter or digit "
    "and not end with a hyphen (e.g. 'wind-speed')"
)
_ACCEPTED_FORMS = (
    "labels must be given as None, a space-separated string (e.g. 'a b c'), a JSON list string "
    '(e.g. \'["a", "b"]\') or an iterable of strings'
)


class Label(str):
    """A string that is a valid label.

    :param value: the label
    :raise plait.exceptions.InvalidLabelException: if ``value`` is not a string of the label form
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Label:
        if type(value) is cls:
            return value
        if not isinstance(value, str):
            raise InvalidLabelException(
                f"Label {value!r} ({type(value).__name__}) is invalid: labels must be strings; {_LABEL_RULE}."
            )
        # ``fullmatch`` so that a trailing newline (which ``$`` would let through) is rejected.
        if LABEL_PATTERN.fullmatch(value) is None:
            raise InvalidLabelException(f"Label {value!r} is invalid: {_LABEL_RULE}.")
        return super().__new__(cls, value)

    def matches(self, other: Any) -> bool:
        """Return True if ``other`` is the same label (a ``Label`` or plain string)."""
        return self == other


def _labels_from(labels: Any) -> list[Label]:
    """Return the labels in one accepted input form as a list of ``Label``, raising before returning."""
    if labels is None:
        return []
    if isinstance(labels, str):
        if labels.lstrip().startswith("["):
            try:
                parsed = json.loads(labels)
            except ValueError as error:
                raise InvalidLabelException(
                    f"Could not parse the labels {labels!r} as a JSON list ({error}); {_ACCEPTED_FORMS}."
                ) from None
            return [Label(label) for label in parsed]
        return [Label(label) for label in labels.split()]
    if isinstance(labels, Iterable) and not isinstance(labels, bytes | bytearray):
        return [Label(label) for label in labels]
    raise InvalidLabelException(f"Labels {labels!r} ({type(labels).__name__}) are invalid; {_ACCEPTED_FORMS}.")


class LabelSet(set):
    """A mutable set of ``Label`` objects.

    :param labels: ``None``, a space-separated string (``"a b c"``), a JSON list string
        (``'["a", "b"]'``) or any iterable of strings/labels
    :raise plait.exceptions.InvalidLabelException: if any label is invalid (nothing is stored)
    """

    def __init__(self, labels: Any = None) -> None:
        super().__init__(_labels_from(labels))

    def add(self, *labels: str) -> None:  # type: ignore[override]
        """Add one or more labels; if any is invalid, none is added."""
        super().update([Label(label) for label in labels])

    def update(self, *iterables: Any) -> None:
        """Add the labels of each argument (each in any constructor form); all-or-nothing."""
        validated = [_labels_from(iterable) for iterable in iterables]
        super().update(*validated)

    def __ior__(self, other: Any) -> LabelSet:  # type: ignore[override]
        self.update(other)
        return self

    def symmetric_difference_update(self, other: Any) -> None:
        """Update to the labels in exactly one of this set and ``other``; ``other`` is validated first."""
        super().symmetric_difference_update(_labels_from(other))

    def __ixor__(self, other: Any) -> LabelSet:  # type: ignore[override]
        self.symmetric_difference_update(other)
        return self

    # Operations returning a new set return a ``LabelSet`` (the built-in ones would return a ``set``).

    def copy(self) -> LabelSet:
        """Return a shallow copy."""
        new = type(self).__new__(type(self))
        set.update(new, self)
        return new

    __copy__ = copy

    def union(self, *others: Any) -> LabelSet:
        """Return a new ``LabelSet`` of the labels in this set or any of ``others``."""
        new = self.copy()
        new.update(*others)
        return new

    def __or__(self, other: Any) -> LabelSet:  # type: ignore[override]
        if not isinstance(other, set | frozenset):
            return NotImplemented
        return self.union(other)

    __ror__ = __or__

    def intersection(self, *others: Iterable[Any]) -> LabelSet:
        """Return a new ``LabelSet`` of the labels in this set and all of ``others``."""
        return self._from_labels(super().intersection(*others))

    def __and__(self, other: Any) -> LabelSet:  # type: ignore[override]
        if not isinstance(other, set | frozenset):
            return NotImplemented
        return self.intersection(other)

    __rand__ = __and__

    def difference(self, *others: Iterable[Any]) -> LabelSet:
        """Return a new ``LabelSet`` of the labels in this set but in none of ``others``."""
        return self._from_labels(super().difference(*others))

    def __sub__(self, other: Any) -> LabelSet:  # type: ignore[override]
        if not isinstance(other, set | frozenset):
            return NotImplemented
        return self.difference(other)

    def symmetric_difference(self, other: Any) -> LabelSet:
        """Return a new ``LabelSet`` of the labels in exactly one of this set and ``other``."""
        new = self.copy()
        new.symmetric_difference_update(other)
        return new

    def __xor__(self, other: Any) -> LabelSet:  # type: ignore[override]
        if not isinstance(other, set | frozenset):
            return NotImplemented
        return self.symmetric_difference(other)

    __rxor__ = __xor__

    def _from_labels(self, labels: Iterable[Any]) -> LabelSet:
        # Members may be plain ``str`` from the other operand; they are valid labels, so convert them.
        new = type(self).__new__(type(self))
        set.update(new, [Label(label) for label in labels])
        return new

    def any_label_starts_with(self, value: str) -> bool:
        """Return True if any label starts with ``value``."""
        return any(label.startswith(value) for label in self)

    def any_label_ends_with(self, value: str) -> bool:
        """Return True if any label ends with ``value``."""
        return any(label.endswith(value) for label in self)

    def any_label_contains(self, value: str) -> bool:
        """Return True if ``value`` is a substring of any label."""
        return any(value in label for label in self)

    def to_primitive(self) -> list[str]:
        """Return the labels as a sorted list of plain strings."""
        return sorted(map(str, self))

    def serialise(self) -> str:
        """Return the labels as canonical JSON (a sorted list, no whitespace)."""
        return json.dumps(self.to_primitive(), separators=(",", ":"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_primitive()!r})"
