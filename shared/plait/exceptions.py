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
