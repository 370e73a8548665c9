"""The rules experiments, tags, EIDs, file names and searches must follow, checked in one place.

Every check returns the value it accepts (normalised where that matters) or raises a specific
exception from ``plait.exceptions`` whose message says what to change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from plait.cloud.storage.path import is_metadata_object_name
from plait.exceptions import (
    DuplicateExperimentTags,
    InvalidEID,
    InvalidExperimentDescription,
    InvalidExperimentFileName,
    InvalidExperimentSearch,
    InvalidExperimentTag,
    InvalidExperimentTitle,
    TooManyExperimentTags,
)

TITLE_MAXIMUM_LENGTH = 256
DESCRIPTION_MAXIMUM_LENGTH = 5000
TAG_MAXIMUM_LENGTH = 64
#: At most this many tags may be given at once: on creation, or to one ``add_tags``.
MAXIMUM_TAGS_PER_REQUEST = 64
SEARCH_MAXIMUM_LENGTH = 64
MAXIMUM_LIMIT = 500
#: The longest file name (in UTF-8 bytes) most file systems accept.
FILE_NAME_MAXIMUM_BYTES = 255

#: Experiments with this tag are hidden from ``find_experiments`` unless it is asked for.
ARCHIVED_TAG = "__archived__"

TAG_PATTERN = re.compile(r"^[a-zA-Z0-9\-_:/]+$")
EID_PATTERN = re.compile(r"^(?P<day>\d{8})-(?P<number>[1-9]\d*)$")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_title(title: Any) -> str:
    if not isinstance(title, str):
        raise InvalidExperimentTitle(f"An experiment's title is text, not {type(title).__name__}.")
    if len(title) > TITLE_MAXIMUM_LENGTH:
        raise InvalidExperimentTitle(
            f"An experiment's title may be at most {TITLE_MAXIMUM_LENGTH} characters; this one has {len(title)}: "
            "shorten it (put the details in the description)."
        )
    return title


def check_description(description: Any) -> str:
    if not isinstance(description, str):
        raise InvalidExperimentDescription(f"An experiment's description is text, not {type(description).__name__}.")
    if len(description) > DESCRIPTION_MAXIMUM_LENGTH:
        raise InvalidExperimentDescription(
            f"An experiment's description may be at most {DESCRIPTION_MAXIMUM_LENGTH} characters; this one has "
            f"{len(description)}: shorten it, or upload the details as a file of the experiment."
        )
    return description


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise InvalidExperimentTag(f"A tag is text, not {type(tag).__name__} {tag!r}.")
    if len(tag) > TAG_MAXIMUM_LENGTH:
        raise InvalidExperimentTag(
            f"Tag {tag[:20]!r}... has {len(tag)} characters; a tag may have at most {TAG_MAXIMUM_LENGTH}: shorten it."
        )
    if not TAG_PATTERN.match(tag):
        raise InvalidExperimentTag(
            f"Tag {tag!r} is not allowed: a tag is 1-{TAG_MAXIMUM_LENGTH} letters, digits, '-', '_', ':' or '/' "
            "(e.g. 'wind-tunnel' or 'site:north/mast-2'), with no spaces."
        )
    return tag


def as_tag_list(tags: Any, what: str = "tags") -> list[str]:
    """Tags given as one string or an iterable of strings, as a list (a lone string is one tag)."""
    if tags is None:
        return []
    if isinstance(tags, str):
        return [tags]
    if not isinstance(tags, Iterable) or isinstance(tags, dict | bytes):
        raise InvalidExperimentTag(f"{what} must be a list of strings, not {type(tags).__name__}.")
    return list(tags)


def check_new_tags(tags: Any) -> list[str]:
    """Tags given in one request: each valid, at most ``MAXIMUM_TAGS_PER_REQUEST``, no duplicates
    (compared case-insensitively)."""
    tags = [check_tag(tag) for tag in as_tag_list(tags)]
    if len(tags) > MAXIMUM_TAGS_PER_REQUEST:
        raise TooManyExperimentTags(
            f"{len(tags)} tags were given at once; at most {MAXIMUM_TAGS_PER_REQUEST} may be: add the rest in "
            "another request."
        )
    seen: dict[str, str] = {}
    duplicates = []
    for tag in tags:
        key = tag.casefold()
        if key in seen:
            duplicates.append(f"{seen[key]!r} and {tag!r}" if seen[key] != tag else repr(tag))
        else:
            seen[key] = tag
    if duplicates:
        raise DuplicateExperimentTags(
            f"The same tag was given more than once (tags are case-insensitive): {', '.join(duplicates)}. "
            "Give each tag once."
        )
    return tags


def tag_key(tag: str) -> str:
    """What makes two tags the same tag: their case-folded spelling."""
    return tag.casefold()


def make_eid(day: dt.date, number: int) -> str:
    return f"{day:%Y%m%d}-{number}"


def check_eid(eid: Any) -> str:
    if not isinstance(eid, str) or not EID_PATTERN.match(eid):
        raise InvalidEID(
            f"{eid!r} is not an experiment EID: an EID is the UTC creation date and a number counting from 1 "
            "each day, 'YYYYMMDD-N' (e.g. '20240131-7')."
        )
    return eid


def eid_sort_key(eid: str) -> tuple[str, int]:
    match = EID_PATTERN.match(eid)
    return (match["day"], int(match["number"])) if match else (eid, 0)


def check_file_name(name: Any) -> str:
    """A file name within an experiment: one path segment, not empty, not ``.`` or ``..``, no
    separators or control characters, and not one of plait's own metadata names."""
    if not isinstance(name, str) or not name:
        raise InvalidExperimentFileName(f"A file name must be non-empty text, not {name!r}.")
    if "/" in name or "\\" in name:
        raise InvalidExperimentFileName(
            f"File name {name!r} contains a path separator: an experiment's files are named by their name alone "
            "(e.g. 'results.csv'), with no directories."
        )
    if name in (".", ".."):
        raise InvalidExperimentFileName(f"{name!r} is not a file name: give the file's own name (e.g. 'results.csv').")
    if _CONTROL_CHARACTERS.search(name):
        raise InvalidExperimentFileName(f"File name {name!r} contains control characters: remove them.")
    if len(name.encode("utf-8")) > FILE_NAME_MAXIMUM_BYTES:
        raise InvalidExperimentFileName(
            f"File name {name[:30]!r}... is longer than {FILE_NAME_MAXIMUM_BYTES} bytes: shorten it."
        )
    if is_metadata_object_name(name) or name.startswith(".plait"):
        raise InvalidExperimentFileName(f"File name {name!r} is reserved for plait's own metadata: rename the file.")
    return name


