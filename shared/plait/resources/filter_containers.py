"""Containers whose members can be filtered and ordered by their (nested) attributes.

``FilterSet``, ``FilterList`` and ``FilterDict`` are a ``set``, ``list`` and ``dict`` with three more
methods: ``filter``, ``one`` and ``order_by``. ``FilterDict`` filters and orders its *values*. See
``plait.resources.filters`` for the filter-name syntax and the actions available for each type.

Example::

    files.filter(name__ends_with=".csv", tags__height__gt=3)
    files.one(labels__contains="calibration")
    files.order_by("tags.sequence", check_start_value=0, check_constant_increment=1)
"""

from __future__ import annotations

from typing import Any

from plait.exceptions import UnexpectedNumberOfResultsException
from plait.resources.filters import describe_filters, order_items, select

__all__ = ["FilterDict", "FilterList", "FilterSet"]


def _unexpected_number(found: int, filters: dict[str, Any]) -> UnexpectedNumberOfResultsException:
    return UnexpectedNumberOfResultsException(
        f"Expected exactly one result for the filters {describe_filters(filters)}, but {found} matched."
    )


class _FilterContainer:
    """``filter``, ``one`` and ``order_by`` for containers whose members are the filtered items."""

    def filter(self, ignore_items_without_attribute: bool = True, **kwargs: Any) -> Any:
        """Return a new container of the same type holding only the members satisfying every filter.

        :param ignore_items_without_attribute: if True, skip members lacking a filtered attribute or
            key; if False, raise ``InvalidInputException`` for them
        :param kwargs: filters, e.g. ``name__starts_with="raw"``, ``tags__height__gt=3`` (ANDed)
        :raise plait.exceptions.InvalidInputException: for an invalid filter
        """
        return type(self)(select(self, kwargs, ignore_items_without_attribute))  # type: ignore[arg-type, call-arg]

    def one(self, **kwargs: Any) -> Any:
        """Return the single member satisfying every filter.

        :raise plait.exceptions.UnexpectedNumberOfResultsException: if zero or several members match
        """
        results = select(self, kwargs)  # type: ignore[arg-type]
        if len(results) != 1:
            raise _unexpected_number(len(results), kwargs)
        return results[0]

    def order_by(
        self,
        attribute_name: str,
        check_start_value: Any = None,
        check_constant_increment: Any = None,
        reverse: bool = False,
    ) -> FilterList:
        """Return the members as a ``FilterList`` ordered by an (optionally nested) attribute.

        :param attribute_name: e.g. ``"size"``, ``"tags.height"`` or ``"tags__height"``
        :param check_start_value: if not None, the first member's value must equal this
        :param check_constant_increment: if not None, consecutive values (in the returned order) must
            differ by exactly this (floats within rounding error)
        :param reverse: if True, order in descending order
        :raise plait.exceptions.InvalidInputException: if a member lacks the attribute or the values
            cannot be compared
        :raise plait.exceptions.BrokenSequenceException: if a requested check fails
        """
        return FilterList(
            order_items(self, attribute_name, check_start_value, check_constant_increment, reverse)  # type: ignore[arg-type]
        )


class FilterSet(_FilterContainer, set):
    """A ``set`` of items that can be filtered and ordered by their attributes."""

    def filter(self, ignore_items_without_attribute: bool = True, **kwargs: Any) -> FilterSet:
        """Return a new ``FilterSet`` of the members satisfying every filter."""
        return super().filter(ignore_items_without_attribute, **kwargs)


class FilterList(_FilterContainer, list):
    """A ``list`` of items that can be filtered and ordered by their attributes."""

    def filter(self, ignore_items_without_attribute: bool = True, **kwargs: Any) -> FilterList:
        """Return a new ``FilterList`` of the members satisfying every filter, in their original order."""
        return super().filter(ignore_items_without_attribute, **kwargs)


class FilterDict(dict):
    """A ``dict`` whose values can be filtered and ordered by their attributes (keys can be anything)."""

    def filter(self, ignore_items_without_attribute: bool = True, **kwargs: Any) -> FilterDict:
        """Return a new ``FilterDict`` of the items whose values satisfy every filter.

        :param ignore_items_without_attribute: if True, skip values lacking a filtered attribute or
            key; if False, raise ``InvalidInputException`` for them
        :param kwargs: filters, e.g. ``name__starts_with="raw"``, ``tags__height__gt=3`` (ANDed)
        :raise plait.exceptions.InvalidInputException: for an invalid filter
        """
        return type(self)(select(list(self.items()), kwargs, ignore_items_without_attribute, pairs=True))

    def one(self, **kwargs: Any) -> tuple[Any, Any]:
        """Return the single ``(key, value)`` pair whose value satisfies every filter.

        :raise plait.exceptions.UnexpectedNumberOfResultsException: if zero or several values match
        """
        results = select(list(self.items()), kwargs, pairs=True)
        if len(results) != 1:
            raise _unexpected_number(len(results), kwargs)
        return results[0]

    def order_by(self, attribute_name: str, reverse: bool = False) -> FilterList:
        """Return the values as a ``FilterList`` ordered by an (optionally nested) attribute.

        :param attribute_name: e.g. ``"size"``, ``"tags.height"`` or ``"tags__height"``
        :param reverse: if True, order in descending order
        :raise plait.exceptions.InvalidInputException: if a value lacks the attribute or the values
            cannot be compared
        """
        return FilterList(order_items(self.values(), attribute_name, reverse=reverse))
