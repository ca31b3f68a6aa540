"""One exception tree for the whole product.

Every expected failure is an ``IamGuardError`` whose ``str()`` is one line saying what and why. Entry
points (Lambda handlers, the CLI) catch this base class only; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class IamGuardError(Exception):
    """Base class: an expected failure with a one-line, human-readable message."""

    exit_code = 1


class InvalidInputError(IamGuardError):
    """The caller gave something we cannot use (settings, an event, a file). Nothing was changed."""

    exit_code = 2


class SettingsError(InvalidInputError):
    """A setting is missing or invalid."""


class PolicyTooLargeError(InvalidInputError):
    """The rendered policy would exceed IAM's managed-policy size limit."""


class InvalidEventError(InvalidInputError):
    """An event is not a well-formed EventBridge event of a kind we understand."""


class AwsError(IamGuardError):
    """An AWS API call failed. Translated once, in the adapter, from botocore's ClientError."""

    exit_code = 1

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        self.aws_message = message
        super().__init__(f"{operation} failed: {code}: {message}".rstrip(": "))


class NotFoundError(AwsError):
    """NoSuchEntity and friends: the thing we asked about does not exist (any more)."""


class AccessDeniedError(AwsError):
    """Our credentials lack a permission: the message names the API call."""


class ThrottledError(AwsError):
    """Throttling persisted through every retry."""


class ConflictError(AwsError):
    """ConcurrentModification / EntityAlreadyExists / LimitExceeded: someone else changed the resource."""


class CredentialReportError(AwsError):
    """The credential report could not be generated or read within the allowed time."""


class SecurityHubImportError(IamGuardError):
    """Findings did not all reach Security Hub (rejected, or a call failed): the message names them."""


class FindingAccountError(AwsError):
    """A finding of another account than the caller's: never sent (Security Hub would refuse it)."""

    def __init__(self, message: str) -> None:
        super().__init__("BatchImportFindings", "AccountMismatch", message)


class DeliveryError(IamGuardError):
    """An alert could not be delivered (SNS, Slack). Never undoes enforcement."""