def check_limit_and_offset(limit: Any, offset: Any) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAXIMUM_LIMIT:
        raise InvalidExperimentSearch(
            f"limit must be a whole number from 1 to {MAXIMUM_LIMIT}, not {limit!r}: page through more results "
            "with offset."
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidExperimentSearch(f"offset must be a whole number of at least 0, not {offset!r}.")
    return limit, offset


def check_search(search: Any) -> str | None:
    if search is None or search == "":
        return None
    if not isinstance(search, str):
        raise InvalidExperimentSearch(f"search must be text, not {type(search).__name__}.")
    if len(search) > SEARCH_MAXIMUM_LENGTH:
        raise InvalidExperimentSearch(
            f"search may be at most {SEARCH_MAXIMUM_LENGTH} characters; this one has {len(search)}: search for "
            "a shorter part of the title or EID."
        )
    return search


def check_search_tags(tags: Any) -> list[str]:
    """Tags to search for: each a valid tag (an invalid one could never match)."""
    tags = [check_tag(tag) for tag in as_tag_list(tags)]
    if len(tags) > MAXIMUM_TAGS_PER_REQUEST:
        raise InvalidExperimentSearch(f"Search for at most {MAXIMUM_TAGS_PER_REQUEST} tags at once, not {len(tags)}.")
    return tags


def check_time_range(start: Any, end: Any, names: tuple[str, str]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Inclusive bounds as aware UTC datetimes. A naive datetime is UTC; a ``date`` bound covers its
    whole (UTC) day."""
    start_moment = _moment(start, names[0], end_of_day=False)
    end_moment = _moment(end, names[1], end_of_day=True)
    if start_moment is not None and end_moment is not None and start_moment > end_moment:
        raise InvalidExperimentSearch(
            f"{names[0]} ({start_moment.isoformat()}) is after {names[1]} ({end_moment.isoformat()}): swap them."
        )
    return start_moment, end_moment


def _moment(value: Any, name: str, end_of_day: bool) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        time = dt.time.max if end_of_day else dt.time.min
        return dt.datetime.combine(value, time, tzinfo=dt.UTC)
    raise InvalidExperimentSearch(f"{name} must be a datetime (or a date), not {type(value).__name__} {value!r}.")
