"""Every error plait raises on purpose.

Each class names one thing that went wrong; each message says what to change. They subclass
the built-in exception a caller would naturally catch (``ValueError`` for bad values,
``FileNotFoundError`` for missing files, ``PermissionError`` for read-only resources), so
code written without plait in mind still handles them.
"""


class PlaitException(Exception):
    """Base class of every plait error."""


# Bad values given to the resource library.


class InvalidInputException(PlaitException, ValueError):
    """A value given to plait is not valid; the message says which and why."""


class InvalidTagException(InvalidInputException):
    """A tag key is not of the form ``^[a-z0-9][a-z0-9_]*(?<!_)$`` or its value is not JSON."""


class InvalidLabelException(InvalidInputException):
    """A label is not of the form ``^[a-z0-9][a-z0-9-]*(?<!-)$``."""


class InvalidIdentifierException(InvalidInputException):
    """An ``id`` is not a UUID."""


class InvalidPathException(InvalidInputException):
    """A path is malformed, or a ``path_in_dataset`` escapes its dataset."""


class InvalidExpirationException(InvalidInputException):
    """A signed URL's expiry is in the past or more than seven days away."""


class UnexpectedNumberOfResultsException(PlaitException):
    """``one()`` (or a lookup built on it) found zero results, or more than one."""


class BrokenSequenceException(InvalidInputException):
    """``order_by`` with a ``check_start_value`` or ``check_constant_increment`` that the data breaks."""


# Files and locations.


class FileNotFoundException(PlaitException, FileNotFoundError):
    """A local file or directory that should exist does not."""


class CloudLocationNotSpecified(PlaitException):
    """A cloud operation was asked of a resource with no cloud path."""


class CloudObjectNotFound(PlaitException, FileNotFoundError):
    """A ``gs://`` object (or a signed URL's target) does not exist."""


class ReadOnlyResource(PlaitException, PermissionError):
    """A write was attempted on a resource opened from a signed URL, which is read-only."""


class CloudCredentialsNotFound(PlaitException):
    """No Google Cloud credentials could be found for a cloud operation."""


class CloudStorageError(PlaitException):
    """Google Cloud Storage refused or failed a request after retries."""


# Twines and values.


class InvalidTwine(InvalidInputException):
    """A twine is not valid JSON, cannot be read, or breaks the twine schema; the message gives the JSON path."""


class InvalidValuesContents(InvalidInputException):
    """Values (configuration, input, output, children or a monitor message) break their twine strand's schema."""

    def __init__(self, message: str = "", *args: object, strand: str | None = None, json_path: str | None = None):
        super().__init__(message, *args)
        #: The strand the values were checked against (e.g. ``"input_values"``), if known.
        self.strand = strand
        #: The JSON path (e.g. ``"$.wind.height"``) of the first value at fault, if known.
        self.json_path = json_path


class InvalidValuesJson(InvalidValuesContents):
    """Values could not be read as JSON (not a JSON string, a ``.json`` file, a file object or a JSON value)."""


class InvalidMonitorMessage(InvalidValuesContents):
    """A monitor message breaks the twine's ``monitor_message_schema`` or is not JSON-serialisable."""


class InvalidManifestContents(InvalidInputException):
    """A manifest does not match its twine strand: missing, unexpected or wrongly tagged datasets."""

    def __init__(self, message: str = "", *args: object, strand: str | None = None, json_path: str | None = None):
        super().__init__(message, *args)
        #: The manifest strand checked (e.g. ``"input_manifest"``), if known.
        self.strand = strand
        #: The JSON path within a file's tags of the first value at fault, if the fault is in the tags.
        self.json_path = json_path


class InvalidChildren(InvalidInputException):
    """The children given do not match the twine's ``children`` strand (missing, unexpected or malformed)."""


class MissingCredential(PlaitException, KeyError):
    """Credentials the twine names are not set as environment variables."""

    def __init__(self, message: str = "", *args: object, names: tuple[str, ...] = ()):
        super().__init__(message, *args)
        #: The names of all the missing credentials.
        self.names = tuple(names)

    def __str__(self) -> str:
        # KeyError's __str__ would quote the message; give it plainly, as every other plait error does.
        return str(self.args[0]) if self.args else ""


