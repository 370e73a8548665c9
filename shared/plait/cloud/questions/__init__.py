"""Question records in the service bucket: recorded once, claimed by one runner, answered once."""

from plait.cloud.questions.store import DEFAULT_LEASE_SECONDS, Claim, QuestionRecord, QuestionStore

__all__ = ["DEFAULT_LEASE_SECONDS", "Claim", "QuestionRecord", "QuestionStore"]
