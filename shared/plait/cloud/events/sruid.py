"""Service revision unique identifiers (SRUIDs): ``namespace/name:revision_tag``.

A service is named by its namespace and name (lowercase letters and digits, single hyphens
between); a revision of it by a tag (letters, digits and ``_``, single ``.`` or ``-`` between, at
most 128 characters). Each revision has its own Pub/Sub topics, named from its SRUID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plait.exceptions import InvalidSRUID

_NAME = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*"
_SRUID = re.compile(rf"^(?P<namespace>{_NAME})/(?P<name>{_NAME}):(?P<revision_tag>{_TAG})$")
_SERVICE = re.compile(rf"^(?P<namespace>{_NAME})/(?P<name>{_NAME})$")
MAXIMUM_REVISION_TAG_LENGTH = 128
MAXIMUM_TOPIC_NAME_LENGTH = 255

#: The topics each service revision has (``plait.<namespace>.<name>.<revision tag>.<kind>``).
TOPIC_KINDS = ("questions", "analyses", "answers", "dead-letter")


@dataclass(frozen=True)
class ServiceRevision:
    """A parsed, validated SRUID."""

    namespace: str
    name: str
    revision_tag: str

    @classmethod
    def parse(cls, sruid: str) -> ServiceRevision:
        """Parse and validate ``namespace/name:revision_tag``.

        :raise plait.exceptions.InvalidSRUID: naming what is wrong and the expected form
        """
        if not isinstance(sruid, str):
            raise InvalidSRUID(f"A service revision id is text like 'my-org/my-service:1.0.0', not {sruid!r}.")
        match = _SRUID.match(sruid)
        if match is None:
            raise InvalidSRUID(_explain(sruid))
        revision = cls(**match.groupdict())
        if len(revision.revision_tag) > MAXIMUM_REVISION_TAG_LENGTH:
            raise InvalidSRUID(
                f"{sruid!r}: the revision tag is {len(revision.revision_tag)} characters long; at most "
                f"{MAXIMUM_REVISION_TAG_LENGTH} are allowed."
            )
        longest = revision.topic("dead-letter")
        if len(longest) > MAXIMUM_TOPIC_NAME_LENGTH:
            raise InvalidSRUID(
                f"{sruid!r} is too long: its topic names would exceed Pub/Sub's {MAXIMUM_TOPIC_NAME_LENGTH} "
                "characters; shorten the namespace, name or revision tag."
            )
        return revision

    @property
    def sruid(self) -> str:
        return f"{self.namespace}/{self.name}:{self.revision_tag}"

    def topic(self, kind: str) -> str:
        """The name of one of this revision's topics (``questions``, ``analyses``, ``answers``, ``dead-letter``)."""
        if kind not in TOPIC_KINDS:
            raise ValueError(f"{kind!r} is not a topic kind; they are {', '.join(TOPIC_KINDS)}.")
        return f"plait.{self.namespace}.{self.name}.{self.revision_tag}.{kind}"

    @property
    def questions_topic(self) -> str:
        return self.topic("questions")

    @property
    def analyses_topic(self) -> str:
        return self.topic("analyses")

    @property
    def answers_topic(self) -> str:
        return self.topic("answers")

    @property
    def dead_letter_topic(self) -> str:
        return self.topic("dead-letter")

    def __str__(self) -> str:
        return self.sruid


def _explain(sruid: str) -> str:
    expected = (
        "expected 'namespace/name:revision_tag', where the namespace and name are lowercase letters and digits "
        "with single hyphens between (e.g. 'my-org/wind-shear') and the tag is letters, digits and '_' with "
        "single '.' or '-' between (e.g. '1.0.0' or 'main-a1b2c3')"
    )
    if ":" not in sruid:
        if _SERVICE.match(sruid):
            return f"{sruid!r} has no revision tag: add one, e.g. '{sruid}:1.0.0'."
        return f"{sruid!r} is not a service revision id: {expected}."
    service, _, tag = sruid.rpartition(":")
    if not _SERVICE.match(service):
        return f"{sruid!r}: {service!r} is not a valid 'namespace/name': {expected}."
    return f"{sruid!r}: {tag!r} is not a valid revision tag: {expected}."