# The service protocol.


class InvalidSRUID(InvalidInputException):
    """A service revision id is not of the form ``namespace/name:revision_tag``."""


class InvalidEvent(InvalidInputException):
    """An event (or its attributes, or the CloudEvent carrying it) is malformed or breaks its schema."""


class PayloadTooLarge(InvalidEvent):
    """An event would not fit in one Pub/Sub message (10 MB)."""


class UnknownRecipient(InvalidEvent):
    """An event was sent to a service that is not the one receiving it."""


class QuestionCancelled(PlaitException):
    """The question was cancelled before it was answered; no result will come."""


class RemoteException(PlaitException):
    """A child service raised an exception whose type is not a built-in or plait exception."""


class ServiceUnavailable(PlaitException):
    """A transient failure (storage or messaging unavailable): the operation should be retried."""


class QuestionInProgress(ServiceUnavailable):
    """Another runner holds an unexpired claim on the question: retry after its lease."""


class ServiceMisconfigured(PlaitException):
    """A deployed service's environment variables are missing or invalid."""


# Storage preconditions and question records.


class PreconditionFailed(CloudStorageError):
    """A conditional storage write (e.g. ``if_generation_match=0``, "only if absent") found the object changed."""


class StorageUnavailable(ServiceUnavailable, CloudStorageError):
    """Cloud storage could not be reached, or kept failing with 429/5xx, for the whole retry budget."""


class QuestionConflict(InvalidInputException):
    """A question UUID was reused for a different question (a different payload): a permanent error."""


class ClaimLost(PlaitException):
    """Another runner took over this runner's claim on a question (its lease had expired): stop running it."""


# Experiments.


class InvalidExperimentsLocation(InvalidInputException):
    """An experiments location is neither a local directory nor a ``gs://bucket/prefix``."""


class InvalidExperimentTitle(InvalidInputException):
    """An experiment's title is not text, or is longer than 256 characters."""


class InvalidExperimentDescription(InvalidInputException):
    """An experiment's description is not text, or is longer than 5000 characters."""


class InvalidExperimentTag(InvalidInputException):
    """An experiment tag does not match ``^[a-zA-Z0-9\\-_:/]+$`` or is longer than 64 characters."""


class TooManyExperimentTags(InvalidExperimentTag):
    """More than 64 tags were given in one request (on creation, or to one ``add_tags``)."""


class DuplicateExperimentTags(InvalidExperimentTag):
    """The same tag (compared case-insensitively) was given twice in one request."""


class ExperimentTagNotFound(InvalidExperimentTag, LookupError):
    """A tag to remove is not one of the experiment's tags."""


class InvalidEID(InvalidInputException):
    """An experiment EID is not of the form ``YYYYMMDD-N``."""


class InvalidExperimentSearch(InvalidInputException):
    """A search's text, tags, dates, limit or offset are not valid."""


class InvalidExperimentFileName(InvalidPathException):
    """An experiment file name is empty, ``.``/``..``, has a path separator, or is reserved for plait."""


class ExperimentNotFound(PlaitException, LookupError):
    """No experiment has the EID or UUID given (or it was removed)."""


class ExperimentFileNotFound(FileNotFoundException):
    """Files named in a request are not files of the experiment; ``missing`` names every one."""

    def __init__(self, message: str = "", *args: object, missing: tuple[str, ...] = ()):
        super().__init__(message, *args)
        #: Every file name asked for that the experiment does not have.
        self.missing = tuple(missing)


class InvalidExtension(InvalidInputException):
    """An extension cannot be registered: a bad name, or a service directory without a usable twine."""


class ExtensionNotFound(PlaitException, LookupError):
    """No extension (or no action of an extension) has the name given."""


class ExtensionUnavailable(ServiceUnavailable):
    """An extension's service cannot be reached: e.g. no local stack serves it."""


class TaskNotFound(PlaitException, LookupError):
    """No task has the id given."""


class TaskAlreadyEnded(InvalidInputException):
    """A task that has already ended (succeeded, failed or was revoked) cannot be cancelled."""
